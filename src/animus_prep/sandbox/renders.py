"""Image synthesis: dataset renders, face variants and generations from references.

Everything here is a pure function of its inputs and a seed, so the same seed always
yields the same JPEG bytes; this is what makes injected duplicates exact and the whole
sandbox reproducible.
"""

from __future__ import annotations

import io
import random
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from .defects import Defect

DATASET_SIZE = (832, 1216)
FACE_SIZE = (1024, 1024)
TINY_SIZE = (192, 280)
JPEG_QUALITY = 90


# A few decoded references per character are reused by every render of a batch; the
# bound keeps memory flat (each entry is at most 1600x1600 RGB, ~7.7 MB).
@lru_cache(maxsize=16)
def _load_cached(path: str, mtime_ns: int) -> Image.Image:
    with Image.open(path) as im:
        im.draft("RGB", (1600, 1600))
        upright = ImageOps.exif_transpose(im).convert("RGB")
    upright.thumbnail((1600, 1600))
    return upright


def load_reference(path: Path) -> Image.Image:
    """An upright RGB copy of a stored reference, at most 1600 px (cached; do not mutate)."""
    return _load_cached(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=1)
def stranger() -> Image.Image:
    """The bundled photo of a different person (see assets/CREDITS.md)."""
    data = resources.files("animus_prep.sandbox").joinpath("assets/stranger.jpg").read_bytes()
    with Image.open(io.BytesIO(data)) as im:
        return im.convert("RGB")


def placeholder(seed: int, size: tuple[int, int] = FACE_SIZE) -> Image.Image:
    """A textured stand-in used when a character has no reference yet."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = rng.integers(40, 215, size=3)
    yy, xx = np.mgrid[0:h, 0:w]
    wave = np.sin(xx / (7 + seed % 11)) * np.cos(yy / (9 + seed % 5)) * 40
    arr = base[None, None, :] + wave[..., None] + rng.normal(0, 12, (h, w, 3))
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    cx, cy, r = w // 2, h // 2, min(w, h) // 4
    draw.ellipse((cx - r, cy - int(r * 1.3), cx + r, cy + int(r * 1.3)), fill=(224, 172, 140))
    return img


def _cover(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    return ImageOps.fit(img, size, Image.Resampling.BICUBIC)


def _perspective(img: Image.Image, rng: random.Random, strength: float) -> Image.Image:
    w, h = img.size
    d = [rng.uniform(-strength, strength) for _ in range(8)]
    src = [
        (d[0] * w, d[1] * h),
        (w + d[2] * w, d[3] * h),
        (w + d[4] * w, h + d[5] * h),
        (d[6] * w, h + d[7] * h),
    ]
    dst = [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]
    matrix = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.asarray(matrix, dtype=np.float64)
    b = np.asarray([c for pt in src for c in pt], dtype=np.float64)
    coeffs = np.linalg.solve(a, b)
    return img.transform(
        img.size,
        Image.Transform.PERSPECTIVE,
        tuple(float(c) for c in coeffs),
        Image.Resampling.BILINEAR,
        fillcolor=(128, 128, 128),
    )


def _jitter(img: Image.Image, rng: random.Random) -> Image.Image:
    img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.85, 1.15))
    img = ImageEnhance.Contrast(img).enhance(rng.uniform(0.85, 1.2))
    img = ImageEnhance.Color(img).enhance(rng.uniform(0.7, 1.3))
    r, g, b = img.split()
    shift = rng.uniform(0.94, 1.06)
    r = r.point([min(255, int(v * shift)) for v in range(256)])
    return Image.merge("RGB", (r, g, b))


def _grain(img: Image.Image, seed: int) -> Image.Image:
    # Sensor-like grain at half resolution keeps renders from being flat, cheaply.
    w, h = img.size
    noise = np.random.default_rng(seed).integers(-6, 7, (h // 2, w // 2, 3), dtype=np.int16)
    grain = Image.fromarray((noise + 128).astype(np.uint8)).resize((w, h))
    return ImageChops.add(img, grain, scale=1.0, offset=-128)


def pose(refs: list[Image.Image], seed: int, size: tuple[int, int]) -> Image.Image:
    """A new view of one reference: crop, flip, perspective and colour changes."""
    rng = random.Random(seed)
    src = refs[rng.randrange(len(refs))] if refs else placeholder(seed)
    w, h = src.size
    frac = rng.uniform(0.6, 0.92)
    aspect = size[0] / size[1]
    cw = min(w, int(frac * min(w, h * aspect)))
    ch = min(h, int(cw / aspect))
    x0 = rng.randint(0, max(0, w - cw))
    y0 = rng.randint(0, max(0, h - ch))
    img = src.crop((x0, y0, x0 + cw, y0 + ch))
    if rng.random() < 0.5:
        img = ImageOps.mirror(img)
    img = _cover(img, size)
    img = _perspective(img, rng, 0.05)
    img = _jitter(img, rng)
    return _grain(img, seed)


def encode_jpeg(img: Image.Image, quality: int = JPEG_QUALITY) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def dataset_render(
    refs: list[Image.Image],
    seed: int,
    defect: Defect | None = None,
    source_seed: int | None = None,
) -> bytes:
    """JPEG bytes of one dataset render, flawed as `defect` asks.

    `refs` are the character's references, faces first. `source_seed` is the seed of
    the render a `DUPLICATE` copies.
    """
    rng = random.Random(seed ^ 0x5EED)
    if defect is None:
        return encode_jpeg(pose(refs, seed, DATASET_SIZE))
    if defect is Defect.BLUR:
        img = pose(refs, seed, DATASET_SIZE).filter(ImageFilter.GaussianBlur(rng.uniform(7, 11)))
        return encode_jpeg(img)
    if defect is Defect.NO_FACE:
        src = refs[-1] if refs else placeholder(seed)
        w, h = src.size
        # A corner of the frame: background only. (The lower part of a head-and-shoulders
        # shot still holds the chin and mouth, which a face detector rightly finds.)
        region = src.crop((0, 0, w // 4, h // 3))
        return encode_jpeg(_jitter(_cover(region, DATASET_SIZE), rng))
    if defect is Defect.STRANGER:
        return encode_jpeg(pose([stranger()], seed, DATASET_SIZE))
    if defect is Defect.NEAR_COPY:
        src = refs[rng.randrange(len(refs))] if refs else placeholder(seed)
        img = ImageEnhance.Brightness(_cover(src, DATASET_SIZE)).enhance(1.02)
        return encode_jpeg(img, quality=92)
    if defect is Defect.TINY:
        return encode_jpeg(pose(refs, seed, DATASET_SIZE).resize(TINY_SIZE))
    if defect is Defect.CORRUPT:
        data = encode_jpeg(pose(refs, seed, DATASET_SIZE))
        return data[: int(len(data) * 0.55)]
    if defect is Defect.DUPLICATE:
        return dataset_render(refs, seed if source_seed is None else source_seed)
    raise ValueError(f"unknown defect {defect!r}")


def face_variant(ref: Image.Image | None, seed: int) -> bytes:
    """A synthesized face photo derived from one reference (face augmentation)."""
    rng = random.Random(seed)
    src = ref if ref is not None else placeholder(seed)
    w, h = src.size
    side = int(min(w, h) * rng.uniform(0.75, 0.95))
    cx = w // 2 + rng.randint(-(w - side) // 4, (w - side) // 4 + 0)
    cy = h // 2 + rng.randint(-(h - side) // 4, (h - side) // 4 + 0)
    box = (cx - side // 2, cy - side // 2, cx + side // 2, cy + side // 2)
    img = src.crop(box).rotate(rng.uniform(-6, 6), Image.Resampling.BICUBIC, fillcolor=(128,) * 3)
    img = _jitter(_cover(img, FACE_SIZE), rng)
    return encode_jpeg(_grain(img, seed))


def generation(refs: list[Image.Image], seed: int, width: int, height: int) -> bytes:
    """An image for `/generation/create`, at the requested size."""
    return encode_jpeg(pose(refs, seed, (width, height)))
