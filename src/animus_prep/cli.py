"""The `animus-prep` command: parse options, call the library, render the result."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path

from . import __version__
from .cropping import crop_sources
from .discover import LayoutError
from .policy import Policy, PolicyError
from .preflight import preflight
from .render import ProgressBar, render_table

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad arguments or paths: reported on stderr, exit status 2."""


def _workers(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def _add_check(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
        default="front",
        help="body view for --kind body (image type body_image_VIEW; default: front)",
    )
    p.add_argument("--json", action="store_true", help="print the JSON report on stdout")
    p.add_argument("--strict", action="store_true", help="exit 1 when any file is rejected")
    p.add_argument(
        "--workers",
        type=_workers,
        default=os.cpu_count() or 1,
        help="worker processes (default: all cores)",
    )
    p.add_argument("--config", metavar="FILE", help="policy file (TOML or JSON)")
    p.add_argument("--no-faces", action="store_true", help="skip face detection and identity")
    p.add_argument(
        "--reference",
        metavar="DIR",
        help="photos known to show the character, for the identity check",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="show every reason per file")
    p.set_defaults(run=_run_check)


def _positive(value: str) -> int:
    n = _workers(value)
    return n


def _margin(value: str) -> float:
    try:
        m = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0 <= m <= 5:
        raise argparse.ArgumentTypeError("must be between 0 and 5")
    return m


def _add_crop(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    p.add_argument("--size", type=_positive, default=1024, help="crop side in px (1024)")
    p.add_argument("--margin", type=_margin, default=0.6, help="margin per side (0.6 of face)")
    p.add_argument("--allow-upscale", action="store_true", help="enlarge crops up to --size")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument("--config", metavar="FILE", help="policy file (TOML or JSON)")
    p.add_argument(
        "--workers",
        type=_workers,
        default=os.cpu_count() or 1,
        help="worker processes (default: all cores)",
    )
    p.set_defaults(run=_run_crop)


def _run_crop(args: argparse.Namespace) -> int:
    policy = _load_policy(args)
    for src in args.sources:
        if not Path(src).exists():
            raise UsageError(f"{src}: no such file or folder")
    with _executor(args.workers) as executor:
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


@contextlib.contextmanager
def _executor(workers: int) -> Iterator[Executor | None]:
    if workers <= 1:
        yield None
        return
    pool = ProcessPoolExecutor(max_workers=workers)
    try:
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)


def _load_policy(args: argparse.Namespace) -> Policy:
    try:
        policy = Policy.from_file(args.config) if args.config else Policy()
        if getattr(args, "no_faces", False):
            policy = policy.with_overrides({"faces": False})
    except PolicyError as exc:
        raise UsageError(str(exc)) from exc
    return policy


def _run_check(args: argparse.Namespace) -> int:
    policy = _load_policy(args)
    if not Path(args.path).exists():
        raise UsageError(f"{args.path}: no such file or folder")
    if args.reference and not Path(args.reference).is_dir():
        raise UsageError(f"{args.reference}: no such folder")
    with _executor(args.workers) as executor:
        try:
            report = preflight(
                args.path,
                kind=args.kind,
                policy=policy,
                executor=executor,
                view=args.view,
                reference=args.reference,
                progress=ProgressBar(),
            )
        except LayoutError as exc:
            raise UsageError(str(exc)) from exc
    if args.json:
        sys.stdout.write(report.dumps() + "\n")
    else:
        sys.stdout.write(render_table(report, verbose=args.verbose) + "\n")
    if args.json:
        for warning in report.warnings:
            sys.stderr.write(f"warning: {warning}\n")
    if args.strict and report.rejected:
        return EXIT_REJECTED
    return EXIT_OK


def _run_sandbox(argv: Sequence[str]) -> int:
    from .sandbox.cli import main as sandbox_main

    return sandbox_main(list(argv))


_PASSTHROUGH: dict[str, Callable[[Sequence[str]], int]] = {"sandbox": _run_sandbox}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="animus-prep",
        description="Prepare characters for LoRA training on the Animus pipeline.",
    )
    parser.add_argument("--version", action="version", version=f"animus-prep {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_check(sub)
    _add_crop(sub)
    sub.add_parser(
        "sandbox",
        help="run a local server that behaves like the Animus API",
        add_help=False,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `animus-prep` command; returns the exit status."""
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
    except KeyboardInterrupt:
        sys.stderr.write("animus-prep: interrupted\n")
        return 130
    return status


if __name__ == "__main__":
    raise SystemExit(main())
