"""Pillow's own test images (valid, odd, truncated, fuzzer crashers, bombs) each get a verdict."""

from __future__ import annotations

import time
from pathlib import Path

from animus_prep.inspection.analysis import analyze
from animus_prep.inspection.discover import Candidate
from animus_prep.policy import Policy
from animus_prep.reasons import ReasonCode


def test_every_pillow_test_image_gets_a_verdict_quickly(shared: Path) -> None:
    root = shared / "corpora" / "pillow-test-images"
    files = sorted(p for p in root.rglob("*") if p.is_file())
    assert len(files) > 1000
    policy = Policy()
    codes: dict[str, int] = {}
    slowest = (0.0, "")
    for path in files:
        start = time.perf_counter()
        result = analyze(Candidate(path, path.name, "face", "face_image"), policy)
        elapsed = time.perf_counter() - start
        slowest = max(slowest, (elapsed, path.name))
        for reason in result.reasons():
            codes[reason.code.value] = codes.get(reason.code.value, 0) + 1
            assert reason.message and "Traceback" not in reason.message
    # Every file was judged within the bound, and the corpus exercises every decode path.
    assert slowest[0] < 2.0, slowest
    for code in (ReasonCode.UNREADABLE, ReasonCode.UNSUPPORTED_FORMAT, ReasonCode.TOO_LARGE):
        assert codes.get(code.value, 0) > 0, code
    assert "truncated" in "".join(
        r.message
        for p in files
        if p.name == "truncated_jpeg.jpg"
        for r in analyze(Candidate(p, p.name, "face", "face_image"), policy).reasons()
    )
