"""Configuration of one sandbox instance and the prices it charges."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .. import server_rules

DEFAULT_API_KEY = "sk-sandbox"
DEFAULT_CREDITS = 1000.0

# Prices in credits. The contract fixes only the face augmentation price; the others are
# the sandbox's own choice, kept in one place so tests and docs agree.
PRICE_FACE_AUGMENTATION = 0.5  # per synthesized face, charged up front
PRICE_FACE_LORA = 30.0
PRICE_BODY_LORA = 45.0
PRICE_GENERATION_IMAGE = 1.0  # per requested image
PRICE_DATASET_GENERATION = 0.0  # dataset renders and regenerations are included

# The rules for reference photos are the server's, shared with the pre-flight's policy.
MAX_FACE_IMAGES = server_rules.MAX_FACE_IMAGES
MAX_BODY_IMAGES = server_rules.MAX_BODY_IMAGES
MIN_FACE_SIDE = server_rules.MIN_FACE_SIDE
MIN_BODY_SIDE = server_rules.MIN_BODY_SIDE
MAX_UPLOAD_BYTES = server_rules.MAX_UPLOAD_BYTES
MAX_UPLOAD_PIXELS = server_rules.MAX_UPLOAD_PIXELS
MIN_FACE_IMAGES_FOR_TRAINING = 5
DATASET_MIN_REQUIRED = 10
DATASET_MAX_ALLOWED = 50


@dataclass(frozen=True)
class SandboxSettings:
    """Everything that makes one sandbox behave the way it does.

    `time_scale` speeds up the simulated clock: 60 turns a one-hour training into a
    one-minute one. `defect_rate` is the share of dataset renders that carry a defect a
    reviewer must catch. `faults` is a spec string (see `animus_prep.sandbox.faults`).
    `training_failure_rate` is the share of training jobs that end in `failed`.
    """

    data_dir: Path
    api_keys: Mapping[str, float] = field(default_factory=lambda: {DEFAULT_API_KEY: 1000.0})
    seed: int = 0
    time_scale: float = 1.0
    defect_rate: float = 0.2
    faults: str = ""
    training_failure_rate: float = 0.0
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        if not 0 < self.time_scale < math.inf:
            raise ValueError("time_scale must be a positive, finite number")
        if not 0.0 <= self.defect_rate <= 1.0:
            raise ValueError("defect_rate must be within [0, 1]")
        if not 0.0 <= self.training_failure_rate <= 1.0:
            raise ValueError("training_failure_rate must be within [0, 1]")
        if not self.api_keys:
            raise ValueError("at least one API key is required")
        for key, credits in self.api_keys.items():
            if not key or any(c.isspace() for c in key):
                raise ValueError(f"invalid API key {key!r}")
            if not 0 <= credits < math.inf:
                raise ValueError("credits must be a finite number >= 0")
