"""One builder per operation of the Animus v2 API contract, exactly as it specifies.

Mind the irregular prefixes: only character CRUD and face augmentation live under
``/characters``; uploads, assets, dataset and training sit directly under
``/{character_id}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from . import _models as m
from ._core import Call

FACE_IMAGE = "face_image"
BODY_IMAGE = "body_image"


def seg(value: str) -> str:
    """One path segment, escaped so an id can never change the route."""
    text = str(value)
    if not text:
        raise ValueError("an id in a URL path must not be empty")
    if text in (".", ".."):  # a URL reads these as folders of its path, whatever the escaping
        raise ValueError(f"{text!r} is not an id")
    return quote(text, safe="")


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


# Characters


def create_character(name: str, description: str | None) -> Call[m.Character]:
    body = _drop_none({"name": name, "description": description})
    return Call("POST", "/characters", m.Character.from_dict, json=body)


def list_characters(limit: int, offset: int) -> Call[m.CharacterPage]:
    if not 1 <= limit <= 100:
        raise ValueError("limit must be between 1 and 100")
    if offset < 0:
        raise ValueError("offset must not be negative")
    params = {"limit": limit, "offset": offset}
    return Call("GET", "/characters", m.CharacterPage.from_dict, params=params, idempotent=True)


def next_offset(page: m.CharacterPage, offset: int) -> int | None:
    """Offset of the page after ``page``, or None when it was the last."""
    got = len(page.characters)
    if got == 0:
        return None
    p = page.pagination
    if p is not None and p.has_more is not None:
        return offset + got if p.has_more else None
    # Without has_more, a short page is the last one.
    limit = p.limit if p is not None and p.limit else got
    return offset + got if got >= limit else None


def get_character(character_id: str) -> Call[m.Character]:
    return Call("GET", f"/characters/{seg(character_id)}", m.Character.from_dict, idempotent=True)


def update_character(
    character_id: str, name: str | None, description: str | None
) -> Call[m.Character]:
    body = _drop_none({"name": name, "description": description})
    path = f"/characters/{seg(character_id)}"
    return Call("PUT", path, m.Character.from_dict, json=body, idempotent=True)


def delete_character(character_id: str) -> Call[m.OperationResult]:
    path = f"/characters/{seg(character_id)}"
    return Call("DELETE", path, m.OperationResult.from_dict, idempotent=True, gone_means_done=True)


# Reference photos


def upload_image(
    character_id: str,
    kind: str,
    filename: str,
    data: bytes,
    content_type: str,
    image_type: str | None,
    idempotency_key: str,
) -> Call[m.UploadResult]:
    """The multipart upload; ``kind`` is ``face_image`` or ``body_image``."""
    route = "face-image" if kind == FACE_IMAGE else "body-image"
    form = {"image_type": image_type} if image_type is not None else None
    return Call(
        "POST",
        f"/{seg(character_id)}/upload/{route}",
        m.UploadResult.from_dict,
        files={"file": (filename, data, content_type)},
        data=form,
        idempotency_key=idempotency_key,
    )


def list_assets(character_id: str, asset_type: str | None) -> Call[m.AssetList]:
    def parse(body: Any) -> m.AssetList:
        assets = m.AssetList.from_dict(body)
        if asset_type is None:
            return assets
        kept = tuple(a for a in assets.assets if a.asset_type == asset_type)
        return m.AssetList(assets=kept, total=assets.total, raw=assets.raw)

    return Call("GET", f"/{seg(character_id)}/assets", parse, idempotent=True)


def download(url: str) -> Call[bytes]:
    """Fetch a file by its absolute ``view_url``."""
    return Call("GET", "", bytes, idempotent=True, url=url, binary=True)


# Face augmentation


def auto_generate_faces(
    character_id: str, source_image_url: str, prompts: Sequence[str] | None
) -> Call[m.FaceAugmentationJob]:
    body = _drop_none(
        {
            "source_image_url": source_image_url,
            "prompts": list(prompts) if prompts is not None else None,
        }
    )
    path = f"/characters/{seg(character_id)}/auto-generate-face-images"
    return Call("POST", path, m.FaceAugmentationJob.from_dict, json=body)


def upload_job_status(job_id: str) -> Call[m.UploadJob]:
    path = f"/upload-job/{seg(job_id)}/status"
    return Call("GET", path, m.UploadJob.from_dict, idempotent=True)


# Dataset


def generate_dataset(
    character_id: str, use_default_prompts: bool | None, prompts: Sequence[str] | None
) -> Call[m.DatasetGeneration]:
    body = _drop_none(
        {
            "use_default_prompts": use_default_prompts,
            "prompts": list(prompts) if prompts is not None else None,
        }
    )
    path = f"/{seg(character_id)}/dataset/generate"
    return Call("POST", path, m.DatasetGeneration.from_dict, json=body)


def dataset_status(character_id: str) -> Call[m.DatasetStatus]:
    path = f"/{seg(character_id)}/dataset/status"
    return Call("GET", path, m.DatasetStatus.from_dict, idempotent=True)


def dataset_images(character_id: str, approved_only: bool) -> Call[m.DatasetImageList]:
    path = f"/{seg(character_id)}/dataset/images"
    params = {"approved_only": "true" if approved_only else "false"}
    return Call("GET", path, m.DatasetImageList.from_dict, params=params, idempotent=True)


def set_image_approval(character_id: str, image_id: str, approved: bool) -> Call[m.ImageApproval]:
    path = f"/{seg(character_id)}/dataset/images/{seg(image_id)}/approval"
    body = {"approved": approved}
    return Call("PUT", path, m.ImageApproval.from_dict, json=body, idempotent=True)


def regenerate_image(
    character_id: str, image_id: str, prompt: str | None, seed: int | None
) -> Call[m.RegenerateResult]:
    path = f"/{seg(character_id)}/dataset/images/{seg(image_id)}/regenerate"
    body = _drop_none({"prompt": prompt, "seed": seed}) or None
    return Call("POST", path, m.RegenerateResult.from_dict, json=body)


def delete_image(character_id: str, image_id: str) -> Call[m.OperationResult]:
    path = f"/{seg(character_id)}/dataset/images/{seg(image_id)}"
    return Call("DELETE", path, m.OperationResult.from_dict, idempotent=True, gone_means_done=True)


def approve_dataset(character_id: str) -> Call[m.DatasetApproval]:
    path = f"/{seg(character_id)}/dataset/approve"
    return Call("POST", path, m.DatasetApproval.from_dict)


# Training


def start_training(character_id: str, which: str) -> Call[m.TrainingStart]:
    """``which`` is ``face`` or ``body``; starting charges credits, so it is not idempotent."""
    if which not in ("face", "body"):
        raise ValueError("which must be 'face' or 'body'")
    path = f"/{seg(character_id)}/training/{which}-lora"
    return Call("POST", path, m.TrainingStart.from_dict)


def training_status(character_id: str) -> Call[m.TrainingStatus]:
    path = f"/{seg(character_id)}/training/status"
    return Call("GET", path, m.TrainingStatus.from_dict, idempotent=True)


def training_jobs(character_id: str) -> Call[m.TrainingJobList]:
    path = f"/{seg(character_id)}/training/jobs"
    return Call("GET", path, m.TrainingJobList.from_dict, idempotent=True)


def training_logs(character_id: str, job_id: str, lines: int) -> Call[m.TrainingLogs]:
    if lines < 1:
        raise ValueError("lines must be positive")
    path = f"/{seg(character_id)}/training/jobs/{seg(job_id)}/logs"
    params = {"lines": lines}
    return Call("GET", path, m.TrainingLogs.from_dict, params=params, idempotent=True)


def complete_status(character_id: str) -> Call[m.CompleteStatus]:
    path = f"/{seg(character_id)}/training/complete-status"
    return Call("GET", path, m.CompleteStatus.from_dict, idempotent=True)


def cancel_training(character_id: str, job_id: str) -> Call[m.TrainingCancel]:
    # Cancelling twice leaves the job cancelled: safe to resend.
    path = f"/{seg(character_id)}/training/jobs/{seg(job_id)}/cancel"
    return Call("POST", path, m.TrainingCancel.from_dict, idempotent=True)


# Generation


def capabilities(character_id: str) -> Call[m.Capabilities]:
    path = f"/{seg(character_id)}/generation/capabilities"
    return Call("GET", path, m.Capabilities.from_dict, idempotent=True)


def create_generation(
    character_id: str,
    prompt: str,
    *,
    use_face_lora: bool,
    use_body_lora: bool,
    num_images: int,
    seed: int | None,
    width: int | None,
    height: int | None,
    extra: Mapping[str, Any] | None,
) -> Call[m.GenerationJob]:
    body: dict[str, Any] = dict(extra or {})
    body.update(
        _drop_none(
            {
                "prompt": prompt,
                "character_id": character_id,
                "use_face_lora": use_face_lora,
                "use_body_lora": use_body_lora,
                "num_images": num_images,
                "seed": seed,
                "width": width,
                "height": height,
            }
        )
    )
    return Call("POST", "/generation/create", m.GenerationJob.from_dict, json=body)


def generation_status(generation_id: str) -> Call[m.GenerationStatus]:
    path = f"/generation/status/{seg(generation_id)}"
    return Call("GET", path, m.GenerationStatus.from_dict, idempotent=True)
