"""Commands that work on local files only: `check` and `crop`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..crops import DEFAULT_CROP_SIZE, crop_sources, destination_problem
from ..inspection.discover import LayoutError
from ..inspection.references import UnusableReferenceError
from ..inspection.run import preflight
from ..policy import Policy
from .batch import run_batch
from .cluster import work_executor
from .common import (
    EXIT_OK,
    EXIT_REJECTED,
    Subcommands,
    UsageError,
    add_report_option,
    add_run_options,
    batch_policy,
    existing_reference,
    load_policy,
    number_between,
    output_format,
    positive_int,
    process_pool,
    resolve_policy,
    write_report,
)
from .formats import (
    CHECK_COLUMNS,
    CROP_COLUMNS,
    check_jsonl,
    check_rows,
    crop_rows,
    write_rows,
)
from .output import (
    ProgressBar,
    Style,
    as_printed,
    render_table,
    summary_line,
    terminal_width,
    wants_color,
)


def add_check(sub: Subcommands) -> None:
    p = sub.add_parser(
        "check",
        help="judge every photo of a character folder before upload",
        description=(
            "Judge every file under PATH: a character folder (face/, body/<view>/) or, with "
            "--kind, any folder of one kind. Exit 0 when the check ran, 1 with --strict when "
            "anything was rejected, 2 for usage errors."
        ),
    )
    p.add_argument("path", metavar="PATH", help="character folder, or a folder/file with --kind")
    p.add_argument("--kind", choices=("face", "body"), help="every file under PATH is this kind")
    p.add_argument(
        "--view",
        help="body view for --kind body (image type body_image_VIEW; default: front)",
    )
    add_run_options(p, "print the JSON report on stdout")
    add_report_option(p)
    p.add_argument("--strict", action="store_true", help="exit 1 when any file is rejected")
    p.add_argument("--no-faces", action="store_true", help="skip face detection and identity")
    p.add_argument(
        "--reference",
        metavar="PATH",
        help="photos known to show the character (a folder, or one photo), for the identity check",
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="every reason of every file on its own line, with measured values; never cut",
    )
    p.add_argument(
        "--batch",
        action="store_true",
        help="PATH holds character folders: judge each subfolder as one character, with a "
        "report per character and a roll-up (--format jsonl: one line per character, then "
        "the roll-up); unchanged characters are not judged again",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="with --batch: judge every character again, even those unchanged since their "
        "last report",
    )
    p.add_argument(
        "--cross-identity",
        action="store_true",
        help="with --batch: warn when one person's photos appear under two characters",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the work on a dask.distributed cluster (e.g. tcp://10.0.0.5:8786; needs "
        "the dask extra); its workers must see PATH at the same absolute path and run "
        "the same animus-prep version; --workers is then unused",
    )
    p.set_defaults(run=_run_check)


def _run_check(args: argparse.Namespace) -> int:
    if args.quiet and args.verbose:
        raise UsageError("-q (the summary line only) and -v (every reason) ask for opposites")
    if not Path(args.path).exists():
        raise UsageError(f"{args.path}: no such file or folder")
    fmt = output_format(args)
    if args.batch:
        if fmt == "csv" or args.report:
            what = "--format csv" if fmt == "csv" else "--report"
            raise UsageError(f"{what} does not go with --batch (use --format jsonl)")
        # Each character is judged with its own policy (see `run_batch`); what the batch
        # itself needs (--cross-identity's threshold) comes from --config and the flags,
        # not from a file in the root, which applies to no character.
        return run_batch(args, batch_policy(args), fmt)
    effective = resolve_policy(args)
    policy = effective.policy
    for flag in ("force", "cross_identity"):
        if getattr(args, flag):
            raise UsageError(f"--{flag.replace('_', '-')} goes with --batch")
    if args.reference:
        existing_reference(args.reference)
    if args.view is not None and args.kind != "body":
        raise UsageError("--view goes with --kind body (a character folder names its views)")
    with work_executor(args.scheduler, args.workers, [Path(args.path)]) as executor:
        try:
            report = preflight(
                args.path,
                kind=args.kind,
                policy=policy,
                executor=executor,
                view=args.view or "front",
                reference=args.reference,
                progress=ProgressBar(quiet=args.quiet),
            )
        except (LayoutError, UnusableReferenceError) as exc:
            raise UsageError(str(exc)) from exc
    if fmt == "json":
        sys.stdout.write(report.dumps() + "\n")
    elif fmt in ("csv", "jsonl"):
        rows = check_rows(report) if fmt == "csv" else check_jsonl(report)
        write_rows(sys.stdout, fmt, rows, CHECK_COLUMNS)
    else:
        style = Style(wants_color(sys.stdout, args.color))
        if args.quiet:
            sys.stdout.write(summary_line(report, style) + "\n")
        else:
            table = render_table(
                report, verbose=args.verbose, width=terminal_width(sys.stdout), style=style
            )
            source = "" if effective.is_default else f"\npolicy: from {effective.source}"
            sys.stdout.write(table + source + "\n")
    if fmt != "text" or args.quiet:
        for warning in report.warnings:
            sys.stderr.write(f"warning: {as_printed(warning)}\n")
    write_report(args, report, effective)
    if args.strict and report.rejected:
        return EXIT_REJECTED
    return EXIT_OK


def add_crop(sub: Subcommands) -> None:
    p = sub.add_parser(
        "crop",
        help="write one square, face-centred crop per accepted face photo",
        description=(
            "Pre-flight each SRC (face photos: folders or files), then write one square crop "
            "centred on the face of every accepted photo into DIR, shifted to stay inside the "
            "image and never upscaled unless --allow-upscale. A photo whose crop would be "
            "under 512 px is reported, not written."
        ),
    )
    p.add_argument("sources", metavar="SRC", nargs="+", help="face photos: folders or files")
    p.add_argument("--out", metavar="DIR", required=True, help="folder for the crops")
    p.add_argument(
        "--size",
        type=positive_int,
        default=DEFAULT_CROP_SIZE,
        help=f"crop side in px (default: {DEFAULT_CROP_SIZE})",
    )
    p.add_argument(
        "--margin",
        type=number_between(0, 5),
        default=None,
        help="margin on each side, as a share of the face's size (default: the policy's "
        f"face_crop_margin, {Policy().face_crop_margin:g})",
    )
    p.add_argument("--allow-upscale", action="store_true", help="enlarge crops up to --size")
    add_run_options(p, "print a JSON summary on stdout")
    p.set_defaults(run=_run_crop)


def _run_crop(args: argparse.Namespace) -> int:
    for src in args.sources:
        if not Path(src).exists():
            raise UsageError(f"{src}: no such file or folder")
    policy = load_policy(args, args.sources[0])
    problem = destination_problem(args.sources, args.out)
    if problem is not None:
        raise UsageError(f"--out {problem}")
    try:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {args.out}: cannot make a folder there ({exc.strerror})") from exc
    if args.size < policy.min_side:
        sys.stderr.write(
            f"animus-prep: warning: --size {args.size} makes crops under {policy.min_side} px, "
            "the smallest reference photo the policy accepts (the server takes none under "
            "512 px)\n"
        )
    with process_pool(args.workers) as executor:
        try:
            outcomes = crop_sources(
                args.sources,
                args.out,
                size=args.size,
                margin=args.margin,
                allow_upscale=args.allow_upscale,
                policy=policy,
                executor=executor,
                progress=ProgressBar(quiet=args.quiet),
            )
        except (LayoutError, UnusableReferenceError) as exc:
            raise UsageError(str(exc)) from exc
    fmt = output_format(args)
    written = sum(1 for o in outcomes if o.output)
    if fmt == "json":
        doc = {"schema": "animus-prep.crops/1", "crops": [o.to_json() for o in outcomes]}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif fmt in ("csv", "jsonl"):
        write_rows(sys.stdout, fmt, crop_rows(outcomes), CROP_COLUMNS)
    else:
        style = Style(wants_color(sys.stdout, args.color))
        for o in outcomes if not args.quiet else ():
            if o.output:
                sys.stdout.write(f"{style.good('ok')} {o.source} -> {o.output} ({o.size} px)\n")
            else:
                codes = ",".join(dict.fromkeys(r.code.value for r in o.reasons))
                why = o.reasons[0].message if o.reasons else o.skipped
                sys.stdout.write(f"{style.bad('--')} {o.source}: {style.bad(codes)}: {why}\n")
        lead = "" if args.quiet else "\n"
        sys.stdout.write(f"{lead}{written} crops written, {len(outcomes) - written} skipped\n")
    return EXIT_OK
