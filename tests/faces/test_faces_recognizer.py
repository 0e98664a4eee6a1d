"""SFace alignment and embeddings, on real photos."""

from __future__ import annotations

import importlib.resources
import itertools
import math
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage import data

from animus_prep.faces import (
    SAME_PERSON_COSINE,
    Face,
    SFaceEmbedder,
    YuNetDetector,
    align_face,
    cosine,
)
from animus_prep.faces.identity import l2_normalize
from animus_prep.faces.recognizer import ARCFACE_TEMPLATE, similarity_transform
from animus_prep.faces.weights import unpack
from photos import RGB


def only_face(detector: YuNetDetector, image: RGB) -> Face:
    found = detector.detect(image)
    assert len(found) == 1
    return found[0]


@pytest.fixture(scope="module")
def astronaut(detector: YuNetDetector) -> tuple[RGB, Face]:
    """scikit-image's astronaut photo and its only face."""
    image = np.asarray(data.astronaut())
    return image, only_face(detector, image)


def embed_photo(
    detector: YuNetDetector, embedder: SFaceEmbedder, photo: Callable[[str], RGB], name: str
) -> np.ndarray:
    image = photo(name)
    return embedder.embed(image, only_face(detector, image))


@settings(max_examples=100, deadline=None)
@given(
    angle=st.floats(-math.pi, math.pi),
    scale=st.floats(0.1, 10),
    tx=st.floats(-500, 500),
    ty=st.floats(-500, 500),
)
def test_similarity_transform_recovers_exact_similarity(
    angle: float, scale: float, tx: float, ty: float
) -> None:
    c, s = math.cos(angle) * scale, math.sin(angle) * scale
    src = ARCFACE_TEMPLATE @ np.array([[c, s], [-s, c]]) + [tx, ty]
    matrix = similarity_transform(src)
    mapped = src @ matrix[:, :2].T + matrix[:, 2]
    np.testing.assert_allclose(mapped, ARCFACE_TEMPLATE, atol=1e-6 * max(1.0, 1 / scale) * 100)
    assert np.linalg.det(matrix[:, :2]) > 0  # never a reflection


def test_similarity_transform_rejects_degenerate_points() -> None:
    with pytest.raises(ValueError, match="same point"):
        similarity_transform(np.ones((5, 2)))
    with pytest.raises(ValueError, match="matching"):
        similarity_transform(np.ones((4, 2)))


def test_similarity_transform_matches_opencv(detector: YuNetDetector) -> None:
    face = only_face(detector, np.asarray(data.astronaut()))
    ours = similarity_transform(face.landmarks)
    src = np.asarray(face.landmarks, np.float32)
    dst = ARCFACE_TEMPLATE.astype(np.float32)
    theirs, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
    # LMedS fits a subset, least squares all five points: close, not identical.
    np.testing.assert_allclose(ours[:, :2], theirs[:, :2], atol=0.05)


def test_alignment_puts_landmarks_on_template(detector: YuNetDetector) -> None:
    image = np.asarray(data.astronaut())
    face = only_face(detector, image)
    aligned = align_face(image, face)
    assert aligned.shape == (112, 112, 3) and aligned.dtype == np.uint8
    matrix = similarity_transform(face.landmarks)
    mapped = np.asarray(face.landmarks) @ matrix[:, :2].T + matrix[:, 2]
    assert np.abs(mapped - ARCFACE_TEMPLATE).max() < 4.0
    # The face fills the aligned crop: the centre is not the zero border.
    assert aligned[40:80, 40:80].mean() > 30


def test_embedding_shape_norm_and_determinism(
    astronaut: tuple[RGB, Face], embedder: SFaceEmbedder
) -> None:
    image, face = astronaut
    a = embedder.embed(image, face)
    b = embedder.embed(image, face)
    assert a.shape == (128,) and a.dtype == np.float32
    assert float(np.linalg.norm(a)) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_array_equal(a, b)


def test_the_unnormalised_embedding_is_long_upright_and_short_upside_down(
    astronaut: tuple[RGB, Face], detector: YuNetDetector, embedder: SFaceEmbedder
) -> None:
    image, face = astronaut
    raw = embedder.embed_unnormalised(image, face)
    assert raw.shape == (128,) and raw.dtype == np.float32
    np.testing.assert_allclose(raw / np.linalg.norm(raw), embedder.embed(image, face), atol=1e-6)
    # Upside down, the detector still finds the face, its landmarks placed as if upright:
    # the crop aligned on them is upside down, and the model's output far shorter.
    turned = np.ascontiguousarray(image[::-1, ::-1])
    upside_down = embedder.embed_unnormalised(turned, only_face(detector, turned))
    assert float(np.linalg.norm(upside_down)) < 0.7 * float(np.linalg.norm(raw))


def standalone_sface(folder: Path) -> Path:
    """The shipped SFace as one ONNX file, its external weights put back in place (made
    from sface.weights.npz as the library makes them), for OpenCV to load."""
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper

    package = importlib.resources.files("animus_prep.models")
    model = onnx.load_from_string(package.joinpath("sface.onnx").read_bytes())
    stored = unpack(package.joinpath("sface.weights.npz").read_bytes())
    made = {w.name: w.dequantized() for w in stored}
    for tensor in model.graph.initializer:
        if tensor.name in made:
            tensor.CopyFrom(numpy_helper.from_array(made.pop(tensor.name), tensor.name))
    assert not made
    path = folder / "sface-standalone.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def test_embedding_matches_opencv_reference(
    detector: YuNetDetector,
    embedder: SFaceEmbedder,
    photo: Callable[[str], RGB],
    tmp_path: Path,
) -> None:
    """OpenCV's FaceRecognizerSF (BGR input, its own alignment) on the same model."""
    image = photo("person_b_2.jpg")
    face = only_face(detector, image)
    reference = cv2.FaceRecognizerSF.create(str(standalone_sface(tmp_path)), "")
    bgr = np.ascontiguousarray(image[:, :, ::-1])
    row = np.array([[*face.box, *np.ravel(face.landmarks), face.score]], np.float32)
    expected = l2_normalize(reference.feature(reference.alignCrop(bgr, row[0])))
    assert cosine(embedder.embed(image, face), expected) > 0.999
    # Feeding BGR instead of RGB is measurably different: the channel order matters.
    assert cosine(embedder.embed(bgr, face), expected) < 0.99


def test_embedding_survives_resizing(
    detector: YuNetDetector, embedder: SFaceEmbedder, photo: Callable[[str], RGB]
) -> None:
    image = photo("person_b_2.jpg")
    h, w = image.shape[:2]
    half = cv2.resize(image, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    full = embedder.embed(image, only_face(detector, image))
    reduced = embedder.embed(half, only_face(detector, half))
    assert cosine(full, reduced) > 0.9


def test_embedding_rejects_non_rgb(detector: YuNetDetector, embedder: SFaceEmbedder) -> None:
    face = only_face(detector, np.asarray(data.astronaut()))
    with pytest.raises(ValueError, match="RGB uint8"):
        embedder.embed(np.asarray(data.camera()), face)


def test_cosine_laws() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=128), rng.normal(size=128)
    assert cosine(a, a) == pytest.approx(1.0)
    assert cosine(a, -a) == pytest.approx(-1.0)
    assert cosine(a, b) == pytest.approx(cosine(b, a))
    assert cosine(a, 3 * b) == pytest.approx(cosine(a, b))
    assert -1.0 <= cosine(a, b) <= 1.0
    with pytest.raises(ValueError, match="zero"):
        cosine(a, np.zeros(128))
    with pytest.raises(ValueError, match="length"):
        cosine(a, b[:64])
    with pytest.raises(ValueError):
        l2_normalize(np.zeros(4))


def test_cosine_of_extreme_vectors_is_exact_and_never_nan() -> None:
    assert cosine([1e200, 1e200], [1e200, 1e200]) == pytest.approx(1.0)  # no overflow
    assert cosine([1e-170, 0.0], [1.0, 0.0]) == pytest.approx(1.0)  # no underflow
    assert cosine([1e-300, 1e-300], [-1.0, -1.0]) == pytest.approx(-1.0)
    for bad in ([np.nan, 1.0], [np.inf, 1.0], [-np.inf, 0.0]):
        with pytest.raises(ValueError, match="NaN or infinite"):
            cosine(bad, [1.0, 1.0])
        with pytest.raises(ValueError, match="NaN or infinite"):
            cosine([1.0, 1.0], bad)


# Identity on the corpus. person_b_1, person_a_1 and impostor_2 come only from ../shared.
SAME = [("person_b_1.jpg", "person_b_2.jpg"), ("person_a_1.jpg", "person_a_2.jpg")]
DIFFERENT = [
    (imp, b)
    for imp, b in itertools.product(
        ("impostor_1.jpg", "impostor_2.jpg"), ("person_b_1.jpg", "person_b_2.jpg")
    )
] + [("person_a_2.jpg", "person_b_2.jpg"), ("person_a_1.jpg", "person_b_1.jpg")]


@pytest.mark.parametrize(("one", "two"), SAME)
def test_same_person_years_apart_matches(
    detector: YuNetDetector,
    embedder: SFaceEmbedder,
    photo: Callable[[str], RGB],
    one: str,
    two: str,
) -> None:
    score = cosine(
        embed_photo(detector, embedder, photo, one), embed_photo(detector, embedder, photo, two)
    )
    assert score >= SAME_PERSON_COSINE


@pytest.mark.parametrize(("one", "two"), DIFFERENT)
def test_different_people_do_not_match(
    detector: YuNetDetector,
    embedder: SFaceEmbedder,
    photo: Callable[[str], RGB],
    one: str,
    two: str,
) -> None:
    score = cosine(
        embed_photo(detector, embedder, photo, one), embed_photo(detector, embedder, photo, two)
    )
    assert score < SAME_PERSON_COSINE
