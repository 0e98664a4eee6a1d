"""JPEG facts Pillow does not surface: damaged data, where the image ends, the quality.

Pixels are decoded with libjpeg-turbo through simplejpeg in strict mode: libjpeg reports
damage it can paper over (extraneous bytes, a bad Huffman code, a premature end of a
segment or of the file) as warnings, which Pillow hides and simplejpeg raises. The
output is the same libjpeg's, pixel for pixel, as Pillow's draft decode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import simplejpeg
from PIL import Image


class JpegDataError(ValueError):
    """libjpeg found the entropy-coded data damaged (its message says how)."""


def decode_reduced(
    data: bytes, min_width: int, min_height: int, *, gray: bool = False
) -> np.ndarray:
    """The JPEG's pixels at the coarsest DCT scale keeping at least ``min_width`` x
    ``min_height`` (RGB, or one channel for a grey JPEG; CMYK is converted). With
    ``gray``, only the luma (libjpeg then skips the colour planes: about half the work).

    Raises `JpegDataError` for any damage libjpeg notices, even damage it would decode
    around.
    """
    try:
        colorspace = simplejpeg.decode_jpeg_header(data)[2]
        out = simplejpeg.decode_jpeg(
            data,
            "GRAY" if gray or colorspace == "Gray" else "RGB",
            min_height=min_height,
            min_width=min_width,
            strict=True,
        )
    except ValueError as exc:
        raise JpegDataError(str(exc).strip() or "corrupt JPEG data") from None
    arr: np.ndarray = out[:, :, 0] if out.ndim == 3 and out.shape[2] == 1 else out
    return arr


# Inside entropy-coded JPEG data a 0xFF byte may only be followed by a stuffed 0x00, a
# restart marker, fill, or (between progressive scans) table, scan and comment markers.
_BAD_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff\xc4\xcc\xda\xdb\xdd\xfe\xe0-\xef]")


@dataclass(frozen=True, slots=True)
class StreamScan:
    """What one pass over a JPEG's entropy-coded data found."""

    problem: str | None
    """A structural fault the decoder would paper over (None when the data is whole)."""
    end: int | None
    """Offset just past the end-of-image marker that closes the first image's data (None
    when the structure cannot be followed or the data is damaged)."""


def scan_stream(data: bytes) -> StreamScan:
    """Follow a JPEG's structure to the end of its first image, in one pass.

    libjpeg fills damaged or missing data with grey and only warns, so garbage inside the
    stream and a missing end marker are looked for directly (well under a millisecond per
    megabyte); the same pass finds where the image ends, for the trailing-data note.
    """
    start = _first_scan_start(data)
    if start is None:
        # An odd header the decoder copes with (e.g. junk before the markers): keep to
        # the one check that needs no structure.
        if data.rfind(b"\xff\xd9") == -1:
            return StreamScan("truncated JPEG (no end-of-image marker)", None)
        return StreamScan(None, None)
    # The first marker that may not appear inside scan data must be the end-of-image
    # marker; anything else is garbage, and none at all is a truncation.
    found = _BAD_MARKER.search(data, start)
    if found is None:
        return StreamScan("truncated JPEG (the data stops before the end-of-image marker)", None)
    at = found.start()
    if data[at + 1] != 0xD9:
        return StreamScan(
            f"corrupt JPEG data (invalid marker 0x{data[at + 1]:02X} at byte {at})", None
        )
    return StreamScan(None, at + 2)


def jpeg_end(data: bytes) -> int | None:
    """Offset just past the end-of-image marker that closes the first image's data (None
    when the structure cannot be followed)."""
    return scan_stream(data).end


def _first_scan_start(data: bytes) -> int | None:
    """Offset just past the first start-of-scan header, walking the marker segments."""
    pos = 2  # after SOI
    n = len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0xD8 or 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2  # markers without a payload
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2:
            return None
        if marker == 0xDA:
            return pos + 2 + length
        pos += 2 + length
    return None


def jpeg_quality(img: Image.Image) -> int | None:
    """Estimate libjpeg's quality setting from the luminance quantisation table."""
    tables = getattr(img, "quantization", None)
    if not tables or 0 not in tables:
        return None
    table = list(tables[0])
    if len(table) != 64:
        return None
    # libjpeg scales its standard table by S percent, with S = 5000/q below quality 50 and
    # 200 - 2q above; the sum of the table is order-independent, so it recovers S.
    scale = sum(table) * 100.0 / sum(_STD_LUMA)
    quality = 5000.0 / scale if scale > 100 else (200.0 - scale) / 2.0
    return int(max(1, min(100, round(quality))))


_STD_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
