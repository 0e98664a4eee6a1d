"""Bounded polling: every waiter has a timeout, a poll interval and a progress callback.

Waiters are flows like any call, so they use the client's clock and sleep: tests pass a
fake clock and never sleep. A poll that fails even after its own retries (the network or
the server is down for a while) does not end the wait: the next poll comes after the
usual interval, until the wait's own timeout. Only errors that asking again cannot cure
(404, 401, a malformed answer) end it early.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import TypeVar

from . import _endpoints as ep
from . import _exceptions as exc
from . import _models as m
from ._core import ClientCore, Flow, Sleep
from ._retry import is_transient
from ._status import Status

__all__ = ["TrainingProgress", "WaitOptions"]

S = TypeVar("S")

logger = logging.getLogger("animus_prep.client")


@dataclasses.dataclass(frozen=True)
class WaitOptions:
    """Bounds of a wait: overall ``timeout`` and the pause between polls, in seconds."""

    timeout: float = 1800.0
    interval: float = 10.0

    def __post_init__(self) -> None:
        if self.timeout < 0 or self.interval <= 0:
            raise ValueError("timeout must be >= 0 and interval > 0")


@dataclasses.dataclass(frozen=True)
class TrainingProgress:
    """What a training waiter saw on one poll: the job (None until listed) and log tail."""

    job_id: str
    job: m.TrainingJob | None
    log_lines: tuple[str, ...] = ()

    @property
    def state(self) -> Status:
        """Normalised job status (UNKNOWN until the job is listed)."""
        return self.job.state if self.job is not None else Status.UNKNOWN

    @property
    def phase(self) -> str | None:
        """The training phase reported by the job."""
        return self.job.training_phase if self.job is not None else None

    @property
    def eta_minutes(self) -> float | None:
        """Estimated minutes left, when reported."""
        return self.job.eta_minutes if self.job is not None else None

    @property
    def progress(self) -> float | None:
        """Progress as reported by the job."""
        return self.job.progress if self.job is not None else None


def poll_until(
    core: ClientCore,
    poll: Callable[[], Flow[S]],
    done: Callable[[S], bool],
    *,
    what: str,
    options: WaitOptions,
    on_progress: Callable[[S], object] | None,
) -> Flow[S]:
    """Poll until ``done``; raise WaitTimeoutError with the last state when time runs out.

    A poll that fails transiently is skipped. When time runs out and no poll ever
    succeeded, the last poll's error is raised instead: there is no state to report.
    """
    start = core.clock()
    seen: list[S] = []
    failures = 0
    while True:
        failed: exc.APIError | None = None
        try:
            state = yield from poll()
        except exc.APIError as error:
            if not is_transient(error):
                raise
            failed = error
            failures += 1
            logger.warning("polling %s failed (%s); polling again", what, error)
        else:
            seen[:] = [state]
            if on_progress is not None:
                on_progress(state)
            if done(state):
                return state
        elapsed = core.clock() - start
        remaining = options.timeout - elapsed
        if remaining <= 0:
            if not seen:
                assert failed is not None  # no state and no error: the loop did not run
                raise failed
            timeout = exc.WaitTimeoutError(
                what, last=seen[0], elapsed=elapsed, timeout=options.timeout
            )
            timeout.failed_polls = failures
            raise timeout from failed
        yield Sleep(min(options.interval, remaining))


def dataset_flow(
    core: ClientCore,
    character_id: str,
    options: WaitOptions,
    on_progress: Callable[[m.DatasetStatus], object] | None,
) -> Flow[m.DatasetStatus]:
    """Until ``generation_complete`` (or the dataset status reports a failure)."""
    return poll_until(
        core,
        lambda: core.execute(ep.dataset_status(character_id)),
        lambda s: bool(s.generation_complete) or s.state in (Status.FAILED, Status.CANCELLED),
        what=f"dataset generation of character {character_id}",
        options=options,
        on_progress=on_progress,
    )


def upload_job_flow(
    core: ClientCore,
    job_id: str,
    options: WaitOptions,
    on_progress: Callable[[m.UploadJob], object] | None,
) -> Flow[m.UploadJob]:
    """Until the upload job is terminal."""
    return poll_until(
        core,
        lambda: core.execute(ep.upload_job_status(job_id)),
        lambda job: job.state.is_terminal,
        what=f"upload job {job_id}",
        options=options,
        on_progress=on_progress,
    )


def training_flow(
    core: ClientCore,
    character_id: str,
    job_id: str,
    options: WaitOptions,
    on_progress: Callable[[TrainingProgress], object] | None,
    log_lines: int,
) -> Flow[TrainingProgress]:
    """Until the training job is terminal; each poll also reads the log tail."""

    def poll() -> Flow[TrainingProgress]:
        listing = yield from core.execute(ep.training_jobs(character_id))
        job = next((j for j in listing.training_jobs if j.job_id == job_id), None)
        lines: tuple[str, ...] = ()
        if log_lines > 0 and job is not None:
            try:
                logs = yield from core.execute(ep.training_logs(character_id, job_id, log_lines))
                lines = logs.log_lines[-log_lines:]
            except exc.NotFoundError:
                # Logs appear only once the trainer has started writing them.
                lines = ()
            except exc.APIError as error:
                if not is_transient(error):
                    raise
                lines = ()  # the job's state was read: a missing log tail is no failed poll
        return TrainingProgress(job_id=job_id, job=job, log_lines=lines)

    return poll_until(
        core,
        poll,
        lambda p: p.state.is_terminal,
        what=f"training job {job_id}",
        options=options,
        on_progress=on_progress,
    )


def readiness_flow(
    core: ClientCore,
    character_id: str,
    options: WaitOptions,
    on_progress: Callable[[m.Capabilities], object] | None,
) -> Flow[m.Capabilities]:
    """Until ``generation_ready``, or until a LoRA has failed (then it never will be)."""

    def finished(caps: m.Capabilities) -> bool:
        loras = (caps.face_lora, caps.body_lora)
        broken = any(
            lora is not None and lora.state in (Status.FAILED, Status.CANCELLED) for lora in loras
        )
        return bool(caps.generation_ready) or broken

    return poll_until(
        core,
        lambda: core.execute(ep.capabilities(character_id)),
        finished,
        what=f"generation readiness of character {character_id}",
        options=options,
        on_progress=on_progress,
    )


def generation_flow(
    core: ClientCore,
    generation_id: str,
    options: WaitOptions,
    on_progress: Callable[[m.GenerationStatus], object] | None,
) -> Flow[m.GenerationStatus]:
    """Until the generation is terminal."""
    return poll_until(
        core,
        lambda: core.execute(ep.generation_status(generation_id)),
        lambda g: g.state.is_terminal,
        what=f"generation {generation_id}",
        options=options,
        on_progress=on_progress,
    )
