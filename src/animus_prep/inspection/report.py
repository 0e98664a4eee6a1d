"""The pre-flight report: per-image verdicts, a summary, and its JSON form.

The JSON document (schema `animus-prep.report/1`) is a public contract that other tools
parse: fields are only ever added, never renamed or removed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..faces.types import Face
from ..policy import Policy
from ..reasons import Reason, ReasonCode
from .fingerprint import Fingerprint

SCHEMA = "animus-prep.report/1"

MetricValue = float | int | str | bool | None


@dataclass(frozen=True, slots=True)
class ImageReport:
    """The verdict on one file."""

    path: str
    """Relative to the report's root, with forward slashes."""
    kind: str | None
    image_type: str | None
    reasons: tuple[Reason, ...]
    width: int | None = None
    height: int | None = None
    format: str | None = None
    sha256: str | None = None
    metrics: Mapping[str, MetricValue] = field(default_factory=dict)
    duplicate_of: str | None = None
    duplicate_mirrored: bool = False
    """Whether this duplicate is `duplicate_of`'s picture flipped left to right."""
    notes: tuple[str, ...] = ()
    faces: tuple[Face, ...] | None = None
    """Detected faces (full-resolution pixels, largest first), or None when not checked."""
    identity_score: float | None = None
    embedding: np.ndarray | None = field(default=None, repr=False, compare=False)
    """Identity embedding of the main face (face photos, and body photos whose face is
    clear enough to recognise; not part of the JSON)."""
    fingerprint: Fingerprint | None = field(default=None, repr=False, compare=False)
    """Hashes, a preview and where the pixels are, to recognise copies of this photo later
    (`dedup.verify_pair`) and show it (`thumbnail`); not part of the JSON."""

    @property
    def thumbnail(self) -> np.ndarray | None:
        """Small upright RGB copy (uint8, longer side 192 px) for visual reports, decoded
        on demand from the fingerprint's preview (not part of the JSON)."""
        return None if self.fingerprint is None else self.fingerprint.thumbnail

    @property
    def accepted(self) -> bool:
        """Whether the image passed every check (no reasons against it)."""
        return not self.reasons

    @property
    def codes(self) -> tuple[ReasonCode, ...]:
        """The codes of `reasons`, in order."""
        return tuple(r.code for r in self.reasons)

    def to_json(self) -> dict[str, Any]:
        """One entry of the JSON report's ``images`` list."""
        out: dict[str, Any] = {
            "path": self.path,
            "kind": self.kind,
            "image_type": self.image_type,
            "accepted": self.accepted,
            "reasons": [r.to_json() for r in self.reasons],
            "width": self.width,
            "height": self.height,
            "format": self.format,
            "sha256": self.sha256,
            "metrics": dict(self.metrics),
            "duplicate_of": self.duplicate_of,
            "duplicate_mirrored": self.duplicate_mirrored,
            "notes": list(self.notes),
            # Always present: null when faces were not looked for (faces off, an
            # unreadable file, a file outside face/ and body/), [] when none was found.
            "faces": None if self.faces is None else [f.to_json() for f in self.faces],
            "identity_score": (
                None if self.identity_score is None else round(self.identity_score, 4)
            ),
        }
        return out


@dataclass(frozen=True, slots=True)
class Report:
    """The pre-flight of one folder."""

    root: str
    policy: Policy
    images: tuple[ImageReport, ...]
    warnings: tuple[str, ...] = ()
    identity: np.ndarray | None = field(default=None, repr=False, compare=False)
    """The character's identity (an SFace embedding: the reference photos', or the person
    most face photos show), when one was found; not part of the JSON."""

    @property
    def accepted(self) -> tuple[ImageReport, ...]:
        """The images that passed, in report order."""
        return tuple(i for i in self.images if i.accepted)

    @property
    def rejected(self) -> tuple[ImageReport, ...]:
        """The images rejected for at least one reason, in report order."""
        return tuple(i for i in self.images if not i.accepted)

    def image(self, path: str) -> ImageReport:
        """The verdict for one relative path (KeyError when absent)."""
        for img in self.images:
            if img.path == path:
                return img
        raise KeyError(path)

    def rejected_by_reason(self) -> dict[str, int]:
        """How many images each reason code rejected (an image may count under several)."""
        counts = Counter(code.value for img in self.images for code in img.codes)
        return dict(sorted(counts.items()))

    def summary(self) -> dict[str, Any]:
        """The counts the JSON report carries under ``summary`` (a method here, a key
        there): total, accepted, rejected, ``rejected_by_reason`` and ``by_kind``."""
        by_kind: dict[str, dict[str, int]] = {}
        for img in self.images:
            entry = by_kind.setdefault(img.kind or "unclassified", {"total": 0, "accepted": 0})
            entry["total"] += 1
            entry["accepted"] += int(img.accepted)
        return {
            "total": len(self.images),
            "accepted": len(self.accepted),
            "rejected": len(self.rejected),
            "rejected_by_reason": self.rejected_by_reason(),
            "by_kind": by_kind,
        }

    def to_json(self) -> dict[str, Any]:
        """The JSON report (`animus-prep.report/1`) as a dict."""
        return {
            "schema": SCHEMA,
            "root": self.root,
            "policy": self.policy.to_json(),
            "images": [img.to_json() for img in self.images],
            "summary": self.summary(),
            "warnings": list(self.warnings),
        }

    def dumps(self, indent: int | None = 2) -> str:
        """The JSON report (`to_json`) as text, as `animus-prep check --json` prints it."""
        return json.dumps(self.to_json(), indent=indent, ensure_ascii=False, allow_nan=False)
