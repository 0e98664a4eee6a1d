"""Where a character stands: its photos, its dataset, its trainings, its readiness.

Read-only: five GETs, each retried by the client.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..client import (
    Capabilities,
    Character,
    Client,
    DatasetStatus,
    TrainingJob,
)

SCHEMA = "animus-prep.status/1"


@dataclass(frozen=True, slots=True)
class CharacterStatus:
    """A snapshot of one character's progress through the pipeline."""

    character: Character
    assets: dict[str, int]
    """Uploaded photos by type: ``face_image`` and each ``body_image_<view>``."""
    dataset: DatasetStatus
    trainings: tuple[TrainingJob, ...] = field(default=())
    """Every training job, newest first."""
    capabilities: Capabilities | None = None

    @property
    def generation_ready(self) -> bool:
        return bool(self.capabilities is not None and self.capabilities.generation_ready)

    def to_json(self) -> dict[str, object]:
        c, d = self.character, self.dataset
        caps = self.capabilities
        return {
            "schema": SCHEMA,
            "character_id": c.character_id,
            "name": c.name,
            "description": c.description,
            "current_step": c.current_step,
            "assets": dict(self.assets),
            "dataset": {
                "status": d.dataset_status,
                "total_images": d.total_images,
                "approved_images": d.approved_images,
                "min_required": d.min_required,
                "max_allowed": d.max_allowed,
                "can_approve": d.can_approve,
                "generation_complete": d.generation_complete,
            },
            "trainings": [
                {
                    "job_id": j.job_id,
                    "job_type": j.job_type,
                    "status": j.status,
                    "progress": j.progress,
                    "training_phase": j.training_phase,
                    "eta_minutes": j.eta_minutes,
                    "created_at": j.created_at,
                    "completed_at": j.completed_at,
                    "error": j.error,
                }
                for j in self.trainings
            ],
            "face_lora": caps.face_lora.status if caps and caps.face_lora else None,
            "body_lora": caps.body_lora.status if caps and caps.body_lora else None,
            "generation_ready": self.generation_ready,
        }


def character_status(client: Client, cid: str) -> CharacterStatus:
    """Read the character, its assets, dataset, training jobs and generation readiness."""
    character = client.characters.get(cid)
    counts: Counter[str] = Counter()
    for asset in client.assets.list(cid).assets:
        kind = asset.asset_type or "unknown"
        counts[asset.image_type if kind == "body_image" and asset.image_type else kind] += 1
    dataset = client.dataset.status(cid)
    jobs = client.training.jobs(cid).training_jobs
    newest_first = tuple(sorted(jobs, key=lambda j: j.created_at or "", reverse=True))
    return CharacterStatus(
        character=character,
        assets=dict(sorted(counts.items())),
        dataset=dataset,
        trainings=newest_first,
        capabilities=client.generation.capabilities(cid),
    )


__all__ = ["SCHEMA", "CharacterStatus", "character_status"]
