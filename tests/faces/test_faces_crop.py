"""Face-centred square crops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from animus_prep.crops import crop_face
from animus_prep.faces import Face, crop_box

LANDMARKS = ((0.0, 0.0),) * 5


def face_at(x: float, y: float, w: float, h: float) -> Face:
    return Face(box=(x, y, w, h), score=0.9, landmarks=LANDMARKS)


def gradient(width: int, height: int) -> np.ndarray:
    xs = np.linspace(0, 255, width, dtype=np.float32)
    ys = np.linspace(0, 255, height, dtype=np.float32)
    img = np.zeros((height, width, 3), np.uint8)
    img[..., 0] = xs[None, :]
    img[..., 1] = ys[:, None]
    return img


def test_centred_square_with_margin_resized_to_size() -> None:
    image = gradient(4000, 3000)
    result = crop_face(image, face_at(1800, 1200, 400, 500))
    # side = 500 * (1 + 2 * 0.6) = 1100, centred on (2000, 1450)
    assert result.box == (1450, 900, 2550, 2000)
    assert result.side == 1100
    assert result.ok and result.reason is None
    assert result.image is not None and result.image.size == (1024, 1024)


def test_never_upscaled_by_default() -> None:
    image = gradient(2000, 2000)
    result = crop_face(image, face_at(900, 900, 300, 300))  # side 660
    assert result.image is not None
    assert result.image.size == (660, 660)
    up = crop_face(image, face_at(900, 900, 300, 300), allow_upscale=True)
    assert up.image is not None and up.image.size == (1024, 1024)


def test_small_crop_reported_without_image() -> None:
    image = gradient(1000, 800)
    result = crop_face(image, face_at(400, 300, 100, 120))  # side 264
    assert result.image is None and not result.ok
    assert result.reason is not None and "264" in result.reason and "512" in result.reason
    assert result.box == (318, 228, 582, 492)
    assert crop_face(image, face_at(400, 300, 100, 120), min_side=200).ok


def test_shifted_to_stay_inside_at_the_edge() -> None:
    image = gradient(3000, 2000)
    result = crop_face(image, face_at(0, 1700, 400, 300))  # side 880, face at bottom left
    assert result.box == (0, 1120, 880, 2000)
    assert result.image is not None
    # The crop really is that region of the source.
    expected = Image.fromarray(image[1120:2000, 0:880]).resize((880, 880))
    np.testing.assert_array_equal(np.asarray(result.image), np.asarray(expected))


def test_shrunk_only_when_image_is_smaller() -> None:
    image = gradient(1500, 700)
    result = crop_face(image, face_at(600, 100, 400, 500))  # wants 1100, image is 700 high
    assert result.side == 700
    assert result.box[1] == 0 and result.box[3] == 700
    assert result.image is not None and result.image.size == (700, 700)


def test_pil_and_array_give_the_same_crop() -> None:
    image = gradient(2400, 1600)
    face = face_at(1000, 500, 450, 520)
    from_array = crop_face(image, face, size=512)
    from_pil = crop_face(Image.fromarray(image), face, size=512)
    assert from_array.box == from_pil.box
    assert from_array.image is not None and from_pil.image is not None
    np.testing.assert_array_equal(np.asarray(from_array.image), np.asarray(from_pil.image))


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="margin"):
        crop_box((100, 100), face_at(10, 10, 10, 10), margin=-0.1)
    with pytest.raises(ValueError, match="size"):
        crop_face(gradient(10, 10), face_at(1, 1, 2, 2), size=0)


@settings(max_examples=200, deadline=None)
@given(
    width=st.integers(1, 5000),
    height=st.integers(1, 5000),
    fx=st.floats(0, 1),
    fy=st.floats(0, 1),
    fw=st.floats(0.001, 1),
    fh=st.floats(0.001, 1),
    margin=st.floats(0, 2),
)
def test_crop_box_laws(
    width: int, height: int, fx: float, fy: float, fw: float, fh: float, margin: float
) -> None:
    w, h = fw * width, fh * height
    x, y = fx * (width - w), fy * (height - h)
    left, top, right, bottom = crop_box((width, height), face_at(x, y, w, h), margin)
    side = right - left
    assert bottom - top == side  # square
    assert left >= 0 and top >= 0 and right <= width and bottom <= height  # inside
    wanted = round(max(w, h) * (1 + 2 * margin))
    assert side == max(1, min(wanted, width, height))  # shrunk only by the image
    cx, cy = x + w / 2, y + h / 2
    if side >= max(w, h):  # the face centre stays in the crop
        assert left <= cx <= right and top <= cy <= bottom
