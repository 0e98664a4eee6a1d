"""What every `animus-prep` command shares: exit codes, usage errors, common options."""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import TypeAlias

from .._argtypes import number_between, positive_int
from ..config import EffectivePolicy, effective_policy
from ..htmlreport import replaceable, write_html_report
from ..htmlreport.page import Subject
from ..policy import Policy, PolicyError

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2

__all__ = [
    "EXIT_OK",
    "EXIT_REJECTED",
    "EXIT_USAGE",
    "FORMATS",
    "Subcommands",
    "UsageError",
    "add_output_options",
    "add_report_option",
    "add_run_options",
    "existing_folder",
    "load_policy",
    "number_between",
    "output_format",
    "positive_int",
    "process_pool",
    "report_path",
    "resolve_policy",
    "write_report",
]


Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""The object `add_subparsers` returns, to which each command adds itself."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is, so that a command stops as on Ctrl-C: it
    says what it did and did not do, and how to go on (see `cli.main`)."""


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


def existing_reference(path: str) -> Path:
    """``path`` for --reference: a folder of photos known to show the character, or one
    such photo; else a UsageError."""
    reference = Path(path)
    if not reference.exists():
        raise UsageError(f"--reference {path}: no such folder or photo")
    return reference


def resolve_policy(args: argparse.Namespace, folder: str | Path | None = None) -> EffectivePolicy:
    """The policy a command runs with, and where each value came from: ``--config``, else
    the file found for ``folder`` (by default the command's PATH), else the defaults; then
    ``--no-faces`` and ``--fix``."""
    if folder is None:
        folder = getattr(args, "path", None)
    try:
        return policy_for(args, folder)
    except PolicyError as exc:
        raise UsageError(str(exc)) from exc


def batch_policy(args: argparse.Namespace) -> Policy:
    """The policy of a batch as a whole (not of any character in it): the defaults,
    ``--config`` and the flags, without any policy file found for the root."""
    try:
        return policy_for(args, None).policy
    except PolicyError as exc:
        raise UsageError(str(exc)) from exc


def policy_for(args: argparse.Namespace, folder: str | Path | None) -> EffectivePolicy:
    """`resolve_policy` for one folder (of a batch), raising `PolicyError` for a policy
    file that cannot be used."""
    flags: dict[str, tuple[str, object]] = {}
    if getattr(args, "no_faces", False):
        flags["faces"] = ("--no-faces", False)
    if getattr(args, "fix", False):
        flags["fix"] = ("--fix", True)
    return effective_policy(folder, config=args.config, flags=flags)


def load_policy(args: argparse.Namespace, folder: str | Path | None = None) -> Policy:
    """The policy of `resolve_policy`."""
    return resolve_policy(args, folder).policy


def most_workers() -> int:
    """The most worker processes a command starts: 4 per core (the pre-flight's work is
    mostly on the processor; more only crowd it, and each holds its own face models)."""
    return 4 * (os.cpu_count() or 1)


@contextlib.contextmanager
def process_pool(workers: int) -> Iterator[Executor | None]:
    """`workers` processes (at most `most_workers`, said on stderr when capped), or None
    for one: the work then runs in this process."""
    if workers > most_workers():
        sys.stderr.write(
            f"animus-prep: notice: --workers {workers} is more than 4 per core; "
            f"using {most_workers()}\n"
        )
        workers = most_workers()
    if workers <= 1:
        yield None
        return
    pool = ProcessPoolExecutor(
        max_workers=workers, initializer=_start_worker, initargs=(os.getpid(),)
    )
    try:
        # Forked workers all start at the first task. Start them now with Ctrl-C blocked,
        # so that none takes one between its fork and its initializer (where it would
        # print a traceback from the fork hooks); the parent gets it once unblocked.
        with _interrupts_held():
            pool.submit(int).result()
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    if not hasattr(signal, "pthread_sigmask"):  # no signal masks here: nothing to hold
        yield
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


PARENT_WATCH_SECONDS = 1.0
"""How often a worker looks whether the command that started it is still there."""


def _end_with_the_parent(command: int) -> None:
    """In a worker of the ``command`` process: end within `PARENT_WATCH_SECONDS` of the
    parent's death. A parent killed outright (``kill -9``, the out-of-memory killer)
    never shuts its pool down: its idle workers would stay for good, holding their face
    models' memory and the command's output (a ``| tee log`` would never end).

    A forked worker's parent is the command; one already adopted by another process
    lost it before it started, and ends at once. (Started by a fork server, a worker's
    parent is that server, which ends with the command.)"""
    parent = os.getppid()
    if parent != command and multiprocessing.get_start_method(allow_none=True) == "fork":
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_WATCH_SECONDS)
            if os.getppid() != parent:  # adopted by init (or a subreaper): orphaned
                os._exit(1)

    threading.Thread(target=watch, name="animus-prep-parent-watch", daemon=True).start()


def _start_worker(command: int) -> None:
    """Each worker's set-up: it ends with the ``command`` process that started it, and
    leaves Ctrl-C to it."""
    _end_with_the_parent(command)
    _leave_interrupts_to_the_parent()


def _leave_interrupts_to_the_parent() -> None:
    """In a worker: Ctrl-C reaches every process of the terminal's group, and the parent
    alone stops the command (cancelling the work, saying what was done). A worker that
    took it too would die with a traceback of its own. (Forked with it blocked: one that
    came meanwhile is dropped when it is unblocked here, ignored.)"""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The command's SIGTERM handler is inherited too: a worker ends quietly on SIGTERM.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


FORMATS = ("text", "json", "csv", "jsonl")
"""Every output format; each command takes those that fit what it prints."""


def add_run_options(
    p: argparse.ArgumentParser, json_help: str, formats: tuple[str, ...] = FORMATS
) -> None:
    """The options of every command that judges photos: output (`add_output_options`),
    --config and --workers."""
    add_output_options(p, json_help, formats)
    p.add_argument(
        "--config",
        metavar="FILE",
        help="policy file (TOML or JSON); by default animus-prep.toml in the folder, else "
        "[tool.animus-prep] in the nearest pyproject.toml (see `animus-prep config`)",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=os.cpu_count() or 1,
        help="worker processes for the pre-flight (default: all cores; at most 4 per core)",
    )


def add_output_options(
    p: argparse.ArgumentParser, json_help: str, formats: tuple[str, ...] = FORMATS
) -> None:
    """--format (and --json, its short form for json), -q and --color."""
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--format",
        choices=formats,
        help=f"what to print on stdout: {', '.join(formats)} (default: text)",
    )
    group.add_argument("--json", action="store_true", help=f"{json_help} (--format json)")
    p.add_argument(
        "-q", "--quiet", action="store_true", help="print only the summary line (text format)"
    )
    p.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour verdicts: auto (on a terminal, unless NO_COLOR is set), always, never",
    )


def output_format(args: argparse.Namespace) -> str:
    """The format asked for: ``--json`` or ``--format``, else text."""
    if getattr(args, "json", False):
        return "json"
    return getattr(args, "format", None) or "text"


def add_report_option(p: argparse.ArgumentParser) -> None:
    """--report FILE.html: the self-contained visual report."""
    p.add_argument(
        "--report",
        metavar="FILE.html",
        type=report_path,
        help="also write a self-contained HTML report (thumbnails, reasons, filters) there",
    )


def report_path(value: str) -> Path:
    """``--report``'s value, checked before anything runs: a file in an existing folder."""
    path = Path(value)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a folder; name the report file")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{value}: no folder {path.parent} to write it in")
    if path.exists() and not replaceable(path):
        raise argparse.ArgumentTypeError(
            f"{value} exists and is not an HTML report of animus-prep: it is never overwritten "
            "(a photo or a page of your own named by mistake would be lost); name a new "
            "file or an earlier report"
        )
    problem = _unwritable(path)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"cannot write the report {value}: {problem}")
    return path


def _unwritable(path: Path) -> str | None:
    """Why the report could not be written at `path` (None: it can), found before the
    check runs rather than after it. The report is written as a new file beside `path`
    and moved over it, so that is what is tried: a file made in the folder, removed."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".animus-prep-", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def write_report(
    args: argparse.Namespace,
    subject: Subject,
    policy: EffectivePolicy | None = None,
    *,
    character_id: str | None = None,
    stopped: str | None = None,
) -> None:
    """Write ``--report`` (when given) for ``subject``; say where on stderr. A file that
    cannot be written is a UsageError (the check itself has run)."""
    path: Path | None = getattr(args, "report", None)
    if path is None:
        return
    try:
        write_html_report(
            subject,
            path,
            character_id=character_id,
            policy_origins=policy.origins if policy else None,
            stopped=stopped,
        )
    except OSError as exc:
        raise UsageError(f"cannot write the report {path}: {exc.strerror or exc}") from exc
    sys.stderr.write(f"report: {path}\n")
