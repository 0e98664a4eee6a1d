"""What every command that talks to the Animus API shares: the connection options, the
retry budget, the client (or an embedded sandbox), and how a stopped command says
where to pick up.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import secrets
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager

from ..client import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    Client,
    ClientConfigError,
    MissingAPIKeyError,
    NotFoundError,
    PaymentRequiredError,
    RetryPolicy,
)
from ..client._core import redacted
from ..pipeline.journal import JournalDamagedError
from .common import UsageError, number_between, output_format
from .output import clear_progress

SANDBOX_TIME_SCALE = 3000.0
"""How much faster than real time the embedded sandbox (`run --sandbox`) runs jobs."""

SANDBOX_EXTRA = "pip install 'animus-prep[sandbox]'"
# The modules only the sandbox needs (its extra); any other import error is a real bug.
_SANDBOX_MODULES = frozenset({"fastapi", "uvicorn", "starlette", "multipart", "python_multipart"})

Say = Callable[[str], None]


def add_connection_options(p: argparse.ArgumentParser, *, long_running: bool) -> None:
    """--base-url, and the retry budget: long-running commands get one sized for runs of
    hundreds of calls (10 attempts or 5 minutes per call), quick ones the client's."""
    default = RetryPolicy.long_running() if long_running else RetryPolicy()
    p.add_argument(
        "--base-url",
        help="API base URL (default: $ANIMUS_BASE_URL or https://api.animusai.co/v2); "
        "the key is read from $ANIMUS_API_KEY, never from the command line",
    )
    p.add_argument(
        "--max-retries",
        type=_retries,
        default=default.attempts - 1,
        metavar="N",
        help="retries per call after a transient failure: no answer, 429 or 5xx "
        f"(default: {default.attempts - 1})",
    )
    p.add_argument(
        "--retry-deadline",
        type=number_between(0, 86400),
        default=default.timeout,
        metavar="SECONDS",
        help=f"stop retrying a call after this long (default: {default.timeout:g})",
    )


def _retries(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if not 0 <= n <= 1000:
        raise argparse.ArgumentTypeError("must be within [0, 1000]")
    return n


def retry_policy(args: argparse.Namespace) -> RetryPolicy:
    """The retry budget the options ask for."""
    base = RetryPolicy.long_running()
    return RetryPolicy(
        attempts=int(args.max_retries) + 1,
        initial_wait=base.initial_wait,
        max_wait=base.max_wait,
        timeout=float(args.retry_deadline),
    )


def tell_for(args: argparse.Namespace) -> Say:
    """Lines that always show (a stop, how to go on): on stdout, or on stderr when stdout
    carries data (--json, --format csv or jsonl)."""

    def tell(message: str) -> None:
        stream = sys.stdout if output_format(args) == "text" else sys.stderr
        clear_progress()
        stream.write(message + "\n")
        stream.flush()

    return tell


def say_for(args: argparse.Namespace) -> Say:
    """Progress lines, where `tell_for` puts them; none with -q."""
    tell = tell_for(args)

    def say(message: str) -> None:
        if not getattr(args, "quiet", False):
            tell(message)

    return say


@contextlib.contextmanager
def open_client(args: argparse.Namespace, *, sandbox: bool = False) -> Iterator[Client]:
    """The API client the options ask for, or one to an embedded sandbox. Its retries
    are said on stderr as they happen (not with -q), never among the data on stdout: a
    server that does not answer is not a silent minute."""

    with _retries_said(notice_for(args)):
        yield from _open_client(args, sandbox=sandbox)


def notice_for(args: argparse.Namespace) -> Say:
    """Notices on stderr, whatever stdout carries (none with -q)."""

    def say(message: str) -> None:
        if not getattr(args, "quiet", False):
            clear_progress()
            sys.stderr.write(f"animus-prep: {message}\n")
            sys.stderr.flush()

    return say


class _RetryNotices(logging.Handler):
    """The client's retry records and the library's warnings (a render that could not
    be downloaded, a poll that failed), as notices."""

    def __init__(self, say: Say) -> None:
        super().__init__(logging.INFO)
        self._say = say

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.WARNING or message.startswith("retrying "):
            self._say(message)


@contextlib.contextmanager
def _retries_said(say: Say) -> Iterator[None]:
    log = logging.getLogger("animus_prep")
    handler = _RetryNotices(say)
    level = log.level
    log.addHandler(handler)
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


def _open_client(args: argparse.Namespace, *, sandbox: bool) -> Iterator[Client]:
    policy = retry_policy(args)
    if not sandbox:
        try:
            with Client(base_url=args.base_url, retry=policy) as client:
                yield client
        except MissingAPIKeyError as exc:
            raise UsageError(
                "no Animus API key: set the ANIMUS_API_KEY environment variable"
            ) from exc
        except ClientConfigError as exc:  # a malformed key or base URL
            raise UsageError(str(exc)) from exc
        return
    serve = import_sandbox()
    key = f"sk-sandbox-{secrets.token_hex(8)}"
    pace = SANDBOX_TIME_SCALE if args.time_scale is None else args.time_scale
    with serve(api_keys={key: 1000.0}, time_scale=pace, seed=0, defect_rate=0.2) as url:
        say_for(args)(f"sandbox: {url} (a local stand-in for the Animus API; no credits spent)")
        with Client(api_key=key, base_url=url, retry=policy) as client:
            yield client


def sandbox_extra_missing(error: ImportError) -> bool:
    """Whether ``error`` comes from the `sandbox` extra not being installed."""
    name = (getattr(error, "name", None) or "").split(".")[0]
    return isinstance(error, ModuleNotFoundError) and name in _SANDBOX_MODULES


def import_sandbox() -> Callable[..., AbstractContextManager[str]]:
    """`serve_in_thread`, or a UsageError naming the extra to install."""
    try:
        from ..sandbox import serve_in_thread
    except ImportError as exc:
        if not sandbox_extra_missing(exc):
            raise
        raise UsageError(missing_sandbox_message(exc)) from None
    return serve_in_thread


def missing_sandbox_message(error: ImportError) -> str:
    return f"the sandbox needs the `sandbox` extra ({error.name} is not installed): {SANDBOX_EXTRA}"


def command_line(argv: Sequence[str], *, add: Sequence[str] = ()) -> str:
    """The command that ran, as a shell line (plus ``add`` flags not already in it), with
    the API key redacted from its URLs: a user may have written it into ``--base-url``
    (only URLs, so that a short key cannot rewrite a folder's path)."""
    extra = [flag for flag in add if flag not in argv]
    key = os.environ.get("ANIMUS_API_KEY", "")
    shown = [redacted(arg, key) if "://" in arg else arg for arg in argv]
    return shlex.join(["animus-prep", *shown, *extra])


def report_stop(
    say: Say,
    reason: str,
    done: Sequence[str],
    not_done: Sequence[str],
    resume: str | None,
    note: str | None = None,
    under_way: Sequence[str] = (),
    *,
    error: BaseException | None = None,
) -> None:
    """What a stopped command did, what is under way (asked for, paid, not finished: a
    rerun waits for it), what it did not do, and the exact command to go on. With the
    ``error`` that stopped it, what must change before that command can succeed."""
    fix = _what_to_fix(error)
    if fix is not None:
        note = fix if note is None else f"{fix}; {note}"
    say(f"stopped: {reason}")
    if done:
        say("done: " + "; ".join(done))
    if under_way:
        say("under way: " + "; ".join(under_way))
    if not_done:
        say("not done: " + "; ".join(not_done))
    if note:
        say(note)
    if resume:
        # The same command would meet the same damaged journal: it goes first.
        causes = (error, error.__cause__ if error is not None else None)
        damaged = any(isinstance(e, JournalDamagedError) for e in causes)
        say(f"{'once the journal is moved aside, ' if damaged else ''}resume with: {resume}")


def _what_to_fix(error: BaseException | None) -> str | None:
    """What a rerun alone cannot cure, for the errors that say so."""
    if isinstance(error, AuthenticationError):
        return (
            "the server refused the API key (or what was asked with it): check "
            "ANIMUS_API_KEY, and that it is a key for this server, before resuming"
        )
    if isinstance(error, PaymentRequiredError):
        return (
            "not enough credits (or no subscription for this): see to the account before resuming"
        )
    if isinstance(error, NotFoundError):
        return (
            "the server has no such character or job for this key: check the id given "
            "(or the character the folder's journal names) before resuming"
        )
    if isinstance(error, BadRequestError) or (
        isinstance(error, APIStatusError) and error.status_code == 422
    ):
        return "the server refused the request as made: change what it names before resuming"
    return None
