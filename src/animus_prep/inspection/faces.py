"""How the pre-flight uses the face models: what they say about one image.

Computed in the pre-flight worker. Detection runs on the reduced, upright copy the decode
already made; boxes are reported in full-resolution pixels. Only face photos are embedded
(identity is judged on them), and only their main face. The rule for when a second face
counts as another person lives here, once, for the checks and for the detector's second look.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np
import numpy.typing as npt

from ..faces.errors import FacesUnavailableError
from ..faces.types import Face, FaceDetector, FaceEmbedder
from ..policy import Policy
from .sharpness import Sharpness, measure_sharpness

# The face region is judged for sharpness at this size (its longer side, in pixels): about
# the face's size in a 512 px training crop. A copy holding it smaller is not enough (a
# JPEG decoded at 1/8 softens a blurred face into a sharp-looking one), so the analysis
# decodes a finer copy then.
FACE_ANALYSIS_SIDE = 256
# The face region is the face box grown by this fraction of its size on every side.
FACE_REGION_PAD = 0.1
# Pre-flight detection size: a reference photo's face (a third of the frame or more) is
# 150-250 px here, inside YuNet's 10-300 px range, and a second person at a third of
# that size is still 50 px; 480 px runs in half the time of 640 px.
DETECT_LONG_SIDE = 480


@dataclass(frozen=True, slots=True)
class FaceFindings:
    """Faces in one image (full-resolution pixels), the main one first, and its traits."""

    faces: tuple[Face, ...]
    """Faces above the policy's score floor, largest first."""
    embedding: npt.NDArray[np.float32] | None = None
    """SFace embedding of the main face (face photos only)."""
    face_sharpness: Sharpness | None = None
    """Blur estimate of the main face's region."""
    unavailable: str | None = None
    """Why the face models could not run here (then nothing else is set)."""

    @property
    def main(self) -> Face | None:
        return self.faces[0] if self.faces else None


@cache
def _default_models() -> tuple[FaceDetector, FaceEmbedder]:
    from ..faces.detector import YuNetDetector
    from ..faces.recognizer import SFaceEmbedder

    # No thread count: each session takes the runtime's default when it is made, which
    # is one per worker process and every core (up to four) when running alone.
    detector = YuNetDetector(score_threshold=0.5, long_side=DETECT_LONG_SIDE)
    return detector, SFaceEmbedder()


def region_side(face: Face) -> float:
    """Longer side, in the face's own pixels, of the region judged for sharpness."""
    return max(face.box[2], face.box[3]) * (1 + 2 * FACE_REGION_PAD)


def face_region(rgb: npt.NDArray[np.uint8], face: Face, pad: float = FACE_REGION_PAD) -> np.ndarray:
    """Grey pixels of a face box (slightly padded, clipped to the image)."""
    h, w = rgb.shape[:2]
    x, y, bw, bh = face.box
    x0, y0 = max(0, int(x - pad * bw)), max(0, int(y - pad * bh))
    x1, y1 = min(w, int(x + bw * (1 + pad))), min(h, int(y + bh * (1 + pad)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros((0, 0), np.uint8)
    gray = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    side = max(gray.shape)
    if side > FACE_ANALYSIS_SIDE:
        f = FACE_ANALYSIS_SIDE / side
        size = (max(1, round(gray.shape[1] * f)), max(1, round(gray.shape[0] * f)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    return gray


def face_sharpness(rgb: npt.NDArray[np.uint8], face: Face) -> Sharpness | None:
    """Blur estimate of ``face``'s region in ``rgb`` (None when the region is empty)."""
    region = face_region(rgb, face)
    return measure_sharpness(region) if region.size else None


def _side(face: Face) -> float:
    return max(face.box[2], face.box[3])


def is_second_person(face: Face, main: Face, policy: Policy) -> bool:
    """Whether ``face`` beside the ``main`` face counts as another person in the photo:
    big enough to be a second subject, and confident enough (patterned clothes fool the
    detector). A small or unsure face in the background does not count."""
    return (
        _side(face) >= policy.second_face_min_ratio * _side(main)
        and face.score >= policy.second_face_min_score
    )


def prominent_faces(findings: FaceFindings, policy: Policy) -> list[Face]:
    """The main face and every other face that counts as another person."""
    main = findings.main
    if main is None:
        return []
    return [main] + [f for f in findings.faces[1:] if is_second_person(f, main, policy)]


def _confirmed(
    rgb: npt.NDArray[np.uint8], faces: list[Face], detector: FaceDetector, policy: Policy
) -> list[Face]:
    """Drop second faces that would count as another person but are not found again when
    looked at more closely (detectors that cannot look again keep them all)."""
    confirm = getattr(detector, "confirm", None)
    if confirm is None or len(faces) < 2:
        return faces
    kept = [faces[0]]
    for f in faces[1:]:
        if not is_second_person(f, faces[0], policy) or confirm(
            rgb, f, min_score=policy.second_face_min_score
        ):
            kept.append(f)
    return kept


def find_faces(
    rgb: npt.NDArray[np.uint8],
    scale: float,
    *,
    embed: bool,
    policy: Policy,
    detector: FaceDetector | None = None,
    embedder: FaceEmbedder | None = None,
) -> FaceFindings:
    """Detect faces in an upright reduced copy (`scale` = full pixels per copy pixel)."""
    try:
        if detector is None or (embed and embedder is None):
            default_detector, default_embedder = _default_models()
            detector = detector or default_detector
            embedder = embedder or default_embedder
        found = [f for f in detector.detect(rgb) if f.score >= policy.face_min_score]
        # The largest face is the subject; a confident small face does not outrank it.
        found.sort(key=lambda f: f.box[2] * f.box[3], reverse=True)
        found = _confirmed(rgb, found, detector, policy)
        embedding = None
        sharpness = None
        if found:
            sharpness = face_sharpness(rgb, found[0])
            if embed and embedder is not None:
                embedding = embedder.embed(rgb, found[0])
    except FacesUnavailableError as exc:
        return FaceFindings((), unavailable=str(exc))
    return FaceFindings(
        faces=tuple(f.scaled(scale) for f in found),
        embedding=embedding,
        face_sharpness=sharpness,
    )
