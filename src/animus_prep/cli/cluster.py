"""`--scheduler tcp://HOST:PORT`: the per-file work on a dask.distributed cluster.

The workers read the photos by path, so they must see them at the same absolute paths as
this machine (shared storage), and they must run the same version of animus-prep (the
tasks are its functions). Both are checked before any work is sent.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading
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
    _check_address(address)
    client, failure = _connect(distributed.Client, address)
    if failure is not None:  # out of the handler: nothing holds the half-built client
        _let_go_quietly()
        raise UsageError(
            f"cannot reach the dask scheduler at {address}: {failure} (is a dask "
            "scheduler listening there?)"
        )
    try:
        _check_workers(client, [str(p.absolute()) for p in shared])
        yield client.get_executor()
    finally:
        client.close(timeout=CONNECT_TIMEOUT)


def _connect(connect: Any, address: str) -> tuple[Any, str | None]:
    """A dask client of the scheduler at `address`, or why there is none.

    Made in a thread of its own and waited for `CONNECT_TIMEOUT` (and a little): a peer
    that accepts the connection and never answers (a hung scheduler, a proxy) holds
    dask's own start-up past its timeout, for ever. That thread is a daemon: given up on,
    it does not keep the command from ending, and a client it makes after all is closed
    at once."""
    made: dict[str, Any] = {}
    lock = threading.Lock()

    def run() -> None:
        try:
            client = connect(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except Exception as exc:  # dask's own, or what a peer that is no scheduler provokes
            with lock:
                made["failure"] = str(exc).strip() or type(exc).__name__
            return
        with lock:
            late = made.get("given up", False)
            made["client"] = client
        if late:
            with contextlib.suppress(Exception):
                client.close(timeout=CONNECT_TIMEOUT)

    thread = threading.Thread(target=run, name="dask-connect", daemon=True)
    thread.start()
    thread.join(CONNECT_TIMEOUT + 5.0)
    with lock:
        if "client" not in made and "failure" not in made:
            made["given up"] = True
            return None, (
                f"it accepted the connection but did not answer within {CONNECT_TIMEOUT + 5:g} s"
            )
    return made.get("client"), made.get("failure")


def _check_address(address: str) -> None:
    """A usage error for an address dask could not use (before it tries, and waits)."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
        if scheme in ("tcp", "tls"):
            parse_host_port(location)
    except ValueError as exc:
        raise UsageError(
            f"--scheduler {address}: {exc}; use tcp://HOST:PORT (e.g. tcp://10.0.0.5:8786)"
        ) from None


def _let_go_quietly() -> None:
    """Collect a client that failed half-built now, not at exit: its own clean-up may
    only time out, and says so in a traceback of its own."""
    hook = sys.unraisablehook
    sys.unraisablehook = lambda _unraisable: None
    try:
        gc.collect()
    finally:
        sys.unraisablehook = hook


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
