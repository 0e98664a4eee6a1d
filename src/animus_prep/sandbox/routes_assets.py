"""Reference photos: uploads with idempotency keys, the asset list and file downloads."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse

from .auth import Org, OrgDep
from .context import Sandbox, iso
from .context import sandbox_of as _sb
from .errors import SandboxError, bad_request, not_found
from .responses import errors
from .schemas import Asset, AssetList, ErrorDetail, UploadResult, ValidationErrorBody
from .settings import (
    MAX_BODY_IMAGES,
    MAX_FACE_IMAGES,
    MAX_UPLOAD_BYTES,
    MIN_BODY_SIDE,
    MIN_FACE_SIDE,
)
from .validation import check_content_type, sanitize_filename, validate_image
from .worker import Materializer

router = APIRouter(tags=["assets"])
files_router = APIRouter(tags=["files"])

FILE_NAME_PATTERN = r"^[a-z]+_[0-9a-f]{24}\.(jpg|png|webp)$"
IMAGE_TYPE = re.compile(r"^body_image_[a-z0-9_]{1,30}$")
_EXTENSIONS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp"}
_MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
_CHUNK = 1024 * 1024
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
]


def _replay(sb: Sandbox, org: Org, key: str | None, fingerprint: str) -> UploadResult | None:
    """The stored result of an earlier request with this key, if any."""
    if key is None:
        return None
    row = sb.store.one(
        "SELECT fingerprint, response FROM idempotency WHERE org_id = ? AND key = ?",
        (org.org_id, key),
    )
    if row is None:
        return None
    if row["fingerprint"] != fingerprint:
        raise SandboxError(409, "Idempotency-Key was already used for a different request")
    return UploadResult.model_validate_json(row["response"])


@dataclass(frozen=True)
class _Spooled:
    """An upload copied to a part file in the files folder, with its size and digest."""

    path: FilePath
    size: int
    sha256: str


def _spool(sb: Sandbox, file: UploadFile) -> _Spooled:
    """Copy an upload to disk chunk by chunk while hashing it; 413 past the file limit.

    The form parser has already spooled the file to a temporary file; reading it in
    chunks keeps a large upload out of memory, and the limit is checked as it is read.
    """
    digest = hashlib.sha256()
    size = 0
    path = sb.files_dir / f"{sb.new_id('upload')}.part"
    try:
        with path.open("wb") as out:
            while chunk := file.file.read(_CHUNK):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise SandboxError(
                        413, f"File too large: over {MAX_UPLOAD_BYTES} bytes (the limit)"
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return _Spooled(path, size, digest.hexdigest())


def _upload(
    request: Request,
    org: Org,
    character_id: str,
    file: UploadFile,
    asset_type: str,
    image_type: str | None,
    idempotency_key: str | None,
) -> UploadResult:
    sb = _sb(request)
    character = sb.character_row(org, character_id)
    check_content_type(file.content_type)
    spooled = _spool(sb, file)
    stored_path: FilePath | None = None
    try:
        digest = spooled.sha256
        fingerprint = hashlib.sha256(
            f"{request.url.path}|{image_type}|{digest}".encode()
        ).hexdigest()
        replay = _replay(sb, org, idempotency_key, fingerprint)
        if replay is not None:
            return replay
        face = asset_type == "face_image"
        info = validate_image(
            spooled.path,
            MIN_FACE_SIDE if face else MIN_BODY_SIDE,
            "Face image" if face else "Body image",
        )
        filename = sanitize_filename(file.filename)
        stored = f"{sb.new_id('asset')}.{_EXTENSIONS[info.format]}"
        asset_id = stored.rsplit(".", 1)[0]
        view_url = sb.file_url(request, stored)
        caption = f"{'face' if face else 'full-body'} reference photo of {character['name']}"
        result = UploadResult(
            success=True,
            message=f"{'Face' if face else 'Body'} image uploaded",
            asset_id=asset_id,
            storj_url=view_url,
            view_url=view_url,
            filename=filename,
            caption=caption,
            caption_status="completed",
            asset_type=asset_type,
            image_type=image_type,
        )
        stored_path = sb.files_dir / stored
        os.replace(spooled.path, stored_path)
        with sb.store.transaction() as conn:
            if idempotency_key is not None:
                # Re-check under the lock: a concurrent retry may have won the race.
                again = _replay(sb, org, idempotency_key, fingerprint)
                if again is not None:
                    stored_path.unlink(missing_ok=True)
                    return again
            cap = MAX_FACE_IMAGES if face else MAX_BODY_IMAGES
            count = conn.execute(
                "SELECT COUNT(*) FROM assets WHERE character_id = ? AND asset_type = ?",
                (character_id, asset_type),
            ).fetchone()[0]
            if count >= cap:
                raise bad_request(
                    f"Limit reached: at most {cap} {asset_type.replace('_', ' ')}s per character"
                )
            conn.execute(
                "INSERT INTO assets (asset_id, character_id, asset_type, image_type, filename,"
                " file_name, caption, width, height, sha256, source, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'upload', ?)",
                (
                    asset_id,
                    character_id,
                    asset_type,
                    image_type,
                    filename,
                    stored,
                    caption,
                    info.width,
                    info.height,
                    digest,
                    sb.now(),
                ),
            )
            if idempotency_key is not None:
                conn.execute(
                    "INSERT INTO idempotency (org_id, key, fingerprint, response, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (org.org_id, idempotency_key, fingerprint, result.model_dump_json(), sb.now()),
                )
            sb.touch(conn, character_id)
    except BaseException:
        if stored_path is not None:
            stored_path.unlink(missing_ok=True)
        raise
    finally:
        spooled.path.unlink(missing_ok=True)
    return result


@router.post(
    "/{character_id}/upload/face-image",
    response_model=UploadResult,
    response_model_exclude_none=True,
    responses=errors(400, 404, 409, 413),
)
def upload_face_image(
    character_id: str,
    org: OrgDep,
    request: Request,
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP, at least 512x512")],
    idempotency_key: IdempotencyKey = None,
) -> UploadResult:
    """Upload one face reference photo. Replays the first result for a reused
    `Idempotency-Key` instead of storing a second copy."""
    return _upload(request, org, character_id, file, "face_image", None, idempotency_key)


@router.post(
    "/{character_id}/upload/body-image",
    response_model=UploadResult,
    response_model_exclude_none=True,
    responses=errors(400, 404, 409, 413),
)
def upload_body_image(
    character_id: str,
    org: OrgDep,
    request: Request,
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP")],
    image_type: Annotated[str, Form(max_length=64)] = "body_image_front",
    idempotency_key: IdempotencyKey = None,
) -> UploadResult:
    """Upload one body reference photo (`image_type` e.g. `body_image_front`)."""
    if not IMAGE_TYPE.match(image_type):
        raise bad_request("image_type must look like body_image_front or body_image_back")
    return _upload(request, org, character_id, file, "body_image", image_type, idempotency_key)


@router.get("/{character_id}/assets", response_model=AssetList, responses=errors(404))
def list_assets(
    character_id: str,
    org: OrgDep,
    request: Request,
    asset_type: Annotated[str | None, Query(pattern="^(face_image|body_image)$")] = None,
) -> AssetList:
    """Reference photos of a character (uploaded and augmented), oldest first."""
    sb = _sb(request)
    sb.character_row(org, character_id)
    materializer: Materializer = request.app.state.materializer
    materializer.catch_up(character_id)
    sql = "SELECT * FROM assets WHERE character_id = ?"
    args: tuple[str, ...] = (character_id,)
    if asset_type:
        sql += " AND asset_type = ?"
        args += (asset_type,)
    rows = sb.store.all(sql + " ORDER BY rowid", args)
    assets = [
        Asset(
            asset_id=r["asset_id"],
            asset_type=r["asset_type"],
            image_type=r["image_type"],
            filename=r["filename"],
            view_url=sb.file_url(request, r["file_name"]),
            caption=r["caption"],
            width=r["width"],
            height=r["height"],
            source=r["source"],
            created_at=iso(r["created_at"]),
        )
        for r in rows
    ]
    return AssetList(assets=assets, total=len(assets))


@files_router.get(
    "/files/{name}",
    response_class=FileResponse,
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}},
        404: {"model": ErrorDetail, "description": "No such file"},
        422: {"model": ValidationErrorBody, "description": "Malformed file name"},
        429: errors()[429],
        503: errors()[503],
    },
)
def get_file(
    name: Annotated[str, Path(pattern=FILE_NAME_PATTERN)], request: Request
) -> FileResponse:
    """Download a stored image (the target of every `view_url`); ids are unguessable.

    Streamed from disk in chunks, so a large file is never held in memory."""
    sb = _sb(request)
    path = sb.files_dir / name
    if not path.is_file():
        raise not_found("File")
    media = _MEDIA_TYPES[name.rsplit(".", 1)[1]]
    return FileResponse(path, media_type=media)
