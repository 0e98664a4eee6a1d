"""Many characters at once: one report each, judged again only when their content changed,
duplicates within a character only, and one person under two names found."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from animus_prep import Policy, ReasonCode
from animus_prep.inspection import batch
from animus_prep.inspection.batch import (
    ERROR,
    JUDGED,
    UNCHANGED,
    CrossIdentity,
    Rollup,
    check_batch,
)
from photos import face_photo_path, load_rgb, photo, scene, write

NO_FACES = Policy(faces=False)


def character(root: Path, name: str, *seeds: int) -> Path:
    folder = root / name
    for seed in seeds:
        write(folder / "face" / f"s{seed}.jpg", scene(seed))
    return folder


def count_judged(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    judged: Counter[str] = Counter()
    real = batch.preflight

    def counted(path: Path, *args: object, **kwargs: object) -> object:
        judged[Path(path).name] += 1
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(batch, "preflight", counted)
    return judged


def test_each_character_is_judged_and_judged_again_only_when_its_content_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "studio"
    character(root, "anna", 1, 2)
    bea = character(root, "bea", 3, 4)
    judged = count_judged(monkeypatch)
    first = list(check_batch(root, NO_FACES))
    assert [(r.name, r.status) for r in first] == [("anna", JUDGED), ("bea", JUDGED)]
    assert first[0].report is not None and first[0].report["summary"]["accepted"] == 2
    again = list(check_batch(root, NO_FACES))
    assert [r.status for r in again] == [UNCHANGED, UNCHANGED]
    assert [r.report for r in again] == [r.report for r in first]  # the last reports
    assert judged == {"anna": 1, "bea": 1}
    # Touched but unchanged: still not judged. New bytes under the same name: judged.
    os.utime(bea / "face" / "s3.jpg", (1, 1))
    assert [r.status for r in check_batch(root, NO_FACES)] == [UNCHANGED, UNCHANGED]
    write(bea / "face" / "s3.jpg", scene(5))
    assert [r.status for r in check_batch(root, NO_FACES)] == [UNCHANGED, JUDGED]
    # Another policy is another judgement; --force judges everything.
    stricter = Policy(faces=False, min_side=800)
    assert [r.status for r in check_batch(root, stricter)] == [JUDGED, JUDGED]
    assert [r.status for r in check_batch(root, stricter, force=True)] == [JUDGED, JUDGED]
    assert judged == {"anna": 3, "bea": 4}


def test_duplicates_are_looked_for_within_a_character_never_across(tmp_path: Path) -> None:
    root = tmp_path / "studio"
    arr = photo("astronaut", 560)
    write(root / "anna" / "face" / "cat.jpg", arr)
    write(root / "anna" / "face" / "cat_again.jpg", arr, quality=70)
    write(root / "bea" / "face" / "cat.jpg", arr)
    anna, bea = check_batch(root, NO_FACES)
    assert anna.report is not None and bea.report is not None
    codes = {i["path"]: [r["code"] for r in i["reasons"]] for i in anna.report["images"]}
    assert codes == {"face/cat.jpg": [], "face/cat_again.jpg": ["duplicate"]}
    assert bea.report["summary"]["accepted"] == 1


def test_folders_that_are_not_characters_get_an_error_and_the_rest_go_on(
    tmp_path: Path,
) -> None:
    root = tmp_path / "studio"
    character(root, "anna", 1)
    (root / "misc").mkdir()
    (root / "notes.txt").write_text("not a character")
    (root / ".cache").mkdir()
    results = list(check_batch(root, NO_FACES))
    assert [(r.name, r.status) for r in results] == [("anna", JUDGED), ("misc", ERROR)]
    assert results[1].error is not None
    assert results[1].error["code"] == "not_a_character_folder"
    rollup = Rollup()
    for r in results:
        rollup.add(r)
    doc = rollup.to_json()
    assert (doc["characters"], doc["judged"], doc["errors"]) == (2, 1, 1)
    assert doc["images"] == {"total": 1, "accepted": 1, "rejected": 0}


def test_where_reports_cannot_be_kept_characters_are_judged_every_time_with_a_warning(
    tmp_path: Path,
) -> None:
    root = tmp_path / "studio"
    character(root, "anna", 1)
    (root / ".animus-prep").write_text("a file where the state folder would go")
    warnings: list[str] = []
    assert [r.status for r in check_batch(root, NO_FACES, warnings=warnings)] == [JUDGED]
    (warning,) = warnings
    assert "judged again next time" in warning
    assert [r.status for r in check_batch(root, NO_FACES)] == [JUDGED]


def test_one_person_under_two_characters_is_found(tmp_path: Path) -> None:
    root = tmp_path / "studio"
    a, b = load_rgb(face_photo_path("person_a_2.jpg")), load_rgb(face_photo_path("person_b_2.jpg"))
    write(root / "anna" / "face" / "a.jpg", a)
    write(root / "anne" / "face" / "a_mirrored.jpg", np.ascontiguousarray(a[:, ::-1]))
    write(root / "bea" / "face" / "b.jpg", b)
    # Filed under bea by mistake: anna's photo, beside two of bea.
    write(root / "bea" / "face" / "b_mirrored.jpg", np.ascontiguousarray(b[:, ::-1]))
    write(root / "bea" / "face" / "a_misfiled.jpg", np.ascontiguousarray(a[40:, 40:]))
    # The mirrored photos stand for other photos of each person: not judged duplicates.
    policy = Policy(identity_min_faces=1, face_cap=100, mirrored_duplicates=False)
    cross = CrossIdentity(policy.identity_threshold)
    results = {r.name: r for r in check_batch(root, policy)}
    for r in results.values():
        cross.add(r)
    misfiled = next(
        i for i in results["bea"].report["images"] if i["path"] == "face/a_misfiled.jpg"
    )
    assert ReasonCode.IDENTITY_MISMATCH.value in [r["code"] for r in misfiled["reasons"]]
    warnings = cross.warnings()
    assert any("characters anna and anne look like the same person" in w for w in warnings)
    assert any("bea/face/a_misfiled.jpg looks like character ann" in w for w in warnings)
    assert not any("bea and" in w or "and bea" in w for w in warnings)
    # Unchanged characters keep what cross-identity needs.
    again = CrossIdentity(policy.identity_threshold)
    for r in check_batch(root, policy):
        assert r.status == UNCHANGED
        again.add(r)
    assert again.warnings() == warnings
