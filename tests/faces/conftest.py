"""Shared fixtures for the face tests: real models, real photos."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from animus_prep.faces import SFaceEmbedder, YuNetDetector
from photos import RGB, face_photo_path, load_rgb


@pytest.fixture(scope="session")
def detector() -> YuNetDetector:
    return YuNetDetector()


@pytest.fixture(scope="session")
def embedder() -> SFaceEmbedder:
    return SFaceEmbedder()


@pytest.fixture(scope="session")
def photo() -> Callable[[str], RGB]:
    cache: dict[str, RGB] = {}

    def get(name: str) -> RGB:
        if name not in cache:
            cache[name] = load_rgb(face_photo_path(name))
        return cache[name]

    return get
