"""Commands that work on local files only: `check` and `crop`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..crops import DEFAULT_CROP_SIZE, crop_sources
from ..inspection.discover import LayoutError
from ..inspection.run import preflight
from ..policy import Policy
from .batch import FORMATS, run_batch
from .cluster import work_executor
from .common import (
    EXIT_OK,
    EXIT_REJECTED,
    Subcommands,
    UsageError,
    add_run_options,
    existing_folder,
    load_policy,
    number_between,
    positive_int,
    process_pool,
)
from .output import ProgressBar, render_table


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
    p.add_argument("--strict", action="store_true", help="exit 1 when any file is rejected")
    p.add_argument("--no-faces", action="store_true", help="skip face detection and identity")
    p.add_argument(
        "--reference",
        metavar="DIR",
        help="photos known to show the character, for the identity check",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="show every reason per file")
    p.add_argument(
        "--format",
        choices=FORMATS,
        help="text: a table (default); json: one JSON document (as --json); jsonl: JSON "
        "lines, one report per line (with --batch: one per character, then a roll-up)",
    )
    p.add_argument(
        "--batch",
        action="store_true",
        help="PATH holds character folders: judge each subfolder as one character, with a "
        "report per character and a roll-up; unchanged characters are not judged again",
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


def output_format(args: argparse.Namespace) -> str:
    """The output format asked for: --format, or --json (they must agree)."""
    if args.json and args.format not in (None, "json"):
        raise UsageError(f"--json and --format {args.format} disagree: choose one")
    return "json" if args.json else (args.format or "text")


def _run_check(args: argparse.Namespace) -> int:
    policy = load_policy(args)
    fmt = output_format(args)
    if not Path(args.path).exists():
        raise UsageError(f"{args.path}: no such file or folder")
    if args.batch:
        return run_batch(args, policy, fmt)
    for flag in ("force", "cross_identity"):
        if getattr(args, flag):
            raise UsageError(f"--{flag.replace('_', '-')} goes with --batch")
    if args.reference:
        existing_folder(args.reference)
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
                progress=ProgressBar(),
            )
        except LayoutError as exc:
            raise UsageError(str(exc)) from exc
    if fmt == "json":
        sys.stdout.write(report.dumps() + "\n")
    elif fmt == "jsonl":
        sys.stdout.write(report.dumps(indent=None) + "\n")
    else:
        sys.stdout.write(render_table(report, verbose=args.verbose) + "\n")
    if fmt != "text":
        for warning in report.warnings:
            sys.stderr.write(f"warning: {warning}\n")
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
    policy = load_policy(args)
    for src in args.sources:
        if not Path(src).exists():
            raise UsageError(f"{src}: no such file or folder")
    try:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {args.out}: cannot make a folder there ({exc.strerror})") from exc
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
                progress=ProgressBar(),
            )
        except LayoutError as exc:
            raise UsageError(str(exc)) from exc
    if args.json:
        doc = {"schema": "animus-prep.crops/1", "crops": [o.to_json() for o in outcomes]}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return EXIT_OK
    for o in outcomes:
        if o.output:
            sys.stdout.write(f"ok {o.source} -> {o.output} ({o.size} px)\n")
        else:
            sys.stdout.write(f"-- {o.source}: {o.skipped}\n")
    written = sum(1 for o in outcomes if o.output)
    sys.stdout.write(f"\n{written} crops written, {len(outcomes) - written} skipped\n")
    return EXIT_OK
