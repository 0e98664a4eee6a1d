"""Workers hand freed memory back now and then, not after every batch."""

from __future__ import annotations

from pathlib import Path

import pytest

from animus_prep import Policy
from animus_prep.inspection import work
from animus_prep.inspection.discover import discover
from photos import scene, write


def test_freed_memory_is_handed_back_at_most_once_a_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "c" / "face" / "a.jpg", scene(1))
    items = [(c, Policy(faces=False), False) for c in discover(tmp_path / "c")]
    clock = [100.0]
    calls: list[float] = []
    monkeypatch.setattr(work, "_clock", lambda: clock[0])
    monkeypatch.setattr(work, "release_freed_memory", lambda: calls.append(clock[0]) or True)
    monkeypatch.setattr(work, "_released_at", -work.RELEASE_EVERY)

    for step in (0.0, 0.1, 0.2, work.RELEASE_EVERY * 0.9, work.RELEASE_EVERY + 0.05):
        clock[0] = 100.0 + step
        assert len(work.analyze_batch(items)) == 1
    # The first batch hands back (a worker's first files follow its session builds), the
    # next ones within the period do not, the first after it does.
    assert calls == [100.0, 100.0 + work.RELEASE_EVERY + 0.05]
