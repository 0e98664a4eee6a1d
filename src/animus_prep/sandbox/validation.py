"""Server-side checks of uploaded reference photos.

The checks run on untrusted bytes, so the pixel count is read from the header and
checked before any decoding, and only a fixed set of decoders is allowed.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from .. import server_rules
from .errors import SandboxError, bad_request
from .settings import MAX_UPLOAD_BYTES, MAX_UPLOAD_PIXELS

# Image.open(formats=...) raises KeyError for a plugin not loaded yet, so load them all
# and keep the allowed ones this Pillow build provides.
Image.init()
ALLOWED_FORMATS = tuple(f for f in ("JPEG", "MPO", "PNG", "WEBP") if f in Image.OPEN)
ALLOWED_CONTENT_TYPES = frozenset(
    {"image/jpeg", "image/jpg", "image/pjpeg", "image/png", "image/webp"}
)
# curl and some browsers send files of unknown extension as octet-stream; the decoder
# check below is what really decides.
NEUTRAL_CONTENT_TYPES = frozenset({"application/octet-stream", ""})
# The server's own sharpness rule (shared with the pre-flight): only near-uniform or
# heavily smeared photos fall below it, so real phone photos are never refused as "blurry".
MIN_SHARPNESS = server_rules.MIN_SHARPNESS
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ImageInfo:
    """What the sandbox learned from a valid upload."""

    width: int
    height: int
    format: str
    sharpness: float


def sanitize_filename(raw: str | None, default: str = "upload.jpg") -> str:
    """A safe display name: no directories, no control characters, at most 120 chars."""
    name = unicodedata.normalize("NFKC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip("._-")
    if not name:
        return default
    if len(name) > 120:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 120 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else name[:120]
    return name


def check_content_type(content_type: str | None) -> None:
    base = (content_type or "").split(";", 1)[0].strip().lower()
    if base in ALLOWED_CONTENT_TYPES or base in NEUTRAL_CONTENT_TYPES:
        return
    raise bad_request(f"Unsupported content type {base!r}: upload a JPEG, PNG or WebP image")


def _sharpness(image: Image.Image) -> float:
    return server_rules.sharpness_score(image)


def validate_image(source: bytes | Path, min_side: int, label: str) -> ImageInfo:
    """Check that `source` (bytes, or a file read from disk as it decodes) is a safe,
    decodable, large enough and not blank image.

    Raises `SandboxError` 413 for oversized files and 400 for everything else, each with
    a human-readable detail.
    """
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise SandboxError(413, f"File too large: {size} bytes (limit {MAX_UPLOAD_BYTES} bytes)")
    if not size:
        raise bad_request("Empty file")
    try:
        opened = io.BytesIO(source) if isinstance(source, bytes) else source
        with Image.open(opened, formats=ALLOWED_FORMATS) as im:
            width, height = im.size
            if width * height > MAX_UPLOAD_PIXELS:
                raise bad_request(
                    f"Image has too many pixels ({width}x{height}); "
                    f"limit is {MAX_UPLOAD_PIXELS} pixels"
                )
            if min(width, height) < min_side:
                raise bad_request(
                    f"{label} must be at least {min_side}x{min_side} pixels, got {width}x{height}"
                )
            fmt = str(im.format)
            im.load()
            upright = ImageOps.exif_transpose(im)
            sharpness = _sharpness(upright)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise bad_request("Image has too many pixels (decompression bomb refused)") from exc
    except UnidentifiedImageError as exc:
        raise bad_request("File is not a decodable JPEG, PNG or WebP image") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise bad_request(f"Image is corrupt or truncated ({exc.__class__.__name__})") from exc
    if sharpness < MIN_SHARPNESS:
        raise bad_request(
            f"{label} failed sharpness validation (score {sharpness:.1f} < {MIN_SHARPNESS})"
        )
    return ImageInfo(width=width, height=height, format=fmt, sharpness=sharpness)
