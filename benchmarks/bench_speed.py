"""Per-photo speed of the path users run: 12 MP face and body photos, faces on.

    .venv/bin/python benchmarks/bench_speed.py [--repeats 5] [--out DIR]

The photos are the real photos of `tests/data/people` (tune and check sets) made into
12 MP JPEGs: a face photo (3000x4000, head and shoulders around the detected face) and a
body photo (the whole frame, 3000x4000 or 4000x3000), with sensor-like grain, baseline and
progressive. They are enlargements of smaller photos, so the `upscaled` check rejects most
of them: every stage runs all the same (no check short-cuts another).

Per photo, in one process, start-up excluded (a warm-up call of each method first), each
method in its own pass over the files, the median of `--repeats` passes:

- **floor**: read every byte and decode with Pillow at the smallest DCT scale whose
  shorter side still reaches `Policy.analysis_side` (512 px): no checks at all. Beside
  it, the same decode by simplejpeg, the decoder the library uses.
- **default**: `analyze` with `Policy()` as shipped: face detection, face checks and the
  identity embedding of face photos and of body photos whose face is clear enough (here
  every one). The face models run on one thread, as in a worker
  process (and as the floor does); the in-process default (every core, up to four) is
  shown beside.
- **faces off**: `Policy(faces=False)`.

Then a per-stage profile of the default path (cProfile, so a little slower than the
unprofiled run): what the time over the floor is spent on. Targets: default within 1.5x
the floor for baseline JPEGs, within 1.4x for progressive ones.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import simplejpeg
from PIL import Image

from animus_prep.faces.runtime import set_default_threads
from animus_prep.inspection.analysis import analyze
from animus_prep.inspection.discover import FACE_IMAGE_TYPE, Candidate, body_image_type
from animus_prep.inspection.faces import find_faces
from animus_prep.policy import Policy
from bench_preflight import decode_floor, time_methods

HERE = Path(__file__).resolve().parent
PEOPLE = HERE.parent / "tests" / "data" / "people"
TARGETS = {"baseline": 1.5, "progressive": 1.4}

# Stages of the default path, by the function that owns each (file, function name).
STAGES = (
    ("read file", "pathlib.py", "read_bytes"),
    ("checksum (sha256)", "~", "<built-in method _hashlib.openssl_sha256>"),
    ("header parse", "Image.py", "open"),
    ("JPEG stream scan", "jpeg.py", "scan_stream"),
    ("reduced decode", "jpeg.py", "decode_reduced"),
    ("grey copy + measurements", "measure.py", "measure"),
    ("grey copy + measurements", "measure.py", "shrink_gray"),
    ("grey copy + measurements", "decode.py", "gray"),
    ("face detection", "detector.py", "detect"),
    ("face embedding", "recognizer.py", "embed_unnormalised"),
    ("face region: sharpness, exposure", "faces.py", "face_sharpness"),
    ("face region: sharpness, exposure", "faces.py", "face_exposure"),
    ("face region: sharpness, exposure", "faces.py", "face_saturation"),
    ("finer face decode", "analysis.py", "_face_sharpness_at_full_detail"),
    ("checks", "checks.py", "run_checks"),
    ("fingerprint + thumbnail", "fingerprint.py", "fingerprint"),
    ("fingerprint + thumbnail", "fingerprint.py", "thumbnail_of"),
    ("compact fingerprint", "fingerprint.py", "compact"),
)


def make_photos(folder: Path) -> list[Path]:
    """The 12 MP face and body photos (made once; kept in the git-ignored corpus)."""
    done = folder / "done"
    if done.exists():
        return sorted(folder.glob("*/*.jpg"))
    rng = np.random.default_rng(1)
    policy = Policy(identity=False)
    for source in sorted(PEOPLE.glob("*/*.jpg")):
        img = Image.open(source).convert("RGB")
        rgb = np.asarray(img)
        found = find_faces(rgb, 1.0, embed=False, policy=policy).main
        if found is None:
            continue
        x, y, w, h = found.box
        cx, cy = x + w / 2, y + h / 2
        # Head and shoulders: about 3.2 face widths across, the face in the upper half.
        fw = min(img.width, 3.2 * w)
        fh = min(img.height, fw * 4 / 3)
        fw = fh * 3 / 4
        left = min(max(0.0, cx - fw / 2), img.width - fw)
        top = min(max(0.0, cy - fh * 0.4), img.height - fh)
        shots = {
            "face": (img.crop((left, top, left + fw, top + fh)), (3000, 4000)),
            "body": (img, (3000, 4000) if img.height >= img.width else (4000, 3000)),
        }
        for kind, (shot, size) in shots.items():
            big = _cover(shot, size)
            pixels = np.asarray(big, dtype=np.float32)
            grain = rng.normal(0.0, 3.0, pixels.shape[:2])[..., None]
            big = Image.fromarray(np.clip(pixels + grain, 0, 255).astype(np.uint8))
            for style in ("baseline", "progressive"):
                out = folder / style / f"{source.stem}_{kind}.jpg"
                out.parent.mkdir(parents=True, exist_ok=True)
                big.save(out, quality=92, progressive=style == "progressive")
    done.write_text("")
    return sorted(folder.glob("*/*.jpg"))


def _cover(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``img`` scaled to cover ``size`` and cropped to it (centred)."""
    scale = max(size[0] / img.width, size[1] / img.height)
    w, h = round(img.width * scale), round(img.height * scale)
    big = img.resize((w, h), Image.Resampling.BICUBIC)
    left, top = (w - size[0]) // 2, (h - size[1]) // 2
    return big.crop((left, top, left + size[0], top + size[1]))


def candidate(path: Path) -> Candidate:
    if path.stem.endswith("_face"):
        return Candidate(path, path.name, "face", FACE_IMAGE_TYPE)
    return Candidate(path, path.name, "body", body_image_type("front"))


def floor_simplejpeg(path: Path, side: int) -> None:
    """The same decode by simplejpeg (libjpeg-turbo), the decoder the library uses."""
    simplejpeg.decode_jpeg(path.read_bytes(), "RGB", min_width=side, min_height=side)


def stage_profile(files: Sequence[Path], policy: Policy) -> dict[str, float]:
    """Mean ms per file of each stage of the default path, under cProfile."""
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    for f in files:
        analyze(candidate(f), policy)
    profiler.disable()
    total = (time.perf_counter() - t0) * 1000 / len(files)
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    out: dict[str, float] = {}
    for label, file_end, name in STAGES:
        for (file, _line, func), (_cc, _nc, _tt, cum, _callers) in stats.items():
            if func == name and file.endswith(file_end):
                out[label] = out.get(label, 0.0) + cum * 1000 / len(files)
    out["other"] = total - sum(out.values())
    out["total (profiled)"] = total
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=HERE / "corpus" / "speed")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    files = make_photos(args.corpus)
    load_start = os.getloadavg()[0]
    side = Policy().analysis_side
    set_default_threads(1)
    # Both face models made before timing (the first file may be a body photo, which
    # never needs the embedding model).
    analyze(candidate(next(f for f in files if f.stem.endswith("_face"))), Policy())
    methods: dict[str, Callable[[Path], object]] = {
        "floor": lambda p: decode_floor(p, side),
        "floor (simplejpeg)": lambda p: floor_simplejpeg(p, side),
        "default": lambda p: analyze(candidate(p), Policy()),
        "faces off": lambda p: analyze(candidate(p), Policy(faces=False)),
    }
    per_file = {
        m: {str(f): ms for f, ms in per.items()}
        for m, per in time_methods(files, methods, args.repeats).items()
    }
    set_default_threads(None)
    alone = time_methods(files, {"default, models on every core": methods["default"]}, 3)
    per_file.update({m: {str(f): ms for f, ms in per.items()} for m, per in alone.items()})
    set_default_threads(1)
    result: dict[str, Any] = {"files": len(files), "repeats": args.repeats, "classes": {}}
    print(f"{os.cpu_count()} cores; load average {load_start:.2f}")
    print(f"{len(files)} photos of 12 MP ({len(files) // 4} people, face and body, 2 styles)")
    for style in ("baseline", "progressive"):
        names = [str(f) for f in files if f.parent.name == style]
        means = {m: statistics.fmean(per[n] for n in names) for m, per in per_file.items()}
        floor = means["floor"]
        result["classes"][style] = {"mean_ms": means, "ratio_to_floor": {}}
        print(f"\n{style} JPEG, ms per photo (ratio to the floor):")
        for m, v in means.items():
            ratio = v / floor
            result["classes"][style]["ratio_to_floor"][m] = ratio
            print(f"  {m:32s} {v:6.1f}  {ratio:.2f}x")
        head = means["default"] / floor
        verdict = "met" if head <= TARGETS[style] else "NOT met"
        print(f"  headline: default {head:.2f}x the floor; target <= {TARGETS[style]}x: {verdict}")
    stages = stage_profile([f for f in files if f.parent.name == "baseline"], Policy())
    result["stages_baseline_ms"] = stages
    print("\nwhere the default path's time goes, baseline JPEG, ms per photo (profiled):")
    for label, ms in stages.items():
        print(f"  {label:34s} {ms:6.1f}")
    result["load_average"] = {"start": load_start, "end": os.getloadavg()[0]}
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"speed-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}; written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
