"""Identity math: is every face the same person? Against reference photos, or the set's majority.

Embeddings are SFace's L2-normalised 128-d vectors; two faces are the same person when
their cosine similarity reaches OpenCV's published threshold (`SAME_PERSON_COSINE`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

Embedding = npt.NDArray[np.float32]
K = TypeVar("K")

#: Same-person threshold on cosine similarity published with OpenCV's SFace.
SAME_PERSON_COSINE = 0.363


@dataclass(frozen=True, slots=True)
class IdentityVerdict:
    """The character's identity (a unit embedding), where one could be established."""

    target: Embedding | None
    source: str
    """`reference`; `dominant` (the set's largest same-person group: a majority, or at
    least `min_faces` photos and more than twice any other group); `unclear` (enough
    photos, but no such group: they show several people, and which one is the character
    cannot be told); `none` (too few photos to tell)."""
    note: str | None = None


def l2_normalize(v: npt.ArrayLike) -> npt.NDArray[np.float32]:
    a = np.asarray(v, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(a))
    if not np.isfinite(norm) or norm == 0:
        raise ValueError("cannot normalise a zero or non-finite vector")
    return (a / norm).astype(np.float32)


def cosine(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Cosine similarity of two vectors, in [-1, 1].

    Raises ValueError for vectors of different lengths, a zero vector, or NaN or
    infinite values (a NaN would otherwise compare as "not the same person").
    """
    x = np.asarray(a, dtype=np.float64).reshape(-1)
    y = np.asarray(b, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"vectors differ in length: {x.shape[0]} and {y.shape[0]}")
    return float(np.clip(_unit(x) @ _unit(y), -1.0, 1.0))


def _unit(v: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    if not np.isfinite(v).all():
        raise ValueError("cosine of a vector with NaN or infinite values is undefined")
    peak = float(np.abs(v).max(initial=0.0))
    if peak == 0:
        raise ValueError("cosine of a zero vector is undefined")
    v = v / peak  # first to the unit peak, so the norm can neither overflow nor underflow
    out: npt.NDArray[np.float64] = v / np.linalg.norm(v)
    return out


def centroid(embeddings: Sequence[Embedding]) -> Embedding:
    return l2_normalize(np.mean(np.stack(embeddings), axis=0))


def similarities(embeddings: Mapping[K, Embedding], target: Embedding) -> dict[K, float]:
    """Each face's cosine similarity to an identity."""
    return {key: cosine(e, target) for key, e in embeddings.items()}


def judge_identity(
    embeddings: Mapping[K, Embedding],
    threshold: float,
    *,
    reference: Sequence[Embedding] = (),
    min_faces: int = 3,
) -> IdentityVerdict:
    """The identity from reference photos, or the one most of `embeddings` share.

    With no reference, the photos are split into same-person groups. The largest is the
    character when it is a majority, or when it holds at least `min_faces` photos and
    more than twice the next largest (three photos of one person among strangers).
    Otherwise, from `min_faces` photos up, the verdict is `unclear`, with a note that
    says how many people the photos show.
    """
    if reference:
        return IdentityVerdict(centroid(reference), "reference")
    n = len(embeddings)
    matrix = np.stack(list(embeddings.values())) if n else np.zeros((0, 0), np.float32)
    groups = same_person_groups(matrix, threshold)
    if n < min_faces:
        several = f", and they look like {len(groups)} different people" if len(groups) > 1 else ""
        return IdentityVerdict(
            None,
            "none",
            note=f"identity not checked: {n} photo{'' if n == 1 else 's'} with a usable "
            f"face{several}; {min_faces} needed to tell who the character is (or give "
            "reference photos)",
        )
    largest = len(groups[0])
    runner_up = len(groups[1]) if len(groups) > 1 else 0
    if largest * 2 > n or (largest >= min_faces and largest > 2 * runner_up):
        return IdentityVerdict(centroid([matrix[i] for i in groups[0]]), "dominant")
    if largest == 1:
        shown = f"{n} different people, each in one photo"
    else:
        shown = f"{len(groups)} people, none of them in more than {largest} photos"
    return IdentityVerdict(
        None,
        "unclear",
        note=f"the {n} photos that can tell who the character is show {shown}: keep one "
        "person's photos, or name the character with --reference",
    )


def same_person_groups(matrix: npt.NDArray[np.float32], threshold: float) -> list[list[int]]:
    """Rows of `matrix` (unit embeddings) split into same-person groups, largest first.

    Groups are joined by average linkage: two are one person when their faces are alike
    on average (the mean cosine over every pair across them reaches `threshold`), the
    most alike pair first, until no pair is. So one face alike to two people (a blurred
    or blended photo) cannot make them one group: on average the two stay apart.
    """
    n = len(matrix)
    if n == 0:
        return []
    sums = (matrix @ matrix.T).astype(np.float64)  # cosines summed over pairs across groups
    sizes = np.ones(n)
    members: list[list[int]] = [[i] for i in range(n)]
    active = np.ones(n, dtype=bool)
    while active.sum() > 1:
        mean = sums / np.outer(sizes, sizes)
        mean[~active, :] = -np.inf
        mean[:, ~active] = -np.inf
        np.fill_diagonal(mean, -np.inf)
        a, b = np.unravel_index(int(np.argmax(mean)), mean.shape)
        if mean[a, b] < threshold:
            break
        members[a] += members[b]
        sizes[a] += sizes[b]
        sums[a, :] += sums[b, :]
        sums[:, a] += sums[:, b]
        active[b] = False
    groups = [sorted(members[i]) for i in np.flatnonzero(active)]
    return sorted(groups, key=lambda g: (-len(g), g[0]))
