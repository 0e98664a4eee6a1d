"""Readiness and image generation with the trained LoRAs."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request

from . import ledger
from .auth import OrgDep
from .context import sandbox_of as _sb
from .errors import conflict, not_found
from .jobs import (
    GENERATION_QUEUE_SECONDS,
    GENERATION_SECONDS_PER_IMAGE,
    batch_duration,
    batch_state,
)
from .responses import errors
from .schemas import Capabilities, GenerationCreate, GenerationCreated, GenerationStatus, LoraState
from .settings import PRICE_GENERATION_IMAGE
from .worker import Materializer

router = APIRouter(tags=["generation"])


@router.get(
    "/{character_id}/generation/capabilities",
    response_model=Capabilities,
    responses=errors(404),
)
def capabilities(character_id: str, org: OrgDep, request: Request) -> Capabilities:
    """LoRA states and `generation_ready` (true once both LoRAs succeeded)."""
    sb = _sb(request)
    sb.character_row(org, character_id)
    face = sb.lora_status(character_id, "face_lora")
    body = sb.lora_status(character_id, "body_lora")
    return Capabilities(
        face_lora=LoraState(status=face),
        body_lora=LoraState(status=body),
        generation_ready=face == body == "succeeded",
    )


@router.post(
    "/generation/create", response_model=GenerationCreated, responses=errors(402, 404, 409)
)
def create_generation(body: GenerationCreate, org: OrgDep, request: Request) -> GenerationCreated:
    """Queue `num_images` images of a ready character (1 credit per image)."""
    sb = _sb(request)
    generation_id = sb.new_id("gen")
    group_id = sb.new_id("group")
    cost = PRICE_GENERATION_IMAGE * body.num_images
    now = sb.now()
    # The readiness check and the charge in one transaction, like every paid start.
    with sb.store.transaction() as conn:
        sb.character_row(org, body.character_id)
        needed = [
            kind
            for kind, wanted in (
                ("face_lora", body.use_face_lora),
                ("body_lora", body.use_body_lora),
            )
            if wanted and sb.lora_status(body.character_id, kind) != "succeeded"
        ]
        if needed:
            raise conflict(f"Training not finished: {', '.join(needed)}")
        nth = conn.execute(
            "SELECT COUNT(*) FROM jobs WHERE org_id = ? AND kind = 'generation'", (org.org_id,)
        ).fetchone()[0]
        seed = body.seed
        if seed is None:
            seed = sb.rng("generation", org.org_id, nth).randrange(2**31)
        params = body.model_dump() | {"seed": seed, "group_id": group_id, "cost": cost}
        remaining = ledger.charge(conn, org.org_id, cost, "generation", generation_id, now)
        conn.execute(
            "INSERT INTO jobs (job_id, kind, character_id, org_id, created_at, params)"
            " VALUES (?, 'generation', ?, ?, ?, ?)",
            (generation_id, body.character_id, org.org_id, now, json.dumps(params)),
        )
    return GenerationCreated(
        generation_id=generation_id,
        group_id=group_id,
        status="queued",
        message=f"Generation of {body.num_images} images queued",
        estimated_time=round(
            batch_duration(
                body.num_images,
                sb.settings.time_scale,
                GENERATION_QUEUE_SECONDS,
                GENERATION_SECONDS_PER_IMAGE,
            ),
            2,
        ),
        credits_deducted=cost,
        remaining_balance=remaining,
    )


@router.get(
    "/generation/status/{generation_id}",
    response_model=GenerationStatus,
    responses=errors(404),
)
def generation_status(generation_id: str, org: OrgDep, request: Request) -> GenerationStatus:
    """Progress of a generation; `result_urls` once it completed."""
    sb = _sb(request)
    job = sb.store.one(
        "SELECT * FROM jobs WHERE job_id = ? AND org_id = ? AND kind = 'generation'",
        (generation_id, org.org_id),
    )
    if job is None:
        raise not_found("Generation")
    materializer: Materializer = request.app.state.materializer
    materializer.catch_up(job["character_id"])
    job = sb.store.one("SELECT * FROM jobs WHERE job_id = ?", (generation_id,))
    if job is None:
        raise not_found("Generation")
    params = json.loads(job["params"])
    state = batch_state(
        params["num_images"],
        job["created_at"],
        sb.now(),
        sb.settings.time_scale,
        GENERATION_QUEUE_SECONDS,
        GENERATION_SECONDS_PER_IMAGE,
    )
    names: list[str] = json.loads(job["result"]) if job["result"] else []
    # "completed" only once the files exist, so result_urls is never empty when done.
    status = "completed" if names else "processing" if state.status == "completed" else state.status
    return GenerationStatus(
        generation_id=generation_id,
        status=status,
        progress=100.0 if names else min(state.progress, 99.0),
        result_urls=[sb.file_url(request, n) for n in names],
        error=None,
    )
