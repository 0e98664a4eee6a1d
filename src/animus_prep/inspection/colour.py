"""How much colour a photo holds: black-and-white photos among colour ones.

A LoRA learns the person's colouring (skin, hair, eyes) from its photos; a black-and-white
one teaches it grey skin, or a monochrome style. The measure is the chroma of each pixel
of the RGB thumbnail (the largest minus the smallest of R, G and B, 0-255), and the photo
is summed up by the level 90% of its pixels stay within: a grey picture measures 0, a
black-and-white print toned slightly in its background 13, and colour photos of people
40 or more (the project's real photos: 42-117; 24-59 with half their saturation taken
away). A sepia print is coloured, all in one hue (36-63): it is not told apart here.
"""

from __future__ import annotations

import numpy as np

CHROMA_PERCENTILE = 90.0
"""The percentile of the pixels' chroma that sums a photo up."""


def chroma_level(thumb: np.ndarray) -> float:
    """The chroma (0-255) that `CHROMA_PERCENTILE` percent of ``thumb``'s pixels stay
    within; 0 for a one-channel (grey) thumbnail."""
    if thumb.ndim != 3 or thumb.shape[2] < 3 or thumb.size == 0:
        return 0.0
    rgb = thumb[..., :3]
    chroma = (rgb.max(axis=2).astype(np.int16) - rgb.min(axis=2)).ravel()
    k = min(chroma.size - 1, int(chroma.size * CHROMA_PERCENTILE / 100.0))
    return float(np.partition(chroma, k)[k])  # nearest rank
