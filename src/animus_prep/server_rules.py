"""The Animus server's rules for reference photos, in one table.

The pre-flight's default policy and the sandbox both read these, so the two cannot
disagree: a photo the pre-flight accepts is one the server (and the sandbox standing in
for it) takes. The sharpness rule is the server's own measure, not the pre-flight's blur
estimate: a featureless photo passes the one (no edge to judge) and fails the other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

MIN_FACE_SIDE = 512
"""Shorter side (px) of a face image."""
MIN_BODY_SIDE = 256
"""Shorter side (px) of a body image."""
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
"""Largest file the server takes (413 above it)."""
MAX_UPLOAD_PIXELS = 40_000_000
"""Most pixels a photo may have (400 above it)."""
MAX_FACE_IMAGES = 20
MAX_BODY_IMAGES = 40
MIN_SHARPNESS = 4.0
"""Least `sharpness_score` the server takes: only near-uniform or heavily smeared photos
fall below it."""
SHARPNESS_SIDE = 256
"""The longer side of the grey copy the server scores."""


def sharpness_score(image: Image.Image) -> float:
    """The server's sharpness score: the variance of the Laplacian of a grey copy whose
    longer side is `SHARPNESS_SIDE` px."""
    import numpy as np

    grey = image.convert("L")
    grey.thumbnail((SHARPNESS_SIDE, SHARPNESS_SIDE))
    a = np.asarray(grey, dtype=np.float32)
    if a.shape[0] < 3 or a.shape[1] < 3:
        return 0.0
    lap = a[1:-1, :-2] + a[1:-1, 2:] + a[:-2, 1:-1] + a[2:, 1:-1] - 4 * a[1:-1, 1:-1]
    return float(lap.var())
