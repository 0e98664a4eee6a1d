"""The pixels a pair verification needs, for fingerprints that do not keep them as arrays.

A fingerprint made from a file is compact (see `fingerprint`): when one of its pairs must
be verified, whichever process does it unpacks the pixels the fingerprint carries packed
(a pre-flight of a small folder keeps them), or else reads the file again by path and
remakes the grey copy and the thumbnail exactly as the analysis did. A file that changed
since it was fingerprinted is not used: its verification says "unavailable", never a
wrong verdict. Recently used pixels are kept per process, by the digest of their pixels,
so a group's representative, checked against many candidates, is decoded or unpacked
once (and its keypoints found once: `fingerprint.orb_features`).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

from ..policy import Policy
from .decode import DecodedImage, decode_bytes
from .fingerprint import Detail, Fingerprint, Source, pixels, thumbnail_of
from .measure import shrink_gray

CACHED = 128
"""Pixel sets kept per process (~105 KB each for a 512 px analysis copy)."""


class DetailUnavailable(Exception):
    """The pixels of a compact fingerprint cannot be had again (file gone or changed)."""


class _Recent:
    """The last CACHED pixel sets used, by pixel digest (safe to share between threads)."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, Detail] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Detail | None:
        with self._lock:
            detail = self._items.get(key)
            if detail is not None:
                self._items.move_to_end(key)
            return detail

    def put(self, key: str, detail: Detail) -> Detail:
        """Keep `detail`; returns the one kept (another thread's, if it was first)."""
        with self._lock:
            kept = self._items.setdefault(key, detail)
            self._items.move_to_end(key)
            while len(self._items) > CACHED:
                self._items.popitem(last=False)
            return kept

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_recent = _Recent()


def detail_of(fp: Fingerprint) -> Detail:
    """The fingerprint's pixels: its own, unpacked, or decoded again from its file."""
    if fp.detail is not None:
        return fp.detail
    detail = _recent.get(fp.pixel_hash)
    if detail is not None:
        return detail
    if fp.packed is not None:
        detail = Detail.unpack(bytes(fp.packed))
    elif fp.source is not None:
        detail = _decode_again(fp.source, fp.pixel_hash)
    else:
        raise DetailUnavailable("the fingerprint keeps no pixels and names no file")
    return _recent.put(fp.pixel_hash, detail)


def forget_recent() -> None:
    """Drop the pixel sets this process keeps (they are had again on next use)."""
    _recent.clear()


def _decode_again(source: Source, pixel_hash: str) -> Detail:
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
    detail, digest = pixels(
        shrink_gray(decoded.gray, source.analysis_side), thumbnail_of(decoded.image)
    )
    if digest != pixel_hash:
        raise DetailUnavailable(f"{source.path} decodes differently than it did")
    return detail
