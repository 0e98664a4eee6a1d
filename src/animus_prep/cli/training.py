"""`animus-prep train`, `logs` and `cancel`: the LoRA trainings of an existing character."""

from __future__ import annotations

import argparse
import json
import sys

from .._argtypes import api_id
from ..client import (
    AnimusError,
    APIError,
    APIStatusError,
    ConflictError,
    RateLimitError,
    Status,
    TrainingCancel,
)
from ..pipeline.training import (
    TrainingError,
    TrainingOutcome,
    follow_logs,
    latest_job,
    start_trainings,
    watch_trainings,
)
from .common import EXIT_OK, EXIT_REJECTED, Subcommands, number_between, positive_int
from .connect import (
    add_connection_options,
    command_line,
    open_client,
    report_stop,
    say_for,
    tell_for,
)
from .watch import Console, training_watcher

TRAIN_SCHEMA = "animus-prep.train/1"
POLL_INTERVAL = 15.0
"""Seconds between polls of a training: they take hours."""


def _add_watch_options(p: argparse.ArgumentParser, timeout: float) -> None:
    p.add_argument(
        "--poll-interval",
        type=number_between(0, 3600, low_open=True),
        default=POLL_INTERVAL,
        help=f"seconds between polls (default: {POLL_INTERVAL:g})",
    )
    p.add_argument(
        "--timeout",
        type=number_between(0, 7 * 86400, low_open=True),
        default=timeout,
        help=f"stop watching after this many seconds (default: {timeout:g})",
    )


def add_train(sub: Subcommands) -> None:
    p = sub.add_parser(
        "train",
        help="start the face and body LoRA trainings (and watch them with --wait)",
        description=(
            "Start the LoRA trainings of CHARACTER_ID: --face, --body, or both when neither "
            "is given. A training that succeeded or is running is not started again (each "
            "start is charged); one that failed or was cancelled is. With --wait, watch "
            "until each ends: phases and ETA on a live line on a terminal, one line per "
            "phase otherwise. Exit 0 when started (with --wait: when trained), 1 otherwise."
        ),
    )
    p.add_argument("character_id", metavar="CHARACTER_ID", type=api_id, help="the character's id")
    p.add_argument("--face", action="store_true", help="the face LoRA")
    p.add_argument("--body", action="store_true", help="the body LoRA")
    p.add_argument("--wait", action="store_true", help="watch the trainings until they end")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    _add_watch_options(p, 6 * 3600.0)
    add_connection_options(p, long_running=True)
    p.set_defaults(run=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    kinds = [k for k in ("face", "body") if getattr(args, k)] or ["face", "body"]
    console = Console(sys.stderr if args.json else sys.stdout)
    outcomes: dict[str, TrainingOutcome] = {}
    ready: bool | None = None
    try:
        with open_client(args) as client:
            start_trainings(client, args.character_id, kinds, say=console.say, into=outcomes)
            if args.wait:
                watch_trainings(
                    client,
                    args.character_id,
                    outcomes,
                    timeout=args.timeout,
                    interval=args.poll_interval,
                    on_progress=training_watcher(console),
                )
                console.close()
                caps = client.generation.capabilities(args.character_id)
                ready = bool(caps.generation_ready)
    except (AnimusError, TrainingError, KeyboardInterrupt) as exc:
        console.close()
        reason, resume = _stopped(args, console, outcomes, exc, kinds)
        if args.json:
            _write_train_json(args, outcomes, None, error=reason, resume=resume)
        if isinstance(exc, KeyboardInterrupt):
            raise
        return EXIT_REJECTED
    finally:
        console.close()
    if args.json:
        _write_train_json(args, outcomes, ready)
    elif args.wait:
        for o in outcomes.values():
            console.say(f"{o.kind} LoRA: {o.status} (job {o.job_id})")
        console.say("ready for generation" if ready else "not ready for generation yet")
    elif any(not o.state.is_terminal for o in outcomes.values()):
        console.say(f"watch with: animus-prep train {args.character_id} --wait")
    return EXIT_OK


def _write_train_json(
    args: argparse.Namespace,
    outcomes: dict[str, TrainingOutcome],
    ready: bool | None,
    **stop: str,
) -> None:
    """The `train --json` document; a stopped command's carries ``error`` and ``resume``."""
    doc = {
        "schema": TRAIN_SCHEMA,
        "character_id": args.character_id,
        "trainings": [o.to_json() for o in outcomes.values()],
        "generation_ready": ready,
        **stop,
    }
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")


def _stopped(
    args: argparse.Namespace,
    console: Console,
    outcomes: dict[str, TrainingOutcome],
    exc: BaseException,
    kinds: list[str],
) -> tuple[str, str]:
    """Say what the stopped command did and did not; return why it stopped and the
    command that goes on."""
    reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
    done = [
        f"{o.kind} LoRA {'started' if o.started else 'found'} (job {o.job_id}, {o.status})"
        for o in outcomes.values()
    ]
    ended = [o for o in outcomes.values() if not o.state.is_terminal]
    not_done = [f"starting the {k} LoRA" for k in kinds if k not in outcomes]
    not_done += [f"watching the {o.kind} LoRA to the end" for o in ended]
    failed = isinstance(exc, TrainingError)
    # A refusal (a 4xx other than a rate limit) is not cured by waiting: what the server
    # said must be fixed first.
    refused = isinstance(exc, APIStatusError) and 400 <= exc.status_code < 500
    refused = refused and not isinstance(exc, RateLimitError)
    if failed:
        note = "starting a failed training again is charged again"
    elif refused:
        note = "the server refused: fix what it said, then run again (none starts twice)"
    else:
        note = "a rerun watches the running trainings; it starts (and pays for) none twice"
    add = [] if failed or refused or args.wait else ["--wait"]
    resume = command_line(args.argv, add=add)
    training = [o.kind for o in outcomes.values() if o.job_id and not o.state.is_terminal]
    if refused and training:
        # The other LoRA was started (and paid for): the command that goes on watches it;
        # the refused one is started once what the server said is fixed.
        kept = [a for a in args.argv if a not in ("--face", "--body")]
        resume = command_line(kept, add=[*(f"--{k}" for k in training), "--wait"])
        note += (
            f"; the {' and '.join(training)} LoRA started is training: the command below watches it"
        )
    report_stop(console.say, reason, done, not_done, resume, note, error=exc)
    return reason, resume


def add_logs(sub: Subcommands) -> None:
    p = sub.add_parser(
        "logs",
        help="show (or follow) the log of a training",
        description=(
            "Print the last lines of the log of training JOB_ID (default: the character's "
            "latest training). With --follow, keep printing new lines until the training "
            "ends (or --timeout)."
        ),
    )
    p.add_argument("character_id", metavar="CHARACTER_ID", type=api_id, help="the character's id")
    p.add_argument(
        "job_id", metavar="JOB_ID", type=api_id, nargs="?", help="default: the latest training"
    )
    p.add_argument(
        "--lines", type=positive_int, default=100, help="lines to show first (default: 100)"
    )
    p.add_argument("--follow", "-f", action="store_true", help="print new lines as they come")
    _add_watch_options(p, 6 * 3600.0)
    add_connection_options(p, long_running=True)
    p.set_defaults(run=_run_logs)


def _run_logs(args: argparse.Namespace) -> int:
    say = say_for(args)
    with open_client(args) as client:
        job_id = args.job_id
        if job_id is None:
            job = latest_job(client, args.character_id)
            if job is None or not job.job_id:
                sys.stderr.write(
                    f"animus-prep: error: character {args.character_id} has no training yet\n"
                )
                return EXIT_REJECTED
            job_id = job.job_id
            say(f"job {job_id} ({job.job_type or 'training'}, {job.status})")
        if not args.follow:
            lines = client.training.logs(args.character_id, job_id, lines=args.lines).log_lines
            for line in lines:
                say(line)
            return EXIT_OK
        try:
            final = follow_logs(
                client,
                args.character_id,
                job_id,
                say,
                lines=args.lines,
                interval=args.poll_interval,
                timeout=args.timeout,
            )
        except KeyboardInterrupt:
            report_stop(
                tell_for(args), "interrupted", [], ["following the log to the end"],
                _follow_again(args, job_id),
            )  # fmt: skip
            raise
    if final is not None and final.state.is_terminal:
        say(f"job {job_id} ended: {final.status}")
        return EXIT_OK
    report_stop(
        tell_for(args),
        f"still running after --timeout {args.timeout:g}s",
        [],
        ["following the log to the end"],
        _follow_again(args, job_id),
    )
    return EXIT_REJECTED


def _follow_again(args: argparse.Namespace, job_id: str) -> str:
    """The command that goes on following: the same job (named, should another start
    meanwhile), without the --timeout that stopped this one."""
    argv: list[str] = []
    skip = False
    for arg in args.argv:
        flag = arg.split("=", 1)[0]
        timeout = len(flag) > 4 and "--timeout".startswith(flag)  # argparse takes --time too
        if skip:
            skip = False
        elif timeout and "=" not in arg:
            skip = True
        elif not timeout:
            argv.append(arg)
    if args.job_id is None:
        at = argv.index(args.character_id) + 1 if args.character_id in argv else len(argv)
        argv.insert(at, job_id)
    return command_line(argv)


def add_cancel(sub: Subcommands) -> None:
    p = sub.add_parser(
        "cancel",
        help="cancel a running training (best effort; credits are not refunded)",
        description="Ask the server to cancel training JOB_ID of CHARACTER_ID.",
    )
    p.add_argument("character_id", metavar="CHARACTER_ID", type=api_id, help="the character's id")
    p.add_argument(
        "job_id", metavar="JOB_ID", type=api_id, help="the training job (see `animus-prep status`)"
    )
    p.add_argument("--json", action="store_true", help="print the answer as JSON on stdout")
    add_connection_options(p, long_running=False)
    p.set_defaults(run=_run_cancel)


def _run_cancel(args: argparse.Namespace) -> int:
    try:
        result = _cancel(args)
    except (_NotCancelled, AnimusError) as exc:
        # Whatever stopped it (the job ended otherwise, an unknown job, no connection),
        # --json still gets its document, with `error`.
        reason = str(exc)
        said = reason if isinstance(exc, _NotCancelled) else f"error: {reason}"
        sys.stderr.write(f"animus-prep: {said}\n")
        if args.json:
            status = exc.status if isinstance(exc, _NotCancelled) else None
            message = exc.message if isinstance(exc, _NotCancelled | APIError) else reason
            _write_cancel_json(args, status, message, error=reason)
        return EXIT_REJECTED
    if args.json:
        _write_cancel_json(args, result.status, result.message, job_id=result.job_id)
    else:
        say_for(args)(f"job {args.job_id}: {result.status or 'cancelled'} ({result.message})")
    return EXIT_OK


class _NotCancelled(Exception):
    """The job ended otherwise (it finished, or failed): it cannot be cancelled now."""

    def __init__(self, message: str, status: str | None) -> None:
        super().__init__(f"not cancelled: {message}")
        self.message = message
        self.status = status


def _cancel(args: argparse.Namespace) -> TrainingCancel:
    """Cancel the job; a job cancelled already is what was asked for."""
    with open_client(args) as client:
        try:
            return client.training.cancel(args.character_id, args.job_id)
        except ConflictError as exc:
            jobs = client.training.jobs(args.character_id).training_jobs
            job = next((j for j in jobs if j.job_id == args.job_id), None)
            if job is None or job.state is not Status.CANCELLED:
                raise _NotCancelled(exc.message, None if job is None else job.status) from exc
            return TrainingCancel(
                success=True, message="already cancelled", job_id=job.job_id, status=job.status
            )


def _write_cancel_json(
    args: argparse.Namespace,
    status: str | None,
    message: str | None,
    *,
    job_id: str | None = None,
    **stop: str,
) -> None:
    """The `cancel --json` document; a stopped command's carries ``error``."""
    doc = {
        "schema": "animus-prep.cancel/1",
        "character_id": args.character_id,
        "job_id": job_id or args.job_id,
        "status": status,
        "message": message,
        **stop,
    }
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")
