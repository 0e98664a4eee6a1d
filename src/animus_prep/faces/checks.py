"""Pure face checks: one face, large and sharp enough for a training crop.

Each takes the findings, the image's full size and the policy, and returns the same
`CheckResult` as the image checks, so reports treat them alike.
"""

from __future__ import annotations

from ..checks import CheckResult, blur_score
from ..policy import Policy
from ..reasons import ReasonCode
from .findings import FACE_ANALYSIS_SIDE, FaceFindings
from .types import Face


def _side(face: Face) -> float:
    return max(face.box[2], face.box[3])


def prominent_faces(findings: FaceFindings, policy: Policy) -> list[Face]:
    """The main face and any other face big enough to be a second subject."""
    main = findings.main
    if main is None:
        return []
    floor = policy.second_face_min_ratio * _side(main)
    return [main] + [
        f
        for f in findings.faces[1:]
        if _side(f) >= floor and f.score >= policy.second_face_min_score
    ]


def check_has_face(findings: FaceFindings, policy: Policy) -> CheckResult:
    return CheckResult(
        "face",
        findings.main is not None,
        ReasonCode.NO_FACE,
        f"no face found (detector confidence floor {policy.face_min_score:.2f})",
    )


def check_single_face(findings: FaceFindings, policy: Policy) -> CheckResult:
    count = len(prominent_faces(findings, policy))
    return CheckResult(
        "single_face",
        count <= 1,
        ReasonCode.MULTIPLE_FACES,
        f"{count} prominent faces; a reference photo must show only the character "
        f"(faces under {policy.second_face_min_ratio:.0%} of the main face's size, or under "
        f"{policy.second_face_min_score:.2f} confidence, are ignored)",
        score=float(count),
        threshold=1.0,
    )


def check_face_size(findings: FaceFindings, policy: Policy) -> CheckResult:
    main = findings.main
    if main is None:
        return CheckResult("face_size", True, ReasonCode.FACE_TOO_SMALL, "no face")
    crop_side = _side(main) * (1 + 2 * policy.face_crop_margin)
    return CheckResult(
        "face_size",
        crop_side >= policy.face_crop_side,
        ReasonCode.FACE_TOO_SMALL,
        f"the face is {_side(main):.0f} px: a {policy.face_crop_side} px face crop "
        f"(margin {policy.face_crop_margin}) would need upscaling from {crop_side:.0f} px",
        score=crop_side,
        threshold=float(policy.face_crop_side),
    )


def check_face_sharpness(findings: FaceFindings, policy: Policy) -> CheckResult:
    s = findings.face_sharpness
    if s is None or not s.measurable:
        return CheckResult("sharpness", True, ReasonCode.BLURRY, "face region not measurable")
    return CheckResult(
        "sharpness",
        s.edge_width <= policy.max_face_edge_width,
        ReasonCode.BLURRY,
        f"blurry face: its sharpest edges are {s.edge_width:.2f} px wide (blur sigma with the "
        f"face at {FACE_ANALYSIS_SIDE} px), over {policy.max_face_edge_width:.2f} px",
        score=blur_score(s.edge_width, policy.max_face_edge_width),
        threshold=0.5,
    )


def face_photo_checks(findings: FaceFindings, policy: Policy) -> list[CheckResult]:
    """Checks for a face photo; the face-region sharpness replaces the whole-frame one."""
    return [
        check_has_face(findings, policy),
        check_single_face(findings, policy),
        check_face_size(findings, policy),
        check_face_sharpness(findings, policy),
    ]


def body_photo_checks(findings: FaceFindings, policy: Policy) -> list[CheckResult]:
    """Checks for a body photo: a face is not required (back views), a second person is."""
    return [check_single_face(findings, policy)]
