"""Read-only views of sandbox internals that the API deliberately hides (for tests)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fastapi import FastAPI

from .context import Sandbox


def _database(source: FastAPI | str | Path) -> Path:
    if isinstance(source, FastAPI):
        sandbox: Sandbox = source.state.sandbox
        return sandbox.store.path
    return Path(source) / "sandbox.sqlite3"


def injected_defects(source: FastAPI | str | Path, character_id: str) -> dict[str, str | None]:
    """Map each dataset image id of a character to its injected defect (None if clean).

    `source` is an app from `create_app` or the `--data` folder of a running sandbox.
    """
    uri = f"file:{_database(source)}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        rows = conn.execute(
            "SELECT image_id, defect FROM dataset_images WHERE character_id = ? ORDER BY idx",
            (character_id,),
        ).fetchall()
    conn.close()
    return {str(image_id): defect for image_id, defect in rows}
