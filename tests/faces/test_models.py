"""The shipped model files and the graph rewrites in models/tools/convert.py that made them."""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from animus_prep.faces.weights import BlockQuantized, pack, unpack  # noqa: E402

MODELS = Path(__file__).resolve().parents[2] / "models"
README = MODELS / "README.md"


def _load_convert() -> Any:
    """models/tools/convert.py, a script kept out of the wheel (it needs onnx)."""
    spec = importlib.util.spec_from_file_location("convert", MODELS / "tools" / "convert.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


convert = _load_convert()


def test_shipped_models_match_the_digests_in_the_readme() -> None:
    table = dict(
        re.findall(
            r"^\| `([\w.]+\.(?:onnx|npz))` \|.*\| `([0-9a-f]{64})` \|$", README.read_text(), re.M
        )
    )
    assert set(table) == {"yunet.onnx", "sface.onnx", "sface.weights.npz"}
    package = importlib.resources.files("animus_prep.models")
    for name, digest in table.items():
        data = package.joinpath(name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, f"{name} differs from models/README.md"


def run(model: Any, feed: dict[str, np.ndarray]) -> np.ndarray:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options)
    return np.asarray(session.run(None, feed)[0])


def conv_prelu_model(slope: np.ndarray) -> Any:
    channels = slope.shape[0]
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(channels, 3, 3, 3)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
            helper.make_node("PRelu", ["c", "slope"], ["y"]),
        ],
        "conv_prelu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 9, 7])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, channels, 9, 7])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(slope, "slope")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_expand_prelu_is_exact_for_any_slope() -> None:
    # Negative slopes and slopes above 1 occur in SFace: the rewrite must not assume 0..1.
    slope = np.array([-0.6, 0.0, 0.25, 1.0, 1.12, 0.85], np.float32).reshape(6, 1, 1)
    model = conv_prelu_model(slope)
    x = np.random.default_rng(1).normal(size=(1, 3, 9, 7)).astype(np.float32)
    expected = run(model, {"x": x})
    assert (expected < 0).any() and (expected > 0).any()

    assert convert.expand_prelu(model) == 1
    assert "PRelu" not in {n.op_type for n in model.graph.node}
    onnx.checker.check_model(model, full_check=True)
    np.testing.assert_allclose(run(model, {"x": x}), expected, rtol=1e-6, atol=1e-6)
    # The old slope tensor is gone; only the rewrite's constants remain.
    assert "slope" not in {t.name for t in model.graph.initializer}


def test_blocked_dequantize_matches_the_opset21_definition() -> None:
    q = np.arange(-8, 16, dtype=np.int8).reshape(4, 6)
    scale = np.array([[0.5, 2.0], [1.0, 0.25], [3.0, 1.0], [0.1, 0.2]], np.float32)
    zero = np.array([[1, -1], [0, 2], [0, 0], [-3, 3]], np.int8)
    out = convert.dequantize(q, scale, zero, axis=1, block=3)
    # Block j of row i covers columns 3j..3j+2.
    expected = np.empty((4, 6), np.float32)
    for i in range(4):
        for j in range(6):
            b = j // 3
            expected[i, j] = (float(q[i, j]) - float(zero[i, b])) * float(scale[i, b])
    np.testing.assert_array_equal(out, expected)


def test_externalized_weights_run_in_onnxruntime_as_the_blocked_dequantize_defines() -> None:
    q = np.random.default_rng(2).integers(-128, 127, size=(4, 8)).astype(np.int8)
    scale = np.array([[0.5, 0.25], [1.0, 2.0], [0.1, 0.3], [4.0, 0.5]], np.float32)
    zero = np.array([[0, 3], [-2, 0], [1, 1], [0, -7]], np.int8)
    graph = helper.make_graph(
        [
            helper.make_node("DequantizeLinear", ["q", "s", "z"], ["w"], axis=1, block_size=4),
            helper.make_node("MatMul", ["x", "w"], ["y"]),
        ],
        "blocked",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [
            numpy_helper.from_array(q, "q"),
            numpy_helper.from_array(scale, "s"),
            numpy_helper.from_array(zero, "z"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    weights = convert.externalize_dequantize(model, "m.weights.npz")
    assert [w.name for w in weights] == ["w"]
    assert "DequantizeLinear" not in {n.op_type for n in model.graph.node}
    (external,) = [t for t in model.graph.initializer if t.name == "w"]
    assert external.data_location == TensorProto.EXTERNAL and not external.raw_data
    # Through the weights file, as the library reads it, into onnxruntime.
    (stored,) = unpack(pack(weights))
    options = ort.SessionOptions()
    value = ort.OrtValue.ortvalue_from_numpy(stored.dequantized())
    options.add_external_initializers(["w"], [value])
    session = ort.InferenceSession(model.SerializeToString(), options)
    expected = convert.dequantize(q, scale, zero, axis=1, block=4)
    for row in range(4):
        x = np.eye(4, dtype=np.float32)[row : row + 1]
        np.testing.assert_array_equal(session.run(None, {"x": x})[0][0], expected[row])


def test_the_weights_file_round_trips_and_refuses_other_files() -> None:
    rng = np.random.default_rng(3)
    weights = [
        BlockQuantized(
            f"w{i}",
            rng.integers(-128, 127, size=(3, 2, 4)).astype(np.int8),
            rng.normal(size=(3, 2, 1)).astype(np.float32),
            rng.uniform(0.01, 1, size=(3, 2, 1)).astype(np.float32),
            (3, 8),
        )
        for i in range(3)
    ]
    data = pack(weights)
    assert pack(weights) == data  # the same weights, the same bytes
    for got, want in zip(unpack(data), weights, strict=True):
        assert got.name == want.name and got.shape == want.shape
        np.testing.assert_array_equal(got.dequantized(), want.dequantized())
        assert got.dequantized().shape == (3, 8)
    with pytest.raises(ValueError, match="not a weights file"):
        unpack(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a weights file"):
        unpack(b"PK\x03\x04 but not a zip at all")


def test_the_shipped_sface_weights_are_those_of_its_int8_blocks() -> None:
    package = importlib.resources.files("animus_prep.models")
    stored = unpack(package.joinpath("sface.weights.npz").read_bytes())
    graph = onnx.load_from_string(package.joinpath("sface.onnx").read_bytes())
    external = {
        t.name: tuple(t.dims)
        for t in graph.graph.initializer
        if t.data_location == TensorProto.EXTERNAL
    }
    assert external == {w.name: w.shape for w in stored}
    assert len(stored) == 29
    for w in stored:
        # Per block: (q - zero) * scale, the opset-21 definition.
        blocks = w.q.astype(np.float64) - w.zero
        np.testing.assert_allclose(
            w.dequantized().reshape(w.q.shape), blocks * w.scale, rtol=1e-6, atol=1e-7
        )


def test_drop_extra_inputs_keeps_only_the_real_input() -> None:
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "b"], ["y"])],
        "extra",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [2]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [2]),
            helper.make_tensor_value_info("unused", TensorProto.FLOAT, [2]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
        [numpy_helper.from_array(np.ones(2, np.float32), "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    assert convert.drop_extra_inputs(model) == 2
    assert [i.name for i in model.graph.input] == ["x"]
    np.testing.assert_array_equal(run(model, {"x": np.zeros(2, np.float32)}), [1.0, 1.0])
