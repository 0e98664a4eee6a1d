"""Face-model sessions are built one at a time on a host, across processes.

Building SFace's session goes ~130 MB above what the session then holds, for a fraction
of a second. A pre-flight's workers meet their first face photo at about the same moment,
so without turns their builds overlap and those peaks add up: with two workers, that
moment was the peak memory of most runs. Taking turns, a build waits for the one before
it (~0.2 s) and the peaks come one after another.

A turn is an advisory lock (`flock`) on a file of the user's in the temporary directory;
closing the file, or the process ending, releases it. Waiting is bounded: after `wait`
seconds the build goes ahead anyway. Where no lock can be had (no `fcntl`, no writable
temporary directory), builds do not take turns.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

if sys.platform != "win32":
    import fcntl

WAIT_LIMIT = 30.0
"""Longest wait (s) for a turn; a build that takes longer than this is broken anyway."""
_POLL = 0.01

# Lock files this process holds open. A child forked meanwhile closes its copies: the
# turn stays with the parent, and ends when the parent's block does.
_held: set[int] = set()


def _close_inherited() -> None:
    for fd in _held:
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_inherited)


@contextlib.contextmanager
def one_at_a_time(name: str = "session-build", wait: float = WAIT_LIMIT) -> Iterator[bool]:
    """Run the block in this host's turn for `name`; yields whether the turn was had
    (False: no lock available here, or `wait` ran out)."""
    fd = _open_lock_file(name)
    if fd is None:
        yield False
        return
    _held.add(fd)
    try:
        yield _take(fd, wait)
    finally:
        _held.discard(fd)
        os.close(fd)  # releases the lock


def lock_path(name: str) -> Path:
    """The file whose lock is the turn for `name`."""
    user = "user" if sys.platform == "win32" else os.getuid()
    return Path(tempfile.gettempdir()) / f"animus-prep-{user}-{name}.lock"


def _open_lock_file(name: str) -> int | None:
    if sys.platform == "win32":
        return None
    try:
        return os.open(lock_path(name), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None


def _take(fd: int, wait: float) -> bool:
    if sys.platform == "win32":
        return False
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL)
        except OSError:
            return False  # a file system without locks
