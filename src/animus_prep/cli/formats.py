"""Machine-readable output: one row per file as CSV or JSON Lines.

Each command turns its result into rows (plain dicts, in column order); `write_rows`
writes them. In CSV a list becomes one cell with its items joined by ``;`` (reason codes
never contain one) and free text (messages, notes) by `` | ``; in JSON Lines lists stay lists.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from ..crops import CropOutcome
from ..inspection.report import ImageReport, Report
from ..pipeline.upload import UploadSummary

Row = dict[str, Any]

CHECK_COLUMNS = (
    "path",
    "kind",
    "image_type",
    "accepted",
    "reason_codes",
    "reason_messages",
    "width",
    "height",
    "format",
    "file_bytes",
    "duplicate_of",
    "identity_score",
    "faces",
    "sha256",
    "notes",
)


_TEXT_LISTS = {"reason_messages", "notes"}
"""Lists of free text, joined by `` | `` in CSV; other lists (codes, numbers) by ``;``."""
CROP_COLUMNS = ("source", "output", "size", "box", "reason_codes", "skipped")
UPLOAD_COLUMNS = ("path", "image_type", "status", "asset_id", "error", "reason_codes")


def check_rows(report: Report) -> list[Row]:
    """One row per file of a pre-flight, with every reason (CSV: `CHECK_COLUMNS`)."""
    return [_image_row(report.root, img) for img in report.images]


def _image_row(root: str, img: ImageReport) -> Row:
    return {
        "path": img.path,
        "kind": img.kind,
        "image_type": img.image_type,
        "accepted": img.accepted,
        "reason_codes": [r.code.value for r in img.reasons],
        "reason_messages": [r.message for r in img.reasons],
        "width": img.width,
        "height": img.height,
        "format": img.format,
        "file_bytes": img.metrics.get("file_bytes"),
        "duplicate_of": img.duplicate_of,
        "identity_score": None if img.identity_score is None else round(img.identity_score, 4),
        "faces": None if img.faces is None else len(img.faces),
        "sha256": img.sha256,
        "notes": list(img.notes),
    }


def check_jsonl(report: Report) -> list[Row]:
    """One object per file: the file's entry of the JSON report, plus its ``root``."""
    return [{"root": report.root, **img.to_json()} for img in report.images]


def crop_rows(outcomes: Sequence[CropOutcome]) -> list[Row]:
    """One row per source photo of `crop`."""
    return [
        {
            "source": o.source,
            "output": o.output,
            "size": o.size,
            "box": list(o.box) if o.box else None,
            "reason_codes": [r.code.value for r in o.reasons],
            "skipped": o.skipped,
        }
        for o in outcomes
    ]


def upload_rows(summary: UploadSummary) -> list[Row]:
    """One row per file of `upload`: what became of each accepted photo, and every
    rejected one with its reasons (status ``rejected``)."""
    done = {u.path: u for u in summary.uploads}
    rows: list[Row] = []
    for img in summary.report.images:
        outcome = done.get(img.path)
        rows.append(
            {
                "path": img.path,
                "image_type": img.image_type,
                "status": outcome.status if outcome else "rejected",
                "asset_id": outcome.asset_id if outcome else None,
                "error": outcome.error if outcome else None,
                "reason_codes": [r.code.value for r in img.reasons],
            }
        )
    return rows


def write_rows(stream: TextIO, fmt: str, rows: Iterable[Row], columns: Sequence[str]) -> None:
    """Write rows as ``csv`` (a header of ``columns``, then a line per row) or ``jsonl``."""
    if fmt == "jsonl":
        for row in rows:
            stream.write(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n")
        return
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(key, row.get(key)) for key in columns])


def _cell(key: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return _inert((" | " if key in _TEXT_LISTS else ";").join(str(v) for v in value))
    return _inert(str(value))


_FORMULA_STARTS = ("=", "@", "\t", "\r")
"""What a spreadsheet reads a cell starting with as a formula (or a command)."""
_SIGNS = ("+", "-")
_CALLS = ("(", "!", "|", "=")
"""What a formula needs to do harm: a function call, a reference to another sheet or
program, an assignment."""


def _inert(text: str) -> str:
    """A text cell a spreadsheet shows as text: one that would start a formula (a file
    named ``=HYPERLINK(...).jpg``, or ``+SUM(...).jpg``) gets a leading apostrophe, which
    the spreadsheet hides. A name that only starts with a sign (``-take2.jpg``) is left
    as it is: it can call nothing. Numbers are written as they are."""
    formula = text.startswith(_FORMULA_STARTS) or (
        text.startswith(_SIGNS) and any(c in text for c in _CALLS)
    )
    return "'" + text if formula else text
