"""`animus-prep sandbox`: run a local Animus v2 API."""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
from pathlib import Path

from .._argtypes import number_between
from .app import create_app
from .faults import FaultSpecError, parse_faults
from .server import base_url, bind, run
from .settings import DEFAULT_API_KEY, DEFAULT_CREDITS


def parse_api_key(text: str) -> tuple[str, float]:
    """`KEY` or `KEY:CREDITS` (credits default to 1000)."""
    key, sep, credits = text.rpartition(":")
    if not sep:
        key, credits = text, ""
    if not credits:
        value = DEFAULT_CREDITS
    else:
        try:
            value = float(credits)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"bad credits in {text!r}: use KEY or KEY:CREDITS"
            ) from None
    if not key or any(c.isspace() for c in key) or value < 0 or value != value:
        raise argparse.ArgumentTypeError(f"bad API key {text!r}: use KEY or KEY:CREDITS")
    return key, value


def _faults(text: str) -> str:
    try:
        parse_faults(text)
    except FaultSpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError("must be within 0-65535")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="animus-prep sandbox",
        description="Run a local stand-in for the Animus v2 API (base URL printed on start).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8787, help="port; 0 picks a free one")
    parser.add_argument(
        "--data", metavar="DIR", help="state folder, kept across restarts (default: temporary)"
    )
    parser.add_argument(
        "--api-key",
        action="append",
        type=parse_api_key,
        metavar="KEY[:CREDITS]",
        help=f"an API key (its own organization); repeatable; default {DEFAULT_API_KEY}:1000. "
        "CREDITS is the starting balance of a new key: with --data of an earlier run, a key "
        "it knows keeps the balance it has there",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for renders, defects, faults")
    parser.add_argument(
        "--time-scale",
        type=number_between(0, float("inf"), low_open=True),
        default=1.0,
        help="speed-up of the job clock (e.g. 60)",
    )
    parser.add_argument(
        "--defect-rate",
        type=number_between(0, 1),
        default=0.2,
        help="share of flawed dataset renders",
    )
    parser.add_argument(
        "--training-failure-rate",
        type=number_between(0, 1),
        default=0.0,
        help="share of failing trainings",
    )
    parser.add_argument(
        "--faults",
        type=_faults,
        default="",
        metavar="SPEC",
        help=(
            "e.g. 503:0.1,429:0.05@2s,reset:0.02,slow:0.05@1.5s,lost:0.03 "
            "(also garbled: a success answered as an HTML page)"
        ),
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=("critical", "error", "warning", "info", "debug", "trace"),
        help="uvicorn log level (default: warning)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `animus-prep sandbox`; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.data is not None and Path(args.data).exists() and not Path(args.data).is_dir():
        parser.error(f"--data {args.data} is a file, not a folder")
    keys = dict(args.api_key or [(DEFAULT_API_KEY, DEFAULT_CREDITS)])
    try:
        app = create_app(
            data_dir=args.data,
            api_keys=keys,
            seed=args.seed,
            time_scale=args.time_scale,
            defect_rate=args.defect_rate,
            faults=args.faults,
            training_failure_rate=args.training_failure_rate,
        )
    except (OSError, sqlite3.Error) as exc:
        where = args.data if args.data is not None else "a temporary folder"
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        hint = " (not a sandbox database)" if isinstance(exc, sqlite3.DatabaseError) else ""
        parser.error(f"cannot keep the sandbox's state in {where}: {why}{hint}")
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        print(f"animus-prep sandbox: cannot bind {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    sandbox = app.state.sandbox
    print(f"Animus sandbox: {base_url(sock)}")
    print(f"  data: {sandbox.data_dir}")
    for key in keys:
        print(f"  API key: {key}")
    print("  Press Ctrl+C to stop.", flush=True)
    from .app import close_app

    # The sandbox's own records (a background render that failed) on stderr, beside
    # uvicorn's: the library leaves its records to the application's handlers.
    level = logging.DEBUG if args.log_level == "trace" else getattr(logging, args.log_level.upper())
    own = logging.StreamHandler(sys.stderr)
    own.setLevel(level)
    logging.getLogger("animus_prep.sandbox").addHandler(own)
    try:
        run(app, sock, args.log_level)
    finally:
        close_app(app)
    print("Animus sandbox stopped.", flush=True)
    return 0
