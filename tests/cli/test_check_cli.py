"""The `animus-prep` command: exit codes, JSON on stdout, help text, crops."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from animus_prep.cli import build_parser, main
from animus_prep.sandbox import serve_in_thread
from photos import gaussian, photo, scene, write

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "animus_prep.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=None if env is None else {**os.environ, **env},
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "char"
    (root / "face").mkdir(parents=True)
    shutil.copy(EXAMPLES / "sources" / "ardern.jpg", root / "face" / "good.jpg")
    write(root / "face" / "blurry.jpg", gaussian(photo("coffee", 700), 6))
    return root


def test_json_report_on_stdout_and_exit_zero(folder: Path) -> None:
    proc = run("check", str(folder), "--json", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "animus-prep.report/1"
    assert doc["summary"]["rejected_by_reason"]["blurry"] == 1
    assert "Traceback" not in proc.stderr


def test_strict_exits_one_when_anything_is_rejected(folder: Path, tmp_path: Path) -> None:
    assert run("check", str(folder), "--strict", "--workers", "2").returncode == 1
    clean = tmp_path / "clean"
    write(clean / "a.jpg", scene(1))
    assert main(["check", str(clean), "--kind", "body", "--strict", "--workers", "1"]) == 0


def test_table_output_names_every_file(folder: Path) -> None:
    proc = run("check", str(folder), "--workers", "1", "--no-faces")
    assert proc.returncode == 0
    assert "face/good.jpg" in proc.stdout and "face/blurry.jpg" in proc.stdout
    assert "1 accepted, 1 rejected" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "/no/such/folder"], "no such file or folder"),
        (["check", "."], "not a character folder"),
        (["check", ".", "--kind", "hands"], "invalid choice"),
        (["check", ".", "--workers", "0"], "at least 1"),
        (["check", "--config", "/no/policy.toml", "."], "cannot read policy"),
        (["crop", "/no/such", "--out", "x"], "no such file"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_errors_exit_two_with_a_message(
    args: list[str], message: str, tmp_path: Path
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "animus_prep.cli", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_policy_file_changes_thresholds(folder: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "policy.toml"
    cfg.write_text("min_side = 800\nfaces = false\n")
    proc = run("check", str(folder), "--json", "--config", str(cfg), "--workers", "1")
    doc = json.loads(proc.stdout)
    assert doc["policy"]["min_side"] == 800
    assert doc["summary"]["rejected_by_reason"]["too_small"] == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("min_sidee = 3\n")
    proc = run("check", str(folder), "--config", str(bad))
    assert proc.returncode == 2 and "unknown policy setting 'min_sidee'" in proc.stderr


def test_every_command_and_option_has_help() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    for name, sub in subparsers.choices.items():  # type: ignore[attr-defined]
        if name == "sandbox":
            continue  # parsed by the sandbox itself
        assert sub.description, name
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings or action.dest}"
    for choice in subparsers._choices_actions:  # type: ignore[attr-defined]
        assert choice.help, choice.dest


def test_crop_writes_face_centred_squares_never_upscaled(tmp_path: Path) -> None:
    out = tmp_path / "crops"
    proc = run("crop", str(EXAMPLES / "character" / "face"), "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    written = {c["source"]: c for c in doc["crops"] if c["output"]}
    assert set(written) == {"face/ardern.jpg", "face/ardern_closeup.jpg"}
    for crop in written.values():
        with Image.open(crop["output"]) as img:
            width, height = img.size
        left, top, right, bottom = crop["box"]
        assert width == height == right - left == bottom - top  # not upscaled
        assert width <= 1024
    skipped = {c["source"]: c["skipped"] for c in doc["crops"] if not c["output"]}
    assert "no_face" in skipped["face/coffee.jpg"]


def test_crop_warns_when_its_size_is_under_what_the_server_takes(tmp_path: Path) -> None:
    src = EXAMPLES / "sources" / "ardern.jpg"
    small = run("crop", str(src), "--out", str(tmp_path / "a"), "--size", "300")
    assert small.returncode == 0
    assert "warning: --size 300 makes crops under 512 px" in small.stderr
    with Image.open(next((tmp_path / "a").iterdir())) as img:
        assert img.size == (300, 300)  # made as asked all the same
    usual = run("crop", str(src), "--out", str(tmp_path / "b"))
    assert "warning" not in usual.stderr


def test_crop_upscales_only_when_allowed(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    Image.open(EXAMPLES / "sources" / "ardern.jpg").save(src / "a.jpg", quality=95)
    plain = json.loads(run("crop", str(src), "--out", str(tmp_path / "o1"), "--json").stdout)
    grown = json.loads(
        run("crop", str(src), "--out", str(tmp_path / "o2"), "--json", "--allow-upscale").stdout
    )
    assert plain["crops"][0]["size"] < 1024
    assert grown["crops"][0]["size"] == 1024


@pytest.mark.parametrize("env", [{"PYTHONIOENCODING": "utf-8"}, {"LC_ALL": "C.UTF-8"}])
def test_file_names_that_are_not_utf8_still_give_valid_json(
    tmp_path: Path, env: dict[str, str]
) -> None:
    face = tmp_path / "char" / "face"
    write(face / "good.jpg", photo("astronaut", 700))
    raw = os.fsencode(face) + b"/caf\xe9.jpg"  # Latin-1 bytes: not valid UTF-8
    with open(raw, "wb") as f:
        f.write((face / "good.jpg").read_bytes())
    proc = subprocess.run(
        [sys.executable, "-m", "animus_prep.cli", "check", str(tmp_path / "char"), "--json"],
        capture_output=True,
        timeout=300,
        check=False,
        env={**os.environ, **env},
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout.decode("utf-8"))  # strict UTF-8
    names = {img["path"] for img in doc["images"]}
    assert "face/good.jpg" in names
    (odd,) = names - {"face/good.jpg"}
    assert os.fsencode(odd) == b"face/caf\xe9.jpg"  # the escape names the same bytes
    table = subprocess.run(
        [sys.executable, "-m", "animus_prep.cli", "check", str(tmp_path / "char")],
        capture_output=True,
        timeout=300,
        check=False,
        env={**os.environ, **env},
    )
    assert table.returncode == 0
    lines = table.stdout.decode("utf-8").splitlines()
    rows = [line for line in lines if "face/" in line]
    assert any("caf\\udce9.jpg" in row for row in rows)
    # The columns line up: the escape is measured as it is printed (13 columns, not 8).
    assert len({row.index("700x") for row in rows}) == 1, rows


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "{char}", "--name", "X", "--sandbox", "--poll-interval", "0"], "must be within"),
        (["run", "{char}", "--name", "X", "--sandbox", "--time-scale", "nan"], "not a finite"),
        (
            ["run", "{char}", "--name", "X", "--sandbox", "--base-url", "http://x/v2"],
            "--base-url (a server to use) goes without it",
        ),
        (["crop", "{char}", "--out", "{file}"], "cannot make a folder"),
        (["check", "{char}", "--view", "back"], "--view goes with --kind body"),
        (["upload", "{file}", "--name", "X"], "is a file, not a folder"),
        (["check", "{char}", "--reference", "{file}"], "afile.txt: unreadable: not an image"),
        (["check", "{char}", "--reference", "{file}.gone"], "no such folder or photo"),
        (["sandbox", "--port", "99999"], "0-65535"),
        (["sandbox", "--data", "{file}"], "is a file, not a folder"),
        (["sandbox", "--port", "0", "--log-level", "nope"], "invalid choice: 'nope'"),
        (["sandbox", "--port", "0", "--data", "{file}/state"], "cannot keep the sandbox's state"),
        (["sandbox", "--port", "0", "--data", "{junk}"], "(not a sandbox database)"),
    ],
)
def test_bad_values_are_usage_errors_before_anything_runs(
    tmp_path: Path, args: list[str], message: str
) -> None:
    char = tmp_path / "char"
    write(char / "face" / "good.jpg", photo("astronaut", 700))
    afile = tmp_path / "afile.txt"
    afile.write_text("x")
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "sandbox.sqlite3").write_text("not a database, some text in its place\n" * 40)
    proc = run(*(a.format(char=char, file=afile, junk=junk) for a in args))
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", ["upload", "run"])
def test_a_folder_that_cannot_keep_its_journal_stops_before_the_check(
    tmp_path: Path,
    command: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    char = tmp_path / "char"
    write(char / "face" / "good.jpg", photo("astronaut", 700))
    (char / ".animus-prep").write_text("not a folder")  # as an unwritable folder would
    monkeypatch.setenv("ANIMUS_API_KEY", "sk-journal-test")
    closed = ["--base-url", "http://127.0.0.1:9", "--max-retries", "0"]
    assert main([command, str(char), "--name", "X", *closed]) == 1
    out, err = capsys.readouterr()
    assert "the work journal cannot be kept in" in out + err
    assert "a file of that name is in the way" in out + err
    assert "Traceback" not in err and "accepted" not in out + err  # no check ran


def test_an_upload_with_nothing_accepted_creates_nothing_and_says_so_in_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    char = tmp_path / "char"
    (char / "face").mkdir(parents=True)
    (char / "face" / "empty.jpg").write_bytes(b"")
    monkeypatch.setenv("ANIMUS_API_KEY", "sk-nothing-accepted")
    with serve_in_thread(api_keys={"sk-nothing-accepted": 10}) as url:
        code = main(["upload", str(char), "--name", "Empty", "--base-url", url, "--json"])
        out, err = capsys.readouterr()
        listed = httpx.get(
            url + "/characters", headers={"Authorization": "Bearer sk-nothing-accepted"}
        ).json()
    assert code == 1 and "Traceback" not in err
    assert "no photo was accepted of 1 judged (unreadable 1): nothing was sent" in err
    assert listed["characters"] == []  # no empty character left on the server
    doc = json.loads(out)
    assert doc["schema"] == "animus-prep.upload/1" and doc["uploads"] == []
    assert doc["error"].startswith("no photo was accepted") and doc["resume"] is None
    # The verdicts the stop rests on are in it, as in a finished upload's document.
    assert doc["preflight"]["total"] == 1
    assert doc["rejected"] == [
        {"path": "face/empty.jpg", "image_type": "face_image", "reason_codes": ["unreadable"]}
    ]


def test_cancel_json_prints_its_document_whatever_stopped_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANIMUS_API_KEY", "sk-cancel-json")
    closed = ["--base-url", "http://127.0.0.1:9/v2", "--max-retries", "0"]
    assert main(["cancel", "c1", "j1", "--json", *closed]) == 1
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["schema"] == "animus-prep.cancel/1" and doc["job_id"] == "j1"
    assert doc["status"] is None and "Connection refused" in doc["error"]
    assert err.startswith("animus-prep: error: ") and "Traceback" not in err


def test_a_missing_api_key_names_the_environment_variable(tmp_path: Path) -> None:
    char = tmp_path / "char"
    write(char / "face" / "good.jpg", photo("astronaut", 700))
    env = {k: v for k, v in os.environ.items() if k != "ANIMUS_API_KEY"}
    proc = subprocess.run(
        [sys.executable, "-m", "animus_prep.cli", "upload", str(char), "--name", "X"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    assert proc.returncode == 2
    assert "set the ANIMUS_API_KEY environment variable" in proc.stderr
    assert "api_key=" not in proc.stderr


def test_crop_of_a_character_folder_crops_its_face_photos_only(tmp_path: Path) -> None:
    out = tmp_path / "crops"
    proc = run("crop", str(EXAMPLES / "character"), "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    sources = {c["source"] for c in json.loads(proc.stdout)["crops"]}
    assert sources and all(s.startswith("face/") for s in sources)
    assert not (out / "body").exists()


def test_sigterm_stops_a_run_without_leaving_worker_processes(tmp_path: Path) -> None:
    char = tmp_path / "sigterm-char"
    shutil.copytree(EXAMPLES / "character", char)
    with subprocess.Popen(
        [sys.executable, "-m", "animus_prep.cli", "run", str(char), "--name", "T", "--sandbox"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:  # the pre-flight's worker pool lives for the whole run
            if line.startswith("created character"):
                break
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
        assert proc.returncode == 128 + signal.SIGTERM, rest
        assert "Traceback" not in rest
    deadline = time.monotonic() + 10
    while _processes_mentioning(str(char)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_mentioning(str(char)) == []


def _as_under_a_terminal() -> None:
    """Ctrl-C as a terminal's session has it: a shell running the tests as a background
    job (`&`, nohup) ignores SIGINT, and its programs inherit that, as they should."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _signal_a_check_group(folder: Path, sig: signal.Signals) -> tuple[int, str]:
    """Send `sig` to the whole process group of a `check` (its own group, as under a
    terminal) once its two workers run; its exit status and stderr."""
    rng = np.random.default_rng(0)
    for i in range(400):
        write(folder / f"{i:03d}.jpg", rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))
    with subprocess.Popen(
        [sys.executable, "-m", "animus_prep.cli", "check", str(folder), "--kind", "body",
         "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_as_under_a_terminal,
    ) as proc:  # fmt: skip
        deadline = time.monotonic() + 60
        while len(_processes_mentioning(str(folder))) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)  # the command and its two workers
        if proc.poll() is not None:
            pytest.fail(f"the check ended (status {proc.returncode}) before it was signalled")
        os.killpg(proc.pid, sig)
        _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def test_ctrl_c_in_a_terminal_stops_the_check_without_worker_tracebacks(tmp_path: Path) -> None:
    # A terminal's Ctrl-C reaches every process of its group, the pool's workers too:
    # only the command stops, once, with no traceback from any worker.
    code, err = _signal_a_check_group(tmp_path / "many", signal.SIGINT)
    assert code == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.strip().endswith("animus-prep: interrupted")


def test_sigterm_to_the_whole_group_leaves_no_worker_traceback(tmp_path: Path) -> None:
    # `timeout` and process supervisors signal the whole group: the workers end quietly,
    # the command stops once, as on Ctrl-C.
    code, err = _signal_a_check_group(tmp_path / "many-term", signal.SIGTERM)
    assert code == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "Terminated" not in err, err


def test_a_report_path_that_is_not_a_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.html"
    os.mkfifo(pipe)  # reading it would block until a writer came
    proc = run("check", str(EXAMPLES / "character"), "--report", str(pipe), "-q")
    assert proc.returncode == 2 and "is not an HTML report" in proc.stderr


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if text.encode() in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], 15.0),
        (["--sandbox"], 0.2),
        (["--sandbox", "--poll-interval", "15"], 15.0),
        (["--poll-interval", "0.2"], 0.2),
        (["--poll-interval", "30"], 30.0),
    ],
)
def test_an_explicit_poll_interval_is_kept_even_when_it_equals_a_default(
    flags: list[str], expected: float
) -> None:
    from animus_prep.cli.remote import poll_interval

    args = build_parser().parse_args(["run", "chars/x", "--name", "X", *flags])
    assert poll_interval(args) == expected


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["status", ""], "an id must not be empty"),
        (["status", "."], "'.' is not an id"),
        (["review", ".."], "'..' is not an id"),
        (["train", " ", "--face"], "an id must not be empty"),
        (["logs", "c1", ""], "an id must not be empty"),
        (["cancel", "c1", ".."], "'..' is not an id"),
        (["upload", str(EXAMPLES / "character"), "--character", ""], "an id must not be empty"),
        (["upload", str(EXAMPLES / "character"), "--name", ""], "a name must not be empty"),
        (["upload", str(EXAMPLES / "character"), "--name", "Chloe\nB"], "one line of text"),
        (["run", str(EXAMPLES / "character"), "--name", "  "], "a name must not be empty"),
    ],
)
def test_an_empty_or_dotted_id_is_a_usage_error_before_any_request(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # No key and an unreachable server: the refusal comes before either matters.
    with pytest.raises(SystemExit) as info:
        main([*argv, "--base-url", "http://127.0.0.1:9"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_flags_that_cannot_work_together_are_usage_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    character = str(EXAMPLES / "character")
    assert main(["check", character, "-q", "-v"]) == 2
    assert "ask for opposites" in capsys.readouterr().err
    assert main(["run", character, "--name", "X", "--time-scale", "10"]) == 2
    assert "it needs --sandbox" in capsys.readouterr().err


def test_batch_quiet_prints_only_the_roll_up(tmp_path: Path) -> None:
    studio = tmp_path / "studio"
    for name in ("anna", "ben"):
        write(studio / name / "face" / "a.jpg", scene(len(name)))
    proc = run("check", str(studio), "--batch", "-q", "--no-faces", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("2 characters (2 judged"), proc.stdout
    assert "anna:" not in proc.stdout and "ben:" not in proc.stdout


def test_review_with_unusable_references_names_each_photo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    refs = tmp_path / "refs"
    refs.mkdir()
    shutil.copy(EXAMPLES / "character" / "face" / "coffee.jpg", refs)
    shutil.copy(EXAMPLES / "character" / "face" / "ardern_truncated.jpg", refs)
    monkeypatch.setenv("ANIMUS_API_KEY", "sk-review-refs")
    # Refused before any request: the server address is never reached.
    code = main(["review", "c1", "--reference", str(refs), "--base-url", "http://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "coffee.jpg: no_face" in err and "ardern_truncated.jpg: unreadable" in err


def test_retries_are_said_as_they_happen_unless_quiet(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANIMUS_API_KEY", "sk-retry-notice")
    closed = ["--base-url", "http://127.0.0.1:9", "--max-retries", "2"]
    assert main(["status", "c1", *closed]) == 1
    out, err = capsys.readouterr()
    said = [line for line in err.splitlines() if line.startswith("animus-prep: retrying GET")]
    assert len(said) == 2 and "(attempt 2 of 3)" in said[1], err
    assert "Connection refused" in err and "sk-retry-notice" not in out + err
    assert "retrying" not in out  # stdout holds the command's own output only
    assert main(["upload", str(EXAMPLES / "character"), "--character", "c1", *closed, "-q"]) == 1
    assert "retrying" not in capsys.readouterr().err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("fmt", ["--json", "--format=csv", "--format=text"])
def test_output_to_a_full_disk_is_one_line_and_exit_2(fmt: str) -> None:
    # It was a traceback and exit 1, the status of rejected photos.
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [
                *(sys.executable, "-m", "animus_prep.cli", "check", str(EXAMPLES / "character")),
                *("--workers", "1", "--no-faces", fmt),
            ],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            check=False,
        )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().endswith("error: cannot write: No space left on device")
    assert "Traceback" not in proc.stderr


def test_workers_are_capped_at_four_per_core() -> None:
    # --workers 500 forked 500 processes for 14 files, and SIGTERM then left it hung.
    many = str(8 * (os.cpu_count() or 1) + 1)
    proc = run("check", str(EXAMPLES / "character"), "--workers", many, "--no-faces", "-q")
    assert proc.returncode == 0, proc.stderr
    using = 4 * (os.cpu_count() or 1)
    assert f"--workers {many} is more than 4 per core; using {using}" in proc.stderr


def test_csv_cells_never_start_a_spreadsheet_formula(tmp_path: Path) -> None:
    # A flat folder's file names go straight into the path column (and duplicate_of).
    flat = tmp_path / "flat"
    write(flat / "=HYPERLINK(1).jpg", scene(1, (700, 600)))
    write(flat / "+SUM(1).jpg", scene(1, (700, 600)))
    write(flat / "-take2.jpg", scene(2, (700, 600)))  # a sign alone calls nothing
    proc = run("check", str(flat), "--kind", "face", "--no-faces", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    by_path = {r["path"]: r for r in rows}
    assert set(by_path) == {"'=HYPERLINK(1).jpg", "'+SUM(1).jpg", "-take2.jpg"}
    # One of the two copies of one picture points at the other, inert too.
    assert {r["duplicate_of"] for r in rows} - {""} <= {"'=HYPERLINK(1).jpg", "'+SUM(1).jpg"}
    assert sum(bool(r["duplicate_of"]) for r in rows) == 1
    # Numbers stay numbers.
    assert all(float(r["width"]) == 700 and int(r["file_bytes"]) > 0 for r in rows)


def _children(pid: int) -> set[int]:
    """The pre-flight workers whose parent is ``pid`` (from /proc): forked, they run the
    command's own command line (a fork server or resource tracker would not)."""
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and _is_ours(int(entry.name)):
                out.add(int(entry.name))
    return out


def _is_ours(pid: int) -> bool:
    """Whether ``pid`` runs animus-prep's command line (not a process that reused it)."""
    try:
        return b"animus_prep.cli" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (an ended one waiting to be reaped is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_workers_end_when_the_command_is_killed_outright(tmp_path: Path) -> None:
    # kill -9 (or the out-of-memory killer) gives the command no chance to shut its
    # pool down: its workers stayed for good, holding memory and the output pipe.
    root = tmp_path / "char"
    shutil.copytree(EXAMPLES / "character", root)
    command = subprocess.Popen(
        [sys.executable, "-m", "animus_prep.cli", "check", str(root), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while len(workers := _children(command.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(workers) >= 2, "the workers never started"
        assert command.poll() is None, "the command ended before it could be killed"
        command.kill()
        command.wait(timeout=10)
        deadline = time.monotonic() + 15
        while (alive := {w for w in workers if _running(w)}) and (time.monotonic() < deadline):
            time.sleep(0.1)
        assert not alive, f"workers {sorted(alive)} outlived the killed command"
    finally:
        command.kill()
        for w in _children(command.pid) | locals().get("workers", set()):
            if _running(w) and _is_ours(w):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(w, signal.SIGKILL)
