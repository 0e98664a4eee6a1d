"""The real resolution of a photo: the size at which it was last sharp.

A photo found on the web at 180x240 and enlarged past 512 px has the pixel count of a
large photo and the detail of a small one: a LoRA trained on it learns mush. Enlarging
cannot invent detail above the small photo's Nyquist frequency, so the enlarged image's
power spectrum holds the small photo's spectrum up to a cutoff and, above it, only what
interpolation and re-encoding leave: a floor orders of magnitude lower. A photo at its
native size (however soft its background, however strongly de-noised or compressed)
still holds content up to its own Nyquist frequency, in its most detailed parts at least.

So the spectrum is read where the photo is most detailed (the tiles of the grey analysis
copy with the most Laplacian energy; a sharp subject on a defocused background counts),
relative to its own low-frequency level (so a dim or low-contrast photo is not mistaken
for a flat one), and the highest frequency still above `_FLOOR` gives the size of the
photo it was enlarged from. Measured on real portraits enlarged 2-6x with Lanczos,
bicubic and bilinear filters and on their sharp originals at JPEG quality 70-95, with
noise reduction, darkened and at 30% contrast (tests/data/people/tune): the originals
stay at or above -3.6 at the top band, the enlargements at or below -4.2.

A blur applied to a photo after it was taken (with no grain on top) also removes the
detail above some frequency, and reads the same way: such a photo holds no more detail
than a smaller one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from .._opencv import cv2

_TILE = 64
# Share of the tiles, the most detailed ones, whose spectra are averaged (at least four).
_DETAILED_SHARE = 0.1
_MIN_TILES = 4
# Power, in decades relative to the 0.03-0.08 cycles/px band, under which a frequency
# holds no more content (natives: -3.6 and up at the top band; enlargements: -4.2 and
# down above their cutoff).
_FLOOR = -3.9
_REFERENCE_BAND = (0.03, 0.08)
# The floor is crossed this far (cycles per pixel) above the small photo's own Nyquist
# frequency: the interpolation filters' transition band, measured on Lanczos, bicubic
# and bilinear enlargements (an offset of 70-110 px at a 512 px analysis copy).
_TRANSITION = 0.07
_BAND = 1.0 / _TILE


@dataclass(frozen=True, slots=True)
class Detail:
    """How much detail an image holds, as the shorter side of the photo it could be."""

    short_side: float | None
    """Estimated shorter side (px) of the photo this one was enlarged from; None when it
    holds detail up to its own resolution (at the analysis size), or is too small to say."""
    top_band: float
    """Power at the top frequencies, in decades relative to the low-frequency level."""

    @property
    def enlarged(self) -> bool:
        return self.short_side is not None


@cache
def _bands() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Band index of each bin of a tile's spectrum (-1: unused), counts, band centres.

    Bins on the two axes are left out: JPEG's 8x8 blocking and a frame's straight edges
    put their energy there, not detail.
    """
    f = np.fft.fftfreq(_TILE)
    fy, fx = f[:, None], f[None, :]
    radius = np.sqrt(fx**2 + fy**2)
    axis = (np.abs(fx) < 1.5 / _TILE) | (np.abs(fy) < 1.5 / _TILE)
    edges = np.arange(2 * _BAND, 0.5 + 1e-9, _BAND)
    index = np.searchsorted(edges, radius, side="right") - 1
    index[(radius < edges[0]) | (radius >= edges[-1]) | axis] = -1
    counts = np.bincount(index[index >= 0].ravel(), minlength=len(edges) - 1)
    centres = (edges[:-1] + edges[1:]) / 2
    return index.ravel(), counts.astype(np.float64), centres


@cache
def _window() -> np.ndarray:
    hann = np.hanning(_TILE).astype(np.float32)
    return np.outer(hann, hann)


def _detailed_tiles(gray: np.ndarray) -> np.ndarray:
    """The most detailed tiles of the image, mean removed and windowed."""
    h, w = gray.shape
    ny, nx = h // _TILE, w // _TILE
    y0, x0 = (h - ny * _TILE) // 2, (w - nx * _TILE) // 2
    g = np.ascontiguousarray(gray[y0 : y0 + ny * _TILE, x0 : x0 + nx * _TILE], dtype=np.float32)
    lap = cv2.Laplacian(g, cv2.CV_32F)
    energy = (lap * lap).reshape(ny, _TILE, nx, _TILE).sum(axis=(1, 3)).ravel()
    keep = max(_MIN_TILES, round(energy.size * _DETAILED_SHARE))
    best = np.argpartition(energy, energy.size - keep)[energy.size - keep :]
    tiles = g.reshape(ny, _TILE, nx, _TILE).transpose(0, 2, 1, 3).reshape(-1, _TILE, _TILE)[best]
    tiles = tiles - tiles.mean(axis=(1, 2), keepdims=True)
    out: np.ndarray = tiles * _window()
    return out


def estimate_detail(gray: np.ndarray) -> Detail:
    """The detail held by a grey analysis copy (uint8 or float, any size)."""
    h, w = gray.shape
    if h < 2 * _TILE or w < 2 * _TILE or (h // _TILE) * (w // _TILE) < _MIN_TILES:
        return Detail(None, 0.0)
    index, counts, centres = _bands()
    power = (np.abs(np.fft.fft2(_detailed_tiles(gray))) ** 2).mean(axis=0).ravel()
    used = index >= 0
    sums = np.bincount(index[used], weights=power[used], minlength=counts.size)
    profile = np.log10(sums / np.maximum(counts, 1.0) + 1e-9)
    low, high = _REFERENCE_BAND
    profile = profile - profile[(centres >= low) & (centres <= high)].mean()
    top = float(profile[-3:].mean())
    above = np.flatnonzero(profile >= _FLOOR)
    if above.size == 0 or above[-1] == profile.size - 1:
        return Detail(None, top)  # content up to the top band: not enlarged
    i = int(above[-1])
    # Where the profile crosses the floor, between band i and the next.
    a, b = profile[i], profile[i + 1]
    crossing = centres[i] + (a - _FLOOR) / max(a - b, 1e-9) * _BAND
    nyquist = crossing - _TRANSITION
    return Detail(max(0.0, 2.0 * nyquist * min(h, w)), top)
