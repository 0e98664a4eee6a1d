"""One safe decode per file: formats, damage, bombs, orientation and pixel modes."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from animus_prep.inspection.decode import DecodedImage, DecodeFailure, decode_bytes, decode_path
from animus_prep.policy import Policy
from animus_prep.reasons import ReasonCode
from photos import encode, photo

POLICY = Policy()


def ok(result: DecodedImage | DecodeFailure) -> DecodedImage:
    assert isinstance(result, DecodedImage), getattr(result, "reason", result)
    return result


def failed(result: DecodedImage | DecodeFailure, code: ReasonCode) -> DecodeFailure:
    assert isinstance(result, DecodeFailure), "expected a rejection"
    assert result.reason.code is code, result.reason
    assert result.reason.message
    return result


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return photo("astronaut", 1200)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_accepted_formats_decode_at_reduced_size_with_true_dimensions(
    astronaut: np.ndarray, fmt: str
) -> None:
    r = ok(decode_bytes(encode(astronaut, fmt), POLICY, name=f"x.{fmt.lower()}"))
    assert (r.width, r.height) == (1200, 1200)
    assert r.format == fmt
    assert r.rgb.dtype == np.uint8 and r.rgb.shape[2] == 3
    if fmt == "JPEG":
        # DCT scaling: 1200 -> 600, never under the analysis size.
        assert r.rgb.shape[:2] == (600, 600)
    assert min(r.rgb.shape[:2]) >= POLICY.analysis_side
    assert r.sha256 == __import__("hashlib").sha256(encode(astronaut, fmt)).hexdigest()


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_formats_are_unsupported_with_a_hint(astronaut: np.ndarray, fmt: str) -> None:
    f = failed(decode_bytes(encode(astronaut, fmt), POLICY), ReasonCode.UNSUPPORTED_FORMAT)
    assert fmt in f.reason.message and "convert" in f.reason.message
    assert (f.width, f.height) == (1200, 1200)


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9, 0.995])
def test_truncated_jpeg_is_unreadable(astronaut: np.ndarray, cut: float) -> None:
    data = encode(astronaut)
    failed(decode_bytes(data[: int(len(data) * cut)], POLICY), ReasonCode.UNREADABLE)


@pytest.mark.parametrize("progressive", [False, True])
def test_garbage_inside_the_jpeg_stream_is_unreadable(
    astronaut: np.ndarray, progressive: bool
) -> None:
    data = encode(astronaut, progressive=progressive)
    rng = np.random.default_rng(3)
    mid = len(data) // 2
    damaged = data[:mid] + rng.integers(0, 256, 2048, dtype=np.uint8).tobytes() + data[mid + 2048 :]
    failed(decode_bytes(damaged, POLICY), ReasonCode.UNREADABLE)


@pytest.mark.parametrize("cut", [0.3, 0.7])
def test_truncated_png_and_webp_are_unreadable(astronaut: np.ndarray, cut: float) -> None:
    for fmt in ("PNG", "WEBP"):
        data = encode(astronaut, fmt)
        failed(decode_bytes(data[: int(len(data) * cut)], POLICY), ReasonCode.UNREADABLE)


def test_text_and_empty_files_are_unreadable() -> None:
    failed(decode_bytes(b"hello, this is not a photo\n", POLICY), ReasonCode.UNREADABLE)
    f = failed(decode_bytes(b"", POLICY), ReasonCode.UNREADABLE)
    assert "empty" in f.reason.message


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [12_000, 40_000])
def test_decompression_bombs_are_refused_before_decoding(side: int) -> None:
    f = failed(decode_bytes(_png_header_only(side, side), POLICY), ReasonCode.TOO_LARGE)
    assert "MP" in f.reason.message or "bomb" in f.reason.message


def test_pixel_limit_comes_from_the_policy(astronaut: np.ndarray) -> None:
    tight = Policy(max_pixels=1_000_000)
    f = failed(decode_bytes(encode(astronaut), tight), ReasonCode.TOO_LARGE)
    assert f.reason.threshold == 1_000_000


def test_file_size_limit_is_checked_without_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.jpg"
    with path.open("wb") as fh:
        fh.truncate(3_000_000)
    f = failed(decode_path(path, Policy(max_file_bytes=2_000_000)), ReasonCode.TOO_LARGE)
    assert f.file_bytes == 3_000_000
    # Which limit it is (not the server's, which `--fix` would mend) and what to do.
    assert f.reason.message.startswith("file is 3.0 MB; files over 2.0 MB are not read")
    assert "the server takes 21.0 MB at most: save it as a JPEG" in f.reason.message


def test_a_strip_just_over_the_aspect_limit_is_not_said_to_be_at_it() -> None:
    strip = np.zeros((100, 850, 3), np.uint8)  # 8.5:1
    f = failed(decode_bytes(encode(strip), POLICY), ReasonCode.TOO_LARGE)
    assert "an aspect ratio of 8.5:1 is over the 8:1 limit" in f.reason.message
    barely = failed(
        decode_bytes(encode(np.zeros((100, 801, 3), np.uint8)), POLICY), ReasonCode.TOO_LARGE
    )
    assert "8.1:1 is over the 8:1 limit" in barely.reason.message


def test_missing_file_is_unreadable_not_a_crash(tmp_path: Path) -> None:
    failed(decode_path(tmp_path / "gone.jpg", POLICY), ReasonCode.UNREADABLE)


def _with_orientation(arr: np.ndarray, orientation: int) -> bytes:
    img = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95, exif=exif.tobytes())
    return buf.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_exif_transpose(orientation: int) -> None:
    arr = photo("chelsea", 600)  # not square, not symmetric
    data = _with_orientation(arr, orientation)
    r = ok(decode_bytes(data, POLICY))
    from PIL import ImageOps

    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    assert (r.height, r.width) == expected.shape[:2]
    assert r.rgb.shape == expected.shape
    diff = np.abs(r.rgb.astype(int) - expected.astype(int)).mean()
    assert diff < 2.0
    assert r.orientation == orientation
    # The arrays may be the decoder's own, which ``image`` shares: nobody may write them.
    assert not r.rgb.flags.writeable and not r.gray.flags.writeable


@pytest.mark.parametrize("orientation", [1, 6, 8])
def test_a_finer_copy_of_a_reduced_jpeg_is_upright_and_just_large_enough(
    orientation: int,
) -> None:
    arr = photo("chelsea", 2400)  # 3255x2400: the analysis copy is a 1/4 DCT reduction
    data = _with_orientation(arr, orientation)
    r = ok(decode_bytes(data, POLICY))
    assert min(r.image.size) == 600 and r.source == data
    finer = r.finer_gray(1000)
    assert finer is not None and finer.mode == "L"
    assert min(finer.size) == 1200  # 1/2 is the coarsest DCT scale reaching 1000
    # Same shape (orientation applied) and the same picture as the reduced copy.
    assert finer.size[0] / finer.size[1] == pytest.approx(r.width / r.height, rel=0.01)
    back = np.asarray(finer.resize(r.image.size, Image.Resampling.BOX), dtype=int)
    assert np.abs(back - r.gray.astype(int)).mean() < 3.0
    full = r.finer_gray(5000)
    assert full is not None and full.size == (r.width, r.height)
    assert r.finer_gray(500) is None  # the reduced copy is already that fine


def test_no_finer_copy_when_the_image_is_already_full_size() -> None:
    small_jpeg = ok(decode_bytes(encode(photo("astronaut", 512), "JPEG"), POLICY))
    small_png = ok(decode_bytes(encode(photo("astronaut", 700), "PNG"), POLICY))
    for r in (small_jpeg, small_png):
        assert r.source is None and r.scale == 1.0
        assert r.finer_gray(10_000) is None


def test_a_large_png_is_shrunk_at_once_and_a_finer_copy_decoded_on_demand() -> None:
    arr = photo("chelsea", 2400)
    r = ok(decode_bytes(encode(arr, "PNG"), POLICY))
    # Shrunk by a whole factor right after the decode: the checks never see full size.
    assert r.scale == 4.0 and min(r.image.size) == 600
    finer = r.finer_gray(1200)
    assert finer is not None and min(finer.size) == 1200 and finer.mode == "L"
    full = r.finer_gray(10_000)
    assert full is not None and full.size == (arr.shape[1], arr.shape[0])


def test_a_png_with_a_damaged_pixel_stream_is_unreadable() -> None:
    data = bytearray(encode(photo("chelsea", 600), "PNG"))
    idat = data.find(b"IDAT")
    data[idat + 2000] ^= 0x10  # one flipped bit inside the compressed pixels
    failed(decode_bytes(bytes(data), POLICY), ReasonCode.UNREADABLE)


@pytest.mark.parametrize("exif_after_pixels", [False, True])
def test_png_exif_orientation_is_applied_wherever_the_chunk_is(exif_after_pixels: bool) -> None:
    arr = photo("chelsea", 300)  # wider than tall
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG", exif=exif.tobytes())
    data = buf.getvalue()
    if exif_after_pixels:
        start = data.find(b"eXIf") - 4
        chunk = data[start : start + 12 + struct.unpack(">I", data[start : start + 4])[0]]
        data = data.replace(chunk, b"")
        end = data.find(b"IEND") - 4
        data = data[:end] + chunk + data[end:]
        assert data.find(b"eXIf") > data.find(b"IDAT")
    r = ok(decode_bytes(data, POLICY))
    assert r.orientation == 6
    assert (r.width, r.height) == (arr.shape[0], arr.shape[1])
    assert r.rgb.shape == (arr.shape[1], arr.shape[0], 3)


def test_extension_that_lies_is_decoded_by_content_and_noted(astronaut: np.ndarray) -> None:
    r = ok(decode_bytes(encode(astronaut, "PNG"), POLICY, name="portrait.jpg"))
    assert r.format == "PNG"
    assert any("extension says JPEG" in n for n in r.notes)


def _save_mode(img: Image.Image, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_pixel_modes_are_normalised_to_rgb(astronaut: np.ndarray) -> None:
    base = Image.fromarray(astronaut)
    gray16 = (np.asarray(base.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    cases = {
        "CMYK": _save_mode(base.convert("CMYK"), "JPEG"),
        "L": _save_mode(base.convert("L")),
        "I;16": _save_mode(Image.fromarray(gray16)),
        "P": _save_mode(base.convert("P")),
        "RGBA": _save_mode(base.convert("RGBA")),
        "LA": _save_mode(base.convert("LA")),
    }
    reference = np.asarray(base.convert("L"), dtype=np.float32)
    for mode, data in cases.items():
        r = ok(decode_bytes(data, POLICY))
        assert r.rgb.shape[2] == 3 and r.rgb.dtype == np.uint8, mode
        got = r.rgb.astype(np.float32).mean(axis=2)
        ref = np.asarray(Image.fromarray(reference).resize(got.shape[::-1]), dtype=np.float32)
        # Same picture, same brightness (16-bit scaled, not clipped; CMYK converted).
        assert abs(got.mean() - ref.mean()) < 20, mode
        assert np.corrcoef(got.ravel(), ref.ravel())[0, 1] > 0.9, mode


def test_transparent_pixels_become_neutral_grey() -> None:
    rgba = np.zeros((600, 600, 4), np.uint8)
    rgba[..., 3] = 0
    r = ok(decode_bytes(_save_mode(Image.fromarray(rgba)), POLICY))
    assert abs(float(r.rgb.mean()) - 128) < 1


def test_a_transparent_share_of_the_picture_is_noted() -> None:
    # A photo padded onto a larger transparent canvas (bands of 150 px above and below):
    # the checks see the bands as grey, a trainer that drops the alpha sees black.
    picture = photo("astronaut", 512)
    canvas = np.zeros((812, 512, 4), np.uint8)
    canvas[150:662, :, :3] = picture
    canvas[150:662, :, 3] = 255
    padded = ok(decode_bytes(_save_mode(Image.fromarray(canvas)), POLICY))
    (note,) = [n for n in padded.notes if n.startswith("transparent:")]
    assert note.startswith("transparent: 37% of the picture is transparent")
    opaque = ok(decode_bytes(_save_mode(Image.fromarray(picture).convert("RGBA")), POLICY))
    assert not [n for n in opaque.notes if n.startswith("transparent:")]
    # A palette image with a transparent colour counts too (its black: the bands, and
    # the astronaut's black sky with them).
    paletted = Image.fromarray(canvas).convert("RGB").quantize(64)
    index = paletted.getpixel((0, 0))
    paletted.info["transparency"] = index
    data = _save_mode(paletted, transparency=index)
    (note,) = [n for n in ok(decode_bytes(data, POLICY)).notes if n.startswith("transparent:")]
    assert int(note.split()[1].rstrip("%")) >= 37


def test_jpeg_quality_is_estimated(astronaut: np.ndarray) -> None:
    for q in (40, 75, 95):
        assert ok(decode_bytes(encode(astronaut, quality=q), POLICY)).jpeg_quality == q


def test_decoding_a_path_equals_decoding_its_bytes(tmp_path: Path, astronaut: np.ndarray) -> None:
    path = tmp_path / "a.jpg"
    path.write_bytes(encode(astronaut))
    a, b = ok(decode_path(path, POLICY)), ok(decode_bytes(path.read_bytes(), POLICY, name="a.jpg"))
    assert a.sha256 == b.sha256 and np.array_equal(a.rgb, b.rgb)


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_heic_and_avif_decode_with_the_optional_plugin(astronaut: np.ndarray, fmt: str) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    r = ok(decode_bytes(encode(astronaut, fmt, quality=90), POLICY, name=f"p.{fmt.lower()}"))
    assert (r.width, r.height) == (1200, 1200) and r.format == fmt
    assert abs(float(r.rgb.mean()) - float(astronaut.mean())) < 3


def _first_decode_in_a_fresh_process(data: bytes, block_heif: bool) -> dict[str, object]:
    """Decode `data` as the first thing a new process does (no plugin registered yet)."""
    code = (
        "import json, sys\n"
        + ("sys.modules['pillow_heif'] = None\n" if block_heif else "")
        + "from animus_prep.inspection.decode import decode_bytes, DecodedImage\n"
        "from animus_prep.policy import Policy\n"
        "r = decode_bytes(sys.stdin.buffer.read(), Policy(), name='phone.heic')\n"
        "ok = isinstance(r, DecodedImage)\n"
        "print(json.dumps({'ok': ok, 'format': r.format,\n"
        "    'code': None if ok else r.reason.code.value,\n"
        "    'message': None if ok else r.reason.message}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True, check=True)
    return dict(json.loads(out.stdout))


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_a_heic_photo_decodes_even_as_the_first_file_of_a_process(
    astronaut: np.ndarray, fmt: str
) -> None:
    pytest.importorskip("pillow_heif")
    result = _first_decode_in_a_fresh_process(encode(astronaut, fmt, quality=90), False)
    assert result["ok"] is True and result["format"] == fmt


def test_without_the_heif_extra_a_heic_photo_names_the_extra_to_install(
    astronaut: np.ndarray,
) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    data = encode(astronaut, "HEIF", quality=90)
    result = _first_decode_in_a_fresh_process(data, True)
    assert result["code"] == "unsupported_format"
    assert "pip install 'animus-prep[heif]'" in str(result["message"])
