"""`animus-prep check ROOT --batch`: formats, resuming, exit codes, usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from animus_prep.cli import main
from photos import gaussian, photo, scene, write


@pytest.fixture
def studio(tmp_path: Path) -> Path:
    root = tmp_path / "studio"
    write(root / "anna" / "face" / "a.jpg", scene(1))
    write(root / "anna" / "face" / "blurry.jpg", gaussian(photo("coffee", 700), 6))
    write(root / "bea" / "face" / "b.jpg", scene(2))
    (root / "empty").mkdir()
    return root


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["check", *args, "--no-faces", "--workers", "1"])
    out, err = capsys.readouterr()
    return status, out, err


def test_jsonl_streams_a_line_per_character_then_a_rollup(
    studio: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = check(capsys, str(studio), "--batch", "--format", "jsonl")
    assert status == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(d["type"], d.get("character"), d.get("status")) for d in lines] == [
        ("character", "anna", "judged"),
        ("character", "bea", "judged"),
        ("character", "empty", "error"),
        ("rollup", None, None),
    ]
    assert all(d["schema"] == "animus-prep.batch/1" for d in lines)
    anna = lines[0]["report"]
    assert anna["schema"] == "animus-prep.report/1"
    # Blurred this much, a 700 px photo also holds no more detail than an enlarged one.
    assert anna["summary"]["rejected_by_reason"] == {"blurry": 1, "upscaled": 1}
    assert lines[2]["error"]["code"] == "not_a_character_folder"
    rollup = lines[3]
    assert rollup["images"] == {"total": 3, "accepted": 2, "rejected": 1}
    assert (rollup["characters"], rollup["judged"], rollup["unchanged"], rollup["errors"]) == (
        3,
        2,
        0,
        1,
    )
    # Run again: nothing changed, nothing is judged, the same reports come back.
    _, again, _ = check(capsys, str(studio), "--batch", "--format", "jsonl")
    relines = [json.loads(line) for line in again.splitlines()]
    assert [d.get("status") for d in relines[:2]] == ["unchanged", "unchanged"]
    assert relines[0]["report"] == anna
    _, forced, _ = check(capsys, str(studio), "--batch", "--format", "jsonl", "--force")
    assert [json.loads(line).get("status") for line in forced.splitlines()][:2] == [
        "judged",
        "judged",
    ]


def test_json_is_one_document_and_text_a_line_per_character(
    studio: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = check(capsys, str(studio), "--batch", "--json")
    doc = json.loads(out)
    assert doc["schema"] == "animus-prep.batch/1"
    assert [c["character"] for c in doc["characters"]] == ["anna", "bea", "empty"]
    assert doc["rollup"]["images"]["total"] == 3
    status, text, _ = check(capsys, str(studio), "--batch", "--strict")
    assert status == 1
    assert "anna: 2 files, 1 accepted, 1 rejected (blurry 1, upscaled 1); unchanged" in text
    assert "empty: error (not_a_character_folder)" in text
    assert "3 characters (0 judged, 2 unchanged, 1 with errors): 3 files" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch", "--kind", "face"], "--kind does not go with --batch"),
        (["--force"], "--force goes with --batch"),
        (["--cross-identity"], "--cross-identity goes with --batch"),
    ],
)
def test_usage_errors(
    studio: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    status, out, err = check(capsys, str(studio), *args)
    assert status == 2 and out == ""
    assert message in err


def test_json_and_a_format_together_are_refused(
    studio: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        check(capsys, str(studio), "--batch", "--json", "--format", "jsonl")
    assert stopped.value.code == 2
    assert "not allowed with argument --json" in capsys.readouterr().err


def test_a_single_folder_in_jsonl_is_a_line_per_file(
    studio: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = check(capsys, str(studio / "anna"), "--format", "jsonl")
    assert status == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert sorted(d["path"] for d in lines) == ["face/a.jpg", "face/blurry.jpg"]


def test_a_reader_that_stops_early_ends_the_stream_quietly(studio: Path) -> None:
    # `... --format jsonl | head -1`: the command stops, without a traceback.
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "animus_prep.cli", "check", str(studio), "--batch"),
            *("--format", "jsonl", "--no-faces", "--workers", "1"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read()
    assert proc.wait(timeout=300) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err
