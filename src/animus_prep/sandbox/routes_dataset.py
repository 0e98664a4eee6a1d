"""Dataset generation and review: `/{character_id}/dataset/...`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request

from .auth import OrgDep
from .context import Sandbox, iso
from .context import sandbox_of as _sb
from .defects import pick_single, plan_batch
from .errors import bad_request, conflict, not_found
from .jobs import DATASET_FIRST_SECONDS, DATASET_SECONDS_PER_IMAGE, REGENERATE_SECONDS
from .responses import errors
from .schemas import (
    ApprovalRequest,
    ApprovalResult,
    DatasetApproveResult,
    DatasetGenerateRequest,
    DatasetGenerateResult,
    DatasetImage,
    DatasetImageList,
    DatasetStatus,
    Deleted,
    RegenerateRequest,
    RegenerateResult,
)
from .settings import DATASET_MAX_ALLOWED, DATASET_MIN_REQUIRED
from .store import Row
from .worker import Materializer

router = APIRouter(tags=["dataset"])

_VIEWS = (
    "front view",
    "back view",
    "left profile",
    "right profile",
    "three-quarter view",
    "sitting",
    "walking",
    "close-up portrait",
    "waist-up",
    "full body",
)
_SETTINGS = ("studio backdrop", "city street", "park", "beach", "living room", "cafe")
DEFAULT_DATASET_PROMPTS = tuple(
    f"photo of the character, {_VIEWS[i % len(_VIEWS)]}, {_SETTINGS[i % len(_SETTINGS)]}"
    for i in range(20)
)


def _caught_up(request: Request, org: OrgDep, character_id: str) -> tuple[Sandbox, Row]:
    sb = _sb(request)
    sb.character_row(org, character_id)
    materializer: Materializer = request.app.state.materializer
    materializer.catch_up(character_id)
    return sb, sb.character_row(org, character_id)


def _image(sb: Sandbox, character_id: str, image_id: str) -> Row:
    row = sb.store.one(
        "SELECT * FROM dataset_images WHERE character_id = ? AND image_id = ?",
        (character_id, image_id),
    )
    if row is None:
        raise not_found("Dataset image")
    return row


def _editable(character: Row) -> None:
    if character["dataset_status"] == "approved":
        raise conflict("The dataset is already approved and can no longer change")


@router.post(
    "/{character_id}/dataset/generate",
    response_model=DatasetGenerateResult,
    responses=errors(400, 404, 409),
)
def generate_dataset(
    character_id: str,
    org: OrgDep,
    request: Request,
    body: Annotated[DatasetGenerateRequest | None, Body()] = None,
) -> DatasetGenerateResult:
    """Start rendering the training dataset from the character's references."""
    sb, _ = _caught_up(request, org, character_id)
    body = body or DatasetGenerateRequest()
    if body.prompts:
        prompts = [p.strip() for p in body.prompts]
        if any(not p or len(p) > 1000 for p in prompts):
            raise bad_request("each prompt must be 1-1000 characters")
    elif body.use_default_prompts:
        prompts = list(DEFAULT_DATASET_PROMPTS)
    else:
        raise bad_request("Give prompts or set use_default_prompts to true")
    if len(prompts) > DATASET_MAX_ALLOWED:
        raise bad_request(f"At most {DATASET_MAX_ALLOWED} prompts")
    job_id = sb.new_id("dsjob")
    now = sb.now()
    # The checks and the new job in one transaction: parallel requests that all read
    # "not generating" outside it would each start a job over the same dataset.
    with sb.store.transaction() as conn:
        character = sb.character_row(org, character_id)
        counts = sb.asset_counts(character_id)
        if not counts.get("face_image") or not counts.get("body_image"):
            raise conflict("Upload at least one face image and one body image first")
        if character["dataset_status"] == "generating":
            raise conflict("The dataset is still generating")
        _editable(character)
        old = conn.execute(
            "SELECT file_name FROM dataset_images WHERE character_id = ?", (character_id,)
        ).fetchall()
        conn.execute("DELETE FROM dataset_images WHERE character_id = ?", (character_id,))
        nth = conn.execute(
            "SELECT COUNT(*) FROM jobs WHERE org_id = ? AND kind = 'dataset'", (org.org_id,)
        ).fetchone()[0]
        rng = sb.rng("dataset", org.org_id, nth)
        seeds = [rng.randrange(2**31) for _ in prompts]
        plan = plan_batch(len(prompts), sb.settings.defect_rate, rng)
        clean = [s for s, d in zip(seeds, plan, strict=True) if d is None]
        for i, (prompt, seed, defect) in enumerate(zip(prompts, seeds, plan, strict=True)):
            source = rng.choice(clean) if defect == "duplicate" else None
            ready = now + (DATASET_FIRST_SECONDS + i * DATASET_SECONDS_PER_IMAGE) / (
                sb.settings.time_scale
            )
            conn.execute(
                "INSERT INTO dataset_images (image_id, character_id, idx, prompt, seed,"
                " created_at, ready_at, defect, defect_source_seed)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sb.new_id("img"),
                    character_id,
                    i,
                    prompt,
                    seed,
                    now,
                    ready,
                    None if defect is None else defect.value,
                    source,
                ),
            )
        conn.execute(
            "INSERT INTO jobs (job_id, kind, character_id, org_id, created_at, params)"
            " VALUES (?, 'dataset', ?, ?, ?, '{}')",
            (job_id, character_id, org.org_id, now),
        )
        conn.execute(
            "UPDATE characters SET dataset_status = 'generating', dataset_job_id = ?"
            " WHERE character_id = ?",
            (job_id, character_id),
        )
        sb.touch(conn, character_id)
    for r in old:
        sb.delete_file(r["file_name"])
    return DatasetGenerateResult(
        success=True,
        message=f"Dataset generation started: {len(prompts)} images",
        total_images=len(prompts),
        job_id=job_id,
    )


@router.get("/{character_id}/dataset/status", response_model=DatasetStatus, responses=errors(404))
def dataset_status(character_id: str, org: OrgDep, request: Request) -> DatasetStatus:
    """Counts of the dataset and whether it can be approved."""
    sb, character = _caught_up(request, org, character_id)
    c = sb.dataset_counts(character_id)
    status = character["dataset_status"]
    view = sb.character_view(character)
    return DatasetStatus(
        character_id=character_id,
        dataset_status=status,
        current_step=view.current_step,
        total_images=c["total"],
        approved_images=c["approved"],
        rejected_images=c["rejected"],
        pending_images=c["pending"],
        min_required=DATASET_MIN_REQUIRED,
        max_allowed=DATASET_MAX_ALLOWED,
        can_approve=status == "reviewing"
        and c["pending"] == 0
        and c["approved"] >= DATASET_MIN_REQUIRED,
        generation_complete=c["total"] > 0 and c["ready"] == c["total"],
    )


@router.get(
    "/{character_id}/dataset/images", response_model=DatasetImageList, responses=errors(404)
)
def dataset_images(
    character_id: str, org: OrgDep, request: Request, approved_only: bool = False
) -> DatasetImageList:
    """Renders that have arrived, in prompt order."""
    sb, character = _caught_up(request, org, character_id)
    sql = "SELECT * FROM dataset_images WHERE character_id = ? AND file_name IS NOT NULL"
    if approved_only:
        sql += " AND review = 'approved'"
    rows = sb.store.all(sql + " ORDER BY idx", (character_id,))
    images = [
        DatasetImage(
            image_id=r["image_id"],
            filename=f"{r['idx'] + 1:03d}_{r['seed']}.jpg",
            prompt=r["prompt"],
            seed=r["seed"],
            approved=r["review"] == "approved",
            review_status=r["review"],
            regenerated=bool(r["regenerated"]),
            created_at=iso(r["created_at"]),
            view_url=sb.file_url(request, r["file_name"]),
        )
        for r in rows
    ]
    return DatasetImageList(
        character_id=character_id,
        images=images,
        total=len(images),
        approved_count=sum(i.approved for i in images),
        dataset_status=character["dataset_status"],
    )


@router.put(
    "/{character_id}/dataset/images/{image_id}/approval",
    response_model=ApprovalResult,
    responses=errors(404, 409),
)
def set_approval(
    character_id: str, image_id: str, body: ApprovalRequest, org: OrgDep, request: Request
) -> ApprovalResult:
    """Approve (`true`) or reject (`false`) one render."""
    sb, _ = _caught_up(request, org, character_id)
    review = "approved" if body.approved else "rejected"
    with sb.store.transaction() as conn:
        row = _image(sb, character_id, image_id)
        _editable(sb.character_row(org, character_id))
        if row["file_name"] is None:
            raise conflict("The image is still rendering")
        conn.execute("UPDATE dataset_images SET review = ? WHERE image_id = ?", (review, image_id))
    return ApprovalResult(
        success=True, message=f"Image {review}", image_id=image_id, approved=body.approved
    )


@router.post(
    "/{character_id}/dataset/images/{image_id}/regenerate",
    response_model=RegenerateResult,
    responses=errors(404, 409),
)
def regenerate_image(
    character_id: str,
    image_id: str,
    org: OrgDep,
    request: Request,
    body: Annotated[RegenerateRequest | None, Body()] = None,
) -> RegenerateResult:
    """Replace one render with a new one (new seed); it is pending review again."""
    sb, _ = _caught_up(request, org, character_id)
    body = body or RegenerateRequest()
    now = sb.now()
    with sb.store.transaction() as conn:
        row = _image(sb, character_id, image_id)
        _editable(sb.character_row(org, character_id))
        if row["file_name"] is None:
            raise conflict("The image is still rendering")
        rng = sb.rng("regenerate", org.org_id, row["seed"], row["regenerated"])
        seed = body.seed if body.seed is not None else rng.randrange(2**31)
        defect = pick_single(sb.settings.defect_rate, rng)
        conn.execute(
            "UPDATE dataset_images SET seed = ?, prompt = ?, review = 'pending',"
            " regenerated = regenerated + 1, created_at = ?, ready_at = ?, file_name = NULL,"
            " defect = ?, defect_source_seed = NULL WHERE image_id = ?",
            (
                seed,
                body.prompt or row["prompt"],
                now,
                now + REGENERATE_SECONDS / sb.settings.time_scale,
                None if defect is None else defect.value,
                image_id,
            ),
        )
        conn.execute(
            "UPDATE characters SET dataset_status = 'generating' WHERE character_id = ?",
            (character_id,),
        )
        sb.touch(conn, character_id)
    sb.delete_file(row["file_name"])
    return RegenerateResult(success=True, message="Regeneration queued", image_id=image_id)


@router.delete(
    "/{character_id}/dataset/images/{image_id}", response_model=Deleted, responses=errors(404, 409)
)
def delete_image(character_id: str, image_id: str, org: OrgDep, request: Request) -> Deleted:
    """Remove one render from the dataset."""
    sb, _ = _caught_up(request, org, character_id)
    with sb.store.transaction() as conn:
        row = _image(sb, character_id, image_id)
        _editable(sb.character_row(org, character_id))
        conn.execute("DELETE FROM dataset_images WHERE image_id = ?", (image_id,))
    sb.delete_file(row["file_name"])
    materializer: Materializer = request.app.state.materializer
    materializer.catch_up(character_id)
    return Deleted(success=True, message="Image deleted")


@router.post(
    "/{character_id}/dataset/approve",
    response_model=DatasetApproveResult,
    responses=errors(404, 409),
)
def approve_dataset(character_id: str, org: OrgDep, request: Request) -> DatasetApproveResult:
    """Freeze the reviewed dataset and move the character to the training step."""
    sb, _ = _caught_up(request, org, character_id)
    with sb.store.transaction() as conn:
        character = sb.character_row(org, character_id)
        status = character["dataset_status"]
        if status == "not_started":
            raise conflict("Generate the dataset first")
        if status == "generating":
            raise conflict("The dataset is still generating")
        _editable(character)
        c = sb.dataset_counts(character_id)
        if c["pending"]:
            raise conflict(f"{c['pending']} images are still pending review")
        if c["approved"] < DATASET_MIN_REQUIRED:
            raise conflict(
                f"{c['approved']} images approved; at least {DATASET_MIN_REQUIRED} are required"
            )
        conn.execute(
            "UPDATE characters SET dataset_status = 'approved' WHERE character_id = ?",
            (character_id,),
        )
        sb.touch(conn, character_id)
    return DatasetApproveResult(
        success=True, message="Dataset approved", approved_images=c["approved"], next_step=3
    )
