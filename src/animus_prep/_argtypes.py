"""argparse value types shared by the `animus-prep` and `animus-prep sandbox` commands."""

from __future__ import annotations

import argparse
import math
import unicodedata
from collections.abc import Callable


def positive_int(value: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def number_between(low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    """argparse type: a number in [low, high] (or (low, high] with `low_open`)."""

    def parse(value: str) -> float:
        try:
            x = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
        if not math.isfinite(x):
            raise argparse.ArgumentTypeError(f"not a finite number: {value!r}")
        if not (low < x if low_open else low <= x) or not x <= high:
            if high == float("inf"):
                raise argparse.ArgumentTypeError(f"must be {'>' if low_open else '>='} {low:g}")
            opening = "(" if low_open else "["
            raise argparse.ArgumentTypeError(f"must be within {opening}{low:g}, {high:g}]")
        return x

    return parse


def api_id(value: str) -> str:
    """argparse type: an id the API gave (a character's, a job's): not empty, not `.` or
    `..` (which a URL would read as a folder of the path, not an id)."""
    if not value.strip():
        raise argparse.ArgumentTypeError("an id must not be empty")
    if value in (".", ".."):
        raise argparse.ArgumentTypeError(f"{value!r} is not an id")
    return value


def character_name(value: str) -> str:
    """argparse type: a character's name (the API refuses an empty one), on one line: a
    line break or another control character in it is a paste gone wrong, and would show
    as one in every list of characters."""
    if not value.strip():
        raise argparse.ArgumentTypeError("a name must not be empty")
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise argparse.ArgumentTypeError(
            f"{value!r}: a name must be one line of text (it holds a control character)"
        )
    return value
