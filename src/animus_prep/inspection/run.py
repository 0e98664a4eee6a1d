"""The pre-flight of one folder: discover its files, analyse each, assemble the report.

Per-file work (one decode, measurements, checks, fingerprint; the verification of
duplicate candidates) runs on any `concurrent.futures.Executor`: a process pool, or a
dask.distributed cluster through `Client.get_executor()`, whose workers read the files by
path. The whole-folder decisions (`assemble`) run here, on the small results they send
back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Executor
from dataclasses import replace
from pathlib import Path

from ..policy import Policy, policy_or_default
from .analysis import ImageAnalysis
from .assemble import assemble
from .discover import Candidate, Kind, discover
from .references import usable_references
from .report import Report
from .spool import BytesSpool
from .work import analyze_batch, batch_size, digest_batch, stream

ProgressCallback = Callable[[int, int, str], None]
"""Called as (done, total, relpath) after each file."""
PACKED_UP_TO = 1000
"""Files to analyse up to which fingerprints keep their pixels, packed (~100-120 KB each
at the default analysis size, more for long strips: 500 KB at 8:1), in the pre-flight's
temporary file, up to PACKED_BYTES in all. A pair verification then decodes nothing; in
a burst of similar photos, where most photos are verified against several others, that
was a sixth of the work. Bigger folders decode again the photos they verify: far fewer
than all of them."""
PACKED_BYTES = 128 * 1024 * 1024
"""Packed pixels one pre-flight keeps at most; the fingerprints past it keep none. (Where
the temporary directory is a tmpfs, they are in memory after all.)"""


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
    `executor` runs the per-file work (e.g. a `ProcessPoolExecutor`, or a dask
    `Client.get_executor()`; its workers must see the files at the same absolute paths).
    `policy` is used as given, None meaning the defaults: a policy file in the folder is
    not read here (`animus_prep.effective_policy(path).policy` is what `animus-prep
    check` would use).
    """
    policy = policy_or_default(policy)
    root = Path(path)
    candidates = discover(root, kind, view)
    references: list[ImageAnalysis] = []
    if reference is not None:
        found = discover(reference, "face")
        references = usable_references(run_analyses(found, policy, executor), policy)
    analyses = run_analyses(candidates, policy, executor, progress)
    report = assemble(str(root), analyses, policy, references=references, executor=executor)
    if not candidates:
        where = "face/ or body/<view>/" if kind is None and root.is_dir() else "it"
        empty = f"no files found in {where}: nothing was judged"
        report = replace(report, warnings=(empty, *report.warnings))
    return report


def run_analyses(
    candidates: Sequence[Candidate],
    policy: Policy,
    executor: Executor | None = None,
    progress: ProgressCallback | None = None,
) -> list[ImageAnalysis]:
    """Analyse every candidate, in input order, on `executor` (or in this process).

    A file is read and decoded once however many of the candidates are copies of it:
    paths to one file (links) share its analysis, and so do byte-identical files, found
    by their sha256 before anything is decoded. Only files whose size another file shares
    are hashed for that; the rest go straight to analysis. The analyses' previews are
    kept in a temporary file, not in memory (see `spool`), and so are their pixels,
    packed, when there are at most PACKED_UP_TO files to analyse (up to PACKED_BYTES).
    """
    content = _content_keys(candidates, executor)
    first: dict[Hashable, int] = {}
    todo: list[int] = []
    for i, c in enumerate(candidates):
        if c.same_as is not None:
            continue
        key = (content[i], c.kind) if content[i] is not None else ("alone", i)
        if key not in first:
            first[key] = i
            todo.append(i)
    out: list[ImageAnalysis | None] = [None] * len(candidates)
    copies_of: dict[int, list[int]] = {}
    for i, c in enumerate(candidates):
        if c.same_as is not None:
            out[i] = ImageAnalysis(candidate=c)
        else:
            key = (content[i], c.kind) if content[i] is not None else ("alone", i)
            if first[key] != i:
                copies_of.setdefault(first[key], []).append(i)
    done = 0

    def report_done() -> None:
        nonlocal done
        while done < len(out) and out[done] is not None:
            done += 1
            if progress is not None:
                progress(done, len(out), candidates[done - 1].relpath)

    keep = len(todo) <= PACKED_UP_TO
    items = [(candidates[i].absolute(), policy, keep) for i in todo]
    results = stream(executor, analyze_batch, items, batch_size(len(items)))
    spool = BytesSpool()
    packed = 0
    for i, result in zip(todo, results, strict=True):
        # Results name the path they were given: keep the candidate as discovered.
        held = result.print
        size = 0 if held is None or held.packed is None else len(held.packed)
        if held is not None and size:
            if packed + size > PACKED_BYTES:
                held = replace(held, packed=None)
            else:
                packed += size
        held = None if held is None else held.spooled(spool)
        analysis = replace(result, candidate=candidates[i], print=held)
        out[i] = analysis
        for j in copies_of.get(i, ()):
            out[j] = replace(analysis, candidate=candidates[j])
        report_done()
    report_done()
    return [a for a in out if a is not None]


def _content_keys(
    candidates: Sequence[Candidate], executor: Executor | None
) -> list[Hashable | None]:
    """For each candidate, a key equal for files with the same bytes: the file's identity
    (one file, many paths), or its sha256 when another file has the same size. None for
    an entry that is not a readable regular file."""
    keys: list[Hashable | None] = [
        ("file", c.file_id) if c.file_id is not None and c.same_as is None else None
        for c in candidates
    ]
    firsts: dict[Hashable, int] = {}
    for i, key in enumerate(keys):
        if key is not None:
            firsts.setdefault(key, i)
    sizes = Counter(candidates[i].size for i in firsts.values())
    shared = [i for i in firsts.values() if sizes[candidates[i].size] > 1]
    paths = [str(candidates[i].path.absolute()) for i in shared]
    digests = dict(zip(shared, stream(executor, digest_batch, paths, 64), strict=True))
    by_file = {key: digests.get(i) for key, i in firsts.items()}
    out: list[Hashable | None] = []
    for key in keys:
        digest = by_file.get(key) if key is not None else None
        out.append(("sha256", digest) if digest is not None else key)
    return out
