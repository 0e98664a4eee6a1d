"""The pixels a pair verification needs, for fingerprints that do not keep them.

A fingerprint made from a file is compact (see `fingerprint`): when one of its pairs must
be verified, whichever process does it reads the file again by path and remakes the grey
copy and the thumbnail exactly as the analysis did. A file that changed since it was
fingerprinted is not used: its verification says "unavailable", never a wrong verdict.
Recently loaded pixels are cached per process, so a group's representative, checked
against many candidates, is decoded once.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from ..policy import Policy
from .decode import DecodedImage, decode_bytes
from .fingerprint import Detail, Fingerprint, Source, pixels, thumbnail_of
from .measure import shrink_gray

_CACHED = 128
"""Decoded pixel sets kept per process (~105 KB each for a 512 px analysis copy)."""


class DetailUnavailable(Exception):
    """The pixels of a compact fingerprint cannot be had again (file gone or changed)."""


def detail_of(fp: Fingerprint) -> Detail:
    """The fingerprint's pixels: its own, or decoded again from its source file."""
    if fp.detail is not None:
        return fp.detail
    if fp.source is None:
        raise DetailUnavailable("the fingerprint keeps no pixels and names no file")
    detail, pixel_hash = _load(fp.source)
    if pixel_hash != fp.pixel_hash:
        raise DetailUnavailable(f"{fp.source.path} decodes differently than it did")
    return detail


@lru_cache(maxsize=_CACHED)
def _load(source: Source) -> tuple[Detail, str]:
    try:
        data = Path(source.path).read_bytes()
    except OSError as exc:
        raise DetailUnavailable(f"{source.path}: {exc.strerror or exc}") from exc
    if hashlib.sha256(data).hexdigest() != source.sha256:
        raise DetailUnavailable(f"{source.path} changed since it was checked")
    # These bytes passed the size limits when they were first analysed.
    policy = Policy(
        analysis_side=source.analysis_side,
        max_file_bytes=max(len(data), 1),
        max_pixels=2**62,
    )
    decoded = decode_bytes(data, policy, name=source.path)
    if not isinstance(decoded, DecodedImage):
        raise DetailUnavailable(f"{source.path} no longer decodes")
    return pixels(shrink_gray(decoded.gray, source.analysis_side), thumbnail_of(decoded.image))
