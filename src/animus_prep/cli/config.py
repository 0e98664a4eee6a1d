"""The `config` command: the policy that applies to a folder, and where each value came
from."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

from ..config import DEFAULT, EffectivePolicy
from ..policy import Policy
from .common import EXIT_OK, Subcommands, UsageError, output_format, resolve_policy


def add_config(sub: Subcommands) -> None:
    p = sub.add_parser(
        "config",
        help="show the policy that applies to a folder and where each value came from",
        description=(
            "Print the policy `check`, `upload` and `run` would use for PATH (default: the "
            "current folder): --config FILE when given, else animus-prep.toml in PATH, else "
            "the [tool.animus-prep] table of the nearest pyproject.toml in PATH or above it, "
            "else the defaults; with the origin of every value."
        ),
    )
    p.add_argument("path", metavar="PATH", nargs="?", default=".", help="the character folder")
    p.add_argument("--config", metavar="FILE", help="policy file (TOML or JSON) to show instead")
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--format", choices=("text", "json"), help="text (default) or json (animus-prep.config/1)"
    )
    group.add_argument("--json", action="store_true", help="print JSON (--format json)")
    p.set_defaults(run=_run_config)


def _run_config(args: argparse.Namespace) -> int:
    if not Path(args.path).exists():
        raise UsageError(f"{args.path}: no such file or folder")
    effective = resolve_policy(args)
    if output_format(args) == "json":
        sys.stdout.write(json.dumps(effective.to_json(), indent=2) + "\n")
    else:
        sys.stdout.write(render_config(effective) + "\n")
    return EXIT_OK


def render_config(effective: EffectivePolicy) -> str:
    """One line per setting: name, value, origin."""
    names = [f.name for f in fields(Policy)]
    width = max(len(n) for n in names)
    values = {n: _value(getattr(effective.policy, n)) for n in names}
    value_w = max(len(v) for v in values.values())
    head = (
        "policy: defaults only (no policy file found)"
        if effective.file is None
        else f"policy file: {effective.file}"
    )
    lines = [head]
    for name in names:
        origin = effective.origins.get(name, DEFAULT)
        lines.append(f"  {name:<{width}}  {values[name]:<{value_w}}  {origin}")
    return "\n".join(lines)


def _value(value: object) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)
