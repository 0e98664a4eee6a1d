"""Blur: Gaussian, motion and defocus blur, with noise added after, and sharp smooth photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from animus_prep.inspection.checks import check_sharpness
from animus_prep.inspection.sharpness import estimate_noise, measure_sharpness
from animus_prep.policy import Policy
from photos import analysis_gray, defocus, evidence, gaussian, motion, noisy, photo

POLICY = Policy()
# Real photos, including smooth ones that global Laplacian variance calls blurry
# (moon, retina: large smooth areas; hubble: mostly black sky).
PHOTOS = [
    "astronaut",
    "camera",
    "coffee",
    "chelsea",
    "rocket",
    "moon",
    "retina",
    "hubble_deep_field",
]


def blurry(rgb: np.ndarray) -> bool:
    m = evidence(rgb)
    return not check_sharpness(m, POLICY).passed


@pytest.mark.parametrize("name", PHOTOS)
def test_sharp_photos_pass_even_with_sensor_noise(name: str) -> None:
    img = photo(name, 1024)
    assert not blurry(img)
    assert not blurry(noisy(img, 10))


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize(
    "damage",
    [
        ("gaussian", lambda a: gaussian(a, 5.0)),
        ("motion", lambda a: motion(a, 21, 30.0)),
        ("motion-h", lambda a: motion(a, 21, 0.0)),
        ("defocus", lambda a: defocus(a, 7)),
    ],
    ids=lambda d: d[0],
)
def test_blur_is_caught_even_under_noise_added_after(name: str, damage: tuple) -> None:  # type: ignore[type-arg]
    blurred = damage[1](photo(name, 1024))
    assert blurry(blurred)
    assert blurry(noisy(blurred, 8))


def test_sharp_subject_on_a_defocused_background_is_not_blurry() -> None:
    img = photo("astronaut", 1024)
    background = defocus(img, 12)
    mask = np.zeros(img.shape[:2], bool)
    mask[150:850, 300:700] = True  # the subject stays sharp
    bokeh = np.where(mask[:, :, None], img, background)
    assert not blurry(bokeh)


def test_blur_estimate_grows_with_blur() -> None:
    gray = analysis_gray(photo("camera", 1024), 512)
    widths = [measure_sharpness(gaussian(gray, s)).edge_width for s in (0.01, 1.0, 2.0, 3.0)]
    assert widths == sorted(widths)
    # The estimate is in pixels: a known Gaussian blur is recovered roughly.
    assert 2.2 < measure_sharpness(gaussian(gray, 3.0)).edge_width < 4.0


def test_featureless_image_is_not_measurable_and_not_rejected_as_blurry() -> None:
    flat = np.full((600, 600, 3), 120, np.uint8)
    m = evidence(flat, 600, 600)
    assert not m.measurements.sharpness.measurable
    assert check_sharpness(m, POLICY).passed


@settings(max_examples=15, deadline=None)
@given(sigma=st.floats(min_value=2.0, max_value=20.0))
def test_noise_estimate_tracks_added_noise(sigma: float) -> None:
    flat = np.full((256, 256), 128.0, np.float32)
    rng = np.random.default_rng(1)
    est = estimate_noise(flat + rng.normal(0, sigma, flat.shape).astype(np.float32))
    assert abs(est - sigma) < 0.15 * sigma


def test_check_reports_a_zero_to_one_score_and_the_raw_metric() -> None:
    m = evidence(gaussian(photo("coffee", 800), 5.0), 1200, 800)
    result = check_sharpness(m, POLICY)
    assert not result.passed
    assert result.score is not None and 0.5 < result.score < 1.0
    assert result.threshold == 0.5
    assert f"{m.measurements.sharpness.edge_width:.2f}" in result.detail


@pytest.mark.parametrize("side", [120, 200])
def test_each_orientation_reads_an_even_disc_as_the_overall_edges_do(side: int) -> None:
    # Every orientation of a disc's rim is equally sharp. The pixels with no gradient (the
    # margin, the flat inside) once all fell in one orientation and lowered its cut, so
    # the face's reading leaned towards blurry (by 5% here).
    img = np.full((side, side), 60, np.float32)
    cv2.circle(img, (side // 2, side // 2), side // 3, 200, -1, lineType=cv2.LINE_AA)
    img = cv2.GaussianBlur(img, (0, 0), 1.0)
    img += np.random.default_rng(0).normal(0, 1.0, img.shape).astype(np.float32)
    overall = measure_sharpness(img).edge_width
    each = measure_sharpness(img, each_orientation=True).edge_width
    assert each == pytest.approx(overall, rel=0.02)
