"""`create_app`: the Animus v2 API as a FastAPI application."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI

from . import (
    routes_assets,
    routes_augment,
    routes_characters,
    routes_dataset,
    routes_generation,
    routes_training,
)
from .context import Sandbox
from .errors import install_error_handlers
from .faults import FaultInjector, FaultPlan, parse_faults
from .limits import BodyLimit
from .settings import DEFAULT_API_KEY, DEFAULT_CREDITS, SandboxSettings
from .worker import Materializer, Worker

API_PREFIX = "/v2"


def create_app(
    data_dir: str | Path | None = None,
    api_keys: Mapping[str, float] | None = None,
    seed: int = 0,
    time_scale: float = 1.0,
    defect_rate: float = 0.2,
    faults: str = "",
    training_failure_rate: float = 0.0,
    clock: Callable[[], float] | None = None,
) -> FastAPI:
    """Build a sandbox app serving the Animus v2 API under `/v2`.

    `data_dir` holds the SQLite database and every stored image; reusing it keeps all
    state across restarts (default: a new temporary folder, removed by `close_app`).
    `api_keys` maps each key to its starting credits; every key is its own
    organization. `clock` replaces `time.time` (tests use it to step time).

    Renders are produced by a background thread while the lifespan runs (under uvicorn,
    see `serve_in_thread`) and on demand by the requests that read them otherwise. For
    synchronous in-process calls use `SyncASGITransport(app)` with an `httpx.Client`;
    `httpx.ASGITransport(app=app)` works with `httpx.AsyncClient`. Call `close_app` when
    done.
    """
    temp: str | None = None
    if data_dir is None:
        temp = data_dir = tempfile.mkdtemp(prefix="animus-sandbox-")
    try:
        settings = SandboxSettings(
            data_dir=Path(data_dir),
            api_keys=dict({DEFAULT_API_KEY: DEFAULT_CREDITS} if api_keys is None else api_keys),
            seed=seed,
            time_scale=time_scale,
            defect_rate=defect_rate,
            faults=faults,
            training_failure_rate=training_failure_rate,
            **({"clock": clock} if clock is not None else {}),
        )
        fault_plan = FaultPlan(parse_faults(faults), seed)
        sandbox = Sandbox(settings)
    except BaseException:
        if temp is not None:  # refused settings leave no temporary folder behind
            shutil.rmtree(temp, ignore_errors=True)
        raise
    materializer = Materializer(sandbox)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = Worker(materializer)
        worker.start()
        try:
            yield
        finally:
            worker.stop()

    app = FastAPI(
        title="Animus API (sandbox)",
        version="2.0.0",
        description="Local stand-in for the Animus v2 character pipeline API.",
        lifespan=lifespan,
    )
    app.state.sandbox = sandbox
    app.state.materializer = materializer
    app.state.temp_dir = temp
    install_error_handlers(app)
    api = APIRouter(prefix=API_PREFIX)
    # Fixed paths first: `/{character_id}/...` would otherwise shadow `/characters/...`.
    for module in (
        routes_characters,
        routes_augment,
        routes_generation,
        routes_dataset,
        routes_training,
    ):
        api.include_router(module.router)
    api.include_router(routes_assets.files_router)
    api.include_router(routes_assets.router)
    app.include_router(api)
    app.add_middleware(BodyLimit)
    if fault_plan.faults:
        app.add_middleware(FaultInjector, plan=fault_plan)
    return app


def close_app(app: FastAPI) -> None:
    """Release the database and the temporary data folder of an app (idempotent)."""
    sandbox: Sandbox = app.state.sandbox
    sandbox.close()
    temp: str | None = app.state.temp_dir
    if temp is not None:
        shutil.rmtree(temp, ignore_errors=True)
        app.state.temp_dir = None
