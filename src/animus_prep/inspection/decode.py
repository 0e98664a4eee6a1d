"""One safe decode per file: everything the checks need, or a precise reason why not.

The file is read once (for its checksum too) and its header inspected: the pixel count,
the aspect ratio and the memory the decode would hold (`pixels.decode_cost`) are checked
before any pixel is decoded. JPEGs are decoded at a reduced size with libjpeg's DCT
scaling, which still reads every byte of the entropy-coded stream, in strict mode: the
damage libjpeg reports and Pillow would hide is `unreadable`. Other formats are decoded
in full and shrunk at once to about the analysis size. EXIF orientation is applied to the
reduced copy only, where it is nearly free.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import stat
import struct
import warnings
import zlib
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from pathlib import Path
from typing import TypedDict, Unpack

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from ..policy import Policy
from ..reasons import Reason, ReasonCode
from .containers import animation_note, trailing_data_note
from .jpeg import JpegDataError, decode_reduced, jpeg_quality, scan_stream
from .pixels import decode_cost, normalized_rgb, reduced, to_rgb, transparent_share

# Formats the Animus server takes. Phones write multi-picture JPEGs as "MPO".
ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP"})
# Optional formats, accepted when their Pillow plugin (pillow-heif) is installed.
OPTIONAL_FORMATS = frozenset({"HEIF", "AVIF"})

_EXTENSION_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".jfif": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
    ".heic": "HEIF",
    ".heif": "HEIF",
    ".avif": "AVIF",
    ".gif": "GIF",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}

# Everything a broken or hostile file has been seen to raise from inside Pillow's decoders.
# MemoryError and RecursionError come from crafted headers that claim absurd structures.
_DECODER_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    zlib.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    OverflowError,
    MemoryError,
    RecursionError,
    NotImplementedError,
)

ImageFile.LOAD_TRUNCATED_IMAGES = False
# Pillow logs some damage it then raises (a TIFF's absurd sample count) at error level,
# naming no file; without a handler of the application's, Python's last resort prints it
# on stderr. The file's verdict already says it (with its name), so those lines are not
# printed by themselves; an application that handles logging still receives them.
logging.getLogger("PIL").addHandler(logging.NullHandler())

_EXIF_ORIENTATION = 0x0112
_TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

TRANSPARENT_NOTE = 0.01
"""Share of transparent pixels from which a file gets a `transparent:` note."""


@dataclass(frozen=True)
class DecodedImage:
    """A decoded image, upright, reduced for analysis, with facts about the file."""

    image: Image.Image
    """Upright pixels in mode RGB or L, reduced so the shorter side is near the analysis
    size. Arrays are made from it on demand (`rgb`, `gray`): a copy costs milliseconds."""
    width: int
    """Width of the full image after EXIF orientation."""
    height: int
    format: str
    sha256: str
    file_bytes: int
    orientation: int
    """EXIF orientation tag (1 when absent)."""
    mode: str
    """Pillow mode of the file before normalisation (e.g. CMYK, I;16, P, RGBA)."""
    jpeg_quality: int | None
    """Estimated JPEG quality (1-100) from the quantisation tables, when a JPEG."""
    encoding_quality: int
    """How faithful the encoding is, 1-100: 100 lossless, a JPEG its estimated quality."""
    notes: tuple[str, ...]
    """Facts worth reporting that are not rejections (e.g. an extension that lies)."""
    source: bytes | None = field(default=None, repr=False, compare=False)
    """The file's bytes when ``image`` is a reduced copy, so that a finer copy can be
    decoded on demand (`finer_gray`); None when ``image`` is already full size."""
    pixels: np.ndarray | None = field(default=None, repr=False, compare=False)
    """The decoder's own array of ``image``'s pixels (read-only), when it made one and the
    image needed no turning: `rgb` or `gray` hands it out rather than copying ``image``
    out again (a 12 MP JPEG's RGB copy costs about a millisecond)."""

    @property
    def reduction(self) -> int | None:
        """The whole factor (1, 2, 4 or 8) by which ``image`` is smaller than the file, a
        DCT scaling or a box average of whole blocks; None for any other size."""
        for factor in (1, 2, 4, 8):
            floor = (self.width // factor, self.height // factor)
            ceiling = (-(-self.width // factor), -(-self.height // factor))
            if self.image.size in (floor, ceiling):
                return factor
        return None

    @property
    def scale(self) -> float:
        """Full-resolution pixels per analysis pixel."""
        return max(self.width, self.height) / float(max(self.image.size))

    @cached_property
    def rgb(self) -> np.ndarray:
        """The pixels as an RGB uint8 array (H, W, 3)."""
        if self.pixels is not None and self.pixels.ndim == 3:
            return self.pixels
        img = self.image if self.image.mode == "RGB" else self.image.convert("RGB")
        return np.asarray(img, dtype=np.uint8)

    @cached_property
    def gray(self) -> np.ndarray:
        """The pixels as a grey uint8 array (H, W), ITU-R 601 luma."""
        if self.pixels is not None and self.pixels.ndim == 2:
            return self.pixels
        img = self.image if self.image.mode == "L" else self.image.convert("L")
        return np.asarray(img, dtype=np.uint8)

    def finer_gray(self, short_side: int) -> Image.Image | None:
        """An upright grey copy (mode L) whose shorter side reaches ``short_side`` (or full
        size).

        Decoded again from the file's bytes: a JPEG at the coarsest DCT scale that is
        enough, its luma only, another format in full and shrunk at once. None when
        ``image`` is already that fine or is full size (nothing finer exists).
        """
        full_short = min(self.width, self.height)
        if self.source is None or min(self.image.size) >= min(short_side, full_short):
            return None
        opened = Image.open(io.BytesIO(self.source))
        finer: Image.Image
        if self.format in ("JPEG", "MPO"):
            wanted = _scaled_to(*opened.size, short_side)
            # libjpeg gives the luma of a YCbCr JPEG directly; a CMYK one is converted.
            luma = opened.mode != "CMYK"
            finer = Image.fromarray(decode_reduced(self.source, *wanted, gray=luma))
        else:
            opened.load()
            finer = reduced(opened, short_side)
        grey = finer if finer.mode == "L" else normalized_rgb(finer).convert("L")
        return upright(grey, self.orientation)


@dataclass(frozen=True, slots=True)
class DecodeFailure:
    """Why a file could not be decoded, with what was learnt before it failed."""

    reason: Reason
    sha256: str | None = None
    file_bytes: int | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None


@cache
def heif_available() -> bool:
    """Whether HEIC/AVIF files can be decoded (the optional pillow-heif plugin)."""
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:
        return False
    return True


# ISO base media file brands of still HEIF/AVIF images (the `ftyp` box opens the file).
_HEIF_BRANDS = {
    b"heic": "HEIF",
    b"heix": "HEIF",
    b"heim": "HEIF",
    b"heis": "HEIF",
    b"mif1": "HEIF",
    b"msf1": "HEIF",
    b"avif": "AVIF",
    b"avis": "AVIF",
}


def _heif_brand(data: bytes) -> str | None:
    """`HEIF` or `AVIF` when the bytes open like one (an `ftyp` box with such a brand)."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return None
    box = int.from_bytes(data[:4], "big")
    brands = [data[8:12]] + [
        data[i : i + 4] for i in range(16, min(max(box, 16), len(data), 64), 4)
    ]
    for wanted in (b"avif", b"avis"):  # an AVIF also lists mif1
        if wanted in brands:
            return "AVIF"
    return next((_HEIF_BRANDS[b] for b in brands if b in _HEIF_BRANDS), None)


def decode_path(path: str | Path, policy: Policy) -> DecodedImage | DecodeFailure:
    """Decode a file on disk; never raises for a bad file."""
    path = Path(path)
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            return DecodeFailure(Reason(ReasonCode.UNREADABLE, _not_a_file(path, st.st_mode)))
        if st.st_size > policy.max_file_bytes:
            return _too_big(st.st_size, policy)
        data = path.read_bytes()
    except OSError as exc:
        what = "broken link" if _is_broken_link(path) else "cannot read file"
        return DecodeFailure(Reason(ReasonCode.UNREADABLE, f"{what}: {exc.strerror or exc}"))
    return decode_bytes(data, policy, name=path.name)


def _is_broken_link(path: Path) -> bool:
    try:
        return path.is_symlink() and not path.exists()
    except OSError:
        return False


def _not_a_file(path: Path, mode: int) -> str:
    if stat.S_ISDIR(mode):
        if path.is_symlink() and path.parent.resolve().is_relative_to(path.resolve()):
            return (
                "a link to a folder that holds the checked folder: not followed (its walk "
                "would take in the checked folder and everything beside it); move or link "
                "the photos themselves"
            )
        try:
            os.listdir(path)
        except OSError as exc:
            return f"a folder that cannot be read, so its photos are not checked: {exc.strerror}"
        return "a folder, not a file"
    return "not a regular file (a pipe, socket or device): not read"


def decode_bytes(data: bytes, policy: Policy, *, name: str = "") -> DecodedImage | DecodeFailure:
    """Decode image bytes (a file's content or a download); never raises for bad data."""
    sha = hashlib.sha256(data).hexdigest()
    if len(data) > policy.max_file_bytes:
        return _too_big(len(data), policy, sha)
    try:
        # Pillow warns about damaged metadata it skips; those become notes on the image,
        # not noise on the user's terminal.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = _decode(data, sha, policy, name)
    except _DECODER_ERRORS as exc:
        return DecodeFailure(
            Reason(ReasonCode.UNREADABLE, _describe_decoder_error(exc)),
            sha256=sha,
            file_bytes=len(data),
        )
    if caught and isinstance(result, DecodedImage):
        seen = dict.fromkeys(f"decoder warning: {w.message}" for w in caught)
        result = replace(result, notes=result.notes + tuple(seen))
    return result


def _ratio(aspect: float) -> str:
    """An aspect ratio to one decimal, never rounded onto the limit it is over (8.04 is
    "8.1", not "8.0")."""
    return f"{math.ceil(aspect * 10) / 10:.1f}"


def _too_big(size: int, policy: Policy, sha: str | None = None) -> DecodeFailure:
    limit = policy.max_file_bytes
    return DecodeFailure(
        Reason(
            ReasonCode.TOO_LARGE,
            f"file is {size / 1e6:.1f} MB; files over {limit / 1e6:.1f} MB are not read "
            f"(policy max_file_bytes), and the server takes {policy.server_max_bytes / 1e6:.1f} "
            "MB at most: save it as a JPEG at quality 90-95",
            score=float(size),
            threshold=float(limit),
        ),
        sha256=sha,
        file_bytes=size,
    )


def _describe_decoder_error(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, MemoryError):
        text = "the file claims structures too large to decode"
    if "truncated" in text:
        return f"truncated or damaged image data ({text})"
    return f"corrupt image data ({type(exc).__name__}: {text})"


def _fail(
    code: ReasonCode,
    message: str,
    sha: str,
    size: int,
    *,
    score: float | None = None,
    threshold: float | None = None,
    **facts: Unpack[_Facts],
) -> DecodeFailure:
    """A failure with what the decode learnt before it failed."""
    reason = Reason(code, message, score=score, threshold=threshold)
    return DecodeFailure(reason, sha256=sha, file_bytes=size, **facts)


class _Facts(TypedDict, total=False):
    """What a failed decode may still have learnt about the image."""

    format: str
    width: int
    height: int


def _decode(data: bytes, sha: str, policy: Policy, name: str) -> DecodedImage | DecodeFailure:
    size = len(data)
    if size == 0:
        return _fail(ReasonCode.UNREADABLE, "empty file", sha, size)
    heif = heif_available()  # registers the plugin before the first file is opened
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        return _fail(ReasonCode.TOO_LARGE, f"decompression bomb refused ({exc})", sha, size)
    except UnidentifiedImageError:
        brand = _heif_brand(data)
        if brand is not None and not heif:
            return _fail(
                ReasonCode.UNSUPPORTED_FORMAT,
                f"a {brand} photo, which needs the optional HEIF support: "
                "pip install 'animus-prep[heif]' (or convert it to JPEG)",
                sha,
                size,
                format=brand,
            )
        return _fail(
            ReasonCode.UNREADABLE,
            "not an image (no known image format recognised in its content)",
            sha,
            size,
        )
    fmt = img.format or "unknown"
    raw_w, raw_h = img.size
    orientation = _orientation_before_load(img)
    width, height = (raw_h, raw_w) if orientation in (5, 6, 7, 8) else (raw_w, raw_h)
    facts = _Facts(format=fmt, width=width, height=height)
    accepted = ACCEPTED_FORMATS | (OPTIONAL_FORMATS if heif else frozenset())
    if fmt not in accepted:
        return _fail(
            ReasonCode.UNSUPPORTED_FORMAT,
            f"{fmt} is not accepted; convert it to JPEG or PNG "
            f"(e.g. `magick input output.jpg` or Pillow's Image.save)",
            sha,
            size,
            **facts,
        )
    if raw_w <= 0 or raw_h <= 0:
        return _fail(ReasonCode.UNREADABLE, "image has no pixels", sha, size, **facts)
    pixels = raw_w * raw_h
    if pixels > policy.max_pixels:
        return _fail(
            ReasonCode.TOO_LARGE,
            f"{raw_w}x{raw_h} is {pixels / 1e6:.0f} MP; the limit is "
            f"{policy.max_pixels / 1e6:.0f} MP (refused before decoding)",
            sha,
            size,
            score=float(pixels),
            threshold=float(policy.max_pixels),
            **facts,
        )
    aspect = max(raw_w, raw_h) / min(raw_w, raw_h)
    if aspect > policy.max_aspect_ratio:
        return _fail(
            ReasonCode.TOO_LARGE,
            f"{width}x{height}: an aspect ratio of {_ratio(aspect)}:1 is over the "
            f"{policy.max_aspect_ratio:g}:1 limit, a strip rather than a photo "
            "(refused before decoding)",
            sha,
            size,
            score=aspect,
            threshold=policy.max_aspect_ratio,
            **facts,
        )
    jpeg = fmt in ("JPEG", "MPO")
    target = _scaled_to(raw_w, raw_h, policy.analysis_side) if jpeg else (raw_w, raw_h)
    cost = decode_cost(img, fmt, target)
    if cost > policy.max_decoded_bytes:
        return _fail(
            ReasonCode.TOO_LARGE,
            f"{width}x{height} {img.mode} would take {cost / 2**20:,.0f} MB to decode; "
            f"the limit is {policy.max_decoded_bytes / 2**20:,.0f} MB (refused before "
            "decoding)",
            sha,
            size,
            score=float(cost),
            threshold=float(policy.max_decoded_bytes),
            **facts,
        )
    end = None
    if jpeg:
        scan = scan_stream(data)
        if scan.problem is not None:
            return _fail(ReasonCode.UNREADABLE, scan.problem, sha, size, **facts)
        end = scan.end if fmt == "JPEG" else None  # an MPO holds more images by design
    quality = jpeg_quality(img) if jpeg else None
    mode = img.mode
    notes: list[str] = []
    for note in (trailing_data_note(data, fmt, end), animation_note(img)):
        if note is not None:
            notes.append(note)
    decoded: np.ndarray | None = None
    if jpeg:
        try:
            decoded = decode_reduced(data, *target)
            decoded.flags.writeable = False
            pixels_img = Image.fromarray(decoded)
        except JpegDataError as exc:
            return _fail(
                ReasonCode.UNREADABLE, f"corrupt JPEG data (libjpeg: {exc})", sha, size, **facts
            )
    else:
        img.load()
        if fmt == "PNG" and "exif" in img.info:
            # A PNG's eXIf chunk may follow its pixels: known only now.
            orientation = _orientation(img)
            width, height = (raw_h, raw_w) if orientation in (5, 6, 7, 8) else (raw_w, raw_h)
        pixels_img = reduced(img, policy.analysis_side)
        transparent = transparent_share(pixels_img)
        if transparent >= TRANSPARENT_NOTE:
            notes.append(
                f"transparent: {transparent:.0%} of the picture is transparent; the checks "
                "see it as mid-grey, a trainer that drops the transparency sees whatever "
                "colour lies under it (often black): flatten it onto the background you "
                "want first"
            )
    reduced_from = data if pixels_img.size != (raw_w, raw_h) else None
    analysed = pixels_img if pixels_img.mode in ("RGB", "L") else normalized_rgb(pixels_img)
    pixels_upright = upright(analysed, orientation)
    as_decoded = decoded is not None and pixels_upright is pixels_img
    claimed = _EXTENSION_FORMATS.get(Path(name).suffix.lower())
    if claimed and claimed != ("JPEG" if fmt == "MPO" else fmt):
        notes.append(f"extension says {claimed} but the content is {fmt}")
    return DecodedImage(
        image=pixels_upright,
        width=width,
        height=height,
        format=fmt,
        sha256=sha,
        file_bytes=size,
        orientation=orientation,
        mode=mode,
        jpeg_quality=quality,
        encoding_quality=_encoding_quality(fmt, quality, data),
        notes=tuple(notes),
        source=reduced_from,
        pixels=decoded if as_decoded else None,
    )


def _scaled_to(width: int, height: int, short_side: int) -> tuple[int, int]:
    """The size of the coarsest 1/2, 1/4 or 1/8 DCT scaling of a JPEG whose shorter side
    still reaches ``short_side`` (the full size when none does).

    libjpeg-turbo can also scale by other eighths, but the measurements are calibrated on
    these (the scales Pillow's draft mode uses), and they are the cheapest.
    """
    factor = 1
    while factor < 8 and min(width, height) // (factor * 2) >= short_side:
        factor *= 2
    return -(-width // factor), -(-height // factor)


# A lossy WebP or HEIF does not record its quality setting; this is a typical one.
_UNKNOWN_LOSSY_QUALITY = 80


def _encoding_quality(fmt: str, jpeg_q: int | None, data: bytes) -> int:
    if fmt in ("JPEG", "MPO"):
        return jpeg_q or _UNKNOWN_LOSSY_QUALITY
    if fmt == "PNG":
        return 100
    if fmt == "WEBP" and b"VP8L" in data[:4096]:
        return 100  # the lossless WebP bitstream
    return _UNKNOWN_LOSSY_QUALITY


def upright(img: Image.Image, orientation: int) -> Image.Image:
    """``img`` turned upright for an EXIF ``orientation`` tag (1-8; others leave it as is).

    The one place orientation is applied: to the reduced copy, a finer copy, or a full
    image loaded for cropping alike.
    """
    transpose = _TRANSPOSE_FOR_ORIENTATION.get(orientation)
    return img if transpose is None else img.transpose(transpose)


def _orientation_before_load(img: Image.Image) -> int:
    """The EXIF orientation, without decoding pixels.

    Pillow's ``getexif()`` decodes a PNG's whole image to look for an eXIf chunk after
    the pixels, and a damaged stream's error would be swallowed here (and the pixel
    limit not yet checked); such a PNG's orientation is read after the real load.
    """
    if img.format == "PNG" and "exif" not in img.info:
        return 1
    return _orientation(img)


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(_EXIF_ORIENTATION, 1)
    except _DECODER_ERRORS:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def load_upright(path: str | Path) -> Image.Image:
    """The full-resolution image, EXIF orientation applied, in RGB.

    For files that already passed the pre-flight (which proved they decode); it raises
    what Pillow raises for anything else.
    """
    with Image.open(path) as img:
        img.load()
        # A fresh copy: the opened image's pixels are released when it is closed.
        return upright(Image.fromarray(to_rgb(img)), _orientation(img))
