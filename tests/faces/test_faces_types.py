from __future__ import annotations

import json
from types import ModuleType

import numpy as np
import numpy.typing as npt
import pytest

import animus_prep.faces as faces
from animus_prep.faces import LANDMARK_NAMES, Face, FaceDetector, FaceEmbedder

LANDMARKS = ((10.0, 20.0), (30.0, 20.0), (20.0, 30.0), (12.0, 40.0), (28.0, 40.0))


def make_face(box: tuple[float, float, float, float] = (5.0, 6.0, 30.0, 40.0)) -> Face:
    return Face(box=box, score=0.9, landmarks=LANDMARKS)


def test_face_is_frozen_value() -> None:
    face = make_face()
    assert face == make_face()
    with pytest.raises(AttributeError):
        face.score = 0.1  # type: ignore[misc]


def test_face_rejects_wrong_landmark_count() -> None:
    with pytest.raises(ValueError, match="5 landmarks"):
        Face(box=(0, 0, 1, 1), score=1.0, landmarks=LANDMARKS[:4])


def test_face_rejects_wrong_box_length() -> None:
    with pytest.raises(ValueError, match="4 values"):
        Face(box=(0, 0, 1), score=1.0, landmarks=LANDMARKS)  # type: ignore[arg-type]


def test_to_json_names_landmarks_and_serialises() -> None:
    doc = make_face().to_json()
    assert json.loads(json.dumps(doc)) == doc
    assert doc["box"] == [5.0, 6.0, 30.0, 40.0]
    assert doc["score"] == 0.9
    assert list(doc["landmarks"]) == list(LANDMARK_NAMES)
    assert doc["landmarks"]["nose_tip"] == [20.0, 30.0]


def test_scaled_maps_box_and_landmarks() -> None:
    face = make_face().scaled(2.0, 3.0)
    assert face.box == (10.0, 18.0, 60.0, 120.0)
    assert face.landmarks[0] == (20.0, 60.0)
    assert face.score == 0.9
    assert make_face().scaled(2.0).box == (10.0, 12.0, 60.0, 80.0)


def test_center() -> None:
    assert make_face().center == (20.0, 26.0)


class FakeDetector:
    def __init__(self, found: list[Face]) -> None:
        self.found = found

    def detect(self, rgb: npt.NDArray[np.uint8]) -> list[Face]:
        return list(self.found)


class FakeEmbedder:
    def embed(self, rgb: npt.NDArray[np.uint8], face: Face) -> npt.NDArray[np.float32]:
        v = np.zeros(128, np.float32)
        v[0] = 1.0
        return v


def test_fakes_satisfy_the_protocols() -> None:
    detector: FaceDetector = FakeDetector([make_face()])
    embedder: FaceEmbedder = FakeEmbedder()
    image = np.zeros((8, 8, 3), np.uint8)
    assert isinstance(detector, FaceDetector)
    assert isinstance(embedder, FaceEmbedder)
    assert not isinstance(object(), FaceDetector)
    assert detector.detect(image) == [make_face()]
    assert embedder.embed(image, make_face()).shape == (128,)


def test_real_classes_satisfy_the_protocols() -> None:
    assert isinstance(faces.YuNetDetector(), FaceDetector)
    assert isinstance(faces.SFaceEmbedder(), FaceEmbedder)


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        n for n, v in vars(faces).items() if not n.startswith("_") and not isinstance(v, ModuleType)
    }
    assert set(faces.__all__) == public
    assert len(faces.__all__) == len(set(faces.__all__))
    for name in faces.__all__:
        assert getattr(faces, name) is not None
