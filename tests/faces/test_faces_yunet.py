"""YuNet decoding and NMS, on synthetic outputs (no onnxruntime here)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from animus_prep.faces import yunet


def blank_outputs(width: int, height: int) -> dict[str, npt.NDArray[np.float32]]:
    out: dict[str, npt.NDArray[np.float32]] = {}
    for s in yunet.STRIDES:
        n = (width // s) * (height // s)
        out[f"cls_{s}"] = np.zeros((1, n, 1), np.float32)
        out[f"obj_{s}"] = np.zeros((1, n, 1), np.float32)
        out[f"bbox_{s}"] = np.zeros((1, n, 4), np.float32)
        out[f"kps_{s}"] = np.zeros((1, n, 10), np.float32)
    return out


def test_output_names_cover_all_heads() -> None:
    assert len(yunet.OUTPUT_NAMES) == 12
    assert "kps_32" in yunet.OUTPUT_NAMES


def test_decode_one_hot_cell() -> None:
    w, h = 96, 64
    out = blank_outputs(w, h)
    cols = w // 16
    cell = 2 * cols + 3  # row 2, column 3 of the stride-16 map
    out["cls_16"][0, cell, 0] = 0.81
    out["obj_16"][0, cell, 0] = 1.0
    out["bbox_16"][0, cell] = [0.5, 0.25, math.log(2.0), 0.0]
    out["kps_16"][0, cell] = [0.0, 0.0, 1.0, 0.0, 0.5, 0.5, 0.0, 1.0, 1.0, 1.0]
    found = yunet.decode(out, width=w, height=h, score_threshold=0.5)
    assert len(found) == 1
    assert found.scores[0] == pytest.approx(0.9)  # sqrt(0.81 * 1.0)
    cx, cy = (3 + 0.5) * 16, (2 + 0.25) * 16
    np.testing.assert_allclose(found.boxes[0], [cx - 16, cy - 8, 32, 16], atol=1e-4)
    np.testing.assert_allclose(found.landmarks[0, 0], [48, 32], atol=1e-4)
    np.testing.assert_allclose(found.landmarks[0, 2], [56, 40], atol=1e-4)
    face = found.to_faces()[0]
    assert face.box == pytest.approx((cx - 16, cy - 8, 32, 16), abs=1e-4)
    assert len(face.landmarks) == 5


def test_decode_clips_probabilities_and_applies_threshold() -> None:
    out = blank_outputs(32, 32)
    out["cls_8"][0, :3, 0] = [1.5, 0.3, 0.7]
    out["obj_8"][0, :3, 0] = [1.2, 0.3, 0.7]
    found = yunet.decode(out, width=32, height=32, score_threshold=0.6)
    assert sorted(found.scores.tolist()) == pytest.approx([0.7, 1.0])


def test_decode_nothing_above_threshold() -> None:
    found = yunet.decode(blank_outputs(64, 32), width=64, height=32)
    assert len(found) == 0
    assert found.boxes.shape == (0, 4)
    assert found.landmarks.shape == (0, 5, 2)
    assert found.to_faces() == []


def test_decode_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="multiple of 32"):
        yunet.decode(blank_outputs(64, 64), width=48, height=64)
    with pytest.raises(ValueError, match="cells"):
        yunet.decode(blank_outputs(64, 64), width=96, height=64)


def test_nms_drops_overlapping_lower_score() -> None:
    boxes = [[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 10, 10]]
    scores = [0.8, 0.9, 0.7]
    assert yunet.nms(boxes, scores, 0.3).tolist() == [1, 2]
    assert yunet.nms(boxes, scores, 0.3, top_k=1).tolist() == [1]
    assert yunet.nms(boxes, scores, 0.99).tolist() == [1, 0, 2]


def test_iou_known_values() -> None:
    got = yunet.iou([0, 0, 10, 10], [[0, 0, 10, 10], [5, 0, 10, 10], [20, 20, 5, 5], [0, 0, 0, 0]])
    np.testing.assert_allclose(got, [1.0, 50 / 150, 0.0, 0.0])


def test_nms_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="scores"):
        yunet.nms([[0, 0, 1, 1]], [0.5, 0.6])


coord = st.floats(0, 200, allow_nan=False, width=32)
side = st.floats(1, 80, allow_nan=False, width=32)
box_lists = st.lists(st.tuples(coord, coord, side, side), min_size=0, max_size=25)


@st.composite
def detections(draw: st.DrawFn) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    boxes = np.array(draw(box_lists), dtype=np.float64).reshape(-1, 4)
    n = boxes.shape[0]
    scores = np.array(
        draw(st.lists(st.floats(0, 1), min_size=n, max_size=n, unique=True)), np.float64
    )
    return boxes, scores


@settings(max_examples=150, deadline=None)
@given(detections(), st.floats(0.05, 0.95))
def test_nms_laws(det: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]], t: float) -> None:
    boxes, scores = det
    kept = yunet.nms(boxes, scores, t)
    # Indices are unique, valid and ordered by descending score.
    assert len(set(kept.tolist())) == len(kept)
    assert np.all(np.diff(scores[kept]) <= 0)
    if len(scores):
        assert kept[0] == int(np.argmax(scores))  # the best box always survives
    # No two survivors overlap more than the threshold.
    for i, k in enumerate(kept):
        assert np.all(yunet.iou(boxes[k], boxes[kept[i + 1 :]]) <= t)
    # Every dropped box is explained by a better survivor that overlaps it.
    for d in set(range(len(scores))) - set(kept.tolist()):
        better = kept[scores[kept] > scores[d]]
        assert np.any(yunet.iou(boxes[d], boxes[better]) > t)
    # Idempotent, and independent of input order.
    again = yunet.nms(boxes[kept], scores[kept], t)
    assert again.tolist() == list(range(len(kept)))
    perm = np.random.default_rng(0).permutation(len(scores))
    assert sorted(perm[yunet.nms(boxes[perm], scores[perm], t)].tolist()) == sorted(kept.tolist())
