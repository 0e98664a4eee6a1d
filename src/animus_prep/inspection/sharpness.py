"""Blur measurement that holds up against smooth content and sensor noise.

Global Laplacian variance mixes "how much texture" with "how sharp", and noise added
after a blur inflates it. Here the blur of the image's strongest edges is estimated
instead, in pixels, from scale space: for an edge blurred by a Gaussian of sigma s, the
gradient magnitude after smoothing with sigma t falls as 1/sqrt(s^2 + t^2), so the ratio
of gradient magnitudes at two smoothing scales gives s directly, whatever the edge's
contrast. Only edges well above the measured noise floor are used, and the expected noise
energy is subtracted from both scales, so grain neither hides a blur nor fakes sharpness.
A few sharp edges are enough (a sharp subject against a smooth or defocused background
passes), which is why a low percentile of the per-edge estimates is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from .._opencv import cv2

_SIGMA_FINE = 0.6
_SIGMA_COARSE = 1.2
# Share of strongest edge pixels examined, and the percentile of their blur estimates
# that represents the image: the sharpest quarter of its strongest edges.
_EDGE_FRACTION = 0.04
_SHARPEST_PERCENTILE = 25.0
# Edge pixels must stand this many noise standard deviations above the noise floor.
_NOISE_MARGIN = 6.0
_MIN_EDGE_PIXELS = 40
_ORIENTATIONS = 4
# An edge blur no image reaches; returned when nothing could be measured.
_UNMEASURABLE = 0.0


@dataclass(frozen=True, slots=True)
class Sharpness:
    """Blur estimate of an image's sharpest strong edges."""

    edge_width: float
    """Estimated Gaussian blur sigma of the sharpest edges, in analysis pixels."""
    noise_sigma: float
    """Estimated noise standard deviation (grey levels)."""
    edge_pixels: int
    """How many edge pixels the estimate rests on (0: featureless, not measurable)."""

    @property
    def measurable(self) -> bool:
        return self.edge_pixels >= _MIN_EDGE_PIXELS


def estimate_noise(gray: np.ndarray) -> float:
    """Immerkaer's fast noise estimate (grey levels), robust to edges via a median."""
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
    response = cv2.filter2D(gray, cv2.CV_32F, kernel, borderType=cv2.BORDER_REFLECT)
    # One pixel in every 3x3 block is plenty for a median, and far cheaper.
    inner = np.abs(response[1:-1:3, 1:-1:3]).ravel()
    if inner.size == 0:
        return 0.0
    # For Gaussian noise, median(|r|) = 0.6745 * std(r), and std(r) = 6 * sigma.
    mid = inner.size // 2
    return float(np.partition(inner, mid)[mid]) / 0.6745 / 6.0


@cache
def _gradient_noise_gain(sigma: float) -> float:
    """Standard deviation of one gradient component for unit white noise."""
    size = int(np.ceil(sigma * 4)) * 2 + 3
    impulse = np.zeros((size, size), dtype=np.float32)
    impulse[size // 2, size // 2] = 1.0
    gx, _ = _gradients(impulse, sigma, 1)
    # Each component is a linear filter: its output std is the filter's L2 norm.
    return float(np.sqrt(np.sum(gx.astype(np.float64) ** 2)))


_CENTRAL_DIFFERENCE = np.array([[-0.5, 0.0, 0.5]], dtype=np.float32)


def _gradients(gray: np.ndarray, sigma: float, margin: int) -> tuple[np.ndarray, np.ndarray]:
    """Central-difference gradients of the Gaussian-smoothed image, zero within `margin` px
    of the frame (where the smoothing sees the reflected border)."""
    s = cv2.GaussianBlur(gray, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    gx = cv2.filter2D(s, -1, _CENTRAL_DIFFERENCE, borderType=cv2.BORDER_REFLECT)
    gy = cv2.filter2D(s, -1, _CENTRAL_DIFFERENCE.T, borderType=cv2.BORDER_REFLECT)
    for g in (gx, gy):
        g[:margin] = 0
        g[-margin:] = 0
        g[:, :margin] = 0
        g[:, -margin:] = 0
    return gx, gy


def _quantile(values: np.ndarray, q: float) -> float:
    """The q-quantile (nearest rank) by partition: a fraction of np.quantile's cost."""
    k = min(values.size - 1, max(0, int(q * values.size)))
    return float(np.partition(values, k)[k])


# tan(22.5 degrees): the sector boundaries of four orientations 45 degrees apart.
_TAN_22_5 = 0.41421356


def _orientation_bins(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Gradient orientation modulo 180 degrees in four sectors centred on 0, 45, 90, 135."""
    ax, ay = np.abs(gx), np.abs(gy)
    diagonal = np.where(gx * gy > 0, 1, 3)
    return np.where(ay < _TAN_22_5 * ax, 0, np.where(ax < _TAN_22_5 * ay, 2, diagonal))


def measure_sharpness(
    gray: np.ndarray,
    presmooth: float = 0.0,
    noise: float | None = None,
    *,
    each_orientation: bool = False,
) -> Sharpness:
    """Estimate the blur of a grey image (uint8 or float, any size >= 16 px).

    With ``presmooth`` (a Gaussian sigma, px) the image is smoothed first and that blur is
    taken off the estimate again (blurs add in quadrature): in a small region, grain makes
    some edges look steeper than they are, and the sharpest of them would vouch for a soft
    picture; smoothed, the grain's share of the finest gradients is a small fraction.
    ``noise`` is `estimate_noise(gray)` when the caller already has it.

    The edges judged are the image's strongest few percent, whatever their orientation.
    With ``each_orientation`` each orientation's own strongest few percent are judged
    too, and the worst reading counts: motion blur lowers the gradients across the
    motion, so those edges can all fall out of the strongest overall, and the sharp
    edges along the motion would vouch for the picture alone. That needs every
    orientation to hold real edges (a face does); in a whole frame an orientation with no
    sharp edge would be judged on its softest ones, a defocused background.
    """
    g = gray.astype(np.float32, copy=False)
    if noise is None:
        noise = estimate_noise(g)
    if presmooth > 0.0:
        smooth = cv2.GaussianBlur(g, (0, 0), presmooth, borderType=cv2.BORDER_REFLECT)
        found = measure_sharpness(smooth, each_orientation=each_orientation)
        width = float(np.sqrt(max(found.edge_width**2 - presmooth**2, 0.0)))
        return Sharpness(width if found.measurable else found.edge_width, noise, found.edge_pixels)
    # Drop a border where the smoothing sees the reflected edge of the frame.
    m = int(np.ceil(3 * _SIGMA_COARSE))
    if g.shape[0] <= 2 * m + 4 or g.shape[1] <= 2 * m + 4:
        return Sharpness(_UNMEASURABLE, noise, 0)
    fx, fy = _gradients(g, _SIGMA_FINE, m)
    cx, cy = _gradients(g, _SIGMA_COARSE, m)
    coarse = cv2.magnitude(cx, cy).ravel()
    n_fine = noise * _gradient_noise_gain(_SIGMA_FINE)
    n_coarse = noise * _gradient_noise_gain(_SIGMA_COARSE)
    floor = _NOISE_MARGIN * n_coarse * np.sqrt(2.0)
    # The strength that only the strongest few percent of pixels reach, from a subsample
    # (a full partition of every pixel costs more than all the filtering).
    sample = coarse[:: max(1, coarse.size // 20000)].copy()
    cut = _quantile(sample, 1.0 - _EDGE_FRACTION) if sample.size else 0.0
    strongest = np.flatnonzero(coarse > max(cut, floor, 2.0))
    if strongest.size < _MIN_EDGE_PIXELS:
        return Sharpness(_UNMEASURABLE, noise, int(strongest.size))
    widths = _edge_widths(fx, fy, cx, cy, strongest, (n_fine, n_coarse))
    # Motion blur widens only edges across the motion: judge each edge orientation on its
    # own and keep the worst, so sharp edges along the motion cannot vouch for the rest.
    bins = _orientation_bins(cx.ravel()[strongest], cy.ravel()[strongest])
    per_orientation = [
        _quantile(chosen, _SHARPEST_PERCENTILE / 100.0)
        for chosen in (widths[bins == b] for b in range(_ORIENTATIONS))
        if chosen.size >= _MIN_EDGE_PIXELS
    ]
    if each_orientation:
        per_orientation += _each_orientation(fx, fy, cx, cy, coarse, (n_fine, n_coarse), floor)
    if per_orientation:
        return Sharpness(max(per_orientation), noise, int(strongest.size))
    return Sharpness(_quantile(widths, _SHARPEST_PERCENTILE / 100.0), noise, int(strongest.size))


def _edge_widths(
    fx: np.ndarray,
    fy: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    at: np.ndarray,
    noise: tuple[float, float],
) -> np.ndarray:
    """The blur (Gaussian sigma, px) of the edge at each flat index ``at``, from its
    gradients at the fine and the coarse scale (``noise``: each scale's noise level)."""
    n_fine, n_coarse = noise
    sfx, sfy = fx.ravel()[at], fy.ravel()[at]
    scx, scy = cx.ravel()[at], cy.ravel()[at]
    # Remove the noise energy each scale carries (two gradient components each).
    f2 = np.maximum(sfx * sfx + sfy * sfy - 2.0 * n_fine**2, 1e-6)
    c2 = np.maximum(scx * scx + scy * scy - 2.0 * n_coarse**2, 1e-6)
    r2 = np.clip(c2 / f2, 1e-6, 0.999)
    # r^2 = (s^2 + t1^2) / (s^2 + t2^2)  =>  s^2 = (r^2 t2^2 - t1^2) / (1 - r^2)
    s2 = (r2 * _SIGMA_COARSE**2 - _SIGMA_FINE**2) / (1.0 - r2)
    widths: np.ndarray = np.sqrt(np.maximum(s2, 0.0))
    return widths


def _each_orientation(
    fx: np.ndarray,
    fy: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    coarse: np.ndarray,
    noise: tuple[float, float],
    floor: float,
) -> list[float]:
    """The blur of each orientation's own strongest edges (`_EDGE_FRACTION` of its
    pixels, above the noise floor), for the orientations with enough of them."""
    gx, gy = cx.ravel(), cy.ravel()
    # Each orientation's cut from a subsample, as for the strongest overall; then only
    # the pixels over the lowest cut are sorted into orientations.
    step = max(1, coarse.size // 20000)
    # Pixels with no gradient at all (the margin `_gradients` zeroes, flat areas) have no
    # orientation: counted, they would all pad one bin and lower its cut.
    sampled = coarse[::step]
    moving = sampled > 0
    sampled = sampled[moving]
    sampled_bins = _orientation_bins(gx[::step][moving], gy[::step][moving])
    cuts = np.full(_ORIENTATIONS, np.inf)
    for b in range(_ORIENTATIONS):
        mine = sampled[sampled_bins == b]
        if mine.size * step >= _MIN_EDGE_PIXELS:
            cuts[b] = max(_quantile(mine, 1.0 - _EDGE_FRACTION), floor, 2.0)
    if not np.isfinite(cuts).any():
        return []
    candidates = np.flatnonzero(coarse > cuts.min())
    candidate_bins = _orientation_bins(gx[candidates], gy[candidates])
    keep = coarse[candidates] > cuts[candidate_bins]
    strong, strong_bins = candidates[keep], candidate_bins[keep]
    out = []
    for b in range(_ORIENTATIONS):
        at = strong[strong_bins == b]
        if at.size >= _MIN_EDGE_PIXELS:
            widths = _edge_widths(fx, fy, cx, cy, at, noise)
            out.append(_quantile(widths, _SHARPEST_PERCENTILE / 100.0))
    return out
