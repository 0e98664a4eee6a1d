"""The JPEG quality a picture's pixels show, whatever file holds them now.

A photo saved at JPEG quality 10 and saved again at 90 (a download from a messaging app,
a screenshot of it, a PNG made from it) carries a quality-90 table or none at all, while
its pixels keep every 8x8 block of the first save. That first save quantised each block's
DCT coefficients to multiples of its table's steps, and a later save at a high quality
moves them by a fraction of those steps only: so the block grid is found (the phase of
the 8 px period in the pixel differences), the blocks' two lowest AC coefficients (the
most often non-zero) are taken, and for each the largest step their values cluster on
(by the mean cosine of 2 pi value / step) is read; the quality follows from libjpeg's
standard luminance table scaled to those steps.

Read on the grey copy at the file's full resolution or at half of it (a JPEG decoded at
1/2 scale, or a 2x2 box average, keeps each block as a 4x4 one); a copy reduced more has
lost the grid. Measured on 54 real photos saved at qualities 10-95 and saved again at 90: read
10, 18-21, 28-31, 46-50, 71 and 83-96 for 10, 20, 30, 50, 70 and 85-95; the originals as
they are read 33 or more (most 88-96). A scaled copy (its grid no longer 8 px) shows no
step: None, as for a photo never compressed hard.
"""

from __future__ import annotations

from functools import cache

import numpy as np

_BLOCK = 8
_MAX_BLOCKS = 4000
"""Blocks read, at most (spread over the picture): plenty for the step of a coefficient."""
# The first two AC coefficients: (row, column) in the block's DCT, and their steps in
# libjpeg's standard luminance table at quality 50.
_COEFFICIENTS = ((0, 1), (1, 0))
_STANDARD_STEPS = (11.0, 12.0)
_LARGEST_STEP = 60
_AGREEMENT = 0.6
"""Mean cosine of 2 pi value / step that says the values cluster on the step's multiples."""
_MIN_VALUES = 200
_TESTED_FROM = 0.4
"""Values from this share of a step up test whether they cluster on its multiples."""
"""Coefficients away from zero needed to read a step at all."""
_BIN = 0.5
_EDGES = np.arange(-600.0 - _BIN / 2, 600.0 + _BIN, _BIN)
_CENTRES = (_EDGES[:-1] + _EDGES[1:]) / 2
_AWAY_FROM_ZERO = np.abs(_CENTRES) > 1.5


@cache
def _dct_matrix(size: int) -> np.ndarray:
    """The orthonormal DCT-II of ``size`` points: row k is the k-th basis vector."""
    k = np.arange(size, dtype=np.float64)[:, None]
    n = np.arange(size, dtype=np.float64)[None, :]
    scale = np.where(k == 0, np.sqrt(1 / size), np.sqrt(2 / size))
    basis = scale * np.cos(np.pi * (2 * n + 1) * k / (2 * size))
    return np.asarray(basis, dtype=np.float32)


def pixel_jpeg_quality(gray: np.ndarray, reduction: int = 1) -> int | None:
    """The JPEG quality (libjpeg's 1-100 scale) the pixels of a grey copy were last
    compressed at, hard enough to tell; None when no step shows (never compressed,
    compressed lightly, resized since, or too small or flat to tell).

    ``reduction`` says how many times smaller than the file the copy is: 1, or 2 (a JPEG
    decoded at half scale, or a box average of 2x2 pixels), where each 8x8 block is a
    4x4 one whose DCT holds the block's low frequencies at half their value.
    """
    if reduction not in (1, 2):
        raise ValueError(f"reduction must be 1 or 2, got {reduction}")
    block = _BLOCK // reduction
    if min(gray.shape[:2]) < 8 * block:
        return None
    g = np.asarray(gray, dtype=np.float32)
    x0, y0 = _grid_offset(g, 1, block), _grid_offset(g, 0, block)
    blocks = _blocks(g[y0:, x0:], block)
    dct = _dct_matrix(block)
    steps = []
    for (u, v), standard in zip(_COEFFICIENTS, _STANDARD_STEPS, strict=True):
        # JPEG's DCT of an 8x8 block is the orthonormal one: its steps apply as they are.
        values = np.einsum("j,bjk,k->b", dct[u], blocks, dct[v]) * reduction
        step = _step(values)
        if step is None:
            return None
        steps.append(100.0 * step / standard)
    # The lighter reading of the two: a picture is called compressed hard only when both
    # of its most common coefficients say so.
    scale = min(steps)
    quality = 5000.0 / scale if scale > 100.0 else (200.0 - scale) / 2.0
    return max(1, min(100, round(quality)))


def _grid_offset(g: np.ndarray, axis: int, block: int) -> int:
    """Where the block grid starts along ``axis``: the phase at which the pixel
    differences across block edges stand out (every fourth line is enough)."""
    lines = g[::4] if axis == 1 else g[:, ::4]
    profile = np.abs(np.diff(lines, axis=axis)).mean(axis=1 - axis)
    n = profile.size // block * block
    phases = profile[:n].reshape(-1, block).mean(axis=0)
    return (int(np.argmax(phases)) + 1) % block


def _blocks(g: np.ndarray, block: int) -> np.ndarray:
    """Up to `_MAX_BLOCKS` whole blocks of ``g`` (centred on zero), spread evenly."""
    rows, cols = g.shape[0] // block, g.shape[1] // block
    grid = np.lib.stride_tricks.sliding_window_view(g, (block, block))[::block, ::block]
    picked = np.linspace(0, rows * cols - 1, min(rows * cols, _MAX_BLOCKS)).astype(np.intp)
    out: np.ndarray = grid[picked // cols, picked % cols] - 128.0
    return out


_STEPS = np.arange(_LARGEST_STEP, 1, -1)
"""The steps tried, largest first."""


@cache
def _step_tables() -> tuple[np.ndarray, np.ndarray]:
    """For each step tried (rows) and histogram bin (columns): whether the bin's values
    test the step, and the cosine of 2 pi value / step there when they do."""
    size = np.abs(_CENTRES)[None, :]
    steps = _STEPS[:, None].astype(np.float64)
    # A step is tested by the values that reach towards its multiples: those well under
    # it sit near a multiple (zero) whatever the step. From 0.4 step up, the values on the
    # odd multiples of half the step (when that is the true one) count against it.
    tested = ((size >= _TESTED_FROM * steps) & _AWAY_FROM_ZERO[None, :]).astype(np.float64)
    return tested, tested * np.cos(2 * np.pi * _CENTRES[None, :] / steps)


def _step(values: np.ndarray) -> int | None:
    """The largest quantisation step the values cluster on the multiples of (None when
    there are too few values away from zero, or they cluster on none beyond 1)."""
    counts, _ = np.histogram(values, _EDGES)
    n = int(counts[_AWAY_FROM_ZERO].sum())
    if n < _MIN_VALUES:
        return None
    tested, cosines = _step_tables()
    weights = counts.astype(np.float64)
    tested_count = tested @ weights
    agreement = (cosines @ weights) / np.maximum(tested_count, 1.0)
    fits = (tested_count >= max(50.0, 0.05 * n)) & (agreement > _AGREEMENT)
    found = np.flatnonzero(fits)
    return int(_STEPS[found[0]]) if found.size else None
