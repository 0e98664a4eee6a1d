"""Build the labelled pre-flight benchmark corpus from scikit-image's sample photos.

    .venv/bin/python benchmarks/make_corpus.py [--out benchmarks/corpus] [--n-distinct 40]

Writes `<out>/images/` (the files to judge) and `<out>/labels.json` beside it.

Every distinct picture ("scene") is a crop of one sample photo; crops of one photo are
chosen so that they hardly overlap (at most `MAX_OVERLAP` of the smaller crop), then
flipped, colour graded and rendered at 12 MP (4000x3000) or 2 MP (1600x1200). The sample
photos are small (300-1400 px), so a scene is first made sharp at a 1024 px "viewing"
size (Lanczos upscale, a few steps of a shock filter that turns the upscale's ramps back
into edges, a light unsharp mask), then resized to its final size, given sensor-like
grain and saved as a JPEG at quality 88-95 (some progressive). A crop is never enlarged
more than 4x to the viewing size; soft or dark sample images are not used.

Labelled variants, each a file of its own:
- blurry: Gaussian, motion or defocus blur, strengths given at the 1024 px viewing size
  where they are plainly visible; some with heavy noise added after the blur.
- duplicate: re-encode at a lower quality, resize, 3-5% crop, brightness/contrast,
  ~2 degree rotation, small watermark text, PNG (lossless) or WebP (lossy) copy. The
  original is the best copy (a lossless PNG of it is an equally good one).
- too_small: copies whose shorter side is under 512 px.
- unreadable: truncated at random points, or garbage bytes written into the middle.
- hard negatives: two crops of the same place with the framing moved by a quarter of the
  frame (same place, different photo); they must not count as duplicates.

Blurred and tiny copies are of scenes that also appear sharp, so calling them duplicates
of their sharp original is also right; the benchmark neither requires nor penalises it.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image
from skimage import data

HERE = Path(__file__).resolve().parent
VIEW_LONG = 1024
MAX_ENLARGE = 4.0
"""Largest enlargement of a source crop to the viewing size."""
"""Long side at which a scene is made sharp (and judged sharp at 1024 px)."""
MAX_OVERLAP = 0.3
"""Largest share of the smaller crop that two scenes of one photo may have in common."""
SIZES = {"12mp": (4000, 3000), "2mp": (1600, 1200)}


def _rgb(a: np.ndarray) -> np.ndarray:
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    return np.ascontiguousarray(a[:, :, :3]).astype(np.uint8)


def sources() -> dict[str, np.ndarray]:
    """The sample photos (not drawings or synthetic images) as RGB uint8."""
    out = {
        "astronaut": data.astronaut(),
        "coffee": data.coffee(),
        "chelsea": data.chelsea(),
        "rocket": data.rocket(),
        "camera": data.camera(),
        "motorcycle": data.stereo_motorcycle()[0],
        "coins": data.coins(),
        "grass": data.grass(),
        "gravel": data.gravel(),
        "brick": data.brick(),
    }
    return {k: _rgb(v) for k, v in out.items()}


Rect = tuple[int, int, int, int]  # x, y, w, h in source pixels


def overlap(a: Rect, b: Rect) -> float:
    """Shared area as a share of the smaller rectangle."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy / float(min(a[2] * a[3], b[2] * b[3]))


def plan_crops(shape: tuple[int, ...], rng: random.Random, tries: int = 2000) -> list[Rect]:
    """Crops of 4:3 or 3:4 shape that overlap each other by at most MAX_OVERLAP."""
    h, w = shape[:2]
    chosen: list[Rect] = []
    for _ in range(tries):
        portrait = rng.random() < 0.25
        share = rng.uniform(0.4, 0.75)
        if portrait:
            ch = int(h * share)
            cw = ch * 3 // 4
        else:
            cw = int(min(w, h * 4 / 3) * share)
            ch = cw * 3 // 4
        # At most a MAX_ENLARGE upscale to the viewing size: beyond that no sharpening
        # makes a photo, only a painting of one (soft, speckled edges).
        if max(cw, ch) * MAX_ENLARGE < VIEW_LONG or cw > w or ch > h:
            continue
        r = (rng.randrange(0, w - cw + 1), rng.randrange(0, h - ch + 1), cw, ch)
        if all(overlap(r, c) <= MAX_OVERLAP for c in chosen):
            chosen.append(r)
    return chosen


def shock_sharpen(img: np.ndarray, steps: int = 2, mix: float = 0.3) -> np.ndarray:
    """Osher-Rudin shock filter: move edge pixels towards the local min or max."""
    f = img.astype(np.float32)
    kernel = np.ones((3, 3), np.uint8)
    for _ in range(steps):
        luma = cv2.GaussianBlur(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (0, 0), 1.0)
        lap = cv2.Laplacian(luma, cv2.CV_32F)
        gx = cv2.Sobel(luma, cv2.CV_32F, 1, 0)
        gy = cv2.Sobel(luma, cv2.CV_32F, 0, 1)
        edge = np.clip(cv2.magnitude(gx, gy) / 80.0, 0.0, 1.0)[:, :, None]
        target = np.where((lap < 0)[:, :, None], cv2.dilate(f, kernel), cv2.erode(f, kernel))
        f = f + mix * edge * (target - f)
    return f


def grade(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """A colour grade: white balance, contrast, saturation and a mild tone curve."""
    f = img.astype(np.float32) / 255.0
    wb = np.array([rng.uniform(0.9, 1.1), 1.0, rng.uniform(0.9, 1.1)], np.float32)
    f = f * wb
    luma = f.mean(axis=2, keepdims=True)
    f = luma + (f - luma) * rng.uniform(0.7, 1.3)
    f = 0.5 + (f - 0.5) * rng.uniform(0.9, 1.15)
    f = np.clip(f, 0, 1) ** rng.uniform(0.85, 1.15)
    return f * 255.0


def view_edge_sigma(view: np.ndarray) -> float:
    """Blur (Gaussian sigma, px) of the strongest edges at the 1024 px viewing size.

    Independent of the library's estimator: for a step of height h blurred by sigma s, the
    steepest slope is h / (s * sqrt(2 pi)); h is the local range in a 7x7 window.
    """
    g = cv2.cvtColor(np.clip(view, 0, 255).astype(np.float32), cv2.COLOR_RGB2GRAY)
    f = 1024 / max(g.shape)
    g = cv2.resize(g, (round(g.shape[1] * f), round(g.shape[0] * f)), interpolation=cv2.INTER_AREA)
    dx = np.abs(np.diff(g, axis=1))[:-1, :]
    dy = np.abs(np.diff(g, axis=0))[:, :-1]
    slope = np.maximum(dx, dy)
    k = np.ones((7, 7), np.uint8)
    height = (cv2.dilate(g, k) - cv2.erode(g, k))[:-1, :-1]
    ok = height > 40
    if np.count_nonzero(ok) < 200:
        return float("inf")
    cut = np.quantile(slope[ok], 0.98)
    sel = ok & (slope >= cut)
    # The 75th percentile: most strong edges must be sharp, not only the crispest few.
    return float(np.percentile(height[sel] / (slope[sel] * np.sqrt(2 * np.pi)), 75))


SHARP_VIEW_SIGMA = 0.9
"""Largest edge blur (at 1024 px) a scene may keep; shock-filter steps are added until then."""


def render_view(src: np.ndarray, rect: Rect, flip: bool, rng: random.Random) -> np.ndarray:
    """A sharp float32 RGB scene whose long side is VIEW_LONG."""
    x, y, w, h = rect
    crop = src[y : y + h, x : x + w]
    if flip:
        crop = crop[:, ::-1]
    f = VIEW_LONG / max(w, h)
    size = (round(w * f), round(h * f))
    sharp = np.clip(cv2.resize(grade(crop, rng), size, interpolation=cv2.INTER_LANCZOS4), 0, 255)
    # As few shock-filter steps as make the scene sharp at 1024 px: each step adds a
    # little of a painted look.
    for _ in range(8):
        sharp = shock_sharpen(sharp, steps=1)
        soft = cv2.GaussianBlur(sharp, (0, 0), 1.0)
        out = np.clip(sharp + 0.4 * (sharp - soft), 0, 255)
        if view_edge_sigma(out) <= SHARP_VIEW_SIGMA:
            break
    return np.asarray(out, dtype=np.float32)


def to_size(view: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    if view.shape[0] > view.shape[1]:
        w, h = h, w
    interp = cv2.INTER_LANCZOS4 if w > view.shape[1] else cv2.INTER_AREA
    out: np.ndarray = cv2.resize(view, (w, h), interpolation=interp)
    return out


def add_grain(img: np.ndarray, rng: random.Random, sigma: float) -> np.ndarray:
    """Sensor-like noise: mostly luminance, slightly correlated, a little chroma."""
    gen = np.random.default_rng(rng.randrange(2**32))
    h, w = img.shape[:2]
    luma = gen.standard_normal((h, w), dtype=np.float32)
    luma = cv2.GaussianBlur(luma, (0, 0), 0.6) * (sigma / 0.55)
    chroma = gen.standard_normal((h, w, 3), dtype=np.float32) * (sigma * 0.3)
    noisy = img.astype(np.float32) + luma[:, :, None] + chroma
    return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)


def encode(img: np.ndarray, fmt: str, quality: int = 90, progressive: bool = False) -> bytes:
    buf = io.BytesIO()
    pil = Image.fromarray(img)
    if fmt == "JPEG":
        pil.save(buf, "JPEG", quality=quality, progressive=progressive, optimize=progressive)
    elif fmt == "WEBP":
        pil.save(buf, "WEBP", quality=quality, method=2)
    else:
        pil.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


# --- blur ------------------------------------------------------------------------------


def motion_kernel(length: float, angle: float) -> np.ndarray:
    n = int(np.ceil(length)) | 1
    k = np.zeros((n, n), np.float32)
    c = n // 2
    dx, dy = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    for t in np.linspace(-length / 2, length / 2, 4 * n):
        k[round(c + t * dy), round(c + t * dx)] = 1.0
    return k / k.sum()


def disk_kernel(radius: float) -> np.ndarray:
    n = int(np.ceil(radius)) * 2 + 1
    yy, xx = np.mgrid[:n, :n] - n // 2
    k = (np.hypot(xx, yy) <= radius).astype(np.float32)
    k = cv2.GaussianBlur(k, (0, 0), 0.5)
    return k / k.sum()


def blur(img: np.ndarray, kind: str, strength: float, angle: float) -> np.ndarray:
    """Blur a clean float image; `strength` is in pixels at the 1024 px viewing size."""
    s = strength * max(img.shape[:2]) / 1024.0
    if kind == "gaussian":
        out: np.ndarray = cv2.GaussianBlur(img, (0, 0), s)
    elif kind == "motion":
        out = cv2.filter2D(img, -1, motion_kernel(s, angle), borderType=cv2.BORDER_REFLECT)
    else:
        out = cv2.filter2D(img, -1, disk_kernel(s), borderType=cv2.BORDER_REFLECT)
    return out


# --- duplicates ------------------------------------------------------------------------


def dup_variant(img: np.ndarray, kind: str, rng: random.Random) -> np.ndarray:
    h, w = img.shape[:2]
    if kind == "resize":
        f = rng.uniform(0.5, 0.75)
        return cv2.resize(img, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
    if kind == "crop":
        c = rng.uniform(0.03, 0.05)
        dx, dy = round(w * c), round(h * c)
        ox, oy = rng.randint(0, dx), rng.randint(0, dy)
        return img[oy : h - (dy - oy), ox : w - (dx - ox)].copy()
    if kind == "brightness":
        a, b = rng.uniform(0.8, 1.2), rng.uniform(-20, 20)
        return np.clip(img.astype(np.float32) * a + b, 0, 255).astype(np.uint8)
    if kind == "rotate":
        angle = rng.choice([-1, 1]) * rng.uniform(1.5, 2.5)
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        rot = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR)
        # Crop away the empty corners, as photo editors do.
        t = np.tan(np.radians(abs(angle)))
        mx, my = int(h * t / 2) + 2, int(w * t / 2) + 2
        return rot[my : h - my, mx : w - mx].copy()
    if kind == "watermark":
        out = img.copy()
        scale = w / 1600.0
        text = rng.choice(["(c) studio", "@my_photos", "SAMPLE"])
        org = (round(w * rng.uniform(0.62, 0.7)), round(h * rng.uniform(0.9, 0.95)))
        cv2.putText(
            out, text, org, cv2.FONT_HERSHEY_SIMPLEX, 1.0 * scale, (255, 255, 255),
            max(1, round(2 * scale)), cv2.LINE_AA,
        )  # fmt: skip
        return out
    return img  # re-encode and format changes keep the pixels


# --- corruption ------------------------------------------------------------------------


def corrupt(blob: bytes, kind: str, rng: random.Random) -> bytes:
    n = len(blob)
    if kind == "truncate":
        return blob[: int(n * rng.uniform(0.1, 0.95))]
    start = int(n * rng.uniform(0.3, 0.7))
    garbage = bytes(rng.randrange(256) for _ in range(rng.randint(512, 4096)))
    return blob[:start] + garbage + blob[start + len(garbage) :]


# --- the corpus ------------------------------------------------------------------------


@dataclass
class Scene:
    id: str
    source: str
    rect: Rect
    flip: bool


def choose_scenes(srcs: dict[str, np.ndarray], rng: random.Random) -> dict[str, list[Rect]]:
    return {name: plan_crops(img.shape, rng) for name, img in srcs.items()}


def hard_negative_rects(shape: tuple[int, ...], rng: random.Random) -> tuple[Rect, Rect] | None:
    """Two crops of one place, the second with the framing moved by ~25% of the frame."""
    h, w = shape[:2]
    cw = int(min(w * 0.6, h * 4 / 3 * 0.75))
    ch = cw * 3 // 4
    shift = int(cw * rng.uniform(0.22, 0.3))
    if cw + shift > w or ch > h:
        return None
    x = rng.randrange(0, w - cw - shift + 1)
    y = rng.randrange(0, h - ch + 1)
    return (x, y, cw, ch), (x + shift, y, cw, ch)


def build(out: Path, n_distinct: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    srcs = sources()
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    for old in images.iterdir():
        old.unlink()
    labels: dict[str, dict[str, Any]] = {}

    def write(name: str, blob: bytes, **label: Any) -> None:
        (images / name).write_bytes(blob)
        labels[name] = label

    # Hard-negative pairs come first, from the photos with room for a moved frame; the
    # ordinary scenes must keep clear of the whole area a pair covers.
    hard_sources = ["coffee", "rocket", "motorcycle", "astronaut"]
    pairs: list[tuple[str, Rect, Rect]] = []
    reserved: dict[str, list[Rect]] = {}
    for name in hard_sources:
        found = hard_negative_rects(srcs[name].shape, rng)
        if found is not None:
            a, b = found
            pairs.append((name, a, b))
            union = (a[0], a[1], b[0] + b[2] - a[0], a[3])
            reserved.setdefault(name, []).append(union)
    plans: dict[str, list[Rect]] = {}
    for name, img in srcs.items():
        rects = plan_crops(img.shape, rng)
        plans[name] = [
            r for r in rects if all(overlap(r, u) <= MAX_OVERLAP for u in reserved.get(name, []))
        ]
    # Round-robin over photos so every photo contributes before any gives a second scene.
    scenes: list[Scene] = []
    depth = 0
    while len(scenes) < n_distinct and any(len(p) > depth for p in plans.values()):
        for name in srcs:
            if len(plans[name]) > depth and len(scenes) < n_distinct:
                scenes.append(Scene(f"s{len(scenes):03d}", name, plans[name][depth], False))
        depth += 1
    for s in scenes:
        s.flip = rng.random() < 0.5
    if len(scenes) < n_distinct:
        print(f"only {len(scenes)} non-overlapping scenes fit in the sample photos")

    dup_kinds = ["reencode", "resize", "crop", "brightness", "rotate", "watermark", "format"]
    blur_kinds = ["gaussian", "motion", "defocus"]
    blur_strength = {"gaussian": (2.0, 4.0), "motion": (10.0, 22.0), "defocus": (3.0, 6.0)}
    counters = {"blur": 0, "dup": 0, "tiny": 0, "corrupt": 0}
    for i, s in enumerate(scenes):
        size_class = "12mp" if i % 2 == 0 else "2mp"
        view = render_view(srcs[s.source], s.rect, s.flip, rng)
        clean = to_size(view, SIZES[size_class])
        grain = rng.uniform(1.5, 3.5)
        pixels = add_grain(clean, rng, grain)
        q = rng.randint(88, 95)
        progressive = (i // 2) % 4 == 1  # a quarter, in both size classes
        orig = f"{s.id}_{size_class}_sharp.jpg"
        blob = encode(pixels, "JPEG", q, progressive)
        common = {"scene": s.id, "source": s.source, "crop": list(s.rect), "flip": s.flip}
        sigma = round(view_edge_sigma(view), 3)
        write(
            orig, blob, label="sharp", size_class=size_class, quality=q,
            progressive=progressive, original=True, view_edge_sigma=sigma, **common,
        )  # fmt: skip
        # Every other scene gets a blurred copy, every scene one or two duplicates.
        if i % 2 == 1 or i % 5 == 0:
            kind = blur_kinds[counters["blur"] % 3]
            counters["blur"] += 1
            lo, hi = blur_strength[kind]
            strength = round(rng.uniform(lo, hi), 2)
            angle = rng.uniform(0, 180)
            noisy = counters["blur"] % 3 == 0
            blurred = blur(clean, kind, strength, angle)
            out_px = add_grain(blurred, rng, rng.uniform(5.0, 8.0) if noisy else grain)
            name = f"{s.id}_{size_class}_blur_{kind}.jpg"
            write(
                name, encode(out_px, "JPEG", rng.randint(85, 95)), label="blurry",
                blur=kind, strength_at_1024=strength, angle=round(angle, 1),
                noise_after_blur=noisy, size_class=size_class, **common,
            )  # fmt: skip
        n_dups = 2 if i % 3 == 0 else 1
        for _ in range(n_dups):
            kind = dup_kinds[counters["dup"] % len(dup_kinds)]
            counters["dup"] += 1
            px = dup_variant(pixels, kind, rng)
            if kind == "format":
                lossless = size_class == "2mp"
                fmt = "PNG" if lossless else "WEBP"
                dq = 100 if lossless else rng.randint(75, 85)
                ext = "png" if lossless else "webp"
            else:
                fmt, ext, lossless = "JPEG", "jpg", False
                dq = rng.randint(65, 80) if kind == "reencode" else rng.randint(80, min(q, 88))
            name = f"{s.id}_{size_class}_dup_{kind}.{ext}"
            write(
                name, encode(px, fmt, dq), label="duplicate", duplicate_of=orig,
                variant=kind, lossless=lossless, quality=dq, **common,
            )  # fmt: skip
        if i % 4 == 3:
            counters["tiny"] += 1
            short = rng.choice([160, 240, 320, 400, 480, 511])
            h, w = pixels.shape[:2]
            f = short / min(h, w)
            px = cv2.resize(pixels, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
            name = f"{s.id}_tiny_{short}.jpg"
            write(name, encode(px, "JPEG", 90), label="too_small", short_side=short, **common)
        if i % 3 == 1:
            kind = "truncate" if counters["corrupt"] % 2 == 0 else "garbage"
            counters["corrupt"] += 1
            name = f"{s.id}_{size_class}_corrupt_{kind}.jpg"
            write(name, corrupt(blob, kind, rng), label="unreadable", damage=kind, **common)
    # A damaged PNG too: the pre-flight must catch more than JPEG damage.
    if scenes:
        view = render_view(srcs[scenes[0].source], scenes[0].rect, scenes[0].flip, rng)
        png = encode(add_grain(to_size(view, SIZES["2mp"]), rng, 2.0), "PNG")
        write(
            "s000_2mp_corrupt_truncate.png", png[: len(png) // 2], label="unreadable",
            damage="truncate", scene=scenes[0].id, source=scenes[0].source,
        )  # fmt: skip
    for k, (name, a, b) in enumerate(pairs):
        for j, rect in enumerate((a, b)):
            view = render_view(srcs[name], rect, False, rng)
            size_class = "12mp" if k % 2 == 0 else "2mp"
            px = add_grain(to_size(view, SIZES[size_class]), rng, rng.uniform(1.5, 3.0))
            fname = f"hn{k}{'ab'[j]}_{size_class}_sharp.jpg"
            write(
                fname, encode(px, "JPEG", rng.randint(88, 95)), label="sharp",
                hard_negative=f"hn{k}", scene=f"hn{k}{'ab'[j]}", source=name,
                crop=list(rect), size_class=size_class, original=True,
            )  # fmt: skip
    overlaps = [
        round(overlap(a.rect, b.rect), 3)
        for i, a in enumerate(scenes)
        for b in scenes[i + 1 :]
        if a.source == b.source
    ]
    doc = {
        "seed": seed,
        "min_phash_distance_between_scenes": scene_distances(images, labels),
        "n_distinct": len(scenes),
        "max_overlap_between_scenes": max(overlaps, default=0.0),
        "view_long_side": VIEW_LONG,
        "files": labels,
    }
    (out / "labels.json").write_text(json.dumps(doc, indent=1) + "\n")
    return doc


def scene_distances(images: Path, labels: dict[str, dict[str, Any]]) -> dict[str, int | None]:
    """Smallest pHash distance (of 64 bits) between originals of different scenes.

    A check that scenes are different pictures: near-duplicates sit within ~10 bits,
    unrelated photos around 32. Hard-negative pairs (same place) are reported apart.
    """
    import imagehash

    hashes = {}
    for name, lab in labels.items():
        if lab["label"] == "sharp":
            with Image.open(images / name) as img:
                img.draft("L", (512, 512))
                hashes[name] = imagehash.phash(img.convert("L"))
    names = sorted(hashes)
    between: list[int] = []
    pairs: list[int] = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            d = int(hashes[a] - hashes[b])
            hn = labels[a].get("hard_negative")
            same_place = hn is not None and hn == labels[b].get("hard_negative")
            (pairs if same_place else between).append(d)
    return {
        "scenes": min(between, default=None),
        "hard_negative_pairs": min(pairs, default=None),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=HERE / "corpus")
    p.add_argument("--n-distinct", type=int, default=40, help="distinct scenes (default 40)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    doc = build(args.out, args.n_distinct, args.seed)
    files = doc["files"]
    counts: dict[str, int] = {}
    for lab in files.values():
        counts[lab["label"]] = counts.get(lab["label"], 0) + 1
    print(
        f"{len(files)} files in {args.out / 'images'} ({time.perf_counter() - t0:.0f} s): "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        + f"; largest overlap between scenes of one photo {doc['max_overlap_between_scenes']}"
        + f"; smallest pHash distance {doc['min_phash_distance_between_scenes']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
