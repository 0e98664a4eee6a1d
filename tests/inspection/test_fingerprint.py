"""Fingerprints made from files are compact: what the parent holds per image stays small,
and a pair is verified from the files themselves, or from the pixels a small folder's
fingerprints keep packed."""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from animus_prep import Policy, ReasonCode, preflight
from animus_prep.inspection import detail as detail_module
from animus_prep.inspection import run
from animus_prep.inspection.analysis import analyze
from animus_prep.inspection.decode import DecodedImage, decode_path
from animus_prep.inspection.dedup import verify_pair
from animus_prep.inspection.discover import discover
from animus_prep.inspection.fingerprint import THUMB_SIDE, Detail, fingerprint, thumbnail_of
from animus_prep.inspection.measure import shrink_gray
from animus_prep.inspection.spool import BytesSpool, SpooledBytes
from photos import photo, scene, write

NO_FACES = Policy(faces=False)


def test_a_file_fingerprint_keeps_no_pixels_and_travels_small(tmp_path: Path) -> None:
    path = write(tmp_path / "big.jpg", photo("astronaut", 3000), quality=95)
    (candidate,) = discover(path, "face")
    a = analyze(candidate, Policy())
    assert a.print is not None and a.print.detail is None
    assert a.print.source is not None and a.print.source.sha256 == a.sha256
    # Everything the parent keeps of this 9 MP photo, faces and all.
    assert len(pickle.dumps(a)) < 20_000
    decoded = decode_path(path, NO_FACES)
    assert isinstance(decoded, DecodedImage)
    exact = thumbnail_of(decoded.image)
    thumb = a.print.thumbnail
    assert thumb.dtype == np.uint8 and thumb.shape == exact.shape and max(thumb.shape) == THUMB_SIDE
    assert np.abs(thumb.astype(int) - exact).mean() < 6  # a JPEG of the same thumbnail


def test_report_thumbnails_are_rgb_arrays(tmp_path: Path) -> None:
    write(tmp_path / "a.jpg", scene(1))
    (image,) = preflight(tmp_path, "face", NO_FACES).images
    assert image.thumbnail is not None
    assert image.thumbnail.dtype == np.uint8 and image.thumbnail.shape[2] == 3


def test_compact_fingerprints_are_verified_from_their_files(tmp_path: Path) -> None:
    arr = photo("coffee", 800)
    a_path = write(tmp_path / "a.jpg", arr, quality=95)
    b_path = write(tmp_path / "b.jpg", np.ascontiguousarray(arr[20:, 30:]), quality=70)
    c_path = write(tmp_path / "c.jpg", arr, quality=90)
    a, b, c = (analyze(discover(p, "face")[0], NO_FACES).print for p in (a_path, b_path, c_path))
    assert a is not None and b is not None and c is not None
    verdict = verify_pair(a, b, 0.8)
    assert verdict.duplicate and verdict.method == "aligned"
    # A file that changed since it was fingerprinted is not used: no verdict from it.
    write(c_path, scene(5))
    changed = verify_pair(a, c, 0.8)
    assert not changed.duplicate and changed.method == "unavailable"


def test_verification_pixels_are_grey_and_a_third_of_the_rgb(tmp_path: Path) -> None:
    arr = photo("coffee", 800)
    decoded = decode_path(write(tmp_path / "a.jpg", arr), NO_FACES)
    assert isinstance(decoded, DecodedImage)
    rgb = thumbnail_of(decoded.image)
    fp = fingerprint(shrink_gray(decoded.gray, NO_FACES.analysis_side), rgb)
    assert fp.detail is not None
    grey = fp.detail.thumbnail
    assert grey.dtype == np.uint8 and grey.shape == rgb.shape[:2]
    assert np.array_equal(grey, cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    # What reports show is still the RGB picture, from the preview.
    assert fp.thumbnail.shape == rgb.shape


def test_packed_pixels_are_exactly_what_the_file_gives_again(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jpg", photo("coffee", 900), quality=90)
    (candidate,) = discover(path, "face")
    fp = analyze(candidate, NO_FACES, keep_packed=True).print
    assert fp is not None and fp.detail is None and isinstance(fp.packed, bytes)
    unpacked = Detail.unpack(fp.packed)
    detail_module.forget_recent()
    again = detail_module.detail_of(replace(fp, packed=None))  # decoded from the file
    assert np.array_equal(unpacked.gray, again.gray)
    assert np.array_equal(unpacked.thumbnail, again.thumbnail)
    assert unpacked.gray.flags.writeable  # its own arrays, not views of the bytes
    # About 120 KB (a 512 px analysis copy), and only when asked for.
    assert len(fp.packed) < 130_000
    compact = analyze(candidate, NO_FACES).print
    assert compact is not None and compact.packed is None
    for damaged in (fp.packed[:-1], fp.packed + b"x", fp.packed[:10]):
        with pytest.raises(ValueError):
            Detail.unpack(damaged)
    with pytest.raises(ValueError):
        Detail(unpacked.gray.astype(np.float32), unpacked.thumbnail).pack()


def test_packed_pixels_that_cannot_be_read_back_fall_back_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arr = photo("coffee", 800)
    a_path = write(tmp_path / "a.jpg", arr, quality=95)
    b_path = write(tmp_path / "b.jpg", np.ascontiguousarray(arr[20:, 30:]), quality=70)
    spool = BytesSpool()
    a, b = (
        analyze(discover(p, "face")[0], NO_FACES, keep_packed=True).print for p in (a_path, b_path)
    )
    assert a is not None and b is not None
    a, b = a.spooled(spool), b.spooled(spool)
    assert isinstance(a.packed, SpooledBytes)

    def broken(offset: int, length: int) -> bytes:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(spool, "read", broken)
    detail_module.forget_recent()
    verdict = verify_pair(a, b, 0.8)  # decoded from the files instead
    assert verdict.duplicate and verdict.method == "aligned"
    # With no file to fall back on, the pair is unavailable: no verdict, no traceback.
    detail_module.forget_recent()
    lost = verify_pair(replace(a, source=None), b, 0.8)
    assert not lost.duplicate and lost.method == "unavailable"


def test_a_strip_a_looser_policy_let_through_is_decoded_again(tmp_path: Path) -> None:
    strip = np.ascontiguousarray(np.tile(photo("coffee", 600)[:200], (1, 5, 1))[:, :2400])
    path = write(tmp_path / "strip.jpg", strip, quality=90)
    loose = Policy(faces=False, max_aspect_ratio=16.0)
    (candidate,) = discover(path, "face")
    packed = analyze(candidate, loose, keep_packed=True).print
    assert packed is not None and packed.packed is not None
    detail_module.forget_recent()
    again = detail_module.detail_of(replace(packed, packed=None))
    assert np.array_equal(again.gray, Detail.unpack(bytes(packed.packed)).gray)


def test_a_small_folder_verifies_its_pairs_without_decoding_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arr = photo("coffee", 800)
    write(tmp_path / "a.jpg", arr, quality=95)
    write(tmp_path / "b.jpg", np.ascontiguousarray(arr[20:, 30:]), quality=70)
    write(tmp_path / "c.jpg", scene(3))
    decodes: list[str] = []
    real = detail_module._decode_again
    monkeypatch.setattr(
        detail_module,
        "_decode_again",
        lambda source, digest: decodes.append(Path(source.path).name) or real(source, digest),
    )

    def check() -> dict[str, tuple[ReasonCode, ...]]:
        detail_module.forget_recent()
        report = preflight(tmp_path, "face", NO_FACES)
        for image in report.images:
            assert image.fingerprint is not None
            packed = image.fingerprint.packed
            assert (packed is not None) == (run.PACKED_UP_TO >= 3)
            assert packed is None or isinstance(packed, SpooledBytes)  # not in memory
        return {i.path: i.codes for i in report.images}

    kept = check()
    assert kept["b.jpg"] == (ReasonCode.DUPLICATE,) and decodes == []
    # Past the byte budget, fingerprints keep no packed pixels.
    monkeypatch.setattr(run, "PACKED_BYTES", 1)
    detail_module.forget_recent()
    report = preflight(tmp_path, "face", NO_FACES)
    assert all(i.fingerprint is not None and i.fingerprint.packed is None for i in report.images)
    assert {i.path: i.codes for i in report.images} == kept
    assert sorted(set(decodes)) == ["a.jpg", "b.jpg"]
    decodes.clear()
    monkeypatch.setattr(run, "PACKED_BYTES", 2**40)
    # Above the limit the same verdicts come from decoding the verified files again.
    monkeypatch.setattr(run, "PACKED_UP_TO", 2)
    assert check() == kept and sorted(set(decodes)) == ["a.jpg", "b.jpg"]
