"""Auto-review of the server's dataset renders: judge each, then approve, regenerate or delete.

A render is judged with the pre-flight's own checks (decoded from bytes, never written to
disk), plus what only a render can get wrong: another person's face (identity against
the accepted reference photos), a near-copy of a reference, or a copy of another render.
Bad renders are regenerated within a budget, then deleted; good ones are approved; then
the dataset is approved. Every loop and wait is bounded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..client import AnimusError, Client, DatasetImage, NotFoundError
from ..faces.identity import centroid
from ..faces.types import Face
from ..inspection.analysis import ImageAnalysis, analyze_bytes
from ..inspection.assemble import duplicates_among, identity_mismatches, main_face_embeddings
from ..inspection.checks import rejection
from ..inspection.dedup import verify_pair
from ..inspection.fingerprint import Fingerprint
from ..inspection.report import ImageReport
from ..policy import Policy
from ..reasons import Reason, ReasonCode

logger = logging.getLogger("animus_prep.review")


@dataclass(frozen=True, slots=True)
class RenderVerdict:
    """The judgement of one render."""

    image_id: str
    filename: str | None
    reasons: tuple[Reason, ...]
    identity_score: float | None = None
    fingerprint: Fingerprint | None = field(default=None, repr=False, compare=False)
    """For comparing later renders with this one once it is approved (its thumbnail is
    the render's, for visual reports)."""
    width: int | None = None
    height: int | None = None
    faces: tuple[Face, ...] | None = None
    """Faces found in the render (its full-resolution pixels), or None when not looked for."""

    @property
    def ok(self) -> bool:
        return not self.reasons

    def to_json(self) -> dict[str, object]:
        return {
            "image_id": self.image_id,
            "filename": self.filename,
            "ok": self.ok,
            "reasons": [r.to_json() for r in self.reasons],
            "identity_score": self.identity_score,
        }


def render_policy(policy: Policy) -> Policy:
    """The pre-flight policy as it applies to renders: a face, but no crop-size demand,
    and no `upscaled` verdict: a render is the server's own output at the size it chose,
    and its softness, if any, is judged as blur. No `rotated` either: a render has no
    EXIF orientation to get wrong, and a reclining pose is not a turned photo. No
    `face_cut_off`: the server frames its renders, and a pose may leave part of the head
    out. `over_compressed` and `bordered` still apply (a render saved that low, or
    framed by bars, would teach its blocks or bars)."""
    return policy.with_overrides(
        {
            "faces": True,
            "face_crop_side": 1,
            "upscaled": False,
            "rotated": False,
            "max_face_outside": 1.0,
        }
    )


def judge_renders(
    renders: Sequence[tuple[str, str, bytes]],
    references: Sequence[ImageReport],
    policy: Policy,
    approved: Sequence[RenderVerdict] = (),
) -> list[RenderVerdict]:
    """Judge `(image_id, filename, bytes)` renders against the accepted reference photos,
    each other, and the renders `approved` in earlier rounds."""
    rp = render_policy(policy)
    analyses = [
        analyze_bytes(data, name or image_id, rp, kind="face") for image_id, name, data in renders
    ]
    reasons: list[list[Reason]] = [a.reasons() for a in analyses]
    scores: dict[int, float] = {}
    reference_embeddings = [r.embedding for r in references if r.embedding is not None]
    if reference_embeddings:
        scores, mismatches = identity_mismatches(
            main_face_embeddings(analyses),
            centroid(reference_embeddings),
            rp,
            "the reference photos",
        )
        for i, reason in mismatches.items():
            reasons[i].append(reason)
    ref_prints = [(r.path, r.fingerprint) for r in references if r.fingerprint is not None]
    for i, a in enumerate(analyses):
        if a.print is None:
            continue
        for path, fp in ref_prints:
            # A render that shows most of a reference again teaches nothing new; a tighter
            # crop of it is a new framing.
            if verify_pair(fp, a.print, rp.duplicate_min_similarity, min_cover_a=0.7).duplicate:
                reasons[i].append(
                    rejection(
                        "reference_copy",
                        ReasonCode.REFERENCE_COPY,
                        f"a near-copy of the reference {path}",
                    )
                )
                break
    kept = [(v.filename or v.image_id, v.fingerprint) for v in approved if v.fingerprint]
    for i, a in enumerate(analyses):
        if a.print is None:
            continue
        for name, fp in kept:
            if fp is not None and verify_pair(fp, a.print, rp.duplicate_min_similarity).duplicate:
                reasons[i].append(
                    rejection(
                        "duplicate",
                        ReasonCode.DUPLICATE,
                        f"the same picture as approved render {name}",
                    )
                )
                break
    for i, (keep, sim) in duplicates_among(analyses, rp).items():
        reasons[i].append(
            rejection(
                "duplicate",
                ReasonCode.DUPLICATE,
                f"the same picture as render {analyses[keep].candidate.relpath}",
                score=sim,
                threshold=rp.duplicate_min_similarity,
            )
        )
    return [
        RenderVerdict(
            image_id,
            name,
            tuple(reasons[i]),
            scores.get(i),
            analyses[i].print,
            width=analyses[i].width,
            height=analyses[i].height,
            faces=_found_faces(analyses[i]),
        )
        for i, (image_id, name, _) in enumerate(renders)
    ]


def _found_faces(analysis: ImageAnalysis) -> tuple[Face, ...] | None:
    findings = analysis.faces
    if findings is None or findings.unavailable is not None:
        return None
    return findings.faces


@dataclass(slots=True)
class ReviewSummary:
    """What the review did (with ``dry_run``: what it would do; nothing was changed)."""

    approved: list[str] = field(default_factory=list)
    regenerated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    verdicts: list[RenderVerdict] = field(default_factory=list)
    dataset_approved: bool = False
    note: str | None = None
    dry_run: bool = False
    actions: list[str] = field(default_factory=list)
    """The decision on each of `verdicts`, in step: approve, regenerate, delete, or skip
    (the render was gone when acted on)."""
    warnings: list[str] = field(default_factory=list)
    """What the review noticed that will cost later (e.g. too few face images to train)."""

    def to_json(self) -> dict[str, object]:
        return {
            "approved": len(self.approved),
            "regenerated": len(self.regenerated),
            "deleted": len(self.deleted),
            "dataset_approved": self.dataset_approved,
            "note": self.note,
            "dry_run": self.dry_run,
            "warnings": list(self.warnings),
            "verdicts": [
                {**v.to_json(), "action": action}
                for v, action in zip(self.verdicts, self.actions, strict=False)
            ],
        }


ReviewLog = Callable[[str], None]


def review_dataset(
    client: Client,
    character_id: str,
    references: Sequence[ImageReport],
    policy: Policy,
    *,
    max_regenerations: int = 2,
    max_rounds: int = 6,
    wait_timeout: float = 900.0,
    poll_interval: float = 2.0,
    min_images: int = 1,
    log: ReviewLog | None = None,
    tries: MutableMapping[str, int] | None = None,
    dry_run: bool = False,
    summary: ReviewSummary | None = None,
) -> ReviewSummary:
    """Review every pending render until none is left, then approve the dataset.

    A render that fails is regenerated up to `max_regenerations` times, then deleted; one
    that cannot be downloaded is left for the next round. Rounds are bounded by
    `max_rounds`, and each wait for renders by `wait_timeout`. The dataset is approved
    only when the server says it can be (its own count of approved renders against its
    minimum, and at least `min_images`), so a rerun after an interruption finishes the job.
    `tries` counts regenerations per render; pass a persistent mapping to keep the budget
    across runs. With `dry_run`, the renders there are now are judged once and the
    decisions reported, and nothing on the server changes. `summary` is filled as the
    review goes, so a caller still has it when the review raises.
    """
    say = log or (lambda _msg: None)
    if summary is None:
        summary = ReviewSummary()
    summary.dry_run = dry_run
    tries = {} if tries is None else tries
    judged: set[tuple[str, int | None, str | None]] = set()
    approved: list[RenderVerdict] = []
    for round_no in range(1, max_rounds + 1):
        if not client.dataset.status(character_id).total_images:
            summary.note = "the dataset has no renders (not generated yet, or all deleted)"
            return summary
        client.dataset.wait_until_generated(
            character_id, timeout=wait_timeout, interval=poll_interval
        )
        images = client.dataset.images(character_id).images
        todo = [
            img for img in images if img.image_id and not img.approved and _key(img) not in judged
        ]
        if not todo:
            break
        say(f"round {round_no}: judging {len(todo)} renders")
        downloads = _download(client, todo)
        fetched = [(img, d) for img, d in zip(todo, downloads, strict=True) if d is not None]
        missing = len(todo) - len(fetched)
        if missing:
            say(f"  {missing} renders could not be downloaded: left for the next round")
        verdicts = judge_renders([d for _, d in fetched], references, policy, approved)
        again = missing > 0
        for (img, _), verdict in zip(fetched, verdicts, strict=True):
            judged.add(_key(img))
            summary.verdicts.append(verdict)
            act = _plan if dry_run else _act
            again |= act(client, character_id, img, verdict, tries, max_regenerations, summary, say)
            if verdict.ok:
                approved.append(verdict)
        if not again or dry_run:
            break
    else:
        summary.note = f"stopped after {max_rounds} rounds with renders still under review"
        return summary
    if dry_run:
        summary.note = "dry run: nothing was changed on the server"
        return summary
    return _approve(client, character_id, min_images, summary)


def _decide(verdict: RenderVerdict, tries: MutableMapping[str, int], budget: int) -> str:
    if verdict.ok:
        return "approve"
    return "regenerate" if tries.get(verdict.image_id, 0) < budget else "delete"


def _codes(verdict: RenderVerdict) -> str:
    """The verdict's reason codes, each once, for a log line."""
    return ", ".join(dict.fromkeys(r.code.value for r in verdict.reasons))


def _act(
    client: Client,
    cid: str,
    image: DatasetImage,
    verdict: RenderVerdict,
    tries: MutableMapping[str, int],
    budget: int,
    summary: ReviewSummary,
    say: ReviewLog,
) -> bool:
    """Approve, regenerate or delete one render; whether a new version will come."""
    image_id = verdict.image_id
    codes = _codes(verdict)
    action = _decide(verdict, tries, budget)
    summary.actions.append(action)
    try:
        if action == "approve":
            client.dataset.approve_image(cid, image_id)
            summary.approved.append(image_id)
            return False
        if action == "regenerate":
            tries[image_id] = tries.get(image_id, 0) + 1
            client.dataset.regenerate_image(cid, image_id, last_seen=image)
            summary.regenerated.append(image_id)
            say(f"  regenerate {verdict.filename or image_id}: {codes}")
            return True
        client.dataset.delete_image(cid, image_id)
        summary.deleted.append(image_id)
        say(f"  delete {verdict.filename or image_id}: {codes} (budget spent)")
    except NotFoundError:
        summary.actions[-1] = "skip"
        say(f"  {verdict.filename or image_id} is gone from the dataset: skipped")
    return False


def _plan(
    client: Client,
    cid: str,
    image: DatasetImage,
    verdict: RenderVerdict,
    tries: MutableMapping[str, int],
    budget: int,
    summary: ReviewSummary,
    say: ReviewLog,
) -> bool:
    """What `_act` would do, said and recorded, and nothing done."""
    action = _decide(verdict, tries, budget)
    summary.actions.append(action)
    {"approve": summary.approved, "regenerate": summary.regenerated, "delete": summary.deleted}[
        action
    ].append(verdict.image_id)
    codes = _codes(verdict)
    say(
        f"  would {action} {verdict.filename or verdict.image_id}" + (f": {codes}" if codes else "")
    )
    return False


def _approve(client: Client, cid: str, min_images: int, summary: ReviewSummary) -> ReviewSummary:
    status = client.dataset.status(cid)
    have = status.approved_images if status.approved_images is not None else len(summary.approved)
    need = max(min_images, status.min_required or 0)
    if have < need or status.can_approve is False:
        summary.note = (
            f"{have} renders approved; the dataset needs {need} and the server "
            f"{'does not allow' if status.can_approve is False else 'needs more before'} "
            "approval yet: add reference photos, or review the renders left"
        )
        return summary
    try:
        client.dataset.approve(cid)
    except AnimusError as exc:
        summary.note = f"the server refused to approve the dataset: {exc}"
        return summary
    summary.dataset_approved = True
    return summary


def _key(img: DatasetImage) -> tuple[str, int | None, str | None]:
    # A regenerated render keeps its id but gets a new seed and file.
    return (img.image_id or "", img.seed, img.view_url)


def _download(
    client: Client, images: Sequence[DatasetImage]
) -> list[tuple[str, str, bytes] | None]:
    """Each render's bytes, or None when it could not be downloaded (judged next round)."""

    def one(img: DatasetImage) -> tuple[str, str, bytes] | None:
        if not img.view_url:
            return None
        try:
            data = client.download(img.view_url)
        except AnimusError as exc:
            logger.warning("cannot download %s: %s", img.image_id, exc)
            return None
        return (img.image_id or "", img.filename or img.image_id or "", data)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, images))


__all__ = ["RenderVerdict", "ReviewSummary", "judge_renders", "review_dataset"]
