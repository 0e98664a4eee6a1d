"""The perceptual hash is imagehash's phash bit for bit, without loading scipy."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import imagehash
import numpy as np
import pytest
from PIL import Image

from animus_prep.inspection.fingerprint import _hash_int, _small, phash
from people import CHECK, TUNE


def _patterns() -> list[Image.Image]:
    """Pictures whose DCT has exact ties and zeros: flat, stripes, checks, ramps."""
    y, x = np.mgrid[0:64, 0:64]
    arrays = [
        np.full((64, 64), 0),
        np.full((64, 64), 1),
        np.full((64, 64), 128),
        np.full((64, 64), 255),
        x * 4,
        (x + y) * 2,
        ((x // 8 + y // 8) % 2) * 255,
        (x % 2) * 255,
        np.where(x < 32, 10, 240),
        np.hypot(x - 31.5, y - 31.5) * 5,
    ]
    return [Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)) for a in arrays]


def _photos() -> list[Image.Image]:
    out = []
    for path in (*TUNE, *CHECK):
        gray = np.asarray(Image.open(path).convert("L"))
        out += [_small(gray, 64), _small(gray[: gray.shape[0] // 2], 64)]
    return out


@pytest.mark.parametrize("source", ["photos", "patterns"])
def test_phash_is_imagehash_phash(source: str) -> None:
    images = _photos() if source == "photos" else _patterns()
    images += [im.transpose(Image.Transpose.FLIP_LEFT_RIGHT) for im in images]
    ours = [phash(im) for im in images]
    theirs = [_hash_int(imagehash.phash(im)) for im in images]
    assert ours == theirs
    if source == "photos":
        assert len(set(ours)) > len(ours) // 2  # the hashes tell the photos apart


def test_judging_a_photo_never_loads_scipy() -> None:
    photo = TUNE[0]
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from animus_prep.inspection.analysis import analyze
        from animus_prep.inspection.discover import FACE_IMAGE_TYPE, Candidate
        from animus_prep.policy import Policy

        path = Path({str(photo)!r})
        result = analyze(Candidate(path, path.name, "face", FACE_IMAGE_TYPE), Policy())
        assert result.print is not None
        print(sorted(m for m in sys.modules if m.split(".")[0] == "scipy"))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]"
