"""Pixels within a budget: what a decode will cost before it runs, and the normalised,
upright, reduced copy the checks look at.

A small file can decode to gigabytes: a flat 16-bit RGBA PNG of 120 MP compresses to
under a megabyte. So the bytes a decode holds at its peak (the decoder's output in
Pillow's own layout, the conversion a mode needs before it can be shrunk, a progressive
JPEG's coefficient buffer) are counted from the header and refused over the policy's
budget before a pixel is decoded. After the decode, the image is first shrunk (a box
reduction by a whole factor) to about the analysis size, and only that small copy is
converted to RGB: 16-bit scaling and alpha flattening never touch the full image.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# Bytes per pixel of Pillow's own storage for each mode (RGB is stored in four).
_STORED_BYTES = {
    "1": 1,
    "L": 1,
    "P": 1,
    "I;16": 2,
    "I;16B": 2,
    "I;16L": 2,
    "I;16N": 2,
    "LA": 4,
    "La": 4,
    "PA": 4,
    "RGB": 4,
    "RGBA": 4,
    "RGBa": 4,
    "RGBX": 4,
    "CMYK": 4,
    "YCbCr": 4,
    "LAB": 4,
    "HSV": 4,
    "I": 4,
    "F": 4,
}
# Modes that Image.reduce cannot shrink: converted first (a full-size copy, counted).
_CONVERT_BEFORE_REDUCING = {"1": "L", "P": "RGBA", "I;16": "I", "I;16B": "I", "I;16L": "I"}
_CONVERT_BEFORE_REDUCING["I;16N"] = "I"
# Modes HEIF/AVIF decoders may deliver at up to 16 bits per channel.
_HIGH_BIT_DEPTH_BYTES = 8
# A progressive JPEG keeps every DCT coefficient (2 bytes) of every component in memory,
# whatever the output scale: up to three full-size components (4:4:4).
_PROGRESSIVE_COEFFICIENT_BYTES = 6
_OUTPUT_BYTES = 3


def decode_cost(img: Image.Image, fmt: str, reduced_size: tuple[int, int]) -> int:
    """Bytes a decode of ``img`` (opened, not loaded) holds at its peak.

    ``reduced_size`` is the size of the copy a JPEG is decoded to (the DCT scaling); other
    formats decode in full.
    """
    w, h = img.size
    if fmt in ("JPEG", "MPO"):
        rw, rh = reduced_size
        cost = rw * rh * _OUTPUT_BYTES * 2  # the decoder's output and the upright copy
        if img.info.get("progressive") or img.info.get("progression"):
            cost += w * h * _PROGRESSIVE_COEFFICIENT_BYTES
        return cost
    if fmt in ("HEIF", "AVIF"):
        return w * h * _HIGH_BIT_DEPTH_BYTES
    stored = _STORED_BYTES.get(img.mode, 8)
    converted = _CONVERT_BEFORE_REDUCING.get(img.mode)
    extra = _STORED_BYTES.get(converted, 4) if converted else 0
    return w * h * (stored + extra)


def reduced(img: Image.Image, short_side: int) -> Image.Image:
    """``img`` (loaded) shrunk by the largest whole factor that keeps its shorter side at
    ``short_side`` or more (a box average; unchanged when already that small)."""
    factor = min(img.size) // max(short_side, 1)
    if factor < 2:
        return img
    converted = _CONVERT_BEFORE_REDUCING.get(img.mode)
    if converted is not None:
        img = img.convert(converted)
    return img.reduce(factor)


def normalized_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow image as RGB uint8, the way the pre-flight sees it (16-bit scaled,
    alpha flattened on grey)."""
    return img if img.mode == "RGB" else Image.fromarray(to_rgb(img))


_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def transparent_share(img: Image.Image) -> float:
    """The share of an image's pixels that are more transparent than opaque (0 for a
    mode without transparency)."""
    if img.mode not in _ALPHA_MODES and not (img.mode == "P" and "transparency" in img.info):
        return 0.0
    alpha = np.asarray(img.convert("RGBA"))[:, :, 3]
    return float((alpha < 128).mean()) if alpha.size else 0.0


def to_rgb(img: Image.Image) -> np.ndarray:
    """Normalise any Pillow mode to RGB uint8 (16-bit scaled, alpha flattened on grey)."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        if mode == "F":
            lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
            arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        elif mode.startswith("I;16") or float(arr.max(initial=0)) > 255:
            arr = arr / 257.0
        gray = np.clip(np.nan_to_num(arr), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode in _ALPHA_MODES:
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32)
        alpha = rgba[:, :, 3:4] / 255.0
        # Transparent areas become mid grey: neutral for exposure and sharpness.
        flat = rgba[:, :, :3] * alpha + 128.0 * (1.0 - alpha)
        out: np.ndarray = np.clip(flat + 0.5, 0, 255).astype(np.uint8)
        return out
    if mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.uint8)
