"""What `check` prints: never a cut reason off a terminal, formats, colour, quiet, reports."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from animus_prep import Policy, Reason, ReasonCode, Report
from animus_prep.cli.output import Style, render_table, terminal_width, wants_color
from animus_prep.inspection.report import ImageReport

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "character"
LONG = (
    "2 prominent faces; each photo must show the character alone (faces under 35% of "
    "the main face's size, or under 0.80 confidence, are ignored)"
)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "animus_prep.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "COLUMNS": "80", **(env or {})},
    )


@pytest.fixture(scope="module")
def piped() -> subprocess.CompletedProcess[str]:
    return run("check", str(EXAMPLES), "--workers", "2")


def test_a_piped_table_keeps_every_reason_whole(piped: subprocess.CompletedProcess[str]) -> None:
    # COLUMNS=80 is what a terminal would have; the output goes to a pipe, not to it.
    assert piped.returncode == 0, piped.stderr
    assert f"multiple_faces: {LONG}" in piped.stdout
    assert "…" not in piped.stdout
    line = next(x for x in piped.stdout.splitlines() if "ardern_small.jpg" in x)
    assert "too_small,face_too_small,duplicate:" in line  # every code, even past the first
    assert "\033[" not in piped.stdout  # no colour into a pipe


def _report(*reasons: Reason, path: str = "face/" + "long-name-" * 8 + ".jpg") -> Report:
    image = ImageReport(path=path, kind="face", image_type="face_image", reasons=reasons)
    return Report(root="x", policy=Policy(), images=(image,))


def test_on_a_terminal_lines_fit_but_keep_every_code() -> None:
    report = _report(
        Reason(ReasonCode.BLURRY, "blurry: " + "very " * 30, score=0.9, threshold=0.5),
        Reason(ReasonCode.DUPLICATE, "same picture as another"),
    )
    table = render_table(report, width=80).splitlines()
    row = table[1]
    assert len(row) <= 80 and row.endswith("…")
    assert "blurry,duplicate:" in row
    # -v never cuts, even on a terminal, and shows the measured value against its limit.
    verbose = render_table(report, width=80, verbose=True)
    assert "very " * 30 in verbose and "long-name-" * 8 in verbose
    assert "[0.9, limit 0.5]" in verbose
    assert "duplicate: same picture as another" in verbose


def test_notes_are_shown_with_verbose_for_accepted_and_rejected_files() -> None:
    note = "close_up: the face is 44% of the photo's height"
    accepted = ImageReport(
        path="body/front/a.jpg", kind="body", image_type="body_image", reasons=(), notes=(note,)
    )
    rejected = ImageReport(
        path="face/b.jpg",
        kind="face",
        image_type="face_image",
        reasons=(Reason(ReasonCode.BLURRY, "soft"),),
        notes=("extension says JPEG but the content is PNG",),
    )
    report = Report(root="x", policy=Policy(), images=(accepted, rejected))
    assert "note:" not in render_table(report)
    lines = render_table(report, verbose=True).splitlines()
    at = next(i for i, x in enumerate(lines) if "body/front/a.jpg" in x)
    assert lines[at + 1].strip() == f"note: {note}"
    at = next(i for i, x in enumerate(lines) if "face/b.jpg" in x)
    assert lines[at + 1].strip() == "note: extension says JPEG but the content is PNG"


def test_verdicts_are_coloured_only_when_wanted(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert wants_color(Tty()) and not wants_color(io.StringIO())
    assert terminal_width(io.StringIO()) is None and terminal_width(Tty()) is not None
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_color(Tty())
    assert wants_color(io.StringIO(), "always") and not wants_color(Tty(), "never")
    coloured = render_table(_report(Reason(ReasonCode.BLURRY, "b")), style=Style(True))
    assert "\033[31mblurry\033[0m" in coloured


def test_quiet_prints_the_summary_line_alone(piped: subprocess.CompletedProcess[str]) -> None:
    proc = run("check", str(EXAMPLES), "--workers", "2", "-q")
    assert proc.returncode == 0
    summary = next(x for x in piped.stdout.splitlines() if x.startswith("14 files:"))
    assert proc.stdout == summary + "\n"
    coloured = run("check", str(EXAMPLES), "--workers", "2", "-q", "--color", "always")
    assert "\033[32m3 accepted\033[0m" in coloured.stdout


def test_csv_has_one_row_per_file_with_every_reason_code() -> None:
    proc = run("check", str(EXAMPLES), "--workers", "2", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert len(rows) == 14
    small = next(r for r in rows if r["path"] == "face/ardern_small.jpg")
    assert small["reason_codes"].split(";") == ["too_small", "face_too_small", "duplicate"]
    assert len(small["reason_messages"].split(" | ")) == 3
    assert small["accepted"] == "false" and small["duplicate_of"] == "face/ardern.jpg"
    friend = next(r for r in rows if r["path"] == "face/with_a_friend.jpg")
    assert friend["reason_messages"] == LONG and friend["faces"] == "2"


def test_jsonl_is_one_report_entry_per_line() -> None:
    proc = run("check", str(EXAMPLES), "--workers", "2", "--format", "jsonl")
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    doc = json.loads(run("check", str(EXAMPLES), "--workers", "2", "--json").stdout)
    assert [{k: v for k, v in x.items() if k != "root"} for x in lines] == doc["images"]
    assert {x["root"] for x in lines} == {str(EXAMPLES)}


def test_json_and_format_are_one_choice() -> None:
    proc = run("check", str(EXAMPLES), "--json", "--format", "csv")
    assert proc.returncode == 2 and "not allowed with argument" in proc.stderr
    proc = run("run", str(EXAMPLES), "--name", "X", "--format", "csv")
    assert proc.returncode == 2 and "invalid choice: 'csv'" in proc.stderr


def test_check_writes_the_html_report(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    proc = run("check", str(EXAMPLES), "--workers", "2", "--report", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    assert f"report: {out}" in proc.stderr
    assert out.read_text(encoding="utf-8").count('<figure class="card') == 14 + 7  # + groups


@pytest.mark.parametrize(
    ("target", "message"), [("{tmp}", "is a folder"), ("{tmp}/no/r.html", "no folder")]
)
def test_a_report_that_cannot_be_written_is_refused_before_the_check(
    tmp_path: Path, target: str, message: str
) -> None:
    proc = run("check", str(EXAMPLES), "--report", target.format(tmp=tmp_path))
    assert proc.returncode == 2 and message in proc.stderr
    assert proc.stdout == ""


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot make files in: a read-only one of its own, or (as
    root, who writes anywhere) /sys; skipped when there is none."""
    sealed = tmp_path / "sealed"
    sealed.mkdir()
    sealed.chmod(0o500)
    for folder in (sealed, Path("/sys")):
        try:
            (folder / "probe.html").write_bytes(b"")
        except OSError:
            return folder
        (folder / "probe.html").unlink()
    pytest.skip("no folder here refuses new files")


def test_a_report_in_a_folder_that_cannot_be_written_is_refused_before_the_check(
    tmp_path: Path,
) -> None:
    target = _unwritable_folder(tmp_path) / "r.html"
    proc = run("check", str(EXAMPLES), "--report", str(target))
    assert proc.returncode == 2 and f"cannot write the report {target}" in proc.stderr
    assert proc.stdout == "" and not target.exists()


def test_a_report_is_never_written_over_a_photo_but_replaces_an_earlier_report(
    tmp_path: Path,
) -> None:
    photo = tmp_path / "ardern.jpg"
    shutil.copy(EXAMPLES / "face" / "ardern.jpg", photo)
    data = photo.read_bytes()
    proc = run("check", str(EXAMPLES), "--report", str(photo), "-q")
    assert proc.returncode == 2 and "exists and is not an HTML report" in proc.stderr
    assert photo.read_bytes() == data and proc.stdout == ""
    own = tmp_path / "notes.html"
    own.write_text("<!DOCTYPE html>\n<title>my own notes</title>\n")
    proc = run("check", str(EXAMPLES), "--report", str(own), "-q")
    assert proc.returncode == 2 and "is not an HTML report of animus-prep" in proc.stderr
    assert own.read_text() == "<!DOCTYPE html>\n<title>my own notes</title>\n"
    earlier = tmp_path / "r.html"
    proc = run("check", str(EXAMPLES), "--workers", "2", "--report", str(earlier), "-q")
    assert proc.returncode == 0, proc.stderr
    earlier.write_text(earlier.read_text(encoding="utf-8").replace("</title>", " EARLIER</title>"))
    proc = run("check", str(EXAMPLES), "--workers", "2", "--report", str(earlier), "-q")
    assert proc.returncode == 0, proc.stderr
    assert "EARLIER" not in earlier.read_text(encoding="utf-8")


def test_upload_lists_every_file_and_writes_its_report(tmp_path: Path) -> None:
    from animus_prep.sandbox import serve_in_thread

    char = tmp_path / "character"
    shutil.copytree(EXAMPLES, char)
    key = "sk-output-test"
    with serve_in_thread(api_keys={key: 10}) as url:
        env = {"ANIMUS_API_KEY": key, "ANIMUS_BASE_URL": url}
        args = ("upload", str(char), "--name", "Rows", "--workers", "2")
        proc = run(*args, "--format", "csv", "--report", str(tmp_path / "u.html"), env=env)
        assert proc.returncode == 0, proc.stderr
        rows = list(csv.DictReader(io.StringIO(proc.stdout)))
        assert len(rows) == 14
        statuses = {r["path"]: r["status"] for r in rows}
        assert sorted(p for p, s in statuses.items() if s == "uploaded") == [
            "body/front/ardern_studio.jpg",
            "face/ardern.jpg",
            "face/ardern_closeup.jpg",
        ]
        assert statuses["face/coffee.jpg"] == "rejected"
        assert next(r for r in rows if r["path"] == "face/coffee.jpg")["reason_codes"] == "no_face"
        page = (tmp_path / "u.html").read_text(encoding="utf-8")
        assert "3 uploaded, 0 already there, 0 failed" in page
        quiet = run(*args, "-q", env=env)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.count("\n") == 1
    assert ": 0 uploaded, 3 already there, 0 failed; 11 rejected by the pre-flight" in quiet.stdout


def test_an_upload_that_cannot_reach_the_server_says_how_to_go_on(tmp_path: Path) -> None:
    char = tmp_path / "chloe"
    shutil.copytree(EXAMPLES, char)
    proc = run(
        "upload", str(char), "--name", "Chloe", "--base-url", "http://127.0.0.1:9",
        "--max-retries", "0", "--workers", "2", "-q",
        env={"ANIMUS_API_KEY": "sk-unreachable-test"},
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.splitlines() + proc.stdout.splitlines()
    assert any(line.startswith("stopped: ") and "127.0.0.1" in line for line in lines), lines
    assert any(line.startswith("not done: the uploads left") for line in lines), lines
    assert f"resume with: animus-prep upload {char} --name Chloe" in "\n".join(lines)
    assert "Traceback" not in proc.stderr and "sk-unreachable-test" not in proc.stderr


def test_names_are_printed_on_their_own_line_in_their_own_order() -> None:
    from animus_prep.cli.output import as_printed

    name = "a\nb\x1b[31m\x9b31m\x85c\u2028d\u202eg\u2066h\udcfe é"
    shown = as_printed(name)
    assert shown == "a\\nb\\x1b[31m\\x9b31m\\x85c\\u2028d\\u202eg\\u2066h\\udcfe é"
    assert shown.isprintable()


def test_a_report_written_into_the_folder_it_describes_is_not_judged_next_time(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "character"
    shutil.copytree(EXAMPLES, folder, ignore=shutil.ignore_patterns(".animus-prep"))
    before = run(
        "check", str(folder), "--json", "--workers", "2", "--report", str(folder / "r.html")
    )
    assert before.returncode == 0, before.stderr
    after = run("check", str(folder), "--json", "--workers", "2")
    paths = [i["path"] for i in json.loads(after.stdout)["images"]]
    assert paths == [i["path"] for i in json.loads(before.stdout)["images"]]
    assert "r.html" not in paths
    # Any other page there is still named (it is not a photo).
    (folder / "notes.html").write_text("<!doctype html><p>notes</p>")
    other = run("check", str(folder), "--json", "--workers", "2")
    assert "notes.html" in [i["path"] for i in json.loads(other.stdout)["images"]]
