"""The whole job against a sandbox: one run to a trained character, and a resumed rerun."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pipeline_support import EXAMPLES, example_character

from animus_prep import Client, Policy
from animus_prep.pipeline.run import PipelineError, run_pipeline
from animus_prep.sandbox import serve_in_thread

KEY = "sk-run-test"


def test_a_run_trains_the_character_and_a_rerun_resumes_without_repeating(
    tmp_path: Path,
) -> None:
    root = example_character(tmp_path)
    with (
        serve_in_thread(api_keys={KEY: 200}, time_scale=5000, seed=2) as url,
        Client(api_key=KEY, base_url=url) as client,
    ):
        log: list[str] = []
        first = run_pipeline(root, "Example", client, poll_interval=0.1, log=log.append)
        assert first.trainings == {"face": "succeeded", "body": "succeeded"}
        assert first.generation_ready
        # Two face photos passed, five are needed: the rest were synthesized.
        assert first.augmented_faces == 3
        assert first.review is not None and first.review.dataset_approved
        assert {u.status for u in first.uploads} == {"uploaded"}
        assert any("regenerate" in line for line in log)
        # 3 synthesized faces at 0.5 credit, then two trainings: all of it reported.
        assert first.credits_spent > 1.5
        assert first.to_json()["credits_spent"] == first.credits_spent
        assert first.credits_unreported == []
        cid = first.character_id or ""
        jobs = client.training.jobs(cid).total
        balance_probe = client.characters.get(cid)

        second = run_pipeline(root, "Example", client, poll_interval=0.1)
        assert second.character_id == cid
        assert {u.status for u in second.uploads} == {"already"}
        assert second.augmented_faces == 0 and second.review is None
        assert second.credits_spent == 0  # nothing was paid for again
        assert second.trainings == first.trainings
        assert client.training.jobs(cid).total == jobs
        assert client.characters.get(cid).face_images_count == balance_probe.face_images_count
        # One character only, whatever the number of runs.
        assert [c.name for c in client.characters.iter()] == ["Example"]


def test_nothing_accepted_stops_before_touching_the_server(tmp_path: Path) -> None:
    root = tmp_path / "c" / "face"
    root.mkdir(parents=True)
    (root / "a.jpg").write_bytes(b"not a photo")
    with (
        serve_in_thread(api_keys={KEY: 10}) as url,
        Client(api_key=KEY, base_url=url) as client,
    ):
        try:
            run_pipeline(tmp_path / "c", "Empty", client, policy=Policy(faces=False))
        except PipelineError as exc:
            assert "no face photo was accepted" in str(exc)
            # What the run did before it stopped travels with the error, for reports.
            assert exc.summary is not None and exc.summary.report is not None
            assert len(exc.summary.report.images) == 1
        else:
            raise AssertionError("expected PipelineError")
        assert client.characters.list().characters == ()


def test_the_demo_command_runs_the_whole_job_on_the_bundled_example(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "animus_prep.cli",
            "run",
            str(example_character(tmp_path)),
            "--name",
            "Demo",
            "--sandbox",
            "--json",
            "--workers",
            "1",
            "--report",
            str(tmp_path / "run.html"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "animus-prep.run/1"
    assert doc["trainings"] == {"face": "succeeded", "body": "succeeded"}
    assert doc["generation_ready"] is True
    assert doc["credits_spent"] > 0
    assert "sandbox: http://127.0.0.1:" in proc.stderr
    page = (tmp_path / "run.html").read_text(encoding="utf-8")
    assert doc["character_id"] in page and "Dataset renders" in page
    assert f"report: {tmp_path / 'run.html'}" in proc.stderr
    # The embedded sandbox's key is its own and never printed.
    assert "sk-sandbox-" not in proc.stdout + proc.stderr
    assert EXAMPLES.is_dir()
