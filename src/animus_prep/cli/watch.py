"""Watching long jobs: one live status line on a terminal, one line per phase otherwise.

A training reports a percentage on every poll; printing each would bury the log (and a
CI log or a file gets one line per poll for hours). On a terminal the percentage and the
ETA update a single line in place, and every phase change also stays as a line of its
own; anywhere else only the phase changes are written.
"""

from __future__ import annotations

import shutil
from typing import TextIO

from ..client import TrainingProgress
from ..pipeline.training import TrainingWatcher, describe, phase_lines
from .output import as_printed

_CLEAR = "\r\x1b[K"


class Console:
    """Log lines on ``stream``, plus a live status line when it is a terminal."""

    def __init__(self, stream: TextIO, live: bool | None = None, *, quiet: bool = False) -> None:
        self.stream = stream
        self.quiet = quiet
        self.live = (stream.isatty() if live is None else live) and not quiet
        self._showing = False

    def say(self, message: str) -> None:
        """A progress line that stays (none with -q)."""
        if not self.quiet:
            self.tell(message)

    def tell(self, message: str) -> None:
        """A line that stays whatever -q says (a stop and how to go on); the live line, if
        shown, is cleared first. Control characters are escaped (`as_printed`): a line
        may carry the server's words, and a terminal must not act on them."""
        self._clear()
        self.stream.write(as_printed(message) + "\n")
        self.stream.flush()

    def status(self, text: str) -> None:
        """Replace the live line (nothing happens when not on a terminal)."""
        if not self.live:
            return
        width = max(20, shutil.get_terminal_size((100, 24)).columns - 1)
        shown = text if len(text) <= width else text[: width - 1] + "…"
        self.stream.write(_CLEAR + shown)
        self.stream.flush()
        self._showing = True

    def close(self) -> None:
        """Leave the terminal on a clean line."""
        self._clear()

    def _clear(self) -> None:
        if self._showing:
            self.stream.write(_CLEAR)
            self._showing = False


def training_watcher(console: Console) -> TrainingWatcher:
    """Phase changes as lines; on a terminal also the live percentage and ETA."""
    phases = phase_lines(console.say)

    def watch(kind: str, progress: TrainingProgress) -> None:
        phases(kind, progress)
        if not progress.state.is_terminal:
            console.status(describe(kind, progress))

    return watch


__all__ = ["Console", "training_watcher"]
