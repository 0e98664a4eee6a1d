"""What a pair verification compares of one image, made once and packed to travel.

Verifying a candidate pair (`dedup`) matches ORB keypoints of the two grey copies and then
compares the grey thumbnails. Finding an image's keypoints, and decoding its file again
to have its grey copy, are most of a verification's cost; in a big folder one image is
verified against many others, on whichever worker gets the job. So an image's
`Features` (its grey thumbnail, the size of its grey copy, its keypoints) are made once,
packed into ~45 KB (`pack`), and handed back to the duplicate search, which sends them
with the image's later verifications (see `duplicates`): each image is decoded again and
searched for keypoints about once per search, not once per pair. The packed bytes name
the pixels they were made from (`Fingerprint.pixel_hash`), so they are never taken for
another image's.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._opencv import cv2
from .fingerprint import Detail

_ORB_FEATURES = 400
_MIN_ORB_SIDE = 48
_HEAD = struct.Struct("<5I32s")
"""Packed header: thumbnail height and width, grey copy height and width, keypoints, and
the pixel digest of the image (32 hex digits)."""
_DESCRIPTOR = 32
"""Bytes of one ORB descriptor."""


@dataclass(frozen=True, slots=True, eq=False)
class Features:
    """One image as pair verification sees it."""

    thumbnail: np.ndarray
    """The grey thumbnail (uint8, `Detail.thumbnail`): what aligned copies are compared on."""
    gray_shape: tuple[int, int]
    """Height and width of the grey copy the keypoints were found on (`Detail.gray`)."""
    points: np.ndarray
    """Keypoint positions, N x 2 float32, in the grey copy's pixels."""
    descriptors: np.ndarray
    """Their ORB descriptors, N x 32 uint8."""
    pixel_hash: str
    """The digest of the image's grey analysis pixels (`Fingerprint.pixel_hash`)."""

    @staticmethod
    def of(detail: Detail, pixel_hash: str) -> Features:
        """The features of an image's pixels (finds its keypoints: ~2 ms at 320x240);
        `pixel_hash` is their digest."""
        points, descriptors = orb_features(detail.gray)
        h, w = detail.gray.shape
        return Features(detail.thumbnail, (h, w), points, descriptors, pixel_hash)

    def pack(self) -> bytes:
        """The features as bytes (`unpack` makes them again, exactly)."""
        thumb = np.ascontiguousarray(self.thumbnail, dtype=np.uint8)
        if thumb.ndim != 2:
            raise ValueError(f"the thumbnail must be grey, not {thumb.shape}")
        points = np.ascontiguousarray(self.points, dtype=np.float32).reshape(-1, 2)
        descriptors = np.ascontiguousarray(self.descriptors, dtype=np.uint8)
        if descriptors.shape != (len(points), _DESCRIPTOR):
            raise ValueError(f"{len(points)} keypoints but descriptors {descriptors.shape}")
        digest = self.pixel_hash.encode("ascii")
        if len(digest) != 32:
            raise ValueError(f"a pixel digest has 32 hex digits, not {self.pixel_hash!r}")
        head = _HEAD.pack(*thumb.shape, *self.gray_shape, len(points), digest)
        return head + thumb.tobytes() + points.tobytes() + descriptors.tobytes()

    @staticmethod
    def unpack(data: bytes) -> Features:
        """The Features `pack` made these bytes from (ValueError for any other bytes)."""
        if len(data) < _HEAD.size:
            raise ValueError("packed features too short")
        th, tw, gh, gw, n, digest = _HEAD.unpack_from(data)
        sizes = (th * tw, n * 2 * 4, n * _DESCRIPTOR)
        if len(data) != _HEAD.size + sum(sizes):
            raise ValueError("packed features do not match their header")
        at = _HEAD.size
        thumb = np.frombuffer(data, np.uint8, sizes[0], at).reshape(th, tw).copy()
        at += sizes[0]
        points = np.frombuffer(data, np.float32, n * 2, at).reshape(n, 2).copy()
        at += sizes[1]
        descriptors = np.frombuffer(data, np.uint8, sizes[2], at).reshape(n, _DESCRIPTOR).copy()
        try:
            pixel_hash = digest.decode("ascii")
        except UnicodeDecodeError as exc:
            raise ValueError("packed features name no pixel digest") from exc
        return Features(thumb, (gh, gw), points, descriptors, pixel_hash)


def orb_features(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ORB keypoint positions (N x 2, in `gray`'s pixels) and descriptors (N x 32)."""
    kps: Sequence[cv2.KeyPoint] = ()
    desc = None
    if min(gray.shape) >= _MIN_ORB_SIDE:
        orb = cv2.ORB.create(nfeatures=_ORB_FEATURES, fastThreshold=10, edgeThreshold=15)
        kps, desc = orb.detectAndCompute(gray, None)
    points = np.array([k.pt for k in kps], dtype=np.float32).reshape(-1, 2)
    descriptors = (
        np.zeros((0, _DESCRIPTOR), dtype=np.uint8)
        if desc is None
        else np.asarray(desc, dtype=np.uint8)
    )
    return points, descriptors
