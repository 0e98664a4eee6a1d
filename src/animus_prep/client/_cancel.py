"""Cancelling a training job, safely resent.

The server answers a second cancel with 409 (the job is no longer running), so a cancel
whose response was lost would come back as a conflict. Before any resend, the job is
looked up: when it already reads as cancelled, that is the answer.
"""

from __future__ import annotations

from . import _endpoints as ep
from . import _models as m
from ._core import ClientCore, Flow
from ._status import Status

__all__ = ["cancel_flow"]


def cancel_flow(core: ClientCore, character_id: str, job_id: str) -> Flow[m.TrainingCancel]:
    """Cancel `job_id`; reconcile with the job list before resending."""

    def reconcile() -> Flow[m.TrainingCancel | None]:
        jobs = yield from core.execute(ep.training_jobs(character_id))
        job = next((j for j in jobs.training_jobs if j.job_id == job_id), None)
        if job is None or job.state is not Status.CANCELLED:
            return None
        return m.TrainingCancel(
            success=True, message="already cancelled", job_id=job_id, status=job.status, raw={}
        )

    return (yield from core.execute(ep.cancel_training(character_id, job_id), reconcile))
