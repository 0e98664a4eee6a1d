"""Trainings on their own: started at most once, watched phase by phase, logs followed."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from animus_prep import Client
from animus_prep.cli.watch import Console, training_watcher
from animus_prep.client import ConflictError, Status, TrainingJob, TrainingProgress
from animus_prep.pipeline.training import (
    TrainingError,
    TrainingOutcome,
    error_text,
    follow_logs,
    latest_job,
    new_lines,
    phase_lines,
    start_trainings,
    watch_trainings,
)
from animus_prep.sandbox import create_app, serve_in_thread
from animus_prep.sandbox.jobs import FAILURE_MESSAGES
from characters import charges, example_copy, prepared_character

KEY = "sk-training-test"


# Following a log


@given(
    total=st.integers(0, 60),
    cut=st.integers(0, 60),
    kept=st.integers(1, 60),
    window=st.integers(1, 60),
)
def test_new_lines_picks_up_exactly_where_it_left_off(
    total: int, cut: int, kept: int, window: int
) -> None:
    # The log had `cut` lines when last read (the last `kept` of them remembered); it has
    # `total` now, and this read returns its last `window`. Log lines are timestamped, so
    # no two are alike.
    log = [f"[{i:05d}] step" for i in range(total)]
    cut = min(cut, total)
    seen = log[max(0, cut - kept) : cut]
    tail = log[-window:] if window < total else log
    fresh, gap = new_lines(seen, tail)
    start = total - len(tail)
    if not seen or start < cut:  # the read reaches back into what was seen
        assert (fresh, gap) == (log[max(cut, start) :] if seen else tail, False)
    else:  # no line in common: lines between the reads may have been missed
        assert (fresh, gap) == (tail, True)


def test_new_lines_cases() -> None:
    assert new_lines([], ["a", "b"]) == (["a", "b"], False)
    assert new_lines(["a", "b"], ["a", "b", "c"]) == (["c"], False)
    assert new_lines(["a", "b", "c"], ["b", "c"]) == ([], False)  # nothing new
    assert new_lines(["c"], ["a", "b", "c", "d"]) == (["d"], False)  # a longer read
    assert new_lines(["x", "y"], ["p", "q"]) == (["p", "q"], True)  # lines were missed
    assert new_lines(["a"], []) == ([], False)  # the log is not there (yet)


# Watching


def progress(status: str, phase: str | None, pct: float, eta: float | None) -> TrainingProgress:
    job = TrainingJob.from_dict(
        {
            "job_id": "t1",
            "status": status,
            "training_phase": phase,
            "progress": pct,
            "eta_minutes": eta,
        }
    )
    return TrainingProgress(job_id="t1", job=job)


POLLS = [
    progress("queued", "queued", 0, 26),
    progress("training", "caching_latents", 3, 24),
    progress("training", "caching_latents", 7, 23),
    progress("training", "training", 12, 20),
    *[progress("training", "training", p, 20 - p / 5) for p in range(13, 90, 7)],
    progress("training", "saving_weights", 95, 1),
    progress("succeeded", "completed", 100, 0),
]


def test_off_a_terminal_a_watch_writes_one_line_per_phase_not_per_percent() -> None:
    out = io.StringIO()
    watch = training_watcher(Console(out, live=False))
    for p in POLLS:
        watch("face", p)
    lines = out.getvalue().splitlines()
    assert lines == [
        "face LoRA: queued 0%, about 26 min left",
        "face LoRA: training 3% (caching_latents), about 24 min left",
        "face LoRA: training 12%, about 20 min left",
        "face LoRA: training 95% (saving_weights), about 1 min left",
        "face LoRA: succeeded",
    ]
    assert "\r" not in out.getvalue()


def test_on_a_terminal_a_live_line_carries_the_percent_and_eta() -> None:
    out = io.StringIO()
    console = Console(out, live=True)
    watch = training_watcher(console)
    for p in POLLS:
        watch("body", p)
    console.say("done")
    text = out.getvalue()
    updates = text.count("\r\x1b[K")
    assert updates >= len(POLLS)  # every poll refreshes the live line in place
    assert "body LoRA: training 76%, about 5 min left" in text  # a percent seen live only
    # What stays on screen once each live line is overwritten: the phase lines.
    kept = [seg.split("\r\x1b[K")[-1] for seg in text.split("\n")][:-1]
    assert kept[-1] == "done" and "body LoRA: succeeded" in kept
    assert len(kept) == 6


def test_phase_lines_keeps_kinds_apart() -> None:
    said: list[str] = []
    watch = phase_lines(said.append)
    for p in POLLS[:3]:
        watch("face", p)
        watch("body", p)
    assert len(said) == 4 and said[0].startswith("face") and said[1].startswith("body")


# Against a sandbox


@pytest.fixture
def ready(tmp_path: Path) -> Iterator[tuple[Client, str, Path]]:
    """A character with an approved dataset, on a sandbox whose trainings take ~2 s."""
    app = create_app(data_dir=tmp_path / "sandbox", api_keys={KEY: 200}, time_scale=800, seed=3)
    with serve_in_thread(app) as url, Client(api_key=KEY, base_url=url) as client:
        cid = prepared_character(client, example_copy(tmp_path), "Trainee")
        yield client, cid, tmp_path / "sandbox" / "sandbox.sqlite3"


def test_trainings_start_once_and_are_watched_to_the_end(
    ready: tuple[Client, str, Path],
) -> None:
    client, cid, database = ready
    said: list[str] = []
    first = start_trainings(client, cid, say=said.append)
    assert [o.started for o in first.values()] == [True, True]
    again = start_trainings(client, cid, say=said.append)  # while they run: nothing new
    assert [o.started for o in again.values()] == [False, False]
    assert any("already training" in line for line in said)
    watch_trainings(client, cid, first, timeout=120, interval=0.05)
    assert {o.status for o in first.values()} == {"succeeded"}
    after = start_trainings(client, cid, say=said.append)  # trained: nothing new either
    assert [o.started for o in after.values()] == [False, False]
    assert charges(database, cid) == {"face_augmentation": 1, "face_lora": 1, "body_lora": 1}


def test_a_cancelled_training_ends_the_watch_with_an_error(
    ready: tuple[Client, str, Path],
) -> None:
    client, cid, _ = ready
    outcomes = start_trainings(client, cid, ["body"])
    client.training.cancel(cid, outcomes["body"].job_id or "")
    with pytest.raises(TrainingError, match="body LoRA cancelled"):
        watch_trainings(client, cid, outcomes, timeout=60, interval=0.05)
    assert outcomes["body"].state is Status.CANCELLED


def test_a_watch_stopped_early_leaves_the_last_status_seen(
    ready: tuple[Client, str, Path],
) -> None:
    client, cid, _ = ready
    outcomes = start_trainings(client, cid, ["body"])
    assert outcomes["body"].status == "queued"
    seen: list[str] = []

    def stop_once_training(kind: str, p: TrainingProgress) -> None:
        seen.append((p.job.status or "") if p.job else "")
        if p.state is Status.ACTIVE and p.progress:
            raise KeyboardInterrupt  # as Ctrl-C in the middle of the watch

    with pytest.raises(KeyboardInterrupt):
        watch_trainings(
            client, cid, outcomes, timeout=60, interval=0.02, on_progress=stop_once_training
        )
    body = outcomes["body"]
    assert body.state is Status.ACTIVE and body.status == seen[-1].lower() != "queued"
    assert body.progress is not None and body.to_json()["progress"] == body.progress


def test_following_a_log_shows_every_line_once_until_the_job_ends(
    ready: tuple[Client, str, Path],
) -> None:
    client, cid, _ = ready
    outcomes = start_trainings(client, cid, ["body"])
    job_id = outcomes["body"].job_id or ""
    assert latest_job(client, cid) is not None
    shown: list[str] = []
    final = follow_logs(client, cid, job_id, shown.append, lines=1, interval=0.05, timeout=120)
    assert final is not None and final.state is Status.SUCCEEDED
    full = list(client.training.logs(cid, job_id, lines=1000).log_lines)
    # The first poll shows its last line; from there on, every line exactly once, in order.
    start = full.index(shown[0])
    assert shown == full[start:]
    assert len(shown) > 5


def test_following_stops_at_its_timeout(ready: tuple[Client, str, Path]) -> None:
    client, cid, _ = ready
    job_id = start_trainings(client, cid, ["body"])["body"].job_id or ""
    stop = threading.Event()
    final = follow_logs(client, cid, job_id, lambda _l: stop.set(), interval=0.05, timeout=0.2)
    assert final is not None and not final.state.is_terminal
    assert stop.is_set()


def test_a_face_lora_refused_does_not_keep_the_body_lora_from_starting(tmp_path: Path) -> None:
    # Two face images, no synthesized ones: the server refuses the face LoRA (it needs
    # five), but the body LoRA does not depend on it.
    app = create_app(data_dir=tmp_path / "sandbox", api_keys={KEY: 200}, time_scale=800, seed=3)
    with serve_in_thread(app) as url, Client(api_key=KEY, base_url=url) as client:
        cid = prepared_character(client, example_copy(tmp_path), "Trainee", augment=False)
        said: list[str] = []
        outcomes: dict[str, TrainingOutcome] = {}
        with pytest.raises(ConflictError, match="face"):
            start_trainings(client, cid, say=said.append, into=outcomes)
        assert list(outcomes) == ["body"] and outcomes["body"].started
        assert any(line.startswith("face LoRA: refused") for line in said)
    assert charges(tmp_path / "sandbox" / "sandbox.sqlite3", cid) == {"body_lora": 1}


def test_a_failed_training_says_the_servers_reason_and_a_restart_recalls_it(
    tmp_path: Path,
) -> None:
    # The stop message said only "failed": the reason (a diverged loss, no memory) was
    # in `status` and `logs` alone, and a rerun paid for the same failure again unwarned.
    app = create_app(
        data_dir=tmp_path / "sandbox",
        api_keys={KEY: 1000},
        time_scale=800,
        seed=3,
        training_failure_rate=1.0,
    )
    with serve_in_thread(app) as url, Client(api_key=KEY, base_url=url) as client:
        cid = prepared_character(client, example_copy(tmp_path), "Trainee")
        outcomes = start_trainings(client, cid, ["body"])
        with pytest.raises(TrainingError) as stopped:
            watch_trainings(client, cid, outcomes, timeout=60, interval=0.05)
        reason = outcomes["body"].error
        assert reason and reason in FAILURE_MESSAGES
        assert f"the server said: {reason}" in str(stopped.value)
        assert outcomes["body"].to_json()["error"] == reason
        said: list[str] = []
        start_trainings(client, cid, ["body"], say=said.append)
        assert any(
            line.startswith("body LoRA: the last one failed") and reason in line for line in said
        )


@pytest.mark.parametrize(
    ("error", "text"),
    [
        ("  Out of\n memory ", "Out of memory"),
        ({"message": "no GPU", "code": 7}, "no GPU"),
        ({"message": " ", "error": "diverged"}, "diverged"),  # a blank message says nothing
        ({"detail": [{"loc": ["body", "steps"], "msg": "too many"}]}, "body.steps: too many"),
        ({"code": 7}, None),
        (True, None),
        (None, None),
        ("x" * 400, "x" * 297 + "..."),
    ],
)
def test_a_job_error_is_one_line_of_what_the_server_said(error: object, text: str | None) -> None:
    assert error_text(error) == text


def test_a_console_line_escapes_what_a_terminal_would_act_on() -> None:
    # A stop line may quote the server's words: an escape sequence in them must reach
    # the terminal as text, not recolour or rewrite it.
    out = io.StringIO()
    Console(out, live=False).tell("face LoRA failed (the server said: \x1b[31mred\x1b[0m)")
    assert out.getvalue() == "face LoRA failed (the server said: \\x1b[31mred\\x1b[0m)\n"
