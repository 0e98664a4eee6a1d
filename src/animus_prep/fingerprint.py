"""Compact, picklable image fingerprints for duplicate search, made once per decode.

Three 64-bit perceptual hashes (DCT of the whole frame, gradient of the whole frame, DCT of
the centre) find candidates cheaply; ORB keypoints and a small thumbnail let the duplicate
search verify a candidate pair geometrically without decoding anything again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import imagehash
import numpy as np
from PIL import Image

THUMB_SIDE = 192
"""Longer side of the stored RGB thumbnail (also used by reports)."""
_ORB_FEATURES = 400
_CENTRE_SHARE = 0.8
_MIN_ORB_SIDE = 48


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What duplicate search needs of one image."""

    phash: int
    dhash: int
    centre_phash: int
    pixel_hash: str
    """Digest of the grey analysis pixels: equal for lossless re-encodings of one picture."""
    keypoints: np.ndarray
    """ORB keypoint positions (N x 2, float32) in pixels of the `gray_shape` image."""
    descriptors: np.ndarray
    """ORB descriptors (N x 32, uint8)."""
    gray_shape: tuple[int, int]
    """(height, width) of the grey image the keypoints were found on."""
    thumbnail: np.ndarray
    """RGB uint8, longer side THUMB_SIDE (or less for small images)."""


def _hash_int(h: imagehash.ImageHash) -> int:
    return int(str(h), 16)


def hamming(a: int, b: int) -> int:
    """Number of differing bits of two 64-bit hashes."""
    return (a ^ b).bit_count()


def thumbnail(rgb: np.ndarray, side: int = THUMB_SIDE) -> np.ndarray:
    h, w = rgb.shape[:2]
    f = min(1.0, side / max(h, w))
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA) if f < 1.0 else rgb.copy()


def _small(gray: np.ndarray, side: int) -> Image.Image:
    # imagehash resizes with Lanczos from whatever it is given; an area-averaged 64 px copy
    # gives the same hash bits at a fraction of the cost.
    return Image.fromarray(cv2.resize(gray, (side, side), interpolation=cv2.INTER_AREA))


def fingerprint(rgb: np.ndarray, gray: np.ndarray) -> Fingerprint:
    """Fingerprint an upright RGB image, given its grey analysis copy."""
    h, w = gray.shape
    ch, cw = max(1, int(h * _CENTRE_SHARE)), max(1, int(w * _CENTRE_SHARE))
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    centre = np.ascontiguousarray(gray[y0 : y0 + ch, x0 : x0 + cw])
    # Keypoints on a half-size copy: plenty to fit a transform, at a quarter of the cost.
    half = (
        cv2.resize(gray, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
        if min(h, w) >= 256
        else gray
    )
    kps: Sequence[cv2.KeyPoint] = ()
    desc = None
    if min(half.shape) >= _MIN_ORB_SIDE:
        orb = cv2.ORB.create(nfeatures=_ORB_FEATURES, fastThreshold=10, edgeThreshold=15)
        kps, desc = orb.detectAndCompute(half, None)
    points = np.array([k.pt for k in kps], dtype=np.float32).reshape(-1, 2)
    descriptors = (
        np.zeros((0, 32), dtype=np.uint8) if desc is None else np.asarray(desc, dtype=np.uint8)
    )
    pixel_hash = hashlib.blake2b(
        np.ascontiguousarray(gray).tobytes() + repr(gray.shape).encode(), digest_size=16
    ).hexdigest()
    step = 2 if min(rgb.shape[:2]) >= 4 * THUMB_SIDE else 1
    return Fingerprint(
        phash=_hash_int(imagehash.phash(_small(gray, 64))),
        dhash=_hash_int(imagehash.dhash(_small(gray, 64))),
        centre_phash=_hash_int(imagehash.phash(_small(centre, 64))),
        pixel_hash=pixel_hash,
        keypoints=points,
        descriptors=descriptors,
        gray_shape=(half.shape[0], half.shape[1]),
        thumbnail=thumbnail(rgb[::step, ::step]),
    )
