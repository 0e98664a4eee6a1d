"""Duplicate search at scale: an index over the hashes, exact copies grouped before any
decoding, each image verified against a few groups' best copies, on the executor."""

from __future__ import annotations

import os
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFilter

from animus_prep import Policy, ReasonCode, preflight
from animus_prep.inspection import hashindex, work
from animus_prep.inspection.duplicates import FAR_CHECKS, MAX_CHECKS
from animus_prep.inspection.hashindex import COMPLETE_RADIUS, HashIndex
from people import TUNE, saved_again
from photos import photo, scene, write

NO_FACES = Policy(faces=False)


def brute_force(hashes: np.ndarray, radius: int) -> dict[int, set[int]]:
    d = np.bitwise_count(hashes[:, None, :] ^ hashes[None, :, :]).min(axis=2)
    return {i: {int(j) for j in np.flatnonzero(d[i, :i] <= radius)} for i in range(len(hashes))}


def planted_hashes(n: int, seed: int = 0) -> np.ndarray:
    """Random 3 x 64-bit hashes, half of them copies of another with 0-14 bits flipped."""
    rng = np.random.default_rng(seed)
    h = rng.integers(0, 2**63, (n, 3), dtype=np.int64).astype(np.uint64)
    h ^= rng.integers(0, 2, (n, 3)).astype(np.uint64) << np.uint64(63)
    for i in range(n // 2, n):
        h[i] = h[rng.integers(0, n // 2)]
        for col in range(3):
            for bit in rng.choice(64, rng.integers(0, 15), replace=False):
                h[i, col] ^= np.uint64(1) << np.uint64(bit)
    return h


@pytest.mark.parametrize("scan_limit", [10_000, 10], ids=["scanning", "multi-index"])
def test_the_index_finds_exactly_the_pairs_within_its_radius(
    scan_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hashindex, "SCAN_LIMIT", scan_limit)
    hashes = planted_hashes(600)
    index = HashIndex(hashes)
    assert index.scanning == (scan_limit > 600)
    radius = 26 if index.scanning else COMPLETE_RADIUS
    expected = brute_force(hashes, radius)
    found = 0
    for i, js, ds in index.earlier_neighbours(range(600), radius):
        assert set(js.tolist()) == expected[i]
        bits = np.bitwise_count(hashes[js] ^ hashes[i])
        assert list(ds) == list(bits.min(axis=1))  # the closest hash's distance
        assert list(bits.sum(axis=1)) == sorted(bits.sum(axis=1))  # nearest first, all three
        found += len(js)
    assert found > 250  # the planted copies, at least
    with pytest.raises(ValueError, match="largest"):
        list(index.earlier_neighbours([1], index.complete_radius + 1))


def test_an_empty_index_answers_nothing() -> None:
    index = HashIndex(np.zeros((0, 3), dtype=np.uint64))
    assert len(index) == 0 and list(index.earlier_neighbours([], 11)) == []


def test_the_index_stays_bounded_when_every_image_shares_its_buckets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A burst of near-identical frames: every query finds every earlier image.
    monkeypatch.setattr(hashindex, "SCAN_LIMIT", 10)
    monkeypatch.setattr(hashindex, "_MAX_RAW", 5_000)
    hashes = np.tile(planted_hashes(2)[:1], (300, 1))
    index = HashIndex(hashes)
    counts = [len(js) for _, js, _ in index.earlier_neighbours(range(300), 0, limit=5)]
    assert counts == [min(i, 5) for i in range(300)]


def count_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> Counter[str]:
    """Count calls of `work.<name>` (the function the worker tasks call)."""
    calls: Counter[str] = Counter()
    real = getattr(work, name)

    def counted(*args: object, **kwargs: object) -> object:
        calls[threading.current_thread().name] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(work, name, counted)
    return calls


def test_byte_identical_files_are_read_and_decoded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "c"
    original = write(root / "face" / "a.jpg", scene(1))
    for i in range(6):
        (root / "face" / f"copy{i}.jpg").write_bytes(original.read_bytes())
    (root / "face" / "link.jpg").symlink_to(original)
    write(root / "face" / "other.jpg", scene(2))
    analyses = count_calls(monkeypatch, "analyze")
    report = preflight(root, policy=NO_FACES)
    assert sum(analyses.values()) == 2  # a.jpg (for its copies too) and other.jpg
    assert report.image("face/a.jpg").accepted
    assert report.image("face/other.jpg").accepted
    for i in range(6):
        copy = report.image(f"face/copy{i}.jpg")
        assert copy.codes == (ReasonCode.DUPLICATE,)
        assert copy.duplicate_of == "face/a.jpg"
        assert "byte-identical" in copy.reasons[0].message
        assert copy.sha256 == report.image("face/a.jpg").sha256
    link = report.image("face/link.jpg")
    assert link.duplicate_of == "face/a.jpg"
    assert "same file" in link.reasons[0].message


def moved(arr: np.ndarray, dx: int, dy: int = 0) -> np.ndarray:
    """The same place with the subject (a region) moved by (dx, dy) pixels."""
    out = arr.copy()
    h, w = arr.shape[:2]
    y, x, ch, cw = h // 4, w // 3, h // 2, w // 3
    out[y + dy : y + ch + dy, x + dx : x + cw + dx] = arr[y : y + ch, x : x + cw]
    return out


def test_an_image_is_verified_against_a_group_once_not_against_every_member(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arr = photo("astronaut", 560)
    for q in (95, 90, 85, 80, 75):
        write(tmp_path / f"a_copy_q{q}.jpg", arr, quality=q)
    write(tmp_path / "b_moved.jpg", moved(arr, 120, 40), quality=95)
    checks = count_calls(monkeypatch, "verify_pair")
    report = preflight(tmp_path, "face", NO_FACES)
    # Each copy joins the group at its first check; the other photo of the place is
    # checked against the group's best copy once, not against its five members.
    assert sum(checks.values()) == 4 + 1
    assert report.image("a_copy_q95.jpg").accepted
    assert report.image("b_moved.jpg").accepted
    for q in (90, 85, 80, 75):
        assert report.image(f"a_copy_q{q}.jpg").duplicate_of == "a_copy_q95.jpg"


def test_verifications_grow_with_the_images_not_with_the_pairs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A burst: 25 photos of one place, the subject elsewhere in each, all close by hash;
    # and re-encoded copies of two of them.
    arr = photo("astronaut", 600)
    shifts = [(dx, dy) for dx in range(0, 200, 40) for dy in range(-120, 121, 60)]
    for k, (dx, dy) in enumerate(shifts):
        write(tmp_path / f"burst{k:02d}.jpg", moved(arr, dx, dy), quality=95)
    write(tmp_path / "burst05_copy.jpg", moved(arr, *shifts[5]), quality=80)
    write(tmp_path / "burst17_copy.jpg", moved(arr, *shifts[17]), quality=80)
    checks = count_calls(monkeypatch, "verify_pair")
    report = preflight(tmp_path, "face", NO_FACES)
    n = 27
    assert sum(checks.values()) <= (MAX_CHECKS + FAR_CHECKS) * n < n * (n - 1) // 2
    flagged = {i.path: i.duplicate_of for i in report.images if i.duplicate_of}
    assert flagged == {"burst05_copy.jpg": "burst05.jpg", "burst17_copy.jpg": "burst17.jpg"}


def test_verification_runs_on_the_executor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arr = photo("coffee", 700)
    write(tmp_path / "a.jpg", arr, quality=95)
    write(tmp_path / "b.jpg", arr, quality=70)
    write(tmp_path / "c.jpg", scene(3))
    checks = count_calls(monkeypatch, "verify_pair")
    with ThreadPoolExecutor(2, thread_name_prefix="worker") as pool:
        report = preflight(tmp_path, "face", NO_FACES, pool)
    assert report.image("b.jpg").duplicate_of == "a.jpg"
    assert checks and all(name.startswith("worker") for name in checks)


def test_a_large_set_is_searched_within_the_complete_radius_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arr = photo("rocket", 700)
    write(tmp_path / "a.jpg", arr, quality=95)
    write(tmp_path / "b.jpg", arr, quality=70)
    for i in range(4):
        write(tmp_path / f"s{i}.jpg", scene(i))
    small = preflight(tmp_path, "face", NO_FACES)
    assert not any("searched within" in w for w in small.warnings)
    monkeypatch.setattr(hashindex, "SCAN_LIMIT", 3)
    large = preflight(tmp_path, "face", NO_FACES)
    assert large.image("b.jpg").duplicate_of == "a.jpg"
    assert any(f"searched within {COMPLETE_RADIUS} bits" in w for w in large.warnings)


def test_the_narrowed_search_is_judged_per_kind_as_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Face and body photos are searched apart: three of each is a scan of three, however
    # many the folder holds, so only a kind over the limit narrows its own search.
    for i in range(3):
        write(tmp_path / "face" / f"f{i}.jpg", scene(i))
        write(tmp_path / "body" / "front" / f"b{i}.jpg", scene(10 + i))
    monkeypatch.setattr(hashindex, "SCAN_LIMIT", 3)
    within = preflight(tmp_path, None, NO_FACES)
    assert not any("searched within" in w for w in within.warnings)
    write(tmp_path / "body" / "front" / "b3.jpg", scene(13))
    over = preflight(tmp_path, None, NO_FACES)
    narrowed = [w for w in over.warnings if f"searched within {COMPLETE_RADIUS} bits" in w]
    assert len(narrowed) == 1
    assert "4 distinct pictures among the body photos" in narrowed[0]


def _asked_again(groups: Any, search: Any, before: int | None) -> list[int]:
    """The targets of a search as found by asking from the first candidate again after
    each one: what a plan must equal (the specification `_targets` keeps in one pass)."""
    from animus_prep.inspection.duplicates import FAR_COLOURS, NEAR

    out: list[int] = []
    while True:
        own = groups.find(search.image)
        met = {groups.find(g) for g in search.checked}
        target = None
        for j, d in zip(search.neighbours.tolist(), search.distances.tolist(), strict=True):
            root = groups.find(j)
            if root == own or root in met:
                continue
            if (search.near == MAX_CHECKS) if d <= NEAR else (search.far == FAR_CHECKS):
                continue
            if before is not None and j >= before:
                return out
            lead = groups._lead[root]
            if d <= NEAR:
                search.near += 1
                target = lead
                break
            if float(groups._palettes[search.image] @ groups._palettes[lead]) >= FAR_COLOURS:
                search.far += 1
                target = lead
                break
            met.add(root)
        if target is None:
            return out
        out.append(target)
        search.checked.append(target)


@pytest.mark.parametrize("seed", range(60))
def test_a_plan_picks_the_targets_that_asking_again_each_time_would(seed: int) -> None:
    from types import SimpleNamespace

    from animus_prep.inspection.duplicates import NEAR, _NearGroups

    rng = np.random.default_rng(seed)
    n = 40
    # Two palettes: groups agree in colour with the searched image or do not.
    colours = np.eye(64, dtype=np.float32)[rng.integers(0, 2, n)]
    analyses = [
        SimpleNamespace(
            sha256=str(i),
            candidate=SimpleNamespace(kind="face"),
            print=SimpleNamespace(
                tiny=rng.integers(0, 256, 144, dtype=np.uint8).tobytes(), palette=colours[i]
            ),
        )
        for i in range(n)
    ]
    # Exact groups already joined into near groups of several (each with near and far
    # candidates), candidates within and beyond NEAR bits in equal shares.
    joins = [(int(a), int(b)) for a, b in rng.integers(0, n - 1, (25, 2))]
    neighbours = rng.permutation(n - 1)[:30]
    distances = np.where(rng.random(30) < 0.5, NEAR - 1, NEAR + 2)
    before = int(rng.integers(20, n + 1))

    def groups() -> Any:
        g = _NearGroups(analyses, [[i] for i in range(n)])  # type: ignore[arg-type]
        for a, b in joins:
            g._parent[g.find(a)] = g.find(b)
        return g

    reference = groups()
    expected = _asked_again(reference, reference.search(n - 1, neighbours, distances), before)
    planned = groups()
    assert planned.plan(planned.search(n - 1, neighbours, distances), before) == expected
    # Asked one at a time (the rounds of a wave), the same.
    one_by_one = groups()
    search = one_by_one.search(n - 1, neighbours, distances)
    got = []
    while (t := one_by_one.next_target(search)) is not None:
        got.append(t)
        search.checked.append(t)
    again = groups()
    assert got == _asked_again(again, again.search(n - 1, neighbours, distances), None)


@pytest.mark.parametrize("names", [("a.jpg", "b.jpg"), ("b.jpg", "a.jpg")])
def test_a_cmyk_copy_loses_to_the_rgb_photo(tmp_path: Path, names: tuple[str, str]) -> None:
    # A print re-save in CMYK holds the same picture in more bytes per pixel (four full
    # channels): the photo in RGB is the one kept, whatever the names' order.
    face = tmp_path / "face"
    face.mkdir()
    rgb_name, cmyk_name = names
    photo_rgb = Image.open(TUNE[0]).convert("RGB")
    photo_rgb.save(face / rgb_name, quality=90)
    photo_rgb.convert("CMYK").save(face / cmyk_name, quality=90)
    assert (face / cmyk_name).stat().st_size > (face / rgb_name).stat().st_size
    report = preflight(tmp_path, policy=Policy(identity=False))
    images = {i.path: i for i in report.images}
    assert images[f"face/{rgb_name}"].accepted, images[f"face/{rgb_name}"].reasons
    assert images[f"face/{cmyk_name}"].duplicate_of == f"face/{rgb_name}"


@pytest.mark.parametrize("names", [("a.jpg", "b.png"), ("b.jpg", "a.png")])
def test_a_copy_reduced_to_a_palette_loses_to_the_photo(
    tmp_path: Path, names: tuple[str, str]
) -> None:
    # A 256-colour PNG is lossless and its dither reads as fine detail: it used to win
    # over the JPEG it was made from, which was rejected as the duplicate.
    face = tmp_path / "face"
    face.mkdir()
    photo_name, palette_name = names
    picture = Image.open(TUNE[0]).convert("RGB")
    picture.save(face / photo_name, quality=95)
    picture.convert("P", palette=Image.Palette.ADAPTIVE, colors=256).save(face / palette_name)
    # The palette copy the older file, so its age cannot be what decides.
    os.utime(face / palette_name, (1_000_000_000, 1_000_000_000))
    report = preflight(tmp_path, policy=Policy(identity=False))
    images = {i.path: i for i in report.images}
    assert images[f"face/{photo_name}"].accepted, images[f"face/{photo_name}"].reasons
    assert images[f"face/{palette_name}"].duplicate_of == f"face/{photo_name}"


def test_a_copy_sharpened_after_does_not_win_by_its_halos(tmp_path: Path) -> None:
    # Sharpened three times over, its edges read steeper than any lens draws them: it
    # used to be kept as the sharper copy and the photo it was made from rejected.
    face = tmp_path / "face"
    face.mkdir()
    picture = Image.open(TUNE[0]).convert("RGB")
    picture.save(face / "photo.jpg", quality=95)
    sharpened = picture
    for _ in range(3):
        sharpened = sharpened.filter(ImageFilter.UnsharpMask(radius=2, percent=250, threshold=0))
    sharpened.save(face / "photo-sharpened.jpg", quality=95)
    os.utime(face / "photo.jpg", (1_000_000_000, 1_000_000_000))  # the original, older
    _kept_over(tmp_path, "face/photo.jpg", "face/photo-sharpened.jpg")


def test_a_lossless_copy_of_a_heavily_compressed_save_loses_to_the_photo(tmp_path: Path) -> None:
    # A PNG made from a quality-8 JPEG of the photo claims lossless quality: it used to be
    # kept and the photo rejected. Its pixels show the blocks: it is the one rejected.
    face = tmp_path / "face"
    face.mkdir()
    picture = np.asarray(Image.open(TUNE[0]).convert("RGB"))
    Image.fromarray(picture).save(face / "photo.jpg", quality=95)
    (face / "photo-copy.png").write_bytes(saved_again(picture, 8, "PNG"))
    os.utime(face / "photo-copy.png", (1_000_000_000, 1_000_000_000))  # the older file
    report = preflight(tmp_path, policy=Policy(identity=False))
    images = {i.path: i for i in report.images}
    assert images["face/photo.jpg"].accepted, images["face/photo.jpg"].reasons
    copy = images["face/photo-copy.png"]
    assert ReasonCode.OVER_COMPRESSED in copy.codes
    assert copy.metrics["pixel_jpeg_quality"] is not None


def _kept_over(root: Path, kept: str, *copies: str) -> None:
    """The pre-flight of ``root`` keeps ``kept`` and calls each of ``copies`` its copy."""
    report = preflight(root, policy=Policy(identity=False))
    assert report.image(kept).accepted, report.image(kept).reasons
    for copy in copies:
        assert report.image(copy).duplicate_of == kept, report.image(copy).reasons


def _original(face: Path, quality: int) -> np.ndarray:
    """A real photo saved as ``face/IMG_1.jpg`` at ``quality``, and its pixels as saved."""
    face.mkdir()
    Image.open(TUNE[0]).convert("RGB").save(face / "IMG_1.jpg", quality=quality)
    return np.asarray(Image.open(face / "IMG_1.jpg").convert("RGB"))


def _edited(picture: np.ndarray, edit: str) -> np.ndarray:
    """The photo as a phone editor leaves it: toned sepia, grain added, skin smoothed, or a
    warm high-contrast filter."""
    f = picture.astype(np.float32)
    grey = f.mean(axis=2)
    if edit == "sepia":
        out = np.stack([grey * 1.07, grey * 0.74, grey * 0.43], axis=2) + np.array(
            [30.0, 20.0, 10.0]
        )
    elif edit == "grain":
        out = f + np.random.default_rng(3).normal(0, 5, f.shape[:2])[..., None]
    elif edit == "smoothed":
        return np.asarray(cv2.bilateralFilter(picture, 15, 60, 15))
    else:
        out = (f * [1.08, 1.0, 0.88] - 128) * 1.15 + 128
    return np.asarray(out.clip(0, 255), dtype=np.uint8)


@pytest.mark.parametrize("edit", ["sepia", "grain", "smoothed", "filter"])
def test_an_edit_saved_at_a_higher_quality_loses_to_the_original(tmp_path: Path, edit: str) -> None:
    # Editors save at a higher setting than the camera did: the edit used to be kept as
    # "the better copy" by its quality setting alone, and the untouched photo rejected.
    face = tmp_path / "face"
    original = _original(face, 90)
    Image.fromarray(_edited(original, edit)).save(face / "IMG_1-edited.jpg", quality=95)
    os.utime(face / "IMG_1.jpg", (1_000_000_000, 1_000_000_000))  # taken first
    _kept_over(tmp_path, "face/IMG_1.jpg", "face/IMG_1-edited.jpg")


def test_a_better_save_still_wins_over_an_older_heavily_compressed_one(tmp_path: Path) -> None:
    # Below quality 90 the setting still ranks two saves of one picture: the quality-70
    # copy is the older file, and still loses.
    face = tmp_path / "face"
    face.mkdir()
    picture = Image.open(TUNE[0]).convert("RGB")
    picture.save(face / "photo.jpg", quality=95)
    picture.save(face / "photo-small.jpg", quality=70)
    os.utime(face / "photo-small.jpg", (1_000_000_000, 1_000_000_000))
    _kept_over(tmp_path, "face/photo.jpg", "face/photo-small.jpg")


def test_a_tone_or_colour_edit_loses_to_an_original_saved_below_90(tmp_path: Path) -> None:
    # Under 90 the setting still ranks plain saves; an edit in tone or colour is told
    # apart, so its higher setting does not win it the place.
    face = tmp_path / "face"
    original = _original(face, 85)
    Image.fromarray(_edited(original, "sepia")).save(face / "IMG_1-sepia.jpg", quality=95)
    os.utime(face / "IMG_1.jpg", (1_000_000_000, 1_000_000_000))
    _kept_over(tmp_path, "face/IMG_1.jpg", "face/IMG_1-sepia.jpg")


def test_an_edit_cannot_win_round_a_circle_of_three_copies(tmp_path: Path) -> None:
    # The original at 85 (oldest), a sepia edit at 95, a plain save at 95 (newest): the
    # save beat the original by its setting, the older edit beat the save by age, the
    # original beat the edit: one win each, and the edit was kept by its name's order.
    face = tmp_path / "face"
    original = _original(face, 85)
    Image.fromarray(_edited(original, "sepia")).save(face / "IMG_1-a-sepia.jpg", quality=95)
    Image.fromarray(original).save(face / "IMG_1-z-copy.jpg", quality=95)
    for age, name in enumerate(("IMG_1.jpg", "IMG_1-a-sepia.jpg", "IMG_1-z-copy.jpg")):
        os.utime(face / name, (1_000_000_000 + age * 86_400, 1_000_000_000 + age * 86_400))
    _kept_over(tmp_path, "face/IMG_1.jpg", "face/IMG_1-a-sepia.jpg", "face/IMG_1-z-copy.jpg")
