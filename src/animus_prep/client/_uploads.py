"""Exactly-once uploads.

The asset list carries filenames but no checksum, so each file is uploaded under a name
that identifies its content (``<stem>.<sha256 first 16 hex>.<ext>``). Before resending
after a failure, the flow looks that name up in the asset list: a response lost after the
server stored the file then ends as that asset instead of a second copy. The
``Idempotency-Key`` header, derived from content, character and kind, gives a server that
honours it a second line of defence.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
from collections.abc import Iterable
from pathlib import Path, PurePath

from . import _endpoints as ep
from . import _models as m
from ._core import ClientCore, Flow

__all__ = [
    "UploadSource",
    "content_filename",
    "find_asset",
    "upload_flow",
    "upload_idempotency_key",
]

UploadSource = bytes | bytearray | memoryview | str | os.PathLike[str]

_DIGEST_LEN = 16
_MAX_STEM = 64
_MAX_EXT = 8
_TAGGED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{16})$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def content_filename(original_name: str, data: bytes) -> str:
    """``photo.jpg`` + content -> ``photo.<sha256[:16]>.jpg`` (idempotent on tagged names)."""
    name = PurePath(original_name).name or "image"
    digest = hashlib.sha256(data).hexdigest()[:_DIGEST_LEN]
    whole = _TAGGED.match(name)
    if whole is not None and whole["digest"] == digest:
        return name  # an extensionless name tagged already
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    tagged = _TAGGED.match(stem)
    if tagged is not None and tagged["digest"] == digest:
        stem = tagged["stem"]
    # Servers clean names (non-ASCII, spaces) and shorten long ones: a short ASCII stem
    # keeps the name, and so the digest, intact through both.
    stem = _UNSAFE.sub("_", stem).strip("_")[:_MAX_STEM] or "image"
    ext = _UNSAFE.sub("", ext)[:_MAX_EXT]
    return f"{stem}.{digest}.{ext}" if ext else f"{stem}.{digest}"


def upload_idempotency_key(character_id: str, kind: str, data: bytes) -> str:
    """Key that is the same for every attempt to upload this content as this kind."""
    content = hashlib.sha256(data).hexdigest()
    scope = hashlib.sha256(f"{character_id}\n{kind}\n{content}".encode()).hexdigest()
    return f"animus-prep-upload-{scope[:40]}"


def _digest_of(filename: str) -> str | None:
    stem = filename.rpartition(".")[0] if "." in filename else filename
    tagged = _TAGGED.match(stem) or _TAGGED.match(filename)
    return tagged["digest"] if tagged else None


def find_asset(
    assets: Iterable[m.Asset],
    filename: str,
    asset_type: str | None = None,
    image_type: str | None = None,
) -> m.Asset | None:
    """The asset uploaded under ``filename`` (a ``content_filename``), if any.

    Matches the exact name, or the content digest with the same extension, because a
    server may prefix stored names. ``asset_type`` / ``image_type`` narrow the search
    when the asset reports them.
    """
    digest = _digest_of(filename)
    ext = filename.rpartition(".")[2].lower() if "." in filename else ""
    for asset in assets:
        if asset_type is not None and asset.asset_type not in (None, asset_type):
            continue
        if image_type is not None and asset.image_type not in (None, image_type):
            continue
        name = asset.filename or ""
        if name == filename:
            return asset
        if digest and name.lower().endswith(ext) and _holds_digest(name, digest):
            return asset
    return None


def _holds_digest(name: str, digest: str) -> bool:
    """Whether a stored name carries ``digest`` as a whole part (``x.<digest>.jpg``, or
    ``<digest>.jpg`` when a server dropped the whole stem)."""
    return re.search(rf"(^|[._-]){digest}(\.|$)", name) is not None


def read_source(source: UploadSource, filename: str | None) -> tuple[str, bytes]:
    """The name and bytes to upload; bytes need a ``filename``."""
    if isinstance(source, bytes | bytearray | memoryview):
        if not filename:
            raise ValueError("filename= is required when uploading bytes")
        return filename, bytes(source)
    path = Path(source)
    return filename or path.name, path.read_bytes()


def upload_flow(
    core: ClientCore,
    character_id: str,
    kind: str,
    source: UploadSource,
    *,
    filename: str | None,
    image_type: str | None,
    skip_existing: bool,
) -> Flow[m.UploadResult]:
    """Upload once; reconcile with the asset list before any resend."""
    original, data = read_source(source, filename)
    name = content_filename(original, data)
    content_type = mimetypes.guess_type(original)[0] or "application/octet-stream"
    key_kind = kind if image_type is None else f"{kind}:{image_type}"
    call = ep.upload_image(
        character_id,
        kind,
        name,
        data,
        content_type,
        image_type,
        upload_idempotency_key(character_id, key_kind, data),
    )

    def reconcile() -> Flow[m.UploadResult | None]:
        listing = yield from core.execute(ep.list_assets(character_id, None))
        asset = find_asset(listing.assets, name, kind, image_type)
        if asset is None:
            return None
        return m.UploadResult(
            success=True,
            message="already uploaded",
            asset_id=asset.asset_id,
            view_url=asset.view_url,
            filename=asset.filename,
            caption=asset.caption,
            image_type=asset.image_type,
            raw=asset.raw,
            reconciled=True,
        )

    if skip_existing:
        existing = yield from reconcile()
        if existing is not None:
            return existing
    return (yield from core.execute(call, reconcile))
