"""The package as others install and import it: light imports, a complete wheel layout,
and an editable install that type checkers can follow."""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
HEAVY = ("cv2", "numpy", "PIL", "onnxruntime")


def _loaded_after(statement: str) -> list[str]:
    code = f"import sys\n{statement}\nprint(__import__('json').dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    modules = json.loads(out.stdout)
    return [m for m in HEAVY if m in modules]


@pytest.mark.parametrize(
    "statement",
    [
        "import animus_prep",
        "import animus_prep.client",
        "from animus_prep import Client, AnimusError",
        "from animus_prep import Policy, ReasonCode",
    ],
)
def test_the_client_and_the_public_names_import_without_the_image_stack(statement: str) -> None:
    assert _loaded_after(statement) == []


def test_the_preflight_does_load_the_image_stack_when_used() -> None:
    # The lazy import is real: asking for the pre-flight brings what it needs, OpenCV as
    # soon as pixels are worked on (a pre-flight's parent, which only assembles reports
    # from its workers, never loads it).
    assert set(_loaded_after("from animus_prep import preflight")) == {"numpy", "PIL"}
    judged = (
        "from animus_prep import Policy, analyze_bytes\n"
        "from PIL import Image; import io; buf = io.BytesIO()\n"
        "Image.new('RGB', (600, 600), (90, 120, 150)).save(buf, 'PNG')\n"
        "analyze_bytes(buf.getvalue(), 'grey.png', Policy(faces=False))"
    )
    assert set(_loaded_after(judged)) == {"cv2", "numpy", "PIL"}


def _pyproject() -> dict[str, object]:
    with (REPO / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def test_every_package_folder_is_listed_for_the_wheel() -> None:
    setuptools = _pyproject()["tool"]["setuptools"]  # type: ignore[index]
    listed = set(setuptools["packages"])  # type: ignore[index]
    found = {
        ".".join(p.relative_to(SRC).parts)
        for p in (SRC / "animus_prep").rglob("*")
        if p.is_dir() and p.name != "__pycache__" and any(p.iterdir())
    } | {"animus_prep", "animus_prep.models"}
    assert listed == found


def test_the_models_package_ships_models_and_no_script() -> None:
    # models/ maps to animus_prep.models: a .py there would ship in the wheel, and the
    # conversion script needs onnx, which users do not install.
    modules = sorted(p.name for p in (REPO / "models").glob("*.py"))
    assert modules == ["__init__.py"]
    assert sorted(p.name for p in (REPO / "models").glob("*.onnx")) == ["sface.onnx", "yunet.onnx"]
    # Every data file there (SFace's weights beside its graph) is in the wheel.
    patterns = _pyproject()["tool"]["setuptools"]["package-data"]["animus_prep.models"]  # type: ignore[index]
    shipped = [p.name for p in (REPO / "models").iterdir() if p.is_file() and p.suffix != ".py"]
    assert "sface.weights.npz" in shipped
    for name in shipped:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name
    project = _pyproject()["project"]
    assert project["license-files"] == ["LICENSE"]  # type: ignore[index]
    assert (REPO / "LICENSE").read_text().startswith("MIT License")


@pytest.mark.skipif(
    shutil.which("mypy", path=str(Path(sys.executable).parent)) is None,
    reason="mypy is not installed beside this Python",
)
def test_a_consumer_script_type_checks_against_the_installed_package(tmp_path: Path) -> None:
    consumer = tmp_path / "consumer.py"
    consumer.write_text(
        "import animus_prep\n"
        "from animus_prep.client import Client\n\n"
        "def check(path: str) -> int:\n"
        "    report: animus_prep.Report = animus_prep.preflight(path)\n"
        "    policy = animus_prep.Policy(min_side=768)\n"
        "    return len(report.rejected) + policy.min_side\n\n"
        "def wrong() -> str:\n"
        "    return animus_prep.Policy().min_side\n\n"
        "def client() -> Client:\n"
        "    return animus_prep.Client(api_key='k')\n\n"
        "def chain(c: Client) -> str:\n"
        "    # The ids an answer is for go straight into the next call (README's example).\n"
        "    character = c.characters.create('Chloe')\n"
        "    upload = c.assets.upload_face(character.character_id, 'a.jpg')\n"
        "    job = c.training.start_face_lora(character.character_id)\n"
        "    return upload.asset_id + job.job_id\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(consumer)],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # outside the project: no config of ours helps it find the package
    )
    # Found and typed: exactly the one planted error (an int returned as str), no
    # "cannot find implementation" and nothing typed as Any.
    assert "import-not-found" not in out.stdout, out.stdout
    errors = [line for line in out.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1 and "consumer.py:10" in errors[0], out.stdout
    assert "return-value" in errors[0]


def test_the_library_s_log_records_reach_no_stream_by_themselves() -> None:
    # Python prints a warning with no handler to stderr ("last resort"): an application
    # that imports the library decides where its records go.
    code = (
        "import logging, animus_prep.client\n"
        "logging.getLogger('animus_prep.review').warning('cannot download r1: gone')\n"
        "logging.getLogger('elsewhere').warning('not ours')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stderr == "not ours\n"  # the control: a logger of no library's still prints
