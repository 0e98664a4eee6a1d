"""Crop geometry: the square a face-centred training crop takes from an image."""

from __future__ import annotations

from .types import Face


def crop_box(image_size: tuple[int, int], face: Face, margin: float) -> tuple[int, int, int, int]:
    """Square around ``face`` of side max(w, h) * (1 + 2 * margin), kept inside the image.

    Returns left, top, right, bottom (right and bottom exclusive). The square is shifted
    to stay inside and shrunk only when the image is smaller.
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
