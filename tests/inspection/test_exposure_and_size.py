"""Exposure from robust percentiles, and the size gate after orientation."""

from __future__ import annotations

import numpy as np

from animus_prep.inspection.checks import check_bright, check_dark, check_size
from animus_prep.policy import Policy
from photos import evidence, photo

POLICY = Policy()


def m(rgb: np.ndarray):  # type: ignore[no-untyped-def]
    return evidence(rgb)


def test_normal_photos_are_neither_dark_nor_bright() -> None:
    for name in ("astronaut", "coffee", "chelsea", "camera"):
        meas = m(photo(name, 600))
        assert check_dark(meas, POLICY).passed and check_bright(meas, POLICY).passed, name


def test_underexposed_photo_is_too_dark() -> None:
    dark = (photo("astronaut", 600).astype(np.float32) * 0.15).astype(np.uint8)
    result = check_dark(m(dark), POLICY)
    assert not result.passed and result.score is not None and result.score < POLICY.dark_p90


def test_low_key_portrait_with_a_lit_subject_is_not_too_dark() -> None:
    # Mostly black background, but the subject is properly exposed: the mean is low,
    # yet the 90th percentile is not, so it passes.
    img = photo("astronaut", 600)
    out = np.zeros_like(img)
    out[150:450, 200:420] = img[150:450, 200:420]
    assert float(out.mean()) < 45
    assert check_dark(m(out), POLICY).passed


def test_overexposed_and_blown_out_photos_are_too_bright() -> None:
    img = photo("coffee", 600).astype(np.float32)
    washed = np.clip(img * 0.3 + 200, 0, 255).astype(np.uint8)
    assert not check_bright(m(washed), POLICY).passed
    blown = photo("coffee", 600).copy()
    blown[: int(blown.shape[0] * 0.6)] = 255
    result = check_bright(m(blown), POLICY)
    assert not result.passed and "blown out" in result.detail


def test_a_few_specular_highlights_do_not_make_a_photo_too_bright() -> None:
    img = photo("chelsea", 600).copy()
    img[:40, :40] = 255
    assert check_bright(m(img), POLICY).passed


def test_size_gate_uses_the_shorter_side_and_the_policy() -> None:
    assert not check_size(evidence(photo("coffee", 511), 760, 511), POLICY).passed
    assert check_size(evidence(photo("coffee", 512), 761, 512), POLICY).passed
    strict = Policy(min_side=768)
    result = check_size(evidence(photo("coffee", 700), 1050, 700), strict)
    assert not result.passed and result.threshold == 768 and result.score == 700
