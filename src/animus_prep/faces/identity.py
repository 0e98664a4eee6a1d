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
    """`reference`, `dominant` (the set's largest same-person group, a majority), `none`."""
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
    """The identity from reference photos, or the one most of `embeddings` share."""
    if reference:
        return IdentityVerdict(centroid(reference), "reference")
    if len(embeddings) < min_faces:
        n = len(embeddings)
        return IdentityVerdict(
            None,
            "none",
            note=f"identity not checked: {n} distinct face photo{'' if n == 1 else 's'} "
            f"of one person with a usable face, {min_faces} needed to tell who the "
            "character is (or give reference photos)",
        )
    matrix = np.stack(list(embeddings.values()))
    same = (matrix @ matrix.T) >= threshold
    best = int(np.argmax(same.sum(axis=1)))
    group = np.flatnonzero(same[best])
    # The dominant identity must be a true majority, or nobody can be called an impostor.
    if len(group) * 2 <= len(embeddings):
        return IdentityVerdict(
            None,
            "none",
            note="identity not checked: no person appears in most of the face photos "
            "(give reference photos to check them against)",
        )
    return IdentityVerdict(centroid([matrix[i] for i in group]), "dominant")
