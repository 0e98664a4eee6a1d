"""What every `animus-prep` command shares: exit codes, usage errors, option types."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import TypeAlias

from .policy import Policy, PolicyError

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2


Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""The object `add_subparsers` returns, to which each command adds itself."""


class UsageError(Exception):
    """Bad arguments or paths: reported on stderr, exit status 2."""


def workers_type(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def positive_type(value: str) -> int:
    n = workers_type(value)
    return n


def margin_type(value: str) -> float:
    try:
        m = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0 <= m <= 5:
        raise argparse.ArgumentTypeError("must be between 0 and 5")
    return m


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
        type=workers_type,
        default=os.cpu_count() or 1,
        help="worker processes for the pre-flight (default: all cores)",
    )
