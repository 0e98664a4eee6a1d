"""Shared fixtures: where the optional shared corpora live (absent in a user's clone)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    """The shared corpora folder beside the clone, or None when it is not there."""
    env = os.environ.get("ANIMUS_PREP_SHARED")
    path = Path(env) if env else REPO.parent / "shared"
    return path if (path / "corpora").is_dir() else None


@pytest.fixture
def shared() -> Path:
    path = shared_dir()
    if path is None:
        pytest.skip("the shared corpora (../shared) are not present in this checkout")
    return path
