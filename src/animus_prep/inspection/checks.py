"""Pure per-image checks: each takes what was measured and the policy, and returns a verdict.

No I/O, no printing, no globals. Image checks (size, sharpness, exposure) and face checks
(one prominent face, large enough for a training crop) sit in one registry, `CHECKS`,
whose order is the order of reasons in a report. A check that does not apply to an image
(a face check on a body photo, or with the face models off) returns None.

For face photos the face decides sharpness: a sharp face on a defocused background is
sharp, a blurred face is not, whatever the background.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .. import server_rules
from ..policy import Policy
from ..reasons import Reason, ReasonCode
from .faces import FaceFindings, face_outside, prominent_faces
from .measure import Measurements


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict of one check on one image (or of one whole-folder decision)."""

    name: str
    passed: bool
    code: ReasonCode
    detail: str
    score: float | None = None
    threshold: float | None = None

    def reason(self) -> Reason:
        return Reason(self.code, self.detail, self.score, self.threshold)


def rejection(
    name: str,
    code: ReasonCode,
    detail: str,
    score: float | None = None,
    threshold: float | None = None,
) -> Reason:
    """The reason of a failed check: how whole-folder decisions (duplicates, identity,
    caps, placement) state a rejection, the same way the per-image checks do."""
    return CheckResult(name, False, code, detail, score, threshold).reason()


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything the checks may look at for one image."""

    measurements: Measurements
    kind: str | None
    """`face`, `body`, or None for a file outside the character folder's layout."""
    faces: FaceFindings | None = None
    """Face findings; None when face checks are off or could not run."""
    file_bytes: int | None = None
    """Size of the file."""
    jpeg_quality: int | None = None
    """The JPEG quality the file was saved at (estimated), or None for other formats."""

    @property
    def face_photo(self) -> bool:
        return self.kind == "face" and self.faces is not None

    @property
    def body_photo(self) -> bool:
        return self.kind == "body" and self.faces is not None


def blur_score(edge_width: float, max_edge_width: float) -> float:
    """Map an edge blur estimate to [0, 1): 0 crisp, 0.5 at the policy's limit, -> 1 blurred."""
    ratio = edge_width / max_edge_width
    return 1.0 - math.exp(-math.log(2.0) * ratio * ratio)


_SERVER_MIN_SIDE = {"face": server_rules.MIN_FACE_SIDE, "body": server_rules.MIN_BODY_SIDE}


def least_side(kind: str | None, policy: Policy) -> int:
    """The shortest side a photo of ``kind`` may have: the policy's minimum, and never
    less than the server's for the kind."""
    return max(policy.min_side, _SERVER_MIN_SIDE.get(kind or "", 0))


def check_size(e: Evidence, policy: Policy) -> CheckResult:
    """The policy's minimum, and never less than the server's for the photo's kind: a
    policy that lowers `min_side` cannot pass a photo the server refuses."""
    m = e.measurements
    short = min(m.width, m.height)
    server = _SERVER_MIN_SIDE.get(e.kind or "", 0)
    least = least_side(e.kind, policy)
    whose = f"the server's minimum for {e.kind} photos" if server > policy.min_side else ""
    return CheckResult(
        "size",
        short >= least,
        ReasonCode.TOO_SMALL,
        f"{m.width}x{m.height}: the shorter side is {short} px, under {least} px"
        + (f" ({whose})" if whose else ""),
        score=float(short),
        threshold=float(least),
    )


def over_server_limits(
    width: int, height: int, file_bytes: int | None, policy: Policy
) -> str | None:
    """What puts a photo over the server's pixel or byte limit (None: nothing).

    Both can be fixed for the purpose without losing what training needs: a copy shrunk
    to the pixel limit, or re-encoded under the byte limit (`--fix`).
    """
    over = []
    pixels = width * height
    if pixels > policy.server_max_pixels:
        over.append(
            f"{pixels / 1e6:.0f} MP, over the server's {policy.server_max_pixels / 1e6:.0f} MP"
        )
    if file_bytes is not None and file_bytes > policy.server_max_bytes:
        over.append(
            f"{file_bytes / 2**20:.1f} MB, over the server's "
            f"{policy.server_max_bytes / 2**20:.0f} MB"
        )
    return "; ".join(over) or None


def check_server_limits(e: Evidence, policy: Policy) -> CheckResult:
    """The server refuses photos over its pixel or byte limit: `too_large`, unless the
    policy's `fix` has uploads send a copy that fits."""
    m = e.measurements
    over = over_server_limits(m.width, m.height, e.file_bytes, policy)
    # The measured value is the one the message names first: pixels, or else bytes.
    score, threshold = float(m.width * m.height), float(policy.server_max_pixels)
    if score <= threshold and e.file_bytes is not None and e.file_bytes > policy.server_max_bytes:
        score, threshold = float(e.file_bytes), float(policy.server_max_bytes)
    return CheckResult(
        "server_limits",
        over is None or policy.fix,
        ReasonCode.TOO_LARGE,
        f"{over}: the server refuses it; with --fix, upload sends a copy made to fit "
        "(the original is kept)",
        score=score,
        threshold=threshold,
    )


def check_server_sharpness(e: Evidence, policy: Policy) -> CheckResult:
    """The server's own sharpness rule: a featureless photo has no edge for the blur
    estimate to judge, but the server refuses it."""
    score = e.measurements.server_sharpness
    return CheckResult(
        "server_sharpness",
        score >= policy.server_min_sharpness,
        ReasonCode.BLURRY,
        f"featureless or smeared: the server refuses it (its sharpness score {score:.1f}, "
        f"under {policy.server_min_sharpness:g})",
        score=score,
        threshold=policy.server_min_sharpness,
    )


def check_upscaled(e: Evidence, policy: Policy) -> CheckResult:
    """Whether the photo holds the detail of its size, or was enlarged from a small one.

    A photo already under the minimum size is left to `check_size`.
    """
    m = e.measurements
    short = min(m.width, m.height)
    source = m.detail.short_side
    if source is None or short < policy.min_side or not policy.upscaled:
        return CheckResult("resolution", True, ReasonCode.UPSCALED, "holds detail at its size")
    w, h = (max(1, round(side * source / short)) for side in (m.width, m.height))
    return CheckResult(
        "resolution",
        source >= policy.min_side,
        ReasonCode.UPSCALED,
        f"looks enlarged from about {w}x{h}, or blurred: it holds no more detail than a "
        f"photo that size, under {policy.min_side} px (find the original, or a sharper one)",
        score=source,
        threshold=float(policy.min_side),
    )


def check_sharpness(e: Evidence, policy: Policy) -> CheckResult:
    """The face's sharpness for a face photo with a face, else the whole frame's."""
    if e.face_photo and e.faces is not None and e.faces.main is not None:
        return _face_sharpness(e, e.faces, policy)
    s = e.measurements.sharpness
    if not s.measurable:
        # A featureless image has no edge to judge; exposure or faces will speak for it.
        return CheckResult("sharpness", True, ReasonCode.BLURRY, "no edges to measure")
    return CheckResult(
        "sharpness",
        s.edge_width <= policy.max_edge_width,
        ReasonCode.BLURRY,
        f"its sharpest edges are {s.edge_width:.2f} px wide (blur sigma at "
        f"{policy.analysis_side} px), over {policy.max_edge_width:.2f} px",
        score=blur_score(s.edge_width, policy.max_edge_width),
        threshold=0.5,
    )


def face_blur_in_training_crop(
    findings: FaceFindings, width: int, height: int, policy: Policy
) -> float | None:
    """The main face's blur (Gaussian sigma, px) as a trainer sees it, in the face crop
    of `training_side` px (None when it could not be measured).

    A crop larger than the training side is shrunk to it, which hides some blur; a
    smaller one is judged at its own size: enlarging it is the trainer's doing, and
    whether the face is large enough is `face_too_small`'s question.
    """
    main, measured = findings.main, findings.face_sharpness
    if main is None or measured is None or not measured.sharpness.measurable:
        return None
    crop = min(max(main.box[2], main.box[3]) * (1 + 2 * policy.face_crop_margin), width, height)
    in_photo = measured.sharpness.edge_width / measured.per_pixel
    return in_photo * min(1.0, policy.training_side / max(crop, 1.0))


def _face_sharpness(e: Evidence, findings: FaceFindings, policy: Policy) -> CheckResult:
    m = e.measurements
    blur = face_blur_in_training_crop(findings, m.width, m.height, policy)
    if blur is None:
        return CheckResult("sharpness", True, ReasonCode.BLURRY, "face region not measurable")
    return CheckResult(
        "sharpness",
        blur <= policy.max_face_edge_width,
        ReasonCode.BLURRY,
        f"blurry face: its sharpest edges are {blur:.2f} px wide in a "
        f"{policy.training_side} px training crop (blur sigma), over "
        f"{policy.max_face_edge_width:.2f} px",
        score=blur_score(blur, policy.max_face_edge_width),
        threshold=0.5,
    )


@dataclass(frozen=True, slots=True)
class _Exposure:
    """The luma statistics exposure is judged on, and what they were taken over."""

    p10: float
    p90: float
    clipped_fraction: float
    max_clipped: float
    subject: str


def _exposure(e: Evidence, policy: Policy) -> _Exposure:
    """The subject's exposure: the face's own region when a face was found (a white
    studio background may be blown out, the face may not), else the whole image."""
    face = e.faces.face_exposure if e.faces is not None else None
    if face is not None:
        return _Exposure(
            face.p10, face.p90, face.clipped_fraction, policy.max_face_clipped_fraction, "face"
        )
    m = e.measurements
    return _Exposure(
        m.luma_p10, m.luma_p90, m.clipped_fraction, policy.max_clipped_fraction, "image"
    )


def check_dark(e: Evidence, policy: Policy) -> CheckResult:
    x = _exposure(e, policy)
    return CheckResult(
        "dark",
        x.p90 >= policy.dark_p90,
        ReasonCode.TOO_DARK,
        f"too dark: 90% of the {x.subject} is below luma {x.p90:.0f} "
        f"(needs {policy.dark_p90:.0f} of 255)",
        score=x.p90,
        threshold=policy.dark_p90,
    )


def check_bright(e: Evidence, policy: Policy) -> CheckResult:
    x = _exposure(e, policy)
    if x.clipped_fraction > x.max_clipped:
        return CheckResult(
            "bright",
            False,
            ReasonCode.TOO_BRIGHT,
            f"too bright: {x.clipped_fraction:.0%} of the {x.subject}'s pixels are blown out",
            score=x.clipped_fraction,
            threshold=x.max_clipped,
        )
    return CheckResult(
        "bright",
        x.p10 <= policy.bright_p10,
        ReasonCode.TOO_BRIGHT,
        f"too bright: 90% of the {x.subject} is above luma {x.p10:.0f} "
        f"(limit {policy.bright_p10:.0f} of 255)",
        score=x.p10,
        threshold=policy.bright_p10,
    )


def check_has_face(e: Evidence, policy: Policy) -> CheckResult | None:
    if not e.face_photo or e.faces is None:
        return None
    return CheckResult(
        "face",
        e.faces.main is not None,
        ReasonCode.NO_FACE,
        f"no face found (detector confidence floor {policy.face_min_score:.2f})",
    )


def check_single_face(e: Evidence, policy: Policy) -> CheckResult | None:
    """Face and body photos alike: a second person spoils a reference (a body photo
    needs no face at all: back views)."""
    if e.faces is None or not (e.face_photo or e.body_photo):
        return None
    count = len(prominent_faces(e.faces, policy))
    return CheckResult(
        "single_face",
        count <= 1,
        ReasonCode.MULTIPLE_FACES,
        f"{count} prominent faces; each photo must show the character alone "
        f"(faces under {policy.second_face_min_ratio:.0%} of the main face's size, or under "
        f"{policy.second_face_min_score:.2f} confidence, are ignored)",
        score=float(count),
        threshold=1.0,
    )


def check_upright(e: Evidence, policy: Policy) -> CheckResult | None:
    """Face and body photos alike: a photo turned sideways trains a sideways person."""
    if e.faces is None or not (e.face_photo or e.body_photo):
        return None
    turn = e.faces.turn
    if turn is None:
        return CheckResult("upright", True, ReasonCode.ROTATED, "upright")
    if turn.strength_as_is is not None and turn.strength_turned is not None:
        evidence = (
            f"its face reads as a face only when turned: embedding strength "
            f"{turn.strength_turned:.1f} turned, {turn.strength_as_is:.1f} as it stands"
        )
    else:
        evidence = f"face score {turn.score_turned:.2f} turned, {turn.score_as_is:.2f} as it stands"
    return CheckResult(
        "upright",
        False,
        ReasonCode.ROTATED,
        f"the photo looks {turn.describe()} ({evidence}; a missing or wrong EXIF "
        "orientation?): turn it and save it again",
        score=turn.measured,
        threshold=turn.bar,
    )


def check_face_size(e: Evidence, policy: Policy) -> CheckResult | None:
    if not e.face_photo or e.faces is None:
        return None
    main = e.faces.main
    if main is None:
        return CheckResult("face_size", True, ReasonCode.FACE_TOO_SMALL, "no face")
    side = max(main.box[2], main.box[3])
    crop_side = side * (1 + 2 * policy.face_crop_margin)
    return CheckResult(
        "face_size",
        crop_side >= policy.face_crop_side,
        ReasonCode.FACE_TOO_SMALL,
        f"the face is {side:.0f} px: a {policy.face_crop_side} px face crop "
        f"(margin {policy.face_crop_margin}) would need upscaling from {crop_side:.0f} px",
        score=crop_side,
        threshold=float(policy.face_crop_side),
    )


def check_face_in_frame(e: Evidence, policy: Policy) -> CheckResult | None:
    """Face photos: the face's own region (`faces.face_region_box`) inside the frame."""
    if not e.face_photo or e.faces is None or e.faces.main is None:
        return None
    outside = face_outside(e.faces.main, e.measurements.width, e.measurements.height)
    return CheckResult(
        "face_in_frame",
        outside <= policy.max_face_outside,
        ReasonCode.FACE_CUT_OFF,
        f"the face runs off the frame: {outside:.0%} of its eyes, brows, nose, mouth and "
        f"cheeks lie outside the photo (at most {policy.max_face_outside:.0%}); a face crop "
        "cannot put it back",
        score=outside,
        threshold=policy.max_face_outside,
    )


PIXEL_QUALITY_MARGIN = 5
"""How far under `Policy.min_jpeg_quality` the quality the pixels show must be to count:
the reading is a few points off either way (54 real photos saved at 30 and again at 90
read 28-31)."""


def check_jpeg_quality(e: Evidence, policy: Policy) -> CheckResult | None:
    """The JPEG quality the file was saved at, then the one its pixels show they were
    compressed at before (a photo saved at quality 10, then again at 90 or as a PNG)."""
    if policy.min_jpeg_quality <= 0:
        return None
    saved, shown = e.jpeg_quality, e.measurements.pixel_jpeg_quality
    # The pixels' reading is a few points off either way (quality 30 reads 28-31).
    least_shown = policy.min_jpeg_quality - PIXEL_QUALITY_MARGIN
    passes_as_saved = saved is None or saved >= policy.min_jpeg_quality
    if shown is not None and shown < least_shown and passes_as_saved:
        again = "saved again since" if saved is not None else "kept in a lossless file since"
        return CheckResult(
            "jpeg_quality",
            False,
            ReasonCode.OVER_COMPRESSED,
            f"its pixels show the 8x8 blocks of JPEG quality about {shown} (under "
            f"{least_shown}), {again}: a save at a higher quality keeps the blocks and "
            "smeared colour, which would be learnt; use the original",
            score=float(shown),
            threshold=float(least_shown),
        )
    if saved is None:
        return None
    return CheckResult(
        "jpeg_quality",
        saved >= policy.min_jpeg_quality,
        ReasonCode.OVER_COMPRESSED,
        f"saved at JPEG quality {saved} (under {policy.min_jpeg_quality}): its 8x8 blocks "
        "and smeared colour would be learnt; use the original or a copy saved at a higher "
        "quality",
        score=float(saved),
        threshold=float(policy.min_jpeg_quality),
    )


def check_noise(e: Evidence, policy: Policy) -> CheckResult | None:
    """Heavy grain or sensor noise, measured over the whole analysis copy."""
    if policy.max_noise <= 0:
        return None
    noise = e.measurements.sharpness.noise_sigma
    return CheckResult(
        "noise",
        noise <= policy.max_noise,
        ReasonCode.NOISY,
        f"grainy: its noise measures {noise:.1f} grey levels at {policy.analysis_side} px "
        f"(over {policy.max_noise:g}); a LoRA would learn the grain: use a cleaner photo",
        score=noise,
        threshold=policy.max_noise,
    )


def check_border(e: Evidence, policy: Policy) -> CheckResult | None:
    """Flat black or white bars along the edges (`border.measure_border`)."""
    if policy.max_border >= 1:
        return None
    border = e.measurements.border
    wide = border.edges(policy.max_border)
    limit = f"{policy.max_border:.1%}"
    if not wide:
        detail = f"no bar along an edge over {limit} of the photo's side"
    else:
        parts = [
            f"{edge} ({getattr(border, edge):.1%} of the "
            f"{'height' if edge in ('top', 'bottom') else 'width'})"
            for edge in wide
        ]
        where = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
        several = len(parts) > 1
        detail = (
            f"{'flat bars' if several else 'a flat bar'} along the {where}, over {limit}: "
            f"{'they' if several else 'it'} would be learnt as part of the picture; crop "
            f"{'them' if several else 'it'} off"
        )
    return CheckResult(
        "border",
        not wide,
        ReasonCode.BORDERED,
        detail,
        score=border.widest,
        threshold=policy.max_border,
    )


Check = Callable[[Evidence, Policy], CheckResult | None]

CHECKS: tuple[Check, ...] = (
    check_size,
    check_server_limits,
    check_sharpness,
    check_upscaled,
    check_server_sharpness,
    check_dark,
    check_bright,
    check_has_face,
    check_single_face,
    check_face_size,
    check_face_in_frame,
    check_upright,
    check_jpeg_quality,
    check_noise,
    check_border,
)


def run_checks(evidence: Evidence, policy: Policy) -> list[CheckResult]:
    """Every registered check that applies, in registry order."""
    return [r for r in (check(evidence, policy) for check in CHECKS) if r is not None]
