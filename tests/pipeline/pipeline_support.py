"""Shared pieces for the pipeline tests: a character folder of real photos."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from animus_prep import Client

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "character"


def example_character(tmp_path: Path) -> Path:
    """A private copy of the bundled example character (so journals stay in tmp), without
    any journal a run in the examples folder left there."""
    root = tmp_path / "character"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".animus-prep"))
    return root


def sandbox_character(
    client: Client, root: Path, accepted: list[Any], name: str, generate: bool = True
) -> str:
    """A sandbox character with the accepted photos uploaded and, unless told otherwise,
    its dataset rendered."""
    cid = client.characters.create(name).character_id or ""
    for img in accepted:
        data = (root / img.path).read_bytes()
        filename = Path(img.path).name
        if img.kind == "face":
            client.assets.upload_face(cid, data, filename=filename)
        else:
            client.assets.upload_body(cid, data, filename=filename, image_type=img.image_type)
    if generate:
        client.dataset.generate(cid)
        client.dataset.wait_until_generated(cid, timeout=120, interval=0.2)
    return cid
