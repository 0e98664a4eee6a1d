"""Benchmark the pre-flight at scale: big folders, bursts of similar photos, many hashes.

    .venv/bin/python benchmarks/bench_scale.py make              # once: benchmarks/corpus/scale/
    .venv/bin/python benchmarks/bench_scale.py folders           # 1k, 5k, 10k files, end to end
    .venv/bin/python benchmarks/bench_scale.py burst             # 400 similar 2 MP photos
    .venv/bin/python benchmarks/bench_scale.py hashes            # duplicate search alone, to 50k
    .venv/bin/python benchmarks/bench_scale.py memory            # bytes held per image

Every figure runs in a fresh subprocess, so its peak RSS is its own: the parent's peak
(`VmHWM`) plus each worker's, read just before the pool shuts down, and the largest total
resident size of the parent and its workers sampled every 50 ms while it ran. Timings
include worker start-up and are wall-clock. The load average is printed with each figure:
the machine is shared, so compare runs taken at similar load. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

# OpenCV and scikit-image are imported only where the corpus is made (`make`): a measured
# child process holds what `animus-prep check` holds, not the benchmark's own tools.

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus" / "scale"
SMALL = (320, 240)
"""The small photos: web-size pictures (a phone's share size, an archive's previews)."""
BURST = (1600, 1200)
SOURCES = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "camera",
    "coins",
    "grass",
    "gravel",
    "brick",
    "cat",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "clock",
    "moon",
    "colorwheel",
)
FOLDER_POINTS = (1000, 5000, 10000)
COPY_SHARE = 0.2
"""Of each folder: this share are identical copies of one photo, the rest distinct."""


# --- corpus ------------------------------------------------------------------------------


def _sources() -> list[np.ndarray]:
    from skimage import data

    out = []
    for name in SOURCES:
        a = getattr(data, name)()
        if a.dtype != np.uint8:
            a = (np.clip(a, 0, 1) * 255).astype(np.uint8)
        if a.ndim == 2:
            a = np.repeat(a[:, :, None], 3, axis=2)
        out.append(np.ascontiguousarray(a[:, :, :3]))
    return out


def _jpeg(img: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def distinct_photo(srcs: list[np.ndarray], rng: random.Random) -> np.ndarray:
    """A small photo no other call makes: a random crop of a sample photo, graded, with
    a few random shapes drawn over it (so two crops of one place still differ)."""
    import cv2

    src = srcs[rng.randrange(len(srcs))]
    h, w = src.shape[:2]
    ch = rng.randint(min(h, w) // 4, min(h, int(w * 0.75)))
    cw = min(w, ch * 4 // 3)
    y, x = rng.randint(0, h - ch), rng.randint(0, w - cw)
    view = src[y : y + ch, x : x + cw]
    if rng.random() < 0.5:
        view = view[:, ::-1]
    img = cv2.resize(np.ascontiguousarray(view), SMALL, interpolation=cv2.INTER_AREA)
    gains = np.array([rng.uniform(0.75, 1.25) for _ in range(3)], dtype=np.float32)
    graded = np.clip(img.astype(np.float32) * gains, 0, 255).astype(np.uint8)
    pil = Image.fromarray(graded)
    draw = ImageDraw.Draw(pil)
    for _ in range(rng.randint(3, 6)):
        x0, y0 = rng.randrange(SMALL[0]), rng.randrange(SMALL[1])
        x1, y1 = x0 + rng.randint(15, 120), y0 + rng.randint(15, 90)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
    noisy = np.asarray(pil).astype(np.float32)
    noisy += np.random.default_rng(rng.randrange(2**32)).normal(0, 2.0, noisy.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def burst_frames(n: int, rng: random.Random) -> Iterator[tuple[np.ndarray, tuple[int, int]]]:
    """A phone's burst of one scene: the subject (a 500 px region) at one of 100 places
    (a grid, 60 px by 48 px apart), four frames at each, the camera shaking by up to
    20 px and fresh noise in every frame. Every frame is close to every other by hash;
    the four frames of a place are near-duplicates, frames of two places are not.
    Yields (frame, subject offset)."""
    import cv2
    from skimage import data

    size = (BURST[0] + 80, BURST[1] + 80)
    base = cv2.resize(data.astronaut(), size, interpolation=cv2.INTER_CUBIC)
    subject = base[300:800, 500:1000].copy()
    for k in range(n):
        frame = base.copy()
        place = k // 4 % 100
        dx, dy = (place % 10) * 60, (place // 10) * 48
        frame[300 + dy : 800 + dy, 500 + dx : 1000 + dx] = subject
        ox, oy = rng.randint(0, 20), rng.randint(0, 20)
        crop = frame[30 + oy : 30 + oy + BURST[1], 30 + ox : 30 + ox + BURST[0]]
        noise = np.random.default_rng(rng.randrange(2**32)).normal(0, 2.0, crop.shape)
        yield np.clip(crop.astype(np.float32) + noise, 0, 255).astype(np.uint8), (dx, dy)


def make_burst(out: Path, seed: int) -> None:
    burst = out / "burst"
    if burst.exists():
        shutil.rmtree(burst)
    burst.mkdir(parents=True)
    offsets = {}
    for k, (frame, offset) in enumerate(burst_frames(400, random.Random(seed))):
        name = f"IMG_{k:04d}.jpg"
        (burst / name).write_bytes(_jpeg(frame, 92))
        offsets[name] = offset
    (out / "burst.json").write_text(json.dumps({"subject_offsets": offsets}, indent=1))


def make(out: Path, seed: int) -> None:
    rng = random.Random(seed)
    srcs = _sources()
    if out.exists():
        shutil.rmtree(out)
    pool = out / "pool"
    pool.mkdir(parents=True)
    n_distinct = int(max(FOLDER_POINTS) * (1 - COPY_SHARE))
    t0 = time.perf_counter()
    for i in range(n_distinct):
        img = distinct_photo(srcs, rng)
        (pool / f"p{i:05d}.jpg").write_bytes(_jpeg(img, rng.randint(85, 93)))
    copied = _jpeg(distinct_photo(srcs, rng), 90)
    (out / "copied.jpg").write_bytes(copied)
    for n in FOLDER_POINTS:
        folder = out / f"folder{n}"
        folder.mkdir()
        copies = int(n * COPY_SHARE)
        for i in range(n - copies):
            shutil.copyfile(pool / f"p{i:05d}.jpg", folder / f"p{i:05d}.jpg")
        for i in range(copies):
            (folder / f"copy{i:05d}.jpg").write_bytes(copied)
    make_burst(out, seed)
    print(f"corpus in {out} ({time.perf_counter() - t0:.0f} s)")


# --- measuring ---------------------------------------------------------------------------


def _status(pid: int, key: str) -> int:
    """A /proc/PID/status field in kB (0 when the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            out.extend(int(t) for t in text)
    except OSError:
        pass
    return out


class TreeSampler:
    """The largest total resident size of a process and its descendants, sampled."""

    def __init__(self, pid: int | None = None, interval: float = 0.05) -> None:
        self.peak_kb = 0
        self.peak_at = 0.0
        """Seconds after the start when the peak was sampled."""
        self.peak_parent_kb = 0
        """The parent's share of the peak (the rest is its workers')."""
        self._start = time.perf_counter()
        self._pid = os.getpid() if pid is None else pid
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)

    def _run(self, interval: float) -> None:
        me = self._pid
        while not self._stop.is_set():
            pids = [me]
            i = 0
            while i < len(pids):
                pids.extend(_children(pids[i]))
                i += 1
            sizes = [_status(p, "VmRSS") for p in pids]
            if sum(sizes) > self.peak_kb:
                self.peak_kb = sum(sizes)
                self.peak_at = time.perf_counter() - self._start
                self.peak_parent_kb = sizes[0]
            self._stop.wait(interval)

    def __enter__(self) -> TreeSampler:
        self._start = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _cpu() -> float:
    """CPU seconds of this process and its joined children (workers): what the work
    costs whatever else the machine runs (on 2 idle cores, about half of it in time)."""
    used = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in used)


def load() -> float:
    return os.getloadavg()[0]


def run_child(args: list[str], options: list[str], timeout: float) -> dict[str, Any]:
    """Run this script in a fresh process (and session) for one figure; its last line is
    JSON. On timeout the whole session is stopped (workers included) and the figure says
    how large the process tree had grown."""
    cmd = [sys.executable, __file__, "child", *args, *options]
    start_load = load()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    with TreeSampler(proc.pid) as sampler:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
            return {
                "timeout_s": timeout,
                "tree_peak_mb_so_far": round(sampler.peak_kb / 1024, 1),
                "load_start": start_load,
                "load_end": load(),
            }
    if proc.returncode != 0:
        return {"error": stderr[-2000:], "wall_s": time.perf_counter() - t0}
    out: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    out.update(load_start=start_load, load_end=load())
    return out


def child_folder(folder: Path, workers: int, faces: bool, scheduler: str | None) -> dict[str, Any]:
    from animus_prep.inspection.run import preflight
    from animus_prep.policy import Policy

    policy = Policy(faces=faces)
    base_kb = _status(os.getpid(), "VmRSS")
    cpu0 = _cpu()
    with TreeSampler() as sampler:
        t0 = time.perf_counter()
        if scheduler:
            from distributed import Client

            with Client(scheduler) as client:
                report = preflight(folder, "face", policy, client.get_executor())
            worker_hwm = 0
        else:
            with ProcessPoolExecutor(workers) as pool:
                report = preflight(folder, "face", policy, pool)
                worker_hwm = sum(_status(p, "VmHWM") for p in _children(os.getpid()))
        wall = time.perf_counter() - t0
    summary = report.summary()
    return {
        "files": summary["total"],
        "wall_s": round(wall, 2),
        "cpu_s": round(_cpu() - cpu0, 1),
        "parent_hwm_mb": round(_status(os.getpid(), "VmHWM") / 1024, 1),
        "workers_hwm_mb": round(worker_hwm / 1024, 1),
        "tree_peak_mb": round(sampler.peak_kb / 1024, 1),
        "tree_peak_at_s": round(sampler.peak_at, 1),
        "tree_peak_parent_mb": round(sampler.peak_parent_kb / 1024, 1),
        "baseline_mb": round(base_kb / 1024, 1),
        "rejected_by_reason": summary["rejected_by_reason"],
        "duplicates": sum(1 for i in report.images if i.duplicate_of),
    }


def child_hashes(n: int, seed: int) -> dict[str, Any]:
    """The duplicate search alone over `n` images' hashes (no files, no decode): a fifth
    identical copies of one image, the rest the hashes of distinct small photos."""
    from animus_prep.inspection.duplicates import exact_groups, near_candidates, search_radius
    from animus_prep.policy import Policy

    prints = synthetic_hashes(n, seed)
    policy = Policy()
    base_kb = _status(os.getpid(), "VmRSS")
    t0 = time.perf_counter()
    keys = [p[3] for p in prints]
    groups = exact_groups(keys)
    reps = [g[0] for g in groups]
    hashes = np.array([prints[i][:3] for i in reps], dtype=np.uint64)
    pairs = 0
    with_candidates = 0
    radius = search_radius(len(reps), policy)
    for _, found in near_candidates(hashes, radius):
        pairs += len(found)
        with_candidates += len(found) > 0
    wall = time.perf_counter() - t0
    return {
        "files": n,
        "distinct": len(reps),
        "radius": radius,
        "candidate_pairs": pairs,
        "images_with_candidates": with_candidates,
        "wall_s": round(wall, 3),
        "parent_hwm_mb": round(_status(os.getpid(), "VmHWM") / 1024, 1),
        "baseline_mb": round(base_kb / 1024, 1),
    }


def synthetic_hashes(n: int, seed: int) -> list[tuple[int, int, int, str]]:
    """(phash, dhash, centre phash, sha256 stand-in) for n images: a fifth identical
    copies of one photo, the rest distinct small photos (made as for the folders, hashed
    as the pre-flight hashes them). The distinct hashes are made once, up to the largest
    point, and kept in the corpus folder."""
    cache = CORPUS / f"hashes-{seed}.npy"
    n_distinct = n - int(n * COPY_SHARE)
    table = np.load(cache) if cache.exists() else np.zeros((0, 3), dtype=np.uint64)
    if len(table) < n_distinct + 1:
        table = _make_hashes(max(n_distinct + 1, 40_001), seed)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, table)
    out = [
        (int(a), int(b), int(c), f"d{i}") for i, (a, b, c) in enumerate(table[1 : n_distinct + 1])
    ]
    a, b, c = (int(x) for x in table[0])
    out.extend((a, b, c, "copied") for _ in range(n - n_distinct))
    return out


def _make_hashes(count: int, seed: int) -> np.ndarray:
    import cv2

    from animus_prep.inspection.fingerprint import fingerprint, thumbnail

    rng = random.Random(seed)
    srcs = _sources()
    rows = []
    for _ in range(count):
        img = distinct_photo(srcs, rng)
        fp = fingerprint(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), thumbnail(img))
        rows.append(fp.hashes)
    return np.array(rows, dtype=np.uint64)


def child_memory(folder: Path, n: int) -> dict[str, Any]:
    """Bytes the parent holds per image: every allocation still alive once the report
    (and the analyses behind it) is built, traced with tracemalloc, over n files."""
    import gc
    import tracemalloc

    from animus_prep.inspection.run import preflight
    from animus_prep.policy import Policy

    sub = Path(os.environ.get("TMPDIR", "/tmp")) / f"animus-scale-mem-{os.getpid()}"
    sub.mkdir()
    try:
        for p in sorted(f for f in folder.iterdir() if not f.name.startswith("copy"))[:n]:
            os.symlink(p.absolute(), sub / p.name)
        with ProcessPoolExecutor(2) as pool:
            preflight(sub, "face", Policy(faces=True), pool)  # warm: imports, models
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            report = preflight(sub, "face", Policy(faces=True), pool)
            gc.collect()
            held = tracemalloc.get_traced_memory()[0] - before
            tracemalloc.stop()
        thumb = report.images[0].thumbnail
        return {
            "files": len(report.images),
            "bytes_per_image": round(held / len(report.images)),
            "thumbnail_shape": None if thumb is None else list(thumb.shape),
        }
    finally:
        shutil.rmtree(sub)


def child_burst(folder: Path, workers: int, faces: bool) -> dict[str, Any]:
    return child_folder(folder, workers, faces=faces, scheduler=None)


# --- main --------------------------------------------------------------------------------


def _print(name: str, r: dict[str, Any]) -> None:
    if "timeout_s" in r:
        print(
            f"{name:<28} no report within {r['timeout_s']:.0f} s (process tree reached "
            f"{r['tree_peak_mb_so_far']} MB)  load {r['load_start']:.2f}->{r['load_end']:.2f}"
        )
        return
    if "error" in r:
        print(f"{name:<28} failed: {r['error']}")
        return
    keys = ("wall_s", "cpu_s", "tree_peak_mb", "parent_hwm_mb", "workers_hwm_mb", "duplicates")
    shown = "  ".join(f"{k} {r[k]}" for k in keys if k in r)
    extra = {k: v for k, v in r.items() if k not in keys and not k.startswith("load")}
    print(f"{name:<28} {shown}  load {r['load_start']:.2f}->{r['load_end']:.2f}  {extra}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=("make", "folders", "burst", "hashes", "memory", "child"))
    p.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    p.add_argument("--corpus", type=Path, default=CORPUS)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument(
        "--no-faces",
        dest="faces",
        action="store_false",
        help="face checks off (default: on, as `check` runs)",
    )
    p.add_argument("--faces", dest="faces", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--points", default=",".join(str(n) for n in FOLDER_POINTS))
    p.add_argument("--hash-points", default="1000,5000,10000,50000")
    p.add_argument("--timeout", type=float, default=600.0, help="per figure, seconds")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a dask.distributed cluster")
    p.add_argument("--out", type=Path, default=HERE / "results")
    p.add_argument("--only", choices=("burst",), help="with make: only this part")
    p.add_argument("--memory-files", type=int, default=1000, help="photos for memory")
    args = p.parse_args(argv)
    if args.mode == "child":
        kind, *rest = args.rest
        handlers: dict[str, Callable[[], dict[str, Any]]] = {
            "folder": lambda: child_folder(Path(rest[0]), args.workers, args.faces, args.scheduler),
            "burst": lambda: child_burst(Path(rest[0]), args.workers, args.faces),
            "hashes": lambda: child_hashes(int(rest[0]), args.seed),
            "memory": lambda: child_memory(Path(rest[0]), int(rest[1])),
        }
        print(json.dumps(handlers[kind]()))
        return 0
    if args.mode == "make":
        if args.only == "burst":
            make_burst(args.corpus, args.seed)
        else:
            make(args.corpus, args.seed)
        return 0
    common = ["--workers", str(args.workers), "--seed", str(args.seed)]
    common.append("--faces" if args.faces else "--no-faces")
    if args.scheduler:
        common += ["--scheduler", args.scheduler]
    results: dict[str, Any] = {"mode": args.mode, "cpus": os.cpu_count(), "figures": {}}
    jobs: list[tuple[str, list[str]]] = []
    if args.mode == "folders":
        for n in (int(x) for x in args.points.split(",")):
            jobs.append((f"{n} files", ["folder", str(args.corpus / f"folder{n}")]))
    elif args.mode == "burst":
        jobs.append(("400 x 2 MP burst", ["burst", str(args.corpus / "burst")]))
    elif args.mode == "hashes":
        for n in (int(x) for x in args.hash_points.split(",")):
            jobs.append((f"{n} hashes", ["hashes", str(n)]))
    else:
        path = str(args.corpus / "folder10000")
        jobs.append(("memory", ["memory", path, str(args.memory_files)]))
    for name, child_args in jobs:
        r = run_child(child_args, common, args.timeout)
        results["figures"][name] = r
        _print(name, r)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"scale-{args.mode}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
