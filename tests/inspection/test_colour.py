"""`saturation_level` reads its level from a histogram of channel pairs: it must give the
very number the per-pixel definition gives (the pixels' saturations, their nearest rank)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import animus_prep.inspection.colour as colour
from animus_prep.inspection.colour import (
    DARK,
    MIN_LIT_SHARE,
    SATURATION_PERCENTILE,
    WHITE,
    saturation_level,
)
from people import CHECK, TUNE, drained, exposed, grey, load


def by_definition(rgb: np.ndarray) -> float | None:
    """Each judged pixel's saturation in float32, and the nearest rank of them."""
    top = rgb.max(axis=2).ravel()
    low = rgb.min(axis=2).ravel()
    judged = (top >= DARK) & (low <= WHITE)
    count = int(np.count_nonzero(judged))
    if count == 0 or count < MIN_LIT_SHARE * top.size:
        return None
    brightest = top[judged].astype(np.float32)
    values = np.sort((brightest - low[judged]) * (100.0 / brightest))
    return float(values[min(count - 1, int(count * SATURATION_PERCENTILE / 100.0))])


VARIANTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "as is": lambda rgb: rgb,
    "a corner": lambda rgb: rgb[: rgb.shape[0] // 5, : rgb.shape[1] // 7],
    "half its saturation": lambda rgb: drained(rgb, 0.5),
    "a fifth of its exposure": lambda rgb: exposed(rgb, 0.2),
    "three times its exposure": lambda rgb: exposed(rgb, 3.0),
    "grey, in three channels": lambda rgb: np.repeat(grey(rgb)[..., None], 3, axis=2),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_level_is_the_per_pixel_definition_s_on_real_photos(variant: str) -> None:
    for path in (*TUNE, *CHECK):  # the black-and-white print among them
        rgb = np.ascontiguousarray(VARIANTS[variant](load(path)))
        assert saturation_level(rgb) == by_definition(rgb), path.name


def test_an_image_too_large_for_the_float_histogram_counts_exactly_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rgb = load(TUNE[0])
    expected = by_definition(rgb)
    monkeypatch.setattr(colour, "_EXACT_COUNTS", 16)
    assert saturation_level(rgb) == expected


def test_nearly_all_black_or_white_has_no_level_and_grey_has_zero() -> None:
    dark = np.full((40, 60, 3), DARK - 1, np.uint8)
    dark[0, :5] = (200, 40, 40)  # 5 of 2,400 pixels lit: under MIN_LIT_SHARE
    assert saturation_level(dark) is None and by_definition(dark) is None
    assert saturation_level(np.full((40, 60, 3), 128, np.uint8)) == 0.0


def test_the_rank_falling_on_the_last_pixel_of_a_level_takes_the_next_level() -> None:
    # Ten judged pixels: the nearest rank of 90% is the tenth, alone at the top level.
    rgb = np.array([[(200, 180, 180)] * 9 + [(200, 100, 100)]], np.uint8)
    assert by_definition(rgb) == 50.0
    assert saturation_level(rgb) == 50.0
