"""Request and response models of the Animus v2 API, as the sandbox serves them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """Request bodies: unknown fields are ignored, wrong types are a 422."""

    model_config = ConfigDict(extra="ignore")


# --- errors -------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    detail: str


class PaymentRequired(BaseModel):
    error: str
    message: str
    required_credits: float
    current_balance: float


class ValidationErrorBody(BaseModel):
    detail: list[dict[str, object]] | str


# --- characters ---------------------------------------------------------------------


class CharacterCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)


class CharacterUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)


class Character(BaseModel):
    character_id: str
    organization_id: str
    creator_id: str
    name: str
    description: str | None
    status: str
    current_step: int
    face_images_count: int
    body_images_count: int
    dataset_status: str
    face_lora_status: str
    body_lora_status: str
    created_at: str
    updated_at: str
    subscription_id: str | None


class Pagination(BaseModel):
    limit: int
    offset: int
    returned: int
    has_more: bool
    total: int


class CharacterFilters(BaseModel):
    organization_id: str
    creator_id: str | None


class CharacterList(BaseModel):
    characters: list[Character]
    pagination: Pagination
    filters: CharacterFilters


class Deleted(BaseModel):
    success: bool
    message: str


# --- reference photos ---------------------------------------------------------------


class UploadResult(BaseModel):
    success: bool
    message: str
    asset_id: str
    storj_url: str
    view_url: str
    filename: str
    caption: str | None
    caption_status: str
    asset_type: str
    image_type: str | None = None


class Asset(BaseModel):
    asset_id: str
    asset_type: str
    image_type: str | None
    filename: str
    view_url: str
    caption: str | None
    width: int
    height: int
    source: str
    created_at: str


class AssetList(BaseModel):
    assets: list[Asset]
    total: int


# --- face augmentation --------------------------------------------------------------


class AutoGenerateRequest(Strict):
    source_image_url: str = Field(min_length=1, max_length=2048)
    prompts: list[str] | None = Field(default=None, max_length=20)


class AutoGenerateResult(BaseModel):
    job_id: str
    character_id: str
    status: str
    message: str
    total_images: int
    estimated_time: float
    credits_deducted: float
    remaining_balance: float


class UploadJobStatus(BaseModel):
    job_id: str
    character_id: str
    status: str
    total_images: int
    completed_images: int
    failed_images: int
    progress: float
    error: str | None


# --- dataset ------------------------------------------------------------------------


class DatasetGenerateRequest(Strict):
    use_default_prompts: bool = True
    prompts: list[str] | None = Field(default=None, max_length=50)


class DatasetGenerateResult(BaseModel):
    success: bool
    message: str
    total_images: int
    job_id: str


class DatasetStatus(BaseModel):
    character_id: str
    dataset_status: str
    current_step: int
    total_images: int
    approved_images: int
    rejected_images: int
    pending_images: int
    min_required: int
    max_allowed: int
    can_approve: bool
    generation_complete: bool


class DatasetImage(BaseModel):
    image_id: str
    filename: str
    prompt: str
    seed: int
    approved: bool
    review_status: str
    regenerated: bool
    created_at: str
    view_url: str


class DatasetImageList(BaseModel):
    character_id: str
    images: list[DatasetImage]
    total: int
    approved_count: int
    dataset_status: str


class ApprovalRequest(Strict):
    approved: bool


class ApprovalResult(BaseModel):
    success: bool
    message: str
    image_id: str
    approved: bool


class RegenerateRequest(Strict):
    prompt: str | None = Field(default=None, min_length=1, max_length=1000)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)


class RegenerateResult(BaseModel):
    success: bool
    message: str
    image_id: str


class DatasetApproveResult(BaseModel):
    success: bool
    message: str
    approved_images: int
    next_step: int


# --- training -----------------------------------------------------------------------


class TrainingStart(BaseModel):
    success: bool
    message: str
    job_id: str
    training_steps: int
    credits_deducted: float
    remaining_balance: float | None


class Job(BaseModel):
    job_id: str
    character_id: str
    job_type: str
    status: str
    training_service_id: str
    created_at: str
    updated_at: str
    progress: float
    training_phase: str
    eta_minutes: float | None
    training_speed: float | None
    error: str | None
    started_at: str | None
    completed_at: str | None


class TrainingStatus(BaseModel):
    face_lora_status: str
    body_lora_status: str
    face_training: Job | None
    character_training: Job | None
    face_training_history: list[Job]
    character_training_history: list[Job]


class TrainingJobs(BaseModel):
    training_jobs: list[Job]
    total: int


class TrainingLogs(BaseModel):
    job_id: str
    logs: list[str]
    lines: int


class CompleteStatus(BaseModel):
    character_id: str
    face_lora_status: str
    body_lora_status: str
    dataset_status: str
    generation_ready: bool


class CancelResult(BaseModel):
    success: bool
    message: str
    job_id: str
    status: str


# --- generation ---------------------------------------------------------------------


class LoraState(BaseModel):
    status: str


class Capabilities(BaseModel):
    face_lora: LoraState
    body_lora: LoraState
    generation_ready: bool


class GenerationCreate(Strict):
    prompt: str = Field(min_length=1, max_length=2000)
    character_id: str = Field(min_length=1, max_length=100)
    use_face_lora: bool = True
    use_body_lora: bool = True
    num_images: int = Field(default=1, ge=1, le=4)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)
    width: int = Field(default=832, ge=256, le=2048)
    height: int = Field(default=1216, ge=256, le=2048)


class GenerationCreated(BaseModel):
    generation_id: str
    group_id: str
    status: str
    message: str
    estimated_time: float
    credits_deducted: float
    remaining_balance: float


class GenerationStatus(BaseModel):
    generation_id: str
    status: str
    progress: float
    result_urls: list[str]
    error: str | None
