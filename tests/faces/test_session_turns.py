"""Face sessions are built one at a time on a host: the transient peaks of several
workers' builds come one after another instead of adding up."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from animus_prep.faces import runtime
from animus_prep.faces.turns import lock_path, one_at_a_time

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="turns use flock (POSIX)")

_HOLD = """
import sys, time
from animus_prep.faces.turns import one_at_a_time
with one_at_a_time(sys.argv[1]) as held:
    start = time.time()
    time.sleep(0.4)
    print(held, start, time.time())
"""


def test_processes_take_turns() -> None:
    name = f"test-{uuid.uuid4().hex}"
    procs = [
        subprocess.Popen([sys.executable, "-c", _HOLD, name], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    spans = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        held, start, end = out.split()
        assert held == "True"
        spans.append((float(start), float(end)))
    spans.sort()
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end - 0.01  # the next began only once the one before had ended
    lock_path(name).unlink()


def test_waiting_for_a_turn_is_bounded() -> None:
    name = f"test-{uuid.uuid4().hex}"
    with one_at_a_time(name) as first:
        assert first
        t0 = time.monotonic()
        with one_at_a_time(name, wait=0.3) as second:
            waited = time.monotonic() - t0
            assert not second  # it went ahead without the turn
    assert 0.3 <= waited < 5
    with one_at_a_time(name, wait=0.3) as again:
        assert again  # released when the first block ended
    lock_path(name).unlink()


def test_without_a_lock_file_the_block_still_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", "/nonexistent/animus-prep")
    ran = False
    with one_at_a_time("anything") as held:
        ran = True
    assert ran and not held


def test_a_session_build_waits_for_its_turn() -> None:
    done = threading.Event()

    def build() -> None:
        # A thread count no other test uses: a session of its own, built now.
        runtime.get_session("yunet", 7)
        done.set()

    with one_at_a_time():
        worker = threading.Thread(target=build)
        worker.start()
        assert not done.wait(0.5)  # another process's build is under way
    assert done.wait(60)
    worker.join()


def test_the_lock_file_is_the_users_own() -> None:
    name = f"test-{uuid.uuid4().hex}"
    with one_at_a_time(name):
        pass
    path = lock_path(name)
    assert path.parent == Path(tempfile.gettempdir())
    assert str(os.getuid()) in path.name
    assert path.stat().st_mode & 0o777 == 0o600
    path.unlink()


_FORK_DURING_A_TURN = """
import os, sys, time
from animus_prep.faces.turns import one_at_a_time
with one_at_a_time(sys.argv[1]) as held:
    pid = os.fork()
    if pid == 0:  # the child lives on, as a worker would
        time.sleep(5)
        os._exit(0)
# The parent's block has ended: the turn is free although the child still runs.
with one_at_a_time(sys.argv[1], wait=1.0) as again:
    print(held, again)
os.kill(pid, 9)
os.waitpid(pid, 0)
"""


def test_a_child_forked_during_a_turn_does_not_keep_it() -> None:
    # In a fresh, single-threaded interpreter (forking a threaded one is unsafe).
    name = f"test-{uuid.uuid4().hex}"
    done = subprocess.run(
        [sys.executable, "-c", _FORK_DURING_A_TURN, name],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]
    lock_path(name).unlink()
