"""Decoding of YuNet's raw outputs and non-maximum suppression, in pure numpy.

YuNet (2023mar) predicts, for every cell of three feature maps (strides 8, 16, 32), a class
and an objectness probability, a box (centre offset in cells, log width/height in strides)
and five landmarks (offsets in cells). This mirrors OpenCV's ``FaceDetectorYN``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .types import Face

STRIDES = (8, 16, 32)
#: Input sides must be multiples of the largest stride.
DIVISOR = 32
OUTPUT_NAMES = tuple(f"{kind}_{s}" for kind in ("cls", "obj", "bbox", "kps") for s in STRIDES)

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Detections:
    """Candidate faces: boxes (N, 4) as x, y, w, h; scores (N,); landmarks (N, 5, 2)."""

    boxes: FloatArray
    scores: FloatArray
    landmarks: FloatArray

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def take(self, index: npt.NDArray[np.intp]) -> Detections:
        return Detections(self.boxes[index], self.scores[index], self.landmarks[index])

    def to_faces(self) -> list[Face]:
        return [
            Face(
                box=(float(b[0]), float(b[1]), float(b[2]), float(b[3])),
                score=float(s),
                landmarks=tuple((float(p[0]), float(p[1])) for p in lm),
            )
            for b, s, lm in zip(self.boxes, self.scores, self.landmarks, strict=True)
        ]


def decode(
    outputs: Mapping[str, npt.NDArray[np.floating]],
    *,
    width: int,
    height: int,
    score_threshold: float = 0.6,
) -> Detections:
    """Decode the twelve YuNet outputs for an input of ``width`` x ``height`` pixels.

    Coordinates are in the network input's pixels. Only candidates scoring at least
    ``score_threshold`` are kept (unsorted, before NMS).
    """
    if width % DIVISOR or height % DIVISOR:
        raise ValueError(f"input size {width}x{height} is not a multiple of {DIVISOR}")
    boxes, scores, marks = [], [], []
    for stride in STRIDES:
        cols, rows = width // stride, height // stride
        cls = np.asarray(outputs[f"cls_{stride}"], dtype=np.float32).reshape(-1)
        obj = np.asarray(outputs[f"obj_{stride}"], dtype=np.float32).reshape(-1)
        if cls.shape[0] != rows * cols:
            raise ValueError(
                f"cls_{stride} has {cls.shape[0]} cells, expected {rows}x{cols} for "
                f"a {width}x{height} input"
            )
        score = np.sqrt(np.clip(cls, 0.0, 1.0) * np.clip(obj, 0.0, 1.0))
        keep = np.flatnonzero(score >= score_threshold)
        if keep.size == 0:
            continue
        bbox = np.asarray(outputs[f"bbox_{stride}"], dtype=np.float32).reshape(-1, 4)[keep]
        kps = np.asarray(outputs[f"kps_{stride}"], dtype=np.float32).reshape(-1, 5, 2)[keep]
        cell = np.stack([keep % cols, keep // cols], axis=1).astype(np.float32)
        centre = (cell + bbox[:, :2]) * stride
        size = np.exp(bbox[:, 2:]) * stride
        boxes.append(np.concatenate([centre - size / 2, size], axis=1))
        marks.append((kps + cell[:, None, :]) * stride)
        scores.append(score[keep])
    if not scores:
        return Detections(
            np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32)
        )
    return Detections(
        np.concatenate(boxes).astype(np.float32),
        np.concatenate(scores).astype(np.float32),
        np.concatenate(marks).astype(np.float32),
    )


def iou(box: npt.ArrayLike, others: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Intersection over union of one x, y, w, h box with each of ``others`` (M, 4)."""
    a = np.asarray(box, dtype=np.float64)
    b = np.asarray(others, dtype=np.float64).reshape(-1, 4)
    ix = np.clip(np.minimum(a[0] + a[2], b[:, 0] + b[:, 2]) - np.maximum(a[0], b[:, 0]), 0, None)
    iy = np.clip(np.minimum(a[1] + a[3], b[:, 1] + b[:, 3]) - np.maximum(a[1], b[:, 1]), 0, None)
    inter = ix * iy
    union = a[2] * a[3] + b[:, 2] * b[:, 3] - inter
    out: npt.NDArray[np.float64] = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
    return out


def nms(
    boxes: npt.ArrayLike, scores: npt.ArrayLike, iou_threshold: float = 0.3, top_k: int = 0
) -> npt.NDArray[np.intp]:
    """Greedy non-maximum suppression; indices of the kept boxes, best score first.

    A box is dropped when its IoU with an already kept, higher-scoring box exceeds
    ``iou_threshold``. Ties in score keep the lower index first. ``top_k`` > 0 caps the
    number kept.
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if b.shape[0] != s.shape[0]:
        raise ValueError(f"{b.shape[0]} boxes but {s.shape[0]} scores")
    order = np.argsort(-s, kind="stable")
    kept: list[int] = []
    while order.size:
        best = int(order[0])
        kept.append(best)
        if top_k and len(kept) >= top_k:
            break
        rest = order[1:]
        order = rest[iou(b[best], b[rest]) <= iou_threshold]
    return np.asarray(kept, dtype=np.intp)


def detect_faces(
    outputs: Mapping[str, npt.NDArray[np.floating]],
    *,
    width: int,
    height: int,
    score_threshold: float = 0.6,
    nms_threshold: float = 0.3,
    top_k: int = 0,
) -> Detections:
    """``decode`` then ``nms``: final faces in network-input pixels, best first."""
    found = decode(outputs, width=width, height=height, score_threshold=score_threshold)
    return found.take(nms(found.boxes, found.scores, nms_threshold, top_k))
