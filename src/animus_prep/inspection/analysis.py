"""Everything learnt about one file from its single decode: the unit of parallel work.

`analyze` runs in worker processes, so its input and output are small, picklable values
(its fingerprint's packed pixels, when asked for, are ~120 KB).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .._opencv import cv2
from ..faces.types import FaceDetector, FaceEmbedder
from ..policy import Policy
from ..reasons import Reason, ReasonCode
from .checks import CheckResult, Evidence, least_side, over_server_limits, run_checks
from .colour import FACE_COLOUR, MONOCHROME_SATURATION
from .decode import DecodedImage, DecodeFailure, decode_bytes, decode_path
from .discover import FACE_IMAGE_TYPE, Candidate, body_image_type
from .faces import (
    BODY_IDENTITY_MIN_FACE,
    BODY_IDENTITY_MIN_SCORE,
    FACE_MIN_MEASURED_SIDE,
    FaceFindings,
    face_sharpness,
    find_faces,
    region_side,
)
from .fingerprint import Fingerprint, Source, fingerprint, thumbnail_of
from .measure import Measurements, detail_source, measure, shrink_gray


@dataclass(frozen=True, slots=True)
class ImageAnalysis:
    """One image's decode facts, measurements, verdicts and fingerprint."""

    candidate: Candidate
    width: int | None = None
    height: int | None = None
    format: str | None = None
    sha256: str | None = None
    file_bytes: int | None = None
    jpeg_quality: int | None = None
    encoding_quality: int = 0
    orientation: int = 1
    mode: str | None = None
    """Pillow mode of the file as stored (e.g. RGB, L, P, CMYK), before normalisation."""
    mtime_ns: int | None = None
    """The file's modification time when it was analysed (None for bytes that never
    touched the disk): of two copies alike in every other way, the older is taken for
    the original."""
    notes: tuple[str, ...] = ()
    failure: Reason | None = None
    """Set when the file could not be decoded; nothing else was measured."""
    measurements: Measurements | None = None
    checks: tuple[CheckResult, ...] = ()
    print: Fingerprint | None = field(default=None, repr=False)
    faces: FaceFindings | None = None
    """Face detection results; None when face checks were off or do not apply."""

    def reasons(self) -> list[Reason]:
        """Rejections found in this image alone (before set-level checks)."""
        if self.failure is not None:
            return [self.failure]
        return [c.reason() for c in self.checks if not c.passed]

    def saturation(self, face_colour: float = FACE_COLOUR) -> float | None:
        """How colourful the photo is (`colour.saturation_level`): the whole picture's,
        or its face's own region's when that is `face_colour` or more (a colour figure
        small in a grey frame is colour); the face's alone when the whole picture has
        nothing to judge."""
        frame = self.measurements.saturation if self.measurements is not None else None
        face = self.faces.face_saturation if self.faces is not None else None
        if face is not None and (frame is None or face >= face_colour):
            return face if frame is None else max(frame, face)
        return frame

    def blur_score(self) -> float | None:
        """The sharpness check's 0-1 blur score (0.5 at the policy limit), if measured."""
        for c in self.checks:
            if c.name == "sharpness":
                return c.score
        return None

    def face_height_share(self) -> float | None:
        """The main face's height over the photo's (both upright, full resolution); None
        without a face."""
        if self.faces is None or self.faces.main is None or not self.height:
            return None
        return float(self.faces.main.box[3]) / self.height

    def quality(self) -> float:
        """0-1 desirability as training data: resolution, sharpness, exposure, encoding."""
        m = self.measurements
        if m is None:
            return 0.0
        resolution = min(1.0, min(m.width, m.height) / 1536.0)
        blur = self.blur_score()
        sharp = 0.5 if blur is None else 1.0 - blur
        exposure = 1.0 - min(1.0, abs(m.luma_p50 - 118.0) / 118.0)
        encoding = self.encoding_quality / 100.0
        return 0.35 * resolution + 0.4 * sharp + 0.15 * exposure + 0.1 * encoding

    def is_better_copy_than(self, other: ImageAnalysis, *, by_encoding: bool = True) -> bool:
        """Whether this is the better of two copies of one picture (`copy_preference`;
        on a tie there, the older file, taken for the original: a copy saved again from
        it, flipped or not, takes a few more bytes for the same picture; then the more
        bytes per pixel). Without ``by_encoding``, encoding quality ranks nothing."""
        preferred = self.copy_preference(other, by_encoding=by_encoding)
        if preferred is not None:
            return preferred
        older, newer = self.mtime_ns, other.mtime_ns
        if older is not None and newer is not None and older != newer:
            return older < newer
        pa = (self.width or 0) * (self.height or 0)
        pb = (other.width or 0) * (other.height or 0)
        density_a = (self.file_bytes or 0) / max(pa, 1)
        density_b = (other.file_bytes or 0) / max(pb, 1)
        return density_a > density_b

    def copy_preference(self, other: ImageAnalysis, *, by_encoding: bool = True) -> bool | None:
        """Whether this is the better of two copies of one picture, or None when only
        their files' age and size tell them apart (see `is_better_copy_than`).

        A copy in its proper place (face/ or body/<view>/, so its kind is known) first: a
        stray backup outside them would be rejected as misplaced, losing the picture.
        Then, when one copy looks enlarged, the detail each holds (an enlarged copy holds
        only what its source held, so it cannot win by its pixels, nor pass the size
        checks by them); then passing the image checks (all but `upscaled`, see
        `_passes_as_a_copy`); then the copy that is not enlarged; a colour copy over a
        black-and-white one; a full-colour copy over one reduced to a palette; then
        resolution, sharpness and encoding quality in that order, each only when the
        difference is beyond measurement noise (copies of one picture differ by a few
        hundredths of a pixel in measured sharpness), sharpness only when neither copy
        was sharpened after (`_RESHARPENED_EDGE_WIDTH`), and encoding quality only where
        it tells (`_ranks_by_encoding`: not between two saves at 90 or more, nor between
        a photo and an edit of it); then a copy in RGB or grey over a CMYK one. So a
        photo kept beside a copy enlarged from it (or from a smaller copy of it) is the
        one kept.
        """
        a, b = self.measurements, other.measurements
        if a is None or b is None:
            return a is not None
        placed_a, placed_b = self.candidate.kind is not None, other.candidate.kind is not None
        if placed_a != placed_b:
            return placed_a
        if a.detail.enlarged or b.detail.enlarged:
            da, db = _detail_pixels(a), _detail_pixels(b)
            if max(da, db) > _RESOLUTION_TIE * min(da, db):
                return da > db
        passed_a, passed_b = self._passes_as_a_copy(), other._passes_as_a_copy()
        if passed_a != passed_b:
            return passed_a
        if a.detail.enlarged != b.detail.enlarged:
            return b.detail.enlarged
        # A black-and-white copy of a colour photo loses: the LoRA learns colour.
        grey_a, grey_b = _looks_grey(self.saturation()), _looks_grey(other.saturation())
        if grey_a != grey_b:
            return grey_b
        # A copy reduced to a palette (256 colours or fewer, often dithered) loses to one
        # in full colour or grey: its dither reads as fine detail, its banding is learnt.
        if (self.mode in _PALETTE_MODES) != (other.mode in _PALETTE_MODES):
            return other.mode in _PALETTE_MODES
        pa, pb = a.width * a.height, b.width * b.height
        if max(pa, pb) > _RESOLUTION_TIE * min(pa, pb):
            return pa > pb
        ea, eb = a.sharpness.edge_width, b.sharpness.edge_width
        # Edges steeper than a lens draws were sharpened after: their halos read as the
        # sharpest edges of all, so sharpness cannot rank such a copy.
        resharpened = min(ea, eb) < _RESHARPENED_EDGE_WIDTH
        if abs(ea - eb) > _SHARPNESS_TIE and not resharpened:
            return ea < eb
        if by_encoding and self._ranks_by_encoding(other):
            return self.encoding_quality > other.encoding_quality
        # A CMYK copy (a print re-save) loses to one in RGB or grey: its bytes per pixel
        # count four full channels, and not every trainer reads its colours right.
        if (self.mode == "CMYK") != (other.mode == "CMYK"):
            return other.mode == "CMYK"
        return None

    def _ranks_by_encoding(self, other: ImageAnalysis) -> bool:
        """Whether the two copies' encoding quality tells the better one: it differs by
        `_ENCODING_TIE` or more, the lower is under `_LOSSLESS_LOOKING_QUALITY`, and
        neither copy is an edit of the other (`_edited_apart`).

        A copy saved again at a higher setting holds no more of the picture than its
        source, and an editor's save (a filter, grain, smoothing) usually is at a higher
        setting than the camera's: from that setting up the difference is no loss the
        measures see, and the older file (the original) is kept.
        """
        qa, qb = self.encoding_quality, other.encoding_quality
        if abs(qa - qb) < _ENCODING_TIE or min(qa, qb) >= _LOSSLESS_LOOKING_QUALITY:
            return False
        return not _edited_apart(self, other)

    def _passes_as_a_copy(self) -> bool:
        """Whether every image check passed, but for `upscaled`: copies of one picture hold
        the same detail, so a shrunk copy that no longer looks enlarged is no better (the
        detail comparison before it settles an enlargement against its source)."""
        return all(c.passed for c in self.checks if c.code is not ReasonCode.UPSCALED)


def _looks_grey(saturation: float | None) -> bool:
    """Whether the picture is black and white at the default limit (`colour`)."""
    return saturation is not None and saturation < MONOCHROME_SATURATION


def _detail_pixels(m: Measurements) -> float:
    """The pixels of detail an image holds: its own, or, when it looks enlarged, those of
    the photo it was enlarged from."""
    pixels = float(m.width * m.height)
    source = m.detail.short_side
    short = min(m.width, m.height)
    if source is None or source >= short:
        return pixels
    return pixels * (source / short) ** 2


# Differences within these are treated as ties between copies of one picture.
_RESOLUTION_TIE = 1.1
_SHARPNESS_TIE = 0.2
_RESHARPENED_EDGE_WIDTH = 0.4
"""Whole-frame edge width (px at the analysis size) under which a photo was sharpened
after it was taken: 89 real photos read 0.49-1.86, the same photos sharpened three times
over (unsharp mask, radius 2, 250%) 0.0-0.68 (73 of them under 0.4)."""
_PALETTE_MODES = frozenset({"P", "PA", "1"})
"""Pillow modes of a picture reduced to a palette (or to black and white dots)."""
_ENCODING_TIE = 3
_LOSSLESS_LOOKING_QUALITY = 90
"""JPEG quality from which two saves of one picture differ by no loss the measures see
(a quality-90 photo saved again at 95: luma percentiles within 1 grey level, colour
histograms 0.014 apart at most, on 30 real photos)."""
_EDITED_TONE = 4.0
"""Grey levels by which a luma percentile (10th, 50th, 90th) of one copy moves from the
other's when it was edited (brightness, contrast, a filter): saves of one picture at
qualities 50-95 moved them 2 at most, edits 6 or more (30 real photos)."""
_EDITED_COLOUR = 0.1
"""Distance between two copies' colour histograms (`fingerprint.palette_of`) past which
one was recoloured (sepia, a tint, desaturated): saves at qualities 50-95 were 0.048
apart at most, colour edits 0.28 or more (30 real photos)."""


def _edited_apart(a: ImageAnalysis, b: ImageAnalysis) -> bool:
    """Whether one copy is an edit of the other in tone or colour (`_EDITED_TONE`,
    `_EDITED_COLOUR`), not only a save of it at another setting."""
    ma, mb = a.measurements, b.measurements
    if ma is None or mb is None:
        return False
    tone = max(
        abs(ma.luma_p10 - mb.luma_p10),
        abs(ma.luma_p50 - mb.luma_p50),
        abs(ma.luma_p90 - mb.luma_p90),
    )
    if tone >= _EDITED_TONE:
        return True
    if a.print is None or b.print is None:
        return False
    return float(np.linalg.norm(a.print.palette - b.print.palette)) >= _EDITED_COLOUR


def best_copy(members: Sequence[ImageAnalysis]) -> int:
    """Index of the best copy: the one that wins most pairwise comparisons (first on ties).

    When any two of them are edits of each other (`_edited_apart`), encoding quality
    ranks none of them: ranking some pairs by it and others by age lets an edit win
    round the circle (a re-save beats the original by its setting, the older edit beats
    the re-save, the original beats the edit), and the winner is then an accident.
    """
    by_encoding = not any(
        _edited_apart(a, b) for i, a in enumerate(members) for b in members[i + 1 :]
    )
    wins = [
        sum(
            a.is_better_copy_than(b, by_encoding=by_encoding)
            for j, b in enumerate(members)
            if j != i
        )
        for i, a in enumerate(members)
    ]
    return max(range(len(members)), key=lambda i: (wins[i], -i))


def analyze_decoded(
    candidate: Candidate,
    result: DecodedImage | DecodeFailure,
    policy: Policy,
    *,
    detector: FaceDetector | None = None,
    embedder: FaceEmbedder | None = None,
) -> ImageAnalysis:
    """Measure, check and fingerprint a decoded image (no I/O but the face models)."""
    if isinstance(result, DecodeFailure):
        return _failed(candidate, result, result.reason)
    gray = shrink_gray(result.gray, policy.analysis_side)
    detail = detail_source(result.gray, gray, policy.analysis_side)
    thumb = thumbnail_of(result.image)
    blocks = (result.gray, result.reduction) if result.reduction in (1, 2) else None
    m = measure(gray, result.width, result.height, detail, thumb, blocks)
    findings = None
    if policy.faces and candidate.kind is not None:
        findings = find_faces(
            result.rgb,
            result.scale,
            embed=policy.identity,
            policy=policy,
            detector=detector,
            embedder=embedder,
            embed_min_height=0.0 if candidate.kind == "face" else BODY_IDENTITY_MIN_FACE,
            embed_min_score=0.0 if candidate.kind == "face" else BODY_IDENTITY_MIN_SCORE,
            # Three more detections: not spent on a photo too small to use anyway.
            look_for_turn=policy.rotated
            and min(result.width, result.height) >= least_side(candidate.kind, policy),
            turn_needs_face=candidate.kind == "body",
            # A face found only on a closer look is small: worth finding where its size is
            # judged (`face_too_small`), not where it is not (renders: face_crop_side 1).
            look_closer=candidate.kind == "face" and policy.face_crop_side > 1,
        )
        findings = _face_sharpness_at_full_detail(result, findings)
    usable = findings if findings is not None and findings.unavailable is None else None
    evidence = Evidence(m, candidate.kind, usable, result.file_bytes, result.jpeg_quality)
    checks = run_checks(evidence, policy)
    notes = result.notes
    over = over_server_limits(result.width, result.height, result.file_bytes, policy)
    if over is not None and policy.fix:
        notes += (f"fix: {over}; upload sends a copy made to fit, the original is kept",)
    return ImageAnalysis(
        candidate=candidate,
        width=result.width,
        height=result.height,
        format=result.format,
        sha256=result.sha256,
        file_bytes=result.file_bytes,
        jpeg_quality=result.jpeg_quality,
        encoding_quality=result.encoding_quality,
        orientation=result.orientation,
        mode=result.mode,
        notes=notes,
        measurements=m,
        checks=tuple(checks),
        print=fingerprint(gray, thumb),
        faces=findings,
    )


def _face_sharpness_at_full_detail(result: DecodedImage, findings: FaceFindings) -> FaceFindings:
    """Measure the main face's sharpness on a finer copy when the reduced one is too coarse.

    The face's region is measured with its longer side at least `FACE_MIN_MEASURED_SIDE`
    px where the photo has that much. A large JPEG's reduced copy can hold it at a
    fraction of that (1/8 DCT scaling), where a blurred face looks sharp; then the file
    is decoded again at the coarsest scale that holds the region at that size, so a JPEG
    and a PNG of the same pixels get the same verdict.
    """
    main = findings.main
    if main is None or result.source is None:
        return findings
    full_side = region_side(main)
    if full_side / result.scale >= FACE_MIN_MEASURED_SIDE:
        return findings
    wanted = min(1.0, FACE_MIN_MEASURED_SIDE / full_side)
    finer = result.finer_gray(math.ceil(min(result.width, result.height) * wanted))
    if finer is None:
        return findings
    per_full = max(finer.size) / max(result.width, result.height)
    gray = np.asarray(finer, dtype=np.uint8)
    measured = face_sharpness(gray, main.scaled(per_full), per_full)
    return replace(findings, face_sharpness=measured)


def analyze(candidate: Candidate, policy: Policy, *, keep_packed: bool = False) -> ImageAnalysis:
    """Decode a candidate file once and analyse it; never raises for a bad file.

    The fingerprint comes back compact (no pixels, ~10 KB): a pair verification decodes
    the file again by its path (see `inspection.detail`). With `keep_packed` it also
    carries its pixels packed (~120 KB more), which such a verification unpacks instead.
    """
    a = _analyze_safely(candidate, decode_path(candidate.path, policy), policy)
    with contextlib.suppress(OSError):  # gone since it was read: no age to compare
        a = replace(a, mtime_ns=candidate.path.stat().st_mtime_ns)
    if a.print is None or a.sha256 is None:
        return a
    source = Source(str(candidate.path.absolute()), a.sha256, policy.analysis_side)
    return replace(a, print=a.print.compact(source, keep_packed=keep_packed))


def analyze_bytes(data: bytes, name: str, policy: Policy, kind: str = "face") -> ImageAnalysis:
    """Analyse image bytes that never touched the disk (e.g. a downloaded render); never
    raises for bad data."""
    image_type = FACE_IMAGE_TYPE if kind == "face" else body_image_type("front")
    candidate = Candidate(Path(name), name, "face" if kind == "face" else "body", image_type)
    return _analyze_safely(candidate, decode_bytes(data, policy, name=name), policy)


def _analyze_safely(
    candidate: Candidate, decoded: DecodedImage | DecodeFailure, policy: Policy
) -> ImageAnalysis:
    try:
        return analyze_decoded(candidate, decoded, policy)
    except (cv2.error, ValueError, MemoryError) as exc:
        # The file decoded, but an image this odd broke a measurement: still a verdict,
        # never a traceback, and the message says it is worth reporting.
        reason = Reason(
            ReasonCode.UNREADABLE,
            f"decoded, but could not be analysed ({type(exc).__name__}: {exc}); "
            "please report this file",
        )
        return _failed(candidate, decoded, reason)


def _failed(
    candidate: Candidate, decoded: DecodedImage | DecodeFailure, reason: Reason
) -> ImageAnalysis:
    """The analysis of an image that gets no measurements: what the decode learnt."""
    return ImageAnalysis(
        candidate=candidate,
        width=decoded.width,
        height=decoded.height,
        format=decoded.format,
        sha256=decoded.sha256,
        file_bytes=decoded.file_bytes,
        failure=reason,
    )


def spread_vector(a: ImageAnalysis) -> np.ndarray:
    """A unit vector describing what an image looks like, for choosing a varied set."""
    p = a.print
    if p is None:
        return np.zeros(64 + 64, dtype=np.float32)
    bits = np.array([(p.phash >> i) & 1 for i in range(64)], dtype=np.float32) * 2 - 1
    v = np.concatenate([bits / 8.0, p.palette])
    out: np.ndarray = v / (np.linalg.norm(v) + 1e-9)
    return out
