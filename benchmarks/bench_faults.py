"""Does `animus-prep run` ride out a flaky API? Seeded runs against a faulty sandbox.

    .venv/bin/python benchmarks/bench_faults.py [--seeds 20] [--first-seed 1]
        [--faults SPEC] [--time-scale 5000] [--max-reruns 2] [--out FILE]

For each seed, a sandbox (on loopback, state in a temporary folder) injects the fault mix
with that seed, and the bundled example character is run through the whole job by the
real command, `animus-prep run`, in its own process, exactly as a user would: when a run
stops, the `resume with:` command it prints is run as is, up to --max-reruns times. Then
the sandbox's credit ledger is read: a training or face augmentation charged twice for
one character is a double charge.

Reported: runs that finished in one invocation, after one rerun, not at all; double
charges; wall time per seed; why the stopped runs stopped. The target is at least 19 of
20 in one invocation, all 20 after at most one rerun, and no double charge.
Results go to benchmarks/results/bench_faults.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from animus_prep.sandbox import close_app, create_app, serve_in_thread

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "character"
RESULTS = REPO / "benchmarks" / "results"
FAULTS = "503:0.1,429:0.05@2s,reset:0.02,slow:0.05@1.5s,lost:0.03"
KEY = "sk-bench-faults"
# Every paid call of a run: one face augmentation, one face LoRA, one body LoRA.
PAID = ("face_augmentation", "face_lora", "body_lora")


@dataclass
class SeedResult:
    seed: int
    invocations: int = 0
    finished: bool = False
    seconds: float = 0.0
    stops: list[str] = field(default_factory=list)
    """The `stopped:` line of each invocation that did not finish."""
    charges: dict[str, int] = field(default_factory=dict)
    """Paid calls charged, by kind (each should be 1)."""
    double_charges: int = 0
    characters: int = 0
    requests: int = 0
    """HTTP requests the sandbox received, retries included."""


class _CountRequests:
    """ASGI middleware counting every HTTP request (outermost, so faults count too)."""

    def __init__(self, app: Any, counter: list[int]) -> None:
        self.app = app
        self.counter = counter

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.counter[0] += 1
        await self.app(scope, receive, send)


def _command(argv: list[str]) -> list[str]:
    """`animus-prep ...` as this interpreter runs it."""
    assert argv[0] == "animus-prep", argv
    return [sys.executable, "-m", "animus_prep.cli", *argv[1:]]


def _ledger(database: Path) -> tuple[dict[str, int], int, int]:
    """Charges by kind, the charges beyond one per character and kind, and characters."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT j.character_id, l.reason, COUNT(*) FROM ledger l"
            " JOIN jobs j ON j.job_id = l.ref GROUP BY j.character_id, l.reason"
        ).fetchall()
        (characters,) = db.execute("SELECT COUNT(*) FROM characters").fetchone()
    db.close()
    by_kind: dict[str, int] = {}
    double = 0
    for _, reason, n in rows:
        by_kind[reason] = by_kind.get(reason, 0) + int(n)
        double += int(n) - 1
    return by_kind, double, int(characters)


def run_seed(
    seed: int,
    *,
    faults: str = FAULTS,
    time_scale: float = 5000.0,
    max_reruns: int = 2,
    workdir: Path,
    timeout: float = 900.0,
    rerun_as_given: bool = False,
) -> SeedResult:
    """One seeded run of the example character, rerun as told until it finishes."""
    result = SeedResult(seed)
    root = workdir / f"seed-{seed}"
    shutil.rmtree(root, ignore_errors=True)
    folder = root / "character"
    shutil.copytree(EXAMPLE, folder)
    app = create_app(
        data_dir=root / "sandbox",
        api_keys={KEY: 1000.0},
        seed=seed,
        time_scale=time_scale,
        faults=faults,
    )
    counter = [0]
    app.add_middleware(_CountRequests, counter=counter)
    started = time.monotonic()
    try:
        with serve_in_thread(app) as url:
            env = {**os.environ, "ANIMUS_API_KEY": KEY, "ANIMUS_BASE_URL": url}
            argv = [
                "animus-prep",
                "run",
                str(folder),
                "--name",
                f"Seed {seed}",
                "--poll-interval",
                "0.1",
                "--workers",
                "1",
            ]
            while result.invocations <= max_reruns:
                result.invocations += 1
                proc = subprocess.run(
                    _command(argv),
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=timeout,
                    check=False,
                )
                if proc.returncode == 0:
                    result.finished = True
                    break
                lines = (proc.stdout + proc.stderr).splitlines()
                stop = next((ln for ln in lines if ln.startswith("stopped: ")), None)
                result.stops.append(stop or (lines[-1] if lines else f"exit {proc.returncode}"))
                resume = next((ln for ln in lines if ln.startswith("resume with: ")), None)
                if resume is not None:
                    argv = shlex.split(resume.removeprefix("resume with: "))
                elif not rerun_as_given:
                    break  # it did not say how to go on: counted as not finished
        result.charges, result.double_charges, result.characters = _ledger(
            root / "sandbox" / "sandbox.sqlite3"
        )
    finally:
        close_app(app)
        result.seconds = round(time.monotonic() - started, 1)
        result.requests = counter[0]
    return result


def summarize(results: list[SeedResult]) -> dict[str, object]:
    """The figures the README quotes."""
    n = len(results)
    once = sum(r.finished and r.invocations == 1 for r in results)
    within_one = sum(r.finished and r.invocations <= 2 for r in results)
    return {
        "seeds": n,
        "finished_in_one_invocation": once,
        "finished_after_at_most_one_rerun": within_one,
        "not_finished": sum(not r.finished for r in results),
        "double_charges": sum(r.double_charges for r in results),
        "extra_characters": sum(max(0, r.characters - 1) for r in results),
        "missing_charges": sum(
            1 for r in results if r.finished and any(r.charges.get(k, 0) < 1 for k in PAID)
        ),
        "median_seconds": statistics.median(r.seconds for r in results) if results else None,
        "median_requests": statistics.median(r.requests for r in results) if results else None,
        "stops": [s for r in results for s in r.stops],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--faults", default=FAULTS)
    parser.add_argument("--time-scale", type=float, default=5000.0)
    parser.add_argument("--max-reruns", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_faults.json")
    parser.add_argument(
        "--rerun-as-given",
        action="store_true",
        help="when a stopped run prints no resume command, run the same one again "
        "(to measure versions that printed none)",
    )
    args = parser.parse_args(argv)
    results: list[SeedResult] = []
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            r = run_seed(
                seed,
                faults=args.faults,
                time_scale=args.time_scale,
                max_reruns=args.max_reruns,
                workdir=Path(tmp),
                rerun_as_given=args.rerun_as_given,
            )
            results.append(r)
            state = f"finished in {r.invocations} invocation(s)" if r.finished else "NOT finished"
            print(
                f"seed {seed:3}: {state}, {r.seconds:5.1f} s, {r.requests} requests, "
                f"charges {r.charges}, "
                f"double {r.double_charges}" + (f"; stops: {r.stops}" if r.stops else ""),
                flush=True,
            )
    summary = summarize(results)
    print(json.dumps({k: v for k, v in summary.items() if k != "stops"}, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"faults": args.faults, "summary": summary, "runs": [asdict(r) for r in results]}
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    ok = (
        summary["finished_in_one_invocation"] >= round(0.95 * len(results))
        and summary["not_finished"] == 0
        and summary["double_charges"] == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
