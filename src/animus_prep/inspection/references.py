"""Reference photos: the photos known to show the character, for the identity check.

A reference that cannot be used must not quietly turn the identity check off: when none
can be used, `UnusableReferenceError` names every photo and why.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..faces.identity import cosine
from ..policy import Policy
from .analysis import ImageAnalysis


class UnusableReferenceError(ValueError):
    """No reference photo can be used for the identity check."""

    def __init__(self, problems: Sequence[tuple[str, str]], *, why: str | None = None) -> None:
        self.problems = tuple(problems)
        """(path, why) for each reference photo."""
        lines = [why or "no reference photo can be used for the identity check:"]
        lines += [f"  {path}: {reason}" for path, reason in self.problems]
        if not self.problems and why is None:
            lines.append("  (the reference folder holds no files)")
        super().__init__("\n".join(lines))


def why_unusable(a: ImageAnalysis) -> str | None:
    """Why one analysed reference photo cannot stand for the character (None: usable)."""
    if a.failure is not None:
        return f"{a.failure.code.value}: {a.failure.message}"
    faces = a.faces
    if faces is None:
        return "no face checks were run on it"
    if faces.unavailable is not None:
        return faces.unavailable
    if faces.turn is not None:
        return f"the photo looks {faces.turn.describe()}; turn it upright"
    if not faces.faces:
        return "no face found"
    if len(faces.faces) > 1:
        return f"{len(faces.faces)} faces: a reference must show the character alone"
    if faces.embedding is None:
        return "its face could not be embedded"
    return None


def usable_references(analyses: Sequence[ImageAnalysis], policy: Policy) -> list[ImageAnalysis]:
    """The reference photos that show exactly one face with an identity embedding.

    Raises `UnusableReferenceError` when references were given but the policy turns the
    identity check off, or when none of them can be used.
    """
    if not policy.faces or not policy.identity:
        off = "faces" if not policy.faces else "identity"
        raise UnusableReferenceError(
            [],
            why=f"reference photos were given, but the policy turns {off} checks off "
            "(--no-faces, or faces/identity = false); drop one or the other",
        )
    problems = [(a.candidate.relpath, why_unusable(a)) for a in analyses]
    usable = [a for a, (_, why) in zip(analyses, problems, strict=True) if why is None]
    if not usable:
        raise UnusableReferenceError([(p, w) for p, w in problems if w is not None])
    strangers = _different_people(usable, policy.identity_threshold)
    if strangers:
        raise UnusableReferenceError(
            strangers,
            why="the reference photos do not all show one person (the identity check "
            "would take whoever most of them show); keep only the character's photos:",
        )
    return usable


def _different_people(usable: Sequence[ImageAnalysis], threshold: float) -> list[tuple[str, str]]:
    """(path, why) for each pair of reference photos whose faces are of different people."""
    out: list[tuple[str, str]] = []
    for i, a in enumerate(usable):
        for b in usable[i + 1 :]:
            assert a.faces is not None and b.faces is not None
            assert a.faces.embedding is not None and b.faces.embedding is not None
            similarity = cosine(a.faces.embedding, b.faces.embedding)
            if similarity < threshold:
                out.append(
                    (
                        f"{a.candidate.relpath} and {b.candidate.relpath}",
                        f"different people (similarity {similarity:.2f}, same person from "
                        f"{threshold:g})",
                    )
                )
    return out
