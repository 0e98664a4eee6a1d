"""The `animus-prep` command: parse options, call the library, render the result.

Each command lives with its kind: `local` (check, crop), `remote` (upload, run),
`review`, `training` (train, logs, cancel), `status` and `config`; `connect` holds what
every command that talks to the API shares. The sandbox parses its own options.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import sqlite3
import sys
from collections.abc import Callable, Sequence

from .. import __version__
from ..client import AnimusError
from .common import EXIT_REJECTED, EXIT_USAGE, Terminated, UsageError
from .config import add_config
from .connect import missing_sandbox_message, sandbox_extra_missing
from .local import add_check, add_crop
from .remote import add_run, add_upload
from .review import add_review
from .status import add_status
from .training import add_cancel, add_logs, add_train


def _run_sandbox(argv: Sequence[str]) -> int:
    try:
        from ..sandbox.cli import main as sandbox_main
    except ImportError as exc:
        if not sandbox_extra_missing(exc):
            raise
        sys.stderr.write(f"animus-prep: error: {missing_sandbox_message(exc)}\n")
        return EXIT_USAGE
    return sandbox_main(list(argv))


EXIT_BROKEN_PIPE = 128 + 13
"""Exit status when the output pipe closed (as for a command killed by SIGPIPE)."""

_PASSTHROUGH: dict[str, Callable[[Sequence[str]], int]] = {"sandbox": _run_sandbox}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="animus-prep",
        description="Prepare characters for LoRA training on the Animus pipeline.",
    )
    parser.add_argument("--version", action="version", version=f"animus-prep {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (
        add_check,
        add_crop,
        add_upload,
        add_run,
        add_review,
        add_train,
        add_status,
        add_logs,
        add_cancel,
        add_config,
    ):
        add(sub)
    sub.add_parser(
        "sandbox",
        help="run a local server that behaves like the Animus API",
        add_help=False,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `animus-prep` command; returns the exit status."""
    _escape_undecodable_names()
    _exit_cleanly_on_sigterm()
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in _PASSTHROUGH:
        return _PASSTHROUGH[args_list[0]](args_list[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)  # it may read paths (--report): a signal can land
    except KeyboardInterrupt as exc:
        return _stopped_by(exc)
    args.argv = args_list  # to print the exact command that resumes a stopped one
    try:
        status: int = args.run(args)
    except UsageError as exc:
        sys.stderr.write(f"animus-prep: error: {exc}\n")
        return EXIT_USAGE
    except AnimusError as exc:
        # API failures are typed; their text never holds the key.
        sys.stderr.write(f"animus-prep: error: {exc}\n")
        return EXIT_REJECTED
    except KeyboardInterrupt as exc:
        return _stopped_by(exc)
    except sqlite3.Error as exc:
        # A journal whose damage showed only past its opening check.
        sys.stderr.write(
            f"animus-prep: error: a work journal could not be used ({exc}); move the "
            "folder's .animus-prep/ aside and run again\n"
        )
        return EXIT_REJECTED
    except BrokenPipeError:
        # The reader stopped early (`... --format jsonl | head`): stop as quietly as a
        # command killed by SIGPIPE, without a traceback or a failed flush at exit.
        _drop_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        if exc.errno not in _FULL:
            raise
        # The output (or a file) could not be written: a full disk, a quota, a failing
        # device. Said in one line; what is left unwritten is dropped, not retried.
        _drop_stdout()
        sys.stderr.write(f"animus-prep: error: cannot write: {exc.strerror or exc}\n")
        return EXIT_USAGE
    return status


_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})
"""Write errors that say the output has nowhere to go."""


def _drop_stdout() -> None:
    """Send what is left of stdout to nowhere, so the flush at exit cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _stopped_by(exc: KeyboardInterrupt) -> int:
    """The exit status (and last word) of a command stopped by Ctrl-C or SIGTERM."""
    if isinstance(exc, Terminated):
        sys.stderr.write("animus-prep: stopped (SIGTERM)\n")
        return 128 + signal.SIGTERM
    sys.stderr.write("animus-prep: interrupted\n")
    return 130


def _exit_cleanly_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C (worker pools shut down, journal and lock released)
    instead of killing this process and orphaning its pre-flight workers."""

    def stop(signum: int, frame: object) -> None:
        raise Terminated

    # Outside the main thread (an embedding application) signals are not ours to set.
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, stop)


def _escape_undecodable_names() -> None:
    """File names that are not valid in the file system's encoding reach Python as lone
    surrogates; they are printed as ``\\udcXX`` escapes (still valid JSON, naming the
    same bytes) instead of failing the whole output or writing invalid UTF-8."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
