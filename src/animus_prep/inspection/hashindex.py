"""Near neighbours among 64-bit image hashes, without comparing every pair.

Each image has several 64-bit hashes (see `fingerprint`); two images are neighbours when
their closest hash is within a radius. A query asks, for each image in turn, which
*earlier* images are its neighbours, so that every pair is proposed once, by its later
member, and the answers stream out one batch of queries at a time.

Small sets are simply scanned (every pair, vectorised): that is exact for any radius and
costs nothing below a few thousand images. Larger sets use multi-index hashing (Norouzi
et al., 2012): each hash is cut into four 16-bit quarters, and each quarter indexes a
table of 65,536 buckets. Two hashes within 11 bits agree within 2 bits on at least one
quarter (pigeonhole), so probing the 137 buckets within 2 bits of each quarter finds
every pair within 11 bits; each probe touches ~1/65,536 of the set, so a query gathers
about 2.5% of the set (mostly rejected on one hash compare), and 11 bits is the largest
radius such an index answers completely (`complete_radius`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import combinations

import numpy as np

SCAN_LIMIT = 4096
"""Sets up to this size are scanned: exact for any radius."""
_QUARTER_BITS = 16
_QUARTERS = 4
_PROBE_BITS = 2
COMPLETE_RADIUS = _QUARTERS * (_PROBE_BITS + 1) - 1
"""Above SCAN_LIMIT, every pair within this many bits is found (11)."""
_BATCH = 256
_MAX_RAW = 4_000_000
"""Bucket members gathered at once, whatever the clustering of the hashes."""


def _probe_masks() -> np.ndarray:
    masks = [0]
    for k in range(1, _PROBE_BITS + 1):
        for bits in combinations(range(_QUARTER_BITS), k):
            masks.append(sum(1 << b for b in bits))
    return np.array(masks, dtype=np.int64)


_MASKS = _probe_masks()


class HashIndex:
    """Neighbour search over `hashes`, an (n, k) array of 64-bit hashes (k per image)."""

    def __init__(self, hashes: np.ndarray) -> None:
        self._hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
        if self._hashes.ndim != 2:
            raise ValueError("hashes must be an (images, hashes per image) array")
        # Per table: each image's quarter, the images sorted by it, their whole hash in
        # that order (so bucket members are compared in contiguous runs), bucket offsets.
        self._tables: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        if len(self._hashes) > SCAN_LIMIT:
            self._build()

    def __len__(self) -> int:
        return len(self._hashes)

    @property
    def scanning(self) -> bool:
        """Whether queries scan every pair (exact at any radius)."""
        return not self._tables

    @property
    def complete_radius(self) -> int:
        """The largest radius within which every neighbour is found: 64 when scanning."""
        return self.complete_radius_for(len(self))

    @staticmethod
    def complete_radius_for(n: int) -> int:
        """`complete_radius` of an index over n images."""
        return 64 if n <= SCAN_LIMIT else COMPLETE_RADIUS

    def _build(self) -> None:
        for h in range(self._hashes.shape[1]):
            for q in range(_QUARTERS):
                keys = ((self._hashes[:, h] >> np.uint64(q * _QUARTER_BITS)) & 0xFFFF).astype(
                    np.int64
                )
                order = np.argsort(keys, kind="stable").astype(np.int64)
                counts = np.bincount(keys, minlength=1 << _QUARTER_BITS)
                offsets = np.zeros(len(counts) + 1, dtype=np.int64)
                np.cumsum(counts, out=offsets[1:])
                ordered = self._hashes[order, h]
                self._tables.append((keys.astype(np.uint16), order, ordered, offsets))

    def earlier_neighbours(
        self, queries: Sequence[int], radius: int, limit: int | None = None
    ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """For each query `i`, in order: the indices `j < i` whose closest hash is within
        `radius` bits of i's, and those distances, nearest first (by all hashes' distances
        summed; ties: lower index first), at most `limit` of them. `radius` must not
        exceed `complete_radius`."""
        if radius > self.complete_radius:
            raise ValueError(
                f"radius {radius} is over {self.complete_radius}, the largest "
                "this index searches completely"
            )
        q = np.asarray(queries, dtype=np.int64)
        for start in range(0, len(q), _BATCH):
            batch = q[start : start + _BATCH]
            found: Iterator[tuple[int, np.ndarray, np.ndarray]]
            if self.scanning:
                found = (self._scan(int(i), radius) for i in batch)
            else:
                found = self._probe(batch, radius)
            for i, js, ds in found:
                if limit is not None:
                    js, ds = js[:limit], ds[:limit]
                yield i, js, ds

    def _scan(self, i: int, radius: int) -> tuple[int, np.ndarray, np.ndarray]:
        js = np.arange(i, dtype=np.int64)
        d, total = self._distances_of(np.full(i, i, dtype=np.int64), js)
        close = d <= radius
        return i, *_nearest_first(js[close], d[close], total[close])

    def _probe(
        self, batch: np.ndarray, radius: int
    ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        buckets = []
        for keys, _, _, offsets in self._tables:
            probes = (keys[batch].astype(np.int64)[:, None] ^ _MASKS[None, :]).ravel()
            lo = offsets[probes]
            buckets.append((lo, offsets[probes + 1] - lo))
        # At most _MAX_RAW bucket members are gathered at once, however clustered the
        # hashes (a burst of near-identical frames shares its buckets).
        if len(batch) > 1 and sum(int(c.sum()) for _, c in buckets) > _MAX_RAW:
            half = len(batch) // 2
            yield from self._probe(batch[:half], radius)
            yield from self._probe(batch[half:], radius)
            return
        n = len(self._hashes)
        found: list[np.ndarray] = []
        for t, (lo, counts) in enumerate(buckets):
            _, order, ordered, _ = self._tables[t]
            column = t // _QUARTERS
            at, run = _runs(lo, counts)
            if len(at) == 0:
                continue
            # Probe k of query k // len(_MASKS); `run` numbers the non-empty probes.
            probe = np.flatnonzero(counts)
            mine = self._hashes[batch, column][probe // len(_MASKS)]
            # A pair within the radius on this table's hash is found through this table
            # (pigeonhole); a pair close on another hash is found through that one's.
            close = np.flatnonzero(np.bitwise_count(ordered[at] ^ mine[run]) <= radius)
            owner = batch[probe[run[close]] // len(_MASKS)]
            member = order[at[close]]
            earlier = member < owner
            found.append(owner[earlier] * n + member[earlier])
        pair = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
        pair.sort()
        pair = pair[np.concatenate(([True], pair[1:] != pair[:-1]))] if len(pair) else pair
        owners, members = pair // n, pair % n
        d, total = self._distances_of(owners, members)
        # Pairs come sorted by owner (then member): cut them per query.
        lo_, hi_ = np.searchsorted(owners, batch, "left"), np.searchsorted(owners, batch, "right")
        for i, a, b in zip(batch, lo_, hi_, strict=True):
            yield int(i), *_nearest_first(members[a:b], d[a:b], total[a:b])

    def _distances_of(
        self, owners: np.ndarray, members: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The closest hash's distance of each pair, and the distances of all its hashes
        summed (finer: it orders pairs that are equally close on their closest hash)."""
        bits = np.bitwise_count(self._hashes[owners] ^ self._hashes[members]).astype(np.int64)
        return bits.min(axis=1), bits.sum(axis=1)


def _runs(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expand runs: the positions starts[k] .. starts[k] + counts[k] - 1 of every non-empty
    run, and for each position the number of its run among the non-empty ones."""
    keep = counts > 0
    lo, c = starts[keep], counts[keep]
    total = int(c.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    first = np.cumsum(c) - c
    # Step 1 inside a run, a jump at each run's start: one cumulative sum (faster than
    # np.repeat with counts).
    step = np.ones(total, dtype=np.int64)
    step[0] = lo[0]
    step[first[1:]] = lo[1:] - (lo[:-1] + c[:-1] - 1)
    run = np.zeros(total, dtype=np.int64)
    run[first[1:]] = 1
    return np.cumsum(step), np.cumsum(run)


def _nearest_first(
    js: np.ndarray, ds: np.ndarray, totals: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Neighbours and their distances, nearest first: by the distances of all hashes
    summed, then by index."""
    order = np.lexsort((js, totals))
    return js[order], ds[order]
