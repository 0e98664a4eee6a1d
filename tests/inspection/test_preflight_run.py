"""The whole pre-flight over folders: layout, report contract, caps, executors."""

from __future__ import annotations

import json
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from animus_prep import LayoutError, Policy, ReasonCode, preflight
from animus_prep.inspection import discover as discover_module
from animus_prep.inspection import work
from animus_prep.inspection.discover import discover
from photos import encode, gaussian, photo, scene, write

NO_FACES = Policy(faces=False)


def test_discovery_follows_the_character_layout(tmp_path: Path) -> None:
    root = tmp_path / "c"
    write(root / "face" / "a.jpg", scene(1))
    write(root / "face" / "nested" / "b.jpg", scene(2))
    write(root / "body" / "front" / "c.jpg", scene(3))
    write(root / "body" / "Back" / "d.jpg", scene(4))
    write(root / "body" / "e.jpg", scene(5))
    (root / "face" / ".hidden.jpg").write_bytes(b"x")
    (root / ".cache").mkdir()
    (root / ".cache" / "f.jpg").write_bytes(b"x")
    (root / "readme.txt").write_text("hi")
    found = {c.relpath: (c.kind, c.image_type) for c in discover(root)}
    assert found == {
        "body/Back/d.jpg": ("body", "body_image_back"),
        "body/e.jpg": (None, None),
        "body/front/c.jpg": ("body", "body_image_front"),
        "face/a.jpg": ("face", "face_image"),
        "face/nested/b.jpg": ("face", "face_image"),
        "readme.txt": (None, None),
    }


def test_layout_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="no such"):
        discover(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(LayoutError, match="--kind"):
        discover(tmp_path / "plain")
    f = write(tmp_path / "one.jpg", scene(1))
    with pytest.raises(LayoutError, match="--kind"):
        discover(f)
    assert [c.image_type for c in discover(f, "body", view="side")] == ["body_image_side"]


def test_report_follows_the_json_contract(tmp_path: Path) -> None:
    root = tmp_path / "c"
    write(root / "face" / "sharp.jpg", photo("astronaut", 800))
    write(root / "face" / "blurry.jpg", gaussian(photo("coffee", 800), 6))
    write(root / "face" / "tiny.jpg", photo("chelsea", 300))
    (root / "face" / "broken.jpg").write_bytes(encode(photo("camera", 800))[:5000])
    (root / "notes.txt").write_text("not a photo")
    doc = json.loads(preflight(root, policy=NO_FACES).dumps())
    assert doc["schema"] == "animus-prep.report/1"
    assert doc["root"] == str(root)
    assert doc["policy"]["min_side"] == 512
    by_path = {i["path"]: i for i in doc["images"]}
    assert set(by_path) == {
        "face/sharp.jpg",
        "face/blurry.jpg",
        "face/tiny.jpg",
        "face/broken.jpg",
        "notes.txt",
    }
    for entry in doc["images"]:
        for key in ("path", "kind", "image_type", "accepted", "reasons", "width", "height"):
            assert key in entry
        for key in ("format", "sha256", "metrics", "duplicate_of"):
            assert key in entry
        assert entry["accepted"] == (entry["reasons"] == [])
    first = {p: [r["code"] for r in e["reasons"]] for p, e in by_path.items()}
    assert first["face/sharp.jpg"] == []
    # A sigma-6 blur leaves the detail of a photo a few times smaller: upscaled as well.
    assert first["face/blurry.jpg"] == ["blurry", "upscaled"]  # the plainer cause first
    assert first["face/tiny.jpg"] == ["too_small"]
    assert first["face/broken.jpg"] == ["unreadable"]
    assert first["notes.txt"] == ["misplaced", "unreadable"]
    blurry = by_path["face/blurry.jpg"]["reasons"][0]
    assert 0.5 < blurry["score"] <= 1 and blurry["threshold"] == 0.5
    assert by_path["face/blurry.jpg"]["metrics"]["edge_width"] > 1.15
    assert by_path["face/sharp.jpg"]["width"] == 800
    assert len(by_path["face/sharp.jpg"]["sha256"]) == 64
    assert doc["summary"] == {
        "total": 5,
        "accepted": 1,
        "rejected": 4,
        "rejected_by_reason": {
            "blurry": 1,
            "misplaced": 1,
            "too_small": 1,
            "unreadable": 2,
            "upscaled": 1,
        },
        "by_kind": {
            "face": {"total": 4, "accepted": 1},
            "unclassified": {"total": 1, "accepted": 0},
        },
    }


def test_linked_folders_are_followed_once_and_odd_entries_get_a_verdict(tmp_path: Path) -> None:
    real = tmp_path / "photos"
    write(real / "a.jpg", scene(1))
    root = tmp_path / "c"
    root.mkdir()
    (root / "face").symlink_to(real, target_is_directory=True)
    (real / "loop").symlink_to(tmp_path / "c", target_is_directory=True)  # back up
    (real / "broken.jpg").symlink_to(tmp_path / "gone.jpg")
    (real / "self.jpg").symlink_to(real / "self.jpg")
    os.mkfifo(real / "pipe.jpg")  # reading it would block forever
    report = preflight(root, policy=NO_FACES)
    paths = sorted(i.path for i in report.images)
    assert paths == ["face/a.jpg", "face/broken.jpg", "face/pipe.jpg", "face/self.jpg"]
    assert report.image("face/a.jpg").accepted
    assert "broken link" in report.image("face/broken.jpg").reasons[0].message
    assert "not a regular file" in report.image("face/pipe.jpg").reasons[0].message
    for name in ("broken.jpg", "pipe.jpg", "self.jpg"):
        assert report.image(f"face/{name}").codes == (ReasonCode.UNREADABLE,)


def test_a_link_to_a_folder_above_the_character_is_not_walked(tmp_path: Path) -> None:
    # Walking it would judge everything beside the character folder as its photos.
    root = tmp_path / "studio" / "c"
    write(root / "face" / "a.jpg", scene(1))
    write(tmp_path / "studio" / "other" / "b.jpg", scene(2))
    write(tmp_path / "elsewhere" / "c.jpg", scene(3))
    (root / "face" / "up").symlink_to(Path("..") / "..", target_is_directory=True)
    (root / "face" / "top").symlink_to(tmp_path, target_is_directory=True)
    (root / "face" / "shared").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    paths = sorted(c.relpath for c in discover(root))
    # A linked folder that does not hold the character folder is still followed; the
    # links that do are reported, not walked, with why.
    assert paths == ["face/a.jpg", "face/shared/c.jpg", "face/top", "face/up"]
    report = preflight(root, policy=NO_FACES)
    for name in ("face/top", "face/up"):
        (reason,) = report.image(name).reasons
        assert reason.code is ReasonCode.UNREADABLE
        assert "a link to a folder that holds the checked folder: not followed" in reason.message


def test_the_folders_own_settings_files_are_not_judged(tmp_path: Path) -> None:
    root = tmp_path / "c"
    write(root / "face" / "a.jpg", scene(1))
    (root / "animus-prep.toml").write_text("min_side = 512\n")
    (root / "pyproject.toml").write_text("[tool.animus-prep]\nmin_side = 512\n")
    (root / "face" / "animus-prep.toml").write_text("min_side = 512\n")  # not its place
    assert sorted(c.relpath for c in discover(root)) == ["face/a.jpg", "face/animus-prep.toml"]
    single = tmp_path / "any"
    write(single / "b.jpg", scene(2))
    (single / "animus-prep.toml").write_text("min_side = 512\n")
    assert [c.relpath for c in discover(single, "face")] == ["b.jpg"]


def test_a_linked_face_folder_inside_the_character_folder_keeps_its_kind(
    tmp_path: Path,
) -> None:
    root = tmp_path / "c"
    write(root / "archive" / "picked" / "me.jpg", scene(1))  # sorts before face/
    (root / "face").symlink_to(root / "archive" / "picked", target_is_directory=True)
    report = preflight(root, policy=NO_FACES)
    assert report.image("face/me.jpg").accepted
    stray = report.image("archive/picked/me.jpg")
    assert ReasonCode.MISPLACED in stray.codes
    assert stray.duplicate_of == "face/me.jpg"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder")
def test_a_folder_that_cannot_be_read_is_reported_not_skipped(tmp_path: Path) -> None:
    root = tmp_path / "c"
    write(root / "face" / "a.jpg", scene(1))
    write(root / "face" / "locked" / "b.jpg", scene(2))
    (root / "face" / "locked").chmod(0)
    try:
        report = preflight(root, policy=NO_FACES)
    finally:
        (root / "face" / "locked").chmod(0o755)
    locked = report.image("face/locked")
    assert locked.codes == (ReasonCode.UNREADABLE,)
    assert "cannot be read" in locked.reasons[0].message
    (root / "face").chmod(0)
    try:
        with pytest.raises(LayoutError, match="cannot be read"):
            preflight(root / "face", kind="face", policy=NO_FACES)
    finally:
        (root / "face").chmod(0o755)


def test_a_kind_s_own_folder_that_cannot_be_listed_is_unreadable_not_misplaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "c"
    write(root / "face" / "a.jpg", scene(1))
    write(root / "body" / "front" / "b.jpg", scene(2))
    write(root / "body" / "stray.jpg", scene(3))
    locked = {root / "face", root / "body" / "front"}
    real_list = discover_module._list
    # As for folders without read permission (whom no mode keeps root out of).
    monkeypatch.setattr(
        discover_module, "_list", lambda folder: None if folder in locked else real_list(folder)
    )
    report = preflight(root, policy=NO_FACES)
    face, front = report.image("face"), report.image("body/front")
    assert (face.kind, face.codes) == ("face", (ReasonCode.UNREADABLE,))
    assert (front.kind, front.image_type) == ("body", "body_image_front")
    assert front.codes == (ReasonCode.UNREADABLE,)
    assert ReasonCode.MISPLACED in report.image("body/stray.jpg").codes  # a file, still


def test_duplicates_keep_the_best_copy_wherever_it_is(tmp_path: Path) -> None:
    root = tmp_path / "c"
    arr = photo("astronaut", 1200)
    write(root / "face" / "a_small_copy.jpg", np.ascontiguousarray(arr[::2, ::2]))
    write(root / "face" / "b_original.png", arr, "PNG")
    write(root / "face" / "c_recompressed.jpg", arr, quality=50)
    write(root / "face" / "d_other.jpg", photo("coffee", 900))
    report = preflight(root, policy=NO_FACES)
    assert report.image("face/b_original.png").accepted
    for name in ("a_small_copy.jpg", "c_recompressed.jpg"):
        img = report.image(f"face/{name}")
        assert img.codes == (ReasonCode.DUPLICATE,)
        assert img.duplicate_of == "face/b_original.png"
    assert report.image("face/d_other.jpg").accepted


def test_a_stray_backup_never_wins_over_the_copy_in_place(tmp_path: Path) -> None:
    root = tmp_path / "c"
    arr = photo("astronaut", 1200)
    # Identical bytes; the backup sorts first and is even the larger file.
    write(root / "face" / "portrait.jpg", arr)
    write(root / "a_backup.png", arr, "PNG")
    report = preflight(root, policy=NO_FACES)
    assert report.image("face/portrait.jpg").accepted
    backup = report.image("a_backup.png")
    assert ReasonCode.MISPLACED in backup.codes
    assert backup.duplicate_of == "face/portrait.jpg"


def test_over_cap_keeps_the_best_and_most_varied(tmp_path: Path) -> None:
    root = tmp_path / "c"
    for i in range(5):
        write(root / "face" / f"b_large{i}.jpg", scene(i, (1600, 1200)))
    for i in range(3):
        write(root / "face" / f"a_small{i}.jpg", scene(10 + i, (560, 520)))
    report = preflight(root, policy=Policy(faces=False, face_cap=5))
    over = sorted(i.path for i in report.images if ReasonCode.OVER_CAP in i.codes)
    # Not the first files in the folder: the three lowest-resolution photos.
    assert over == ["face/a_small0.jpg", "face/a_small1.jpg", "face/a_small2.jpg"]
    assert len(report.accepted) == 5
    reason = next(r for r in report.image(over[0]).reasons if r.code is ReasonCode.OVER_CAP)
    assert reason.threshold == 5 and reason.score == 8


@pytest.mark.parametrize("pool", ["thread", "process"])
def test_any_executor_gives_the_same_report(tmp_path: Path, pool: str) -> None:
    root = tmp_path / "c"
    for i in range(4):
        write(root / "face" / f"s{i}.jpg", scene(i))
    write(root / "face" / "dup.jpg", scene(0), quality=70)
    expected = preflight(root, policy=NO_FACES).to_json()
    executor = ThreadPoolExecutor(2) if pool == "thread" else ProcessPoolExecutor(2)
    with executor:
        got = preflight(root, policy=NO_FACES, executor=executor).to_json()
    assert got == expected
    assert got["summary"]["rejected_by_reason"] == {"duplicate": 1}


def test_progress_is_reported_for_every_file(tmp_path: Path) -> None:
    for i in range(3):
        write(tmp_path / f"{i}.jpg", scene(i))
    seen: list[tuple[int, int]] = []
    preflight(tmp_path, kind="face", policy=NO_FACES, progress=lambda d, t, _: seen.append((d, t)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_a_fan_out_of_links_is_walked_once_per_real_folder_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each level links twice to the one below: the photos are reachable by 2**6 paths.
    photos = tmp_path / "photos"
    write(photos / "a.jpg", scene(1))
    write(photos / "b.jpg", scene(2))
    below = photos
    for level in range(6):
        here = tmp_path / f"level{level}"
        here.mkdir()
        (here / "x").symlink_to(below, target_is_directory=True)
        (here / "y").symlink_to(below, target_is_directory=True)
        below = here
    root = tmp_path / "c"
    root.mkdir()
    (root / "face").symlink_to(below, target_is_directory=True)
    listed: Counter[int] = Counter()
    real_list = discover_module._list
    monkeypatch.setattr(
        discover_module,
        "_list",
        lambda folder: listed.update([folder.stat().st_ino]) or real_list(folder),
    )
    read: Counter[str] = Counter()
    real_analyze = work.analyze
    monkeypatch.setattr(
        work,
        "analyze",
        lambda c, p, **kw: read.update([c.path.name]) or real_analyze(c, p, **kw),
    )
    report = preflight(root, policy=NO_FACES)
    assert set(listed.values()) == {1}  # every real folder listed once
    assert read == {"a.jpg": 1, "b.jpg": 1}  # every real file read once
    files = [i for i in report.images if i.path.endswith(".jpg")]
    capped = [i for i in report.images if not i.path.endswith(".jpg")]
    kept = {i.path for i in files if i.accepted}
    assert len(kept) == 2 and all(p.startswith("face/x/x/x/x/x/x/") for p in kept)
    # Every other path to a photo is a copy of it: no path vanishes, none is read again.
    assert len(files) == 2 * discover_module._MAX_PATHS
    for image in files:
        if not image.accepted:
            assert image.codes == (ReasonCode.DUPLICATE,)
            assert image.duplicate_of in kept
            assert "same file" in image.reasons[0].message
    # Paths past the limit are one entry each, pointing at the folder's first path.
    assert capped and all(i.codes == (ReasonCode.DUPLICATE,) for i in capped)
    assert all(i.duplicate_of == "face/x/x/x/x/x/x" for i in capped if i.path.count("/") == 6)


def test_one_picture_may_be_a_face_and_a_body_reference(tmp_path: Path) -> None:
    # The same file in face/ and in body/front/ is sent as two image types: neither copy
    # is a duplicate of the other. Two copies within face/ still are.
    root = tmp_path / "c"
    arr = photo("astronaut", 1200)
    write(root / "face" / "half_body.jpg", arr)
    write(root / "body" / "front" / "half_body.jpg", arr)
    write(root / "face" / "half_body_again.jpg", arr)
    report = preflight(root, policy=NO_FACES)
    assert report.image("body/front/half_body.jpg").accepted
    faces = [report.image("face/half_body.jpg"), report.image("face/half_body_again.jpg")]
    assert sum(i.accepted for i in faces) == 1
    (copy,) = (i for i in faces if not i.accepted)
    assert copy.codes == (ReasonCode.DUPLICATE,) and copy.duplicate_of is not None
    assert copy.duplicate_of.startswith("face/")


def test_stray_backups_are_named_copies_of_the_photo_in_place(tmp_path: Path) -> None:
    root = tmp_path / "c"
    arr = photo("astronaut", 1200)
    write(root / "face" / "portrait.jpg", arr)
    write(root / "body" / "front" / "other.jpg", scene(7))
    write(root / "backup_1.png", arr, "PNG")
    write(root / "backup_2.jpg", arr)
    report = preflight(root, policy=NO_FACES)
    assert report.image("face/portrait.jpg").accepted
    for stray in ("backup_1.png", "backup_2.jpg"):
        assert report.image(stray).duplicate_of == "face/portrait.jpg"
