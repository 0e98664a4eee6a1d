"""`animus-prep status CHARACTER_ID`: where a character stands in the pipeline."""

from __future__ import annotations

import argparse
import json
import sys

from .._argtypes import api_id
from ..client import AnimusError
from ..pipeline.status import SCHEMA as STATUS_SCHEMA
from ..pipeline.status import CharacterStatus, character_status
from .common import EXIT_OK, Subcommands
from .connect import add_connection_options, open_client


def add_status(sub: Subcommands) -> None:
    p = sub.add_parser(
        "status",
        help="show a character's photos, dataset, trainings and generation readiness",
        description=(
            "Show where CHARACTER_ID stands: its uploaded photos by type, its dataset "
            "counts, every training job, and whether it is ready for generation."
        ),
    )
    p.add_argument("character_id", metavar="CHARACTER_ID", type=api_id, help="the character's id")
    p.add_argument("--json", action="store_true", help="print animus-prep.status/1 on stdout")
    add_connection_options(p, long_running=False)
    p.set_defaults(run=_run_status)


def _run_status(args: argparse.Namespace) -> int:
    try:
        with open_client(args) as client:
            status = character_status(client, args.character_id)
    except (AnimusError, KeyboardInterrupt) as exc:
        if args.json:  # the document still comes, with `error`
            reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
            doc = {"schema": STATUS_SCHEMA, "character_id": args.character_id, "error": reason}
            sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        raise
    if args.json:
        sys.stdout.write(json.dumps(status.to_json(), indent=2) + "\n")
    else:
        sys.stdout.write(render_status(status) + "\n")
    return EXIT_OK


def render_status(s: CharacterStatus) -> str:
    """The status as a few readable lines."""
    c, d = s.character, s.dataset
    lines = [f"character {c.name} ({c.character_id})" + _step(c.current_step)]
    photos = ", ".join(f"{n} {kind}" for kind, n in s.assets.items()) or "none"
    lines.append(f"photos: {photos}")
    dataset = f"dataset: {d.dataset_status or 'unknown'}"
    if d.total_images:
        dataset += f", {d.total_images} renders, {d.approved_images or 0} approved"
        if d.min_required:
            dataset += f" (at least {d.min_required} needed)"
    lines.append(dataset)
    if not s.trainings:
        lines.append("trainings: none")
    else:
        lines.append("trainings:")
        for j in s.trainings:
            line = f"  {j.job_id}  {j.job_type or '?':9}  {j.status or '?'}"
            if j.progress is not None and not j.state.is_terminal:
                line += f" {j.progress:.0f}%"
            if j.training_phase and j.training_phase != j.status and not j.state.is_terminal:
                line += f" ({j.training_phase})"
            if j.eta_minutes and not j.state.is_terminal:
                line += f", about {j.eta_minutes:.0f} min left"
            if j.error:
                line += f": {j.error}"
            lines.append(line)
    doc = s.to_json()
    loras = f"face LoRA {doc['face_lora'] or 'none'}, body LoRA {doc['body_lora'] or 'none'}"
    lines.append(f"generation ready: {'yes' if s.generation_ready else 'no'} ({loras})")
    return "\n".join(lines)


def _step(step: int | None) -> str:
    return f", step {step}" if step is not None else ""
