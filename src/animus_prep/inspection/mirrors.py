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

A mirrored copy cropped by more than a few percent has a flipped hash too far from the
photo's to be proposed (8-18 bits when cropped by 8%, where different photos start at
14). Its face is still the same face: the face embeddings (made for the identity check)
propose such pairs too. A photo's face and the face of its mirrored copy measured a
cosine similarity of 0.87-0.97 (flipped, 15% or less cut from its edges, resized, saved
again; less when the cut reaches into the face), while different shots of one person
reached 0.84 (a closer framing of the same photo, another picture, more): of each
photo's nearest faces at `FACE_NEAR` or more, those whose hash is nearest its flipped
hash are verified as well (`face_pairs`).

Only the best copy of each duplicate group takes part, each proposing at most
`MIRROR_CHECKS` candidates by hash and as many by face, nearest first; the checks run on
the executor.
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
"""Candidates a photo proposes by hash, at most (and as many by face). A photo may be in
more pairs, proposed by others."""
FACE_NEAR = 0.82
"""Cosine similarity of two photos' face embeddings from which they may be verified as
mirrored copies (see above: 0.87 or more between a photo and its copy, cropped at its
edges; at most 0.84 between different shots of one person; each proposal is verified,
so the margin is kept on the side of proposing)."""
FACE_CANDIDATES = 8
"""Nearest faces at FACE_NEAR or more that a photo's face proposals are chosen from.
Other pictures of the person may stand nearer than its mirrored copy (a flip lowers the
similarity a little; a closer framing of the photo measured 0.96 where its mirrored copy
measured 0.94): of these, the `MIRROR_CHECKS` whose hash is nearest the photo's flipped
hash are proposed."""
_FACE_BLOCK = 64
"""Faces whose nearest faces are found at once (a block of similarities in memory:
64 x the number of faces)."""
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
    # Each pair's rank: by hash distance first, then by face similarity, closest first.
    pairs: dict[tuple[int, int], tuple[int, float]] = {}
    # The flipped hashes are the rows after the photos' own: every photo's own hash comes
    # before each of them, so "earlier" neighbours are all the candidates.
    for q, js, ds in index.earlier_neighbours(range(n, 2 * n), radius):
        k = q - n
        close = [(int(d), int(j)) for j, d in zip(js, ds, strict=True) if j < n and j != k]
        for d, j in close[:MIRROR_CHECKS]:
            pair = (min(k, j), max(k, j))
            pairs[pair] = min((0, float(d)), pairs.get(pair, (0, float(d))))
    for pair, similarity in face_pairs([analyses[i] for i in leads]).items():
        pairs.setdefault(pair, (1, -similarity))
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


def face_pairs(
    analyses: Sequence[ImageAnalysis], near: float = FACE_NEAR
) -> dict[tuple[int, int], float]:
    """Pairs of photos (i < j) whose face embeddings are at `near` or more: of each
    photo's `FACE_CANDIDATES` nearest faces, the `MIRROR_CHECKS` whose hash is nearest
    its flipped hash: (i, j) -> cosine similarity. Photos without an embedding take no
    part (nor, as candidates, photos without a fingerprint)."""
    found = [(i, _embedding(a)) for i, a in enumerate(analyses)]
    embedded = [i for i, e in found if e is not None]
    if len(embedded) < 2:
        return {}
    vectors = np.stack([e for _, e in found if e is not None]).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9
    prints = [analyses[i].print for i in embedded]
    take = min(FACE_CANDIDATES, len(embedded) - 1)
    out: dict[tuple[int, int], float] = {}
    for start in range(0, len(embedded), _FACE_BLOCK):
        block = vectors[start : start + _FACE_BLOCK] @ vectors.T
        rows = np.arange(block.shape[0])
        block[rows, rows + start] = -1.0
        nearest = np.argpartition(block, -take, axis=1)[:, -take:]
        for r, js in enumerate(nearest):
            k = start + r
            close = [int(j) for j in js if block[r, j] >= near]
            mine = prints[k]
            if mine is None:
                continue
            flips = sorted(
                (int(mine.mirror_phash ^ other.phash).bit_count(), j)
                for j in close
                if (other := prints[j]) is not None
            )
            for _, j in flips[:MIRROR_CHECKS]:
                a, b = embedded[k], embedded[j]
                out[(min(a, b), max(a, b))] = float(block[r, j])
    return out


def _embedding(a: ImageAnalysis) -> np.ndarray | None:
    return None if a.faces is None else a.faces.embedding


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
