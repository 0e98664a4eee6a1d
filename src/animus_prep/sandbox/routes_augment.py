"""Face augmentation: synthesized face variants that join the character's references."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from fastapi import APIRouter, Request

from . import ledger
from .auth import OrgDep
from .context import sandbox_of as _sb
from .errors import bad_request, not_found
from .jobs import AUGMENT_QUEUE_SECONDS, AUGMENT_SECONDS_PER_IMAGE, batch_duration, batch_state
from .responses import errors
from .schemas import AutoGenerateRequest, AutoGenerateResult, UploadJobStatus
from .settings import MAX_FACE_IMAGES, PRICE_FACE_AUGMENTATION
from .worker import Materializer

router = APIRouter(tags=["face augmentation"])

DEFAULT_FACE_PROMPTS = (
    "close-up portrait, soft window light, neutral expression",
    "three-quarter view, smiling, golden hour",
    "profile view facing left, studio lighting",
    "profile view facing right, overcast daylight",
    "looking up slightly, outdoor cafe",
    "laughing, candid street photo",
    "serious expression, dramatic side light",
    "head tilted, bright beach light",
)


@router.post(
    "/characters/{character_id}/auto-generate-face-images",
    response_model=AutoGenerateResult,
    responses=errors(400, 402, 404),
)
def auto_generate_face_images(
    character_id: str, body: AutoGenerateRequest, org: OrgDep, request: Request
) -> AutoGenerateResult:
    """Queue synthesized face variants of `source_image_url` (0.5 credit each, up front).

    The sandbox never fetches remote URLs: a `view_url` of one of the character's own
    references selects that reference, any other URL falls back to the first face.
    """
    sb = _sb(request)
    sb.character_row(org, character_id)
    url = urlsplit(body.source_image_url)
    if url.scheme not in {"http", "https"} or not url.netloc:
        raise bad_request("source_image_url must be an http(s) URL")
    prompts = [p.strip() for p in body.prompts] if body.prompts else list(DEFAULT_FACE_PROMPTS)
    if any(not p or len(p) > 500 for p in prompts):
        raise bad_request("each prompt must be 1-500 characters")
    total = len(prompts)
    file_name = url.path.rsplit("/", 1)[-1]
    source = sb.store.one(
        "SELECT asset_id FROM assets WHERE character_id = ? AND file_name = ?",
        (character_id, file_name),
    )
    job_id = sb.new_id("upjob")
    now = sb.now()
    cost = PRICE_FACE_AUGMENTATION * total
    with sb.store.transaction() as conn:
        faces = conn.execute(
            "SELECT COUNT(*) FROM assets WHERE character_id = ? AND asset_type = 'face_image'",
            (character_id,),
        ).fetchone()[0]
        queued = sum(
            json.loads(r["params"])["total"] - r["materialized"]
            for r in conn.execute(
                "SELECT params, materialized FROM jobs WHERE character_id = ?"
                " AND kind = 'face_augment' AND result IS NULL",
                (character_id,),
            ).fetchall()
        )
        if faces + queued + total > MAX_FACE_IMAGES:
            raise bad_request(
                f"{total} more faces would exceed the cap of {MAX_FACE_IMAGES} face images"
                f" ({faces} stored, {queued} queued)"
            )
        nth = conn.execute(
            "SELECT COUNT(*) FROM jobs WHERE org_id = ? AND kind = 'face_augment'", (org.org_id,)
        ).fetchone()[0]
        rng = sb.rng("augment", org.org_id, nth)
        params = {
            "total": total,
            "prompts": prompts,
            "seeds": [rng.randrange(2**31) for _ in prompts],
            "source_asset_id": None if source is None else source["asset_id"],
            "cost": cost,
        }
        remaining = ledger.charge(conn, org.org_id, cost, "face_augmentation", job_id, now)
        conn.execute(
            "INSERT INTO jobs (job_id, kind, character_id, org_id, created_at, params)"
            " VALUES (?, 'face_augment', ?, ?, ?, ?)",
            (job_id, character_id, org.org_id, now, json.dumps(params)),
        )
    return AutoGenerateResult(
        job_id=job_id,
        character_id=character_id,
        status="queued",
        message=f"Queued {total} face images",
        total_images=total,
        estimated_time=round(
            batch_duration(
                total, sb.settings.time_scale, AUGMENT_QUEUE_SECONDS, AUGMENT_SECONDS_PER_IMAGE
            ),
            2,
        ),
        credits_deducted=cost,
        remaining_balance=remaining,
    )


@router.get("/upload-job/{job_id}/status", response_model=UploadJobStatus, responses=errors(404))
def upload_job_status(job_id: str, org: OrgDep, request: Request) -> UploadJobStatus:
    """Progress of a face augmentation job."""
    sb = _sb(request)
    job = sb.store.one(
        "SELECT * FROM jobs WHERE job_id = ? AND org_id = ? AND kind = 'face_augment'",
        (job_id, org.org_id),
    )
    if job is None:
        raise not_found("Job")
    materializer: Materializer = request.app.state.materializer
    materializer.catch_up(job["character_id"])
    total = json.loads(job["params"])["total"]
    state = batch_state(
        total,
        job["created_at"],
        sb.now(),
        sb.settings.time_scale,
        AUGMENT_QUEUE_SECONDS,
        AUGMENT_SECONDS_PER_IMAGE,
    )
    return UploadJobStatus(
        job_id=job_id,
        character_id=job["character_id"],
        status=state.status,
        total_images=total,
        completed_images=state.completed,
        failed_images=0,
        progress=state.progress,
        error=None,
    )
