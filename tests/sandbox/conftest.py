"""Fixtures for sandbox tests: served sandboxes on a fake clock and API clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from animus_prep.sandbox import close_app, create_app, serve_in_thread

from .support import KEY, OTHER_KEY, SANDBOX_START, FakeClock, api_client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(SANDBOX_START)


@pytest.fixture
def sandbox(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[FastAPI, str]]:
    """A served sandbox on a fake clock: (app, base_url)."""
    app = create_app(
        data_dir=tmp_path / "data",
        api_keys={KEY: 1000, OTHER_KEY: 1000},
        seed=7,
        defect_rate=0.3,
        clock=clock,
    )
    try:
        with serve_in_thread(app) as base_url:
            yield app, base_url
    finally:
        close_app(app)


@pytest.fixture
def client(sandbox: tuple[FastAPI, str]) -> Iterator[httpx.Client]:
    with api_client(sandbox[1]) as c:
        yield c
