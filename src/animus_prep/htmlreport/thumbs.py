"""Pictures in the report: thumbnails as JPEG data URIs, faces drawn over them in SVG.

Thumbnails are the small upright copies the pre-flight's workers made from the image
they had already decoded; nothing is decoded again here. Faces are drawn in an SVG whose
view box is the full-resolution image, so boxes and landmarks keep the coordinates the
report gives them and the browser scales them with the thumbnail.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

from ..faces.types import LANDMARK_NAMES, Face
from ..inspection.report import ImageReport
from .escape import esc

JPEG_QUALITY = 80
"""Enough for judging a photo at thumbnail size; keeps a 60-photo report near 1 MB."""


def thumbnail_of(image: ImageReport) -> np.ndarray | None:
    """An image's thumbnail (RGB uint8), or None when it was never decoded: the one place
    the report reads thumbnails from."""
    return image.thumbnail


def jpeg_data_uri(rgb: np.ndarray) -> str:
    """An RGB uint8 array as a ``data:image/jpeg;base64,...`` URI."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(
        buf, "JPEG", quality=JPEG_QUALITY, optimize=True
    )
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def face_overlay(faces: Sequence[Face], width: int, height: int) -> str:
    """An SVG of face boxes (the main face first, others dashed) and their landmarks, in
    the pixel coordinates of a ``width`` x ``height`` image; "" when there are no faces."""
    if not faces or width <= 0 or height <= 0:
        return ""
    dot = max(width, height) / 110
    parts = [
        f'<svg class="faces" viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
        'aria-hidden="true">'
    ]
    for n, face in enumerate(faces):
        x, y, w, h = face.box
        role = "main" if n == 0 else "other"
        parts.append(
            f'<rect class="face {role}" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" '
            f'height="{h:.1f}"><title>{esc(_face_title(n, face))}</title></rect>'
        )
        parts.extend(
            f'<circle class="landmark" cx="{px:.1f}" cy="{py:.1f}" r="{dot:.1f}">'
            f"<title>{name.replace('_', ' ')}</title></circle>"
            for name, (px, py) in zip(LANDMARK_NAMES, face.landmarks, strict=True)
        )
    parts.append("</svg>")
    return "".join(parts)


def _face_title(n: int, face: Face) -> str:
    which = "main face" if n == 0 else f"face {n + 1}"
    return f"{which}: detector confidence {face.score:.2f}"
