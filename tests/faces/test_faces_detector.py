"""YuNet on onnxruntime, on real photos."""

from __future__ import annotations

import io
import multiprocessing
import os
import sys
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageOps
from skimage import data

from animus_prep.faces import Face, FacesUnavailableError, YuNetDetector, get_session, runtime
from animus_prep.faces.detector import prepare, shrink
from photos import FACE_CORPUS as CORPUS
from photos import RGB

# Golden boxes (x, y, w, h) and scores; they move only if the model or preprocessing does.
GOLDEN = {
    "astronaut": ((178.04, 62.56, 90.38, 113.86), 0.9313),
    "camera": ((195.46, 112.63, 61.09, 81.69), 0.8938),
}
BOX_TOL = 1.5


def astronaut() -> RGB:
    return np.asarray(data.astronaut())


def assert_box_close(face: Face, box: tuple[float, ...], tol: float = BOX_TOL) -> None:
    np.testing.assert_allclose(face.box, box, atol=tol)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_boxes(detector: YuNetDetector, name: str) -> None:
    image = np.asarray(getattr(data, name)())
    found = detector.detect(image)
    assert len(found) == 1
    box, score = GOLDEN[name]
    assert_box_close(found[0], box)
    assert found[0].score == pytest.approx(score, abs=0.01)


def test_astronaut_landmarks_are_anatomical(detector: YuNetDetector) -> None:
    (face,) = detector.detect(astronaut())
    right_eye, left_eye, nose, right_mouth, left_mouth = face.landmarks
    np.testing.assert_allclose(right_eye, (200.15, 101.8), atol=BOX_TOL)
    np.testing.assert_allclose(left_mouth, (239.81, 143.87), atol=BOX_TOL)
    # The person's right eye is on the image left; eyes above the nose, nose above the mouth.
    assert right_eye[0] < left_eye[0] and right_mouth[0] < left_mouth[0]
    assert max(right_eye[1], left_eye[1]) < nose[1] < min(right_mouth[1], left_mouth[1])
    x, y, w, h = face.box
    for px, py in face.landmarks:
        assert x <= px <= x + w and y <= py <= y + h


@pytest.mark.parametrize("name", CORPUS)
def test_every_corpus_face_found(
    detector: YuNetDetector, photo: Callable[[str], RGB], name: str
) -> None:
    image = photo(name)
    h, w = image.shape[:2]
    found = detector.detect(image)
    assert len(found) == 1, found
    face = found[0]
    assert face.score > 0.9
    x, y, bw, bh = face.box
    # A portrait: one face, well inside the frame, a sizeable part of it.
    assert x >= 0 and y >= 0 and x + bw <= w and y + bh <= h
    assert 0.2 < bw / w < 0.8


@pytest.mark.parametrize("name", ["coffee", "chelsea", "rocket"])
def test_no_face_on_non_face_photos(detector: YuNetDetector, name: str) -> None:
    image = np.asarray(getattr(data, name)())
    h, w = image.shape[:2]
    scale = 512 / min(h, w)
    big = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_CUBIC)
    assert min(big.shape[:2]) >= 512
    assert detector.detect(big) == []


def exif_rotated_jpeg(image: RGB, orientation: int, stored: RGB) -> bytes:
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(buf, "JPEG", quality=95, exif=exif)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("orientation", "stored"),
    [
        (6, lambda a: np.rot90(a, 1)),  # camera held rotated: pixels stored sideways
        (8, lambda a: np.rot90(a, -1)),
        (5, lambda a: a.transpose(1, 0, 2)),  # EXIF "transpose"
    ],
)
def test_sideways_photo_found_after_exif_orientation(
    detector: YuNetDetector, orientation: int, stored: Callable[[RGB], RGB]
) -> None:
    original = astronaut()
    sideways = np.ascontiguousarray(stored(original))
    assert sideways.shape[:2] == original.shape[1::-1]
    jpeg = exif_rotated_jpeg(original, orientation, sideways)
    with Image.open(io.BytesIO(jpeg)) as im:
        upright = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    assert upright.shape == original.shape
    found = detector.detect(upright)
    assert len(found) == 1
    assert_box_close(found[0], GOLDEN["astronaut"][0], tol=4.0)  # JPEG round trip


def test_reduced_copy_mapped_to_full_resolution(
    detector: YuNetDetector, photo: Callable[[str], RGB]
) -> None:
    full = photo("person_b_2.jpg")
    h, w = full.shape[:2]
    reduced = cv2.resize(full, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    (ref,) = detector.detect(full)
    (small,) = detector.detect(reduced)
    (by_factor,) = detector.detect(reduced, to_full=2.5)
    (by_size,) = detector.detect(reduced, scale_to=(w, h))
    # The mapping itself is exact ...
    assert by_factor == small.scaled(2.5)
    fx, fy = w / (w // 2), h / (h // 2)
    np.testing.assert_allclose(by_size.box, small.scaled(fx, fy).box, rtol=1e-6)
    np.testing.assert_allclose(by_size.landmarks, small.scaled(fx, fy).landmarks, rtol=1e-6)
    # ... and the face found on the reduced copy lands on the full-resolution one (YuNet
    # sees a 345 px image instead of a 640 px one, so allow a few percent of the face).
    assert_box_close(by_size, ref.box, 0.06 * ref.box[2])
    with pytest.raises(ValueError, match="not both"):
        detector.detect(reduced, scale_to=(w, h), to_full=2.0)


def test_large_photo_is_analysed_at_long_side(detector: YuNetDetector) -> None:
    image = astronaut()
    big = cv2.resize(image, (2048, 2048), interpolation=cv2.INTER_CUBIC)
    blob, sx, sy = prepare(big)
    assert blob.shape == (1, 3, 640, 640)
    assert sx == sy == pytest.approx(640 / 2048)
    (face,) = detector.detect(big)
    expected = np.array(GOLDEN["astronaut"][0]) * 4
    np.testing.assert_allclose(face.box, expected, atol=0.05 * expected[3])


def test_prepare_pads_to_multiples_of_32_and_never_enlarges() -> None:
    image = np.full((244, 204, 3), (10, 20, 30), np.uint8)
    blob, sx, sy = prepare(image)
    assert blob.shape == (1, 3, 256, 224)
    assert sx == sy == 1.0
    # BGR planes, zero padding.
    assert blob[0, :, 0, 0].tolist() == [30.0, 20.0, 10.0]
    assert blob[0, :, 250, 220].tolist() == [0.0, 0.0, 0.0]


def test_small_photo_coordinates_stay_in_input_pixels(
    detector: YuNetDetector, photo: Callable[[str], RGB]
) -> None:
    image = photo("person_a_2.jpg")
    small = cv2.resize(image, (204, 254), interpolation=cv2.INTER_AREA)
    (face,) = detector.detect(small)
    x, y, w, h = face.box
    assert 0 <= x < x + w <= 204 and 0 <= y < y + h <= 254


def test_grayscale_and_rgba_accepted(detector: YuNetDetector) -> None:
    gray = np.asarray(data.camera())
    assert gray.ndim == 2
    assert len(detector.detect(gray)) == 1
    rgba = np.dstack([astronaut(), np.full((512, 512), 255, np.uint8)])
    assert_box_close(detector.detect(rgba)[0], GOLDEN["astronaut"][0])


def test_invalid_inputs_rejected(detector: YuNetDetector) -> None:
    bad: npt.NDArray[np.generic]
    for bad in (np.zeros((64, 64, 3), np.float32), np.zeros((64, 64, 2), np.uint8)):
        with pytest.raises(ValueError):
            detector.detect(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        detector.detect(np.zeros((0, 10, 3), np.uint8))
    with pytest.raises(ValueError, match="long_side"):
        YuNetDetector(long_side=16)


def test_thresholds_change_results(detector: YuNetDetector) -> None:
    image = astronaut()
    assert YuNetDetector(score_threshold=0.95).detect(image) == []
    loose = YuNetDetector(score_threshold=0.05, nms_threshold=0.9).detect(image)
    assert len(loose) > len(detector.detect(image))
    assert [f.score for f in loose] == sorted((f.score for f in loose), reverse=True)


def test_sessions_are_cached_per_thread_count() -> None:
    session = get_session("yunet", threads=1)
    assert get_session("yunet", threads=1) is session
    assert session.get_session_options().intra_op_num_threads == 1
    assert get_session("yunet", threads=2) is not session
    assert [i.shape[2:] for i in session.get_inputs()] == [["height", "width"]]
    with pytest.raises(ValueError, match="threads"):
        get_session("yunet", threads=0)


@pytest.mark.parametrize("model", ["yunet", "sface"])
def test_pool_threads_do_not_busy_wait_between_runs(model: runtime.ModelName) -> None:
    # A spinning pool thread takes a core from the decoding and measuring between runs.
    for threads in (1, 2):
        options = get_session(model, threads=threads).get_session_options()
        assert options.get_session_config_entry(runtime.ALLOW_SPINNING) == "0"


def test_default_thread_count_is_automatic_and_configurable() -> None:
    auto = max(1, min(4, os.cpu_count() or 1))
    assert runtime.auto_threads() == auto  # alone in this process: every core, up to 4
    assert get_session("yunet").get_session_options().intra_op_num_threads == auto
    try:
        runtime.set_default_threads(3)
        assert get_session("yunet").get_session_options().intra_op_num_threads == 3
    finally:
        runtime.set_default_threads(None)
    assert get_session("yunet").get_session_options().intra_op_num_threads == auto
    with pytest.raises(ValueError):
        runtime.set_default_threads(0)


def _child_sessions() -> tuple[int, int, bool]:
    """In a pool worker: the default thread count, and whether the parent's session
    object came along (it must not be used)."""
    session = get_session("yunet")
    inherited = bool(runtime._inherited) and all(s is not session for s in runtime._inherited)
    threads = int(session.get_session_options().intra_op_num_threads)
    out = session.run(None, {"input": np.zeros((1, 3, 64, 64), np.float32)})
    return threads, len(out), inherited


def test_forked_workers_make_their_own_single_threaded_sessions() -> None:
    parent = get_session("yunet")  # made before the fork, with every core
    get_session("yunet", threads=1)  # the count a worker wants: still not to be reused
    assert parent.get_session_options().intra_op_num_threads == runtime.auto_threads()
    context = multiprocessing.get_context("fork")
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a multi-threaded process may deadlock: the case
        # under test, which the runtime handles by never touching inherited sessions.
        warnings.simplefilter("ignore", DeprecationWarning)
        with ProcessPoolExecutor(2, mp_context=context) as pool:
            results = [pool.submit(_child_sessions).result(timeout=120) for _ in range(4)]
    for threads, outputs, inherited in results:
        assert threads == 1
        assert outputs == 12
        assert inherited  # the parent's sessions were set aside, and not reused
    assert get_session("yunet") is parent  # the parent keeps its own


def test_missing_onnxruntime_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    monkeypatch.setattr(runtime, "_sessions", {})  # nothing cached
    with pytest.raises(FacesUnavailableError, match="onnxruntime cannot be imported") as info:
        get_session("yunet", threads=3)
    assert isinstance(info.value, RuntimeError)


def test_missing_model_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "MODELS_PACKAGE", "animus_prep.no_such_models")
    monkeypatch.setattr(runtime, "_sessions", {})  # nothing cached
    with pytest.raises(FacesUnavailableError, match=r"yunet\.onnx is missing"):
        get_session("yunet", threads=4)


@pytest.mark.parametrize(("size", "target"), [((2000, 1500), (640, 480)), ((900, 689), (640, 490))])
def test_shrink_gives_exact_size_and_keeps_content(
    size: tuple[int, int], target: tuple[int, int]
) -> None:
    w, h = size
    image = np.zeros((h, w, 3), np.uint8)
    image[: h // 2] = 200  # top half bright
    out = shrink(image, *target)
    assert out.shape == (target[1], target[0], 3) and out.dtype == np.uint8
    assert out[: target[1] // 2 - 2].min() == 200 and out[target[1] // 2 + 2 :].max() == 0
    assert shrink(image, w, h) is image
