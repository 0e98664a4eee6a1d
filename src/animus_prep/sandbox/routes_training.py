"""LoRA training: start, monitor, read logs and cancel jobs."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request

from . import ledger
from .auth import Org, OrgDep
from .context import Sandbox, iso
from .context import sandbox_of as _sb
from .errors import conflict, not_found
from .jobs import FAILURE_MESSAGES, TERMINAL, TRAINING_PLAN
from .responses import errors
from .schemas import (
    CancelResult,
    CompleteStatus,
    Job,
    TrainingJobs,
    TrainingLogs,
    TrainingStart,
    TrainingStatus,
)
from .settings import (
    DATASET_MIN_REQUIRED,
    MIN_FACE_IMAGES_FOR_TRAINING,
    PRICE_BODY_LORA,
    PRICE_FACE_LORA,
)
from .store import Row

router = APIRouter(tags=["training"])

GET_ALIAS_NOTE = (
    "The vendor guide's curl example for this step sends no body and no -X POST, i.e. a"
    " GET; the sandbox accepts it so the guide works verbatim. A GET is idempotent: it"
    " starts and charges the training only when the character has no job of this kind"
    " yet, and otherwise answers that job with credits_deducted 0. Retraining takes a POST."
)
PRICES = {"face_lora": PRICE_FACE_LORA, "body_lora": PRICE_BODY_LORA}


def job_view(sb: Sandbox, row: Row) -> Job:
    """The contract's Job object for a training row, computed at the current time."""
    state = sb.training_view(row)
    updated = state.completed_at or min(sb.now(), row["cancelled_at"] or sb.now())
    return Job(
        job_id=row["job_id"],
        character_id=row["character_id"],
        job_type=row["kind"],
        status=state.status,
        training_service_id=f"replicate-{row['job_id'][-12:]}",
        created_at=iso(row["created_at"]),
        updated_at=iso(updated),
        progress=state.progress,
        training_phase=state.phase,
        eta_minutes=state.eta_minutes,
        training_speed=state.speed,
        error=state.error,
        started_at=None if state.started_at is None else iso(state.started_at),
        completed_at=None if state.completed_at is None else iso(state.completed_at),
    )


def _check_ready(sb: Sandbox, character: Row, kind: str) -> None:
    """409 unless the character's dataset and references allow a `kind` training."""
    character_id = character["character_id"]
    if character["dataset_status"] != "approved":
        raise conflict("Approve the dataset before starting training")
    if kind == "face_lora":
        faces = sb.asset_counts(character_id).get("face_image", 0)
        if faces < MIN_FACE_IMAGES_FOR_TRAINING:
            raise conflict(
                f"{faces} face images; face LoRA training needs at least "
                f"{MIN_FACE_IMAGES_FOR_TRAINING}"
            )
    else:
        approved = sb.dataset_counts(character_id)["approved"]
        if approved < DATASET_MIN_REQUIRED:
            raise conflict(
                f"{approved} approved dataset images; body LoRA training needs at least "
                f"{DATASET_MIN_REQUIRED}"
            )


def _label(kind: str) -> str:
    return "Face" if kind == "face_lora" else "Body"


def _start(
    request: Request, org: Org, character_id: str, kind: str, *, first_only: bool = False
) -> TrainingStart:
    """Start and charge a `kind` training.

    With `first_only` (the GET alias) an existing job of that kind is answered instead
    of starting another, so repeating the request never pays twice.
    """
    sb = _sb(request)
    job_id = sb.new_id("train")
    price = PRICES[kind]
    now = sb.now()
    # The checks, the charge and the job row in one transaction: parallel requests
    # that all read "nothing running" outside it would each start and pay a job.
    with sb.store.transaction() as conn:
        character = sb.character_row(org, character_id)
        latest = sb.latest_job(character_id, kind)
        if first_only and latest is not None:
            return TrainingStart(
                success=True,
                message=(
                    f"{_label(kind)} LoRA training already started; nothing charged"
                    " (send a POST to train again)"
                ),
                job_id=latest["job_id"],
                training_steps=TRAINING_PLAN[kind][3],
                credits_deducted=0.0,
                remaining_balance=ledger.balance(conn, org.org_id),
            )
        _check_ready(sb, character, kind)
        if latest is not None and sb.training_view(latest).status not in TERMINAL:
            raise conflict(f"A {kind.replace('_', ' ')} training is already running")
        nth = conn.execute(
            "SELECT COUNT(*) FROM jobs WHERE org_id = ? AND kind = ?", (org.org_id, kind)
        ).fetchone()[0]
        rng = sb.rng("training", org.org_id, kind, nth)
        fails = rng.random() < sb.settings.training_failure_rate
        fail_at = rng.uniform(0.2, 0.8) if fails else None
        params = {"failure_message": rng.choice(FAILURE_MESSAGES), "price": price}
        remaining = ledger.charge(conn, org.org_id, price, kind, job_id, now)
        conn.execute(
            "INSERT INTO jobs (job_id, kind, character_id, org_id, created_at, params, fail_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (job_id, kind, character_id, org.org_id, now, json.dumps(params), fail_at),
        )
        sb.touch(conn, character_id)
    return TrainingStart(
        success=True,
        message=f"{_label(kind)} LoRA training queued",
        job_id=job_id,
        training_steps=TRAINING_PLAN[kind][3],
        credits_deducted=price,
        remaining_balance=remaining,
    )


@router.post(
    "/{character_id}/training/face-lora",
    response_model=TrainingStart,
    responses=errors(402, 404, 409),
)
def train_face_lora(character_id: str, org: OrgDep, request: Request) -> TrainingStart:
    """Start the face LoRA training (charges its price up front)."""
    return _start(request, org, character_id, "face_lora")


@router.get(
    "/{character_id}/training/face-lora",
    response_model=TrainingStart,
    responses=errors(402, 404, 409),
    deprecated=True,
    description=GET_ALIAS_NOTE,
)
def train_face_lora_get(character_id: str, org: OrgDep, request: Request) -> TrainingStart:
    """Start the face LoRA training once; later GETs answer the existing job."""
    return _start(request, org, character_id, "face_lora", first_only=True)


@router.post(
    "/{character_id}/training/body-lora",
    response_model=TrainingStart,
    responses=errors(402, 404, 409),
)
def train_body_lora(character_id: str, org: OrgDep, request: Request) -> TrainingStart:
    """Start the body LoRA training (charges its price up front)."""
    return _start(request, org, character_id, "body_lora")


@router.get(
    "/{character_id}/training/body-lora",
    response_model=TrainingStart,
    responses=errors(402, 404, 409),
    deprecated=True,
    description=GET_ALIAS_NOTE,
)
def train_body_lora_get(character_id: str, org: OrgDep, request: Request) -> TrainingStart:
    """Start the body LoRA training once; later GETs answer the existing job."""
    return _start(request, org, character_id, "body_lora", first_only=True)


def _jobs(sb: Sandbox, character_id: str, kind: str | None = None) -> list[Row]:
    kinds = (kind,) if kind else tuple(TRAINING_PLAN)
    marks = ",".join("?" * len(kinds))
    return sb.store.all(
        f"SELECT * FROM jobs WHERE character_id = ? AND kind IN ({marks})"
        " ORDER BY created_at DESC, rowid DESC",
        (character_id, *kinds),
    )


@router.get("/{character_id}/training/status", response_model=TrainingStatus, responses=errors(404))
def training_status(character_id: str, org: OrgDep, request: Request) -> TrainingStatus:
    """Latest face and body jobs with their histories (newest first)."""
    sb = _sb(request)
    sb.character_row(org, character_id)
    face = [job_view(sb, r) for r in _jobs(sb, character_id, "face_lora")]
    body = [job_view(sb, r) for r in _jobs(sb, character_id, "body_lora")]
    return TrainingStatus(
        face_lora_status=face[0].status if face else "not_started",
        body_lora_status=body[0].status if body else "not_started",
        face_training=face[0] if face else None,
        character_training=body[0] if body else None,
        face_training_history=face,
        character_training_history=body,
    )


@router.get("/{character_id}/training/jobs", response_model=TrainingJobs, responses=errors(404))
def training_jobs(character_id: str, org: OrgDep, request: Request) -> TrainingJobs:
    """Every training job of the character, newest first."""
    sb = _sb(request)
    sb.character_row(org, character_id)
    jobs = [job_view(sb, r) for r in _jobs(sb, character_id)]
    return TrainingJobs(training_jobs=jobs, total=len(jobs))


def _job(sb: Sandbox, character_id: str, job_id: str) -> Row:
    row = sb.store.one(
        "SELECT * FROM jobs WHERE character_id = ? AND job_id = ? AND kind IN (?, ?)",
        (character_id, job_id, *TRAINING_PLAN),
    )
    if row is None:
        raise not_found("Training job")
    return row


@router.get(
    "/{character_id}/training/jobs/{job_id}/logs",
    response_model=TrainingLogs,
    responses=errors(404),
)
def training_logs(
    character_id: str,
    job_id: str,
    org: OrgDep,
    request: Request,
    lines: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> TrainingLogs:
    """The last `lines` log lines of a training job."""
    sb = _sb(request)
    sb.character_row(org, character_id)
    logs = sb.training_view(_job(sb, character_id, job_id)).logs[-lines:]
    return TrainingLogs(job_id=job_id, logs=logs, lines=len(logs))


@router.get(
    "/{character_id}/training/complete-status",
    response_model=CompleteStatus,
    responses=errors(404),
)
def complete_status(character_id: str, org: OrgDep, request: Request) -> CompleteStatus:
    """Whether the character is ready to generate."""
    sb = _sb(request)
    character = sb.character_row(org, character_id)
    face = sb.lora_status(character_id, "face_lora")
    body = sb.lora_status(character_id, "body_lora")
    return CompleteStatus(
        character_id=character_id,
        face_lora_status=face,
        body_lora_status=body,
        dataset_status=character["dataset_status"],
        generation_ready=face == body == "succeeded",
    )


@router.post(
    "/{character_id}/training/jobs/{job_id}/cancel",
    response_model=CancelResult,
    responses=errors(404, 409),
)
def cancel_job(character_id: str, job_id: str, org: OrgDep, request: Request) -> CancelResult:
    """Cancel a queued or running training (credits are not refunded)."""
    sb = _sb(request)
    sb.character_row(org, character_id)
    row = _job(sb, character_id, job_id)
    state = sb.training_view(row)
    if state.status in TERMINAL:
        raise conflict(f"The job already finished ({state.status})")
    sb.store.execute(
        "UPDATE jobs SET cancelled_at = ? WHERE job_id = ? AND cancelled_at IS NULL",
        (sb.now(), job_id),
    )
    return CancelResult(
        success=True, message="Training cancelled", job_id=job_id, status="cancelled"
    )
