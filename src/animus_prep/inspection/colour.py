"""How much colour a photo holds: black-and-white photos among colour ones.

A LoRA learns the person's colouring (skin, hair, eyes) from its photos; a black-and-white
one teaches it grey skin, or a monochrome style. The measure is the saturation of each
pixel of the RGB thumbnail (the largest minus the smallest of R, G and B, over the
largest, in percent), and the photo is summed up by the level 90% of its pixels stay
within. Saturation, not chroma: a dark or bright copy of a photo keeps its colours'
saturation, while its chroma falls or grows with the light (a colour photo at a fifth of
its exposure has the chroma of a toned black-and-white print). Near-black pixels, whose
saturation is noise, and near-white ones (a white studio background, which would
outnumber a small figure's colours) are left out.

On the project's real photos: colour photos 39-98 (21-58 with half their saturation
taken away, 24-76 at a fifth of their exposure, 27-71 put on a white background); a
black-and-white studio print toned in its background 16 (16-17 at three times or a
fifth of its exposure); the photos made grey 0. A sepia
print is coloured, all in one hue: it is not told apart here.
"""

from __future__ import annotations

import numpy as np

from .._opencv import cv2

MONOCHROME_SATURATION = 20.0
"""The saturation under which a photo is black and white, or nearly (the default of
`Policy.monochrome_saturation`; which of two copies is kept uses it as it is)."""
FACE_COLOUR = 26.0
"""A face's own region this saturated or more makes a photo colour, however grey the
whole picture measures (a colour figure standing small in a grey frame). Colour faces
measured 26.6-77 on the project's real photos (26.6 at half a percent of the frame). A
face less saturated leaves the whole picture to decide: saturation reads stronger in
darker pixels, and the shaded face of a black-and-white print with a faint colour cast
measured up to 25."""
SATURATION_PERCENTILE = 90.0
"""The percentile of the pixels' saturation that sums a photo up."""
DARK = 24
"""Pixels whose largest channel is under this (0-255) are left out: too dark to have a
colour."""
WHITE = 232
"""Pixels whose smallest channel is over this (0-255) are left out: too bright to have a
colour."""
MIN_LIT_SHARE = 0.05
"""Least share of pixels between DARK and WHITE for the saturation to be measured."""


def _saturation_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every pair (largest, smallest) of a pixel's channels, indexed ``largest * 256 +
    smallest``: whether it is judged (between `DARK` and `WHITE`); and the order of the
    pairs by their saturation, with the saturations in that order. Computed as the pixels'
    own would be (float32), so the level read from the table is the same number."""
    top = np.arange(256, dtype=np.float32)[:, None]
    low = np.arange(256, dtype=np.uint8)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        saturation = ((top - low) * (100.0 / top)).astype(np.float32).ravel()
    saturation[~np.isfinite(saturation)] = 0.0
    pairs = np.arange(256 * 256)
    judged = ((pairs >> 8) >= DARK) & ((pairs & 255) <= WHITE)
    order = np.argsort(saturation, kind="stable")
    return judged, order, saturation[order]


_JUDGED, _ORDER, _SORTED = _saturation_table()
_EXACT_COUNTS = 1 << 24
"""Pixels up to which a float32 histogram counts exactly."""


def saturation_level(thumb: np.ndarray) -> float | None:
    """The saturation (percent) that `SATURATION_PERCENTILE` percent of ``thumb``'s
    pixels between black and white stay within: 0 for a one-channel (grey) thumbnail;
    None when nearly every pixel is black or white (nothing to judge)."""
    if thumb.size == 0:
        return None
    if thumb.ndim != 3 or thumb.shape[2] < 3:
        grey = thumb if thumb.ndim == 2 else thumb[..., 0]
        lit = int(np.count_nonzero((grey >= DARK) & (grey <= WHITE)))
        return 0.0 if lit and lit >= MIN_LIT_SHARE * grey.size else None
    # Per-channel planes: numpy's max over the last axis of three is six times slower.
    r, g, b = cv2.split(np.ascontiguousarray(thumb[..., :3]))
    top = cv2.max(cv2.max(r, g), b).reshape(-1, 1)
    low = cv2.min(cv2.min(r, g), b).reshape(-1, 1)
    # How many pixels hold each (largest, smallest) pair: a pixel's saturation depends on
    # nothing else, so the level is read from the pairs in order of their saturation
    # (the nearest rank, as a partition of the pixels' own values would give it).
    if top.size < _EXACT_COUNTS:
        counts = cv2.calcHist([top, low], [0, 1], None, [256, 256], [0, 256, 0, 256])
        hist = counts.ravel().astype(np.int64)
    else:
        pairs = top.astype(np.int64) * 256 + low.astype(np.int64)
        hist = np.bincount(pairs.ravel(), minlength=256 * 256)
    hist[~_JUDGED] = 0
    count = int(hist.sum())
    if count == 0 or count < MIN_LIT_SHARE * top.size:
        return None
    k = min(count - 1, int(count * SATURATION_PERCENTILE / 100.0))
    rank = int(np.searchsorted(np.cumsum(hist[_ORDER]), k, side="right"))
    return float(_SORTED[rank])
