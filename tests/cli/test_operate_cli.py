"""The commands for each step on an existing character (`review`, `train`, `status`, `logs`,
`cancel`) and the retry options, against a sandbox on loopback that injects faults into
every command's calls (state is set up through a fault-free client)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from fastapi import FastAPI

from animus_prep.cli import build_parser, main
from animus_prep.cli.connect import command_line, retry_policy
from animus_prep.client import Status
from animus_prep.pipeline.journal import JOURNAL_NAME, WorkJournal
from animus_prep.sandbox import close_app, create_app, injected_defects, serve_in_thread
from characters import charges, example_copy, prepared_character, setup_client

KEY = "sk-operate-cli"
POOR_KEY = "sk-operate-cli-poor"
# The mix the README documents, with shorter pauses so the tests stay quick.
FAULTS = "503:0.1,429:0.05@1s,reset:0.02,slow:0.05@0.3s,lost:0.03"


class Server(NamedTuple):
    url: str
    app: FastAPI
    database: Path


class Result(NamedTuple):
    code: int
    out: str
    err: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("sandbox")
    # Trainings take about two seconds: long enough to follow and cancel one.
    app = create_app(
        data_dir=data,
        api_keys={KEY: 100_000, POOR_KEY: 1},
        time_scale=800,
        seed=21,
        faults=FAULTS,
    )
    try:
        with serve_in_thread(app) as url:
            yield Server(url, app, data / "sandbox.sqlite3")
    finally:
        close_app(app)


Cli = Callable[..., Result]


@pytest.fixture
def cli(server: Server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    monkeypatch.setenv("ANIMUS_API_KEY", KEY)
    monkeypatch.setenv("ANIMUS_BASE_URL", server.url)

    def call(*argv: str) -> Result:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return call


def character(server: Server, tmp_path: Path, name: str, **options: bool) -> str:
    with setup_client(server.url, KEY) as client:
        return prepared_character(client, example_copy(tmp_path), name, **options)


# status


def test_status_reports_photos_dataset_trainings_and_readiness(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    cid = character(server, tmp_path, "Status")
    text = cli("status", cid)
    assert text.code == 0, text.err
    assert f"character Status ({cid})" in text.out
    assert "photos: 1 body_image_front, 5 face_image" in text.out
    assert "dataset: approved, 20 renders, 20 approved" in text.out
    assert "trainings: none" in text.out and "generation ready: no" in text.out
    doc = json.loads(cli("status", cid, "--json").out)
    assert doc["schema"] == "animus-prep.status/1"
    assert doc["assets"] == {"body_image_front": 1, "face_image": 5}
    assert doc["dataset"]["status"] == "approved" and doc["dataset"]["approved_images"] == 20
    assert doc["trainings"] == [] and doc["generation_ready"] is False


def test_status_of_an_unknown_character_is_a_clear_error(cli: Cli) -> None:
    result = cli("status", "char_nobody")
    assert result.code == 1
    assert "404" in result.err and "Traceback" not in result.err


def test_status_and_review_of_an_unknown_character_still_print_their_json(cli: Cli) -> None:
    # A script reading stdout gets a document that says what went wrong, not nothing.
    status = cli("status", "char_nobody", "--json")
    assert status.code == 1
    doc = json.loads(status.out)
    assert doc["schema"] == "animus-prep.status/1" and doc["character_id"] == "char_nobody"
    assert "404" in doc["error"]
    review = cli("review", "char_nobody", "--json")
    assert review.code == 1 and "Traceback" not in review.err
    doc = json.loads(review.out)
    assert doc["schema"] == "animus-prep.review/1" and doc["references"] is None
    assert "404" in doc["error"] and doc["resume"].startswith("animus-prep review char_nobody")
    assert doc["dataset_approved"] is False


# review


def test_a_dry_run_judges_every_render_and_changes_nothing(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    # No synthesized faces: renders posed from them are judged less reliably (see README).
    cid = character(server, tmp_path, "Dry", augment=False, approve=False)
    with setup_client(server.url, KEY) as client:
        before = client.dataset.images(cid).images
        result = cli("review", cid, "--dry-run", "--json", "--workers", "1")
        text = cli("review", cid, "--dry-run", "--workers", "1")
        after = client.dataset.images(cid).images
        status = client.dataset.status(cid)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["schema"] == "animus-prep.review/1" and doc["dry_run"] is True
    assert doc["references"]["source"] == f"character {cid}"
    assert doc["references"]["identity"] == 2  # the two uploaded face photos
    assert {v["image_id"] for v in doc["verdicts"]} == {i.image_id for i in before}
    assert {v["action"] for v in doc["verdicts"]} <= {"approve", "regenerate", "delete"}
    assert doc["approved"] + doc["regenerated"] + doc["deleted"] == len(before)
    # Nothing moved on the server: no approval, no new render, the dataset still open.
    assert [(i.image_id, i.seed, i.approved) for i in after] == [
        (i.image_id, i.seed, i.approved) for i in before
    ]
    assert status.dataset_status != "approved"
    decisions = [ln for ln in text.out.splitlines() if ln.startswith("would ")]
    assert len(decisions) == len(before) and text.code == 0
    assert text.out.splitlines()[-2:] == [
        f"{doc['approved']} would approve, {doc['regenerated']} would regenerate, "
        f"{doc['deleted']} would delete",
        "dry run: nothing was changed on the server",
    ]
    defects = injected_defects(server.app, cid)
    flagged = {v["image_id"] for v in doc["verdicts"] if not v["ok"]}
    # Every flawed render is caught (of a duplicated pair, either copy may be the one).
    assert flagged >= {i for i, d in defects.items() if d not in (None, "duplicate")} != set()


@pytest.mark.parametrize("own_faces", [True, False])
def test_review_approves_the_dataset_with_only_clean_renders(
    cli: Cli, server: Server, tmp_path: Path, own_faces: bool
) -> None:
    cid = character(server, tmp_path, "Reviewed", augment=False, render=False)
    options = [] if own_faces else ["--reference", str(example_copy(tmp_path / "r") / "face")]
    result = cli("review", cid, "--json", "--workers", "1", "--poll-interval", "0.05", *options)
    assert result.code == 0, result.out + result.err
    doc = json.loads(result.out)
    assert doc["dataset_approved"] is True
    # Two face photos and no synthesized ones: the face LoRA will be refused; said first.
    assert doc["warnings"] == [
        "the character has 2 face images; its face LoRA needs 5 (the server refuses it "
        "with fewer): upload more, or let `animus-prep run` add synthesized faces"
    ]
    assert "warning: the character has 2 face images" in result.err
    with setup_client(server.url, KEY) as client:
        status = client.dataset.status(cid)
        approved = client.dataset.images(cid, approved_only=True).images
    assert status.dataset_status == "approved"
    assert doc["approved"] == len(approved) >= 10
    defects = injected_defects(server.app, cid)
    # Of a byte-identical pair one copy may stay; nothing else flawed is approved.
    assert {defects[i.image_id or ""] for i in approved} <= {None, "duplicate"}
    # Rerun: the dataset is approved already, nothing to do; -q keeps the summary line.
    again = cli("review", cid, "--workers", "1", "-q")
    assert again.code == 0 and again.out.startswith("the dataset was approved already")


def test_the_regeneration_budget_holds_across_reviews_of_one_character(
    cli: Cli, server: Server, tmp_path: Path, state_dir: Path
) -> None:
    # As if an earlier review, interrupted, had sent every flawed render back once: with
    # a budget of one, this review deletes them rather than paying for more renders.
    cid = character(server, tmp_path, "Budget", augment=False, approve=False)
    dry = json.loads(cli("review", cid, "--dry-run", "--json", "--workers", "1").out)
    flawed = {v["image_id"] for v in dry["verdicts"] if v["action"] == "regenerate"}
    assert flawed
    with WorkJournal(state_dir / "journal.sqlite") as journal:
        for image_id in flawed:
            journal.record_regeneration(cid, image_id, 1)
    result = cli(
        "review", cid, "--json", "--workers", "1", "--poll-interval", "0.05",
        "--max-regenerations", "1",
    )  # fmt: skip
    doc = json.loads(result.out)
    actions = {v["image_id"]: v["action"] for v in doc["verdicts"]}
    assert {actions[i] for i in flawed} == {"delete"}
    assert doc["regenerated"] == 0


def test_a_review_whose_state_journal_cannot_be_kept_goes_on_and_says_so(
    cli: Cli, server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = character(server, tmp_path, "Stateless", augment=False, approve=False)
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    monkeypatch.setenv("ANIMUS_PREP_STATE_DIR", str(blocker / "state"))
    result = cli("review", cid, "--workers", "1", "--poll-interval", "0.05")
    assert "the regeneration budget holds for this run only" in result.err
    assert "cannot be made or opened" in result.err and "character folder" not in result.err
    assert result.code == 0 and result.out.endswith(" delete\ndataset approved\n")
    assert "Traceback" not in result.err


def test_a_dry_run_before_rendering_warns_of_too_few_face_images(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    cid = character(server, tmp_path, "Unrendered", augment=False, render=False)
    result = cli("review", cid, "--dry-run", "--json", "--workers", "1")
    doc = json.loads(result.out)
    assert result.code == 0 and doc["note"].startswith("the dataset has not been rendered")
    assert [w[:40] for w in doc["warnings"]] == ["the character has 2 face images; its fac"]
    with setup_client(server.url, KEY) as client:
        assert not client.dataset.status(cid).total_images  # still nothing rendered


def test_review_writes_its_html_report(cli: Cli, server: Server, tmp_path: Path) -> None:
    cid = character(server, tmp_path, "Reported", augment=False, approve=False)
    page = tmp_path / "review.html"
    result = cli(
        "review", cid, "--dry-run", "--workers", "1", "--poll-interval", "0.05",
        "--report", str(page),
    )  # fmt: skip
    assert result.code == 0, result.out + result.err
    html = page.read_text(encoding="utf-8")
    with setup_client(server.url, KEY) as client:
        renders = client.dataset.images(cid).images
    assert renders and all((r.filename or r.image_id or "") in html for r in renders)
    assert cid in html and "data:image/jpeg;base64," in html


def test_review_without_a_usable_reference_says_so(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    cid = character(server, tmp_path, "NoRefs", augment=False, render=False)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.jpg").write_bytes(b"not a photo")
    result = cli("review", cid, "--reference", str(junk), "--workers", "1")
    assert result.code == 2  # as check, upload and run: each photo named, with why
    assert "no reference photo can be used" in result.err
    assert "a.jpg: unreadable: not an image" in result.err
    with setup_client(server.url, KEY) as client:
        assert not client.dataset.status(cid).total_images  # nothing was rendered


# train, logs, cancel


def test_train_wait_starts_each_lora_once_and_shows_one_line_per_phase(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    cid = character(server, tmp_path, "Trained")
    result = cli("train", cid, "--wait", "--poll-interval", "0.02")
    assert result.code == 0, result.out + result.err
    lines = result.out.splitlines()
    assert lines[-1] == "ready for generation"
    progress = [ln for ln in lines if " LoRA: " in ln and "started" not in ln]
    # One line per phase per kind, not one per poll: a 1500-step training seen ~100 times.
    assert len(progress) == len(set(progress)) <= 14
    assert {ln.split(":")[0] for ln in progress} == {"face LoRA", "body LoRA"}
    assert "face LoRA: succeeded" in progress and "body LoRA: succeeded" in progress
    assert "\r" not in result.out
    assert charges(server.database, cid) == {"face_augmentation": 1, "face_lora": 1, "body_lora": 1}
    again = cli("train", cid, "--json")
    doc = json.loads(again.out)
    assert [t["started"] for t in doc["trainings"]] == [False, False]
    assert {t["status"] for t in doc["trainings"]} == {"succeeded"}
    assert charges(server.database, cid)["face_lora"] == 1  # nothing paid twice


def test_logs_shows_the_tail_and_follows_a_running_training_to_its_end(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    cid = character(server, tmp_path, "Logged")
    with setup_client(server.url, KEY) as client:
        job = client.training.start_body_lora(cid).job_id or ""
        result = cli("logs", cid, "--follow", "--poll-interval", "0.05", "--lines", "2")
        full = list(client.training.logs(cid, job, lines=1000).log_lines)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith(f"job {job} (body_lora")  # the latest job, found by itself
    assert lines[-1] == f"job {job} ended: succeeded"
    shown = lines[1:-1]
    assert shown == full[full.index(shown[0]) :]  # every line once, in order, to the end
    tail = cli("logs", cid, job, "--lines", "3")
    assert tail.out.splitlines() == full[-3:]


def test_a_follow_stopped_by_its_timeout_or_ctrl_c_says_how_to_go_on(
    cli: Cli, server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = character(server, tmp_path, "Followed")
    with setup_client(server.url, KEY) as client:
        job = client.training.start_body_lora(cid).job_id or ""
        result = cli("logs", cid, "--follow", "--timeout", "0.01", "--poll-interval", "0.05")
        # The same job, named (another may start meanwhile), and no short timeout again.
        resume = f"resume with: animus-prep logs {cid} {job} --follow --poll-interval 0.05"
        assert result.code == 1 and resume in result.out.splitlines()

        def interrupted(*_args: object, **_kwargs: object) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr("animus_prep.cli.training.follow_logs", interrupted)
        stopped = cli("logs", cid, job, "--follow", "--time", "5")  # argparse takes it
        client.training.wait(cid, job, timeout=60, interval=0.05)
    assert stopped.code == 130
    assert "stopped: interrupted" in stopped.out
    assert f"resume with: animus-prep logs {cid} {job} --follow" in stopped.out.splitlines()


def test_cancel_stops_a_running_training_and_refuses_a_finished_one(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    cid = character(server, tmp_path, "Cancelled")
    with setup_client(server.url, KEY) as client:
        job = client.training.start_body_lora(cid).job_id or ""
        result = cli("cancel", cid, job, "--json")
        assert result.code == 0, result.err
        assert json.loads(result.out)["status"] == "cancelled"
        listed = client.training.jobs(cid).training_jobs
        assert next(j for j in listed if j.job_id == job).state is Status.CANCELLED
        again = cli("cancel", cid, job)  # what was asked for is so: fine
        assert again.code == 0 and "cancelled" in again.out
        done = client.training.start_face_lora(cid).job_id or ""
        client.training.wait(cid, done, timeout=60, interval=0.05)
    finished = cli("cancel", cid, done)
    assert finished.code == 1 and "not cancelled" in finished.err
    assert "succeeded" in finished.err
    as_json = cli("cancel", cid, done, "--json")
    doc = json.loads(as_json.out)  # a stop prints its document too
    assert as_json.code == 1 and doc["status"] == "succeeded"
    assert doc["error"].startswith("not cancelled")


def test_a_refused_face_lora_names_the_command_that_watches_the_body_lora(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    # Two face images: the face LoRA is refused, the body LoRA starts (and is paid for).
    cid = character(server, tmp_path, "HalfTrained", augment=False)
    result = cli("train", cid, "--wait", "--poll-interval", "0.05")
    assert result.code == 1 and "face LoRA: refused" in result.out
    assert "the body LoRA started is training" in result.out
    # The same options (the server's address among them), for the LoRA that is training.
    resume = f"resume with: animus-prep train {cid} --wait --poll-interval 0.05 --body"
    assert resume in result.out.splitlines()
    watched = cli("train", cid, "--body", "--wait", "--poll-interval", "0.05")
    assert watched.code == 0, watched.out + watched.err
    assert "body LoRA: succeeded" in watched.out


def test_train_before_the_dataset_is_approved_is_refused_without_charge(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    cid = character(server, tmp_path, "Early", approve=False)
    result = cli("train", cid)
    # A refusal stops the command like any other stop: what is not done, how to go on.
    assert result.code == 1 and "stopped: HTTP 409" in result.out
    assert "not done: starting the face LoRA; starting the body LoRA" in result.out
    assert f"resume with: animus-prep train {cid}" in result.out
    # Waiting does not cure a refusal: the command to go on is the same, not --wait.
    assert "--wait" not in result.out and "the server refused" in result.out
    assert "face_lora" not in charges(server.database, cid)
    as_json = cli("train", cid, "--json")
    doc = json.loads(as_json.out)
    assert as_json.code == 1 and doc["error"].startswith("HTTP 409")
    assert doc["resume"] == f"animus-prep train {cid} --json" and doc["trainings"] == []


# upload and run under faults


def test_upload_rides_out_lost_answers_and_refusals_in_one_go(tmp_path: Path) -> None:
    # A fifth of the answers lost after the file was stored, 15% refused.
    app = create_app(
        data_dir=tmp_path / "sb", api_keys={KEY: 10}, seed=8, faults="lost:0.2,503:0.1,429:0.05@1s"
    )
    root = example_copy(tmp_path)
    try:
        with serve_in_thread(app) as url:
            env = {**os.environ, "ANIMUS_API_KEY": KEY, "ANIMUS_BASE_URL": url}
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "animus_prep.cli",
                    "upload",
                    str(root),
                    "--name",
                    "U",
                    "--json",
                    "--workers",
                    "1",
                ],
                capture_output=True,
                text=True,
                env=env,
                timeout=300,
                check=False,
            )
            with setup_client(url, KEY) as client:
                (made,) = list(client.characters.iter())
                stored = client.assets.list(made.character_id or "").assets
    finally:
        close_app(app)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    assert len(stored) == len(doc["uploads"]) == len({a.filename for a in stored})
    assert {u["status"] for u in doc["uploads"]} <= {"uploaded", "already"}
    # Every file is accounted for, as in the csv and jsonl rows: the rest are rejected.
    rejected = {r["path"]: r["reason_codes"] for r in doc["rejected"]}
    assert len(rejected) + len(doc["uploads"]) == doc["preflight"]["total"]
    assert rejected["face/coffee.jpg"] == ["no_face"]


def test_a_stopped_run_says_what_is_done_and_how_to_resume(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # No faults here: the run must stop on the one refusal under test, a 402.
    app = create_app(data_dir=tmp_path / "sb", api_keys={POOR_KEY: 1}, time_scale=800)
    root = example_copy(tmp_path)
    argv = ["run", str(root), "--name", "Poor", "--workers", "1", "--poll-interval", "0.05"]
    try:
        with serve_in_thread(app) as url:
            monkeypatch.setenv("ANIMUS_API_KEY", POOR_KEY)  # 1 credit: augmentation needs 1.5
            monkeypatch.setenv("ANIMUS_BASE_URL", url)
            code = main(argv)
            out = capsys.readouterr().out
            rerun = main([*argv, "--json"])  # the rerun resumes, and stops again
            doc = json.loads(capsys.readouterr().out)
    finally:
        close_app(app)
    assert code == rerun == 1
    lines = out.splitlines()
    stop = lines.index(next(ln for ln in lines if ln.startswith("stopped: ")))
    assert "402" in lines[stop]
    assert lines[stop + 1].startswith("done: pre-flight: 3 of 14 photos accepted; character: ")
    assert lines[stop + 1].endswith("; uploads: 3 new, 0 already there")
    assert lines[stop + 2] == "not done: face augmentation; dataset; face LoRA; body LoRA"
    assert lines[-1] == f"resume with: {command_line(argv)}"
    assert doc["not_done"][0] == "face augmentation" and "402" in doc["error"]
    assert doc["resume"] == command_line([*argv, "--json"])
    assert doc["steps"]["uploads"] == "0 new, 3 already there"


# options


def test_retry_options_set_the_budget_and_each_command_has_its_default() -> None:
    parser = build_parser()
    run = retry_policy(parser.parse_args(["run", "d", "--name", "n"]))
    status = retry_policy(parser.parse_args(["status", "c"]))
    custom = retry_policy(
        parser.parse_args(["review", "c", "--max-retries", "3", "--retry-deadline", "20"])
    )
    assert (run.attempts, run.timeout) == (10, 300.0)
    assert (status.attempts, status.timeout) == (3, 60.0)
    assert (custom.attempts, custom.timeout) == (4, 20.0)


def test_the_retry_deadline_bounds_a_command_against_a_server_that_never_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(data_dir=tmp_path, api_keys={KEY: 1}, faults="503:1")
    try:
        with serve_in_thread(app) as url:
            monkeypatch.setenv("ANIMUS_API_KEY", KEY)
            monkeypatch.setenv("ANIMUS_BASE_URL", url)
            started = time.monotonic()
            code = main(["train", "c1", "--max-retries", "1000", "--retry-deadline", "2"])
            took = time.monotonic() - started
    finally:
        close_app(app)
    assert code == 1 and "stopped: HTTP 503" in capsys.readouterr().out
    assert took < 15


def test_command_line_quotes_and_adds_flags_once() -> None:
    argv = ["run", "my photos/chloe", "--name", "Chloé B"]
    assert command_line(argv) == "animus-prep run 'my photos/chloe' --name 'Chloé B'"
    line = command_line([*argv, "--retry-augmentation"], add=["--retry-augmentation"])
    assert line.count("--retry-augmentation") == 1


# without the sandbox extra

BLOCK_SANDBOX = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"fastapi", "uvicorn", "starlette"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Block())
from animus_prep.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    "argv",
    [["sandbox", "--port", "0"], ["run", "{folder}", "--name", "X", "--sandbox", "--workers", "1"]],
)
def test_without_the_sandbox_extra_the_command_says_what_to_install(
    tmp_path: Path, argv: list[str]
) -> None:
    folder = example_copy(tmp_path)
    args = [a.replace("{folder}", str(folder)) for a in argv]
    proc = subprocess.run(
        [sys.executable, "-c", BLOCK_SANDBOX, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'animus-prep[sandbox]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_refused_key_or_too_few_credits_says_what_to_fix_before_resuming(
    cli: Cli, server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = character(server, tmp_path, "Keyed")
    monkeypatch.setenv("ANIMUS_API_KEY", "sk-not-a-key-of-this-server-123")
    # Retries ride out the server's injected faults; a 401 itself is never retried.
    refused = cli("train", cid, "--max-retries", "10")
    assert refused.code == 1 and "stopped: HTTP 401" in refused.out
    assert "the server refused the API key (or what was asked with it)" in refused.out
    assert "sk-not-a-key-of-this-server-123" not in refused.out + refused.err
    monkeypatch.setenv("ANIMUS_API_KEY", POOR_KEY)
    with setup_client(server.url, POOR_KEY) as client:
        poor = prepared_character(client, example_copy(tmp_path / "p"), "Poor", augment=False)
    broke = cli("train", poor, "--body")
    assert broke.code == 1 and "stopped: HTTP 402" in broke.out
    assert "not enough credits (or no subscription for this)" in broke.out


def test_an_unknown_character_or_a_refused_request_says_what_to_fix_before_resuming(
    cli: Cli, tmp_path: Path
) -> None:
    folder = example_copy(tmp_path)
    missing = cli("upload", str(folder), "--character", "char_nobody", "-q")
    assert missing.code == 1 and "stopped: HTTP 404" in missing.out
    assert "the server has no such character or job for this key" in missing.out
    long_name = cli("upload", str(folder), "--name", "N" * 200, "-q")
    assert long_name.code == 1 and "422" in long_name.out, long_name.out + long_name.err
    assert "the server refused the request as made" in long_name.out


@pytest.mark.parametrize(("fmt", "around"), [([], ""), (["--json"], ""), ([], " \r\n")])
def test_a_key_written_into_the_base_url_is_redacted_from_the_resume_command(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: list[str], around: str
) -> None:
    # The error line redacted it, but the "resume with:" line (and the JSON's
    # "resume") printed the command as typed, key and all; and a key with a line break
    # after it (which the client strips) was redacted nowhere.
    secret = "sk-written-into-the-url-123"
    monkeypatch.setenv("ANIMUS_API_KEY", secret + around)
    folder = example_copy(tmp_path)
    url = f"http://127.0.0.1:1/v2?x={secret}"
    result = cli(
        "upload", str(folder), "--name", "K", "--base-url", url, "--max-retries", "0", *fmt
    )
    assert result.code == 1, result.out + result.err
    assert "[redacted]" in result.out
    assert secret not in result.out + result.err


def test_a_damaged_journal_asks_for_it_to_be_moved_before_the_resume_command(
    cli: Cli, tmp_path: Path
) -> None:
    # The command given to resume would meet the same damaged journal as it stood.
    folder = example_copy(tmp_path)
    journal = folder / JOURNAL_NAME
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_bytes(b"\x13\x37" * 1500)
    result = cli("run", str(folder), "--name", "Damaged", "--workers", "1")
    assert result.code == 1
    assert "move it aside" in result.out
    assert "\nonce the journal is moved aside, resume with: animus-prep run " in result.out


def test_a_short_key_leaves_the_folder_in_the_resume_command_whole(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only URLs are redacted: a key that happens to be a word of the folder's path
    # must not turn the resume command into one that names another folder.
    folder = example_copy(tmp_path / "shortkey")
    monkeypatch.setenv("ANIMUS_API_KEY", "shortkey")
    result = cli("upload", str(folder), "--name", "K", "--base-url", "http://127.0.0.1:1")
    assert result.code == 1
    assert f"resume with: animus-prep upload {folder} " in result.out


def test_a_base_url_refused_as_no_http_url_does_not_show_the_key(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-in-a-refused-url-456"
    monkeypatch.setenv("ANIMUS_API_KEY", secret)
    folder = example_copy(tmp_path)
    result = cli("upload", str(folder), "--name", "K", "--base-url", f"ftp://h/?k={secret}")
    assert result.code == 2 and "must be an http:// or https:// URL" in result.err
    assert secret not in result.out + result.err
