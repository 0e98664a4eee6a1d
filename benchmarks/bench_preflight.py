"""Benchmark the pre-flight: speed, memory, scaling and accuracy on the labelled corpus.

    .venv/bin/python benchmarks/make_corpus.py            # once: benchmarks/corpus/
    .venv/bin/python benchmarks/bench_preflight.py [--quick] [--with-peers PYTHON]

Everything runs in one process unless stated: per-image times exclude start-up (imports,
first call), and are the median of `--repeats` passes over the files, taken in turns
(floor, full decode, analysis) for each file so that load on the machine hits all three
alike. Peak RSS is measured in a fresh subprocess per image count; the two-worker figure
uses a `ProcessPoolExecutor(2)` that is started and warmed before timing. cleanvision and
imagededup run in a subprocess with `--with-peers PYTHON` (or this python when they are
importable here), so this environment never needs them. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from PIL import Image

from animus_prep.inspection.analysis import ImageAnalysis, analyze
from animus_prep.inspection.assemble import assemble
from animus_prep.inspection.decode import DecodedImage, decode_path
from animus_prep.inspection.dedup import verify_pair
from animus_prep.inspection.discover import Candidate, discover
from animus_prep.inspection.fingerprint import fingerprint, hamming, thumbnail_of
from animus_prep.inspection.measure import measure, shrink_gray
from animus_prep.inspection.report import Report
from animus_prep.inspection.run import preflight, run_analyses
from animus_prep.policy import Policy
from animus_prep.reasons import ReasonCode

HERE = Path(__file__).resolve().parent
FACES = HERE.parent.parent / "shared" / "corpora" / "faces"
TARGETS = {
    "floor_ratio": 1.4,
    "cleanvision_speedup": 16.0,
    "rss_mb_200": 200.0,
    "workers_speedup": 1.8,
    "blurry": 0.95,
    "duplicate": 0.95,
    "unreadable": 1.0,
    "too_small": 1.0,
}
# Caps off: the corpus holds more photos than the server takes, and a cap is not a verdict
# on an image. Face checks are benchmarked on their own.
NO_CAPS = {"face_cap": 10**6, "body_cap": 10**6}


def bench_policy(faces: bool = False) -> Policy:
    return Policy(faces=faces, **NO_CAPS)


def _candidate(path: Path, root: Path) -> Candidate:
    return Candidate(path, path.relative_to(root).as_posix(), "body", "body_image_front")


# --- per-image timing --------------------------------------------------------------------


def decode_floor(path: Path, side: int) -> None:
    """Read every byte and decode at the library's reduced size: no checks at all."""
    data = path.read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        w, h = img.size
        short = min(w, h)
        if img.format in ("JPEG", "MPO") and short > side:
            img.draft(img.mode, (w * side // short, h * side // short))
        img.load()


def full_decode(path: Path) -> None:
    data = path.read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        img.load()


def time_per_image(
    files: Sequence[Path], root: Path, policy: Policy, repeats: int
) -> dict[str, dict[str, float]]:
    """Median ms per file of each method, over `repeats` passes of each method."""
    methods: dict[str, Callable[[Path], object]] = {
        "floor": lambda p: decode_floor(p, policy.analysis_side),
        "full_decode": full_decode,
        "animus_prep": lambda p: analyze(_candidate(p, root), policy),
        # The library's own decode step alone (read, checksum, stream scan, reduced
        # decode, orientation): what the rest of the analysis adds is the difference.
        "animus_decode": lambda p: decode_path(p, policy),
    }
    per_file = time_methods(files, methods, repeats)
    return {m: {f.name: ms for f, ms in per.items()} for m, per in per_file.items()}


def time_methods(
    files: Sequence[Path], methods: dict[str, Callable[[Path], object]], repeats: int
) -> dict[str, dict[Path, float]]:
    """Median ms per file of each method, each method in its own passes over the files.

    One warm-up call of each first (imports, allocator, first-call costs). Interleaving a
    36 MB full decode just before another method would leave the allocator returning
    fresh pages to it, a penalty of several milliseconds that belongs to neither.
    """
    for fn in methods.values():
        fn(files[0])
    times: dict[str, dict[Path, list[float]]] = {m: {} for m in methods}
    for _ in range(repeats):
        for name, fn in methods.items():
            for f in files:
                t0 = time.perf_counter()
                fn(f)
                times[name].setdefault(f, []).append(time.perf_counter() - t0)
    return {m: {f: statistics.median(v) * 1000 for f, v in per.items()} for m, per in times.items()}


def stage_times(files: Sequence[Path], policy: Policy, repeats: int) -> dict[str, float]:
    """Mean ms per file of the analysis stages after the decode, on decoded pixels."""
    totals = {"measure": 0.0, "gray": 0.0, "fingerprint": 0.0}
    count = 0
    for f in files:
        d = decode_path(f, policy)
        if not isinstance(d, DecodedImage):
            continue
        count += 1
        gray = shrink_gray(d.gray, policy.analysis_side)
        stages = {
            "gray": lambda d=d: shrink_gray(d.gray, policy.analysis_side),
            "measure": lambda d=d, g=gray: measure(g, d.width, d.height),
            "fingerprint": lambda d=d, g=gray: fingerprint(g, thumbnail_of(d.image)),
        }
        for name, fn in stages.items():
            fn()
            runs = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                runs.append(time.perf_counter() - t0)
            totals[name] += statistics.median(runs) * 1000
    return {k: v / max(count, 1) for k, v in totals.items()}


def summarise_times(per_file: dict[str, dict[str, float]], names: Iterable[str]) -> dict[str, Any]:
    names = list(names)
    out: dict[str, Any] = {"files": len(names)}
    for m, per in per_file.items():
        vals = [per[n] for n in names]
        out[m] = {"median_ms": statistics.median(vals), "mean_ms": statistics.fmean(vals)}
    out["ratio_to_floor"] = out["animus_prep"]["mean_ms"] / out["floor"]["mean_ms"]
    out["ratio_to_full_decode"] = out["animus_prep"]["mean_ms"] / out["full_decode"]["mean_ms"]
    return out


# --- memory and workers ------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident set size, in MB.

    VmHWM, not getrusage: Linux carries ru_maxrss over an exec, so a child started from a
    big parent would report the parent's size.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_child(n: int, corpus: Path) -> int:
    """Pre-flight N 12 MP files (links to the corpus's, cycled) and print the peak RSS."""
    labels = load_labels(corpus)
    sources = [
        corpus / "images" / name
        for name, lab in sorted(labels.items())
        if lab["label"] == "sharp" and lab.get("size_class") == "12mp"
    ]
    base = peak_rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n):
            src = sources[i % len(sources)]
            os.symlink(src, Path(tmp) / f"{i:04d}_{src.name}")
        t0 = time.perf_counter()
        report = preflight(tmp, kind="body", policy=bench_policy())
        seconds = time.perf_counter() - t0
    peak = peak_rss_mb()
    print(
        json.dumps(
            {
                "n": n,
                "distinct_files": min(n, len(sources)),
                "baseline_mb": round(base, 1),
                "peak_mb": round(peak, 1),
                "seconds": round(seconds, 2),
                "images": len(report.images),
            }
        )
    )
    return 0


def measure_rss(corpus: Path, sizes: Sequence[int]) -> list[dict[str, Any]]:
    out = []
    for n in sizes:
        proc = subprocess.run(
            [sys.executable, __file__, "--rss-child", str(n), "--corpus", str(corpus)],
            capture_output=True,
            text=True,
            check=True,
        )
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def measure_workers(
    cands: Sequence[Candidate], policy: Policy, repeats: int
) -> dict[str, float | int]:
    one: list[float] = []
    two: list[float] = []
    with ProcessPoolExecutor(2) as pool:
        run_analyses(cands[:4], policy, pool)  # start and warm both workers
        run_analyses(cands[:2], policy)
        for _ in range(repeats):
            t0 = time.perf_counter()
            run_analyses(cands, policy)
            one.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            run_analyses(cands, policy, pool)
            two.append(time.perf_counter() - t0)
    a, b = statistics.median(one), statistics.median(two)
    return {"files": len(cands), "one_s": a, "two_s": b, "speedup": a / b}


# --- accuracy ----------------------------------------------------------------------------


def load_labels(corpus: Path) -> dict[str, dict[str, Any]]:
    labels: dict[str, dict[str, Any]] = json.loads((corpus / "labels.json").read_text())["files"]
    return labels


def prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": tp / (tp + fp) if tp + fp else None,  # nothing flagged
        "recall": tp / (tp + fn) if tp + fn else 1.0,
    }


def flag_metrics(
    labels: dict[str, dict[str, Any]], flagged: set[str], label: str, files: Iterable[str]
) -> dict[str, Any]:
    files = list(files)
    pos = {f for f in files if labels[f]["label"] == label}
    got = flagged & set(files)
    m = prf(len(pos & got), len(got - pos), len(pos - got))
    m["false_positives"] = sorted(got - pos)
    m["false_negatives"] = sorted(pos - got)
    return m


def pair_metrics(
    labels: dict[str, dict[str, Any]], groups: Iterable[Iterable[str]], files: Iterable[str]
) -> dict[str, Any]:
    """Duplicate search judged on pairs, for tools that do not choose a copy to keep.

    Recall: labelled duplicates that share a group with their original. Precision: pairs
    inside groups that show one scene. Hard-negative pairs found are counted apart.
    """
    files = set(files)
    # Merge overlapping groups (pair lists, sets sharing a member) into components.
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for g in groups:
        members = sorted(set(g) & files)
        for m in members[1:]:
            parent[find(m)] = find(members[0])
        if members:
            find(members[0])
    components: dict[str, list[str]] = {}
    for f in parent:
        components.setdefault(find(f), []).append(f)
    where = {f: find(f) for f in parent}
    pairs = same = 0
    hard: list[list[str]] = []
    for comp in components.values():
        members = sorted(comp)
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                pairs += 1
                if labels[a]["scene"] == labels[b]["scene"]:
                    same += 1
                hn = labels[a].get("hard_negative")
                if hn is not None and hn == labels[b].get("hard_negative"):
                    hard.append([a, b])
    dups = [f for f in files if labels[f]["label"] == "duplicate"]
    found = [f for f in dups if f in where and where.get(labels[f]["duplicate_of"]) == where[f]]
    return {
        "recall": len(found) / len(dups) if dups else 1.0,
        "precision": same / pairs if pairs else 1.0,
        "found": len(found),
        "labelled": len(dups),
        "pairs": pairs,
        "cross_scene_pairs": pairs - same,
        "hard_negative_pairs_flagged": hard,
        "missed": sorted(set(dups) - set(found)),
    }


def animus_accuracy(
    labels: dict[str, dict[str, Any]], report: Report, analyses: Sequence[ImageAnalysis]
) -> dict[str, Any]:
    by_path = {img.path: img for img in report.images}
    by_analysis = {a.candidate.relpath: a for a in analyses}
    files = [p for p in by_path if p in labels]
    codes = {p: set(by_path[p].codes) for p in files}

    def flagged(code: ReasonCode) -> set[str]:
        return {p for p in files if code in codes[p]}

    out: dict[str, Any] = {}
    for name, code in (
        ("blurry", ReasonCode.BLURRY),
        ("unreadable", ReasonCode.UNREADABLE),
        ("too_small", ReasonCode.TOO_SMALL),
    ):
        out[name] = flag_metrics(labels, flagged(code), name, files)

    # Duplicates, judged with the copy kept: a flag counts when it points into the same
    # scene; blurred and tiny copies of a scene may be called duplicates or not.
    # A lossless copy (PNG of the decoded original) is as good as the original: either
    # may be the one kept, as long as the other points at it.
    def swapped_keep(p: str) -> bool:
        lab, dup_of = labels[p], by_path[p].duplicate_of
        if lab["label"] == "sharp":
            return (
                dup_of is not None
                and bool(labels[dup_of].get("lossless"))
                and (labels[dup_of].get("duplicate_of") == p)
            )
        if lab["label"] == "duplicate" and lab.get("lossless"):
            orig = by_path.get(lab["duplicate_of"])
            return orig is not None and orig.duplicate_of == p
        return False

    tp = fp = fn = 0
    wrong: list[str] = []
    for p in files:
        lab = labels[p]
        dup_of = by_path[p].duplicate_of
        is_flagged = ReasonCode.DUPLICATE in codes[p]
        same_scene = dup_of is not None and labels[dup_of]["scene"] == lab["scene"]
        if lab["label"] == "duplicate":
            if (is_flagged and same_scene) or (not is_flagged and swapped_keep(p)):
                tp += 1
            else:
                fn += 1
                wrong.append(p)
        elif is_flagged and (lab["label"] == "sharp" or not same_scene) and not swapped_keep(p):
            fp += 1
            wrong.append(p)
    dup = prf(tp, fp, fn)
    groups = {}
    for p in files:
        lab = labels[p]
        if lab["label"] == "duplicate":
            groups.setdefault(lab["duplicate_of"], []).append(p)
    good_groups = 0
    bad_groups = []
    for orig, variants in sorted(groups.items()):
        keepers = {orig} | {v for v in variants if labels[v].get("lossless")}
        kept = [m for m in [orig, *variants] if ReasonCode.DUPLICATE not in codes.get(m, set())]
        ok = (
            len(kept) == 1
            and kept[0] in keepers
            and all(
                by_path[v].duplicate_of is not None
                and labels[by_path[v].duplicate_of]["scene"] == labels[orig]["scene"]
                for v in [orig, *variants]
                if v not in kept
            )
        )
        good_groups += ok
        if not ok:
            bad_groups.append({"original": orig, "kept": kept})
    dup["groups_correct"] = good_groups
    dup["groups"] = len(groups)
    dup["bad_groups"] = bad_groups
    dup["wrong_files"] = sorted(wrong)
    out["duplicate"] = dup
    out["duplicate_pairs"] = pair_metrics(
        labels,
        [
            [img.path, img.duplicate_of]
            for img in report.images
            if img.duplicate_of is not None and img.path in labels
        ],
        files,
    )
    sharp = [p for p in files if labels[p]["label"] == "sharp"]
    # An original set aside for its own lossless copy loses nothing: listed, not counted.
    lossless_kept = [p for p in sharp if codes[p] == {ReasonCode.DUPLICATE} and swapped_keep(p)]
    # The originals are crops of scikit-image's sample photos (512 px and less) enlarged
    # to a 1024 px view and sharpened: holding the detail of a smaller photo is true of
    # them by construction, so `upscaled` is listed beside the rejections, not among them.
    enlarged = [p for p in sharp if ReasonCode.UPSCALED in codes[p]]
    rejected = [p for p in sharp if codes[p] - {ReasonCode.UPSCALED} and p not in lossless_kept]
    out["sharp"] = {
        "files": len(sharp),
        "rejected": len(rejected),
        "rejected_files": rejected,
        "kept_as_lossless_copy": lossless_kept,
        "upscaled": len(enlarged),
        "upscaled_files": enlarged,
    }
    hn = [p for p in files if labels[p].get("hard_negative")]
    out["hard_negatives_flagged"] = [p for p in hn if ReasonCode.DUPLICATE in codes[p]]

    # Every file whose verdict differs from its label, with the measurements behind it.
    failures = []
    expected = {
        "sharp": set(),
        "blurry": {ReasonCode.BLURRY},
        "duplicate": {ReasonCode.DUPLICATE},
        "too_small": {ReasonCode.TOO_SMALL},
        "unreadable": {ReasonCode.UNREADABLE},
    }
    for p in files:
        lab = labels[p]
        need = expected[lab["label"]]
        allowed = set(need)
        if lab["label"] in ("blurry", "too_small"):
            allowed.add(ReasonCode.DUPLICATE)
        got = codes[p]
        if swapped_keep(p):
            need = allowed = {ReasonCode.DUPLICATE} if lab["label"] == "sharp" else set()
        if need <= got and got <= allowed and p not in wrong:
            continue
        img = by_path[p]
        entry: dict[str, Any] = {
            "file": p,
            "label": lab["label"],
            "codes": sorted(c.value for c in got),
            "duplicate_of": img.duplicate_of,
        }
        for key in ("variant", "blur", "strength_at_1024", "noise_after_blur", "source"):
            if key in lab:
                entry[key] = lab[key]
        for key in ("edge_width", "blur_score", "noise_sigma", "edge_pixels", "luma_p90"):
            if key in img.metrics:
                entry[key] = img.metrics[key]
        for r in img.reasons:
            if r.code == ReasonCode.DUPLICATE and r.score is not None:
                entry["duplicate_similarity"] = round(r.score, 3)
        other = lab.get("duplicate_of") or (img.duplicate_of if lab["label"] == "sharp" else None)
        a, b = by_analysis.get(p), by_analysis.get(other or "")
        if a is not None and b is not None and a.print is not None and b.print is not None:
            pa, pb = a.print, b.print
            entry["pair"] = other
            entry["hash_distance"] = min(
                hamming(pa.phash, pb.phash),
                hamming(pa.dhash, pb.dhash),
                hamming(pa.centre_phash, pb.centre_phash),
            )
            v = verify_pair(pb, pa, report.policy.duplicate_min_similarity)
            entry["pair_verdict"] = {
                "duplicate": v.duplicate,
                "similarity": round(v.similarity, 3),
                "method": v.method,
            }
            entry["better_copy"] = {
                "this": a.is_better_copy_than(b),
                "encoding_quality": [a.encoding_quality, b.encoding_quality],
            }
        failures.append(entry)
    out["failures"] = failures
    return out


def peer_accuracy(
    labels: dict[str, dict[str, Any]], result: dict[str, Any], names: dict[str, str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    cv = result.get("cleanvision", {})
    if cv.get("status") == "ok":
        files = [names[f] for f in cv["files"]]
        blurry = {names[f] for f in cv["flags"].get("blurry", [])}
        out["cleanvision_blurry"] = flag_metrics(labels, blurry, "blurry", files)
        sets = [[names[f] for f in s] for s in cv["duplicate_sets"]]
        out["cleanvision_duplicates"] = pair_metrics(labels, sets, files)
        out["cleanvision_flags"] = {k: len(v) for k, v in cv["flags"].items()}
    dd = result.get("imagededup", {})
    if dd.get("status") == "ok":
        pairs = [[names[a], names[b]] for a, bs in dd["duplicates"].items() for b in bs]
        out["imagededup_duplicates"] = pair_metrics(labels, pairs, list(names.values()))
    return out


def run_peers(
    python: str, files: Sequence[Path], readable: Sequence[Path], twelve: Sequence[Path]
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as job:
        json.dump(
            {
                "files": [str(f) for f in files],
                "cleanvision_files": [str(f) for f in readable],
                "cleanvision_12mp_files": [str(f) for f in twelve],
                "threshold": 10,
            },
            job,
        )
    try:
        proc = subprocess.run(
            [python, str(HERE / "peers.py"), job.name], capture_output=True, text=True
        )
    finally:
        os.unlink(job.name)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        return {"error": " | ".join(tail) or f"exit {proc.returncode}"}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    cv = result.get("cleanvision", {})
    if cv.get("status") == "ok":
        cv["files"] = [str(f) for f in readable]
    return result


# --- the run -----------------------------------------------------------------------------


def quick_subset(labels: dict[str, dict[str, Any]]) -> set[str]:
    scenes = sorted({lab["scene"] for lab in labels.values() if lab["scene"].startswith("s")})
    keep = set(scenes[:8]) | {"hn0a", "hn0b"}
    return {name for name, lab in labels.items() if lab["scene"] in keep}


def fmt_pr(m: dict[str, Any]) -> str:
    p = "n/a (none flagged)" if m["precision"] is None else f"{m['precision']:.2f}"
    return f"P {p} R {m['recall']:.2f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=HERE / "corpus")
    p.add_argument("--quick", action="store_true", help="small subset, one repeat")
    p.add_argument("--skip-rss", action="store_true")
    p.add_argument("--skip-workers", action="store_true")
    p.add_argument("--with-peers", metavar="PYTHON", help="python with cleanvision/imagededup")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--rss-sizes", default="50,100,200")
    p.add_argument("--out", type=Path, default=HERE / "results")
    p.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.rss_child is not None:
        return rss_child(args.rss_child, args.corpus)

    corpus: Path = args.corpus
    images = corpus / "images"
    if not (corpus / "labels.json").is_file():
        print(f"no corpus in {corpus}: run benchmarks/make_corpus.py first", file=sys.stderr)
        return 2
    labels = load_labels(corpus)
    repeats = 1 if args.quick else args.repeats
    rss_sizes = [10, 20] if args.quick else [int(x) for x in args.rss_sizes.split(",")]
    if args.quick:
        subset = quick_subset(labels)
        labels = {k: v for k, v in labels.items() if k in subset}
        work = Path(tempfile.mkdtemp(prefix="animus-bench-"))
        for name in labels:
            os.symlink(images / name, work / name)
        images = work
    policy = bench_policy()
    results: dict[str, Any] = {
        "corpus": str(corpus),
        "files": len(labels),
        "quick": args.quick,
        "repeats": repeats,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "targets": TARGETS,
    }
    paths = {name: images / name for name in labels}
    for path in paths.values():  # page cache warm for every method alike
        path.read_bytes()

    # 1. Per-image time against the decode floor, per size class.
    print("timing per image (single process) ...", flush=True)
    timing: dict[str, Any] = {}
    for size_class in ("12mp", "2mp"):
        names = sorted(
            n
            for n, lab in labels.items()
            if lab["label"] == "sharp" and lab.get("size_class") == size_class
        )
        if not names:
            continue
        per_file = time_per_image([paths[n] for n in names], images, policy, repeats)
        timing[size_class] = summarise_times(per_file, names)
        prog = [n for n in names if labels[n].get("progressive")]
        base = [n for n in names if not labels[n].get("progressive")]
        if prog and base:
            timing[size_class]["baseline_jpeg"] = summarise_times(per_file, base)
            timing[size_class]["progressive_jpeg"] = summarise_times(per_file, prog)
        timing[size_class]["per_file_ms"] = per_file
        timing[size_class]["stages_ms"] = stage_times([paths[n] for n in names], policy, repeats)
    results["timing"] = timing

    # 2. The whole corpus end to end (decode, checks, duplicate search), and accuracy.
    print("pre-flight of the whole corpus ...", flush=True)
    cands = [c for c in discover(images, "body") if c.relpath in labels]
    t0 = time.perf_counter()
    analyses = run_analyses(cands, policy)
    report = assemble(str(images), analyses, policy)
    total = time.perf_counter() - t0
    results["end_to_end"] = {
        "files": len(cands),
        "seconds": total,
        "ms_per_file": total / len(cands) * 1000,
    }
    results["accuracy"] = animus_accuracy(labels, report, analyses)

    # 3. Face checks on, on face photos (Policy() as shipped, caps off).
    if FACES.is_dir():
        face_policy = Policy(**NO_CAPS)
        t0 = time.perf_counter()
        frep = preflight(FACES, kind="face", policy=face_policy)
        fsec = time.perf_counter() - t0
        results["faces_on"] = {
            "policy_faces_default": Policy().faces,
            "files": len(frep.images),
            "ms_per_file_incl_startup": fsec / max(len(frep.images), 1) * 1000,
            "face_results_present": any(i.faces is not None for i in frep.images),
            "verdicts": {i.path: [c.value for c in i.codes] for i in frep.images},
        }

    # 4. Peers, on the same files.
    python = args.with_peers or sys.executable
    readable = [paths[n] for n in sorted(labels) if labels[n]["label"] != "unreadable"]
    print(f"peers with {python} ...", flush=True)
    sharp12 = sorted(
        n for n, lab in labels.items() if lab["label"] == "sharp" and lab["size_class"] == "12mp"
    )
    peers = run_peers(
        python, [paths[n] for n in sorted(labels)], readable, [paths[n] for n in sharp12]
    )
    names = {str(paths[n]): n for n in labels}
    results["peers"] = peers
    results["peer_accuracy"] = peer_accuracy(labels, peers, names)
    cv = peers.get("cleanvision", {})
    if cv.get("status") == "ok":
        same = [c for c in cands if c.relpath in {str(r.name) for r in readable}]
        t0 = time.perf_counter()
        assemble(str(images), run_analyses(same, policy), policy)
        mine = (time.perf_counter() - t0) / len(same)
        theirs = cv["seconds"] / len(readable)
        results["vs_cleanvision"] = {
            "files": len(readable),
            "animus_ms": mine * 1000,
            "cleanvision_ms": theirs * 1000,
            "speedup": theirs / mine,
        }
        if "seconds_12mp" in cv and "12mp" in timing:
            theirs12 = cv["seconds_12mp"] / len(sharp12)
            mine12 = timing["12mp"]["animus_prep"]["mean_ms"] / 1000
            results["vs_cleanvision_12mp"] = {
                "files": len(sharp12),
                "animus_ms": mine12 * 1000,
                "cleanvision_ms": theirs12 * 1000,
                "speedup": theirs12 / mine12,
            }
    dd = peers.get("imagededup", {})
    if dd.get("status") == "ok":
        results["imagededup_ms_per_file"] = dd["seconds"] / len(labels) * 1000

    # 5. Scaling: two workers, and peak RSS against the number of photos.
    twelve = [c for c in cands if labels[c.relpath].get("size_class") == "12mp"]
    if not args.skip_workers:
        print("two workers ...", flush=True)
        results["workers"] = measure_workers(twelve, policy, repeats)
    if not args.skip_rss:
        print("peak RSS ...", flush=True)
        results["rss"] = measure_rss(corpus, rss_sizes)
    results["load_average_end"] = os.getloadavg()

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = args.out / f"preflight-{stamp}{'-quick' if args.quick else ''}.json"
    out.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print_table(results)
    print(f"\nresults: {out}")
    if args.quick:
        shutil.rmtree(images, ignore_errors=True)  # the folder of links made above
    return 0


def print_table(r: dict[str, Any]) -> None:
    rows: list[tuple[str, str, str, str]] = []

    def row(name: str, value: str, target: str = "", ok: bool | None = None) -> None:
        rows.append((name, value, target, "" if ok is None else ("ok" if ok else "MISSED")))

    for sc, t in r.get("timing", {}).items():
        row(
            f"{sc}: ms/image floor | full | animus",
            f"{t['floor']['mean_ms']:.1f} | {t['full_decode']['mean_ms']:.1f} | "
            f"{t['animus_prep']['mean_ms']:.1f}  ({t['files']} files)",
        )
        row(
            f"{sc}: animus decode step alone",
            f"{t['animus_decode']['mean_ms']:.1f} ms (checks + fingerprint: "
            f"{t['animus_prep']['mean_ms'] - t['animus_decode']['mean_ms']:.1f} ms)",
        )
        st = t.get("stages_ms")
        if st:
            row(
                f"{sc}: after decode, ms",
                f"grey copy {st['gray']:.1f}, measure {st['measure']:.1f}, "
                f"fingerprint {st['fingerprint']:.1f}",
            )
        row(
            f"{sc}: animus / floor",
            f"{t['ratio_to_floor']:.2f}x",
            "<= 1.4x",
            t["ratio_to_floor"] <= TARGETS["floor_ratio"],
        )
        for kind in ("baseline_jpeg", "progressive_jpeg"):
            if kind in t:
                k = t[kind]
                row(
                    f"  {kind} ({k['files']})",
                    f"floor {k['floor']['mean_ms']:.1f} ms, "
                    f"animus {k['animus_prep']['mean_ms']:.1f} ms, {k['ratio_to_floor']:.2f}x",
                )
    e = r["end_to_end"]
    row("whole corpus, end to end", f"{e['ms_per_file']:.1f} ms/file ({e['files']} files)")
    vs = r.get("vs_cleanvision")
    cv_status = r.get("peers", {}).get("cleanvision", {}).get("status", "not run")
    if vs:
        row(
            "cleanvision find_issues, ms/image",
            f"{vs['cleanvision_ms']:.0f} (animus {vs['animus_ms']:.1f})",
        )
        row(
            "speed vs cleanvision (all readable files)",
            f"{vs['speedup']:.1f}x",
            ">= 16x",
            vs["speedup"] >= TARGETS["cleanvision_speedup"],
        )
        v12 = r.get("vs_cleanvision_12mp")
        if v12:
            row(
                "  12 MP originals only",
                f"cleanvision {v12['cleanvision_ms']:.0f} ms, animus {v12['animus_ms']:.1f} ms: "
                f"{v12['speedup']:.1f}x",
                ">= 16x",
                v12["speedup"] >= TARGETS["cleanvision_speedup"],
            )
    else:
        row("cleanvision", cv_status)
    dd = r.get("peers", {}).get("imagededup", {})
    if "imagededup_ms_per_file" in r:
        row("imagededup PHash encode+search", f"{r['imagededup_ms_per_file']:.1f} ms/image")
    else:
        row(
            "imagededup",
            dd.get("status", "not run") + (f" ({dd['error']})" if "error" in dd else ""),
        )
    w = r.get("workers")
    if w:
        row(
            "2 workers vs 1 (12 MP)",
            f"{w['speedup']:.2f}x ({w['one_s']:.2f} s -> {w['two_s']:.2f} s)",
            ">= 1.8x",
            w["speedup"] >= TARGETS["workers_speedup"],
        )
    for x in r.get("rss", []):
        row(
            f"peak RSS, {x['n']} x 12 MP",
            f"{x['peak_mb']:.0f} MB (baseline {x['baseline_mb']:.0f})",
            "< 200 MB",
            x["peak_mb"] < TARGETS["rss_mb_200"],
        )
    a = r["accuracy"]
    for name in ("blurry", "duplicate", "unreadable", "too_small"):
        m = a[name]
        t = TARGETS[name]
        row(
            f"animus {name}",
            f"{fmt_pr(m)} (tp {m['tp']} fp {m['fp']} fn {m['fn']})",
            f">= {t}",
            (m["precision"] or 0.0) >= t and m["recall"] >= t,
        )
    d = a["duplicate"]
    row("animus duplicate groups, best copy kept", f"{d['groups_correct']}/{d['groups']}")
    row("animus duplicates, pair view", fmt_pr(a["duplicate_pairs"]))
    row(
        "hard negatives flagged",
        str(len(a["hard_negatives_flagged"])),
        "0",
        not a["hard_negatives_flagged"],
    )
    s = a["sharp"]
    row("sharp photos rejected", f"{s['rejected']}/{s['files']}", "0", s["rejected"] == 0)
    row(
        "sharp photos flagged upscaled (enlarged crops)",
        f"{s.get('upscaled', 0)}/{s['files']}",
    )
    pa = r.get("peer_accuracy", {})
    if "cleanvision_blurry" in pa:
        row("cleanvision blurry", fmt_pr(pa["cleanvision_blurry"]))
        cd = pa["cleanvision_duplicates"]
        row(
            "cleanvision near-duplicates (pairs)",
            f"{fmt_pr(cd)}, hard negatives {len(cd['hard_negative_pairs_flagged'])}",
        )
    if "imagededup_duplicates" in pa:
        idd = pa["imagededup_duplicates"]
        row(
            "imagededup PHash<=10 (pairs)",
            f"{fmt_pr(idd)}, hard negatives {len(idd['hard_negative_pairs_flagged'])}",
        )
    if "faces_on" in r:
        f = r["faces_on"]
        row(
            "faces on (Policy()), face photos",
            f"{f['ms_per_file_incl_startup']:.0f} ms/file incl. start-up, face results: "
            f"{'yes' if f['face_results_present'] else 'none in report'}",
        )
    la = r["load_average"]
    row(
        "load average at start / end",
        f"{la[0]:.2f} / {r['load_average_end'][0]:.2f} ({r['cpus']} CPUs)",
    )
    width = [max(len(x[i]) for x in rows) for i in range(4)]
    print()
    for x in rows:
        print("  ".join(c.ljust(width[i]) for i, c in enumerate(x)).rstrip())
    fails = r["accuracy"]["failures"]
    if fails:
        print(f"\n{len(fails)} labelled files judged differently from their label:")
        for f in fails:
            extra = {k: v for k, v in f.items() if k not in ("file", "label", "codes")}
            print(f"  {f['file']} [{f['label']}] -> {f['codes']} {json.dumps(extra)}")


if __name__ == "__main__":
    raise SystemExit(main())
