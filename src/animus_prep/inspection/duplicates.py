"""Duplicate groups of one folder, keeping the best copy of each, in bounded time.

1. **Exact copies** need no verification: paths to one file, byte-identical files and
   lossless re-encodings share their pixels (`Fingerprint.pixel_hash`), and are grouped
   by it. (Byte-identical files were found by their sha256 before anything was decoded,
   and analysed once: see `run.run_analyses`.)
2. **Near copies.** One image of each exact group enters a `HashIndex`; each, in turn, is
   proposed the earlier images within the policy's hash distance, nearest first. Each
   candidate stands for its group: the image is verified against the group's
   representative (its best copy so far), not against every member, the candidates
   whose tiny grey copies look most alike first; against at most `MAX_CHECKS` groups
   within `NEAR` bits and one beyond whose colours agree; and it joins the
   first group it is a copy of. So verifications grow with the number of images, not
   with the number of pairs. The candidates stream out of the index in blocks, their
   groups are found in waves, and each wave's verifications run on the executor (each
   worker unpacks the pixels a fingerprint carries, or reads the file again by path).
   What a verification made of an image (its keypoints and thumbnail: `Features`) comes
   back and is sent with the image's later verifications, kept in a temporary file up to
   FEATURES_BYTES: each image is decoded again and searched for keypoints about once
   (twice when two workers need it in the same round), however many pairs it is in.
   The next wave's images that will be verified have theirs made on the executor while
   the current wave settles, beside its checks.

Above `hashindex.SCAN_LIMIT` images, candidates are searched within 11 bits (the index's
complete radius), even when the policy allows more: `search_radius` says which applied.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field, replace

import numpy as np

from ..policy import Policy
from .analysis import ImageAnalysis, best_copy
from .fingerprint import Fingerprint, tiny_vectors
from .hashindex import COMPLETE_RADIUS, HashIndex
from .spool import BytesSpool, SpooledBytes
from .work import VerifyJob, features_batch, stream, verify_batch

MAX_CHECKS = 8
"""Groups an image is verified against, at most, among those within NEAR bits."""
NEAR = COMPLETE_RADIUS
"""Hash distance within which near copies sit (re-encodings, resizes, edits and crops
of a few percent: within 10 bits in the benchmark corpus)."""
FAR_CHECKS = 1
"""Groups further than NEAR (up to the policy's distance) an image is verified against:
only the nearest whose colours agree (FAR_COLOURS). Heavier crops sit there, but so do a
quarter of all unrelated pairs."""
FAR_COLOURS = 0.95
"""Agreement of colour histograms (Bhattacharyya coefficient) a candidate beyond NEAR
needs: crops of up to 10% keep 0.99, while 1 in 10,000 unrelated photos reach 0.95."""
_NEIGHBOURS = 128
"""Nearest candidates by hash looked at per image, to find the MAX_CHECKS most alike."""
_BLOCK = 256
"""Images whose candidates are looked up in the index at once."""
_WAVE = 32
"""Images whose groups are found together, their checks in parallel."""
_BEST_OF = 64
"""Groups with more distinct copies than this keep their running best copy."""
_TASKS_PER_ROUND = 4
"""Tasks one round of a wave's verifications is split into (see `_check`)."""
FEATURES_BYTES = 128 * 1024 * 1024
"""Packed features (~45 KB per verified image at the default analysis size) one search
keeps at most, in its temporary file; past it, images are decoded again when verified
again. (Where the temporary directory is a tmpfs, they are in memory after all.)"""
_FEATURES_GUESS = 64 * 1024
"""Bytes an image's packed features take at most (a 192 px thumbnail, 400 keypoints)."""


@dataclass(frozen=True, slots=True)
class Copy:
    """An image that is a copy of a better one in the same folder."""

    keep: int
    """Index of the copy kept."""
    similarity: float
    how: str
    """`same file` (another path to it), `identical` (same bytes), `same pixels`
    (a lossless re-encoding), or the verification's method (`aligned`, `resized`, or
    `mirrored`: the picture flipped left to right, see `mirrors`)."""


def search_radius(n: int, policy: Policy) -> int:
    """The hash distance within which duplicate candidates are searched among n images."""
    return min(policy.duplicate_hash_distance, HashIndex.complete_radius_for(n))


def exact_groups(keys: Sequence[object]) -> list[list[int]]:
    """Indices sharing a key, each group in order, groups in order of first member."""
    groups: dict[object, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def near_candidates(
    hashes: np.ndarray, radius: int, limit: int = _NEIGHBOURS
) -> Iterator[tuple[int, np.ndarray]]:
    """For each row of `hashes` in turn, the earlier rows within `radius` bits (closest
    hash), nearest first: the stream of candidate pairs, never held whole."""
    index = HashIndex(hashes)
    for i, js, _ in index.earlier_neighbours(range(len(index)), radius, limit):
        yield i, js


def find_copies(
    analyses: Sequence[ImageAnalysis], policy: Policy, executor: Executor | None = None
) -> dict[int, Copy]:
    """Every image that is a copy of a better one: index -> the copy kept and how."""
    decoded = [i for i, a in enumerate(analyses) if a.print is not None]
    prints = [_print(analyses[i]) for i in decoded]
    exact = exact_groups([p.pixel_hash for p in prints])
    groups = _NearGroups(analyses, [[decoded[k] for k in g] for g in exact])
    hashes = np.array([prints[g[0]].hashes for g in exact], dtype=np.uint64).reshape(-1, 3)
    radius = search_radius(len(exact), policy)
    index = HashIndex(hashes)
    for block in range(0, len(exact), _BLOCK):
        queries = range(block, min(block + _BLOCK, len(exact)))
        searches = [
            groups.search(i, js, ds)
            for i, js, ds in index.earlier_neighbours(queries, radius, _NEIGHBOURS)
            if len(js)
        ]
        starts = range(block, queries.stop, _WAVE)
        waves = [[s for s in searches if start <= s.image < start + _WAVE] for start in starts]
        ahead = None
        try:
            for n, (start, wave) in enumerate(zip(starts, waves, strict=True)):
                if ahead is not None:
                    groups.keep_made(*ahead)
                # The next wave's images that will be verified have their features made
                # on the executor meanwhile, beside this wave's checks.
                ahead = groups.make_ahead(waves[n + 1] if n + 1 < len(waves) else [], executor)
                _settle(wave, start, groups, policy, executor)
        finally:
            if ahead is not None:  # only when a wave failed: the last wave has no next
                ahead[1].cancel()
    return groups.copies()


def _settle(
    wave: list[_Search], start: int, groups: _NearGroups, policy: Policy, executor: Executor | None
) -> None:
    """Find the groups of one wave of images (exact groups numbered from `start`)."""
    # First against the groups of earlier waves, settled, as far as they come before any
    # candidate of this wave: all those checks of an image in one task, so it is decoded
    # once, beside the few representatives that many images are checked against.
    plans = [(s, groups.plan(s, before=start)) for s in wave]
    _check([(s, targets) for s, targets in plans if targets], groups, policy, executor)
    # Then against images of this wave, in rounds: each image still alone is checked
    # against the nearest group it has not met, all in parallel, and the groups settle
    # before the next round, so no image meets one group twice.
    pending = [s for s in wave if not s.found]
    while pending:
        jobs = [(s, [t]) for s in pending if (t := groups.next_target(s)) is not None]
        for s, (t,) in jobs:
            s.checked.append(t)
        _check(jobs, groups, policy, executor)
        pending = [s for s, _ in jobs if not s.found]


def _check(
    jobs: list[tuple[_Search, list[int]]],
    groups: _NearGroups,
    policy: Policy,
    executor: Executor | None,
) -> None:
    """Verify each image against its targets (in order, up to the first copy) on the
    executor, and join the groups found.

    A round goes out in a few large tasks, not one per image: the checks against one
    representative then land on fewer workers, each of which makes its features once
    (and keeps them for its next checks) when none were sent. What the workers made
    comes back and is sent with later checks (`keep_features`, `to_send`).
    """
    work: list[VerifyJob] = [
        (
            groups.to_send(s.image),
            tuple(groups.to_send(t) for t in targets),
            policy.duplicate_min_similarity,
        )
        for s, targets in jobs
    ]
    # Without an executor, one task: what it makes of an image serves its later jobs.
    tasks = 1 if executor is None else _TASKS_PER_ROUND
    results = stream(executor, verify_batch, work, max(1, -(-len(work) // tasks)))
    for (s, targets), (match, made) in zip(jobs, results, strict=True):
        for g, packed in zip((s.image, *targets), made, strict=True):
            groups.keep_features(g, packed)
        if match is not None:
            k, verdict = match
            groups.join(s.image, targets[k], verdict.similarity, verdict.method)
            s.found = True


@dataclass(slots=True)
class _Search:
    """An exact group looking for the near group it belongs to."""

    image: int
    neighbours: np.ndarray
    distances: np.ndarray
    checked: list[int] = field(default_factory=list)
    """Exact groups it was (or is being) checked against."""
    near: int = 0
    far: int = 0
    """Checks spent within NEAR bits, and beyond."""
    found: bool = False
    """Whether it joined a group."""
    colours: dict[int, bool] = field(default_factory=dict)
    """Whether its colours agree with each lead's it was compared with (FAR_COLOURS)."""


def _print(a: ImageAnalysis) -> Fingerprint:
    assert a.print is not None
    return a.print


class _NearGroups:
    """Union-find over exact groups (numbered in order), with each group's best copy."""

    def __init__(self, analyses: Sequence[ImageAnalysis], exact: list[list[int]]) -> None:
        self._analyses = analyses
        self._exact = exact
        self._parent = list(range(len(exact)))
        # Each exact group's best copy; for each near group (by its root) the exact group
        # holding its best copy so far, which stands for it in verifications.
        self._champion = [_best(analyses, members) for members in exact]
        # The champions' tiny copies and colour histograms as arrays (~1 KB a group), so
        # a search weighs its candidates without a Python step per candidate (colours in
        # float64: one agreement, whether worked out for many candidates or for one).
        champions = [self.print_of(g) for g in range(len(exact))]
        self._tiny = tiny_vectors(champions)
        self._palettes = (
            np.stack([p.palette for p in champions]).astype(np.float64) if champions else None
        )
        self._lead = list(range(len(exact)))
        # How exact groups were found to be copies: per verified pair, and per group the
        # verification that brought it in (for members joined through other groups).
        self._links: dict[tuple[int, int], tuple[float, str]] = {}
        self._joined: dict[int, tuple[float, str]] = {}
        # Each exact group's packed features, once a verification made them.
        self._features: dict[int, SpooledBytes] = {}
        self._spool = BytesSpool()
        self._spool_failed = False
        self._kept = 0

    def find(self, g: int) -> int:
        while self._parent[g] != g:
            self._parent[g] = self._parent[self._parent[g]]
            g = self._parent[g]
        return g

    def print_of(self, g: int) -> Fingerprint:
        return _print(self._analyses[self._champion[g]])

    def to_send(self, g: int) -> Fingerprint:
        """What a verification is sent of exact group g's image: its fingerprint without
        its preview (never looked at), with its features once they were made (read back
        here: features the spool cannot give back are dropped, and made again)."""
        fp = self.print_of(g)
        features = self._features.get(g)
        if features is not None:
            try:
                return replace(fp, preview=b"", features=bytes(features))
            except (OSError, ValueError):
                del self._features[g]
        return replace(fp, preview=b"")

    def make_ahead(
        self, wave: list[_Search], executor: Executor | None
    ) -> tuple[list[int], Future[list[bytes | None]]] | None:
        """Start making, on the executor, the features of a wave's images that will be
        verified (a candidate within NEAR bits) and have none yet. None without an
        executor (verifications make them as they go), or when they could not be kept
        (the budget spent, or the spool failed)."""
        todo = [
            s.image
            for s in wave
            if s.image not in self._features and bool((s.distances <= NEAR).any())
        ]
        room = FEATURES_BYTES - self._kept - len(todo) * _FEATURES_GUESS
        if executor is None or not todo or room < 0 or self._spool_failed:
            return None
        return todo, executor.submit(features_batch, [self.to_send(g) for g in todo])

    def keep_made(self, todo: list[int], made: Future[list[bytes | None]]) -> None:
        """Keep the features `make_ahead` had made."""
        for g, packed in zip(todo, made.result(), strict=True):
            self.keep_features(g, packed)

    def keep_features(self, g: int, packed: bytes | None) -> None:
        """Keep what a verification made of g's image, for its later verifications: in
        the spool (never in memory), up to FEATURES_BYTES in all."""
        if packed is None or g in self._features or self._kept + len(packed) > FEATURES_BYTES:
            return
        kept = self._spool.keep(packed)
        self._spool_failed = not isinstance(kept, SpooledBytes)
        if isinstance(kept, SpooledBytes):
            self._features[g] = kept
            self._kept += len(packed)

    def search(self, g: int, neighbours: np.ndarray, distances: np.ndarray) -> _Search:
        """A search for g's near group among its candidates, reordered by how alike their
        tiny copies are to g's (in a burst, every frame is within a few bits of every
        other, and the hashes alone do not tell which are copies). Whether g's colours
        agree with those of each candidate beyond NEAR (by its group's lead) is worked
        out here for all at once, not one by one as `_targets` meets them."""
        apart = ((self._tiny[neighbours] - self._tiny[g]) ** 2).sum(axis=1)
        order = np.argsort(apart, kind="stable")
        search = _Search(g, neighbours[order], distances[order])
        far = search.neighbours[search.distances > NEAR].tolist()
        if far and self._palettes is not None:
            leads = [self._lead[self.find(j)] for j in far]
            agree = self._palettes[leads] @ self._palettes[g] >= FAR_COLOURS
            search.colours.update(zip(leads, agree.tolist(), strict=True))
        return search

    def plan(self, search: _Search, before: int) -> list[int]:
        """The exact groups to check `search.image` against, in order, up to its first
        candidate numbered `before` or later (whose group is not settled yet); marked as
        checked. (One pass over the candidates: no group joins meanwhile.)"""
        out: list[int] = []
        for target in self._targets(search, before):
            out.append(target)
            search.checked.append(target)
        return out

    def next_target(self, search: _Search) -> int | None:
        """The exact group to check `search.image` against next, or None (see `_targets`)."""
        return next(self._targets(search), None)

    def _targets(self, search: _Search, before: int | None = None) -> Iterator[int]:
        """The exact groups to check `search.image` against from here on, in order: the
        group of each candidate (most alike first), by that group's lead, if it is
        another group, not met before, and the budget allows (MAX_CHECKS within NEAR
        bits; FAR_CHECKS beyond, when the colours agree). With `before`, they end at the
        first candidate numbered `before` or later.

        The same targets, in the same order, as asking again from the first candidate
        after each one (no group joins meanwhile): a group whose far candidate's colours
        disagree is passed over only while far checks remain, so once they are spent the
        candidates are walked again, and a near candidate of that group may follow."""
        again = True
        while again:
            again = False
            own = self.find(search.image)
            met = {self.find(g) for g in search.checked}
            for j, d in zip(search.neighbours.tolist(), search.distances.tolist(), strict=True):
                root = self.find(j)
                if root == own or root in met:
                    continue
                spent = search.near == MAX_CHECKS if d <= NEAR else search.far == FAR_CHECKS
                if spent:
                    continue
                if before is not None and j >= before:
                    return
                lead = self._lead[root]
                met.add(root)
                if d <= NEAR:
                    search.near += 1
                    yield lead
                    continue
                agree = search.colours.get(lead)
                if agree is None:
                    agree = self._colours_agree(search.image, lead)
                    search.colours[lead] = agree
                if agree:
                    search.far += 1
                    yield lead
                    if search.far == FAR_CHECKS:
                        again = True
                        break

    def _colours_agree(self, g: int, other: int) -> bool:
        assert self._palettes is not None  # there are groups
        return float(self._palettes[g] @ self._palettes[other]) >= FAR_COLOURS

    def join(self, g: int, target: int, similarity: float, how: str) -> None:
        a, b = self.find(g), self.find(target)
        self._links[(g, target)] = (similarity, how)
        self._joined.setdefault(g, (similarity, how))
        self._joined.setdefault(target, (similarity, how))
        if a == b:
            return
        lead_a, lead_b = self._lead[a], self._lead[b]
        better = self._analyses[self._champion[lead_a]].is_better_copy_than(
            self._analyses[self._champion[lead_b]]
        )
        self._parent[a] = b
        self._lead[b] = lead_a if better else lead_b

    def copies(self) -> dict[int, Copy]:
        members: dict[int, list[int]] = {}
        for g in range(len(self._exact)):
            members.setdefault(self.find(g), []).append(g)
        out: dict[int, Copy] = {}
        for gs in members.values():
            if len(gs) == 1 and len(self._exact[gs[0]]) == 1:
                continue
            everyone = [i for g in gs for i in self._exact[g]]
            keep = _best(self._analyses, everyone) if len(gs) > 1 else self._champion[gs[0]]
            keep_group = next(g for g in gs if keep in self._exact[g])
            for g in gs:
                for i in self._exact[g]:
                    if i != keep:
                        out[i] = self._copy(i, keep, g, keep_group)
        return out

    def _copy(self, i: int, keep: int, g: int, keep_group: int) -> Copy:
        if g == keep_group:
            a, b = self._analyses[i].candidate, self._analyses[keep].candidate
            if a.file_id is not None and a.file_id == b.file_id:
                return Copy(keep, 1.0, "same file")
            if self._analyses[i].sha256 == self._analyses[keep].sha256:
                return Copy(keep, 1.0, "identical")
            return Copy(keep, 1.0, "same pixels")
        link = (
            self._links.get((g, keep_group))
            or self._links.get((keep_group, g))
            or self._joined[g]  # joined through other groups
        )
        return Copy(keep, link[0], link[1])


def _best(analyses: Sequence[ImageAnalysis], members: Sequence[int]) -> int:
    """Index of the best copy among `members`: the one that wins most comparisons, or in
    a group of more than _BEST_OF distinct copies the winner of a running comparison.
    Copies with the same bytes and kind are judged once (they differ only in their
    paths; the first of them stands for all)."""
    variants: dict[tuple[str | None, str | None], int] = {}
    for i in members:
        variants.setdefault((analyses[i].sha256, analyses[i].candidate.kind), i)
    distinct = list(variants.values())
    if len(distinct) <= _BEST_OF:
        return distinct[best_copy([analyses[i] for i in distinct])]
    best = distinct[0]
    for i in distinct[1:]:
        if analyses[i].is_better_copy_than(analyses[best]):
            best = i
    return best
