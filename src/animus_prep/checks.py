"""Pure per-image checks: each takes measurements and the policy, and returns a verdict.

No I/O, no printing, no globals. The registry at the bottom is explicit, so the order of
reasons in a report is stable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from .policy import Policy
from .reasons import Reason, ReasonCode
from .sharpness import Sharpness, measure_sharpness


@dataclass(frozen=True, slots=True)
class Measurements:
    """What the checks look at, measured once per image."""

    width: int
    height: int
    sharpness: Sharpness
    luma_p10: float
    luma_p50: float
    luma_p90: float
    clipped_fraction: float


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict of one check on one image."""

    name: str
    passed: bool
    code: ReasonCode
    detail: str
    score: float | None = None
    threshold: float | None = None

    def reason(self) -> Reason:
        return Reason(self.code, self.detail, self.score, self.threshold)


def analysis_gray(rgb: np.ndarray, side: int) -> np.ndarray:
    """Grey copy whose shorter side is at most `side` (never upscaled)."""
    return shrink_gray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), side)


def shrink_gray(gray: np.ndarray, side: int) -> np.ndarray:
    """Area-average a grey image so its shorter side is at most `side` (never upscaled)."""
    h, w = gray.shape
    short = min(h, w)
    if short <= side:
        return gray
    f = side / short
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def measure(
    rgb: np.ndarray | None,
    width: int,
    height: int,
    policy: Policy,
    gray: np.ndarray | None = None,
) -> Measurements:
    """Measure everything the per-image checks need from the decoded pixels.

    `gray` is the grey analysis copy when the caller already made it (then `rgb` is not
    needed).
    """
    if gray is None:
        if rgb is None:
            raise ValueError("measure needs rgb or gray")
        gray = analysis_gray(rgb, policy.analysis_side)
    # Every other pixel is plenty for percentiles.
    hist = np.bincount(gray[::2, ::2].ravel(), minlength=256).astype(np.float64)
    cdf = np.cumsum(hist) / max(hist.sum(), 1.0)
    p10, p50, p90 = (float(np.searchsorted(cdf, q)) for q in (0.10, 0.50, 0.90))
    clipped = float(hist[250:].sum() / max(hist.sum(), 1.0))
    return Measurements(
        width=width,
        height=height,
        sharpness=measure_sharpness(gray),
        luma_p10=p10,
        luma_p50=p50,
        luma_p90=p90,
        clipped_fraction=clipped,
    )


def blur_score(edge_width: float, max_edge_width: float) -> float:
    """Map an edge blur estimate to [0, 1): 0 crisp, 0.5 at the policy's limit, -> 1 blurred."""
    ratio = edge_width / max_edge_width
    return 1.0 - math.exp(-math.log(2.0) * ratio * ratio)


def check_size(m: Measurements, policy: Policy) -> CheckResult:
    short = min(m.width, m.height)
    return CheckResult(
        "size",
        short >= policy.min_side,
        ReasonCode.TOO_SMALL,
        f"{m.width}x{m.height}: the shorter side is {short} px, under {policy.min_side} px",
        score=float(short),
        threshold=float(policy.min_side),
    )


def check_sharpness(m: Measurements, policy: Policy) -> CheckResult:
    s = m.sharpness
    if not s.measurable:
        # A featureless image has no edge to judge; exposure or faces will speak for it.
        return CheckResult("sharpness", True, ReasonCode.BLURRY, "no edges to measure")
    score = blur_score(s.edge_width, policy.max_edge_width)
    return CheckResult(
        "sharpness",
        s.edge_width <= policy.max_edge_width,
        ReasonCode.BLURRY,
        f"blurry: its sharpest edges are {s.edge_width:.2f} px wide (blur sigma at "
        f"{policy.analysis_side} px), over {policy.max_edge_width:.2f} px",
        score=score,
        threshold=0.5,
    )


def check_dark(m: Measurements, policy: Policy) -> CheckResult:
    return CheckResult(
        "dark",
        m.luma_p90 >= policy.dark_p90,
        ReasonCode.TOO_DARK,
        f"too dark: 90% of the image is below luma {m.luma_p90:.0f} "
        f"(needs {policy.dark_p90:.0f} of 255)",
        score=m.luma_p90,
        threshold=policy.dark_p90,
    )


def check_bright(m: Measurements, policy: Policy) -> CheckResult:
    if m.clipped_fraction > policy.max_clipped_fraction:
        return CheckResult(
            "bright",
            False,
            ReasonCode.TOO_BRIGHT,
            f"too bright: {m.clipped_fraction:.0%} of the pixels are blown out",
            score=m.clipped_fraction,
            threshold=policy.max_clipped_fraction,
        )
    return CheckResult(
        "bright",
        m.luma_p10 <= policy.bright_p10,
        ReasonCode.TOO_BRIGHT,
        f"too bright: 90% of the image is above luma {m.luma_p10:.0f} "
        f"(limit {policy.bright_p10:.0f} of 255)",
        score=m.luma_p10,
        threshold=policy.bright_p10,
    )


Check = Callable[[Measurements, Policy], CheckResult]

CHECKS: tuple[Check, ...] = (check_size, check_sharpness, check_dark, check_bright)


def run_checks(m: Measurements, policy: Policy) -> list[CheckResult]:
    """Every registered check, in registry order."""
    return [check(m, policy) for check in CHECKS]
