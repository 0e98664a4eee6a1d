"""The pre-flight: judge every file of a folder and assemble the report.

Per-file work (one decode, measurements, checks, fingerprint) runs on any
`concurrent.futures.Executor`; the set-level decisions (duplicates, caps) run here, on
the small results the workers send back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from pathlib import Path

from .analysis import ImageAnalysis, analyze, best_copy, spread_vector
from .dedup import group_duplicates
from .discover import Candidate, Kind, discover
from .faces.identity import judge_identity
from .faces.types import Face
from .policy import Policy
from .reasons import Reason, ReasonCode
from .report import ImageReport, MetricValue, Report
from .selection import select_within_cap

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
    (or single file) of that kind. `reference` is a folder of photos known to show the
    character, for the identity check. Raises `LayoutError` for a path that is neither.
    """
    policy = policy or Policy()
    root = Path(path)
    candidates = discover(root, kind, view)
    references: list[ImageAnalysis] = []
    if reference is not None and policy.faces:
        references = run_analyses(discover(reference, "face"), policy, executor)
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


def _metrics(a: ImageAnalysis) -> dict[str, MetricValue]:
    out: dict[str, MetricValue] = {"file_bytes": a.file_bytes}
    m = a.measurements
    if m is not None:
        blur = a.blur_score()
        out.update(
            edge_width=round(m.sharpness.edge_width, 4),
            blur_score=None if blur is None else round(blur, 4),
            edge_pixels=m.sharpness.edge_pixels,
            noise_sigma=round(m.sharpness.noise_sigma, 3),
            luma_p10=m.luma_p10,
            luma_p50=m.luma_p50,
            luma_p90=m.luma_p90,
            clipped_fraction=round(m.clipped_fraction, 4),
            quality=round(a.quality(), 4),
        )
    if a.jpeg_quality is not None:
        out["jpeg_quality"] = a.jpeg_quality
    if a.orientation != 1:
        out["exif_orientation"] = a.orientation
    if a.print is not None:
        out["phash"] = f"{a.print.phash:016x}"
    return out


def assemble(
    root: str,
    analyses: Sequence[ImageAnalysis],
    policy: Policy,
    *,
    references: Sequence[ImageAnalysis] = (),
) -> Report:
    """Set-level decisions (duplicates, identity, caps) over per-image analyses."""
    reasons: list[list[Reason]] = [a.reasons() for a in analyses]
    for i, a in enumerate(analyses):
        if a.candidate.kind is None:
            reasons[i].insert(
                0,
                Reason(
                    ReasonCode.MISPLACED,
                    "not in face/ or body/<view>/ of the character folder, so its kind is "
                    "unknown; move it there or check its folder with --kind",
                ),
            )
    duplicate_of: dict[int, tuple[int, float]] = {}
    decoded = [i for i, a in enumerate(analyses) if a.print is not None]
    prints = [analyses[i].print for i in decoded]
    groups = group_duplicates(
        [p for p in prints if p is not None],
        lambda group: group[best_copy([analyses[decoded[k]] for k in group])],
        max_distance=policy.duplicate_hash_distance,
        min_similarity=policy.duplicate_min_similarity,
    )
    for g in groups:
        keep = decoded[g.keep]
        for o in g.others:
            duplicate_of[decoded[o]] = (keep, g.similarity[o])
    for i, (keep, sim) in duplicate_of.items():
        reasons[i].append(
            Reason(
                ReasonCode.DUPLICATE,
                f"same picture as {analyses[keep].candidate.relpath}, which is the better "
                f"copy (similarity {sim:.2f})",
                score=sim,
                threshold=policy.duplicate_min_similarity,
            )
        )
    identity, warnings = _apply_identity(analyses, reasons, duplicate_of, references, policy)
    _apply_caps(analyses, reasons, policy)
    images = tuple(
        ImageReport(
            path=a.candidate.relpath,
            kind=a.candidate.kind,
            image_type=a.candidate.image_type,
            reasons=tuple(reasons[i]),
            width=a.width,
            height=a.height,
            format=a.format,
            sha256=a.sha256,
            metrics=_metrics(a),
            duplicate_of=(
                analyses[duplicate_of[i][0]].candidate.relpath if i in duplicate_of else None
            ),
            notes=a.notes,
            faces=_faces(a),
            identity_score=identity.get(i),
            thumbnail=a.print.thumbnail if a.print is not None else None,
            embedding=a.faces.embedding if a.faces is not None else None,
            fingerprint=a.print,
        )
        for i, a in enumerate(analyses)
    )
    return Report(root=root, policy=policy, images=images, warnings=tuple(warnings))


def _faces(a: ImageAnalysis) -> tuple[Face, ...] | None:
    if a.faces is None or a.faces.unavailable is not None:
        return None
    return a.faces.faces


def _apply_identity(
    analyses: Sequence[ImageAnalysis],
    reasons: list[list[Reason]],
    duplicate_of: dict[int, tuple[int, float]],
    references: Sequence[ImageAnalysis],
    policy: Policy,
) -> tuple[dict[int, float], list[str]]:
    """Score face photos against the character's identity; flag the other people."""
    warnings: list[str] = []
    unavailable = next(
        (a.faces.unavailable for a in analyses if a.faces and a.faces.unavailable), None
    )
    if unavailable:
        return {}, [f"{unavailable}; face checks were skipped"]
    if not policy.faces:
        return {}, warnings
    embeddings = {
        i: a.faces.embedding
        for i, a in enumerate(analyses)
        if a.faces is not None and a.faces.embedding is not None
    }
    # Each picture votes once: copies of one photo must not outvote the rest.
    voters = {i: e for i, e in embeddings.items() if i not in duplicate_of}
    ref = [
        a.faces.embedding
        for a in references
        if a.faces is not None and a.faces.embedding is not None and len(a.faces.faces) == 1
    ]
    if references and not ref:
        warnings.append("no reference photo shows exactly one face; identity not checked")
        return {}, warnings
    verdict = judge_identity(
        voters, policy.identity_threshold, reference=ref, min_faces=policy.identity_min_faces
    )
    if verdict.note:
        warnings.append(verdict.note)
    if verdict.target is None:
        return {}, warnings
    # Every face photo is scored, copies included, against the one identity.
    scores = {i: float(e @ verdict.target) for i, e in embeddings.items()}
    against = "the reference photos" if ref else "the person in most of the face photos"
    for i, score in scores.items():
        if score < policy.identity_threshold:
            reasons[i].append(
                Reason(
                    ReasonCode.IDENTITY_MISMATCH,
                    f"looks like someone else: similarity {score:.2f} to {against} "
                    f"(same person above {policy.identity_threshold:.3f})",
                    score=score,
                    threshold=policy.identity_threshold,
                )
            )
    return scores, warnings


def _apply_caps(
    analyses: Sequence[ImageAnalysis], reasons: list[list[Reason]], policy: Policy
) -> None:
    for kind in ("face", "body"):
        cap = policy.cap_for(kind)
        pool = [i for i, a in enumerate(analyses) if a.candidate.kind == kind and not reasons[i]]
        if len(pool) <= cap:
            continue
        keep = set(
            select_within_cap(
                [analyses[i].quality() for i in pool],
                [spread_vector(analyses[i]) for i in pool],
                cap,
                groups=[analyses[i].candidate.image_type or "" for i in pool]
                if kind == "body"
                else None,
            )
        )
        for rank, i in enumerate(pool):
            if rank not in keep:
                reasons[i].append(
                    Reason(
                        ReasonCode.OVER_CAP,
                        f"{len(pool)} {kind} photos passed but the server takes {cap}; "
                        "better or more varied ones were kept",
                        score=float(len(pool)),
                        threshold=float(cap),
                    )
                )
