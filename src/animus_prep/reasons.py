"""Reason codes: the stable, public vocabulary of rejections.

Other tools parse these strings from the JSON report, so codes are only ever added,
never renamed or removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ReasonCode(StrEnum):
    """Why an image may not be uploaded."""

    UNREADABLE = "unreadable"
    UNSUPPORTED_FORMAT = "unsupported_format"
    TOO_LARGE = "too_large"
    TOO_SMALL = "too_small"
    BLURRY = "blurry"
    TOO_DARK = "too_dark"
    TOO_BRIGHT = "too_bright"
    DUPLICATE = "duplicate"
    OVER_CAP = "over_cap"
    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    FACE_TOO_SMALL = "face_too_small"
    IDENTITY_MISMATCH = "identity_mismatch"
    MISPLACED = "misplaced"
    REFERENCE_COPY = "reference_copy"
    """A dataset render that is a near-copy of a reference photo (teaches nothing new)."""
    UPSCALED = "upscaled"
    """Enlarged from a photo under the minimum size: its pixels hold that photo's detail."""
    ROTATED = "rotated"
    """Turned sideways or upside down (a missing or wrong EXIF orientation): its face is
    upright only when the photo is turned."""
    FACE_CUT_OFF = "face_cut_off"
    """A face photo whose face runs off the frame: part of its eyes, brows, nose, mouth or
    cheeks is missing, and no face crop can put it back."""
    OVER_COMPRESSED = "over_compressed"
    """Saved at so low a JPEG quality that its blocks and smeared colour would be learnt."""
    BORDERED = "bordered"
    """Framed by flat black or white bars (letterboxing, a video frame's bars, a mount or a
    scan's margin) that would be learnt as part of the picture."""
    NOISY = "noisy"
    """So grainy or noisy (a dim shot pushed bright, heavy film grain) that a LoRA would
    learn the grain as part of the person."""
    IDENTITY_UNCLEAR = "identity_unclear"
    """One of several photos that show several people, none of them in enough of the
    photos to be taken for the character (no reference photos were given)."""


@dataclass(frozen=True, slots=True)
class Reason:
    """One rejection: a code, a message for people, and the measured value where there is one."""

    code: ReasonCode
    message: str
    score: float | None = None
    threshold: float | None = None

    def to_json(self) -> dict[str, object]:
        """``code`` and ``message``, with ``score`` and ``threshold`` when measured."""
        out: dict[str, object] = {"code": self.code.value, "message": self.message}
        if self.score is not None:
            out["score"] = round(self.score, 4)
        if self.threshold is not None:
            out["threshold"] = round(self.threshold, 4)
        return out
