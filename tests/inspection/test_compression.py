"""The JPEG quality a picture's pixels show, read from its 8x8 blocks whatever file holds
them now: real photos saved at known qualities, then saved again."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from animus_prep.inspection.compression import pixel_jpeg_quality
from people import TUNE, jpeg, load, saved_again


def grey(data: bytes, reduce: int = 1) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        g = img.convert("L")
        return np.asarray(g.reduce(reduce) if reduce > 1 else g)


@pytest.mark.parametrize("quality", [10, 20, 30, 50])
def test_the_quality_of_the_first_save_is_read_through_a_second(quality: int) -> None:
    rgb = load(TUNE[0])
    for data in (jpeg(rgb, quality), saved_again(rgb, quality), saved_again(rgb, quality, "PNG")):
        shown = pixel_jpeg_quality(grey(data))
        assert shown is not None and abs(shown - quality) <= 4, shown


def test_a_copy_at_half_size_still_shows_its_blocks() -> None:
    # A 2x2 box average (or a JPEG decoded at 1/2 scale) keeps each block as a 4x4 one.
    rgb = load(TUNE[0])
    big = np.asarray(Image.fromarray(rgb).resize((rgb.shape[1] * 2, rgb.shape[0] * 2)))
    for quality in (10, 20):
        shown = pixel_jpeg_quality(grey(saved_again(big, quality), reduce=2), reduction=2)
        assert shown is not None and abs(shown - quality) <= 4, shown


def test_light_compression_and_no_compression_show_nothing_hard() -> None:
    rgb = load(TUNE[0])
    for data in (jpeg(rgb, 95), saved_again(rgb, 90)):
        shown = pixel_jpeg_quality(grey(data))
        assert shown is None or shown >= 80, shown


def test_a_resized_copy_has_lost_the_grid() -> None:
    rgb = load(TUNE[0])
    with Image.open(io.BytesIO(jpeg(rgb, 10))) as first:
        smaller = first.convert("RGB").resize((first.width * 9 // 10, first.height * 9 // 10))
    again = io.BytesIO()
    smaller.save(again, "JPEG", quality=92)
    shown = pixel_jpeg_quality(grey(again.getvalue()))
    assert shown is None or shown >= 25, shown


def test_too_small_or_flat_to_tell() -> None:
    assert pixel_jpeg_quality(np.zeros((40, 40), np.uint8)) is None
    assert pixel_jpeg_quality(np.full((400, 400), 128, np.uint8)) is None
    with pytest.raises(ValueError, match="reduction"):
        pixel_jpeg_quality(np.zeros((400, 400), np.uint8), reduction=4)
