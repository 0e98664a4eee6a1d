"""`animus-prep review CHARACTER_ID`: the automated dataset approval of an existing character."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator, MutableMapping

from .._argtypes import api_id
from ..client import AnimusError, Client
from ..inspection.discover import LayoutError
from ..inspection.references import UnusableReferenceError
from ..inspection.report import ImageReport
from ..pipeline.dataset import (
    NoReferencesError,
    character_photos,
    folder_references,
    review_character,
    review_references,
)
from ..pipeline.journal import (
    STATE_DIR_VARIABLE,
    JournalDamagedError,
    JournaledTries,
    JournalError,
    WorkJournal,
    state_journal_path,
)
from ..pipeline.review import ReviewSummary
from ..policy import Policy
from .common import (
    EXIT_OK,
    EXIT_REJECTED,
    Subcommands,
    UsageError,
    add_report_option,
    add_run_options,
    existing_reference,
    number_between,
    output_format,
    process_pool,
    resolve_policy,
    write_report,
)
from .connect import (
    Say,
    add_connection_options,
    command_line,
    notice_for,
    open_client,
    report_stop,
    say_for,
    tell_for,
)

SCHEMA = "animus-prep.review/1"


def add_review(sub: Subcommands) -> None:
    p = sub.add_parser(
        "review",
        help="review and approve the dataset of an existing character",
        description=(
            "Render the dataset of CHARACTER_ID if it never was, judge every render not yet "
            "approved (the pre-flight's checks, the character's identity, copies of a "
            "reference or of another render), then approve the good ones, regenerate the "
            "bad ones (then delete them once the budget is spent) and approve the dataset. "
            "References come from --reference, or else from the character's own face "
            "images, downloaded and checked like any photo. Exit 0 when the dataset is "
            "approved (with --dry-run: when the renders there are were judged, also when "
            "none is rendered yet, which it says), 1 otherwise."
        ),
    )
    p.add_argument("character_id", metavar="CHARACTER_ID", type=api_id, help="the character's id")
    p.add_argument(
        "--reference",
        metavar="PATH",
        help="face photos known to show the character (a folder, or one photo; default: its "
        "uploaded face images)",
    )
    p.add_argument(
        "--max-regenerations",
        type=_count,
        default=2,
        metavar="N",
        help="regenerations per bad render before it is deleted (default: 2)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="judge the renders and print the decisions; change nothing on the server",
    )
    p.add_argument(
        "--poll-interval",
        type=number_between(0, 3600, low_open=True),
        default=2.0,
        help="seconds between checks while renders arrive (default: 2)",
    )
    add_run_options(p, "print a JSON summary on stdout (animus-prep.review/1)", ("text", "json"))
    add_report_option(p)
    add_connection_options(p, long_running=True)
    p.set_defaults(run=_run_review)


def _count(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if not 0 <= n <= 100:
        raise argparse.ArgumentTypeError("must be within [0, 100]")
    return n


def _run_review(args: argparse.Namespace) -> int:
    effective = resolve_policy(args, args.reference)
    policy = effective.policy
    if args.reference:
        existing_reference(args.reference)
    say = say_for(args)
    summary = ReviewSummary()
    references: list[ImageReport] | None = None
    source = ""
    with open_client(args) as client:
        try:
            references, source = _references(args, client, policy)
            faces = sum(r.embedding is not None for r in references)
            say(f"references: {faces} face photos of {source} for identity")
            with _regenerations(args) as tries:
                review_character(
                    client,
                    args.character_id,
                    references,
                    policy,
                    max_regenerations=args.max_regenerations,
                    dry_run=args.dry_run,
                    poll_interval=args.poll_interval,
                    log=say,
                    tries=tries,
                    summary=summary,
                )
        except NoReferencesError as exc:
            sys.stderr.write(f"animus-prep: error: {exc}\n")
            _write_json(args, summary, references, source, error=str(exc), resume=None)
            return EXIT_REJECTED
        except (AnimusError, KeyboardInterrupt) as exc:
            _stopped(args, summary, exc)
            reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
            write_report(args, summary, effective, character_id=args.character_id, stopped=reason)
            _write_json(
                args, summary, references, source, error=reason, resume=command_line(args.argv)
            )
            if isinstance(exc, KeyboardInterrupt):
                raise
            return EXIT_REJECTED
    write_report(args, summary, effective, character_id=args.character_id)
    if output_format(args) == "json":
        _write_json(args, summary, references, source)
    else:
        _print(summary, say, tell_for(args))
    if args.dry_run:
        return EXIT_OK
    return EXIT_OK if summary.dataset_approved else EXIT_REJECTED


@contextlib.contextmanager
def _regenerations(args: argparse.Namespace) -> Iterator[MutableMapping[str, int]]:
    """The regenerations asked of each render of the character, kept in the user's state
    journal (`state_journal_path`) so that --max-regenerations holds across an
    interrupted review and its rerun; for this run only when that journal cannot be
    opened (said as a notice)."""
    if args.dry_run:
        yield {}
        return
    path = state_journal_path()
    try:
        journal = WorkJournal(path)
    except JournalError as exc:
        why = "is damaged" if isinstance(exc, JournalDamagedError) else "cannot be made or opened"
        notice_for(args)(
            f"the regeneration budget holds for this run only: the journal {path} {why} "
            f"(set {STATE_DIR_VARIABLE} to a folder of your own to keep it there)"
        )
        yield {}
        return
    with journal:
        yield JournaledTries(journal, args.character_id)


def _write_json(
    args: argparse.Namespace,
    summary: ReviewSummary,
    references: list[ImageReport] | None,
    source: str,
    **stop: str | None,
) -> None:
    """With --json, the `animus-prep.review/1` document; a stopped review's carries
    ``error`` and ``resume`` (None: a rerun as it is cannot succeed), and ``references``
    None when it stopped before they were known."""
    if output_format(args) != "json":
        return
    doc = {
        "schema": SCHEMA,
        "character_id": args.character_id,
        "references": None
        if references is None
        else {
            "source": source,
            "identity": sum(r.embedding is not None for r in references),
            "photos": len(references),
        },
        **summary.to_json(),
        **stop,
    }
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")


def _references(
    args: argparse.Namespace, client: Client, policy: Policy
) -> tuple[list[ImageReport], str]:
    folder = None
    if args.reference:
        with process_pool(args.workers) as executor:
            try:
                folder = folder_references(args.reference, policy, executor)
            except LayoutError as exc:
                raise UsageError(str(exc)) from exc
        if not any(i.kind == "face" for i in folder.accepted):
            # As check, upload and run say it: each reference photo and why it is unusable.
            problems = [
                (i.path, "; ".join(f"{r.code.value}: {r.message}" for r in i.reasons))
                for i in folder.images
            ]
            raise UsageError(str(UnusableReferenceError(problems)))
    where = args.reference or f"character {args.character_id}"
    photos = character_photos(client, args.character_id, policy)
    return review_references(photos, folder, where), where


def _print(summary: ReviewSummary, out: Say, summary_line: Say) -> None:
    """A dry run's decisions (``out``: none with -q), then the summary lines, which -q
    keeps (``summary_line``)."""
    verb = "would " if summary.dry_run else ""
    if summary.dry_run:  # a real review said what it did as it went
        for v, action in zip(summary.verdicts, summary.actions, strict=False):
            codes = ", ".join(dict.fromkeys(r.code.value for r in v.reasons))
            name = v.filename or v.image_id
            out(f"would {action:10} {name}" + (f": {codes}" if codes else ""))
    counts = (
        f"{len(summary.approved)} {verb}approve, {len(summary.regenerated)} {verb}regenerate, "
        f"{len(summary.deleted)} {verb}delete"
    )
    if summary.verdicts:
        summary_line(counts)
    if summary.dataset_approved and not (summary.note and not summary.verdicts):
        summary_line("dataset approved")  # (else the note says it was, earlier)
    if summary.note:
        summary_line(summary.note)


def _stopped(args: argparse.Namespace, summary: ReviewSummary, exc: BaseException) -> None:
    reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
    done = []
    if summary.verdicts:
        done.append(
            f"{len(summary.verdicts)} renders judged: {len(summary.approved)} approved, "
            f"{len(summary.regenerated)} regenerated, {len(summary.deleted)} deleted"
        )
    not_done = ["the renders left" + ("" if args.dry_run else ", and the dataset approval")]
    note = "approved renders stay approved; a rerun judges the others again"
    report_stop(tell_for(args), reason, done, not_done, command_line(args.argv), note, error=exc)
