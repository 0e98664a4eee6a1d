"""Duplicates: copies that survive re-encoding and edits are found; different photos are not."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance

from animus_prep.inspection.decode import DecodedImage, decode_bytes
from animus_prep.inspection.dedup import verify_pair
from animus_prep.inspection.fingerprint import Fingerprint, fingerprint, thumbnail
from animus_prep.policy import Policy
from photos import analysis_gray, encode, photo

POLICY = Policy()
SOURCES = ["astronaut", "coffee", "chelsea", "camera", "rocket"]


def fp_bytes(data: bytes) -> Fingerprint:
    r = decode_bytes(data, POLICY)
    assert isinstance(r, DecodedImage)
    return fingerprint(analysis_gray(r.rgb, POLICY.analysis_side), thumbnail(r.rgb))


def variants(arr: np.ndarray) -> dict[str, bytes]:
    im = Image.fromarray(arr)
    w, h = im.size
    marked = im.copy()
    draw = ImageDraw.Draw(marked)
    draw.rectangle((w - 260, h - 80, w - 20, h - 20), fill=(255, 255, 255))
    draw.text((w - 250, h - 70), "(c) studio", fill=(0, 0, 0))
    a = np.asarray(im)
    return {
        "reencoded q60": encode(a, quality=60),
        "resized 2/3": encode(np.asarray(im.resize((w * 2 // 3, h * 2 // 3)))),
        "cropped 4%": encode(np.asarray(im.crop((int(w * 0.04), int(h * 0.04), w, h)))),
        "brighter": encode(np.asarray(ImageEnhance.Brightness(im).enhance(1.3))),
        "less contrast": encode(np.asarray(ImageEnhance.Contrast(im).enhance(0.7))),
        "rotated 2 degrees": encode(
            np.asarray(
                im.rotate(2, resample=Image.Resampling.BICUBIC).crop((30, 30, w - 30, h - 30))
            )
        ),
        "watermarked": encode(np.asarray(marked)),
        "png": encode(a, "PNG"),
        "webp": encode(a, "WEBP", quality=80),
    }


@pytest.mark.parametrize("name", SOURCES)
def test_near_duplicates_are_verified(name: str) -> None:
    arr = photo(name, 1000)
    original = fp_bytes(encode(arr))
    missed = [
        label
        for label, data in variants(arr).items()
        if not verify_pair(original, fp_bytes(data), POLICY.duplicate_min_similarity).duplicate
    ]
    assert missed == []


@pytest.mark.parametrize("name", SOURCES)
def test_same_place_with_the_subject_moved_is_not_a_duplicate(name: str) -> None:
    arr = photo(name, 1000)
    h, w = arr.shape[:2]
    moved = arr.copy()
    ch, cw, y, x = h // 2, w // 3, h // 4, w // 3
    moved[y : y + ch, x + cw // 3 : x + cw + cw // 3] = arr[y : y + ch, x : x + cw]
    verdict = verify_pair(fp_bytes(encode(arr)), fp_bytes(encode(moved)), 0.8)
    assert not verdict.duplicate


def test_different_photos_are_never_paired() -> None:
    prints = [fp_bytes(encode(photo(n, 800))) for n in SOURCES]
    for i in range(len(prints)):
        for j in range(i + 1, len(prints)):
            assert not verify_pair(prints[i], prints[j], POLICY.duplicate_min_similarity).duplicate


def test_a_photo_pasted_into_a_collage_is_not_a_copy_of_it() -> None:
    a, b = photo("astronaut", 700), photo("coffee", 700)
    collage = np.concatenate([a, b[:, :700]], axis=1)
    pa, pc = fp_bytes(encode(a)), fp_bytes(encode(collage))
    assert not verify_pair(pa, pc, 0.8).duplicate
    assert not verify_pair(pc, pa, 0.8).duplicate


def test_identical_pixels_short_circuit() -> None:
    arr = photo("camera", 600)
    a, b = fp_bytes(encode(arr, "PNG")), fp_bytes(encode(arr, "PNG", compress_level=1))
    v = verify_pair(a, b, 0.8)
    assert v.duplicate and v.method == "identical"
