"""Fixtures for every test: the optional shared corpora (absent in a user's clone), and a
state folder of its own (commands without a character folder keep their journal there)."""

from __future__ import annotations

from pathlib import Path

import pytest

from animus_prep.pipeline.journal import STATE_DIR_VARIABLE
from corpora import ENV, shared_dir


@pytest.fixture(autouse=True)
def state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own user state folder: none writes to the real one."""
    path = tmp_path_factory.mktemp("state")
    monkeypatch.setenv(STATE_DIR_VARIABLE, str(path))
    return path


@pytest.fixture
def shared() -> Path:
    """The shared corpora folder; the test is skipped when it is absent."""
    path = shared_dir()
    if path is None:
        pytest.skip(f"the shared corpora (../shared, or ${ENV}) are not present")
    return path
