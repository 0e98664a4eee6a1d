"""Mirrored copies of real photos are duplicates; other photos, and the photo alone, not."""

from __future__ import annotations

import io
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from animus_prep import preflight
from animus_prep.inspection.analysis import analyze_bytes
from animus_prep.inspection.dedup import verify_mirrored, verify_pair
from animus_prep.inspection.duplicates import Copy
from animus_prep.inspection.mirrors import (
    FACE_CANDIDATES,
    FACE_NEAR,
    MIRROR_RADIUS,
    face_pairs,
    find_mirrors,
    with_mirrors,
)
from animus_prep.inspection.report import Report
from animus_prep.policy import Policy
from people import CHECK, TUNE, grey, jpeg, load, resized

POLICY = Policy(identity=False)


def flipped(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb[:, ::-1])


def cropped(rgb: np.ndarray, share: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    return np.ascontiguousarray(rgb[round(h * share) :, round(w * share) :])


def warmer(rgb: np.ndarray) -> np.ndarray:
    out = rgb.copy()
    out[..., 0] = np.minimum(255, rgb[..., 0].astype(np.float32) * 1.08).astype(np.uint8)
    return out


def judged(tmp_path: Path, photos: dict[str, bytes], policy: Policy = POLICY) -> Report:
    (tmp_path / "face").mkdir(exist_ok=True)
    for name, data in photos.items():
        (tmp_path / "face" / name).write_bytes(data)
    return preflight(tmp_path, policy=policy)


def mirrored_of(report: Report) -> dict[str, str | None]:
    """Each photo rejected as a mirrored copy, and the photo it names as kept."""
    return {
        i.path: i.duplicate_of
        for i in report.images
        if any("flipped left to right" in r.message for r in i.reasons)
    }


@pytest.mark.parametrize("path", [TUNE[0], TUNE[3], CHECK[1]], ids=lambda p: p.stem)
def test_a_mirrored_copy_resized_or_cropped_a_little_is_a_duplicate(
    tmp_path: Path, path: Path
) -> None:
    rgb = load(path)
    half = min(rgb.shape[:2]) // 2
    report = judged(
        tmp_path,
        {
            "photo.jpg": jpeg(rgb),
            # Half the size: the photo itself is the better copy (more than a tie).
            "small_mirror.jpg": jpeg(resized(flipped(rgb), max(half, 520)), 80),
            "cropped_mirror.jpg": jpeg(flipped(cropped(rgb, 0.03))),
        },
    )
    images = {i.path: i for i in report.images}
    duplicates = {p: i.duplicate_of for p, i in images.items() if i.duplicate_of is not None}
    (kept,) = set(images) - set(duplicates)  # one picture: one copy kept
    assert set(duplicates.values()) == {kept}
    mirrored = mirrored_of(report)
    # Each copy flipped from the one kept says so; a copy as it stands does not.
    flips = {"face/photo.jpg"} if kept != "face/photo.jpg" else set(duplicates)
    assert set(mirrored) == flips, (kept, mirrored)
    (reason,) = [r for r in images[min(mirrored)].reasons if r.code.value == "duplicate"]
    assert "trainers flip photos themselves" in reason.message
    # The JSON says which copies are mirrored, for tools that do not read messages.
    flagged = {i["path"] for i in report.to_json()["images"] if i["duplicate_mirrored"]}
    assert flagged == set(mirrored)
    assert reason.score is not None and reason.score >= POLICY.duplicate_min_similarity


def test_other_photos_and_another_photo_of_the_person_flipped_are_not(tmp_path: Path) -> None:
    # Two photos of one person (one of them flipped), and photos of others: all distinct.
    photos = {p.stem + ".jpg": jpeg(load(p)) for p in TUNE[:4] + CHECK[1:3]}
    photos["blue_room_flipped.jpg"] = jpeg(flipped(load(CHECK[0])))
    report = judged(tmp_path, photos)
    assert mirrored_of(report) == {}
    assert not [i.path for i in report.images if i.duplicate_of is not None]


def test_the_check_can_be_turned_off(tmp_path: Path) -> None:
    rgb = load(TUNE[3])
    photos = {"photo.jpg": jpeg(rgb), "mirror.jpg": jpeg(flipped(rgb))}
    off = judged(tmp_path, photos, POLICY.with_overrides({"mirrored_duplicates": False}))
    assert [i.duplicate_of for i in off.images] == [None, None]
    assert len(mirrored_of(judged(tmp_path, photos))) == 1


def test_verification_sees_the_flip_and_only_the_flip() -> None:
    rgb = load(TUNE[0])
    photo = analyze_bytes(jpeg(rgb), "photo.jpg", POLICY).print
    mirror = analyze_bytes(jpeg(flipped(rgb), 85), "mirror.jpg", POLICY).print
    assert photo is not None and mirror is not None
    assert bin(photo.mirror_phash ^ mirror.phash).count("1") <= 2
    found = verify_mirrored(photo, mirror, POLICY.duplicate_min_similarity)
    assert found.duplicate and found.method == "mirrored" and found.similarity > 0.95
    # As they stand the two are different pictures; flipped, a photo is not itself.
    assert not verify_pair(photo, mirror, POLICY.duplicate_min_similarity).duplicate
    assert not verify_mirrored(photo, photo, POLICY.duplicate_min_similarity).duplicate


def test_copies_of_a_mirrored_copy_name_the_photo_kept() -> None:
    rgb = load(TUNE[3])
    small = resized(rgb, min(rgb.shape[:2]) // 2)
    analyses = [
        analyze_bytes(jpeg(rgb), "face/photo.jpg", POLICY),
        analyze_bytes(jpeg(flipped(small)), "face/mirror.jpg", POLICY),
        analyze_bytes(jpeg(flipped(small), 70), "face/mirror_again.jpg", POLICY),
    ]
    # The near-copy search found the second mirror a copy of the first.
    merged = with_mirrors(analyses, {2: Copy(1, 0.99, "aligned")}, POLICY)
    assert merged[1].keep == 0 and merged[1].how == "mirrored"
    assert merged[2].keep == 0 and merged[2].how == "mirrored"
    assert merged[2].similarity <= 0.99
    assert find_mirrors(analyses, {2: Copy(1, 0.99, "aligned")}, POLICY).keys() == {1}


def test_copies_across_kinds_name_a_photo_that_is_kept(tmp_path: Path) -> None:
    # Misplaced files are searched with each kind: the backup is a copy of the body
    # photo in one search, and the flipped copy a copy of the backup in the other.
    rgb = load(TUNE[0])
    h, w = rgb.shape[:2]
    (tmp_path / "face").mkdir()
    (tmp_path / "body" / "front").mkdir(parents=True)
    (tmp_path / "face" / "other.jpg").write_bytes(jpeg(load(CHECK[3])))
    body = np.ascontiguousarray(rgb[round(h * 0.05) :, round(w * 0.05) :])
    (tmp_path / "body" / "front" / "b.jpg").write_bytes(jpeg(body))
    (tmp_path / "x_backup.jpg").write_bytes(jpeg(rgb))
    (tmp_path / "y_flipped.jpg").write_bytes(jpeg(resized(flipped(rgb), 600)))
    report = preflight(tmp_path, policy=Policy(faces=False))
    named = {i.path: i.duplicate_of for i in report.images if i.duplicate_of is not None}
    assert set(named) == {"x_backup.jpg", "y_flipped.jpg"}
    assert set(named.values()) == {"body/front/b.jpg"}  # the kept photo, not a copy
    (reason,) = [
        r
        for i in report.images
        if i.path == "y_flipped.jpg"
        for r in i.reasons
        if r.code.value == "duplicate"
    ]
    assert "flipped left to right" in reason.message


def test_another_photo_of_the_person_flipped_does_not_verify_as_a_mirror() -> None:
    oval = analyze_bytes(jpeg(load(TUNE[0])), "oval.jpg", POLICY).print
    blue = analyze_bytes(jpeg(flipped(load(CHECK[0]))), "blue.jpg", POLICY).print
    assert oval is not None and blue is not None
    for a, b in ((oval, blue), (blue, oval)):
        assert not verify_mirrored(a, b, POLICY.duplicate_min_similarity).duplicate


def _aged(path: Path, data: bytes, seconds_ago: int) -> None:
    path.write_bytes(data)
    when = time.time() - seconds_ago
    os.utime(path, (when, when))


@pytest.mark.parametrize("names", [("a.jpg", "b.jpg"), ("b.jpg", "a.jpg")])
def test_of_a_photo_and_its_flip_saved_alike_the_older_file_is_kept(
    tmp_path: Path, names: tuple[str, str]
) -> None:
    # Saved again at the photo's quality, a flip often takes more bytes for the same
    # picture (here an editor's comment block): the bytes do not tell the original, the
    # files' age does.
    original, flip = names
    rgb = load(TUNE[3])
    (tmp_path / "face").mkdir()
    _aged(tmp_path / "face" / original, jpeg(rgb, 85), 3600)
    resaved = io.BytesIO()
    Image.fromarray(flipped(rgb)).save(resaved, "JPEG", quality=85, comment=b"-" * 30_000)
    _aged(tmp_path / "face" / flip, resaved.getvalue(), 60)
    sizes = {n: (tmp_path / "face" / n).stat().st_size for n in names}
    assert sizes[flip] > sizes[original]
    report = preflight(tmp_path, policy=POLICY)
    images = {i.path: i for i in report.images}
    assert images[f"face/{original}"].duplicate_of is None
    assert images[f"face/{flip}"].duplicate_of == f"face/{original}"


def test_a_colour_copy_is_kept_over_a_black_and_white_one(tmp_path: Path) -> None:
    rgb = load(TUNE[0])
    (tmp_path / "face").mkdir()
    # The grey copy is the newer file but saved finer: colour wins all the same.
    _aged(tmp_path / "face" / "colour.jpg", jpeg(rgb, 80), 60)
    _aged(tmp_path / "face" / "grey.jpg", jpeg(grey(rgb), 95), 3600)
    report = preflight(tmp_path, policy=POLICY)
    images = {i.path: i for i in report.images}
    assert images["face/colour.jpg"].duplicate_of is None
    assert images["face/grey.jpg"].duplicate_of == "face/colour.jpg"
    assert not [w for w in report.warnings if "black and white" in w]


@pytest.mark.parametrize("path", [TUNE[0], TUNE[3], CHECK[0], CHECK[2]], ids=lambda p: p.stem)
def test_a_mirrored_copy_cropped_past_the_hash_reach_is_found_by_its_face(
    tmp_path: Path, path: Path
) -> None:
    rgb = load(path)
    photos = {
        "photo.jpg": jpeg(rgb),
        "copy.jpg": jpeg(warmer(flipped(cropped(rgb, 0.08))), 90),
    }
    prints = [analyze_bytes(data, name, POLICY).print for name, data in photos.items()]
    assert prints[0] is not None and prints[1] is not None
    assert bin(prints[0].mirror_phash ^ prints[1].phash).count("1") > MIRROR_RADIUS
    (tmp_path / "default").mkdir()
    found = judged(tmp_path / "default", photos, Policy())
    assert mirrored_of(found) == {"face/copy.jpg": "face/photo.jpg"}
    # Without face embeddings (no identity check), nothing proposes the pair.
    (tmp_path / "no-identity").mkdir()
    assert mirrored_of(judged(tmp_path / "no-identity", photos)) == {}


def test_photos_of_one_person_proposed_by_face_are_not_copies(tmp_path: Path) -> None:
    # Three photos of one person, one flipped, and others: the faces propose pairs of
    # them, and their pixels tell them apart.
    photos = {p.stem + ".jpg": jpeg(load(p)) for p in (TUNE[0], TUNE[1], TUNE[5], CHECK[1])}
    photos["blue_room_flipped.jpg"] = jpeg(flipped(load(CHECK[0])))
    analyses = [analyze_bytes(data, name, Policy()) for name, data in photos.items()]
    proposed = face_pairs(analyses)
    names = list(photos)
    assert ("obama_oval_office.jpg", "impostor_1.jpg") in {
        (names[a], names[b]) for a, b in proposed
    }
    assert all(s >= FACE_NEAR for s in proposed.values())
    report = judged(tmp_path, photos, Policy())
    assert not [i.path for i in report.images if i.duplicate_of is not None]


def test_face_pairs_are_each_photos_nearest_faces_only() -> None:
    rgb = load(TUNE[3])
    shares = (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06)
    copies = [jpeg(flipped(cropped(rgb, share))) for share in shares]
    analyses = [analyze_bytes(data, f"{k}.jpg", Policy()) for k, data in enumerate(copies)]
    vectors = [a.faces.embedding for a in analyses if a.faces is not None]
    assert len(vectors) == len(copies) and all(v is not None for v in vectors)
    cosines = np.array(vectors) @ np.array(vectors).T
    assert cosines.min() >= FACE_NEAR  # every pair alike enough to propose
    analyses.append(analyze_bytes(b"not an image", "broken.jpg", Policy()))
    pairs = face_pairs(analyses)
    # Each photo proposes its two nearest only: not all 21 pairs; never itself.
    assert len(copies) <= len(pairs) <= 2 * len(copies) < 21
    assert all(a < b < len(copies) for a, b in pairs)
    assert face_pairs(analyses, near=1.01) == {}
    assert face_pairs(analyses[:1]) == {}


def _toward(target: np.ndarray, other: np.ndarray, cosine: float) -> np.ndarray:
    """A unit vector at `cosine` to `target`, in the plane of `target` and `other`."""
    side = other - float(other @ target) * target
    side /= np.linalg.norm(side)
    return (cosine * target + np.sqrt(1 - cosine**2) * side).astype(np.float32)


def test_a_mirrored_copy_is_proposed_among_other_shots_whose_faces_are_nearer() -> None:
    # Other pictures of the person (a closer framing, another day) may stand nearer the
    # photo's face than its mirrored copy: the flipped hash picks the copy out of them.
    rgb = load(TUNE[3])
    photo = analyze_bytes(jpeg(rgb), "photo.jpg", Policy())
    mirror = analyze_bytes(jpeg(warmer(flipped(cropped(rgb, 0.08))), 90), "mirror.jpg", Policy())
    assert photo.faces is not None and photo.faces.embedding is not None
    assert mirror.faces is not None and mirror.faces.embedding is not None
    face, mirrored_face = photo.faces.embedding, mirror.faces.embedding
    copy_cosine = float(face @ mirrored_face)
    assert FACE_NEAR <= copy_cosine < 0.97
    # Faces between the two, nearer each than they are to each other.
    between = (face + mirrored_face) / np.linalg.norm(face + mirrored_face)
    others = []
    for k, path in enumerate(CHECK[:3] + TUNE[:2]):
        other = analyze_bytes(jpeg(load(path)), f"other_{k}.jpg", Policy())
        assert other.faces is not None and other.faces.embedding is not None
        nearer = _toward(between, other.faces.embedding, 0.995 + 0.001 * k)
        assert min(float(nearer @ face), float(nearer @ mirrored_face)) > copy_cosine
        others.append(replace(other, faces=replace(other.faces, embedding=nearer)))
    # A photo without a face first, so indices are not positions among the faces.
    faceless = analyze_bytes(jpeg(np.full((600, 600, 3), 90, np.uint8)), "wall.jpg", Policy())
    analyses = [faceless, photo, *others, mirror]
    assert len(analyses) - 2 <= FACE_CANDIDATES  # every face a candidate of every other
    pairs = face_pairs(analyses)
    assert (1, len(analyses) - 1) in pairs
    assert pairs[(1, len(analyses) - 1)] == pytest.approx(copy_cosine, abs=1e-5)
    # Verified, the mirrored copy is found, and only it.
    found = find_mirrors(analyses, {}, Policy())
    assert {i: c.keep for i, c in found.items()} == {len(analyses) - 1: 1}
