"""LoRA trainings: started at most once, then watched to the end.

What to do for each kind comes from the server's own state, so a rerun after a crash or
a stop never pays twice: a training that succeeded is kept, one that is running is
watched, and only a kind with no training, or whose last one failed or was cancelled,
is started (charged). Both kinds are started before either is watched: they are
independent, and trainings take hours.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..client import (
    AnimusError,
    APIStatusError,
    BadRequestError,
    Client,
    ConflictError,
    NotFoundError,
    Status,
    TrainingJob,
    TrainingProgress,
    is_transient,
    normalize_status,
)
from ..client._exceptions import message_text

KINDS = ("face", "body")
"""The two LoRAs a character needs, in the order they are started and watched."""
MIN_FACE_IMAGES = 5
"""Face images (uploaded and synthesized) the server needs before it trains a face LoRA."""

TrainingWatcher = Callable[[str, TrainingProgress], None]
"""Called as (kind, progress) on every poll of a watched training."""


class TrainingError(RuntimeError):
    """A training ended without success (failed or cancelled)."""


@dataclass(slots=True)
class TrainingOutcome:
    """Where one LoRA training stands."""

    kind: str
    job_id: str | None
    status: str
    """The server's raw status, lower-cased (``succeeded``, ``training``, ``failed``...)."""
    started: bool = False
    """Started (and charged) by this call, rather than found."""
    credits: float | None = None
    progress: float | None = None
    """Percent done at the last look, while it trains (None when not known)."""
    error: str | None = None
    """Why the server says it failed (its ``error``), when it did and said so."""

    @property
    def state(self) -> Status:
        return normalize_status(self.status)

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "job_id": self.job_id,
            "status": self.status,
            "started": self.started,
            "credits_deducted": self.credits,
            "progress": self.progress,
            "error": self.error,
        }


ERROR_CHARS = 300
"""Longest server error text repeated in a message."""


def error_text(error: object) -> str | None:
    """A training job's ``error`` as one line: its words (`message_text`: a text, or an
    object's ``message``, ``detail`` or ``error``), at most `ERROR_CHARS`; None when it
    says nothing. (The command line escapes what a terminal would act on.)"""
    text = " ".join(message_text(error).split())
    if len(text) > ERROR_CHARS:
        text = text[: ERROR_CHARS - 3] + "..."
    return text or None


def _latest(client: Client, cid: str) -> dict[str, TrainingJob | None]:
    status = client.training.status(cid)
    return {"face": status.face_training, "body": status.character_training}


def start_trainings(
    client: Client,
    cid: str,
    kinds: Sequence[str] = KINDS,
    say: Callable[[str], None] | None = None,
    *,
    into: dict[str, TrainingOutcome] | None = None,
) -> dict[str, TrainingOutcome]:
    """Start each of ``kinds`` that is neither trained nor training; report the others.

    Each outcome goes into ``into`` (a new dict by default, returned) as soon as it is
    known, so that when a later start fails (the body LoRA refused for want of credits),
    the caller still knows the face LoRA was started and paid for. A start the server
    refuses for that LoRA alone (400 or 409: too few face images, a dataset not approved)
    does not keep the other from starting; the first such refusal is raised once both
    were tried.
    """
    tell = say or (lambda _msg: None)
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown LoRA kinds {sorted(unknown)}: use face and body")
    out: dict[str, TrainingOutcome] = {} if into is None else into
    latest = _latest(client, cid)
    refused: list[APIStatusError] = []
    for kind in (k for k in KINDS if k in kinds):
        job = latest[kind]
        state = normalize_status(job.status) if job is not None else Status.UNKNOWN
        if job is not None and state in (Status.SUCCEEDED, Status.ACTIVE):
            status = (job.status or "").lower()
            out[kind] = TrainingOutcome(kind, job.job_id, status)
            verb = "already trained" if state is Status.SUCCEEDED else "already training"
            tell(f"{kind} LoRA: {verb} (job {job.job_id})")
            continue
        if job is not None and state in (Status.FAILED, Status.CANCELLED):
            said = error_text(job.error)
            why = f": {said}" if said else ""
            tell(f"{kind} LoRA: the last one {(job.status or '').lower()} (job {job.job_id}{why})")
        try:
            start = (
                client.training.start_face_lora(cid)
                if kind == "face"
                else client.training.start_body_lora(cid)
            )
        except (BadRequestError, ConflictError) as exc:
            tell(f"{kind} LoRA: refused ({exc})")
            refused.append(exc)
            continue
        out[kind] = TrainingOutcome(
            kind, start.job_id, "queued", started=True, credits=start.credits_deducted
        )
        paid = f", {start.credits_deducted:g} credits" if start.credits_deducted else ""
        tell(f"{kind} LoRA: started (job {start.job_id}{paid})")
    if refused:
        raise refused[0]
    return out


def watch_trainings(
    client: Client,
    cid: str,
    outcomes: dict[str, TrainingOutcome],
    *,
    timeout: float,
    interval: float,
    on_progress: TrainingWatcher | None = None,
) -> dict[str, TrainingOutcome]:
    """Watch every training that is not finished until it is (each within ``timeout``).

    Raises ``TrainingError`` when one ended without success; the outcomes say how each
    ended either way (they are updated in place).
    """
    for kind, outcome in outcomes.items():
        if outcome.state.is_terminal or not outcome.job_id:
            continue

        def progress(
            p: TrainingProgress, kind: str = kind, outcome: TrainingOutcome = outcome
        ) -> None:
            # What a watch stopped early (a timeout, Ctrl-C) reports: the last status seen.
            if p.job is not None and p.job.status:
                outcome.status = p.job.status.lower()
                outcome.progress = None if p.state.is_terminal else p.progress
            if on_progress is not None:
                on_progress(kind, p)

        final = client.training.wait(
            cid, outcome.job_id, timeout=timeout, interval=interval, on_progress=progress
        )
        outcome.status = ((final.job.status if final.job else None) or "unknown").lower()
        outcome.progress = None
        gone_wrong = outcome.state in (Status.FAILED, Status.CANCELLED)
        outcome.error = error_text(final.job.error) if final.job and gone_wrong else None
    ended = [o for o in outcomes.values() if o.state in (Status.FAILED, Status.CANCELLED)]
    if ended:
        names = ", ".join(
            f"{o.kind} LoRA {o.status} (job {o.job_id}"
            + (f"; the server said: {o.error})" if o.error else ")")
            for o in ended
        )
        raise TrainingError(
            f"{names}: a new request starts it again (and is charged again); if the "
            "server's reason is not a passing one, the same failure may follow"
        )
    return outcomes


def phase_lines(say: Callable[[str], None]) -> TrainingWatcher:
    """A watcher that says one line per phase change of each training (not per percent)."""
    last: dict[str, tuple[Status, str | None]] = {}

    def watch(kind: str, p: TrainingProgress) -> None:
        key = (p.state, p.phase)
        if last.get(kind) == key:
            return
        last[kind] = key
        say(describe(kind, p))

    return watch


def describe(kind: str, p: TrainingProgress) -> str:
    """``face LoRA: training 42% (caching_latents), about 12 min left``."""
    status = (p.job.status if p.job is not None else None) or "not listed yet"
    line = f"{kind} LoRA: {status.lower()}"
    if p.progress is not None and not p.state.is_terminal:
        line += f" {p.progress:.0f}%"
    if p.phase and p.phase.lower() != status.lower() and not p.state.is_terminal:
        line += f" ({p.phase})"
    if p.eta_minutes is not None and p.eta_minutes > 0 and not p.state.is_terminal:
        eta = "under a minute" if p.eta_minutes < 1 else f"about {p.eta_minutes:.0f} min"
        line += f", {eta} left"
    return line


def latest_job(client: Client, cid: str) -> TrainingJob | None:
    """The character's most recent training job, of either kind."""
    jobs = client.training.jobs(cid).training_jobs
    return max(jobs, key=lambda j: j.created_at or "", default=None)


def new_lines(seen: Sequence[str], tail: Sequence[str]) -> tuple[list[str], bool]:
    """The lines of ``tail`` (the log's last lines now) that follow ``seen`` (the log's
    last lines as read before), and whether some may have been missed in between.

    The already-seen part of ``tail`` is its longest start whose end matches the end of
    ``seen`` (on all the lines they share); with none, ``tail`` is all new, and lines
    between the two reads were missed.
    """
    if not seen:
        return list(tail), False
    for j in range(len(tail), 0, -1):
        k = min(j, len(seen))
        if list(tail[j - k : j]) == list(seen[-k:]):
            return list(tail[j:]), False
    return list(tail), bool(tail)


def follow_logs(
    client: Client,
    cid: str,
    job_id: str,
    emit: Callable[[str], None],
    *,
    lines: int = 100,
    interval: float = 15.0,
    timeout: float = 6 * 3600.0,
    window: int = 500,
) -> TrainingJob | None:
    """Show the last ``lines`` of a job's log, then each new line until the job ends (or
    ``timeout``); return the job as last seen. A failed poll is retried at the next
    interval. ``window`` is how many lines each poll reads to find where it left off.
    """
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    job: TrainingJob | None = None
    first = True
    while True:
        try:
            listing = client.training.jobs(cid).training_jobs
            job = next((j for j in listing if j.job_id == job_id), job)
            try:
                tail = list(client.training.logs(cid, job_id, lines=window).log_lines)
            except NotFoundError:
                if job is None:
                    raise  # no such job, not merely no log yet
                tail = []
        except AnimusError as exc:
            if not is_transient(exc):
                raise
        else:
            fresh, gap = new_lines(seen, tail)
            if gap:
                emit("[...]")
            for line in fresh[-lines:] if first else fresh:
                emit(line)
            seen = (seen + fresh)[-window:]
            first = False
            if job is not None and job.state.is_terminal:
                return job
        if time.monotonic() + interval > deadline:
            return job
        time.sleep(interval)


__all__ = [
    "KINDS",
    "TrainingError",
    "TrainingOutcome",
    "TrainingWatcher",
    "describe",
    "follow_logs",
    "latest_job",
    "new_lines",
    "phase_lines",
    "start_trainings",
    "watch_trainings",
]
