"""A model whose weights file is missing or damaged is a clear error, never a traceback."""

from __future__ import annotations

import importlib.resources
import shutil
from pathlib import Path

import numpy as np
import pytest

from animus_prep.faces import runtime
from animus_prep.faces.errors import FacesUnavailableError

SHIPPED = importlib.resources.files("animus_prep.models")


def _models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, weights: bytes | None) -> None:
    """A models package with the shipped SFace graph and these weights (None: none)."""
    # A name of its own: a package imported by an earlier test stays in sys.modules.
    name = f"models_{tmp_path.name.replace('-', '_')}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    with importlib.resources.as_file(SHIPPED.joinpath("sface.onnx")) as graph:
        shutil.copy(graph, package / "sface.onnx")
    if weights is not None:
        (package / "sface.weights.npz").write_bytes(weights)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(runtime, "MODELS_PACKAGE", name)
    monkeypatch.setattr(runtime, "_sessions", {})


def test_the_shipped_weights_make_a_working_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _models(tmp_path, monkeypatch, SHIPPED.joinpath("sface.weights.npz").read_bytes())
    out = runtime.get_session("sface", 1).run(None, {"data": np.zeros((1, 3, 112, 112), "f4")})
    assert np.isfinite(out[0]).all() and np.abs(out[0]).sum() > 0


def test_damaged_weights_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = SHIPPED.joinpath("sface.weights.npz").read_bytes()
    _models(tmp_path, monkeypatch, whole[: len(whole) // 3])
    with pytest.raises(FacesUnavailableError, match=r"sface\.weights\.npz is damaged"):
        runtime.get_session("sface", 1)


def test_missing_weights_are_a_model_that_cannot_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _models(tmp_path, monkeypatch, None)
    with pytest.raises(FacesUnavailableError, match=r"sface\.onnx cannot be loaded"):
        runtime.get_session("sface", 1)
