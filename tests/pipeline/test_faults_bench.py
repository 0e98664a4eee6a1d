"""A few seeds of `benchmarks/bench_faults.py`: whole runs of the real command against a
sandbox on loopback that injects the README's fault mix (with shorter pauses, so the
suite stays quick). The benchmark itself runs 20 seeds by hand."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_faults.py"
FAULTS = "503:0.1,429:0.05@1s,reset:0.02,slow:0.05@0.3s,lost:0.03"


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_faults", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_faults", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("seed", [101, 102])
def test_a_run_under_faults_finishes_and_never_pays_twice(tmp_path: Path, seed: int) -> None:
    b = bench()
    result = b.run_seed(seed, faults=FAULTS, time_scale=5000, max_reruns=1, workdir=tmp_path)
    assert result.finished, result.stops
    assert result.invocations <= 2, result.stops
    assert result.double_charges == 0
    assert result.charges == {"face_augmentation": 1, "face_lora": 1, "body_lora": 1}
    assert result.characters == 1
    summary = b.summarize([result])
    assert summary["double_charges"] == 0 and summary["not_finished"] == 0
