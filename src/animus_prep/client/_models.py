"""Typed, frozen views of the API's JSON resources.

Timestamps stay strings as sent: the contract does not fix their format. The id an
answer is for (a character's, an asset's, a job's) is typed `str`: the client refuses an
answer without it (`required_fields`), so it is never None; a model built by hand from
such an answer holds "" there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ._parse import Model, StatusModel
from ._status import Status, normalize_status

__all__ = [
    "Asset",
    "AssetList",
    "Capabilities",
    "Character",
    "CharacterPage",
    "CompleteStatus",
    "DatasetApproval",
    "DatasetGeneration",
    "DatasetImage",
    "DatasetImageList",
    "DatasetStatus",
    "FaceAugmentationJob",
    "GenerationJob",
    "GenerationStatus",
    "ImageApproval",
    "LoraState",
    "OperationResult",
    "Pagination",
    "RegenerateResult",
    "TrainingCancel",
    "TrainingJob",
    "TrainingJobList",
    "TrainingLogs",
    "TrainingStart",
    "TrainingStatus",
    "UploadJob",
    "UploadResult",
]


@dataclasses.dataclass(frozen=True, kw_only=True)
class OperationResult(Model):
    """The ``{success, message}`` answer of simple operations."""

    success: bool | None = None
    message: str | None = None


# Characters


@dataclasses.dataclass(frozen=True, kw_only=True)
class Character(StatusModel):
    """A character record, with its wizard step and per-stage statuses."""

    required_fields = ("character_id",)

    character_id: str = ""
    organization_id: str | None = None
    creator_id: str | None = None
    name: str | None = None
    description: str | None = None
    current_step: int | None = None
    face_images_count: int | None = None
    body_images_count: int | None = None
    dataset_status: str | None = None
    face_lora_status: str | None = None
    body_lora_status: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    subscription_id: str | None = None

    @property
    def face_lora_state(self) -> Status:
        """Normalised face LoRA status."""
        return normalize_status(self.face_lora_status)

    @property
    def body_lora_state(self) -> Status:
        """Normalised body LoRA status."""
        return normalize_status(self.body_lora_status)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Pagination(Model):
    """Where a page of a list sits."""

    limit: int | None = None
    offset: int | None = None
    returned: int | None = None
    has_more: bool | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class CharacterPage(Model):
    """One page of ``GET /characters``."""

    required_fields = ("characters",)

    characters: tuple[Character, ...] = ()
    pagination: Pagination | None = None
    filters: Mapping[str, Any] | None = None


# Reference photos


@dataclasses.dataclass(frozen=True, kw_only=True)
class UploadResult(Model):
    """Result of a face or body upload.

    ``reconciled`` is True when no new upload was made because the asset list already
    held this content (a retry after a lost response, or ``skip_existing``).
    """

    required_fields = ("asset_id",)

    success: bool | None = None
    message: str | None = None
    asset_id: str = ""
    storj_url: str | None = None
    view_url: str | None = None
    filename: str | None = None
    caption: str | None = None
    caption_status: str | None = None
    image_type: str | None = None
    reconciled: bool = dataclasses.field(default=False, metadata={"local": True})


@dataclasses.dataclass(frozen=True, kw_only=True)
class Asset(Model):
    """An uploaded reference photo."""

    required_fields = ("asset_id",)

    asset_id: str = ""
    asset_type: str | None = None
    image_type: str | None = None
    filename: str | None = None
    view_url: str | None = None
    caption: str | None = None
    created_at: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class AssetList(Model):
    """``GET /{id}/assets``; ``assets`` may be filtered client-side by type."""

    required_fields = ("assets",)

    assets: tuple[Asset, ...] = ()
    total: int | None = None


# Face augmentation


@dataclasses.dataclass(frozen=True, kw_only=True)
class FaceAugmentationJob(StatusModel):
    """A queued face augmentation; credits are charged up front."""

    required_fields = ("job_id",)

    job_id: str = ""
    character_id: str | None = None
    message: str | None = None
    total_images: int | None = None
    estimated_time: Any = None
    credits_deducted: float | None = None
    remaining_balance: float | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class UploadJob(StatusModel):
    """``GET /upload-job/{job_id}/status``."""

    required_fields = ("status",)

    job_id: str | None = None
    total_images: int | None = None
    completed_images: int | None = None
    failed_images: int | None = None
    progress: float | None = None
    error: Any = None


# Dataset


@dataclasses.dataclass(frozen=True, kw_only=True)
class DatasetGeneration(Model):
    """Dataset generation was queued; renders arrive in the background."""

    required_fields = ("job_id",)

    success: bool | None = None
    message: str | None = None
    total_images: int | None = None
    job_id: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class DatasetStatus(Model):
    """Overall dataset counts and flags."""

    required_fields = ("dataset_status",)

    character_id: str | None = None
    dataset_status: str | None = None
    current_step: int | None = None
    total_images: int | None = None
    approved_images: int | None = None
    min_required: int | None = None
    max_allowed: int | None = None
    can_approve: bool | None = None
    generation_complete: bool | None = None

    @property
    def state(self) -> Status:
        """Normalised dataset status."""
        return normalize_status(self.dataset_status)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DatasetImage(Model):
    """One generated dataset image; not yet reviewed means pending."""

    required_fields = ("image_id",)

    image_id: str = ""
    filename: str | None = None
    prompt: str | None = None
    seed: int | None = None
    approved: bool | None = None
    regenerated: bool | None = None
    created_at: str | None = None
    view_url: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class DatasetImageList(Model):
    """``GET /{id}/dataset/images``."""

    required_fields = ("images",)

    character_id: str | None = None
    images: tuple[DatasetImage, ...] = ()
    total: int | None = None
    approved_count: int | None = None
    dataset_status: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImageApproval(Model):
    """Answer to approving or rejecting one image."""

    success: bool | None = None
    message: str | None = None
    image_id: str | None = None
    approved: bool | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegenerateResult(Model):
    """Answer to regenerating one image."""

    success: bool | None = None
    message: str | None = None
    image_id: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class DatasetApproval(Model):
    """Answer to approving the whole dataset."""

    success: bool | None = None
    message: str | None = None
    approved_images: int | None = None
    next_step: Any = None


# Training


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainingStart(Model):
    """A LoRA training was started and charged."""

    required_fields = ("job_id",)

    success: bool | None = None
    message: str | None = None
    job_id: str = ""
    training_steps: int | None = None
    credits_deducted: float | None = None
    remaining_balance: float | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainingJob(StatusModel):
    """A face or body LoRA training job."""

    required_fields = ("job_id", "status")

    job_id: str = ""
    character_id: str | None = None
    job_type: str | None = None
    training_service_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    progress: float | None = None
    training_phase: str | None = None
    eta_minutes: float | None = None
    training_speed: Any = None
    error: Any = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainingStatus(Model):
    """``GET /{id}/training/status``; ``character_training`` is the body LoRA."""

    face_lora_status: str | None = None
    body_lora_status: str | None = None
    face_training: TrainingJob | None = None
    character_training: TrainingJob | None = None
    face_training_history: tuple[TrainingJob, ...] = ()
    character_training_history: tuple[TrainingJob, ...] = ()


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainingJobList(Model):
    """``GET /{id}/training/jobs``."""

    required_fields = ("training_jobs",)

    training_jobs: tuple[TrainingJob, ...] = ()
    total: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainingLogs(Model):
    """Tail of a training log; ``logs`` may arrive as one string or a list of lines."""

    job_id: str | None = None
    log_lines: tuple[str, ...] = dataclasses.field(default=(), metadata={"key": "logs"})
    line_count: int | None = dataclasses.field(default=None, metadata={"key": "lines"})


@dataclasses.dataclass(frozen=True, kw_only=True)
class CompleteStatus(Model):
    """``GET /{id}/training/complete-status``."""

    character_id: str | None = None
    face_lora_status: str | None = None
    body_lora_status: str | None = None
    dataset_status: str | None = None
    generation_ready: bool | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainingCancel(StatusModel):
    """Answer to a best-effort cancellation."""

    success: bool | None = None
    message: str | None = None
    job_id: str | None = None


# Generation


@dataclasses.dataclass(frozen=True, kw_only=True)
class LoraState(StatusModel):
    """The status of one LoRA in the capabilities answer."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Capabilities(Model):
    """Whether generations can use the character's LoRAs."""

    face_lora: LoraState | None = None
    body_lora: LoraState | None = None
    generation_ready: bool | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class GenerationJob(StatusModel):
    """A queued generation."""

    required_fields = ("generation_id",)

    generation_id: str = ""
    group_id: str | None = None
    message: str | None = None
    estimated_time: Any = None
    credits_deducted: float | None = None
    remaining_balance: float | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class GenerationStatus(StatusModel):
    """``GET /generation/status/{generation_id}``."""

    required_fields = ("status",)

    generation_id: str | None = None
    progress: float | None = None
    result_urls: tuple[str, ...] = ()
    error: Any = None
