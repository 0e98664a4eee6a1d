"""Shared fixtures: every client test runs against both Client and AsyncClient."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    """Runs the test once with Client and once with AsyncClient."""
    return str(request.param)


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests decide the key and base URL explicitly; a developer's shell must not leak in.
    monkeypatch.delenv("ANIMUS_API_KEY", raising=False)
    monkeypatch.delenv("ANIMUS_BASE_URL", raising=False)
