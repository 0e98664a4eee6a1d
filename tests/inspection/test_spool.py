"""Previews are kept in a temporary file, not in the memory of the process that holds
the report; they read back exactly, travel as bytes, and nothing is lost without a disk."""

from __future__ import annotations

import gc
import pickle
import sys
import tempfile
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from animus_prep import Policy, preflight
from animus_prep.inspection.analysis import analyze
from animus_prep.inspection.discover import discover
from animus_prep.inspection.fingerprint import decode_preview
from animus_prep.inspection.spool import BytesSpool, SpooledBytes
from photos import photo, scene, write

NO_FACES = Policy(faces=False)


def test_spooled_bytes_read_back_exactly_in_any_order() -> None:
    spool = BytesSpool()
    pieces = [bytes([i]) * (1000 + 37 * i) for i in range(20)]
    kept = [spool.keep(p) for p in pieces]
    assert all(isinstance(k, SpooledBytes) for k in kept)
    assert spool.size == sum(len(p) for p in pieces)
    for k, p in reversed(list(zip(kept, pieces, strict=True))):
        assert bytes(k) == p and len(k) == len(p)
    assert kept[3] == pieces[3] and kept[3] != pieces[4]
    assert spool.keep(b"") == b""  # nothing to keep


def test_spooled_bytes_travel_as_plain_bytes() -> None:
    spool = BytesSpool()
    kept = spool.keep(b"preview bytes")
    copied = pickle.loads(pickle.dumps(kept))
    assert type(copied) is bytes and copied == b"preview bytes"


def test_without_a_temporary_directory_the_bytes_stay_in_memory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    spool = BytesSpool()
    data = b"x" * 5000
    assert spool.keep(data) is data
    assert spool.keep(b"more") == b"more"  # and it does not try again


def test_a_dropped_spool_closes_its_file_without_a_warning() -> None:
    spool = BytesSpool()
    spool.keep(b"x" * 100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del spool
        gc.collect()


def test_preflight_keeps_previews_out_of_memory_and_shows_them(tmp_path: Path) -> None:
    for i in range(3):
        write(tmp_path / f"s{i}.jpg", scene(i))
    write(tmp_path / "coffee.jpg", photo("coffee", 700))
    # A byte-identical copy shares its original's analysis, spooled preview and all.
    (tmp_path / "s0 copy.jpg").write_bytes((tmp_path / "s0.jpg").read_bytes())
    with ProcessPoolExecutor(2) as pool:
        report = preflight(tmp_path, "face", NO_FACES, pool)
    for image in report.images:
        fp = image.fingerprint
        assert fp is not None and isinstance(fp.preview, SpooledBytes)
        # The same picture as the preview the analysis made.
        (candidate,) = discover(tmp_path / image.path, "face")
        fresh = analyze(candidate, NO_FACES).print
        assert fresh is not None and bytes(fp.preview) == fresh.preview
        assert image.thumbnail is not None
        assert np.array_equal(image.thumbnail, decode_preview(fresh.preview))
    # A report sent elsewhere takes its previews along.
    moved = pickle.loads(pickle.dumps(report))
    for before, after in zip(report.images, moved.images, strict=True):
        assert after.fingerprint is not None and before.fingerprint is not None
        assert type(after.fingerprint.preview) is bytes
        assert after.fingerprint.preview == bytes(before.fingerprint.preview)


def test_a_spool_freed_in_a_reference_cycle_closes_its_file_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # When the spool is freed with a reference cycle (an exception's traceback holding
    # it), the collector finalizes everything only the cycle reaches, its open file
    # included: the file must be closed by then, not found open and warned about.
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    spool = BytesSpool()
    gc.collect(0)  # the spool now older than its file: the collector meets the file first
    spool.keep(b"x" * 100)
    spool.cycle = [spool]  # type: ignore[attr-defined]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        del spool
        gc.collect()
    assert unraisable == []
    assert [str(w.message) for w in seen if issubclass(w.category, ResourceWarning)] == []
