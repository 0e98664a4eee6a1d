"""Terminal output: the verdict table, the summary line, colour and a progress bar.

Nothing is ever hidden: every reason code of a file is on its line. Only on a terminal,
and only without ``-v``, are long paths and messages shortened to fit its width; piped
to a file or another program, every line is whole.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import ClassVar, TextIO

from .._text import printable
from ..inspection.report import Report
from ..reasons import Reason

_GREEN, _RED, _YELLOW = "32", "31", "33"


class Style:
    """ANSI colour for verdicts, or none at all."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def _paint(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.enabled and text else text

    def good(self, text: str) -> str:
        return self._paint(_GREEN, text)

    def bad(self, text: str) -> str:
        return self._paint(_RED, text)

    def warn(self, text: str) -> str:
        return self._paint(_YELLOW, text)


def wants_color(stream: TextIO, mode: str = "auto") -> bool:
    """Colour for ``--color always``; for ``auto`` only on a terminal, and never when
    ``NO_COLOR`` is set (to anything but an empty string) or ``TERM`` is ``dumb``."""
    if mode != "auto":
        return mode == "always"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def terminal_width(stream: TextIO) -> int | None:
    """The width to fit lines to: the terminal's, or None (never cut) when not one."""
    isatty = getattr(stream, "isatty", None)
    if not (isatty and isatty()):
        return None
    return shutil.get_terminal_size((110, 24)).columns


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def as_printed(text: str) -> str:
    """``text`` as the text output prints it (`_text.printable`)."""
    return printable(text)


def _short_path(path: str, width: int) -> str:
    """A path cut in the middle, keeping the file name's end in view."""
    if len(path) <= width:
        return path
    head = max(1, (width - 1) // 3)
    return path[:head] + "…" + path[len(path) - (width - 1 - head) :]


def measured(reason: Reason) -> str:
    """A reason's measured value against its threshold, or "" when it has none."""
    if reason.score is None:
        return ""
    if reason.threshold is None:
        return f"[{reason.score:.4g}]"
    return f"[{reason.score:.4g}, limit {reason.threshold:.4g}]"


def render_table(
    report: Report,
    *,
    verbose: bool = False,
    width: int | None = None,
    style: Style | None = None,
) -> str:
    """One line per file with every reason code and the first reason's message.

    ``width`` (a terminal's) shortens paths and messages to fit, except with ``verbose``;
    ``verbose`` adds a line for each further reason, with measured values, and one for
    each of a file's notes.
    """
    st = style or Style(False)
    fit = width is not None and not verbose
    shown = {i.path: as_printed(i.path) for i in report.images}
    longest = max((len(p) for p in shown.values()), default=4)
    # On a terminal a path gets at most a third of the width (48 columns at most).
    path_w = min(48, longest, max(16, (width or 0) // 3)) if fit else longest
    lines = [f"{'':2} {'file':<{path_w}} {'size':>11}  verdict"]
    for img in report.images:
        size = f"{img.width}x{img.height}" if img.width and img.height else "?"
        path = _short_path(shown[img.path], path_w) if fit else shown[img.path]
        head = f"{path:<{path_w}} {size:>11}  "
        indent = " " * (path_w + 17)
        notes = [f"{indent}note: {as_printed(n)}" for n in img.notes] if verbose else []
        if img.accepted:
            lines.append(f"{st.good('ok')} {head}{st.good('accepted')}")
            lines.extend(notes)
            continue
        codes = ",".join(dict.fromkeys(r.code.value for r in img.reasons))
        first = img.reasons[0]
        message = as_printed(first.message)
        message += f" {measured(first)}" if verbose and measured(first) else ""
        if fit and width is not None:
            # The codes are never cut: the message takes what room is left (some always).
            message = _short(message, max(10, width - len(head) - len(codes) - 5))
        lines.append(f"{st.bad('--')} {head}{st.bad(codes)}: {message}")
        if verbose:
            for r in img.reasons[1:]:
                tail = f" {measured(r)}" if measured(r) else ""
                lines.append(f"{indent}{st.bad(r.code.value)}: {as_printed(r.message)}{tail}")
            lines.extend(notes)
    lines.append("")
    lines.append(summary_line(report, st))
    for kind, entry in report.summary()["by_kind"].items():
        lines.append(f"  {kind}: {entry['accepted']} of {entry['total']} accepted")
    lines.extend(st.warn(f"warning: {as_printed(w)}") for w in report.warnings)
    return "\n".join(lines)


def files(n: int) -> str:
    """``1 file``, ``2 files``."""
    return f"{n} file" if n == 1 else f"{n} files"


def summary_line(report: Report, style: Style | None = None) -> str:
    """``N files: A accepted, R rejected (code count, ...)``: all that ``-q`` prints."""
    st = style or Style(False)
    s = report.summary()
    by_reason = ", ".join(f"{k} {v}" for k, v in s["rejected_by_reason"].items())
    rejected = f"{s['rejected']} rejected"
    return (
        f"{files(s['total'])}: {st.good(str(s['accepted']) + ' accepted')}, "
        f"{st.bad(rejected) if s['rejected'] else rejected}"
        + (f" ({by_reason})" if by_reason else "")
    )


class ProgressBar:
    """A one-line progress bar on a terminal; silent when the stream is not a TTY, or
    ``quiet``. A message written while a bar is on the line takes it off first
    (`clear_progress`); the bar comes back at its next update."""

    _on_line: ClassVar[ProgressBar | None] = None

    def __init__(
        self, stream: TextIO | None = None, min_interval: float = 0.1, quiet: bool = False
    ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = not quiet and self.stream.isatty()
        self.min_interval = min_interval
        self._last = 0.0
        self._start = time.monotonic()
        self._shown = 0

    def __call__(self, done: int, total: int, name: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < self.min_interval:
            return
        self._last = now
        # Narrower than the terminal, so that the line never wraps (a wrapped line is
        # left behind on every update).
        columns = shutil.get_terminal_size((80, 24)).columns - 1
        width = max(5, min(30, columns - 40))
        filled = int(width * done / max(total, 1))
        rate = done / max(now - self._start, 1e-6)
        line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {rate:5.1f}/s "
        room = max(0, min(40, columns - len(line)))
        text = (line + _short(as_printed(name), room).ljust(room))[:columns]
        self._shown = len(text)
        self.stream.write("\r" + text)
        ProgressBar._on_line = self
        if done >= total:
            self.clear()
        self.stream.flush()

    def clear(self) -> None:
        """Take the bar off the line (before a message, or when work stops early)."""
        if self.enabled and self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self.stream.flush()
            self._shown = 0
        if ProgressBar._on_line is self:
            ProgressBar._on_line = None


def clear_progress() -> None:
    """Take whichever progress bar is on the line off it, before a message is written."""
    bar = ProgressBar._on_line
    if bar is not None:
        bar.clear()
