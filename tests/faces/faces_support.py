"""Paths and loaders for the face test photos (imported by the tests and conftest)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[2]
# CI clones the repository with shared/ as a sibling of the clone.
SHARED_FACES = REPO_ROOT.parent / "shared" / "corpora" / "faces"
LOCAL_DATA = Path(__file__).resolve().parent / "data"

CORPUS = (
    "person_a_1.jpg",
    "person_a_2.jpg",
    "person_b_1.jpg",
    "person_b_2.jpg",
    "impostor_1.jpg",
    "impostor_2.jpg",
)

RGB = npt.NDArray[np.uint8]


def load_rgb(path: Path) -> RGB:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def photo_path(name: str) -> Path:
    """A corpus photo: the shared corpus first, then the public-domain copies here."""
    for folder in (SHARED_FACES, LOCAL_DATA):
        if (folder / name).is_file():
            return folder / name
    pytest.skip(f"{name} not available ({SHARED_FACES} is absent)")
