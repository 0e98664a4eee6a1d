"""What every `animus-prep` command shares: exit codes, usage errors, common options."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import TypeAlias

from .._argtypes import number_between, positive_int
from ..policy import Policy, PolicyError

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2

__all__ = [
    "EXIT_OK",
    "EXIT_REJECTED",
    "EXIT_USAGE",
    "Subcommands",
    "UsageError",
    "add_run_options",
    "existing_folder",
    "load_policy",
    "number_between",
    "positive_int",
    "process_pool",
]


Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""The object `add_subparsers` returns, to which each command adds itself."""


class UsageError(Exception):
    """Bad arguments or paths: reported on stderr, exit status 2."""


def existing_folder(path: str) -> Path:
    """``path`` as a folder, or a UsageError that says what it is instead."""
    folder = Path(path)
    if folder.is_dir():
        return folder
    if folder.exists():
        raise UsageError(f"{path} is a file, not a folder")
    raise UsageError(f"{path}: no such folder")


def load_policy(args: argparse.Namespace) -> Policy:
    try:
        policy = Policy.from_file(args.config) if args.config else Policy()
        if getattr(args, "no_faces", False):
            policy = policy.with_overrides({"faces": False})
    except PolicyError as exc:
        raise UsageError(str(exc)) from exc
    return policy


@contextlib.contextmanager
def process_pool(workers: int) -> Iterator[Executor | None]:
    if workers <= 1:
        yield None
        return
    pool = ProcessPoolExecutor(max_workers=workers)
    try:
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)


def add_run_options(p: argparse.ArgumentParser, json_help: str) -> None:
    """--json, --config and --workers, which every command that judges photos takes."""
    p.add_argument("--json", action="store_true", help=json_help)
    p.add_argument("--config", metavar="FILE", help="policy file (TOML or JSON)")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=os.cpu_count() or 1,
        help="worker processes for the pre-flight (default: all cores)",
    )
