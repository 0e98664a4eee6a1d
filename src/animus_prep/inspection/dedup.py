"""Whether two images show the same picture: the geometric verification of a candidate pair.

Search is split from hashing (as in imagededup): cheap 64-bit hashes propose candidate
pairs (`hashindex`, `duplicates`), and each candidate is verified here: ORB keypoints
are matched, a similarity transform is fitted with RANSAC, one thumbnail is warped onto
the other, and the pair is a duplicate only when the aligned images agree everywhere but
for a small patch (a watermark). Two different photos of the same person in the same
place share background keypoints, but not the region where the person moved, so they fail
that last test.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .._opencv import cv2
from .detail import DetailUnavailable, detail_of, features_of
from .features import Features
from .fingerprint import Detail, Fingerprint

_RATIO_TEST = 0.8
_MIN_INLIERS = 12
# Pixels whose z-scores differ by more than this count as changed; up to _MAX_DIFFERING
# of the overlap may change (a watermark or a logo) before two images are different photos.
_DIFFERENT_Z = 1.0
_MAX_DIFFERING = 0.02
_MIN_OVERLAP = 0.8
MIRRORED = "mirrored"
"""The method of a verdict that found a picture flipped left to right (`verify_mirrored`)."""


@dataclass(frozen=True, slots=True)
class PairVerdict:
    """How closely two images match once aligned."""

    duplicate: bool
    similarity: float
    """Correlation of the aligned grey thumbnails over their overlap (-1 to 1)."""
    method: str
    """`identical`, `aligned` (ORB + RANSAC), `resized` (no geometry to fit),
    `mirrored` (`verify_mirrored` found it), or `unavailable` (a file's pixels could not
    be had again)."""


def _gray_thumb(p: Features) -> np.ndarray:
    return p.thumbnail.astype(np.float32)


def _fit_similarity(a: Features, b: Features) -> np.ndarray | None:
    """2x3 transform taking b's keypoint coordinates to a's, or None."""
    a_points, a_desc = a.points, a.descriptors
    b_points, b_desc = b.points, b.descriptors
    if len(a_desc) < _MIN_INLIERS or len(b_desc) < _MIN_INLIERS:
        return None
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    knn = matcher.knnMatch(b_desc, a_desc, k=2)
    good = [m[0] for m in knn if len(m) == 2 and m[0].distance < _RATIO_TEST * m[1].distance]
    if len(good) < _MIN_INLIERS:
        return None
    src = b_points[[m.queryIdx for m in good]]
    dst = a_points[[m.trainIdx for m in good]]
    matrix, inliers = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=3.0, maxIters=500
    )
    if matrix is None or inliers is None or int(inliers.sum()) < _MIN_INLIERS:
        return None
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    if not 0.5 < scale < 2.0:
        return None
    return np.asarray(matrix, dtype=np.float64)


def _compare_aligned(a: np.ndarray, b: np.ndarray, valid: np.ndarray) -> tuple[float, float]:
    """Correlation over the valid overlap, and the share of it that clearly differs."""
    av, bv = a[valid], b[valid]
    # Brightness and contrast changes are not differences: compare z-scores.
    za = (av - av.mean()) / (av.std() + 1e-6)
    zb = (bv - bv.mean()) / (bv.std() + 1e-6)
    diff = np.abs(za - zb)
    # A watermark changes a small patch; a moved subject changes a large one.
    differing = float(np.mean(diff > _DIFFERENT_Z))
    # Correlate what remains once the allowed patch is set aside, so a bright logo on a
    # dark, flat picture does not hide an otherwise exact copy.
    keep = diff <= np.quantile(diff, 1.0 - _MAX_DIFFERING)
    ka, kb = za[keep], zb[keep]
    corr = float(np.mean(ka * kb) / (np.sqrt(np.mean(ka * ka) * np.mean(kb * kb)) + 1e-9))
    return corr, differing


def verify_pair(
    a: Fingerprint,
    b: Fingerprint,
    min_similarity: float,
    *,
    min_cover_a: float = _MIN_OVERLAP,
    min_cover_b: float = _MIN_OVERLAP,
) -> PairVerdict:
    """Whether two fingerprinted images show the same picture.

    The aligned overlap must cover `min_cover_a` of `a` and `min_cover_b` of `b`: by
    default most of both; lower `min_cover_a` to find crops of `a`. A compact fingerprint's
    features are unpacked, or made from its pixels, packed or decoded again from its file
    (see `inspection.detail`); when they cannot be had (the file gone or changed), the
    verdict is "unavailable" (not a duplicate).
    """
    if a.pixel_hash == b.pixel_hash:
        return PairVerdict(True, 1.0, "identical")
    try:
        return _verify_pixels(
            features_of(a), features_of(b), min_similarity, min_cover_a, min_cover_b
        )
    except (DetailUnavailable, cv2.error, ValueError, MemoryError):
        # No pixels to compare, or a pair this odd broke the geometry: not shown to be
        # copies, and one pair never stops the whole folder's check.
        return PairVerdict(False, 0.0, "unavailable")


def verify_mirrored(a: Fingerprint, b: Fingerprint, min_similarity: float) -> PairVerdict:
    """Whether `b` shows `a`'s picture flipped left to right (method `mirrored`): `a`'s
    pixels are flipped and the pair verified as `verify_pair` does, `a` as the kept copy.
    Unavailable pixels make the verdict "unavailable", as there."""
    try:
        detail = detail_of(a)
        flipped = Detail(
            np.ascontiguousarray(detail.gray[:, ::-1]),
            np.ascontiguousarray(detail.thumbnail[:, ::-1]),
        )
        # The flipped pixels' features are made here each time: they are never cached
        # under the digest of the pixels as they stand.
        verdict = _verify_pixels(
            Features.of(flipped, a.pixel_hash),
            features_of(b),
            min_similarity,
            _MIN_OVERLAP,
            _MIN_OVERLAP,
        )
    except (DetailUnavailable, cv2.error, ValueError, MemoryError):
        return PairVerdict(False, 0.0, "unavailable")
    return replace(verdict, method=MIRRORED)


def features_or_none(fp: Fingerprint) -> Features | None:
    """The fingerprint's features (see `inspection.detail`), or None when its pixels
    cannot be had (as `verify_pair` would find)."""
    try:
        return features_of(fp)
    except (DetailUnavailable, cv2.error, ValueError, MemoryError):
        return None


def _verify_pixels(
    a: Features, b: Features, min_similarity: float, min_cover_a: float, min_cover_b: float
) -> PairVerdict:
    ta, tb = _gray_thumb(a), _gray_thumb(b)
    h, w = ta.shape
    matrix = _fit_similarity(a, b)
    if matrix is not None:
        # Keypoints live in grey-analysis coordinates; thumbnails are smaller copies.
        fa = w / a.gray_shape[1]
        fb = b.gray_shape[1] / tb.shape[1]
        m = matrix.copy()
        m[:, :2] *= fa * fb
        m[:, 2] *= fa
        method = "aligned"
    else:
        # No geometry to fit (little texture): compare as if only resized.
        ra, rb = w / h, tb.shape[1] / tb.shape[0]
        if abs(ra - rb) > 0.08 * ra:
            return PairVerdict(False, 0.0, "resized")
        m = np.array([[w / tb.shape[1], 0, 0], [0, h / tb.shape[0], 0]], dtype=np.float64)
        method = "resized"
    warped = cv2.warpAffine(tb, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=-1.0)
    mask = cv2.warpAffine(np.ones_like(tb), m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0.0)
    valid = mask > 0.5
    # The overlap must cover most of both pictures: a photo pasted into a collage, or a
    # tight crop of a wide shot, is another picture, not a copy.
    scale2 = abs(float(np.linalg.det(m[:, :2])))
    covered_b = float(valid.sum()) / max(scale2 * tb.shape[0] * tb.shape[1], 1.0)
    if covered_b < min_cover_b or float(valid.mean()) < min_cover_a:
        return PairVerdict(False, 0.0, method)
    corr, differing = _compare_aligned(ta, warped, valid)
    return PairVerdict(corr >= min_similarity and differing <= _MAX_DIFFERING, corr, method)
