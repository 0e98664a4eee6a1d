"""Every threshold of the pre-flight in one place, loadable from a TOML or JSON file."""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from . import server_rules

FOLDER_FILE = "animus-prep.toml"
"""The policy file looked for in the character folder (see `config`)."""
PYPROJECT = "pyproject.toml"
"""The project file whose ``[tool.animus-prep]`` table may hold the policy."""

FACE_CAP = server_rules.MAX_FACE_IMAGES
BODY_CAP = server_rules.MAX_BODY_IMAGES


class PolicyError(ValueError):
    """A policy file or value that cannot be used."""


@dataclass(frozen=True, slots=True)
class Policy:
    """Thresholds for every check. The defaults follow the Animus server's own rules."""

    # Size and decoding.
    min_side: int = server_rules.MIN_FACE_SIDE
    """Shorter side in pixels, after EXIF orientation, below which an image is too small
    (the server's minimum for face images; held for body photos too, for training)."""
    upscaled: bool = True
    """Reject photos enlarged from one whose shorter side is under `min_side` (their real
    resolution is that photo's)."""
    max_pixels: int = 120_000_000
    """Pixel count above which a file is refused before decoding (decompression bombs)."""
    max_file_bytes: int = 50 * 1024 * 1024
    """File size above which a file is refused without reading it."""
    server_max_pixels: int = server_rules.MAX_UPLOAD_PIXELS
    """Most pixels the server takes: a photo over it is `too_large`, unless `fix`."""
    server_max_bytes: int = server_rules.MAX_UPLOAD_BYTES
    """Largest file the server takes: a photo over it is `too_large`, unless `fix`."""
    server_min_sharpness: float = server_rules.MIN_SHARPNESS
    """The server's sharpness rule (see `server_rules.sharpness_score`): a photo under it
    is refused by the server, so it is `blurry` here."""
    fix: bool = False
    """Accept photos over the server's pixel or byte limit: uploads send a copy downscaled
    and re-encoded to fit (the original is never touched). The `--fix` option."""
    max_decoded_bytes: int = 1024 * 1024 * 1024
    """Memory a file's decode may hold at its peak, counted from its header (bit depth,
    channels, conversions, a progressive JPEG's coefficients) and refused over this before
    any pixel is decoded; it holds in each worker process."""
    max_aspect_ratio: float = 8.0
    """Longer side over shorter side above which a file is refused before decoding (a
    strip, not a photo)."""
    min_jpeg_quality: int = 30
    """Least JPEG quality (libjpeg's scale, estimated from the file's quantisation table)
    of a photo: under it, its 8x8 blocks and smeared colour would be learnt. 0: no check."""
    max_noise: float = 5.0
    """Noise (standard deviation, grey levels, measured on the 512 px analysis copy) over
    which a photo is `noisy`: its grain would be learnt. 89 real photos of people measure
    0.5-3.5, the same with sensor noise of 30 grey levels added 4-8.4. 0: no check."""
    max_border: float = 0.03
    """Share of its side that a flat black or white bar along one edge of a photo may
    cover (letterboxing, a video frame's bars, a mount, a scan's margin); a wider one is
    `bordered`. 1: no check."""

    # Sharpness, measured on a copy whose shorter side is `analysis_side` pixels.
    max_edge_width: float = 1.28
    """Estimated blur (Gaussian sigma, in pixels at the analysis scale) of the sharpest edges."""
    analysis_side: int = 512

    # Exposure, on luma (0-255), from robust percentiles.
    dark_p90: float = 64.0
    """Too dark when even the 90th percentile of luma is below this."""
    bright_p10: float = 205.0
    """Too bright when even the 10th percentile of luma is above this."""
    max_clipped_fraction: float = 0.45
    """Too bright when more than this share of pixels is blown out (luma >= 250). When a
    face is found, exposure is judged on the face instead (a white studio background may
    be blown out): the percentiles above apply to the face's own region, and
    `max_face_clipped_fraction` to its blown-out share."""
    max_face_clipped_fraction: float = 0.2
    """Too bright when more than this share of the face's own region is blown out."""

    # Duplicates.
    duplicate_hash_distance: int = 26
    """Hamming distance (of 64 bits) under which two images become a duplicate candidate.
    Above 4,096 photos in one folder, candidates are searched within 11 bits at most."""
    duplicate_min_similarity: float = 0.8
    """Correlation of the aligned images above which a candidate pair is a duplicate."""

    # Caps per character, as the server enforces them.
    face_cap: int = FACE_CAP
    body_cap: int = BODY_CAP

    # Faces.
    faces: bool = True
    """Run the face checks (needs onnxruntime)."""
    identity: bool = True
    """Compare face photos' identities (an SFace embedding per face photo, and per body
    photo whose face is clear enough to recognise)."""
    rotated: bool = True
    """Look for photos turned sideways or upside down (a missing or wrong EXIF
    orientation) when their face is unsure or missing (three more detections each), or
    embeds weakly (one more detection and embedding, with `identity` on)."""
    face_min_score: float = 0.6
    """Detector confidence below which a detection is ignored."""
    second_face_min_score: float = 0.8
    """A second face must be at least this confident: patterned clothes can fool the detector."""
    second_face_min_ratio: float = 0.35
    """A second face counts when its box side is at least this share of the main face's."""
    max_face_edge_width: float = 2.5
    """Blur limit (Gaussian sigma, px) of the main face's own region (eyes, nose, mouth,
    cheeks) as a trainer sees it: in a face crop of `training_side` px. Face photos only."""
    training_side: int = 1024
    """Side of the square face crop a LoRA trainer trains on: faces are judged for blur at
    the size they have there."""
    face_crop_side: int = 512
    """Side of the face crop the trainer needs without upscaling."""
    face_crop_margin: float = 0.6
    """Margin around the face box, as a share of the box side, on each side of the crop."""
    max_face_outside: float = 0.08
    """Share of the main face's own region (eyes, brows, nose, mouth, cheeks) that may lie
    outside the frame of a face photo; more is `face_cut_off`. Sharp real portraits,
    tight headshots included, have none outside; a face cut at the eyes, the nose or its
    middle has 0.1-0.46."""
    identity_threshold: float = 0.363
    """Cosine similarity under which a face is another person (OpenCV's SFace threshold)."""
    identity_min_faces: int = 3
    """Faces needed to infer the dominant identity of a set without reference photos."""
    close_up_face_share: float = 0.33
    """A body photo whose main face is taller than this share of the photo is a close-up
    of the face: noted, and warned of when it is accepted (it is not rejected). Portraits
    of head and shoulders measure 0.35-0.77, photos to the waist or more 0.15-0.29.
    1: never."""
    mirrored_duplicates: bool = True
    """Whether a photo that is another's picture flipped left to right (resized, saved
    again or cropped a little) is a `duplicate` of it, the better of the two kept."""
    monochrome_saturation: float = 20.0
    """A photo 90% of whose lit pixels are less saturated than this (percent: the largest
    minus the smallest of R, G and B, over the largest) is black and white, or nearly:
    noted, and warned of when accepted (it is not rejected). Colour photos of people
    measure 39 or more (21 or more with half their colour taken away), a black-and-white
    print 0-17. A face found and at least 26% saturated (or this, if more) makes the
    photo colour whatever the whole picture measures. 0: never."""

    def __post_init__(self) -> None:
        for f in fields(self):
            _check_type(self, f.name, type(f.default))
        for name in (
            "min_side",
            "max_pixels",
            "max_file_bytes",
            "max_decoded_bytes",
            "server_max_pixels",
            "server_max_bytes",
            "analysis_side",
            "max_edge_width",
            "max_face_edge_width",
            "face_crop_side",
            "training_side",
            "identity_min_faces",
        ):
            if getattr(self, name) <= 0:
                raise PolicyError(f"{name} must be positive")
        for name in (
            "server_min_sharpness",
            "face_crop_margin",
            "second_face_min_ratio",
            "max_noise",
        ):
            if getattr(self, name) < 0:
                raise PolicyError(f"{name} must not be negative")
        if self.max_aspect_ratio < 1:
            raise PolicyError("max_aspect_ratio must be at least 1")
        if self.face_cap < 0 or self.body_cap < 0:
            raise PolicyError("caps must not be negative")
        if not 0 <= self.min_jpeg_quality <= 100:
            raise PolicyError("min_jpeg_quality must be in [0, 100] (libjpeg's quality scale)")
        if not 0 < self.close_up_face_share <= 1:
            raise PolicyError("close_up_face_share must be in (0, 1] (a share of the height)")
        if not 0 <= self.monochrome_saturation <= 100:
            raise PolicyError("monochrome_saturation must be in [0, 100] (percent)")
        if not 0 <= self.max_border <= 1:
            raise PolicyError("max_border must be in [0, 1] (a share of the photo's side)")
        if not 0 <= self.max_face_outside <= 1:
            raise PolicyError("max_face_outside must be in [0, 1] (a share of the face)")
        for name in ("max_clipped_fraction", "max_face_clipped_fraction"):
            if not 0 < getattr(self, name) <= 1:
                raise PolicyError(f"{name} must be in (0, 1]")
        for name in ("face_min_score", "second_face_min_score"):
            if not 0 <= getattr(self, name) <= 1:
                raise PolicyError(f"{name} must be in [0, 1] (a detector score)")
        for name in ("identity_threshold", "duplicate_min_similarity"):
            if not -1 <= getattr(self, name) <= 1:
                raise PolicyError(f"{name} must be in [-1, 1]")
        for name in ("dark_p90", "bright_p10"):
            if not 0 <= getattr(self, name) <= 255:
                raise PolicyError(f"{name} must be in [0, 255] (a luma level)")
        if self.dark_p90 > self.bright_p10:
            raise PolicyError(
                f"dark_p90 ({self.dark_p90}) must not be above bright_p10 ({self.bright_p10}): "
                "a photo would be too dark and too bright at once"
            )
        if not 0 <= self.duplicate_hash_distance <= 64:
            raise PolicyError("duplicate_hash_distance must be in [0, 64] (bits of 64)")

    def cap_for(self, kind: str) -> int:
        """The upload cap for a kind of image (`face` or `body`)."""
        return self.face_cap if kind == "face" else self.body_cap

    def caps_over_the_server(self) -> str | None:
        """Why these caps cannot be uploaded by (a cap over what the server takes per
        character: the photos past it would be refused), or None. A check may lift them
        (every photo judged, none left out for the cap); an upload may not."""
        over = [
            f"{kind}_cap {cap} is over the {limit} {kind} photos the server takes"
            for kind, cap, limit in (
                ("face", self.face_cap, server_rules.MAX_FACE_IMAGES),
                ("body", self.body_cap, server_rules.MAX_BODY_IMAGES),
            )
            if cap > limit
        ]
        return "; ".join(over) or None

    def to_json(self) -> dict[str, Any]:
        """Every setting by name (the JSON report's ``policy``)."""
        return asdict(self)

    def with_overrides(self, values: dict[str, Any]) -> Policy:
        """A copy with `values` applied; unknown names and wrong types raise PolicyError."""
        known = {f.name for f in fields(self)}
        for key in values:
            if key not in known:
                raise PolicyError(f"unknown policy setting {key!r}")
        return replace(self, **values)

    @classmethod
    def from_file(cls, path: str | Path) -> Policy:
        """Load a policy from TOML (``*.toml``) or JSON; missing settings keep their defaults."""
        return cls().with_overrides(read_settings(path))


def policy_or_default(policy: object) -> Policy:
    """The policy a library call was given (the default for None); TypeError for anything
    else, e.g. a dict of settings (``Policy().with_overrides(settings)`` makes one)."""
    if policy is None:
        return Policy()
    if not isinstance(policy, Policy):
        hint = ""
        if isinstance(policy, dict):
            hint = ": make one with Policy().with_overrides(settings)"
        raise TypeError(f"policy must be an animus_prep.Policy, got {type(policy).__name__}{hint}")
    return policy


def read_settings(path: str | Path) -> dict[str, Any]:
    """The settings a TOML (``*.toml``) or JSON policy file sets (PolicyError if unusable)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read policy file {path}: {exc}") from exc
    try:
        data: Any = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, RecursionError) as exc:  # JSON and TOML syntax, oversized numbers
        raise PolicyError(f"cannot parse policy file {path}: {exc}") from exc
    return settings_in(data, str(path))


def settings_in(data: Any, source: str) -> dict[str, Any]:
    """The policy settings of a parsed file: its top-level keys, or its ``[policy]`` table
    (not both); ``source`` names the file in errors."""
    if isinstance(data, dict) and isinstance(data.get("policy"), dict):
        others = sorted(k for k in data if k != "policy")
        if others:
            raise PolicyError(
                f"policy file {source} has settings both inside and outside its [policy] "
                f"table ({', '.join(others)}); put them all in one place"
            )
        data = data["policy"]
    if not isinstance(data, dict):
        raise PolicyError(f"policy file {source} must hold a table of settings")
    return data


def _check_type(policy: Policy, name: str, kind: type) -> None:
    """Refuse a value of the wrong type for a setting (PolicyError); a whole number given
    for a decimal setting is stored as a float."""
    value = getattr(policy, name)
    if kind is bool:
        if not isinstance(value, bool):
            raise PolicyError(f"{name} must be true or false, got {value!r}")
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise PolicyError(f"{name} must be a whole number, got {value!r}")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PolicyError(f"{name} must be a number, got {value!r}")
        try:
            number = float(value)
        except OverflowError:
            raise PolicyError(f"{name} is too large") from None
        if not math.isfinite(number):
            raise PolicyError(f"{name} must be a finite number, got {value}")
        object.__setattr__(policy, name, number)
