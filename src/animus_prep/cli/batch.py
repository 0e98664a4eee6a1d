"""`animus-prep check ROOT --batch`: one report per character folder, then a roll-up.

Output streams as characters finish: a line per character (text), a JSON line per
character (jsonl), or one JSON document written piece by piece (json); nothing is held
but the roll-up's counts (and, with --cross-identity, one embedding per character).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..config import FOLDER_FILE, find_policy_file
from ..inspection.batch import (
    BATCH_SCHEMA,
    ERROR,
    UNCHANGED,
    CharacterResult,
    CrossIdentity,
    Rollup,
    character_folders,
    check_batch,
)
from ..inspection.discover import LayoutError, is_character_folder
from ..policy import Policy, PolicyError
from .cluster import work_executor
from .common import EXIT_OK, EXIT_REJECTED, UsageError, policy_for
from .output import ProgressBar, as_printed, files

FORMATS = ("text", "json", "jsonl")


def run_batch(args: argparse.Namespace, policy: Policy, fmt: str) -> int:
    """Judge every character folder under args.path and write the results."""
    for flag, name in (("kind", "--kind"), ("view", "--view"), ("reference", "--reference")):
        if getattr(args, flag) is not None:
            raise UsageError(f"{name} does not go with --batch (each subfolder is a character)")
    root = Path(args.path)
    if not root.is_dir():
        raise UsageError(f"{args.path} is a file: --batch takes a folder of character folders")
    if args.cross_identity and not (policy.faces and policy.identity):
        off = "--no-faces" if args.no_faces else "--config's faces or identity = false"
        raise UsageError(f"--cross-identity compares identities, which {off} turns off")
    try:
        folders, skipped = character_folders(root)
    except LayoutError as exc:
        raise UsageError(str(exc)) from exc
    if is_character_folder(root) and not any(is_character_folder(f) for f in folders):
        raise UsageError(
            f"{args.path} is itself a character folder (it holds face/ or body/): check it "
            "without --batch, or give --batch the folder that holds the characters"
        )
    rollup = Rollup(warnings=[_skipped(w, root) for w in skipped])
    if not folders:
        rollup.warnings.insert(
            0,
            f"{args.path} holds no character folders: nothing was judged (--batch judges "
            "each subfolder of it, with face/ and/or body/, as one character)",
        )
    cross = CrossIdentity(policy.identity_threshold) if args.cross_identity else None
    progress = ProgressBar()
    out = sys.stdout
    if fmt == "json":
        out.write(f'{{"schema": "{BATCH_SCHEMA}", "characters": [')
    with work_executor(args.scheduler, args.workers, [root]) as executor:
        results = check_batch(
            root,
            policy,
            executor,
            force=args.force,
            spread=args.scheduler is not None,
            warnings=rollup.warnings,
            policies=lambda folder: policy_for(args, folder).policy,
        )
        for n, result in enumerate(results, 1):
            rollup.add(result)
            if cross is not None:
                cross.add(result)
            if not (args.quiet and fmt == "text"):
                _write(result, fmt, first=n == 1, verbose=args.verbose)
            progress(n, len(folders), result.name)
    if cross is not None:
        rollup.warnings.extend(cross.warnings())
    _write_rollup(rollup, fmt, quiet=args.quiet)
    rejected = rollup.images["rejected"] or rollup.statuses[ERROR]
    return EXIT_REJECTED if args.strict and rejected else EXIT_OK


def _skipped(warning: str, root: Path) -> str:
    """A top-level entry that is not a character, said as what it is when it is a policy
    file: an animus-prep.toml there applies to no character; a pyproject.toml with
    [tool.animus-prep] applies to every character without a file of its own."""
    if warning.startswith(f"{FOLDER_FILE}:"):
        return (
            f"{FOLDER_FILE}: a policy file here applies to no character (each is judged with "
            "its own folder's file, else a pyproject.toml [tool.animus-prep] above it); for "
            "every character, use a pyproject.toml here or --config"
        )
    if warning.startswith("pyproject.toml:"):
        try:
            found = find_policy_file(root / "pyproject.toml")
        except PolicyError as exc:
            return f"pyproject.toml: {exc}"
        if found is not None and found[0] == (root / "pyproject.toml").resolve():
            return (
                "pyproject.toml: its [tool.animus-prep] applies to every character "
                "without an animus-prep.toml of its own"
            )
    return warning


def _write(result: CharacterResult, fmt: str, *, first: bool, verbose: bool) -> None:
    out = sys.stdout
    if fmt == "jsonl":
        out.write(json.dumps(result.to_json(), ensure_ascii=False, allow_nan=False) + "\n")
    elif fmt == "json":
        out.write(("" if first else ",") + "\n  ")
        out.write(json.dumps(result.to_json(), ensure_ascii=False, allow_nan=False))
    else:
        out.write(_text_line(result, verbose) + "\n")
    out.flush()


def _text_line(result: CharacterResult, verbose: bool) -> str:
    name = as_printed(result.name)
    if result.error is not None:
        return f"{name}: error ({result.error['code']}): {as_printed(result.error['message'])}"
    report: dict[str, Any] = result.report or {}
    s = report.get("summary", {})
    reasons = ", ".join(f"{k} {v}" for k, v in s.get("rejected_by_reason", {}).items())
    line = (
        f"{name}: {files(s.get('total', 0))}, {s.get('accepted', 0)} accepted, "
        f"{s.get('rejected', 0)} rejected" + (f" ({reasons})" if reasons else "")
    )
    if result.status == UNCHANGED:
        line += "; unchanged since its last check"
    lines = [line]
    if verbose:
        for img in report.get("images", []):
            for r in img.get("reasons", []):
                lines.append(
                    f"  {as_printed(img['path'])}: {r['code']}: {as_printed(r['message'])}"
                )
    lines.extend(f"  warning: {as_printed(w)}" for w in report.get("warnings", []))
    return "\n".join(lines)


def _write_rollup(rollup: Rollup, fmt: str, *, quiet: bool = False) -> None:
    out = sys.stdout
    doc = rollup.to_json()
    if fmt == "jsonl":
        out.write(json.dumps(doc, ensure_ascii=False) + "\n")
    elif fmt == "json":
        out.write("\n], " + json.dumps({"rollup": doc}, ensure_ascii=False)[1:] + "\n")
    else:
        images = doc["images"]
        reasons = ", ".join(f"{k} {v}" for k, v in doc["rejected_by_reason"].items())
        out.write(
            ("" if quiet else "\n")
            + f"{doc['characters']} characters ({doc['judged']} judged, {doc['unchanged']} "
            f"unchanged, {doc['errors']} with errors): {files(images['total'])}, "
            f"{images['accepted']} accepted, {images['rejected']} rejected"
            + (f" ({reasons})" if reasons else "")
            + "\n"
        )
        if not quiet:
            out.writelines(f"warning: {as_printed(w)}\n" for w in doc["warnings"])
    if fmt != "text" or quiet:  # with -q, the summary line alone is on stdout
        for w in doc["warnings"]:
            sys.stderr.write(f"warning: {as_printed(w)}\n")
