"""Commands that talk to the Animus API: `upload` and `run`."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .._argtypes import api_id, character_name
from ..client import AnimusError
from ..config import EffectivePolicy
from ..inspection.discover import LayoutError
from ..inspection.references import UnusableReferenceError
from ..inspection.report import Report
from ..pipeline.run import AugmentationInDoubt, PipelineError, RunSummary, run_pipeline
from ..pipeline.upload import UploadError, rejected_json, upload_folder
from .common import (
    EXIT_OK,
    EXIT_REJECTED,
    Subcommands,
    UsageError,
    add_report_option,
    add_run_options,
    existing_folder,
    existing_reference,
    number_between,
    output_format,
    positive_int,
    process_pool,
    resolve_policy,
    write_report,
)
from .connect import (
    SANDBOX_TIME_SCALE,
    add_connection_options,
    command_line,
    open_client,
    report_stop,
    say_for,
    tell_for,
)
from .formats import UPLOAD_COLUMNS, upload_rows, write_rows
from .output import ProgressBar, Style, as_printed, wants_color
from .watch import Console, training_watcher

POLL_INTERVAL = 15.0
"""Seconds between status polls against the real API: trainings take hours."""
SANDBOX_POLL_INTERVAL = 0.2
"""Against the embedded sandbox, whose clock runs thousands of times faster."""


def _add_reference_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--reference",
        metavar="PATH",
        help="photos known to show the character (a folder, or one photo), for the identity "
        "check (exit 2 when none of them can be used)",
    )


def _add_fix_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--fix",
        action="store_true",
        help="accept photos over the server's pixel or byte limit and upload a copy made "
        "to fit (shrunk, re-encoded as JPEG); the original is never touched",
    )


def _add_new_character_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--new-character",
        action="store_true",
        help="prepare a new character: for a copy of another character folder (a copy or "
        "a moved folder otherwise resumes the character its journal names), when the "
        "character the journal names is gone, or when the server already has a character "
        "of this name that animus-prep made and the journal does not name",
    )


def _add_api_options(p: argparse.ArgumentParser, formats: tuple[str, ...]) -> None:
    add_connection_options(p, long_running=True)
    add_run_options(p, "print a JSON summary on stdout", formats)
    add_report_option(p)


def add_upload(sub: Subcommands) -> None:
    p = sub.add_parser(
        "upload",
        help="pre-flight a character folder and upload what passes, exactly once",
        description=(
            "Check PATH, then upload every accepted photo to the character (face photos as "
            "face images, body/<view>/ as body_image_<view>), each exactly once: a rerun, a "
            "crash or a lost response never yields a second copy."
        ),
    )
    p.add_argument("path", metavar="PATH", help="character folder (face/, body/<view>/)")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--character", metavar="ID", type=api_id, help="upload to this character")
    target.add_argument(
        "--name", type=character_name, help="create (or reuse) a character with this name"
    )
    p.add_argument(
        "--concurrency", type=positive_int, default=4, help="uploads at once (default: 4)"
    )
    _add_reference_option(p)
    _add_new_character_option(p)
    _add_fix_option(p)
    _add_api_options(p, ("text", "json", "csv", "jsonl"))
    p.set_defaults(run=_run_upload)


def add_run(sub: Subcommands) -> None:
    p = sub.add_parser(
        "run",
        help="the whole job: check, upload, render, review, approve, train",
        description=(
            "Run (or resume) the whole pipeline for the character folder PATH: pre-flight, "
            "create the character, upload accepted photos exactly once, synthesize faces if "
            "too few, render the dataset, review every render (approve, regenerate, delete), "
            "approve the dataset, then train the face and body LoRAs and watch them."
        ),
    )
    p.add_argument("path", metavar="PATH", help="character folder (face/, body/<view>/)")
    p.add_argument("--name", type=character_name, required=True, help="the character's name")
    p.add_argument(
        "--sandbox",
        action="store_true",
        help="run against an embedded local sandbox instead of the real API (no credits)",
    )
    p.add_argument("--no-train", action="store_true", help="stop once the dataset is approved")
    _add_reference_option(p)
    _add_new_character_option(p)
    _add_fix_option(p)
    p.add_argument(
        "--retry-augmentation",
        action="store_true",
        help="ask for face augmentation again after an earlier request got no answer "
        "(it may have been charged: check the character first)",
    )
    p.add_argument(
        "--time-scale",
        type=number_between(0, 1e6, low_open=True),
        default=None,
        help=f"with --sandbox: how much faster than real time jobs run "
        f"(default: {SANDBOX_TIME_SCALE:g})",
    )
    p.add_argument(
        "--poll-interval",
        type=number_between(0, 3600, low_open=True),
        default=None,
        help=f"seconds between status polls (default: {POLL_INTERVAL:g}; "
        f"{SANDBOX_POLL_INTERVAL:g} with --sandbox)",
    )
    _add_api_options(p, ("text", "json"))
    p.set_defaults(run=_run_pipeline)


def poll_interval(args: argparse.Namespace) -> float:
    """`--poll-interval` as given, else the default for where the run goes."""
    if args.poll_interval is not None:
        return float(args.poll_interval)
    return SANDBOX_POLL_INTERVAL if args.sandbox else POLL_INTERVAL


@contextlib.contextmanager
def _scratch_journal() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="animus-prep-") as tmp:
        yield Path(tmp) / "journal.sqlite"


def _run_upload(args: argparse.Namespace) -> int:
    root = existing_folder(args.path)
    if args.reference:
        existing_reference(args.reference)
    effective = resolve_policy(args)
    say = say_for(args)
    bar, check_bar = ProgressBar(quiet=args.quiet), ProgressBar(quiet=args.quiet)
    sent = [0, 0]  # uploads settled, of how many

    def progress(done: int, total: int, path: str) -> None:
        sent[:] = [done, total]
        bar(done, total, path)

    try:
        with process_pool(args.workers) as executor, open_client(args) as client:
            summary = upload_folder(
                root,
                client,
                character_id=args.character,
                name=args.name,
                policy=effective.policy,
                executor=executor,
                concurrency=args.concurrency,
                check_progress=check_bar,
                progress=progress,
                log=say,
                reference=args.reference,
                new_character=args.new_character,
            )
    except (LayoutError, UnusableReferenceError) as exc:
        raise UsageError(str(exc)) from exc
    except UploadError as exc:
        sys.stderr.write(f"animus-prep: error: {exc}\n")
        _upload_stopped_json(args, str(exc), None, exc.report)
        return EXIT_REJECTED
    except (AnimusError, KeyboardInterrupt) as exc:
        check_bar.clear()
        bar.clear()
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
        settled = [f"{sent[0]} of {sent[1]} accepted photos settled"] if sent[1] else []
        resume = command_line(args.argv)
        report_stop(
            tell_for(args),
            reason,
            settled,
            ["the uploads left (those made are in the folder's journal: none goes twice)"],
            resume,
            error=exc,
        )
        _upload_stopped_json(args, reason, resume)
        if isinstance(exc, KeyboardInterrupt):
            raise
        return EXIT_REJECTED
    fmt = output_format(args)
    if fmt == "json":
        sys.stdout.write(json.dumps(summary.to_json(), indent=2) + "\n")
    elif fmt in ("csv", "jsonl"):
        write_rows(sys.stdout, fmt, upload_rows(summary), UPLOAD_COLUMNS)
    else:
        style = Style(wants_color(sys.stdout, args.color))
        for o in summary.uploads:
            tail = f" ({o.error})" if o.error else (f" ({o.fixed})" if o.fixed else "")
            status = style.bad(o.status) if o.status == "failed" else style.good(o.status)
            say(f"{status:9} {as_printed(o.path)}{as_printed(tail)}")
        counts = {s: sum(o.status == s for o in summary.uploads) for s in ("uploaded", "already")}
        sys.stdout.write(
            f"character {summary.character_id}: {counts['uploaded']} uploaded, "
            f"{counts['already']} already there, {len(summary.failed)} failed; "
            f"{len(summary.report.rejected)} rejected by the pre-flight"
            f"{'' if args.quiet else ' (see animus-prep check)'}\n"
        )
    write_report(args, summary, effective)
    if summary.failed:
        failed = summary.failed
        done = len(summary.uploads) - len(failed)
        report_stop(
            tell_for(args),
            f"{len(failed)} of {len(summary.uploads)} uploads failed "
            f"(first: {failed[0].path}: {failed[0].error})",
            [f"{done} photos on the server (character {summary.character_id})"],
            [f"{len(failed)} photos not uploaded"],
            command_line(args.argv),
        )
        return EXIT_REJECTED
    return EXIT_OK


def _upload_stopped_json(
    args: argparse.Namespace, reason: str, resume: str | None, report: Report | None = None
) -> None:
    """With --json, the document of an upload that stopped: what it says of one that
    finished, as far as it got (the pre-flight's verdicts when it ran), and ``error`` and
    ``resume`` (None: a rerun as it is cannot succeed)."""
    if output_format(args) != "json":
        return
    doc = {
        "schema": "animus-prep.upload/1",
        "character_id": args.character,
        "preflight": None if report is None else report.summary(),
        "uploads": [],
        "rejected": [] if report is None else rejected_json(report),
        "error": reason,
        "resume": resume,
    }
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")


def _run_pipeline(args: argparse.Namespace) -> int:
    existing_folder(args.path)
    if args.time_scale is not None and not args.sandbox:
        raise UsageError("--time-scale sets the embedded sandbox's pace: it needs --sandbox")
    if args.sandbox and args.base_url is not None:
        raise UsageError(
            "--sandbox runs against a sandbox of its own: --base-url (a server to use) "
            "goes without it"
        )
    if args.reference:
        existing_reference(args.reference)
    effective = resolve_policy(args)
    interval = poll_interval(args)
    console = Console(sys.stderr if output_format(args) != "text" else sys.stdout, quiet=args.quiet)
    summary = RunSummary()
    try:
        with (
            contextlib.ExitStack() as stack,
            process_pool(args.workers) as executor,
            open_client(args, sandbox=args.sandbox) as client,
        ):
            run_pipeline(
                args.path,
                args.name,
                client,
                policy=effective.policy,
                executor=executor,
                # An embedded sandbox forgets everything when it stops: so does its journal.
                journal_path=stack.enter_context(_scratch_journal()) if args.sandbox else None,
                train=not args.no_train,
                poll_interval=interval,
                log=console.say,
                retry_augmentation=args.retry_augmentation,
                summary=summary,
                on_training=training_watcher(console),
                reference=args.reference,
                new_character=args.new_character,
            )
    except (LayoutError, UnusableReferenceError) as exc:
        raise UsageError(str(exc)) from exc
    except (PipelineError, AnimusError, KeyboardInterrupt) as exc:
        console.close()
        _stopped(args, console, summary, exc, effective)
        if isinstance(exc, KeyboardInterrupt):
            raise
        return EXIT_REJECTED
    finally:
        console.close()
    if output_format(args) == "json":
        sys.stdout.write(json.dumps(summary.to_json(), indent=2) + "\n")
    else:
        ready = " is ready for generation" if summary.generation_ready else ""
        unreported = ", ".join(summary.credits_unreported)
        besides = f", besides the {unreported}, whose charge was not reported" if unreported else ""
        sys.stdout.write(
            f"done: character {summary.character_id}{ready} "
            f"({summary.credits_spent:g} credits spent by this run{besides})\n"
        )
    write_report(args, summary, effective)
    return EXIT_OK


def _stopped(
    args: argparse.Namespace,
    console: Console,
    summary: RunSummary,
    exc: BaseException,
    effective: EffectivePolicy,
) -> None:
    """Say what the run did, what it did not, and the exact command that goes on."""
    reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
    add = ["--retry-augmentation"] if isinstance(exc, AugmentationInDoubt) else []
    resume = command_line(args.argv, add=add)
    note = None
    if args.sandbox:
        note = "the embedded sandbox's state is gone with it: the same command starts over"
        resume = command_line(args.argv)
    elif add:
        note = "check the character's face images and credits first: asking again is charged"
    done = [f"{step}: {detail}" for step, detail in summary.steps.items()]
    under_way = [f"{step}: {detail}" for step, detail in summary.started.items()]
    report_stop(console.tell, reason, done, summary.not_done, resume, note, under_way, error=exc)
    if output_format(args) == "json":
        doc = {**summary.to_json(), "error": reason, "resume": resume}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    write_report(args, summary, effective, stopped=reason)
