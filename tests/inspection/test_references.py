"""Reference photos that cannot be used stop the check loudly instead of turning the
identity check off."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from animus_prep import UnusableReferenceError, preflight
from animus_prep.policy import Policy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "character"


@pytest.fixture
def character(tmp_path: Path) -> Path:
    root = tmp_path / "chloe"
    (root / "face").mkdir(parents=True)
    (root / "body" / "front").mkdir(parents=True)
    shutil.copy(EXAMPLES / "face" / "ardern.jpg", root / "face" / "a.jpg")
    shutil.copy(
        EXAMPLES / "body" / "front" / "ardern_studio.jpg", root / "body" / "front" / "b.jpg"
    )
    return root


@pytest.fixture
def useless(tmp_path: Path) -> Path:
    ref = tmp_path / "known"
    ref.mkdir()
    shutil.copy(EXAMPLES / "face" / "coffee.jpg", ref / "cup.jpg")
    shutil.copy(EXAMPLES / "face" / "with_a_friend.jpg", ref / "two.jpg")
    (ref / "notes.txt").write_text("not a photo")
    return ref


def test_no_usable_reference_raises_naming_each_photo_and_why(
    character: Path, useless: Path
) -> None:
    with pytest.raises(UnusableReferenceError) as caught:
        preflight(character, reference=useless)
    problems = dict(caught.value.problems)
    assert set(problems) == {"cup.jpg", "two.jpg", "notes.txt"}
    assert problems["cup.jpg"] == "no face found"
    assert problems["two.jpg"].startswith("2 faces")
    assert problems["notes.txt"].startswith("unreadable")
    assert "cup.jpg: no face found" in str(caught.value)


def test_one_usable_reference_is_enough(character: Path, useless: Path) -> None:
    shutil.copy(EXAMPLES / "face" / "ardern_mirrored.jpg", useless / "good.jpg")
    report = preflight(character, reference=useless)
    face = report.image("face/a.jpg")
    assert face.identity_score is not None and face.identity_score > 0.5
    assert not any("identity not checked" in w for w in report.warnings)


def test_references_with_the_face_checks_off_are_refused(character: Path) -> None:
    with pytest.raises(UnusableReferenceError, match="faces checks off"):
        preflight(character, reference=EXAMPLES / "face", policy=Policy(faces=False))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANIMUS_API_KEY": "sk-test-never-sent"}
    return subprocess.run(
        [sys.executable, "-m", "animus_prep.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


@pytest.mark.parametrize(
    "command",
    [
        ["check"],
        # Nothing listens on port 9: a command that reached the network would fail
        # differently (exit 1); these stop before anything is sent.
        ["upload", "--name", "Chloe", "--base-url", "http://127.0.0.1:9/v2"],
        ["run", "--name", "Chloe", "--base-url", "http://127.0.0.1:9/v2"],
    ],
    ids=lambda c: c[0],
)
def test_every_command_exits_2_naming_the_unusable_references(
    command: list[str], character: Path, useless: Path
) -> None:
    name, *options = command
    proc = _cli(name, str(character), "--reference", str(useless), "--workers", "1", *options)
    assert proc.returncode == 2, proc.stderr
    assert "cup.jpg: no face found" in proc.stderr
    assert "two.jpg: 2 faces" in proc.stderr
    assert "notes.txt: unreadable" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (character / ".animus-prep").exists() or command[0] == "check"


def test_one_photo_may_be_the_reference(character: Path) -> None:
    (character / "face" / "stranger.jpg").write_bytes(
        (EXAMPLES / "face" / "obama.jpg").read_bytes()
    )
    proc = _cli(
        "check", str(character), "--reference", str(EXAMPLES / "face" / "ardern.jpg"),
        "--workers", "1", "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    images = {i["path"]: i for i in json.loads(proc.stdout)["images"]}
    assert images["face/a.jpg"]["accepted"] and images["face/a.jpg"]["identity_score"] > 0.5
    assert [r["code"] for r in images["face/stranger.jpg"]["reasons"]] == ["identity_mismatch"]
