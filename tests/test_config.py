"""Which policy applies to a folder: --config, animus-prep.toml, [tool.animus-prep]."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from animus_prep import PolicyError, effective_policy
from animus_prep.cli import main
from animus_prep.config import find_policy_file
from photos import photo, write


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """project/pyproject.toml with the table, a pyproject.toml without it below, and a
    character folder under both."""
    (tmp_path / "pyproject.toml").write_text("[tool.animus-prep]\nmin_side = 900\n")
    (tmp_path / "chars").mkdir()
    (tmp_path / "chars" / "pyproject.toml").write_text('[project]\nname = "other"\n')
    char = tmp_path / "chars" / "chloe"
    write(char / "face" / "a.jpg", photo("astronaut", 700))
    return char


def test_the_nearest_pyproject_with_the_table_applies(project: Path) -> None:
    effective = effective_policy(project)
    root = project.parents[1] / "pyproject.toml"
    assert effective.file == root.resolve()
    assert effective.policy.min_side == 900
    assert effective.origins["min_side"] == f"{root.resolve()} [tool.animus-prep]"
    assert effective.origins["body_cap"] == "default"


def test_the_folders_own_file_comes_first(project: Path) -> None:
    (project / "animus-prep.toml").write_text("[policy]\nface_cap = 7\n")
    effective = effective_policy(project)
    assert effective.policy.face_cap == 7 and effective.policy.min_side == 512
    assert effective.origins["face_cap"] == str((project / "animus-prep.toml").resolve())
    # --config replaces discovery, and a flag goes on top of either.
    cfg = project.parent / "strict.json"
    cfg.write_text('{"min_side": 1024}')
    explicit = effective_policy(project, config=cfg, flags={"faces": ("--no-faces", False)})
    assert explicit.policy.min_side == 1024 and explicit.policy.face_cap == 20
    assert explicit.origins["faces"] == "--no-faces" and not explicit.policy.faces
    assert not explicit.is_default and effective_policy(project.parent.parent.parent).is_default


def test_a_policy_table_inside_the_tool_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.animus-prep.policy]\nbody_cap = 3\n")
    assert effective_policy(tmp_path / "anything").policy.body_cap == 3
    assert find_policy_file(tmp_path) == (
        (tmp_path / "pyproject.toml").resolve(),
        f"{(tmp_path / 'pyproject.toml').resolve()} [tool.animus-prep]",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tool.animus-prep]\nmin_sidee = 3\n", "unknown policy setting 'min_sidee'"),
        ("[tool.animus-prep\n", "cannot parse"),
        ('[tool]\nanimus-prep = "strict"\n', "must hold a table"),
    ],
)
def test_a_bad_pyproject_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(PolicyError, match=message):
        effective_policy(tmp_path)


def test_check_uses_the_policy_found_and_says_so(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(project), "--json", "--workers", "1"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["policy"]["min_side"] == 900
    assert doc["summary"]["rejected_by_reason"]["too_small"] == 1
    main(["check", str(project), "--workers", "1"])
    assert capsys.readouterr().out.rstrip().endswith("[tool.animus-prep]")
    (project.parents[1] / "pyproject.toml").write_text("[tool.animus-prep]\nmin_side = 0\n")
    assert main(["check", str(project)]) == 2
    assert "min_side must be positive" in capsys.readouterr().err


def test_the_config_command_shows_each_value_and_its_origin(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", str(project)]) == 0
    lines = capsys.readouterr().out.splitlines()
    root = (project.parents[1] / "pyproject.toml").resolve()
    assert lines[0] == f"policy file: {root}"
    assert lines[1].split() == ["min_side", "900", str(root), "[tool.animus-prep]"]
    assert next(x for x in lines if "face_cap" in x).split() == ["face_cap", "20", "default"]
    assert main(["config", str(project), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "animus-prep.config/1" and doc["policy"]["min_side"] == 900
    assert doc["origins"]["min_side"].endswith("[tool.animus-prep]")
    assert main(["config", str(project / "nowhere")]) == 2


def test_a_folder_that_cannot_be_looked_into_is_a_clear_error(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # As for a folder without read permission (the tests may run as root, whom no mode
    # keeps out): looking for its policy file raises PermissionError.
    real_is_file = Path.is_file

    def locked(path: Path) -> bool:
        if path.parent == project.resolve():
            raise PermissionError(13, "Permission denied", str(path))
        return real_is_file(path)

    monkeypatch.setattr(Path, "is_file", locked)
    with pytest.raises(PolicyError, match=r"cannot look for a policy file in .*Permission denied"):
        find_policy_file(project)
    for command in (["config", str(project)], ["check", str(project), "--no-faces"]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert "Permission denied" in err and "Traceback" not in err
