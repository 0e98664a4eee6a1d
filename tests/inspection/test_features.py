"""What a pair verification compares of an image is made once per duplicate search: its
features travel packed, and an image in many pairs is decoded again at most once."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from animus_prep import Policy, ReasonCode, preflight
from animus_prep.inspection import detail as detail_module
from animus_prep.inspection import duplicates, run, work
from animus_prep.inspection.analysis import analyze
from animus_prep.inspection.dedup import verify_pair
from animus_prep.inspection.detail import features_of
from animus_prep.inspection.discover import discover
from animus_prep.inspection.features import Features
from animus_prep.inspection.fingerprint import Detail, Source
from animus_prep.inspection.spool import BytesSpool
from photos import photo, write

NO_FACES = Policy(faces=False)


def test_features_pack_and_unpack_exactly(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jpg", photo("coffee", 700), quality=92)
    fp = analyze(discover(path, "face")[0], NO_FACES).print
    assert fp is not None
    made = features_of(fp)
    assert len(made.points) > 100 and made.descriptors.shape == (len(made.points), 32)
    packed = made.pack()
    assert 20_000 < len(packed) < 60_000  # the thumbnail and 400 keypoints at most
    back = Features.unpack(packed)
    assert back.gray_shape == made.gray_shape and back.pixel_hash == fp.pixel_hash
    for a, b in (
        (back.thumbnail, made.thumbnail),
        (back.points, made.points),
        (back.descriptors, made.descriptors),
    ):
        assert a.dtype == b.dtype and np.array_equal(a, b) and a.flags.writeable
    for damaged in (packed[:-1], packed + b"x", packed[:12]):
        with pytest.raises(ValueError):
            Features.unpack(damaged)


def test_an_image_too_small_for_keypoints_packs_none() -> None:
    tiny = Detail(np.full((30, 40), 128, np.uint8), np.full((30, 40), 128, np.uint8))
    made = Features.of(tiny, "0" * 32)
    assert made.points.shape == (0, 2) and made.descriptors.shape == (0, 32)
    back = Features.unpack(made.pack())
    assert back.gray_shape == (30, 40) and back.points.shape == (0, 2)
    with pytest.raises(ValueError):
        Features.of(tiny, "not a digest").pack()


def test_a_fingerprint_carrying_its_features_needs_no_pixels(tmp_path: Path) -> None:
    arr = photo("coffee", 800)
    a_path = write(tmp_path / "a.jpg", arr, quality=95)
    b_path = write(tmp_path / "b.jpg", np.ascontiguousarray(arr[20:, 30:]), quality=70)
    a, b = (analyze(discover(p, "face")[0], NO_FACES).print for p in (a_path, b_path))
    assert a is not None and b is not None
    expected = verify_pair(a, b, 0.8)
    assert expected.duplicate
    carried = [
        replace(p, features=features_of(p).pack(), source=None)  # no file
        for p in (a, b)
    ]
    detail_module.forget_recent()
    assert verify_pair(carried[0], carried[1], 0.8) == expected
    # Features that cannot be read back are made again from the pixels (here: none).
    broken = replace(carried[0], features=b"damaged")
    assert verify_pair(broken, carried[1], 0.8).method == "unavailable"
    # Nor are another image's features taken for these.
    swapped = replace(carried[0], features=carried[1].features)
    assert verify_pair(swapped, carried[1], 0.8).method == "unavailable"


def _moving_subject(folder: Path, frames: int) -> None:
    """Frames of one scene whose subject (a patch) sits elsewhere in each: every frame is
    a duplicate candidate of every other by hash, and none is a copy."""
    base = photo("astronaut", 420)
    patch = base[60:220, 150:310].copy()
    assert frames <= 42
    for k in range(frames):
        frame = base.copy()
        y, x = 20 + (k % 6) * 40, 20 + (k // 6) * 40
        frame[y : y + 160, x : x + 160] = patch
        write(folder / f"f{k:02d}.jpg", frame, quality=92)


def _frames_and_a_near_copy(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Six moving-subject frames and a photo with its near copy, verified from the files
    (no packed pixels)."""
    _moving_subject(folder, 6)
    arr = photo("coffee", 600)
    write(folder / "c1.jpg", arr, quality=95)
    write(folder / "c2.jpg", np.ascontiguousarray(arr[10:, 12:]), quality=75)
    monkeypatch.setattr(run, "PACKED_UP_TO", 0)


def test_each_image_is_decoded_again_once_however_many_pairs_it_is_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _moving_subject(tmp_path, 9)
    decodes: Counter[str] = Counter()
    real = detail_module._decode_again

    def counted(source: Source, digest: str) -> Detail:
        decodes[Path(source.path).name] += 1
        return real(source, digest)

    monkeypatch.setattr(detail_module, "_decode_again", counted)
    monkeypatch.setattr(run, "PACKED_UP_TO", 0)  # no packed pixels: decoded again
    monkeypatch.setattr(detail_module, "CACHED", 2)  # a worker remembers almost nothing

    def codes() -> dict[str, tuple[ReasonCode, ...]]:
        detail_module.forget_recent()
        decodes.clear()
        return {i.path: i.codes for i in preflight(tmp_path, "face", NO_FACES).images}

    verdicts = codes()
    assert all(ReasonCode.DUPLICATE not in c for c in verdicts.values())
    assert sum(decodes.values()) >= 6  # many pairs were verified
    assert max(decodes.values()) == 1
    # Without features to hand back, the same verdicts cost decoding the images again
    # for every pair they are in.
    monkeypatch.setattr(duplicates, "FEATURES_BYTES", 0)
    assert codes() == verdicts
    assert max(decodes.values()) > 1


def test_features_made_on_workers_come_back_and_verdicts_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _frames_and_a_near_copy(tmp_path, monkeypatch)
    kept: list[int] = []
    real = duplicates._NearGroups.keep_features

    def keep(self: duplicates._NearGroups, g: int, packed: bytes | None) -> None:
        if packed is not None:
            Features.unpack(packed)  # what came back is whole
            kept.append(g)
        real(self, g, packed)

    monkeypatch.setattr(duplicates._NearGroups, "keep_features", keep)
    local = {i.path: i.codes for i in preflight(tmp_path, "face", NO_FACES).images}
    kept.clear()
    with ProcessPoolExecutor(2) as pool:
        pooled = preflight(tmp_path, "face", NO_FACES, pool)
    assert {i.path: i.codes for i in pooled.images} == local
    assert local["c2.jpg"] == (ReasonCode.DUPLICATE,) or local["c1.jpg"] == (ReasonCode.DUPLICATE,)
    assert not any(ReasonCode.DUPLICATE in c for p, c in local.items() if p.startswith("f"))
    assert kept  # the workers sent back what they made


def test_features_the_spool_cannot_give_back_are_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _frames_and_a_near_copy(tmp_path, monkeypatch)
    expected = {i.path: i.codes for i in preflight(tmp_path, "face", NO_FACES).images}

    def broken(self: BytesSpool, offset: int, length: int) -> bytes:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(BytesSpool, "read", broken)
    with ProcessPoolExecutor(2) as pool:
        pooled = preflight(tmp_path, "face", NO_FACES, pool)
    assert {i.path: i.codes for i in pooled.images} == expected


def test_the_next_waves_features_are_made_ahead_on_the_executor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _moving_subject(tmp_path, 40)  # more than one wave of images with candidates
    monkeypatch.setattr(run, "PACKED_UP_TO", 0)
    detail_module.forget_recent()
    serial = {i.path: i.codes for i in preflight(tmp_path, "face", NO_FACES).images}
    assert len(serial) == 40
    assert not any(ReasonCode.DUPLICATE in c for c in serial.values())
    ahead: set[str] = set()
    arrived_with_features: list[bool] = []

    def made_ahead(prints: list[duplicates.Fingerprint]) -> list[bytes | None]:
        out = work.features_batch(prints)
        for fp, packed in zip(prints, out, strict=True):
            assert packed is not None and Features.unpack(packed).pixel_hash == fp.pixel_hash
            ahead.add(fp.pixel_hash)
        return out

    def verify(jobs: list[work.VerifyJob]) -> list[work.VerifyResult]:
        # An image made ahead arrives at its verification with its features.
        arrived_with_features.extend(
            fp.features is not None for fp, _, _ in jobs if fp.pixel_hash in ahead
        )
        return work.verify_batch(jobs)

    monkeypatch.setattr(duplicates, "features_batch", made_ahead)
    monkeypatch.setattr(duplicates, "verify_batch", verify)
    detail_module.forget_recent()
    with ThreadPoolExecutor(2) as pool:
        pooled = {i.path: i.codes for i in preflight(tmp_path, "face", NO_FACES, pool).images}
    assert pooled == serial
    assert len(ahead) >= 8  # the second wave's images, at least
    assert arrived_with_features and all(arrived_with_features)
