"""The console script: a Ctrl-C while the command is still loading stops it cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).parent / "animus-prep"

# Loaded by Python at start-up from PYTHONPATH: the interrupt lands while the command's
# modules are being imported, as a Ctrl-C pressed at once would.
INTERRUPT_WHILE_LOADING = """
import sys

class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == "animus_prep.cli":
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, Interrupt())
"""


@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed here")
def test_ctrl_c_while_loading_exits_130_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(INTERRUPT_WHILE_LOADING)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [str(SCRIPT), "check", str(tmp_path)], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 130
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().endswith("animus-prep: interrupted")


@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed here")
def test_console_script_runs_the_command() -> None:
    done = subprocess.run([str(SCRIPT), "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.startswith("animus-prep ")
