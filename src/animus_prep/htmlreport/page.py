"""What a report shows, before any HTML: the header facts, a contact sheet per kind of
image, the duplicate groups and the renders, built from a pre-flight `Report`, an
`UploadSummary`, a `RunSummary` or a `ReviewSummary`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from ..faces.types import Face
from ..inspection.report import ImageReport, Report
from ..pipeline.review import RenderVerdict, ReviewSummary
from ..pipeline.run import RunSummary
from ..pipeline.upload import UploadOutcome, UploadSummary
from ..policy import Policy
from ..reasons import Reason, ReasonCode
from .thumbs import thumbnail_of

Subject = Report | UploadSummary | RunSummary | ReviewSummary
"""What a report can be made of."""


@dataclass(frozen=True, slots=True)
class Card:
    """One picture on a contact sheet."""

    key: str
    """Unique in the page: the anchor other cards link to."""
    name: str
    verdict: str
    """``accepted`` or ``rejected`` for photos; the decision for a render."""
    reasons: tuple[Reason, ...]
    thumbnail: np.ndarray | None = field(repr=False)
    width: int | None = None
    height: int | None = None
    faces: tuple[Face, ...] | None = None
    identity_score: float | None = None
    facts: tuple[str, ...] = ()
    """Short facts under the name: size, format, identity."""
    notes: tuple[str, ...] = ()
    """Sentences about the picture that are not rejections (upload status, file notes)."""
    duplicate_of: tuple[str, str] | None = None
    """The key and name of the copy kept in its place."""
    kept_copy: bool = False
    """The copy kept of a duplicate group."""

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.code.value for r in self.reasons))


@dataclass(frozen=True, slots=True)
class Block:
    """A titled grid of cards in a sheet."""

    title: str
    cards: tuple[Card, ...]
    note: str = ""
    beside_next: bool = False
    """Shown side by side with the block after it (the chosen set and the over-cap)."""


@dataclass(frozen=True, slots=True)
class Sheet:
    """The contact sheet of one kind of picture (face photos, a body view, renders)."""

    key: str
    title: str
    summary: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class DuplicateGroup:
    kept: Card
    copies: tuple[tuple[Card, float | None], ...]
    """Each other copy with its similarity to the kept one."""


@dataclass(frozen=True, slots=True)
class Page:
    title: str
    facts: tuple[tuple[str, str], ...]
    verdicts: Mapping[str, int]
    reasons: Mapping[str, int]
    warnings: tuple[str, ...]
    sheets: tuple[Sheet, ...]
    groups: tuple[DuplicateGroup, ...]
    policy: tuple[tuple[str, str, str], ...]
    """Each setting, its value and where the value came from."""
    stopped: str | None = None
    """Why a run stopped before the end, when it did."""


def build_page(
    subject: Subject,
    *,
    title: str | None = None,
    character_id: str | None = None,
    policy_origins: Mapping[str, str] | None = None,
    stopped: str | None = None,
) -> Page:
    """The page for a pre-flight, an upload, a whole run or a render review."""
    report: Report | None = None
    uploads: Sequence[UploadOutcome] = ()
    review: ReviewSummary | None = None
    facts: list[tuple[str, str]] = []
    if isinstance(subject, Report):
        report, what = subject, "check"
    elif isinstance(subject, UploadSummary):
        report, uploads, what = subject.report, subject.uploads, "upload"
        character_id = character_id or subject.character_id
    elif isinstance(subject, RunSummary):
        report, uploads, review, what = subject.report, subject.uploads, subject.review, "run"
        character_id = character_id or subject.character_id
    elif isinstance(subject, ReviewSummary):
        review, what = subject, "review"
    else:
        raise TypeError(f"cannot make a report of {type(subject).__name__}")
    if report is not None:
        facts.append(("Folder", report.root))
    if character_id:
        facts.append(("Character", character_id))
    if isinstance(subject, RunSummary):
        facts.extend(_run_facts(subject))
    cards: list[Card] = []
    sheets: list[Sheet] = []
    groups: tuple[DuplicateGroup, ...] = ()
    if report is not None:
        facts.extend(_report_facts(report))
        if uploads:
            facts.append(("Uploads", _upload_counts(uploads)))
        photo_cards = _photo_cards(report, {u.path: u for u in uploads})
        cards.extend(photo_cards)
        sheets.extend(_photo_sheets(report, photo_cards))
        groups = _duplicate_groups(photo_cards)
    if review is not None:
        render_cards = _render_cards(review)
        cards.extend(render_cards)
        sheets.append(_render_sheet(render_cards))
        facts.append(("Renders", _review_counts(review)))
    policy = report.policy if report is not None else None
    heading = title or f"animus-prep {what}" + (f": {report.root}" if report else "")
    return Page(
        title=heading,
        facts=tuple(facts),
        verdicts=dict(Counter(c.verdict for c in cards)),
        reasons=dict(sorted(Counter(code for c in cards for code in c.codes).items())),
        warnings=report.warnings if report is not None else (),
        sheets=tuple(sheets),
        groups=groups,
        policy=_policy_rows(policy, policy_origins) if policy is not None else (),
        stopped=stopped,
    )


def _report_facts(report: Report) -> list[tuple[str, str]]:
    s = report.summary()
    out = [("Files", f"{s['total']}: {s['accepted']} accepted, {s['rejected']} rejected")]
    caps = []
    for kind in ("face", "body"):
        entry = s["by_kind"].get(kind)
        if entry:
            caps.append(f"{kind} {entry['accepted']} of {report.policy.cap_for(kind)}")
    if caps:
        out.append(("Caps", ", ".join(caps)))
    return out


def _run_facts(run: RunSummary) -> list[tuple[str, str]]:
    spent = f"{run.credits_spent:g} (by this run)"
    if run.credits_unreported:
        unreported = ", ".join(run.credits_unreported)
        spent += f"; besides the {unreported}, whose charge was not reported"
    out = [("Credits spent", spent)]
    if run.augmented_faces:
        out.append(("Synthesized faces", str(run.augmented_faces)))
    if run.trainings:
        out.append(("Trainings", ", ".join(f"{k} {v}" for k, v in run.trainings.items())))
    if run.trainings or run.generation_ready:
        out.append(("Ready for generation", "yes" if run.generation_ready else "no"))
    return out


def _upload_counts(uploads: Sequence[UploadOutcome]) -> str:
    n = Counter(u.status for u in uploads)
    return f"{n['uploaded']} uploaded, {n['already']} already there, {n['failed']} failed"


def _review_counts(review: ReviewSummary) -> str:
    text = (
        f"{len(review.approved)} approved, {len(review.regenerated)} regenerated, "
        f"{len(review.deleted)} deleted; dataset "
        + ("approved" if review.dataset_approved else "not approved")
    )
    return text + (f" ({review.note})" if review.note else "")


def _photo_cards(report: Report, uploads: Mapping[str, UploadOutcome]) -> list[Card]:
    keys = {img.path: f"photo-{n}" for n, img in enumerate(report.images)}
    kept = {img.duplicate_of for img in report.images if img.duplicate_of}
    threshold = report.policy.identity_threshold
    return [
        Card(
            key=keys[img.path],
            name=img.path,
            verdict="accepted" if img.accepted else "rejected",
            reasons=img.reasons,
            thumbnail=thumbnail_of(img),
            width=img.width,
            height=img.height,
            faces=img.faces,
            identity_score=img.identity_score,
            facts=_photo_facts(img, threshold),
            notes=(*_upload_note(uploads.get(img.path)), *img.notes),
            duplicate_of=(keys[img.duplicate_of], img.duplicate_of)
            if img.duplicate_of in keys
            else None,
            kept_copy=img.path in kept,
        )
        for img in report.images
    ]


def _photo_facts(img: ImageReport, threshold: float) -> tuple[str, ...]:
    facts = []
    if img.width and img.height:
        facts.append(f"{img.width}×{img.height}")
    if img.format:
        facts.append(img.format)
    if img.faces is not None:
        facts.append(f"{len(img.faces)} face" + ("" if len(img.faces) == 1 else "s"))
    if img.identity_score is not None:
        sign = "≥" if img.identity_score >= threshold else "<"
        facts.append(f"identity {img.identity_score:.2f} {sign} {threshold:.3f}")
    return tuple(facts)


def _upload_note(outcome: UploadOutcome | None) -> tuple[str, ...]:
    if outcome is None:
        return ()
    if outcome.status == "uploaded":
        return (f"uploaded (asset {outcome.asset_id})" if outcome.asset_id else "uploaded",)
    if outcome.status == "already":
        return ("already on the server",)
    return (f"upload {outcome.status}: {outcome.error or 'no detail'}",)


def _photo_sheets(report: Report, cards: Sequence[Card]) -> list[Sheet]:
    by_type: dict[str, list[Card]] = {}
    for img, card in zip(report.images, cards, strict=True):
        by_type.setdefault(_sheet_key(img), []).append(card)
    sheets = []
    for key in sorted(by_type, key=_sheet_order):
        members = sorted(by_type[key], key=lambda c: c.name)
        kind = key.split(":")[0]
        sheets.append(_photo_sheet(key, members, report.policy.cap_for(kind), kind))
    return sheets


def _sheet_key(img: ImageReport) -> str:
    if img.kind == "body":
        view = (img.image_type or "body_image_front").removeprefix("body_image_")
        return f"body:{view}"
    return img.kind or "unsorted"


def _sheet_order(key: str) -> tuple[int, str]:
    return ({"face": 0, "unsorted": 2}.get(key, 1), key)


def _photo_sheet(key: str, cards: list[Card], cap: int, kind: str) -> Sheet:
    if key == "face":
        title = "Face photos"
    elif key == "unsorted":
        title = "Outside face/ and body/<view>/"
    else:
        title = f"Body photos: {key.split(':', 1)[1]}"
    accepted = [c for c in cards if c.verdict == "accepted"]
    over = [c for c in cards if c.codes == (ReasonCode.OVER_CAP.value,)]
    rejected = [c for c in cards if c.verdict != "accepted" and c not in over]
    blocks = []
    if over:
        blocks.append(
            Block(
                f"Chosen set ({len(accepted)})",
                tuple(accepted),
                f"the best, most varied {len(accepted)} within the server's cap of {cap}",
                beside_next=True,
            )
        )
        blocks.append(
            Block(
                f"Over the cap ({len(over)})",
                tuple(over),
                "passed every check, but better or more varied photos were chosen",
            )
        )
    elif accepted:
        blocks.append(Block(f"Accepted ({len(accepted)})", tuple(accepted)))
    if rejected:
        blocks.append(Block(f"Rejected ({len(rejected)})", tuple(rejected)))
    summary = f"{len(accepted)} of {len(cards)} accepted"
    if kind in ("face", "body"):
        summary += f" · cap {cap}"
    return Sheet(f"sheet-{key.replace(':', '-')}", title, summary, tuple(blocks))


def _duplicate_groups(cards: Sequence[Card]) -> tuple[DuplicateGroup, ...]:
    by_key = {c.key: c for c in cards}
    copies: dict[str, list[tuple[Card, float | None]]] = {}
    for c in cards:
        if c.duplicate_of is not None:
            sim = next((r.score for r in c.reasons if r.code is ReasonCode.DUPLICATE), None)
            copies.setdefault(c.duplicate_of[0], []).append((c, sim))
    return tuple(
        DuplicateGroup(by_key[key], tuple(sorted(members, key=lambda m: m[0].name)))
        for key, members in sorted(copies.items(), key=lambda kv: by_key[kv[0]].name)
    )


def render_decisions(review: ReviewSummary) -> list[str]:
    """What became of each of the review's verdicts: ``approved``, ``regenerated`` (a new
    version was asked for), ``deleted`` (the regeneration budget was spent) or
    ``skipped`` (gone from the dataset, or not acted on)."""
    last = {v.image_id: i for i, v in enumerate(review.verdicts)}
    regenerated, deleted = set(review.regenerated), set(review.deleted)
    out = []
    for i, v in enumerate(review.verdicts):
        if v.ok:
            out.append("approved" if v.image_id in review.approved else "skipped")
        elif v.image_id in deleted and last[v.image_id] == i:
            out.append("deleted")
        elif v.image_id in regenerated:
            out.append("regenerated")
        else:
            out.append("skipped")
    return out


def _render_cards(review: ReviewSummary) -> list[Card]:
    seen: Counter[str] = Counter()
    cards = []
    for n, (v, decision) in enumerate(zip(review.verdicts, render_decisions(review), strict=True)):
        seen[v.image_id] += 1
        cards.append(_render_card(n, v, decision, seen[v.image_id]))
    return cards


def _render_card(n: int, v: RenderVerdict, decision: str, version: int) -> Card:
    facts = [f"version {version}"] if version > 1 else []
    if v.width and v.height:
        facts.insert(0, f"{v.width}×{v.height}")
    if v.identity_score is not None:
        facts.append(f"identity {v.identity_score:.2f}")
    return Card(
        key=f"render-{n}",
        name=v.filename or v.image_id,
        verdict=decision,
        reasons=v.reasons,
        thumbnail=v.fingerprint.thumbnail if v.fingerprint is not None else None,
        width=v.width,
        height=v.height,
        faces=v.faces,
        identity_score=v.identity_score,
        facts=tuple(facts),
        notes=(f"image id {v.image_id}",),
    )


def _render_sheet(cards: list[Card]) -> Sheet:
    blocks = []
    for decision, title in (
        ("approved", "Approved"),
        ("regenerated", "Regenerated"),
        ("deleted", "Deleted (regeneration budget spent)"),
        ("skipped", "Not acted on"),
    ):
        members = tuple(c for c in cards if c.verdict == decision)
        if members:
            blocks.append(Block(f"{title} ({len(members)})", members))
    approved = sum(c.verdict == "approved" for c in cards)
    return Sheet(
        "sheet-renders", "Dataset renders", f"{approved} of {len(cards)} approved", tuple(blocks)
    )


def _policy_rows(
    policy: Policy, origins: Mapping[str, str] | None
) -> tuple[tuple[str, str, str], ...]:
    return tuple(
        (f.name, str(getattr(policy, f.name)), (origins or {}).get(f.name, ""))
        for f in fields(Policy)
    )
