"""Compact, picklable image fingerprints for duplicate search, made once per decode.

Three 64-bit perceptual hashes (DCT of the whole frame, gradient of the whole frame, DCT of
the centre) find candidates cheaply. A candidate pair is verified geometrically on two
copies of the pixels (`Detail`): a grey copy for ORB keypoints and a grey thumbnail.

Those copies are most of a fingerprint's weight (~120 KB), so a fingerprint made from a
file travels and is kept *compact*: hashes, a JPEG preview of the thumbnail (what reports
show), the thumbnail's colour histogram, and the `Source` to decode the pixels again from
when a pair must be verified (`inspection.detail`). It may also carry its pixels packed
into bytes (`Detail.pack`), which a pre-flight of a small folder keeps in its temporary
file rather than in memory (`spooled`), so that verifying a pair decodes nothing; and,
during a duplicate search, the `features.Features` its first verification made. A
fingerprint made from bytes that never touched the disk keeps its pixels.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace

import imagehash
import numpy as np
from PIL import Image

from .._opencv import cv2
from .spool import BytesSpool, SpooledBytes

THUMB_SIDE = 192
"""Longer side of the RGB thumbnail (also what reports show)."""
PREVIEW_QUALITY = 80
"""JPEG quality of the stored preview of the thumbnail."""
TINY_SIDE = 12
"""Side of the tiny grey copy that orders candidates when their hashes are all close."""
_CENTRE_SHARE = 0.8


@dataclass(frozen=True, slots=True)
class Source:
    """Where a compact fingerprint's pixels can be decoded again from."""

    path: str
    """Absolute path of the file (read again by whichever process verifies a pair)."""
    sha256: str
    """The file's digest when it was fingerprinted: a file changed since is not used."""
    analysis_side: int
    """Policy.analysis_side the fingerprint was made with."""


@dataclass(frozen=True, slots=True, eq=False)
class Detail:
    """The pixels a pair verification works on."""

    gray: np.ndarray
    """Grey copy at half the analysis size: keypoints are found on it when needed."""
    thumbnail: np.ndarray
    """The RGB thumbnail in grey (uint8, longer side THUMB_SIDE or less for small
    images): what aligned copies are compared on. Grey, a third of the RGB's weight, so
    a worker keeps more of the pixel sets it verifies with in the same memory."""

    def pack(self) -> bytes:
        """Both copies as bytes (their shapes, then their pixels): see `unpack`."""
        gray, thumb = np.ascontiguousarray(self.gray), np.ascontiguousarray(self.thumbnail)
        for a in (gray, thumb):
            if a.dtype != np.uint8 or a.ndim != 2:
                raise ValueError(f"only grey uint8 pixels pack, not {a.dtype} {a.shape}")
        return _PACKED_SHAPES.pack(*gray.shape, *thumb.shape) + gray.tobytes() + thumb.tobytes()

    @staticmethod
    def unpack(data: bytes) -> Detail:
        """The Detail `pack` made these bytes from (ValueError for any other bytes)."""
        head = _PACKED_SHAPES.size
        if len(data) < head:
            raise ValueError("packed pixels too short")
        gh, gw, th, tw = _PACKED_SHAPES.unpack_from(data)
        if len(data) != head + gh * gw + th * tw:
            raise ValueError("packed pixels do not match their shapes")
        pixels = np.frombuffer(data, dtype=np.uint8, offset=head)
        gray = pixels[: gh * gw].reshape(gh, gw).copy()
        return Detail(gray, pixels[gh * gw :].reshape(th, tw).copy())


_PACKED_SHAPES = struct.Struct("<4I")


@dataclass(frozen=True, slots=True, eq=False)
class Fingerprint:
    """What duplicate search needs of one image (compared by identity, not by value)."""

    phash: int
    dhash: int
    centre_phash: int
    mirror_phash: int
    """`phash` of the picture flipped left to right: a mirrored copy's `phash` is near it."""
    pixel_hash: str
    """Digest of the grey analysis pixels: equal for lossless re-encodings of one picture."""
    preview: bytes | SpooledBytes
    """The thumbnail as a JPEG (quality PREVIEW_QUALITY), for reports: the bytes, or where
    a pre-flight keeps them out of memory (`spool`); `bytes(preview)` reads either."""
    palette: np.ndarray
    """64 float32: the thumbnail's colour histogram (4 levels per channel), square-rooted
    and summing to 1 before the root; for choosing a varied set."""
    tiny: bytes
    """The picture in TINY_SIDE x TINY_SIDE grey pixels (uint8, area-averaged): which of
    many candidates whose hashes differ by a few bits (a burst) looks most alike."""
    detail: Detail | None = None
    """The pixels, when kept; None for a compact fingerprint (see `source`)."""
    source: Source | None = None
    """Where the pixels can be decoded again, for a fingerprint made from a file."""
    packed: bytes | SpooledBytes | None = None
    """The pixels packed (`Detail.pack`), when kept so (`compact(keep_packed=True)`): a
    verification unpacks them instead of decoding the file again."""
    features: bytes | SpooledBytes | None = None
    """What pair verification compares of it (`features.Features.pack`), once a duplicate
    search has had them made: its later verifications unpack them instead of decoding
    the file again and finding its keypoints again."""

    @property
    def hashes(self) -> tuple[int, int, int]:
        return (self.phash, self.dhash, self.centre_phash)

    @property
    def thumbnail(self) -> np.ndarray:
        """RGB uint8 thumbnail, decoded from the preview."""
        return decode_preview(bytes(self.preview))

    @property
    def gray(self) -> np.ndarray:
        """The grey verification copy (only of a fingerprint that keeps its pixels)."""
        if self.detail is None:
            raise ValueError("a compact fingerprint keeps no pixels: see inspection.detail")
        return self.detail.gray

    def compact(self, source: Source, *, keep_packed: bool = False) -> Fingerprint:
        """This fingerprint without its pixels as arrays, which `source` can give again;
        with `keep_packed`, they stay packed into bytes (`packed`, ~120 KB at the default
        analysis size), so verifying one of its pairs decodes nothing."""
        packed = None
        if keep_packed:
            packed = self.detail.pack() if self.detail is not None else self.packed
        return replace(self, detail=None, source=source, packed=packed)

    def spooled(self, spool: BytesSpool) -> Fingerprint:
        """This fingerprint with its preview (and packed pixels) kept in `spool` rather
        than in memory."""
        preview, packed = self.preview, self.packed
        if not isinstance(preview, SpooledBytes):
            preview = spool.keep(preview)
        if isinstance(packed, bytes):
            packed = spool.keep(packed)
        if preview is self.preview and packed is self.packed:
            return self
        return replace(self, preview=preview, packed=packed)


def tiny_vectors(prints: Sequence[Fingerprint]) -> np.ndarray:
    """The tiny copies as rows of zero mean and unit variance (brightness and contrast
    changes do not count), to compare by distance."""
    rows = np.frombuffer(b"".join(p.tiny for p in prints), dtype=np.uint8)
    v = rows.reshape(len(prints), TINY_SIDE * TINY_SIDE).astype(np.float32)
    v -= v.mean(axis=1, keepdims=True)
    v /= v.std(axis=1, keepdims=True) + 1e-6
    return v


def hamming(a: int, b: int) -> int:
    """Number of differing bits of two 64-bit hashes."""
    return (a ^ b).bit_count()


def _hash_int(h: imagehash.ImageHash) -> int:
    return _bits_int(np.asarray(h.hash))


def _bits_int(bits: np.ndarray) -> int:
    """64 bits in row-major order as an integer, the first bit highest (imagehash's hex
    string read as a number)."""
    return int.from_bytes(np.packbits(bits.ravel().astype(bool)).tobytes(), "big")


_PHASH_SIDE = 32
"""imagehash.phash's working size: hash_size 8 x highfreq_factor 4."""
_PHASH_BITS = 8
# The first 8 rows of scipy.fftpack's unnormalised DCT-II over 32 samples,
# y[k] = 2 * sum_n x[n] * cos(pi * k * (2n + 1) / 64): the only coefficients phash keeps.
_PHASH_DCT = 2.0 * np.cos(
    np.pi
    * np.arange(_PHASH_BITS)[:, None]
    * (2 * np.arange(_PHASH_SIDE)[None, :] + 1)
    / (2 * _PHASH_SIDE)
)


def phash(image: Image.Image) -> int:
    """imagehash.phash(image) as an integer, bit for bit, without its scipy import.

    imagehash takes the 2-D DCT of a 32 px Lanczos copy with scipy.fftpack, which costs
    ~30 MB resident in every process that hashes (each worker and the parent) for a
    32x32 transform; the 8x8 low frequencies it keeps are two small matrix products.
    """
    small = image.convert("L").resize((_PHASH_SIDE, _PHASH_SIDE), Image.Resampling.LANCZOS)
    pixels = np.asarray(small, dtype=np.float64)
    # Rounded far below any real difference between coefficients (which are sums of
    # 1,024 grey levels), so a coefficient that is exactly zero in scipy's transform of
    # a flat or symmetric picture is zero here too, not a rounding error's sign.
    low = np.round(_PHASH_DCT @ pixels @ _PHASH_DCT.T, 6)
    return _bits_int(low > np.median(low))


def thumbnail(rgb: np.ndarray, side: int = THUMB_SIDE) -> np.ndarray:
    h, w = rgb.shape[:2]
    f = min(1.0, side / max(h, w))
    if f >= 1.0:
        return rgb.copy()
    # Halve with the Gaussian pyramid while still over twice the target (fast and free of
    # aliasing), then area-average the rest of the way.
    small = rgb
    while max(small.shape[:2]) >= 4 * side:
        small = cv2.pyrDown(small)
    size = (max(1, round(w * f)), max(1, round(h * f)))
    out: np.ndarray = cv2.resize(small, size, interpolation=cv2.INTER_AREA)
    return out


def _small(gray: np.ndarray, side: int) -> Image.Image:
    # imagehash resizes with Lanczos from whatever it is given; an area-averaged 64 px copy
    # gives the same hash bits at a fraction of the cost.
    return Image.fromarray(cv2.resize(gray, (side, side), interpolation=cv2.INTER_AREA))


def half_size(gray: np.ndarray) -> np.ndarray:
    """The grey analysis copy at half size (unchanged when already small)."""
    h, w = gray.shape
    if min(h, w) < 256:
        return gray
    return cv2.resize(gray, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)


def thumbnail_of(image: Image.Image, side: int = THUMB_SIDE) -> np.ndarray:
    """RGB thumbnail of a Pillow image: box-reduced in Pillow, then area-averaged."""
    factor = max(1, max(image.size) // (2 * side))
    small = image.reduce(factor) if factor > 1 else image
    return thumbnail(np.asarray(small.convert("RGB") if small.mode != "RGB" else small), side)


def encode_preview(thumb: np.ndarray) -> bytes:
    """The RGB thumbnail as JPEG bytes."""
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(thumb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, PREVIEW_QUALITY]
    )
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 RGB array
        raise ValueError("could not encode the thumbnail")
    return bytes(buf)


def decode_preview(data: bytes) -> np.ndarray:
    """RGB uint8 array of a preview made by `encode_preview`."""
    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("not a preview image")
    out: np.ndarray = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return out


def palette_of(thumb: np.ndarray) -> np.ndarray:
    """Colour histogram of an RGB thumbnail: 4 levels per channel, square-rooted."""
    small = thumb.reshape(-1, 3) // 64
    hist = np.bincount(small[:, 0] * 16 + small[:, 1] * 4 + small[:, 2], minlength=64)
    out: np.ndarray = np.sqrt(hist / max(int(hist.sum()), 1)).astype(np.float32)
    return out


def pixels(gray: np.ndarray, thumb: np.ndarray) -> tuple[Detail, str]:
    """The verification pixels of an image and the digest of its grey analysis copy."""
    pixel_hash = hashlib.blake2b(
        np.ascontiguousarray(gray).tobytes() + repr(gray.shape).encode(), digest_size=16
    ).hexdigest()
    grey_thumb = cv2.cvtColor(thumb, cv2.COLOR_RGB2GRAY) if thumb.ndim == 3 else thumb
    return Detail(half_size(gray), grey_thumb), pixel_hash


def fingerprint(gray: np.ndarray, thumb: np.ndarray) -> Fingerprint:
    """Fingerprint an upright image from its grey analysis copy and its RGB thumbnail; the
    result keeps its pixels (`Fingerprint.compact` drops them)."""
    detail, pixel_hash = pixels(gray, thumb)
    half = detail.gray
    h, w = half.shape
    ch, cw = max(1, int(h * _CENTRE_SHARE)), max(1, int(w * _CENTRE_SHARE))
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    centre = np.ascontiguousarray(half[y0 : y0 + ch, x0 : x0 + cw])
    small = _small(half, 64)
    return Fingerprint(
        phash=phash(small),
        dhash=_hash_int(imagehash.dhash(small)),
        mirror_phash=phash(small.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
        centre_phash=phash(_small(centre, 64)),
        pixel_hash=pixel_hash,
        preview=encode_preview(thumb),
        palette=palette_of(thumb),
        tiny=cv2.resize(half, (TINY_SIDE, TINY_SIDE), interpolation=cv2.INTER_AREA).tobytes(),
        detail=detail,
    )
