"""Time face detection and embedding in one process, and the pre-flight with faces on.

    .venv/bin/python benchmarks/bench_faces.py [--repeats 20] [--rounds 5]
        [--threads N ...] [--skip-preflight]

Detection is timed end to end at a 640 px long side (resize, pad, YuNet, decode, NMS) and
for the YuNet run alone; embedding per face (alignment + SFace). Each figure is the median
of ``--repeats`` calls, taken in ``--rounds`` rounds: the best round is reported (on a
shared machine, co-tenants only ever add time) next to the median round. By default it
runs with one thread and with the library's own choice when the pre-flight runs alone in
a process (every core, up to four).
Then what each model's session costs in memory, in a fresh process (resident growth once
built, and the peak while building), and the whole per-file pre-flight of face photos
(as 12 MP phone JPEGs) with the face checks off and on, start-up excluded, in this
process (the face models use every core when the pre-flight runs alone in a process, one
thread each in a worker pool).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image
from skimage import data

from animus_prep.faces import SFaceEmbedder, YuNetDetector, get_session
from animus_prep.faces.detector import prepare
from animus_prep.faces.runtime import auto_threads

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS = REPO_ROOT.parent / "shared" / "corpora" / "faces"
LOCAL = REPO_ROOT / "tests" / "faces" / "data"
TARGET_MS = 5.0


def photos() -> dict[str, npt.NDArray[np.uint8]]:
    found = {
        "astronaut (512)": np.asarray(data.astronaut()),
        "coffee (600)": np.asarray(data.coffee()),
    }
    folder = CORPUS if CORPUS.is_dir() else LOCAL
    for path in sorted(folder.glob("*.jpg")):
        with Image.open(path) as im:
            found[path.name] = np.asarray(im.convert("RGB"))
    return found


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm up (session creation, allocator)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def rounds_ms(fn: Callable[[], object], repeats: int, rounds: int) -> tuple[float, float]:
    """Best and median, over ``rounds`` rounds, of the median of ``repeats`` calls."""
    per_round = [median_ms(fn, repeats) for _ in range(rounds)]
    return min(per_round), statistics.median(per_round)


def time_models(threads: int, repeats: int, rounds: int) -> None:
    detector = YuNetDetector(threads=threads)
    embedder = SFaceEmbedder(threads=threads)
    session = get_session("yunet", threads)
    names = [o.name for o in session.get_outputs()]

    t0 = time.perf_counter()
    get_session("sface", threads)
    sface_load = (time.perf_counter() - t0) * 1000

    print(f"\nthreads={threads} repeats={repeats} rounds={rounds} (ms: best round / median round)")
    print(f"SFace session creation: {sface_load:.0f} ms (once per process)")
    header = f"{'photo':<18} {'size':>9} {'input':>9} {'detect':>13} {'yunet':>13} {'faces':>5}"
    print(f"{header} {'embed':>13}")
    detect_best, detect_median, embed_best = [], [], []
    for name, rgb in photos().items():
        blob, _, _ = prepare(rgb)
        det = rounds_ms(partial(detector.detect, rgb), repeats, rounds)
        net = rounds_ms(partial(session.run, names, {"input": blob}), repeats, rounds)
        found = detector.detect(rgb)
        emb = "-"
        if found:
            best, median = rounds_ms(partial(embedder.embed, rgb, found[0]), repeats, rounds)
            embed_best.append(best)
            emb = f"{best:.2f} / {median:.2f}"
        detect_best.append(det[0])
        detect_median.append(det[1])
        h, w = rgb.shape[:2]
        size, inp = f"{w}x{h}", f"{blob.shape[3]}x{blob.shape[2]}"
        row = f"{name:<18} {size:>9} {inp:>9} {det[0]:>6.2f} / {det[1]:<4.2f}"
        print(f"{row} {net[0]:>6.2f} / {net[1]:<4.2f} {len(found):>5} {emb:>13}")
    best, median = statistics.median(detect_best), statistics.median(detect_median)
    print(
        f"detection at 640 px, {threads} thread(s): median over photos {best:.2f} ms per"
        f" photo in the best round, {median:.2f} in the median round (target <= {TARGET_MS} ms)"
    )
    if embed_best:
        print(f"embedding: {statistics.median(embed_best):.2f} ms per face (best round)")


_SESSION_MEMORY = """
import json, sys
import numpy as np
import onnxruntime  # imported first: its own ~30 MB is not a session's
from animus_prep.faces.runtime import get_session

def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith(key))

feeds = {"yunet": ("input", (1, 3, 480, 640)), "sface": ("data", (1, 3, 112, 112))}
out = {}
for name in ("yunet", "sface"):
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets the high-water mark to the current resident size
    rss = status("VmRSS")
    session = get_session(name, 1)
    feed, shape = feeds[name]
    session.run(None, {feed: np.zeros(shape, np.float32)})
    out[name] = (status("VmRSS") - rss, status("VmHWM") - rss)
print(json.dumps(out))
"""


def session_memory() -> None:
    """Resident memory each face model's session adds to a fresh process (one thread,
    after a first run), and how far above that the process went while building it."""
    if not Path("/proc/self/status").exists():
        print("session memory: needs /proc (Linux)")
        return
    out = subprocess.run(
        [sys.executable, "-c", _SESSION_MEMORY], capture_output=True, text=True, timeout=120
    )
    if out.returncode != 0:
        print(f"session memory: failed: {out.stderr.strip()[-300:]}")
        return
    for name, (held, above) in json.loads(out.stdout).items():
        print(f"session memory, {name}: +{held:.0f} MB resident once built and run once;")
        print(f"  building it peaked {above:.0f} MB above its start")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--threads",
        type=int,
        action="append",
        help="onnxruntime threads (repeatable; default: 1 and the library's own choice)",
    )
    parser.add_argument("--skip-preflight", action="store_true")
    args = parser.parse_args(argv)

    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
    for threads in args.threads or sorted({1, auto_threads()}):
        time_models(threads, args.repeats, args.rounds)
    session_memory()
    if not args.skip_preflight:
        preflight_with_and_without_faces(args.repeats)
    return 0


def phone_photos(folder: Path) -> list[Path]:
    """The face photos as 12 MP JPEGs (4000x3000, the portrait centred on a backdrop)."""
    out = []
    for name, rgb in photos().items():
        if name.startswith("coffee"):
            continue
        im = Image.fromarray(rgb)
        scale = 2600 / im.height
        im = im.resize((round(im.width * scale), 2600), Image.Resampling.LANCZOS)
        canvas = Image.new("RGB", (3000, 4000), (128, 128, 128))
        canvas.paste(im, ((3000 - im.width) // 2, 700))
        path = folder / f"{Path(name).stem.split(' ')[0]}.jpg"
        canvas.save(path, quality=92)
        out.append(path)
    return out


def preflight_with_and_without_faces(repeats: int) -> None:
    import tempfile

    from animus_prep.inspection.analysis import analyze
    from animus_prep.inspection.discover import Candidate
    from animus_prep.policy import Policy

    with tempfile.TemporaryDirectory() as tmp:
        files = phone_photos(Path(tmp))
        cands = [Candidate(f, f.name, "face", "face_image") for f in files]
        rounds = max(3, repeats // 5)
        results = {}
        policies = (
            ("faces off", Policy(faces=False)),
            ("detection", Policy(identity=False)),
            ("faces on", Policy()),
        )
        for label, policy in policies:
            per_file = [median_ms(partial(analyze, c, policy), rounds) for c in cands]
            results[label] = statistics.median(per_file)
        off, det, on = results["faces off"], results["detection"], results["faces on"]
        print(
            f"\npre-flight of {len(files)} face photos (12 MP JPEG), ms per photo: "
            f"faces off {off:.1f}; face checks without identity {det:.1f} "
            f"({det / off:.2f}x; target <= 2x); with identity embeddings {on:.1f} "
            f"({on / off:.2f}x)"
        )


if __name__ == "__main__":
    sys.exit(main())
