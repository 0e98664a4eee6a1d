"""Is every face photo the same person? Against reference photos, or the set's majority."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .recognizer import l2_normalize

Embedding = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class IdentityVerdict:
    """The character's identity (a unit embedding), where one could be established."""

    target: Embedding | None
    source: str
    """`reference`, `dominant` (the set's largest same-person group, a majority), `none`."""
    members: tuple[int, ...] = ()
    """For `dominant`: the faces that make up the identity."""
    note: str | None = None

    def score(self, embedding: Embedding) -> float | None:
        """Cosine similarity of a face to the identity (None when there is none)."""
        return None if self.target is None else float(embedding @ self.target)


def centroid(embeddings: Sequence[Embedding]) -> Embedding:
    return l2_normalize(np.mean(np.stack(embeddings), axis=0))


def judge_identity(
    embeddings: Mapping[int, Embedding],
    threshold: float,
    *,
    reference: Sequence[Embedding] = (),
    min_faces: int = 3,
) -> IdentityVerdict:
    """The identity from reference photos, or the one most of `embeddings` share."""
    if reference:
        return IdentityVerdict(centroid(reference), "reference")
    if len(embeddings) < min_faces:
        return IdentityVerdict(
            None, "none", note=f"identity not checked: {len(embeddings)} faces, {min_faces} needed"
        )
    keys = list(embeddings)
    matrix = np.stack([embeddings[k] for k in keys])
    same = (matrix @ matrix.T) >= threshold
    best = int(np.argmax(same.sum(axis=1)))
    group = np.flatnonzero(same[best])
    # The dominant identity must be a true majority, or nobody can be called an impostor.
    if len(group) * 2 <= len(keys):
        return IdentityVerdict(
            None, "none", note="identity not checked: no person appears in most of the face photos"
        )
    members = tuple(keys[i] for i in group)
    return IdentityVerdict(centroid([matrix[i] for i in group]), "dominant", members)
