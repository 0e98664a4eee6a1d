"""Shared pieces for the pipeline tests: a character folder of real photos."""

from __future__ import annotations

import shutil
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "character"


def example_character(tmp_path: Path) -> Path:
    """A private copy of the bundled example character (so journals stay in tmp)."""
    root = tmp_path / "character"
    shutil.copytree(EXAMPLES, root)
    return root
