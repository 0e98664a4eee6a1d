"""What a pair verification works on, for fingerprints that do not keep it as arrays.

A fingerprint made from a file is compact (see `fingerprint`): when one of its pairs must
be verified, whichever process does it uses the `features.Features` the fingerprint
carries (a duplicate search hands back those its verifications made), or else makes them
from the image's pixels: those the fingerprint carries packed (a pre-flight of a small
folder keeps them: they are the pixels the file had when it was analysed), or else the
file read again by path, with the grey copy and the thumbnail remade exactly as the
analysis did. A file that changed since it was fingerprinted is not decoded again: its
verification says "unavailable", never a wrong verdict. Packed bytes that cannot be read
back (the temporary file failed) fall back to the file. The features last made are kept
per process, by the digest of the image's pixels and of its file, so a representative
checked against many candidates in a row is decoded and searched for keypoints once.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..policy import Policy
from .decode import DecodedImage, decode_bytes
from .features import Features
from .fingerprint import Detail, Fingerprint, Source, pixels, thumbnail_of
from .measure import shrink_gray

CACHED = 256
"""Feature sets kept per process (~45 KB each at the default analysis size)."""


class DetailUnavailable(Exception):
    """The pixels of a compact fingerprint cannot be had again (file gone or changed)."""


class _Recent:
    """The last CACHED feature sets used, by pixel digest and file digest (safe to share
    between threads)."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple[str, str], Features] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> Features | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[str, str], features: Features) -> Features:
        """Keep `features`; returns those kept (another thread's, if it was first)."""
        with self._lock:
            kept = self._items.setdefault(key, features)
            self._items.move_to_end(key)
            while len(self._items) > CACHED:
                self._items.popitem(last=False)
            return kept

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_recent = _Recent()


def features_of(fp: Fingerprint) -> Features:
    """What a verification compares of the fingerprint's image: the features it carries,
    those this process made last, or features made from its pixels (`detail_of`)."""
    if fp.features is not None:
        try:
            carried = Features.unpack(bytes(fp.features))
        except (OSError, ValueError):
            carried = None  # the spool failed: made again from the pixels
        if carried is not None and carried.pixel_hash == fp.pixel_hash:
            return carried
    key = _key(fp)
    found = _recent.get(key)
    if found is not None:
        return found
    return _recent.put(key, Features.of(detail_of(fp), fp.pixel_hash))


def known_features(fp: Fingerprint) -> Features | None:
    """The features this process made last for the fingerprint's image, if it still has
    them (nothing is decoded)."""
    return _recent.get(_key(fp))


def _key(fp: Fingerprint) -> tuple[str, str]:
    # Grey pixels alone do not say the colours were the same (the thumbnail is the grey of
    # the colour thumbnail): the file's digest too, or for pixels held in memory, the
    # thumbnail's own digest.
    if fp.source is not None:
        return (fp.pixel_hash, fp.source.sha256)
    if fp.detail is not None:
        thumb = np.ascontiguousarray(fp.detail.thumbnail)
        digest = hashlib.blake2b(thumb.tobytes() + repr(thumb.shape).encode(), digest_size=16)
        return (fp.pixel_hash, "thumbnail " + digest.hexdigest())
    return (fp.pixel_hash, "")


def detail_of(fp: Fingerprint) -> Detail:
    """The fingerprint's pixels: its own, unpacked, or decoded again from its file."""
    if fp.detail is not None:
        return fp.detail
    detail = _unpacked(fp)
    if detail is not None:
        return detail
    if fp.source is None:
        raise DetailUnavailable("the fingerprint keeps no pixels and names no file")
    return _decode_again(fp.source, fp.pixel_hash)


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
    """Drop the feature sets this process keeps (they are made again on next use)."""
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
