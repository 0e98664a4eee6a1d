"""Run cleanvision and imagededup on a list of files and print timings and verdicts as JSON.

    PYTHON benchmarks/peers.py FILELIST.json

Run by `bench_preflight.py` in a subprocess, with the python of an environment where the
peers are installed, so the project's own environment never needs them. Only the calls
are timed (imports and start-up excluded), in one process (`n_jobs=1`, no worker pools).

imagededup imports torchvision at import time for its CNN method, even though its hashes
never use it; when torchvision cannot be imported (no wheel that matches the installed
CPU-only torch), a stand-in module is registered so that `PHash` can still be measured.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
import types
import warnings
from pathlib import Path
from typing import Any


def _cleanvision(files: list[str]) -> dict[str, Any]:
    try:
        import cleanvision
        from cleanvision import Imagelab
    except ImportError as exc:
        return {"status": "not installed", "error": str(exc)}
    out: dict[str, Any] = {"status": "ok", "version": cleanvision.__version__}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        lab = Imagelab(filepaths=files)
        t0 = time.perf_counter()
        lab.find_issues(n_jobs=1, verbose=False)
        out["seconds"] = time.perf_counter() - t0
    issues = lab.issues
    flags: dict[str, list[str]] = {}
    for col in issues.columns:
        if col.startswith("is_") and col.endswith("_issue"):
            name = col[3:-6]
            flags[name] = [str(p) for p in issues.index[issues[col].astype(bool)]]
    out["flags"] = flags
    sets: list[list[str]] = []
    for key in ("exact_duplicates", "near_duplicates"):
        sets.extend([list(map(str, s)) for s in lab.info.get(key, {}).get("sets", [])])
    out["duplicate_sets"] = sets
    return out


class _Anything(types.ModuleType):
    """A module whose every attribute is itself: enough for import-time references."""

    def __getattr__(self, name: str) -> _Anything:
        return self

    def __call__(self, *args: object, **kwargs: object) -> _Anything:
        return self


def _stub_torchvision() -> None:
    for name in list(sys.modules):
        if name.startswith("torchvision"):
            del sys.modules[name]
    for name in (
        "torchvision",
        "torchvision.models",
        "torchvision.models.vision_transformer",
        "torchvision.transforms",
    ):
        sys.modules[name] = _Anything(name)


def _imagededup(files: list[str], threshold: int) -> dict[str, Any]:
    note = None
    try:
        import imagededup  # noqa: F401
    except ImportError as exc:
        return {"status": "not installed", "error": str(exc)}
    try:
        import torchvision  # noqa: F401
    except Exception:
        _stub_torchvision()
        note = "imported with a stand-in torchvision (PHash does not use it)"
    try:
        from imagededup.methods import PHash
    except Exception as exc:
        return {"status": "not measurable", "error": f"{type(exc).__name__}: {exc}"}
    from importlib.metadata import version

    out: dict[str, Any] = {"status": "ok", "version": version("imagededup"), "note": note}
    hasher = PHash(verbose=False)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        encodings = {}
        for f in files:
            h = hasher.encode_image(image_file=f)
            if h is not None:
                encodings[f] = h
        t1 = time.perf_counter()
        dups = hasher.find_duplicates(
            encoding_map=encodings, max_distance_threshold=threshold, num_dist_workers=0
        )
        t2 = time.perf_counter()
    out.update(
        encode_seconds=t1 - t0,
        search_seconds=t2 - t1,
        seconds=t2 - t0,
        encoded=len(encodings),
        threshold=threshold,
        duplicates={k: list(v) for k, v in dups.items() if v},
    )
    return out


def main() -> int:
    job = json.loads(Path(sys.argv[1]).read_text())
    files: list[str] = job["files"]
    cleanvision = _cleanvision(job.get("cleanvision_files", files))
    timed = job.get("cleanvision_12mp_files")
    if timed and cleanvision.get("status") == "ok":
        cleanvision["seconds_12mp"] = _cleanvision(timed)["seconds"]
    result = {
        "python": sys.executable,
        "cleanvision": cleanvision,
        "imagededup": _imagededup(files, int(job.get("threshold", 10))),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
