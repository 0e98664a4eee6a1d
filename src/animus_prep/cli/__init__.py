"""The `animus-prep` command: parse options, call the library, render the result.

Each command lives with its kind: `cli_local` (check, crop) and `cli_remote` (upload,
run); the sandbox parses its own options.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Sequence

from .. import __version__
from ..client import AnimusError
from .common import EXIT_REJECTED, EXIT_USAGE, UsageError
from .local import add_check, add_crop
from .remote import add_run, add_upload


def _run_sandbox(argv: Sequence[str]) -> int:
    from ..sandbox.cli import main as sandbox_main

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
    for add in (add_check, add_crop, add_upload, add_run):
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
    args = parser.parse_args(args_list)
    try:
        status: int = args.run(args)
    except UsageError as exc:
        sys.stderr.write(f"animus-prep: error: {exc}\n")
        return EXIT_USAGE
    except AnimusError as exc:
        # API failures are typed; their text never holds the key.
        sys.stderr.write(f"animus-prep: error: {exc}\n")
        return EXIT_REJECTED
    except KeyboardInterrupt:
        sys.stderr.write("animus-prep: interrupted\n")
        return 130
    except BrokenPipeError:
        # The reader stopped early (`... --format jsonl | head`): stop as quietly as a
        # command killed by SIGPIPE, without a traceback or a failed flush at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE
    return status


def _exit_cleanly_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C (worker pools shut down, journal and lock released)
    instead of killing this process and orphaning its pre-flight workers."""

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

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
