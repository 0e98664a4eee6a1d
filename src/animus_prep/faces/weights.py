"""Model weights kept beside the ONNX graph: int8 blocks with their scales and zero points.

SFace's weights ship as opencv_zoo quantized them: int8, in blocks that share a scale and a
zero point. When the graph itself dequantized them (Cast, Sub, Mul and Reshape that
onnxruntime folds to float32 while building the session), the build went ~215 MB above
where it started, although the session then holds ~60 MB. So the graph declares its
float32 weights as external data, and they are made here, one weight at a time in numpy,
and handed to onnxruntime (`SessionOptions.add_external_initializers`), which copies them
into the graph before optimising it. The float32 weights are the same bit for bit: the
same float32 subtraction and multiplication, element by element.

File format (``<model>.weights.npz``: numpy's uncompressed npz, no pickled objects):

- ``names``: the graph initializers' names, in order (a unicode array);
- ``q{i}``: the int8 weights of the i-th, its blocked axis split in two (blocks, block);
- ``zero{i}``, ``scale{i}``: float32, the same shape with 1 for the block;
- ``shape{i}``: int64, the weight's shape in the graph.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class BlockQuantized:
    """One weight as stored: int8 blocks with a scale and zero point per block."""

    name: str
    q: np.ndarray
    zero: np.ndarray
    scale: np.ndarray
    shape: tuple[int, ...]

    def dequantized(self) -> np.ndarray:
        """The float32 weight: (q - zero) * scale, in the graph's shape."""
        w = (self.q.astype(np.float32) - self.zero) * self.scale
        return np.ascontiguousarray(w.reshape(self.shape), dtype=np.float32)


def pack(weights: Sequence[BlockQuantized]) -> bytes:
    """The ``.weights.npz`` bytes of these weights."""
    arrays: dict[str, np.ndarray] = {"names": np.array([w.name for w in weights])}
    for i, w in enumerate(weights):
        arrays[f"q{i}"] = np.asarray(w.q, dtype=np.int8)
        arrays[f"zero{i}"] = np.asarray(w.zero, dtype=np.float32)
        arrays[f"scale{i}"] = np.asarray(w.scale, dtype=np.float32)
        arrays[f"shape{i}"] = np.array(w.shape, dtype=np.int64)
    # Written entry by entry with a fixed date, so the same weights give the same bytes.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for key, value in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with zf.open(info, "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, value, allow_pickle=False)
    return out.getvalue()


def unpack(data: bytes) -> list[BlockQuantized]:
    """The weights of a ``.weights.npz`` (raises ValueError when it is not one)."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            names = [str(n) for n in z["names"]]
            return [
                BlockQuantized(
                    name,
                    z[f"q{i}"],
                    z[f"zero{i}"],
                    z[f"scale{i}"],
                    tuple(int(d) for d in z[f"shape{i}"]),
                )
                for i, name in enumerate(names)
            ]
    except (KeyError, OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"not a weights file: {exc}") from exc
