"""The tests' one source of images: real photos, controlled damage, synthetic pictures.

- `photo(name)`: scikit-image's public-domain / CC0 sample photos, resized.
- `face_photo_path(name)` / `load_rgb`: real face photos (the shared corpus when present,
  else the public-domain copies in tests/faces/data).
- damage: `gaussian`, `motion`, `defocus`, `noisy`; encoding: `encode`, `write`.
- synthetic: `scene(seed)` (distinct sharp pictures), `textured(seed)` (bytes that pass
  the sandbox's upload checks).
- `analysis_gray` / `evidence`: what the checks see of an RGB array.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
import skimage.data
from PIL import Image

from animus_prep.inspection.checks import Evidence
from animus_prep.inspection.measure import Measurements, measure, shrink_gray
from corpora import shared_dir

RGB = npt.NDArray[np.uint8]
LOCAL_FACES = Path(__file__).resolve().parent / "faces" / "data"
FACE_CORPUS = (
    "person_a_1.jpg",
    "person_a_2.jpg",
    "person_b_1.jpg",
    "person_b_2.jpg",
    "impostor_1.jpg",
    "impostor_2.jpg",
)


def photo(name: str, short: int = 1024) -> np.ndarray:
    """A scikit-image sample photo as RGB uint8, resized so its shorter side is `short`."""
    arr = getattr(skimage.data, name)()
    if arr.dtype != np.uint8:
        arr = (np.clip(arr, 0, 1) * 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    arr = arr[:, :, :3]
    h, w = arr.shape[:2]
    f = short / min(h, w)
    size = (round(w * f), round(h * f))
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
    return np.ascontiguousarray(cv2.resize(arr, size, interpolation=interp))


def encode(arr: np.ndarray, fmt: str = "JPEG", **params: object) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG":
        params.setdefault("quality", 92)
    Image.fromarray(arr).save(buf, fmt, **params)
    return buf.getvalue()


def write(path: Path, arr: np.ndarray, fmt: str = "JPEG", **params: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode(arr, fmt, **params))
    return path


def gaussian(arr: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(arr, (0, 0), sigma)


def motion(arr: np.ndarray, length: int, angle: float = 0.0) -> np.ndarray:
    k = np.zeros((length, length), np.float32)
    k[length // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), angle, 1.0)
    k = cv2.warpAffine(k, rot, (length, length))
    return cv2.filter2D(arr, -1, k / k.sum())


def defocus(arr: np.ndarray, radius: int) -> np.ndarray:
    k = np.zeros((2 * radius + 1, 2 * radius + 1), np.float32)
    cv2.circle(k, (radius, radius), radius, 1.0, -1)
    return cv2.filter2D(arr, -1, k / k.sum())


def noisy(arr: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = arr.astype(np.float32) + rng.normal(0, sigma, arr.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def scene(seed: int, size: tuple[int, int] = (900, 700)) -> np.ndarray:
    """A distinct, sharp synthetic picture: shapes and text over a textured background."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = rng.integers(60, 190, 3)
    img = np.empty((h, w, 3), np.uint8)
    img[:] = base
    grain = rng.normal(0, 6, (h // 8, w // 8, 3))
    img = np.clip(img + cv2.resize(grain, (w, h)), 0, 255).astype(np.uint8)
    for _ in range(14):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        kind = rng.integers(0, 3)
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        if kind == 0:
            cv2.circle(img, (x, y), int(rng.integers(20, 140)), color, -1, cv2.LINE_AA)
        elif kind == 1:
            x2, y2 = x + int(rng.integers(30, 260)), y + int(rng.integers(30, 260))
            cv2.rectangle(img, (x, y), (x2, y2), color, -1)
        else:
            cv2.putText(img, f"#{seed}-{x}", (x, y), cv2.FONT_HERSHEY_SIMPLEX, 1.6, color, 3)
    return img


@functools.lru_cache(maxsize=64)
def textured(seed: int, size: tuple[int, int] = (640, 800), fmt: str = "JPEG") -> bytes:
    """A sharp, textured synthetic photo (blocks plus a gradient) that passes the
    sandbox's upload checks."""
    w, h = size
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (max(1, h // 16), max(1, w // 16), 3), dtype=np.uint8)
    img = Image.fromarray(blocks).resize((w, h), Image.Resampling.NEAREST)
    grad = np.linspace(0, 60, w, dtype=np.float32)[None, :, None]
    arr = np.clip(np.asarray(img, dtype=np.float32) * 0.8 + grad, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(arr).save(out, fmt)
    return out.getvalue()


def face_photo_path(name: str) -> Path:
    """A face corpus photo: the shared corpus first, then the public-domain copies here
    (the test is skipped when neither has it)."""
    shared = shared_dir()
    folders = [LOCAL_FACES] if shared is None else [shared / "corpora" / "faces", LOCAL_FACES]
    for folder in folders:
        if (folder / name).is_file():
            return folder / name
    pytest.skip(f"{name} is not available (the shared corpora are absent)")


def load_rgb(path: Path) -> RGB:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def analysis_gray(rgb: np.ndarray, side: int = 512) -> np.ndarray:
    """The grey analysis copy the pre-flight makes of an upright RGB image."""
    return shrink_gray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), side)


def measured(rgb: np.ndarray, width: int | None = None, height: int | None = None) -> Measurements:
    """What the image checks measure of `rgb` (full size `width` x `height`, default its own)."""
    h, w = rgb.shape[:2]
    return measure(analysis_gray(rgb), width or w, height or h)


def evidence(rgb: np.ndarray, width: int | None = None, height: int | None = None) -> Evidence:
    """What the checks see of `rgb` as a file outside any kind (no face checks)."""
    return Evidence(measured(rgb, width, height), kind=None)
