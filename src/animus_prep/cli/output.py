"""Terminal output: the verdict table, the summary and a progress bar."""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

from ..inspection.report import Report


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def render_table(report: Report, *, verbose: bool = False) -> str:
    """A readable table: one line per file, rejections with their first reason."""
    cols = shutil.get_terminal_size((110, 24)).columns
    path_w = min(48, max((len(i.path) for i in report.images), default=4))
    lines = [f"{'':2} {'file':<{path_w}} {'size':>11}  verdict"]
    for img in report.images:
        mark = "ok" if img.accepted else "--"
        size = f"{img.width}x{img.height}" if img.width and img.height else "?"
        if img.accepted:
            verdict = "accepted"
        else:
            codes = ",".join(dict.fromkeys(r.code.value for r in img.reasons))
            verdict = f"{codes}: {img.reasons[0].message}"
        room = max(20, cols - path_w - 18)
        lines.append(
            f"{mark:2} {_short(img.path, path_w):<{path_w}} {size:>11}  {_short(verdict, room)}"
        )
        if verbose:
            lines.extend(f"{'':{path_w + 17}}{r.code.value}: {r.message}" for r in img.reasons[1:])
    s = report.summary()
    lines.append("")
    by_reason = ", ".join(f"{k} {v}" for k, v in s["rejected_by_reason"].items())
    lines.append(
        f"{s['total']} files: {s['accepted']} accepted, {s['rejected']} rejected"
        + (f" ({by_reason})" if by_reason else "")
    )
    for kind, entry in s["by_kind"].items():
        lines.append(f"  {kind}: {entry['accepted']} of {entry['total']} accepted")
    lines.extend(f"warning: {w}" for w in report.warnings)
    return "\n".join(lines)


class ProgressBar:
    """A one-line progress bar on a terminal; silent when the stream is not a TTY."""

    def __init__(self, stream: TextIO | None = None, min_interval: float = 0.1) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.min_interval = min_interval
        self._last = 0.0
        self._start = time.monotonic()

    def __call__(self, done: int, total: int, name: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < self.min_interval:
            return
        self._last = now
        width = 30
        filled = int(width * done / max(total, 1))
        rate = done / max(now - self._start, 1e-6)
        line = f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {rate:5.1f}/s "
        self.stream.write(line + _short(name, 40).ljust(40))
        if done >= total:
            self.stream.write("\r" + " " * (len(line) + 40) + "\r")
        self.stream.flush()
