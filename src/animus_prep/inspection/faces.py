"""How the pre-flight uses the face models: what they say about one image.

Computed in the pre-flight worker. Detection runs on the reduced, upright copy the decode
already made; boxes are reported in full-resolution pixels. Only the main face is
embedded (for the identity check): always in a face photo, and in a body photo when it is
large enough to be recognised there (`BODY_IDENTITY_MIN_FACE`). The rule for when a second face
counts as another person lives here, once, for the checks and for the detector's second look.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from .._opencv import cv2
from ..faces.errors import FacesUnavailableError
from ..faces.identity import l2_normalize
from ..faces.types import Box, Face, FaceDetector, FaceEmbedder
from ..policy import Policy
from .colour import saturation_level
from .sharpness import Sharpness, estimate_noise, measure_sharpness

# The face's own region (eyes, nose, mouth, cheeks) is measured for sharpness with its
# longer side at most this many pixels (about its size in a 1024 px training crop), and
# at least `FACE_MIN_MEASURED_SIDE` when the photo has that much: a copy holding it
# smaller is not enough (a JPEG decoded at 1/8 softens a blurred face into a sharp-looking
# one), so the analysis decodes a finer copy then. The blur measured is converted to the
# training crop's scale by the check.
FACE_MEASURE_SIDE = 320
FACE_PRESMOOTH = 0.8
"""Smoothing (Gaussian sigma, px) of the face region before its blur is measured, taken
off the estimate again: grain on a soft face otherwise reads as sharp edges. The 9
portraits of tests/data/people blurred by sigma 3-4 at 1024 px under grain of 3 and 5
grey levels: 16 of 36 were `blurry` without it, 30 of 36 with it (all under grain 3);
1.0 caught 33 but took a soft studio portrait's own variants over the limit (2.3 -> 2.6).
`bench_people.py` measures the tune and check sets with it."""
FACE_NOISY = 2.5
FACE_PRESMOOTH_NOISY = 1.2
"""The smoothing for a face region whose noise (`sharpness.estimate_noise`, grey levels)
is `FACE_NOISY` or more: heavier grain needs more. Chosen on the tune photos (grainy blurs
caught 28 of 36 at 0.8 alone, 36 with this); on the held-out check photos 15 of 24 became
22, and no sharp original or usable variant read blurrier (their regions are quieter)."""
FACE_MIN_MEASURED_SIDE = 160
# A body photo's face is embedded (and so its identity judged) only when it is at least
# this tall (px) in the copy it is found in, and found with at least this detector score.
# On real faces from PyPI packages, shrunk so their face was 32-128 px tall, the same
# person's score (leave-one-out, against their own identity) stayed at 0.44 or more from
# 64 px up and other people's at 0.31 or less (threshold 0.363); at 32 px, 5 of 38 fell
# under the threshold. Their detector scores were 0.76-0.98 (a tenth under 0.85), while a
# photo turned sideways by a wrong EXIF orientation gave a face of 0.72 that is no face
# (a rotated face scores 0.53-0.84): a face not surely found is not judged.
BODY_IDENTITY_MIN_FACE = 64
BODY_IDENTITY_MIN_SCORE = 0.85
# The region spans the five landmarks, grown by these shares of the distance between the
# eyes: sideways to the cheeks, up to the brows, down past the lower lip. Hair and the
# background around the head stay out, so a sharp background cannot vouch for a soft face.
_REGION_SIDEWAYS = 0.3
_REGION_UP = 0.4
_REGION_DOWN = 0.35
# Below this share of the box width, the eyes are too close to span a region (a face
# seen from the side): the middle of the box stands for the face.
_MIN_EYE_SPAN = 0.25
_BOX_MIDDLE = 0.2
# Pre-flight detection size: a reference photo's face (a third of the frame or more) is
# 150-250 px here, inside YuNet's 10-300 px range, and a second person at a third of
# that size is still 50 px; 480 px runs in half the time of 640 px.
DETECT_LONG_SIDE = 480
# A face photo with no face found at that size is looked at again at twice it, when the
# photo is that large: a head in a wide frame (a 340 px face in a 6000x4000 photo is 27
# px at 480) is found and judged for its size, not called "no face". Photos with a face
# never pay for it.
CLOSER_LONG_SIDE = 2 * DETECT_LONG_SIDE


# A photo turned sideways or upside down (a missing or wrong EXIF orientation) shows its
# face turned: the detector finds it at a lower score, or not at all. When the best face
# as the photo stands scores under TURN_TRIGGER, the other three orientations are tried,
# and the photo is called turned when one of them finds a face at TURN_MIN_SCORE or more,
# and by TURN_MARGIN more than as it stands. On 63 real face photos from PyPI packages
# (upright: 0.85-0.96) no upright photo was called turned; turned a quarter either way,
# 126 of 126 were found; upside down (which the detector finds at up to 0.91) 28 of 63.
TURN_TRIGGER = 0.88
TURN_MIN_SCORE = 0.85
TURN_MARGIN = 0.08
# Upside down, many faces are found as surely as upright ones, their landmarks placed as if
# they were upright. Aligned on those, the crop the embedding model sees is upside down, and
# its raw embedding is short: 5.0-7.7 on the project's real photos upside down, 9.5-14.7
# upright (`SFaceEmbedder.embed_unnormalised`). So when the main face's raw embedding is
# shorter than TURN_STRENGTH_TRIGGER, the photo is looked at turned every other way, and called
# turned when the face found there embeds at TURN_STRENGTH_MIN or more and
# TURN_STRENGTH_RATIO times as long. (Only where faces are embedded: the identity check on.)
TURN_STRENGTH_TRIGGER = 8.5
TURN_STRENGTH_MIN = 9.0
TURN_STRENGTH_RATIO = 1.3
# Sideways the same holds (as it stands 3.0-7.3 on 19 real photos turned a quarter, 9.2-
# 14.8 once turned back), and the face is found there at a score within TURN_MARGIN of
# the turned one when the head is tilted (0.85-0.87 against 0.92-0.94). A quarter turn
# found by the embedding must also find the face at TURN_SIDEWAYS_LEAD more than as it
# stands: a head tilted by 45 degrees embeds short, and found either way at nearly the
# same score (0.88 and 0.91), is not turned.
TURN_SIDEWAYS_LEAD = 0.04
# The face found upside down must be the main face: its box, turned back, and the main
# face's box overlapping by this share of the smaller of the two at least (the detector's
# boxes of one face, as it stands and turned, differed up to 2.9 times in area).
SAME_FACE_OVERLAP = 0.5


@dataclass(frozen=True, slots=True)
class Turn:
    """How a photo that looks turned must be turned for its face to be upright."""

    clockwise: int
    """Degrees clockwise: 90, 180 or 270."""
    score_as_is: float
    """The best face score as the photo stands (0 when none was found)."""
    score_turned: float
    """The best face score once turned."""
    strength_as_is: float | None = None
    """The main face's raw embedding length as the photo stands, when that, not the
    scores, showed the turn (see `TURN_STRENGTH_TRIGGER`)."""
    strength_turned: float | None = None
    """The raw embedding length of the face found once turned (with `strength_as_is`)."""

    @property
    def measured(self) -> float:
        """What showed the turn: the turned face's embedding length, or its score."""
        return self.score_turned if self.strength_turned is None else self.strength_turned

    @property
    def bar(self) -> float:
        """What `measured` had to reach to call the photo turned."""
        if self.strength_as_is is not None:
            return max(TURN_STRENGTH_MIN, self.strength_as_is * TURN_STRENGTH_RATIO)
        return max(TURN_MIN_SCORE, self.score_as_is + TURN_MARGIN)

    def describe(self) -> str:
        if self.clockwise == 180:
            return "upside down: its face is upright when turned 180 degrees"
        way = "clockwise" if self.clockwise == 90 else "counter-clockwise"
        return f"sideways: its face is upright when turned 90 degrees {way}"


@dataclass(frozen=True, slots=True)
class FaceFindings:
    """Faces in one image (full-resolution pixels), the main one first, and its traits."""

    faces: tuple[Face, ...]
    """Faces above the policy's score floor, largest first."""
    embedding: npt.NDArray[np.float32] | None = None
    """SFace embedding of the main face (face photos, and body photos whose face is
    clear enough: `BODY_IDENTITY_MIN_FACE`)."""
    face_sharpness: FaceSharpness | None = None
    """Blur of the main face's own region."""
    face_exposure: FaceExposure | None = None
    """Luma of the main face's own region: the subject's exposure."""
    face_saturation: float | None = None
    """How colourful the main face's own region is (`face_saturation`)."""
    unavailable: str | None = None
    """Why the face models could not run here (then nothing else is set)."""
    turn: Turn | None = None
    """Set when the photo looks turned; its face was then not embedded (a turned face
    says nothing sure about who it is)."""

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


def face_region_box(face: Face) -> tuple[float, float, float, float]:
    """The face's own region (left, top, right, bottom) in the face's pixels: what the
    landmarks span (eyes, nose, mouth) with the cheeks and brows, without hair or
    background."""
    xs = [p[0] for p in face.landmarks]
    ys = [p[1] for p in face.landmarks]
    (rx, ry), (lx, ly) = face.landmarks[0], face.landmarks[1]
    eyes = float(np.hypot(lx - rx, ly - ry))
    x, y, w, h = face.box
    if eyes < _MIN_EYE_SPAN * w:
        return (
            x + _BOX_MIDDLE * w,
            y + _BOX_MIDDLE * h,
            x + (1 - _BOX_MIDDLE) * w,
            y + (1 - _BOX_MIDDLE) * h,
        )
    mouth = max(face.landmarks[3][1], face.landmarks[4][1])
    return (
        min(xs) - _REGION_SIDEWAYS * eyes,
        min(ry, ly) - _REGION_UP * eyes,
        max(xs) + _REGION_SIDEWAYS * eyes,
        max(mouth, max(ys)) + _REGION_DOWN * eyes,
    )


def face_outside(face: Face, width: float, height: float) -> float:
    """Share of the face's own region (`face_region_box`) outside a ``width`` x ``height``
    frame (the face in that frame's pixels): 0 when it is all inside."""
    left, top, right, bottom = face_region_box(face)
    area = (right - left) * (bottom - top)
    if area <= 0:
        return 0.0
    inside = max(0.0, min(right, width) - max(left, 0.0)) * max(
        0.0, min(bottom, height) - max(top, 0.0)
    )
    return float(1.0 - inside / area)


def region_side(face: Face) -> float:
    """Longer side, in the face's own pixels, of the region judged for sharpness."""
    x0, y0, x1, y1 = face_region_box(face)
    return max(x1 - x0, y1 - y0)


@dataclass(frozen=True, slots=True)
class FaceExposure:
    """Luma percentiles (0-255) of the face's own region, and its blown-out share."""

    p10: float
    p50: float
    p90: float
    clipped_fraction: float


def _region(pixels: npt.NDArray[np.uint8], face: Face) -> np.ndarray | None:
    """The face's own region of ``pixels`` as they are (None when nearly empty)."""
    h, w = pixels.shape[:2]
    left, top, right, bottom = face_region_box(face)
    x0, y0 = max(0, int(left)), max(0, int(top))
    x1, y1 = min(w, int(np.ceil(right))), min(h, int(np.ceil(bottom)))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    return np.ascontiguousarray(pixels[y0:y1, x0:x1])


def _region_pixels(pixels: npt.NDArray[np.uint8], face: Face) -> np.ndarray | None:
    """Grey pixels of the face's own region in ``pixels``, RGB or already grey (None when
    the region is nearly empty)."""
    region = _region(pixels, face)
    if region is None or region.ndim == 2:
        return region
    gray: np.ndarray = cv2.cvtColor(region, cv2.COLOR_RGB2GRAY)
    return gray


def face_exposure(rgb: npt.NDArray[np.uint8], face: Face) -> FaceExposure | None:
    """How the face's own region is exposed (None when the region is nearly empty)."""
    gray = _region_pixels(rgb, face)
    if gray is None:
        return None
    hist = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    cdf = np.cumsum(hist) / hist.sum()
    p10, p50, p90 = (float(np.searchsorted(cdf, q)) for q in (0.10, 0.50, 0.90))
    return FaceExposure(p10, p50, p90, float(hist[250:].sum() / hist.sum()))


def face_saturation(rgb: npt.NDArray[np.uint8], face: Face) -> float | None:
    """How colourful the face's own region is (`colour.saturation_level`): a colour face
    measured 30-76 on the project's real photos, whatever the rest of the frame; a black
    and white one 0. None when the region is nearly empty, or nearly all black or white."""
    region = _region(rgb, face)
    return None if region is None else saturation_level(region)


@dataclass(frozen=True, slots=True)
class FaceSharpness:
    """Blur of the face's own region, and the scale it was measured at."""

    sharpness: Sharpness
    per_pixel: float
    """Measured pixels per full-resolution pixel: the blur in the photo's own pixels is
    ``sharpness.edge_width / per_pixel``."""


def face_sharpness(
    pixels: npt.NDArray[np.uint8], face: Face, per_full: float
) -> FaceSharpness | None:
    """Blur of ``face``'s own region in ``pixels`` (RGB or grey), a copy with ``per_full``
    pixels per full-resolution pixel (None when the region is empty)."""
    gray = _region_pixels(pixels, face)
    if gray is None:
        return None
    side = max(gray.shape)
    if side > FACE_MEASURE_SIDE:
        f = FACE_MEASURE_SIDE / side
        size = (max(1, round(gray.shape[1] * f)), max(1, round(gray.shape[0] * f)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        per_full *= max(gray.shape) / side
    noise = estimate_noise(gray)
    presmooth = FACE_PRESMOOTH_NOISY if noise >= FACE_NOISY else FACE_PRESMOOTH
    measured = measure_sharpness(gray, presmooth, noise, each_orientation=True)
    return FaceSharpness(measured, per_full)


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


def _closer_look(rgb: npt.NDArray[np.uint8], detector: FaceDetector, policy: Policy) -> list[Face]:
    """The faces found by `detector` at `CLOSER_LONG_SIDE` (or the photo's own size when
    smaller), when it has that size and the photo is notably larger than the first look."""
    closer = getattr(detector, "closer", None)
    long_side = min(CLOSER_LONG_SIDE, max(rgb.shape[:2]))
    if closer is None or long_side < DETECT_LONG_SIDE * 5 // 4:
        return []
    return [f for f in closer(long_side).detect(rgb) if f.score >= policy.face_min_score]


def find_faces(
    rgb: npt.NDArray[np.uint8],
    scale: float,
    *,
    embed: bool,
    policy: Policy,
    detector: FaceDetector | None = None,
    embedder: FaceEmbedder | None = None,
    embed_min_height: float = 0.0,
    embed_min_score: float = 0.0,
    look_for_turn: bool = False,
    turn_needs_face: bool = False,
    look_closer: bool = False,
) -> FaceFindings:
    """Detect faces in an upright reduced copy (`scale` = full pixels per copy pixel).
    With ``embed``, the main face is embedded when it is at least ``embed_min_height``
    px tall in ``rgb`` and its detector score at least ``embed_min_score``. With
    ``look_for_turn``, whether the photo looks turned (`upright_turn`); with
    ``turn_needs_face`` too, only when a face was found as it stands (a body photo may
    rightly show none). With ``look_closer``, a large photo in which no face is found is
    searched again at `CLOSER_LONG_SIDE` (detectors that have a `closer` size)."""
    try:
        if detector is None or (embed and embedder is None):
            default_detector, default_embedder = _default_models()
            detector = detector or default_detector
            embedder = embedder or default_embedder
        found = [f for f in detector.detect(rgb) if f.score >= policy.face_min_score]
        if not found and look_closer:
            found = _closer_look(rgb, detector, policy)
        # The largest face is the subject; a confident small face does not outrank it.
        found.sort(key=lambda f: f.box[2] * f.box[3], reverse=True)
        found = _confirmed(rgb, found, detector, policy)
        turn = None
        if look_for_turn and (found or not turn_needs_face):
            turn = upright_turn(rgb, found, detector, policy)
        embedding = None
        sharpness = None
        exposure = None
        saturation = None
        if found:
            main = found[0]
            sharpness = face_sharpness(rgb, main, 1.0 / scale)
            exposure = face_exposure(rgb, main)
            saturation = face_saturation(rgb, main)
            clear = main.box[3] >= embed_min_height and main.score >= embed_min_score
            if embed and embedder is not None and clear and turn is None:
                embedding, strength = _embedded(embedder, rgb, main)
                if look_for_turn and strength is not None and strength < TURN_STRENGTH_TRIGGER:
                    turn = turned_by_strength(rgb, main, strength, detector, embedder, policy)
                    if turn is not None:
                        embedding = None
                if embedding is not None and ROLL_TO_LEVEL <= abs(face_roll(main)) < 90.0:
                    # Who it is, from the head levelled (a turn is judged as it stands).
                    level, levelled = levelled_face(rgb, main, detector, policy)
                    if levelled is not main:
                        embedding, _ = _embedded(embedder, level, levelled)
    except FacesUnavailableError as exc:
        return FaceFindings((), unavailable=str(exc))
    return FaceFindings(
        faces=tuple(f.scaled(scale) for f in found),
        embedding=embedding,
        face_sharpness=sharpness,
        face_exposure=exposure,
        face_saturation=saturation,
        turn=turn,
    )


def upright_turn(
    rgb: npt.NDArray[np.uint8], found: list[Face], detector: FaceDetector, policy: Policy
) -> Turn | None:
    """How to turn the photo for its face to be upright, when it looks turned (see
    `TURN_TRIGGER`); None when it looks upright, or no orientation finds a surer face."""
    as_is = max((f.score for f in found), default=0.0)
    if as_is >= TURN_TRIGGER:
        return None
    best_k, best = 0, 0.0
    for k in (1, 2, 3):
        # np.rot90 turns counter-clockwise: k quarter turns = 360 - 90k degrees clockwise.
        turned = detector.detect(np.ascontiguousarray(np.rot90(rgb, k)))
        score = max((f.score for f in turned if f.score >= policy.face_min_score), default=0.0)
        if score > best:
            best_k, best = k, score
    turn = Turn(360 - 90 * best_k, as_is, best)
    return turn if best >= turn.bar else None


ROLL_TO_LEVEL = 10.0
"""Degrees a face's eyes may be off level before it is embedded levelled (`levelled_face`)."""
LEVELLING_ROUNDS = 2


def face_roll(face: Face) -> float:
    """How far the face's eyes are off level, in degrees (positive: the eye on the image's
    right is lower; the photo turned that many degrees counter-clockwise levels them)."""
    (rx, ry), (lx, ly) = face.landmarks[0], face.landmarks[1]
    return float(np.degrees(np.arctan2(ly - ry, lx - rx)))


def levelled_face(
    rgb: npt.NDArray[np.uint8], face: Face, detector: FaceDetector, policy: Policy
) -> tuple[npt.NDArray[np.uint8], Face]:
    """The photo turned about the face until its eyes are level, and the face found again
    there, for its embedding; the photo and face as they are when the head is level.

    The detector places the landmarks of a tilted head too close to upright (a head
    tilted 45 degrees reads 15-30), so the alignment the embedding rests on is off, and
    the same person measured 0.13-0.5 against their own level photo. Found again in the
    photo levelled by that much, the landmarks are nearer the truth; a second round
    nearly always levels it (0.53-0.99 on the same photos)."""
    image, current = rgb, face
    for _ in range(LEVELLING_ROUNDS):
        roll = face_roll(current)
        if not ROLL_TO_LEVEL <= abs(roll) < 90.0:
            break  # level enough (or eyes read swapped: a profile, not a tilt)
        centre = np.asarray(current.landmarks, dtype=np.float64).mean(axis=0)
        turn = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), roll, 1.0)
        turned = np.asarray(
            cv2.warpAffine(
                image,
                turn,
                (image.shape[1], image.shape[0]),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT101,
            ),
            dtype=np.uint8,
        )
        again = _same_face(detector.detect(turned), current, policy)
        if again is None:
            break
        image, current = turned, again
    return image, current


def _same_face(found: list[Face], face: Face, policy: Policy) -> Face | None:
    """The face among ``found`` that is ``face`` turned about its own centre: a sure one
    whose centre lies within half the face's size of it."""
    centre = np.asarray(face.landmarks, dtype=np.float64).mean(axis=0)
    reach = max(face.box[2], face.box[3]) / 2
    near = [
        (float(np.hypot(*(np.asarray(f.landmarks, dtype=np.float64).mean(axis=0) - centre))), f)
        for f in found
        if f.score >= policy.face_min_score
    ]
    near = [(d, f) for d, f in near if d <= reach]
    return min(near, key=lambda n: n[0])[1] if near else None


def _embedded(
    embedder: FaceEmbedder, rgb: npt.NDArray[np.uint8], face: Face
) -> tuple[npt.NDArray[np.float32], float | None]:
    """The face's embedding, and its raw length when the embedder can give it."""
    unnormalised = getattr(embedder, "embed_unnormalised", None)
    if unnormalised is None:
        return embedder.embed(rgb, face), None
    raw = np.asarray(unnormalised(rgb, face), dtype=np.float32)
    return l2_normalize(raw), float(np.linalg.norm(raw))


def turned_by_strength(
    rgb: npt.NDArray[np.uint8],
    main: Face,
    strength: float,
    detector: FaceDetector,
    embedder: FaceEmbedder,
    policy: Policy,
) -> Turn | None:
    """The turn (90, 180 or 270 degrees) under which the main face embeds much longer
    than its raw embedding as the photo stands (`strength`; see `TURN_STRENGTH_TRIGGER`);
    None when no turn does. A face turned sideways or upside down is often found, its
    landmarks placed as if it were upright, and embeds short. Only a face where the main
    face is, turned back, counts: another face elsewhere in the photo says nothing of
    this one."""
    unnormalised = getattr(embedder, "embed_unnormalised", None)
    if unnormalised is None:
        return None
    h, w = rgb.shape[:2]
    best: Turn | None = None
    for k in (2, 1, 3):
        # np.rot90 turns counter-clockwise: k quarter turns = 360 - 90k degrees clockwise.
        turned = np.ascontiguousarray(np.rot90(rgb, k))
        found = [f for f in detector.detect(turned) if f.score >= policy.face_min_score]
        overlaps = [(_overlap(_turned_back(f.box, k, w, h), main.box), f) for f in found]
        if not overlaps:
            continue
        overlap, same = max(overlaps, key=lambda o: o[0])
        if overlap < SAME_FACE_OVERLAP:
            continue
        if k != 2 and same.score < main.score + TURN_SIDEWAYS_LEAD:
            continue  # a head tilted 45 degrees embeds short, and as short either way
        strength_turned = float(np.linalg.norm(np.asarray(unnormalised(turned, same))))
        if not np.isfinite(strength_turned):
            continue
        turn = Turn(360 - 90 * k, main.score, same.score, strength, strength_turned)
        if strength_turned >= turn.bar and (best is None or turn.measured > best.measured):
            best = turn
    return best


def _turned_back(box: Box, k: int, width: int, height: int) -> Box:
    """A box found in the photo turned ``k`` quarter turns counter-clockwise
    (``np.rot90(photo, k)``), in the photo's own pixels (``width`` x ``height``)."""
    x, y, w, h = box
    if k == 1:
        return (width - y - h, x, h, w)
    if k == 2:
        return (width - x - w, height - y - h, w, h)
    if k == 3:
        return (y, height - x - w, h, w)
    return box


def _overlap(a: Box, b: Box) -> float:
    """The share of the smaller of two (x, y, w, h) boxes that lies in the other."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    smaller = min(a[2] * a[3], b[2] * b[3])
    return ix * iy / smaller if smaller > 0 else 0.0
