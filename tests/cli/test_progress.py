"""The progress bar on a terminal: it fits the line, and messages never land on it."""

from __future__ import annotations

import argparse
import io
import logging

import pytest

from animus_prep.cli.connect import _retries_said, notice_for, tell_for
from animus_prep.cli.output import ProgressBar, clear_progress


class Terminal(io.StringIO):
    """A stream that says it is a terminal, and what a terminal would show."""

    def isatty(self) -> bool:
        return True

    def screen(self) -> list[str]:
        """The lines as shown: a carriage return goes back to the line's start."""
        lines = [""]
        for ch in self.getvalue():
            if ch == "\n":
                lines.append("")
            elif ch == "\r":
                lines[-1] = "\0" + lines[-1].replace("\0", "")
            else:
                row = lines[-1]
                at = row.index("\0") if "\0" in row else len(row)
                rest = row[at + 1 :] if "\0" in row else ""
                lines[-1] = row[:at] + ch + "\0" + rest[1:]
        return [line.replace("\0", "").rstrip() for line in lines]


@pytest.fixture(autouse=True)
def narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("LINES", "24")


def test_bar_fits_the_terminal_and_clears_when_done() -> None:
    term = Terminal()
    bar = ProgressBar(term, min_interval=0.0)
    bar(3, 10, "face/" + "very-long-name-" * 10 + ".jpg")
    (line,) = term.screen()
    assert line.startswith("[") and "3/10" in line
    assert len(line) < 60
    bar(10, 10, "face/last.jpg")
    assert term.screen() == [""]


def test_a_message_takes_the_bar_off_the_line_first(monkeypatch: pytest.MonkeyPatch) -> None:
    term = Terminal()
    monkeypatch.setattr("sys.stdout", term)
    bar = ProgressBar(term, min_interval=0.0)
    bar(4, 10, "face/a.jpg")
    tell_for(argparse.Namespace(format="text", json=False))("character c1: 4 uploaded")
    assert term.screen() == ["character c1: 4 uploaded", ""]
    bar(5, 10, "face/b.jpg")  # the bar comes back below the message
    assert term.screen()[0] == "character c1: 4 uploaded"
    assert "5/10" in term.screen()[1]


def test_a_retry_notice_takes_the_bar_off_the_line(monkeypatch: pytest.MonkeyPatch) -> None:
    term = Terminal()
    monkeypatch.setattr("sys.stderr", term)
    bar = ProgressBar(term, min_interval=0.0)
    bar(2, 10, "face/a.jpg")

    with _retries_said(notice_for(argparse.Namespace(quiet=False))):
        logging.getLogger("animus_prep.client").info(
            "retrying %s %s in %.2fs after %s (attempt %d of %d)",
            "POST", "/characters/c1/images", 1.5, "ServerError", 1, 3,
        )  # fmt: skip
    assert term.screen()[0].startswith("animus-prep: retrying POST /characters/c1/images")
    assert term.screen()[1] == ""


def test_no_bar_off_a_terminal_or_when_quiet() -> None:
    piped = io.StringIO()
    ProgressBar(piped, min_interval=0.0)(1, 2, "a.jpg")
    quiet = Terminal()
    ProgressBar(quiet, min_interval=0.0, quiet=True)(1, 2, "a.jpg")
    clear_progress()
    assert piped.getvalue() == "" and quiet.getvalue() == ""


def test_the_library_s_warnings_are_notices_and_its_chatter_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    term = Terminal()
    monkeypatch.setattr("sys.stderr", term)
    with _retries_said(notice_for(argparse.Namespace(quiet=False))):
        logging.getLogger("animus_prep.review").warning("cannot download %s: %s", "r1", "gone")
        logging.getLogger("animus_prep.client").info("GET /characters: already done")
    assert term.getvalue() == "animus-prep: cannot download r1: gone\n"
