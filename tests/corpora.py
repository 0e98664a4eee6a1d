"""Where the optional shared corpora live: absent in a user's clone, so tests skip.

One environment variable, ``ANIMUS_PREP_SHARED``, names the folder; by default it is
``shared/`` beside the clone. The `shared` fixture (tests/conftest.py) skips without it.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "ANIMUS_PREP_SHARED"
REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    """The shared corpora folder, or None when it is not there."""
    env = os.environ.get(ENV)
    path = Path(env) if env else REPO.parent / "shared"
    return path if (path / "corpora").is_dir() else None
