"""`animus-prep sandbox` / `python -m animus_prep.sandbox`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from animus_prep.sandbox.cli import build_parser, main, parse_api_key


def _start(*args: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "animus_prep.sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(4)]
    first = lines[0].strip()
    assert first.startswith("Animus sandbox: http://127.0.0.1:"), (first, proc.stderr)
    return proc, first.split(": ", 1)[1], lines


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serves_prints_keys_and_stops_on_signals(tmp_path: Path, sig: signal.Signals) -> None:
    proc, url, lines = _start(
        "--data", str(tmp_path), "--api-key", "sk-one:12.5", "--api-key", "sk-two"
    )
    try:
        assert url.endswith("/v2")
        assert not url.endswith(":0/v2")
        assert any("sk-one" in line for line in lines)
        with httpx.Client(base_url=url, headers={"Authorization": "Bearer sk-one"}) as c:
            r = c.post("/characters", json={"name": "cli"})
            assert r.status_code == 200
        with httpx.Client(base_url=url, headers={"Authorization": "Bearer sk-sandbox"}) as c:
            assert c.get("/characters").status_code == 401
    finally:
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "stopped" in out
    assert (tmp_path / "sandbox.sqlite3").exists()


def test_default_key_is_printed(tmp_path: Path) -> None:
    proc, url, lines = _start("--data", str(tmp_path))
    try:
        assert "  API key: sk-sandbox\n" in lines
        with httpx.Client(base_url=url, headers={"Authorization": "Bearer sk-sandbox"}) as c:
            assert c.get("/characters").json()["pagination"]["total"] == 0
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
    assert proc.returncode == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--faults", "503:2"], "within [0, 1]"),
        (["--faults", "boom:0.1"], "unknown fault kind"),
        (["--defect-rate", "3"], "must be within [0, 1]"),
        (["--time-scale", "0"], "must be > 0"),
        (["--api-key", "sk:lots"], "bad credits"),
    ],
)
def test_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_parse_api_key() -> None:
    assert parse_api_key("sk-a") == ("sk-a", 1000.0)
    assert parse_api_key("sk-a:5") == ("sk-a", 5.0)
    assert parse_api_key("sk:a:0.5") == ("sk:a", 0.5)


def test_every_option_has_help() -> None:
    parser = build_parser()
    for action in parser._actions:
        assert action.help, action.dest
    text = parser.format_help()
    for flag in (
        "--host",
        "--port",
        "--data",
        "--api-key",
        "--seed",
        "--time-scale",
        "--defect-rate",
        "--faults",
    ):
        assert flag in text
