"""What the per-image checks look at, measured once from the grey analysis copy.

Measurement and judgement are apart: this module only measures (sharpness, exposure
percentiles, size, real resolution); `checks` compares the measurements with the policy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .._opencv import cv2
from ..server_rules import sharpness_score
from .resolution import Detail, estimate_detail
from .sharpness import Sharpness, measure_sharpness


@dataclass(frozen=True, slots=True)
class Measurements:
    """What the checks look at, measured once per image."""

    width: int
    height: int
    sharpness: Sharpness
    luma_p10: float
    luma_p50: float
    luma_p90: float
    clipped_fraction: float
    detail: Detail
    """How much detail the image holds (whether it was enlarged from a smaller photo)."""
    server_sharpness: float
    """The server's own sharpness score (`server_rules.sharpness_score`)."""


def shrink_gray(gray: np.ndarray, side: int) -> np.ndarray:
    """Area-average a grey image so its shorter side is at most `side` (never upscaled)."""
    h, w = gray.shape
    short = min(h, w)
    if short <= side:
        return gray
    f = side / short
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def measure(gray: np.ndarray, width: int, height: int) -> Measurements:
    """Measure everything the per-image checks need from the grey analysis copy.

    ``width`` and ``height`` are the full image's, after EXIF orientation.
    """
    # Every other pixel is plenty for percentiles.
    hist = np.bincount(gray[::2, ::2].ravel(), minlength=256).astype(np.float64)
    cdf = np.cumsum(hist) / max(hist.sum(), 1.0)
    p10, p50, p90 = (float(np.searchsorted(cdf, q)) for q in (0.10, 0.50, 0.90))
    clipped = float(hist[250:].sum() / max(hist.sum(), 1.0))
    return Measurements(
        width=width,
        height=height,
        sharpness=measure_sharpness(gray),
        luma_p10=p10,
        luma_p50=p50,
        luma_p90=p90,
        clipped_fraction=clipped,
        detail=estimate_detail(gray),
        server_sharpness=sharpness_score(Image.fromarray(gray)),
    )
