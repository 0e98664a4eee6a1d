"""`animus-prep check ROOT --batch`: formats, resuming, exit codes, usage errors."""

from __future__ import annotations

import json
import os
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


def _jsonl(out: str) -> dict[str, dict[str, object]]:
    return {d.get("character", "rollup"): d for d in map(json.loads, out.splitlines())}


def test_each_character_is_judged_with_its_own_policy_file(
    studio: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (studio / "anna" / "animus-prep.toml").write_text("min_side = 800\n")
    (studio / "animus-prep.toml").write_text("min_side = 600\n")
    status, out, err = check(capsys, str(studio), "--batch", "--format", "jsonl")
    lines = _jsonl(out)
    anna, bea = lines["anna"]["report"], lines["bea"]["report"]
    assert isinstance(anna, dict) and isinstance(bea, dict)
    # anna's own file (700 px photos under its 800); bea has none: the defaults, not the
    # file at the root, which applies to no character (as `check studio/bea` would).
    assert anna["policy"]["min_side"] == 800 and anna["summary"]["accepted"] == 0
    assert bea["policy"]["min_side"] == 512 and bea["summary"]["accepted"] == 1
    assert "animus-prep.toml: a policy file here applies to no character" in err
    # Editing a character's policy file makes it judged again, with the new values.
    (studio / "anna" / "animus-prep.toml").write_text("min_side = 512\n")
    _, again, _ = check(capsys, str(studio), "--batch", "--format", "jsonl")
    lines = _jsonl(again)
    assert (lines["anna"]["status"], lines["bea"]["status"]) == ("judged", "unchanged")
    (studio / "anna" / "animus-prep.toml").write_text("min_side = 'big'\n")
    status, broken, _ = check(capsys, str(studio), "--batch", "--format", "jsonl")
    lines = _jsonl(broken)
    assert status == 0 and lines["anna"]["status"] == "error"
    assert lines["anna"]["error"]["code"] == "bad_policy"  # type: ignore[index]
    assert lines["bea"]["status"] == "unchanged"


def test_unchanged_reports_name_the_folder_as_it_is_now(
    studio: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    check(capsys, str(studio), "--batch", "--format", "jsonl")
    moved = studio.with_name("moved")
    studio.rename(moved)
    _, out, _ = check(capsys, str(moved), "--batch", "--format", "jsonl")
    anna = _jsonl(out)["anna"]
    assert anna["status"] == "unchanged"
    assert anna["report"]["root"] == str((moved / "anna").absolute())  # type: ignore[index]


def test_undecodable_and_multi_line_names_are_kept_and_printed_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "studio"
    write(root / "ok" / "face" / "a.jpg", scene(1))
    odd = os.fsdecode(b"y\xfe.jpg")
    write(root / "ok" / "face" / odd, scene(2))
    write(root / "two\nlines" / "face" / "b.jpg", scene(3))
    status, out, err = check(capsys, str(root), "--batch")
    assert status == 0 and "Traceback" not in err
    lines = out.splitlines()
    assert "two\\nlines: 1 file, 1 accepted, 0 rejected" in lines
    assert "ok: 2 files, 2 accepted, 0 rejected" in lines
    assert not list((root / ".animus-prep" / "check").glob("*.tmp"))
    _, again, _ = check(capsys, str(root), "--batch", "--format", "jsonl")
    assert _jsonl(again)["ok"]["status"] == "unchanged"


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        ("character", [], "is itself a character folder"),
        ("studio", ["--cross-identity"], "--cross-identity compares identities, which --no-faces"),
    ],
)
def test_a_batch_that_could_judge_nothing_useful_is_a_usage_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: str,
    args: list[str],
    message: str,
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    if make == "character":
        write(root / "face" / "a.jpg", scene(1))
    else:
        write(root / "anna" / "face" / "a.jpg", scene(1))
    (root / "notes.txt").write_text("not a character")
    status, out, err = check(capsys, str(root), "--batch", *args)
    assert status == 2 and out == ""
    assert message in err


def test_an_empty_character_folder_says_nothing_was_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "chloe" / "body" / "front").mkdir(parents=True)
    status, out, _ = check(capsys, str(tmp_path / "chloe"))
    assert status == 0
    assert "0 files: 0 accepted, 0 rejected" in out
    assert "warning: no files found in face/ or body/<view>/: nothing was judged" in out


def test_a_root_with_no_character_folder_says_nothing_was_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("not a character")
    status, out, _ = check(capsys, str(tmp_path), "--batch")
    assert status == 0
    assert "0 characters (0 judged, 0 unchanged, 0 with errors): 0 files" in out
    assert f"warning: {tmp_path} holds no character folders: nothing was judged" in out


def test_the_roots_own_files_set_no_policy_but_a_pyproject_there_does(
    studio: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A broken or identity-off animus-prep.toml in the root is no character's policy: it
    # neither stops the batch nor turns --cross-identity into a usage error.
    (studio / "animus-prep.toml").write_text("identity = false\nmin_side = 'x'\n")
    status, out, err = main_check(capsys, str(studio), "--batch", "--cross-identity")
    assert status == 0, err
    (studio / "animus-prep.toml").unlink()
    (studio / "pyproject.toml").write_text("[tool.animus-prep]\nmin_side = 800\n")
    _, out, err = check(capsys, str(studio), "--batch", "--format", "jsonl")
    bea = _jsonl(out)["bea"]["report"]
    assert isinstance(bea, dict) and bea["policy"]["min_side"] == 800
    assert "pyproject.toml: its [tool.animus-prep] applies to every character" in err


def main_check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`check` with the face checks on (as users run it), one worker."""
    status = main(["check", *args, "--workers", "1"])
    out, err = capsys.readouterr()
    return status, out, err


def test_quiet_prints_the_summary_line_alone_and_warnings_on_stderr(
    studio: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (studio / "loose.txt").write_text("x")
    status, out, err = check(capsys, str(studio), "--batch", "-q")
    assert status == 0
    assert len(out.splitlines()) == 1 and out.startswith("3 characters")
    assert "warning: loose.txt: not a folder" in err
