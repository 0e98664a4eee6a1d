"""Upload the photos a pre-flight accepted, each exactly once, with bounded concurrency.

One asset listing up front tells what the server already holds (uploads are named by
content, so a file uploaded by an earlier run, or whose response was lost, is found);
the journal skips what an earlier run recorded; the client reconciles again before any
retry. A file changed since the check is not uploaded: its verdict no longer applies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..client import AnimusError, Client, content_filename, find_asset
from ..inspection.report import ImageReport, Report
from ..inspection.run import ProgressCallback, preflight
from ..policy import Policy, policy_or_default
from .character import CharacterError, folder_character
from .fitting import fitted_copy, needs_fitting
from .journal import JOURNAL_NAME, JournalError, WorkJournal, ensure_writable


@dataclass(frozen=True, slots=True)
class UploadOutcome:
    """What happened to one accepted photo."""

    path: str
    image_type: str
    status: str
    """`uploaded`, `already` (on the server or in the journal), or `failed`."""
    asset_id: str | None = None
    error: str | None = None
    fixed: str | None = None
    """How the copy sent in its place was made to fit the server (`--fix`), if one was."""

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "image_type": self.image_type,
            "status": self.status,
            "asset_id": self.asset_id,
            "error": self.error,
            "fixed": self.fixed,
        }


UploadProgress = Callable[[int, int, str], None]


class UploadError(RuntimeError):
    """The uploads could not start: nothing passed the pre-flight, the folder is busy, or
    its character cannot be found."""

    def __init__(self, message: str, *, report: Report | None = None) -> None:
        super().__init__(message)
        self.report = report
        """The pre-flight's report, when it ran (every file's verdict)."""


def rejected_json(report: Report) -> list[dict[str, object]]:
    """The files the pre-flight rejected, as `upload --json` lists them."""
    return [
        {"path": i.path, "image_type": i.image_type, "reason_codes": [c.value for c in i.codes]}
        for i in report.rejected
    ]


@dataclass(slots=True)
class UploadSummary:
    """The pre-flight of a folder and what became of each accepted photo."""

    character_id: str
    report: Report
    uploads: list[UploadOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[UploadOutcome]:
        return [u for u in self.uploads if u.status == "failed"]

    def to_json(self) -> dict[str, object]:
        return {
            "schema": "animus-prep.upload/1",
            "character_id": self.character_id,
            "preflight": self.report.summary(),
            "uploads": [u.to_json() for u in self.uploads],
            "rejected": rejected_json(self.report),
        }


def upload_folder(
    path: str | Path,
    client: Client,
    *,
    character_id: str | None = None,
    name: str | None = None,
    policy: Policy | None = None,
    executor: Executor | None = None,
    concurrency: int = 4,
    check_progress: ProgressCallback | None = None,
    progress: UploadProgress | None = None,
    log: Callable[[str], None] | None = None,
    reference: str | Path | None = None,
    new_character: bool = False,
) -> UploadSummary:
    """Pre-flight the character folder at `path` and upload what passes, exactly once.

    Uploads go to `character_id`, or to the character made for this folder and `name`
    (created only if none exists). The folder's journal is locked meanwhile.
    ``new_character`` makes a copy of another character folder prepare a character of
    its own (by default a copy, like a moved folder, resumes the character its journal
    names). ``reference`` is a folder of photos known to show the character, for the identity
    check (an unusable one raises `UnusableReferenceError` before anything is sent).
    Raises `UploadError` when no photo was accepted (before anything is sent), when the
    folder is busy, or when the character cannot be settled.
    """
    if (character_id is None) == (name is None):
        raise ValueError("give a character_id or a name, not both")
    over = policy_or_default(policy).caps_over_the_server()
    if over is not None:
        raise UploadError(f"{over}: lower it in the policy (nothing was sent)")
    root = Path(path)
    try:
        ensure_writable(root / JOURNAL_NAME, keep=False)
    except JournalError as exc:
        raise UploadError(str(exc)) from exc
    report = preflight(
        root, policy=policy, executor=executor, progress=check_progress, reference=reference
    )
    if not report.accepted:
        # Nothing to send: a character made now would stand empty on the server.
        reasons = ", ".join(f"{code} {n}" for code, n in report.rejected_by_reason().items())
        raise UploadError(
            f"no photo was accepted of {len(report.images)} judged"
            f"{f' ({reasons})' if reasons else ''}: nothing was sent; see `animus-prep "
            "check` for each file's reasons",
            report=report,
        )
    say = log or (lambda _msg: None)
    for warning in report.warnings:
        say(f"pre-flight warning: {warning}")
    try:
        with WorkJournal(root / JOURNAL_NAME, lock=True) as journal:
            cid = character_id
            if cid is None:
                assert name is not None
                photos = {i.sha256 for i in report.accepted if i.sha256}
                cid = folder_character(
                    client, journal, root, name, say, new_character=new_character, photos=photos
                )
            outcomes = upload_accepted(
                report, client, cid, journal, concurrency=concurrency, progress=progress
            )
    except (JournalError, CharacterError) as exc:
        raise UploadError(str(exc)) from exc
    return UploadSummary(cid, report, outcomes)


def upload_accepted(
    report: Report,
    client: Client,
    character_id: str,
    journal: WorkJournal,
    *,
    concurrency: int = 4,
    progress: UploadProgress | None = None,
) -> list[UploadOutcome]:
    """Upload every accepted image of `report` to `character_id`; never the same twice."""
    todo = [img for img in report.accepted if img.kind in ("face", "body") and img.sha256]
    existing = client.assets.list(character_id).assets
    root = Path(report.root)

    def one(img: ImageReport) -> UploadOutcome:
        image_type = img.image_type or "face_image"
        assert img.sha256 is not None
        known = journal.uploaded(character_id, img.sha256, image_type)
        if known is not None:
            return UploadOutcome(img.path, image_type, "already", known or None)
        path = root / img.path if root.is_dir() else root
        try:
            data = path.read_bytes()
        except OSError as exc:
            return UploadOutcome(img.path, image_type, "failed", error=f"cannot read: {exc}")
        if hashlib.sha256(data).hexdigest() != img.sha256:
            return UploadOutcome(
                img.path, image_type, "failed", error="changed since the check; check it again"
            )
        filename, fixed = path.name, None
        if report.policy.fix and needs_fitting(
            img.width or 0, img.height or 0, len(data), report.policy
        ):
            try:
                copy = fitted_copy(path, report.policy, img.sha256)
            except (OSError, ValueError) as exc:
                return UploadOutcome(img.path, image_type, "failed", error=f"cannot fit: {exc}")
            data, filename, fixed = copy.data, copy.filename, copy.note
        name = content_filename(filename, data)
        kind = "face_image" if img.kind == "face" else "body_image"
        asset = find_asset(existing, name, kind, None if img.kind == "face" else image_type)
        if asset is not None:
            journal.record_upload(character_id, img.sha256, image_type, img.path, asset.asset_id)
            return UploadOutcome(img.path, image_type, "already", asset.asset_id, fixed=fixed)
        try:
            if img.kind == "face":
                result = client.assets.upload_face(character_id, data, filename=filename)
            else:
                result = client.assets.upload_body(
                    character_id, data, filename=filename, image_type=image_type
                )
        except AnimusError as exc:
            return UploadOutcome(img.path, image_type, "failed", error=str(exc), fixed=fixed)
        journal.record_upload(character_id, img.sha256, image_type, img.path, result.asset_id)
        status = "already" if result.reconciled else "uploaded"
        return UploadOutcome(img.path, image_type, status, result.asset_id, fixed=fixed)

    outcomes: list[UploadOutcome] = []
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for i, outcome in enumerate(pool.map(one, todo), 1):
            outcomes.append(outcome)
            if progress is not None:
                progress(i, len(todo), outcome.path)
    return outcomes
