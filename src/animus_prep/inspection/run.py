"""The pre-flight of one folder: discover its files, analyse each, assemble the report.

Per-file work (one decode, measurements, checks, fingerprint) runs on any
`concurrent.futures.Executor`; the whole-folder decisions (`assemble`) run here, on the
small results the workers send back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from pathlib import Path

from ..policy import Policy
from .analysis import ImageAnalysis, analyze
from .assemble import assemble
from .discover import Candidate, Kind, discover
from .references import usable_references
from .report import Report

ProgressCallback = Callable[[int, int, str], None]
"""Called as (done, total, relpath) after each file."""


def preflight(
    path: str | Path,
    kind: Kind | None = None,
    policy: Policy | None = None,
    executor: Executor | None = None,
    *,
    view: str = "front",
    reference: str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> Report:
    """Judge every file under `path` and return the report.

    `path` is a character folder (`face/`, `body/<view>/`) or, with `kind`, any folder
    (or single file) of that kind. `reference` is a folder (or a photo) known to show
    the character, for the identity check. Raises `LayoutError` for a path that is
    neither, and `UnusableReferenceError`, naming each photo and why, when no reference
    photo can be used (the identity check is never silently skipped).
    """
    policy = policy or Policy()
    root = Path(path)
    candidates = discover(root, kind, view)
    references: list[ImageAnalysis] = []
    if reference is not None:
        found = discover(reference, "face")
        references = usable_references(run_analyses(found, policy, executor), policy)
    analyses = run_analyses(candidates, policy, executor, progress)
    return assemble(str(root), analyses, policy, references=references)


def run_analyses(
    candidates: Sequence[Candidate],
    policy: Policy,
    executor: Executor | None = None,
    progress: ProgressCallback | None = None,
) -> list[ImageAnalysis]:
    """Analyse every candidate, in input order, on `executor` (or in this process)."""
    work = functools.partial(analyze, policy=policy)
    results: Iterable[ImageAnalysis]
    results = map(work, candidates) if executor is None else executor.map(work, candidates)
    out: list[ImageAnalysis] = []
    for i, result in enumerate(results, 1):
        out.append(result)
        if progress is not None:
            progress(i, len(candidates), result.candidate.relpath)
    return out
