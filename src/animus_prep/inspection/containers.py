"""What a file holds besides its picture: data after the image's end, more frames.

A ZIP archive or an HTML page appended to a JPEG still opens as that JPEG (a polyglot),
and an animated WebP or PNG opens as its first frame: both are judged on the picture,
with a note saying what else the file holds (the upload sends the whole file).
"""

from __future__ import annotations

from PIL import Image

from .jpeg import jpeg_end

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The first bytes of what people append to images, for the note.
_KNOWN_TAILS = (
    (b"PK\x03\x04", "a ZIP archive"),
    (b"%PDF", "a PDF document"),
    (b"<!DOCTYPE", "an HTML page"),
    (b"<html", "an HTML page"),
    (b"<?xml", "an XML document"),
    (b"<script", "a script"),
    (b"\x89PNG", "another PNG image"),
    (b"\xff\xd8\xff", "another JPEG image"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)


def image_end(data: bytes, fmt: str) -> int | None:
    """Offset just past the image's own data (None when it cannot be told)."""
    if fmt == "JPEG":
        return jpeg_end(data)
    if fmt == "PNG":
        return _png_end(data)
    if fmt == "WEBP" and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        size = int.from_bytes(data[4:8], "little")
        return 8 + size + (size & 1)
    return None  # MPO holds more images by design; HEIF/AVIF boxes are not walked


def _png_end(data: bytes) -> int | None:
    """Offset just past the IEND chunk, walking the chunks (a tail may contain 'IEND')."""
    if not data.startswith(_PNG_SIGNATURE):
        return None
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            return None
        if kind == b"IEND":
            return end
        pos = end
    return None


def trailing_data_note(data: bytes, fmt: str, end: int | None = None) -> str | None:
    """A note when bytes follow the end of the image, saying how many and what they look
    like; None when the file ends with its image. ``end`` is where the image ends when
    already known (a JPEG's stream scan finds it); otherwise it is looked for here."""
    end = image_end(data, fmt) if end is None else end
    if end is None or end >= len(data):
        return None
    tail = data[end:]
    if not tail.strip(b"\x00"):
        return None  # zero padding some writers add
    what = next((name for magic, name in _KNOWN_TAILS if tail.lstrip().startswith(magic)), None)
    looks = f" ({what})" if what else ""
    return (
        f"trailing_data: {len(tail):,} bytes follow the end of the image{looks}; they are "
        "not part of the picture, but an upload sends them too"
    )


def animation_note(img: Image.Image) -> str | None:
    """A note for an animated image (judged on its first frame)."""
    frames = int(getattr(img, "n_frames", 1) or 1)
    if not getattr(img, "is_animated", False) or frames < 2:
        return None
    return f"animated: {frames} frames; judged on the first frame only"
