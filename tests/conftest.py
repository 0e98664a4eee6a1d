"""Fixtures for every test: the optional shared corpora (absent in a user's clone)."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpora import ENV, shared_dir


@pytest.fixture
def shared() -> Path:
    """The shared corpora folder; the test is skipped when it is absent."""
    path = shared_dir()
    if path is None:
        pytest.skip(f"the shared corpora (../shared, or ${ENV}) are not present")
    return path
