"""The whole job for one character: check, create, upload, render, review, train.

Resumable: every step first asks the server (and the journal) what is already done, so a
rerun after a crash or an interruption continues where the last run stopped and never
uploads, renders or pays for anything twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

from ..client import AnimusError, APIError, Client, Status, is_transient
from ..inspection.report import ImageReport, Report
from ..inspection.run import preflight
from ..policy import Policy
from .character import CharacterError, folder_character
from .dataset import review_character
from .journal import JOURNAL_NAME, JournaledTries, JournalError, WorkJournal, ensure_writable
from .review import ReviewSummary
from .training import (
    MIN_FACE_IMAGES,
    TrainingError,
    TrainingOutcome,
    TrainingWatcher,
    phase_lines,
    start_trainings,
    watch_trainings,
)
from .upload import UploadOutcome, upload_accepted

Log = Callable[[str], None]


class PipelineError(RuntimeError):
    """A step could not go on (nothing accepted, the dataset not approved, ...).

    `summary` holds what the run did up to that point (set by `run_pipeline`)."""

    summary: RunSummary | None = None


STEPS = (
    "pre-flight",
    "character",
    "uploads",
    "face augmentation",
    "dataset",
    "face LoRA",
    "body LoRA",
)
"""The steps of a run, in order; `RunSummary.steps` holds those done. `dataset` is done
once the dataset is rendered, reviewed and approved."""


@dataclass(slots=True)
class RunSummary:
    """What one run did and where the character stands.

    Pass one to `run_pipeline` to see how far a run got when it raises.
    """

    character_id: str | None = None
    report: Report | None = None
    uploads: list[UploadOutcome] = field(default_factory=list)
    review: ReviewSummary | None = None
    augmented_faces: int = 0
    """Faces synthesized by the server because too few face photos were accepted."""
    trainings: dict[str, str] = field(default_factory=dict)
    """LoRA kind (`face`, `body`) -> final status."""
    generation_ready: bool = False
    steps: dict[str, str] = field(default_factory=dict)
    """Each step of `STEPS` done so far (by this run or an earlier one) -> what it did."""
    training_jobs: dict[str, TrainingOutcome] = field(default_factory=dict)
    train: bool = True
    """Whether the run goes on to train (False: it ends once the dataset is approved)."""
    credits_spent: float = 0.0
    """Credits this run's paid requests were charged, as the server reported them."""

    credits_unreported: list[str] = field(default_factory=list)
    """The paid steps this run asked for whose charge the server never reported (their
    answer was lost, and the step was found done or under way): not in `credits_spent`."""

    started: dict[str, str] = field(default_factory=dict)
    """Each step of `STEPS` asked for (and paid, where it costs) but not finished when the
    run stopped -> what is under way. A rerun waits for it; it never asks again."""

    def done(self, step: str, detail: str) -> None:
        self.steps[step] = detail
        self.started.pop(step, None)

    def start(self, step: str, detail: str) -> None:
        """Record a step under way (asked for, not finished)."""
        if step not in self.steps:
            self.started[step] = detail

    @property
    def not_done(self) -> list[str]:
        """The steps left, in order: neither done nor under way."""
        wanted = STEPS if self.train else STEPS[: STEPS.index("dataset") + 1]
        return [s for s in wanted if s not in self.steps and s not in self.started]

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
            "steps": dict(self.steps),
            "started": dict(self.started),
            "not_done": self.not_done,
            "training_jobs": {k: o.to_json() for k, o in self.training_jobs.items()},
            "credits_spent": self.credits_spent,
            "credits_unreported": list(self.credits_unreported),
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
    min_face_images: int = MIN_FACE_IMAGES,
    training_timeout: float = 4 * 3600.0,
    poll_interval: float = 15.0,
    log: Log | None = None,
    retry_augmentation: bool = False,
    summary: RunSummary | None = None,
    on_training: TrainingWatcher | None = None,
    reference: str | Path | None = None,
    new_character: bool = False,
) -> RunSummary:
    """Run (or resume) the pipeline for the character folder at `path`.

    ``retry_augmentation`` requests face augmentation again when an earlier run's request
    got no answer (it may have been charged, so that is never done by itself).
    ``summary`` is filled as the run goes, so a caller still has it when the run raises.
    ``on_training`` watches the trainings (default: one log line per phase change).
    ``reference`` is a folder of photos known to show the character, for the identity
    check (an unusable one raises `UnusableReferenceError` before anything is sent).
    ``new_character`` makes a copy of another character folder prepare a character of
    its own (by default a copy, like a moved folder, resumes the character its journal
    names). A `PipelineError` carries the summary of what was done before the stop.
    """
    summary = summary if summary is not None else RunSummary()
    try:
        return _run(
            path,
            name,
            client,
            summary,
            policy=policy or Policy(),
            executor=executor,
            journal_path=journal_path,
            train=train,
            min_face_images=min_face_images,
            training_timeout=training_timeout,
            poll_interval=poll_interval,
            say=log or (lambda _msg: None),
            retry_augmentation=retry_augmentation,
            on_training=on_training,
            reference=reference,
            new_character=new_character,
        )
    except PipelineError as exc:
        exc.summary = summary  # what was done before the stop, for reports
        raise


def _run(
    path: str | Path,
    name: str,
    client: Client,
    summary: RunSummary,
    *,
    policy: Policy,
    executor: Executor | None,
    journal_path: str | Path | None,
    train: bool,
    min_face_images: int,
    training_timeout: float,
    poll_interval: float,
    say: Log,
    retry_augmentation: bool,
    on_training: TrainingWatcher | None,
    reference: str | Path | None,
    new_character: bool,
) -> RunSummary:
    root = Path(path)
    summary.train = train
    over = policy.caps_over_the_server()
    if over is not None:
        raise PipelineError(f"{over}: lower it in the policy (nothing was sent)")
    try:
        ensure_writable(journal_path or root / JOURNAL_NAME, keep=False)
    except JournalError as exc:
        raise PipelineError(str(exc)) from exc
    report = preflight(root, policy=policy, executor=executor, reference=reference)
    summary.report = report
    faces = [i for i in report.accepted if i.kind == "face"]
    bodies = [i for i in report.accepted if i.kind == "body"]
    say(f"pre-flight: {len(report.accepted)} of {len(report.images)} photos accepted")
    for warning in report.warnings:
        say(f"pre-flight warning: {warning}")
    if not faces:
        raise PipelineError("no face photo was accepted; fix the rejected ones and run again")
    summary.done("pre-flight", f"{len(report.accepted)} of {len(report.images)} photos accepted")
    try:
        journal = WorkJournal(journal_path or root / JOURNAL_NAME, lock=True)
    except JournalError as exc:
        raise PipelineError(str(exc)) from exc
    with journal:  # held to the end: the lock keeps a second command off this folder
        try:
            photos = {i.sha256 for i in report.accepted if i.sha256}
            cid = folder_character(
                client, journal, root, name, say, new_character=new_character, photos=photos
            )
        except CharacterError as exc:
            raise PipelineError(str(exc)) from exc
        summary.character_id = cid
        summary.done("character", f"{name} ({cid})")
        summary.uploads = upload_accepted(report, client, cid, journal)
        failed = [u for u in summary.uploads if u.status == "failed"]
        new = sum(u.status == "uploaded" for u in summary.uploads)
        there = len(summary.uploads) - new - len(failed)
        say(f"uploads: {new} new, {there} already there")
        if failed:
            raise PipelineError(
                f"{len(failed)} of {len(summary.uploads)} uploads failed (first: "
                f"{failed[0].path}: {failed[0].error}); run again to retry them"
            )
        summary.done("uploads", f"{new} new, {there} already there")
        _augment_faces(
            client, cid, journal, min_face_images, summary, poll_interval, say, retry_augmentation
        )
        _approve_dataset(client, journal, cid, faces + bodies, policy, summary, poll_interval, say)
        if train:
            watch = on_training or phase_lines(say)
            _train(client, cid, summary, training_timeout, poll_interval, watch, say)
            summary.generation_ready = bool(client.generation.capabilities(cid).generation_ready)
    return summary


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
    r = review_character(
        client,
        cid,
        references,
        policy,
        poll_interval=min(poll_interval, 2.0),
        log=say,
        tries=JournaledTries(journal, cid),
    )
    if not r.verdicts and r.dataset_approved:
        summary.done("dataset", r.note or "approved earlier")
        return
    summary.review = r
    say(
        f"review: {len(r.approved)} approved, {len(r.regenerated)} regenerated, "
        f"{len(r.deleted)} deleted"
    )
    if not r.dataset_approved:
        raise PipelineError(r.note or "the dataset was not approved")
    say("dataset approved")
    summary.done("dataset", f"reviewed: {len(r.approved)} renders approved; dataset approved")


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
    done = "face augmentation"
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
            summary.done(done, f"done earlier ({have} face images)")
            return
        if recorded.job_id:
            say(f"face augmentation: waiting for job {recorded.job_id} from an earlier run")
            _wait_augmentation(client, cid, journal, recorded.job_id, interval)
            summary.done(done, f"job {recorded.job_id} from an earlier run")
            return
        if have >= wanted:
            journal.record_job(cid, AUGMENTATION, None, "done")
            summary.done(done, f"done earlier ({have} face images)")
            return
        raise AugmentationInDoubt(have)
    missing = wanted - have
    if missing <= 0:
        summary.done(done, f"not needed ({have} face images)")
        return
    faces = client.assets.list(cid, asset_type="face_image").assets
    source = next((a.view_url for a in faces if a.view_url), None)
    if source is None:
        raise PipelineError("no uploaded face photo to synthesize more faces from")
    prompts = [AUGMENT_PROMPTS[i % len(AUGMENT_PROMPTS)] for i in range(missing)]
    journal.record_job(cid, AUGMENTATION, None, "requested")
    try:
        job = client.face_augmentation.create(cid, source, prompts=prompts)
    except APIError as exc:
        if not exc.may_have_run:  # a definite refusal (402, 400, 409, 503...): nothing paid
            journal.forget_job(cid, AUGMENTATION)
            raise
        # The API cannot list augmentation jobs: the only sign that a request whose answer
        # was lost went through is the synthesized faces arriving.
        say("face augmentation: the answer was lost; watching for the synthesized faces")
        if not _faces_arrive(client, cid, have, wanted, interval):
            raise AugmentationInDoubt(have) from exc
        journal.record_job(cid, AUGMENTATION, None, "done")
        summary.credits_unreported.append("face augmentation")
        summary.augmented_faces = missing
        summary.done(done, f"{missing} faces synthesized (the answer was lost; faces arrived)")
        return
    journal.record_job(cid, AUGMENTATION, job.job_id, "running" if job.job_id else "done")
    summary.credits_spent += job.credits_deducted or 0.0
    summary.start(done, f"job {job.job_id} asked for and paid; a rerun waits for it")
    say(
        f"face augmentation: {have} face images, {wanted} needed; synthesizing "
        f"{job.total_images or missing} ({job.credits_deducted} credits)"
    )
    if job.job_id:
        _wait_augmentation(client, cid, journal, job.job_id, interval)
    summary.augmented_faces = job.total_images or missing
    summary.done(done, f"{summary.augmented_faces} faces synthesized")


class AugmentationInDoubt(PipelineError):
    """Face augmentation was asked for, may have been charged, and nothing shows it was."""

    def __init__(self, have: int) -> None:
        super().__init__(
            "face augmentation was requested but its answer never came, so it may have been "
            f"charged, and no synthesized face has arrived (the character has {have} face "
            "images). Check the character's face images and credits on the server; to ask "
            "again, run with --retry-augmentation"
        )


WATCH_POLLS = 20
"""Polls for the first synthesized face after an augmentation answer was lost."""


def _faces_arrive(client: Client, cid: str, have: int, wanted: int, interval: float) -> bool:
    """Whether faces beyond ``have`` arrive within `WATCH_POLLS` polls; once they do, wait
    (bounded) for all ``wanted``."""
    deadline = time.monotonic() + 1800.0
    polls = 0
    grew = False
    while time.monotonic() < deadline:
        try:
            count = client.characters.get(cid).face_images_count or 0
        except AnimusError as exc:
            if not is_transient(exc):
                raise
            count = have
        grew = grew or count > have
        if count >= wanted or (not grew and polls >= WATCH_POLLS):
            break
        polls += 1
        time.sleep(interval)
    return grew


def _wait_augmentation(
    client: Client, cid: str, journal: WorkJournal, job_id: str, interval: float
) -> None:
    client.face_augmentation.wait(job_id, timeout=1800.0, interval=min(interval, 2.0))
    journal.record_job(cid, AUGMENTATION, job_id, "done")


def _train(
    client: Client,
    cid: str,
    summary: RunSummary,
    timeout: float,
    interval: float,
    watch: TrainingWatcher,
    say: Log,
) -> None:
    """Start the face and body trainings unless done or running, then watch both."""
    outcomes = summary.training_jobs  # filled as each starts: a later refusal keeps them
    try:
        start_trainings(client, cid, say=say, into=outcomes)
        watch_trainings(
            client, cid, outcomes, timeout=timeout, interval=interval, on_progress=watch
        )
    except TrainingError as exc:
        raise PipelineError(str(exc)) from exc
    finally:
        summary.credits_spent += sum(o.credits or 0.0 for o in outcomes.values() if o.started)
        summary.credits_unreported.extend(
            f"{kind} LoRA" for kind, o in outcomes.items() if o.started and o.credits is None
        )
        for kind, o in outcomes.items():
            summary.trainings[kind] = o.status
            if o.state is Status.SUCCEEDED:
                summary.done(f"{kind} LoRA", f"trained (job {o.job_id})")
            elif not o.state.is_terminal:
                summary.start(f"{kind} LoRA", f"job {o.job_id} {o.status}; a rerun watches it")
