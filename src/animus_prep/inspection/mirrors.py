"""Mirror images: a photo and a copy of it flipped left to right are one picture.

People flip photos to have more of them, and the web passes some around flipped. A
mirrored copy adds no view of the person that the photo does not give (trainers flip
photos themselves), takes a place under the caps, and shows the face the wrong way
round. Its hashes are far from the photo's, so the near-copy search (`duplicates`) does
not propose it: each photo also carries the hash of its picture flipped
(`Fingerprint.mirror_phash`), and a photo whose flipped hash is within
`MIRROR_RADIUS` bits of another's hash is verified as a copy of the other flipped
(`dedup.verify_mirrored`: keypoints, alignment and comparison, as for near copies, so a
slightly cropped or resized mirrored copy is found too).

Only the best copy of each duplicate group takes part, each verified against at most
`MIRROR_CHECKS` candidates, nearest first; the checks run on the executor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import replace

import numpy as np

from ..policy import Policy
from .analysis import ImageAnalysis
from .dedup import MIRRORED
from .duplicates import Copy
from .hashindex import HashIndex
from .work import MirrorJob, mirror_batch, stream

MIRROR_RADIUS = 10
"""Bits between a photo's flipped hash and a mirrored copy's hash. Mirrored copies of the
project's real photos, resized and saved again, measured 0-2; cropped by 3%, 4-14."""
MIRROR_CHECKS = 2
"""Candidates a photo is verified against, at most."""
_TASK = 8
"""Verifications per task on the executor."""


def find_mirrors(
    analyses: Sequence[ImageAnalysis],
    copies: Mapping[int, Copy],
    policy: Policy,
    executor: Executor | None = None,
) -> dict[int, Copy]:
    """Photos that are another's picture flipped left to right, among those that are not
    already `copies`: index -> the copy kept (the better of the two) and the verdict.

    A photo kept for one mirrored copy is never made a copy itself, so every copy names
    a photo that is kept.
    """
    leads = [i for i, a in enumerate(analyses) if a.print is not None and i not in copies]
    prints = [p for p in (analyses[i].print for i in leads) if p is not None]
    n = len(prints)
    if n < 2:
        return {}
    own, flipped = [p.phash for p in prints], [p.mirror_phash for p in prints]
    hashes = np.array(own + flipped, dtype=np.uint64).reshape(-1, 1)
    index = HashIndex(hashes)
    radius = min(MIRROR_RADIUS, index.complete_radius)
    pairs: dict[tuple[int, int], int] = {}
    # The flipped hashes are the rows after the photos' own: every photo's own hash comes
    # before each of them, so "earlier" neighbours are all the candidates.
    for q, js, ds in index.earlier_neighbours(range(n, 2 * n), radius):
        k = q - n
        close = [(int(d), int(j)) for j, d in zip(js, ds, strict=True) if j < n and j != k]
        for d, j in close[:MIRROR_CHECKS]:
            pair = (min(k, j), max(k, j))
            pairs[pair] = min(d, pairs.get(pair, d))
    if not pairs:
        return {}
    ordered = sorted(pairs, key=lambda p: (pairs[p], p))
    # Sent without their previews (never looked at), as the near-copy search sends them.
    light = [replace(p, preview=b"") for p in prints]
    jobs: list[MirrorJob] = [
        (light[a], light[b], policy.duplicate_min_similarity) for a, b in ordered
    ]
    verdicts = list(stream(executor, mirror_batch, jobs, _TASK))
    found: dict[int, Copy] = {}
    kept: set[int] = set()
    for (a, b), verdict in zip(ordered, verdicts, strict=True):
        i, j = leads[a], leads[b]
        if not verdict.duplicate or i in found or j in found:
            continue
        keep, copy = (i, j) if analyses[i].is_better_copy_than(analyses[j]) else (j, i)
        if copy in kept:
            continue
        found[copy] = Copy(keep, verdict.similarity, MIRRORED)
        kept.add(keep)
    return found


def with_mirrors(
    analyses: Sequence[ImageAnalysis],
    copies: Mapping[int, Copy],
    policy: Policy,
    executor: Executor | None = None,
) -> dict[int, Copy]:
    """`copies` with the mirrored copies among the rest (`find_mirrors`) added. A copy
    whose kept photo turned out a mirrored copy is a mirrored copy of the photo kept
    instead, and names it. Unchanged when the policy does not look for them
    (`mirrored_duplicates`)."""
    if not policy.mirrored_duplicates:
        return dict(copies)
    mirrored = find_mirrors(analyses, copies, policy, executor)
    merged = {i: _through(c, mirrored.get(c.keep)) for i, c in copies.items()}
    merged.update(mirrored)
    return merged


def _through(copy: Copy, mirror: Copy | None) -> Copy:
    """A copy of a photo that is `mirror` (None: not a mirrored copy), as a copy of the
    photo kept for it: the same picture flipped, as alike as the less alike link."""
    if mirror is None:
        return copy
    return Copy(mirror.keep, min(copy.similarity, mirror.similarity), MIRRORED)
