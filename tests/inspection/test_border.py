"""Bars and frames along a photo's edges (`inspection.border`), and how a report states them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from animus_prep import Policy, preflight
from animus_prep.inspection.border import measure_border
from animus_prep.reasons import ReasonCode
from people import TUNE, load
from photos import photo, write


def grey(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(rgb.mean(axis=2), dtype=np.uint8)


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    """A real photo (scikit-image's chelsea), 451x300, in grey."""
    return grey(photo("chelsea", 300))


def test_a_letterbox_is_measured_on_the_edges_it_runs_along(picture: np.ndarray) -> None:
    framed = np.pad(picture, ((60, 60), (0, 0)), constant_values=0)
    border = measure_border(framed)
    assert border.top == pytest.approx(60 / 420, abs=0.005)
    assert border.bottom == pytest.approx(60 / 420, abs=0.005)
    pillarbox = measure_border(np.pad(picture, ((0, 0), (90, 90)), constant_values=0))
    assert pillarbox.left == pytest.approx(90 / 631, abs=0.005) == pillarbox.right
    assert border.left == border.right == 0.0


@pytest.mark.parametrize("side", [30, 90])
def test_a_mount_on_every_side_is_found_on_every_side(picture: np.ndarray, side: int) -> None:
    # Where the top bar meets a side bar the side's colour runs on: each edge's
    # boundary is looked for between the bars beside it (with side bars of 90 px, a
    # third of the top bar's boundary line is the side bars' colour).
    framed = np.pad(picture, ((20, 20), (side, side)), constant_values=250)
    border = measure_border(framed)
    assert border.top == pytest.approx(20 / 340, abs=0.005)
    assert border.bottom == pytest.approx(20 / 340, abs=0.005)
    assert border.left == pytest.approx(side / (451 + 2 * side), abs=0.005)
    assert border.edges(0.03) == ["top", "bottom", "left", "right"]


def test_a_flat_background_that_ends_at_a_person_is_not_a_bar(picture: np.ndarray) -> None:
    # A studio background above a head: flat, but it ends along a curve, not a line
    # across the whole width.
    h, w = picture.shape
    yy, xx = np.mgrid[:h, :w]
    head = (xx - w / 2) ** 2 / 90**2 + (yy - 200) ** 2 / 120**2 <= 1
    studio = np.where(head, picture, 255).astype(np.uint8)
    # Flat all round; the outline is not a straight line across any side.
    assert measure_border(studio).widest == 0.0


def test_a_gradient_and_a_flat_picture_are_not_bars(picture: np.ndarray) -> None:
    gradient = np.repeat(np.linspace(0, 200, 300)[:, None], 451, axis=1).astype(np.uint8)
    assert measure_border(gradient).widest == 0.0
    assert measure_border(np.zeros((300, 400), np.uint8)).widest == 0.0
    # A mid-grey band is a backdrop or a wall as often as a bar: not judged, even where
    # the picture beside it differs from it all along the line, as a white one does.
    dark = (picture * 0.3).astype(np.uint8)  # 0-76
    assert measure_border(np.pad(dark, ((60, 0), (0, 0)), constant_values=230)).top > 0.1
    assert measure_border(np.pad(dark, ((60, 0), (0, 0)), constant_values=128)).top == 0.0


@pytest.mark.parametrize("colour", [(128, 128, 128), (236, 170, 190), (135, 190, 235)])
def test_padding_of_any_flat_colour_on_both_sides_is_a_bar(
    tmp_path: Path, colour: tuple[int, int, int]
) -> None:
    # "No-crop" apps pad a photo to a square with grey, pink or sky blue: only black and
    # white (and colours dark enough to read as black) used to be seen as bars.
    rgb = load(TUNE[0])  # a real portrait, 910x1137
    h, w = rgb.shape[:2]
    side = (h - w) // 2
    square = np.empty((h, w + 2 * side, 3), np.uint8)
    square[:] = colour
    square[:, side : side + w] = rgb
    border = measure_border(grey(square))
    assert border.left > 0.08 and border.right > 0.08, border
    write(tmp_path / "face" / "padded.jpg", square)
    image = preflight(tmp_path, policy=Policy(faces=False)).image("face/padded.jpg")
    assert ReasonCode.BORDERED in image.codes


def test_one_band_of_a_mid_colour_alone_is_not_a_bar(picture: np.ndarray) -> None:
    # A grey wall above a straight line on one side, with a pink one of a different
    # shade below: not a pair of one padding.
    dark = (picture * 0.3).astype(np.uint8)
    walls = np.pad(dark, ((60, 0), (0, 0)), constant_values=128)
    walls = np.pad(walls, ((0, 60), (0, 0)), constant_values=170)
    border = measure_border(walls)
    assert border.top == border.bottom == 0.0


def test_a_mid_colour_band_pairs_only_with_a_twin_that_ends_straight_too(
    picture: np.ndarray,
) -> None:
    # A grey band ending straight at the top, and one of the same grey at the bottom
    # whose edge is a curve (a floor, a wall behind a sofa): not one padding, though
    # the bottom's band, as deep, could take the top's share as a letterbox's would.
    dark = (picture * 0.3).astype(np.uint8)
    h, w = dark.shape
    framed = np.pad(dark, ((40, 60), (0, 0)), constant_values=128)
    curve = (20 + 15 * np.sin(np.linspace(0, 6 * np.pi, w))).astype(int)
    for x in range(w):
        framed[40 + h - curve[x] : 40 + h, x] = 128
    border = measure_border(framed)
    assert border.top == border.bottom == 0.0, border


def test_the_report_names_the_bars_and_carries_their_shares(tmp_path: Path) -> None:
    rgb = photo("chelsea", 576)
    framed = np.pad(rgb, ((72, 72), (0, 0), (0, 0)), constant_values=0)
    write(tmp_path / "face" / "letterboxed.jpg", framed)
    write(tmp_path / "face" / "plain.jpg", rgb)
    report = preflight(tmp_path, policy=Policy(faces=False))
    images = {i.path: i for i in report.images}
    bordered = images["face/letterboxed.jpg"]
    (reason,) = [r for r in bordered.reasons if r.code is ReasonCode.BORDERED]
    assert reason.message.startswith("flat bars along the top (10.0% of the height) and bottom")
    assert reason.message.endswith("crop them off")
    assert bordered.metrics["border_top"] == pytest.approx(72 / 720, abs=0.005)
    assert bordered.metrics["border_left"] == 0.0
    plain = images["face/plain.jpg"]
    assert ReasonCode.BORDERED not in {r.code for r in plain.reasons}
    assert "border_top" not in plain.metrics
