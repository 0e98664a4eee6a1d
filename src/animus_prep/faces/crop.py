"""One square, face-centred crop for training, never upscaled by default."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

from .types import Face


@dataclass(frozen=True, slots=True)
class CropResult:
    """A crop (or the reason there is none) and where it came from."""

    image: Image.Image | None
    """The crop, ``size`` px square (smaller if that would need upscaling); None if refused."""
    box: tuple[int, int, int, int]
    """left, top, right, bottom of the square in source pixels (right/bottom exclusive)."""
    reason: str | None = None
    """Why there is no image (the square would be under ``min_side`` px), else None."""

    @property
    def side(self) -> int:
        """Side of the square in source pixels."""
        return self.box[2] - self.box[0]

    @property
    def ok(self) -> bool:
        return self.image is not None


def crop_box(
    image_size: tuple[int, int], face: Face, margin: float = 0.6
) -> tuple[int, int, int, int]:
    """Square around ``face`` of side max(w, h) * (1 + 2 * margin), kept inside the image.

    The square is shifted to stay inside and shrunk only when the image is smaller.
    """
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    width, height = image_size
    _, _, w, h = face.box
    side = min(round(max(w, h) * (1 + 2 * margin)), width, height)
    side = max(side, 1)
    cx, cy = face.center
    left = min(max(round(cx - side / 2), 0), width - side)
    top = min(max(round(cy - side / 2), 0), height - side)
    return (left, top, left + side, top + side)


def crop_face(
    image: npt.NDArray[np.uint8] | Image.Image,
    face: Face,
    *,
    size: int = 1024,
    margin: float = 0.6,
    allow_upscale: bool = False,
    min_side: int = 512,
) -> CropResult:
    """Crop ``face`` from ``image`` (RGB array or PIL image, face in its pixels)."""
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    if isinstance(image, Image.Image):
        dims = image.size
    else:
        if image.ndim not in (2, 3):
            raise ValueError(f"expected an image array (H, W[, C]), got shape {image.shape}")
        dims = (image.shape[1], image.shape[0])
    box = crop_box(dims, face, margin)
    left, top, right, bottom = box
    side = right - left
    if side < min_side:
        return CropResult(
            None, box, f"face crop would be {side} px from the source, under {min_side} px"
        )
    if isinstance(image, Image.Image):
        square = image.crop(box)
    else:
        square = Image.fromarray(np.ascontiguousarray(image[top:bottom, left:right]))
    target = size if allow_upscale else min(size, side)
    if target != side:
        square = square.resize((target, target), Image.Resampling.LANCZOS)
    return CropResult(square, box)
