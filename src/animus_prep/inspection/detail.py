"""The pixels a pair verification needs, for fingerprints that do not keep them as arrays.

A fingerprint made from a file is compact (see `fingerprint`): when one of its pairs must
be verified, whichever process does it unpacks the pixels the fingerprint carries packed
(a pre-flight of a small folder keeps them: they are the pixels the file had when it was
analysed), or else reads the file again by path and remakes the grey copy and the
thumbnail exactly as the analysis did. A file that changed since it was fingerprinted is
not decoded again: its verification says "unavailable", never a wrong verdict. Packed
pixels that cannot be read back (the temporary file failed) fall back to the file.
Recently used pixels are kept per process, by the digest of their pixels and of their
file, so a group's representative, checked against many candidates, is decoded or
unpacked once (and its keypoints found once: `fingerprint.orb_features`).
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
"""Pixel sets kept per process (~100-120 KB each for a 512 px analysis copy)."""


class DetailUnavailable(Exception):
    """The pixels of a compact fingerprint cannot be had again (file gone or changed)."""


class _Recent:
    """The last CACHED pixel sets used, by pixel digest and file digest (safe to share
    between threads)."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple[str, str], Detail] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> Detail | None:
        with self._lock:
            detail = self._items.get(key)
            if detail is not None:
                self._items.move_to_end(key)
            return detail

    def put(self, key: tuple[str, str], detail: Detail) -> Detail:
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
    # Grey pixels alone do not say the colours were the same: the file's digest too.
    key = (fp.pixel_hash, fp.source.sha256 if fp.source is not None else "")
    detail = _recent.get(key)
    if detail is not None:
        return detail
    detail = _unpacked(fp)
    if detail is None:
        if fp.source is None:
            raise DetailUnavailable("the fingerprint keeps no pixels and names no file")
        detail = _decode_again(fp.source, fp.pixel_hash)
    return _recent.put(key, detail)


def _unpacked(fp: Fingerprint) -> Detail | None:
    """The fingerprint's packed pixels, or None when it has none or they cannot be read
    back (then the file is decoded again, where there is one)."""
    if fp.packed is None:
        return None
    try:
        return Detail.unpack(bytes(fp.packed))
    except (OSError, ValueError) as exc:
        if fp.source is None:
            raise DetailUnavailable(f"its packed pixels cannot be read back ({exc})") from exc
        return None


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
    # These bytes passed the policy's limits when they were first analysed, whatever
    # that policy was: none applies again (the default aspect ratio would refuse a strip
    # that a looser policy let through, and its pair would be "unavailable").
    policy = Policy(
        analysis_side=source.analysis_side,
        max_file_bytes=max(len(data), 1),
        max_pixels=2**62,
        max_decoded_bytes=2**62,
        max_aspect_ratio=1e12,
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
