"""Creating calls made safe to resend: before each resend, the server's state says
whether the attempt whose answer was lost already happened.

Without this, a lost answer leaves two bad choices: give up (the run stops) or resend
blindly (a training is charged twice, a reviewed dataset is rendered again from scratch,
an image is regenerated twice). Each flow here reads what the call would have changed,
and resends only when that change is surely not there:

- starting a training: the latest job of that kind, against the one before the call;
- generating the dataset: the dataset status (renders where there were none, or rendering);
- approving the dataset: the dataset status;
- regenerating a render: the render itself (a new seed or file, or rendering again).

Uploads (``_uploads``) and cancellation (``_cancel``) follow the same pattern. Face
augmentation and generations cannot be reconciled: the API lists neither, so those are
never resent after an answer was lost (the error's ``may_have_run`` says so).
"""

from __future__ import annotations

from collections.abc import Sequence

from . import _endpoints as ep
from . import _models as m
from ._core import ClientCore, Flow
from ._status import Status

__all__ = [
    "approve_dataset_flow",
    "generate_dataset_flow",
    "regenerate_flow",
    "start_training_flow",
]


def _latest_job(status: m.TrainingStatus, which: str) -> m.TrainingJob | None:
    return status.face_training if which == "face" else status.character_training


def start_training_flow(core: ClientCore, character_id: str, which: str) -> Flow[m.TrainingStart]:
    """Start the ``which`` (face or body) LoRA training; charged, so never started twice.

    The latest job of that kind is read first; after a lost answer, a newer one is the
    training this call started.
    """
    call = ep.start_training(character_id, which)
    before = yield from core.execute(ep.training_status(character_id))
    previous = _latest_job(before, which)
    previous_id = previous.job_id if previous is not None else None

    def reconcile() -> Flow[m.TrainingStart | None]:
        now = yield from core.execute(ep.training_status(character_id))
        job = _latest_job(now, which)
        if job is None or not job.job_id or job.job_id == previous_id:
            return None
        return m.TrainingStart(
            success=True,
            message=f"{which} LoRA training already started (its answer was lost)",
            job_id=job.job_id,
            raw=job.raw,
        )

    return (yield from core.execute(call, reconcile))


def generate_dataset_flow(
    core: ClientCore,
    character_id: str,
    use_default_prompts: bool | None,
    prompts: Sequence[str] | None,
) -> Flow[m.DatasetGeneration]:
    """Start rendering the dataset; after a lost answer, the dataset status tells whether
    rendering began (a second request would throw away renders and start over)."""
    call = ep.generate_dataset(character_id, use_default_prompts, prompts)
    before = yield from core.execute(ep.dataset_status(character_id))

    def reconcile() -> Flow[m.DatasetGeneration | None]:
        now = yield from core.execute(ep.dataset_status(character_id))
        started = bool(now.total_images) and (not before.total_images or now.state is Status.ACTIVE)
        if not started:
            return None
        return m.DatasetGeneration(
            success=True,
            message="dataset generation already started (its answer was lost)",
            total_images=now.total_images,
            raw=now.raw,
        )

    return (yield from core.execute(call, reconcile))


def approve_dataset_flow(core: ClientCore, character_id: str) -> Flow[m.DatasetApproval]:
    """Approve the dataset; a resend after a lost answer would be refused (409) once the
    first attempt worked, so the status is read first."""

    def reconcile() -> Flow[m.DatasetApproval | None]:
        now = yield from core.execute(ep.dataset_status(character_id))
        if (now.dataset_status or "").lower() != "approved":
            return None
        return m.DatasetApproval(
            success=True,
            message="dataset already approved (its answer was lost)",
            approved_images=now.approved_images,
            raw=now.raw,
        )

    return (yield from core.execute(ep.approve_dataset(character_id), reconcile))


def regenerate_flow(
    core: ClientCore,
    character_id: str,
    image_id: str,
    prompt: str | None,
    seed: int | None,
    last_seen: m.DatasetImage | None,
) -> Flow[m.RegenerateResult]:
    """Regenerate one render once. ``last_seen`` is the render as the caller judged it;
    without it, the render is read before the first attempt. A render that is not listed
    (still rendering) gives nothing to compare with: then the call is not resent after a
    lost answer."""
    call = ep.regenerate_image(character_id, image_id, prompt, seed)
    before = last_seen
    if before is None:
        listing = yield from core.execute(ep.dataset_images(character_id, False))
        before = next((i for i in listing.images if i.image_id == image_id), None)
    if before is None:
        return (yield from core.execute(call))
    seen = (before.seed, before.view_url)

    def reconcile() -> Flow[m.RegenerateResult | None]:
        listing = yield from core.execute(ep.dataset_images(character_id, False))
        now = next((i for i in listing.images if i.image_id == image_id), None)
        # A render being regenerated drops out of the list until its new file lands.
        changed = now is None or (now.seed, now.view_url) != seen
        if not changed:
            return None
        return m.RegenerateResult(
            success=True,
            message="regeneration already queued (its answer was lost)",
            image_id=image_id,
        )

    return (yield from core.execute(call, reconcile))
