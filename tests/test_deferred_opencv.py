"""A pre-flight's parent process never loads OpenCV (~37 MB): only the processes that
work on pixels do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from animus_prep._opencv import DeferredModule
from photos import photo, scene, write

ROOT = Path(__file__).resolve().parent


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_the_library_and_its_cli_loads_no_opencv() -> None:
    out = _run(
        "import sys, animus_prep, animus_prep.cli.local, animus_prep.inspection.run\n"
        "import animus_prep.inspection.assemble, animus_prep.htmlreport\n"
        "print(sorted(m for m in ('cv2', 'onnxruntime') if m in sys.modules))"
    )
    assert out == "[]"


def test_a_preflight_over_worker_processes_leaves_opencv_to_the_workers(tmp_path: Path) -> None:
    arr = photo("coffee", 700)
    write(tmp_path / "a.jpg", arr, quality=95)
    write(tmp_path / "b.jpg", arr[10:, 12:], quality=80)  # a near copy: verified by workers
    write(tmp_path / "c.jpg", scene(3))
    out = _run(
        "import sys\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from animus_prep import Policy, preflight\n"
        "with ProcessPoolExecutor(2) as pool:\n"
        f"    r = preflight({str(tmp_path)!r}, 'face', Policy(faces=False), pool)\n"
        "print(sorted(i.path for i in r.images if i.duplicate_of), 'cv2' in sys.modules)"
    )
    assert out == "['b.jpg'] False"


def test_a_deferred_module_imports_on_first_use() -> None:
    deferred = DeferredModule("colorsys")
    assert "deferred" in repr(deferred)
    import colorsys

    assert deferred.rgb_to_hsv is colorsys.rgb_to_hsv
    assert "rgb_to_hsv" in vars(deferred)  # looked up once
    with pytest.raises(AttributeError):
        _ = deferred.no_such_name
    with pytest.raises(AttributeError):
        _ = deferred.__wrapped__  # protocols probing for dunders do not import
