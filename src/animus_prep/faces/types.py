"""Face values and the detector/embedder protocols the rest of animus_prep depends on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Point = tuple[float, float]
Box = tuple[float, float, float, float]

#: Names of the five landmarks, in YuNet's order (the person's right eye is on the image left).
LANDMARK_NAMES = ("right_eye", "left_eye", "nose_tip", "right_mouth", "left_mouth")


@dataclass(frozen=True, slots=True)
class Face:
    """One detected face in the pixel coordinates of the image it was reported for."""

    box: Box
    """x, y, width, height."""
    score: float
    landmarks: tuple[Point, ...]
    """Five points in ``LANDMARK_NAMES`` order."""

    def __post_init__(self) -> None:
        if len(self.box) != 4:
            raise ValueError(f"box needs 4 values (x, y, w, h), got {len(self.box)}")
        if len(self.landmarks) != len(LANDMARK_NAMES):
            raise ValueError(f"need {len(LANDMARK_NAMES)} landmarks, got {len(self.landmarks)}")

    @property
    def center(self) -> Point:
        """The middle of the face's box (x, y), in the image's pixels."""
        x, y, w, h = self.box
        return (x + w / 2, y + h / 2)

    def scaled(self, fx: float, fy: float | None = None) -> Face:
        """The same face in an image resized by ``fx`` horizontally and ``fy`` vertically."""
        fy = fx if fy is None else fy
        x, y, w, h = self.box
        return Face(
            box=(x * fx, y * fy, w * fx, h * fy),
            score=self.score,
            landmarks=tuple((px * fx, py * fy) for px, py in self.landmarks),
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (floats rounded to 0.01 px, score to 4 places)."""
        return {
            "box": [round(v, 2) for v in self.box],
            "score": round(self.score, 4),
            "landmarks": {
                name: [round(px, 2), round(py, 2)]
                for name, (px, py) in zip(LANDMARK_NAMES, self.landmarks, strict=True)
            },
        }


@runtime_checkable
class FaceDetector(Protocol):
    """Finds faces in an RGB uint8 array (H, W, 3), already EXIF-oriented."""

    def detect(self, rgb: npt.NDArray[np.uint8]) -> list[Face]:
        """Every face found in ``rgb``, in its pixels (any order)."""
        ...


@runtime_checkable
class FaceEmbedder(Protocol):
    """Maps a detected face to a 128-d L2-normalised float32 identity vector.

    An embedder may also offer ``embed_unnormalised(rgb, face)``, the vector before its
    normalisation (as `SFaceEmbedder` does): the pre-flight then calls it instead of
    ``embed``, normalises the result itself, and reads the raw length (a face that
    embeds weakly may be turned: `inspection.faces.turned_by_strength`)."""

    def embed(self, rgb: npt.NDArray[np.uint8], face: Face) -> npt.NDArray[np.float32]:
        """The identity vector of ``face`` (found in ``rgb``): 128 float32, unit length."""
        ...
