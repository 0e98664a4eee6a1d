"""`crop --json` names why each photo was skipped with reason codes, like `check`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from animus_prep.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_every_skipped_crop_lists_its_reason_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    for name in ("ardern.jpg", "coffee.jpg", "ardern_blurry.jpg", "ardern_small.jpg"):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes((EXAMPLES / "character" / "face" / name).read_bytes())
    status = main(["crop", str(src), "--out", str(tmp_path / "out"), "--json", "--workers", "1"])
    assert status == 0
    crops = {
        c["source"].removeprefix("src/"): c for c in json.loads(capsys.readouterr().out)["crops"]
    }
    assert crops["ardern.jpg"]["reasons"] == []
    assert crops["ardern.jpg"]["skipped"] is None
    assert [r["code"] for r in crops["coffee.jpg"]["reasons"]] == ["no_face"]
    small = [r["code"] for r in crops["ardern_small.jpg"]["reasons"]]
    assert set(small) == {"too_small", "face_too_small", "duplicate"}
    assert [r["code"] for r in crops["ardern_blurry.jpg"]["reasons"]] == [
        "blurry",
        "upscaled",
        "duplicate",
    ]
    # The human-readable field stays as it was, for the tools that read it.
    assert crops["coffee.jpg"]["skipped"] == "rejected: no_face"


def test_the_crop_table_names_each_skipped_photos_codes_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "coffee.jpg").write_bytes((EXAMPLES / "character" / "face" / "coffee.jpg").read_bytes())
    main(["crop", str(src), "--out", str(tmp_path / "out"), "--workers", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "-- src/coffee.jpg: no_face: no face found (detector confidence floor 0.60)"
    main(["crop", str(src), "--out", str(tmp_path / "out"), "--workers", "1", "-q"])
    assert capsys.readouterr().out == "0 crops written, 1 skipped\n"
