"""`--scheduler tcp://HOST:PORT`: the per-file work on a dask.distributed cluster.

The workers read the photos by path, so they must see them at the same absolute paths as
this machine (shared storage), and they must run the same version of animus-prep (the
tasks are its functions). Both are checked before any work is sent.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from .. import __version__
from .common import UsageError, process_pool

CONNECT_TIMEOUT = 20.0
"""Seconds to reach the scheduler and get its workers' answers."""


def _worker_facts(paths: list[str]) -> dict[str, Any]:
    """Run on each worker: its animus-prep version and which of `paths` it can see."""
    import animus_prep

    return {
        "version": animus_prep.__version__,
        "missing": [p for p in paths if not os.path.exists(p)],
    }


@contextlib.contextmanager
def cluster_executor(address: str, shared: list[Path]) -> Iterator[Executor]:
    """An executor on the dask.distributed scheduler at `address`, once every worker has
    been found to run this version and to see the `shared` paths."""
    try:
        import distributed
    except ImportError as exc:
        raise UsageError(
            "--scheduler needs dask.distributed: pip install 'animus-prep[dask]'"
        ) from exc
    connect: Any = distributed.Client  # untyped
    try:
        client: Any = connect(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"cannot reach the dask scheduler at {address}: {exc}") from exc
    try:
        _check_workers(client, [str(p.absolute()) for p in shared])
        yield client.get_executor()
    finally:
        client.close(timeout=CONNECT_TIMEOUT)


def _check_workers(client: Any, paths: list[str]) -> None:
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        facts: dict[str, dict[str, Any]] = client.run(_worker_facts, paths)
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"the dask cluster has no worker that answers: {exc}") from exc
    problems = []
    for worker, fact in sorted(facts.items()):
        if fact["version"] != __version__:
            problems.append(
                f"worker {worker} runs animus-prep {fact['version']}, this is {__version__}"
            )
        for path in fact["missing"]:
            problems.append(f"worker {worker} cannot see {path} (the photos must be shared)")
    if problems:
        raise UsageError("the dask cluster cannot do this work: " + "; ".join(problems))


@contextlib.contextmanager
def work_executor(
    scheduler: str | None, workers: int, shared: list[Path]
) -> Iterator[Executor | None]:
    """Where the work runs: the dask cluster at `scheduler`, else `workers` local
    processes (None for one: in this process)."""
    if scheduler:
        with cluster_executor(scheduler, shared) as executor:
            yield executor
    else:
        with process_pool(workers) as executor:
            yield executor
