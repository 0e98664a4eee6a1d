"""Compact, picklable image fingerprints for duplicate search, made once per decode.

Three 64-bit perceptual hashes (DCT of the whole frame, gradient of the whole frame, DCT of
the centre) find candidates cheaply; a small grey copy (for ORB keypoints, found only when
a pair needs verifying) and a thumbnail let the duplicate search verify a candidate pair
geometrically without decoding anything again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import imagehash
import numpy as np
from PIL import Image

THUMB_SIDE = 192
"""Longer side of the stored RGB thumbnail (also used by reports)."""
_ORB_FEATURES = 400
_CENTRE_SHARE = 0.8
_MIN_ORB_SIDE = 48


@dataclass(frozen=True, slots=True, eq=False)
class Fingerprint:
    """What duplicate search needs of one image (compared by identity, not by value)."""

    phash: int
    dhash: int
    centre_phash: int
    pixel_hash: str
    """Digest of the grey analysis pixels: equal for lossless re-encodings of one picture."""
    gray: np.ndarray
    """Grey copy at half the analysis size: keypoints are found on it when needed."""
    thumbnail: np.ndarray
    """RGB uint8, longer side THUMB_SIDE (or less for small images)."""


def hamming(a: int, b: int) -> int:
    """Number of differing bits of two 64-bit hashes."""
    return (a ^ b).bit_count()


def _hash_int(h: imagehash.ImageHash) -> int:
    return int(str(h), 16)


def thumbnail(rgb: np.ndarray, side: int = THUMB_SIDE) -> np.ndarray:
    h, w = rgb.shape[:2]
    f = min(1.0, side / max(h, w))
    if f >= 1.0:
        return rgb.copy()
    # Halve with the Gaussian pyramid while still over twice the target (fast and free of
    # aliasing), then area-average the rest of the way.
    small = rgb
    while max(small.shape[:2]) >= 4 * side:
        small = cv2.pyrDown(small)
    size = (max(1, round(w * f)), max(1, round(h * f)))
    out: np.ndarray = cv2.resize(small, size, interpolation=cv2.INTER_AREA)
    return out


def _small(gray: np.ndarray, side: int) -> Image.Image:
    # imagehash resizes with Lanczos from whatever it is given; an area-averaged 64 px copy
    # gives the same hash bits at a fraction of the cost.
    return Image.fromarray(cv2.resize(gray, (side, side), interpolation=cv2.INTER_AREA))


def half_size(gray: np.ndarray) -> np.ndarray:
    """The grey analysis copy at half size (unchanged when already small)."""
    h, w = gray.shape
    if min(h, w) < 256:
        return gray
    return cv2.resize(gray, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)


def thumbnail_of(image: Image.Image, side: int = THUMB_SIDE) -> np.ndarray:
    """RGB thumbnail of a Pillow image: box-reduced in Pillow, then area-averaged."""
    factor = max(1, max(image.size) // (2 * side))
    small = image.reduce(factor) if factor > 1 else image
    return thumbnail(np.asarray(small.convert("RGB") if small.mode != "RGB" else small), side)


def fingerprint(gray: np.ndarray, thumb: np.ndarray) -> Fingerprint:
    """Fingerprint an upright image from its grey analysis copy and its RGB thumbnail."""
    half = half_size(gray)
    h, w = half.shape
    ch, cw = max(1, int(h * _CENTRE_SHARE)), max(1, int(w * _CENTRE_SHARE))
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    centre = np.ascontiguousarray(half[y0 : y0 + ch, x0 : x0 + cw])
    pixel_hash = hashlib.blake2b(
        np.ascontiguousarray(gray).tobytes() + repr(gray.shape).encode(), digest_size=16
    ).hexdigest()
    return Fingerprint(
        phash=_hash_int(imagehash.phash(_small(half, 64))),
        dhash=_hash_int(imagehash.dhash(_small(half, 64))),
        centre_phash=_hash_int(imagehash.phash(_small(centre, 64))),
        pixel_hash=pixel_hash,
        gray=half,
        thumbnail=thumb,
    )


@lru_cache(maxsize=512)
def orb_features(fp: Fingerprint) -> tuple[np.ndarray, np.ndarray]:
    """ORB keypoint positions (N x 2, in `fp.gray` pixels) and descriptors (N x 32).

    Computed only for images that duplicate search must verify, most images never are.
    """
    kps: Sequence[cv2.KeyPoint] = ()
    desc = None
    if min(fp.gray.shape) >= _MIN_ORB_SIDE:
        orb = cv2.ORB.create(nfeatures=_ORB_FEATURES, fastThreshold=10, edgeThreshold=15)
        kps, desc = orb.detectAndCompute(fp.gray, None)
    points = np.array([k.pt for k in kps], dtype=np.float32).reshape(-1, 2)
    descriptors = (
        np.zeros((0, 32), dtype=np.uint8) if desc is None else np.asarray(desc, dtype=np.uint8)
    )
    return points, descriptors
