"""Copies made to fit the server's limits (`--fix`): the original is never touched.

A photo over the server's pixel limit is shrunk to it (Lanczos), one over its byte limit
re-encoded as a high-quality JPEG, shrinking a little more only when even that is too
large. Both keep what training needs: the server's limit is far above a training crop.
The encoding is deterministic, so a rerun makes the same bytes, and the same upload name
finds the copy already on the server.
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ..inspection.checks import over_server_limits
from ..inspection.decode import load_upright
from ..policy import Policy

_QUALITIES = (95, 92, 88)
# Shrink steps when even the lowest quality is over the byte limit, and how many.
_SHRINK = 0.85
_MAX_SHRINKS = 8
# Of the original's name, kept in the copy's: short enough that the digest after it
# survives an upload name's length limit.
_STEM = 40
# One full-size copy in memory at a time, whatever the upload concurrency.
_ONE_AT_A_TIME = threading.Lock()


@dataclass(frozen=True, slots=True)
class FittedCopy:
    data: bytes
    filename: str
    note: str
    """What was done, for the upload's outcome."""


def needs_fitting(width: int, height: int, file_bytes: int, policy: Policy) -> bool:
    return over_server_limits(width, height, file_bytes, policy) is not None


def fitted_copy(path: Path, policy: Policy, original_sha256: str) -> FittedCopy:
    """A JPEG copy of the photo at ``path`` within the server's pixel and byte limits.

    Its name carries the original's content digest (``photo-<sha256[:16]>-fit.jpg``), so
    the character holding it is known as this folder's even without the folder's journal
    (the upload name adds the copy's own digest). The ``-fit`` after it keeps the copy
    from being taken for an upload of the original itself (`find_asset` matches a digest
    followed by a dot)."""
    with _ONE_AT_A_TIME:
        image = load_upright(path)
        width, height = image.size
        scale = min(1.0, math.sqrt(policy.server_max_pixels / (width * height)))
        for _ in range(_MAX_SHRINKS + 1):
            size = (max(1, math.floor(width * scale)), max(1, math.floor(height * scale)))
            shrunk = image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)
            for quality in _QUALITIES:
                out = io.BytesIO()
                shrunk.save(out, "JPEG", quality=quality, optimize=True)
                data = out.getvalue()
                if len(data) <= policy.server_max_bytes:
                    note = (
                        f"sent a copy: {size[0]}x{size[1]} JPEG at quality {quality}, "
                        f"{len(data) / 2**20:.1f} MB (the original is {width}x{height})"
                    )
                    name = f"{path.stem[:_STEM]}-{original_sha256[:16]}-fit.jpg"
                    return FittedCopy(data, name, note)
            scale *= _SHRINK
    raise ValueError(f"{path.name}: no copy fits the server's limits")
