"""Every threshold of the pre-flight in one place, loadable from a TOML or JSON file."""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

FACE_CAP = 20
BODY_CAP = 40


class PolicyError(ValueError):
    """A policy file or value that cannot be used."""


@dataclass(frozen=True, slots=True)
class Policy:
    """Thresholds for every check. The defaults follow the Animus server's own rules."""

    # Size and decoding.
    min_side: int = 512
    """Shorter side in pixels, after EXIF orientation, below which an image is too small."""
    max_pixels: int = 120_000_000
    """Pixel count above which a file is refused before decoding (decompression bombs)."""
    max_file_bytes: int = 50 * 1024 * 1024
    """File size above which a file is refused without reading it."""

    # Sharpness, measured on a copy whose shorter side is `analysis_side` pixels.
    max_edge_width: float = 1.28
    """Estimated blur (Gaussian sigma, in pixels at the analysis scale) of the sharpest edges."""
    analysis_side: int = 512

    # Exposure, on luma (0-255), from robust percentiles.
    dark_p90: float = 55.0
    """Too dark when even the 90th percentile of luma is below this."""
    bright_p10: float = 205.0
    """Too bright when even the 10th percentile of luma is above this."""
    max_clipped_fraction: float = 0.45
    """Too bright when more than this share of pixels is blown out (luma >= 250)."""

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
    """Compare face photos' identities (an SFace embedding per face photo)."""
    face_min_score: float = 0.6
    """Detector confidence below which a detection is ignored."""
    second_face_min_score: float = 0.8
    """A second face must be at least this confident: patterned clothes can fool the detector."""
    second_face_min_ratio: float = 0.35
    """A second face counts when its box side is at least this share of the main face's."""
    max_face_edge_width: float = 1.8
    """Blur limit of the main face's region (judged with the face at 256 px), for face photos."""
    face_crop_side: int = 512
    """Side of the face crop the trainer needs without upscaling."""
    face_crop_margin: float = 0.6
    """Margin around the face box, as a share of the box side, on each side of the crop."""
    identity_threshold: float = 0.363
    """Cosine similarity under which a face is another person (OpenCV's SFace threshold)."""
    identity_min_faces: int = 3
    """Faces needed to infer the dominant identity of a set without reference photos."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise PolicyError(f"{f.name} must be a finite number, got {value}")
        for name in (
            "min_side",
            "max_pixels",
            "max_file_bytes",
            "analysis_side",
            "max_edge_width",
            "max_face_edge_width",
            "face_crop_side",
        ):
            if getattr(self, name) <= 0:
                raise PolicyError(f"{name} must be positive")
        if self.face_cap < 0 or self.body_cap < 0:
            raise PolicyError("caps must not be negative")
        if not 0 < self.max_clipped_fraction <= 1:
            raise PolicyError("max_clipped_fraction must be in (0, 1]")
        if not -1 <= self.identity_threshold <= 1:
            raise PolicyError("identity_threshold must be in [-1, 1]")
        if not 0 <= self.duplicate_hash_distance <= 64:
            raise PolicyError("duplicate_hash_distance must be in [0, 64] (bits of 64)")

    def cap_for(self, kind: str) -> int:
        """The upload cap for a kind of image (`face` or `body`)."""
        return self.face_cap if kind == "face" else self.body_cap

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def with_overrides(self, values: dict[str, Any]) -> Policy:
        """A copy with `values` applied; unknown names and wrong types raise PolicyError."""
        known = {f.name: f for f in fields(self)}
        clean: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known:
                raise PolicyError(f"unknown policy setting {key!r}")
            current = getattr(self, key)
            if isinstance(current, bool):
                if not isinstance(value, bool):
                    raise PolicyError(f"{key} must be true or false")
            elif isinstance(current, int):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise PolicyError(f"{key} must be a whole number")
            elif isinstance(current, float):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise PolicyError(f"{key} must be a number")
                try:
                    value = float(value)
                except OverflowError:
                    raise PolicyError(f"{key} is too large") from None
            clean[key] = value
        return replace(self, **clean)

    @classmethod
    def from_file(cls, path: str | Path) -> Policy:
        """Load a policy from TOML (``*.toml``) or JSON; missing settings keep their defaults."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"cannot read policy file {path}: {exc}") from exc
        try:
            data: Any = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
        except (ValueError, RecursionError) as exc:  # JSON and TOML syntax, oversized numbers
            raise PolicyError(f"cannot parse policy file {path}: {exc}") from exc
        if isinstance(data, dict) and isinstance(data.get("policy"), dict):
            others = sorted(k for k in data if k != "policy")
            if others:
                raise PolicyError(
                    f"policy file {path} has settings both inside and outside its [policy] "
                    f"table ({', '.join(others)}); put them all in one place"
                )
            data = data["policy"]
        if not isinstance(data, dict):
            raise PolicyError(f"policy file {path} must hold a table of settings")
        return cls().with_overrides(data)
