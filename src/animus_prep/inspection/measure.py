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
from .border import Border, measure_border
from .colour import saturation_level
from .compression import pixel_jpeg_quality
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
    border: Border
    """Flat black or white bars along the edges (letterboxing, a mount, a scan's margin)."""
    saturation: float | None = None
    """How colourful the photo is (`colour.saturation_level` of its thumbnail, percent; 0
    for black and white); None when not measured (no thumbnail, or a black picture)."""
    pixel_jpeg_quality: int | None = None
    """The JPEG quality the pixels show they were last compressed at, when hard enough to
    tell (`compression.pixel_jpeg_quality`), whatever the file is now; None when no such
    compression shows, or the decoded copy is reduced more than twice (the 8x8 grid is
    lost then)."""


NEAR_SIZE = 0.9
"""Shrink factors from here to 1 resample with Lanczos, not by area (see `shrink_gray`)."""


def shrink_gray(gray: np.ndarray, side: int) -> np.ndarray:
    """Shrink a grey image so its shorter side is at most `side` (never upscaled): by area
    averaging, or with Lanczos when the shrink is slight (`NEAR_SIZE`)."""
    h, w = gray.shape
    short = min(h, w)
    if short <= side:
        return gray
    f = side / short
    size = (max(1, round(w * f)), max(1, round(h * f)))
    # Area-averaging a photo only a little larger than `side` blends each pixel with its
    # neighbour (at 520 -> 512, nearly half of each), a blur that reads as lost detail;
    # so close to the size, Lanczos keeps it and aliases next to nothing.
    interpolation = cv2.INTER_LANCZOS4 if f >= NEAR_SIZE else cv2.INTER_AREA
    return cv2.resize(gray, size, interpolation=interpolation)


def detail_source(full: np.ndarray, shrunk: np.ndarray, side: int) -> np.ndarray:
    """The grey copy the real resolution is read from: the decoded one (`full`) as it is
    when it is within `NEAR_SIZE` of `side` (any resampling so close to the size softens
    the finest detail, which is what the estimate reads), else its `shrink_gray` copy."""
    return full if min(full.shape[:2]) * NEAR_SIZE <= side else shrunk


def measure(
    gray: np.ndarray,
    width: int,
    height: int,
    detail: np.ndarray | None = None,
    thumb: np.ndarray | None = None,
    blocks: tuple[np.ndarray, int] | None = None,
) -> Measurements:
    """Measure everything the per-image checks need from the grey analysis copy.

    ``width`` and ``height`` are the full image's, after EXIF orientation. ``detail`` is
    the copy the real resolution is read from (`detail_source`; default: ``gray``).
    The colour is read from ``thumb``, the RGB thumbnail (not measured without it).
    ``blocks`` is the decoded grey copy and how many times smaller than the file it is
    (1 or 2), when it is one of those: the JPEG compression the pixels went through is
    read from it.
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
        detail=estimate_detail(gray if detail is None else detail),
        server_sharpness=sharpness_score(Image.fromarray(gray)),
        border=measure_border(gray),
        saturation=None if thumb is None else saturation_level(thumb),
        pixel_jpeg_quality=None if blocks is None else pixel_jpeg_quality(*blocks),
    )
