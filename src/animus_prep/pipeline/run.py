"""The whole job for one character: check, create, upload, render, review, train.

Resumable: every step first asks the server (and the journal) what is already done, so a
rerun after a crash or an interruption continues where the last run stopped and never
uploads, renders or pays for anything twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

from ..client import APIStatusError, Client, Status, TrainingProgress, normalize_status
from ..inspection.report import ImageReport, Report
from ..inspection.run import preflight
from ..policy import Policy
from .character import CharacterError, ensure_character
from .journal import JOURNAL_NAME, JournalBusyError, WorkJournal
from .review import ReviewSummary, review_dataset
from .upload import UploadOutcome, upload_accepted

Log = Callable[[str], None]


class PipelineError(RuntimeError):
    """A step could not go on (nothing accepted, the dataset not approved, ...).

    `summary` holds what the run did up to that point (set by `run_pipeline`)."""

    summary: RunSummary | None = None


@dataclass(slots=True)
class RunSummary:
    """What one run did and where the character stands."""

    character_id: str | None = None
    report: Report | None = None
    uploads: list[UploadOutcome] = field(default_factory=list)
    review: ReviewSummary | None = None
    augmented_faces: int = 0
    """Faces synthesized by the server because too few face photos were accepted."""
    trainings: dict[str, str] = field(default_factory=dict)
    """LoRA kind (`face`, `body`) -> final status."""
    generation_ready: bool = False
    credits_spent: float = 0.0
    """Credits this run's paid requests were charged, as the server reported them."""

    def to_json(self) -> dict[str, object]:
        return {
            "schema": "animus-prep.run/1",
            "character_id": self.character_id,
            "preflight": self.report.summary() if self.report else None,
            "uploads": [u.to_json() for u in self.uploads],
            "augmented_faces": self.augmented_faces,
            "review": self.review.to_json() if self.review else None,
            "trainings": self.trainings,
            "generation_ready": self.generation_ready,
            "credits_spent": self.credits_spent,
        }


def run_pipeline(
    path: str | Path,
    name: str,
    client: Client,
    *,
    policy: Policy | None = None,
    executor: Executor | None = None,
    journal_path: str | Path | None = None,
    train: bool = True,
    min_face_images: int = 5,
    training_timeout: float = 4 * 3600.0,
    poll_interval: float = 15.0,
    log: Log | None = None,
    retry_augmentation: bool = False,
    reference: str | Path | None = None,
) -> RunSummary:
    """Run (or resume) the pipeline for the character folder at `path`.

    ``retry_augmentation`` requests face augmentation again when an earlier run's request
    got no answer (it may have been charged, so that is never done by itself).
    ``reference`` is a folder of photos known to show the character, for the identity
    check (an unusable one raises `UnusableReferenceError` before anything is sent).
    """
    say = log or (lambda _msg: None)
    policy = policy or Policy()
    root = Path(path)
    summary = RunSummary()
    try:
        report = preflight(root, policy=policy, executor=executor, reference=reference)
        summary.report = report
        faces = [i for i in report.accepted if i.kind == "face"]
        bodies = [i for i in report.accepted if i.kind == "body"]
        say(f"pre-flight: {len(report.accepted)} of {len(report.images)} photos accepted")
        if not faces:
            raise PipelineError("no face photo was accepted; fix the rejected ones and run again")
        try:
            journal = WorkJournal(journal_path or root / JOURNAL_NAME, lock=True)
        except JournalBusyError as exc:
            raise PipelineError(str(exc)) from exc
        with journal:  # held to the end: the lock keeps a second command off this folder
            try:
                cid = ensure_character(client, journal, str(root.resolve()), name, say)
            except CharacterError as exc:
                raise PipelineError(str(exc)) from exc
            summary.character_id = cid
            summary.uploads = upload_accepted(report, client, cid, journal)
            failed = [u for u in summary.uploads if u.status == "failed"]
            new = sum(u.status == "uploaded" for u in summary.uploads)
            say(f"uploads: {new} new, {len(summary.uploads) - new - len(failed)} already there")
            if failed:
                raise PipelineError(
                    f"{len(failed)} uploads failed (first: {failed[0].path}: {failed[0].error}); "
                    "run again to retry them"
                )
            _augment_faces(
                client,
                cid,
                journal,
                min_face_images,
                summary,
                poll_interval,
                say,
                retry_augmentation,
            )
            _approve_dataset(
                client, journal, cid, faces + bodies, policy, summary, poll_interval, say
            )
            if train:
                _train(client, cid, summary, training_timeout, poll_interval, say)
                ready = client.generation.capabilities(cid).generation_ready
                summary.generation_ready = bool(ready)
    except PipelineError as exc:
        exc.summary = summary  # what was done before the stop, for reports
        raise
    return summary


class _JournaledTries(MutableMapping[str, int]):
    """Regenerations per render, kept in the journal so the budget holds across runs."""

    def __init__(self, journal: WorkJournal, cid: str) -> None:
        self._journal, self._cid = journal, cid
        self._counts = journal.regenerations(cid)

    def __getitem__(self, key: str) -> int:
        return self._counts[key]

    def __setitem__(self, key: str, value: int) -> None:
        self._journal.record_regeneration(self._cid, key, value)
        self._counts[key] = value

    def __delitem__(self, key: str) -> None:
        del self._counts[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._counts)

    def __len__(self) -> int:
        return len(self._counts)


def _approve_dataset(
    client: Client,
    journal: WorkJournal,
    cid: str,
    references: list[ImageReport],
    policy: Policy,
    summary: RunSummary,
    poll_interval: float,
    say: Log,
) -> None:
    """Render the dataset (once), review every render and approve it, unless approved."""
    status = client.dataset.status(cid)
    if (status.dataset_status or "").lower() == "approved":
        return
    if not status.total_images:
        started = client.dataset.generate(cid, use_default_prompts=True)
        say(f"dataset: rendering {started.total_images or '?'} images")
    summary.review = review_dataset(
        client,
        cid,
        references,
        policy,
        poll_interval=min(poll_interval, 2.0),
        log=say,
        tries=_JournaledTries(journal, cid),
    )
    r = summary.review
    say(
        f"review: {len(r.approved)} approved, {len(r.regenerated)} regenerated, "
        f"{len(r.deleted)} deleted"
    )
    if not r.dataset_approved:
        raise PipelineError(r.note or "the dataset was not approved")
    say("dataset approved")


AUGMENT_PROMPTS = (
    "studio headshot, soft daylight, neutral background",
    "three-quarter view portrait, window light",
    "outdoor portrait, overcast light, shallow depth of field",
    "profile view, rim light, dark background",
    "close-up portrait, smiling, warm evening light",
)


AUGMENTATION = "face_augmentation"


def _augment_faces(
    client: Client,
    cid: str,
    journal: WorkJournal,
    wanted: int,
    summary: RunSummary,
    interval: float,
    say: Log,
    retry: bool,
) -> None:
    """Have the server synthesize faces when fewer than `wanted` face images exist.

    Paid up front, so at most once per character: the request is journaled before it is
    sent, and a rerun waits on the recorded job instead of paying again.
    """
    character = client.characters.get(cid)
    have = character.face_images_count or 0
    if not character.body_images_count:
        # The dataset needs a body photo too: stop before anything is paid for.
        raise PipelineError(
            "the character has no body photo, and the dataset needs one: add photos under "
            "body/<view>/ (e.g. body/front/) and run again"
        )
    recorded = journal.job(cid, AUGMENTATION)
    if recorded is not None and recorded.state == "requested" and retry:
        journal.forget_job(cid, AUGMENTATION)
        recorded = None
    if recorded is not None:
        if recorded.state == "done":
            return
        if recorded.job_id:
            say(f"face augmentation: waiting for job {recorded.job_id} from an earlier run")
            _wait_augmentation(client, cid, journal, recorded.job_id, interval)
            return
        if have >= wanted:
            journal.record_job(cid, AUGMENTATION, None, "done")
            return
        raise PipelineError(
            "an earlier run asked for face augmentation but got no answer, so it may have "
            f"been charged; the character has {have} face images. Check its face images and "
            "credits on the server, then run with --retry-augmentation to ask again"
        )
    missing = wanted - have
    if missing <= 0:
        return
    faces = client.assets.list(cid, asset_type="face_image").assets
    source = next((a.view_url for a in faces if a.view_url), None)
    if source is None:
        raise PipelineError("no uploaded face photo to synthesize more faces from")
    prompts = [AUGMENT_PROMPTS[i % len(AUGMENT_PROMPTS)] for i in range(missing)]
    journal.record_job(cid, AUGMENTATION, None, "requested")
    try:
        job = client.face_augmentation.create(cid, source, prompts=prompts)
    except APIStatusError as exc:
        if exc.status_code < 500:  # a definite refusal (402, 400, 409...): nothing was paid
            journal.forget_job(cid, AUGMENTATION)
        raise
    journal.record_job(cid, AUGMENTATION, job.job_id, "running" if job.job_id else "done")
    summary.credits_spent += job.credits_deducted or 0.0
    say(
        f"face augmentation: {have} face images, {wanted} needed; synthesizing "
        f"{job.total_images or missing} ({job.credits_deducted} credits)"
    )
    if job.job_id:
        _wait_augmentation(client, cid, journal, job.job_id, interval)
    summary.augmented_faces = job.total_images or missing


def _wait_augmentation(
    client: Client, cid: str, journal: WorkJournal, job_id: str, interval: float
) -> None:
    client.face_augmentation.wait(job_id, timeout=1800.0, interval=min(interval, 2.0))
    journal.record_job(cid, AUGMENTATION, job_id, "done")


def _progress_line(kind: str, say: Log) -> Callable[[TrainingProgress], None]:
    """A training progress callback that logs each distinct status line once."""
    last = ""

    def progress(p: TrainingProgress) -> None:
        nonlocal last
        pct = p.progress or 0
        line = f"{kind} LoRA: {p.state.value} {pct:.0f}%"
        if p.phase:
            line += f" ({p.phase})"
        if p.eta_minutes is not None and p.eta_minutes > 0:
            eta = "under a minute" if p.eta_minutes < 1 else f"about {p.eta_minutes:.0f} min"
            line += f", {eta} left"
        if line != last:
            last = line
            say(line)

    return progress


def _train(
    client: Client,
    cid: str,
    summary: RunSummary,
    timeout: float,
    interval: float,
    say: Log,
) -> None:
    training = client.training.status(cid)
    current = {"face": training.face_training, "body": training.character_training}
    for kind in ("face", "body"):
        job = current[kind]
        state = normalize_status(job.status) if job is not None else Status.UNKNOWN
        if state is Status.SUCCEEDED and job is not None:
            summary.trainings[kind] = (job.status or "").lower()
            continue
        if job is None or state is not Status.ACTIVE:
            start = (
                client.training.start_face_lora(cid)
                if kind == "face"
                else client.training.start_body_lora(cid)
            )
            job_id = start.job_id or ""
            summary.credits_spent += start.credits_deducted or 0.0
            say(f"{kind} LoRA: started ({start.credits_deducted} credits)")
        else:
            job_id = job.job_id or ""
        final = client.training.wait(
            cid, job_id, timeout=timeout, interval=interval, on_progress=_progress_line(kind, say)
        )
        status = final.job.status if final.job is not None else None
        summary.trainings[kind] = (status or "unknown").lower()
        if final.state is not Status.SUCCEEDED:
            raise PipelineError(f"{kind} LoRA training ended {status}")
