"""Memory the C heap keeps after a session is built is handed back to the system."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from animus_prep.faces import runtime

# In a fresh interpreter: fill the heap with 64 KB blocks (under glibc's mmap threshold),
# free all but the last (which pins the heap's top, so free() alone cannot shrink it),
# and print the resident size before and after releasing.
_CHILD = textwrap.dedent(
    """
    from animus_prep.faces.runtime import release_freed_memory

    def rss_mb():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise SystemExit("no VmRSS")

    blocks = [bytes(bytearray(64 * 1024)) for _ in range(3000)]
    pin = blocks[-1]
    del blocks
    before = rss_mb()
    released = release_freed_memory()
    print(released, before, rss_mb())
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_release_hands_freed_heap_memory_back() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    if out[0] == "False":
        pytest.skip("this C library has no malloc_trim")
    before, after = float(out[1]), float(out[2])
    # ~190 MB were freed but kept by the heap; releasing returns most of it.
    assert before - after > 100, (before, after)


def test_a_new_session_hands_back_what_building_it_freed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(runtime, "release_freed_memory", lambda: calls.append(1) or True)
    monkeypatch.setattr(runtime, "_sessions", {})
    first = runtime.get_session("yunet", 1)
    assert calls == [1]
    assert runtime.get_session("yunet", 1) is first  # cached: nothing built, nothing freed
    assert calls == [1]
