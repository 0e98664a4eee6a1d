"""Exactly-once upload against a real sandbox that loses responses after committing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from animus_prep import Client, Policy, preflight
from animus_prep.client import RetryPolicy
from animus_prep.pipeline.journal import WorkJournal
from animus_prep.pipeline.upload import UploadError, upload_accepted, upload_folder
from animus_prep.sandbox import serve_in_thread
from photos import scene, write

KEY = "sk-upload-test"
NO_FACES = Policy(faces=False)


def _folder(tmp_path: Path, n: int) -> Path:
    root = tmp_path / "c"
    for i in range(n):
        write(root / "face" / f"f{i}.jpg", scene(i, (700, 600)))
    write(root / "body" / "back" / "b.jpg", scene(50, (700, 900)))
    return root


def _client(url: str) -> Client:
    retry = RetryPolicy(attempts=8, initial_wait=0.01, max_wait=0.05, timeout=30)
    return Client(api_key=KEY, base_url=url, retry=retry, timeout=10)


def test_lost_responses_never_yield_a_second_asset(tmp_path: Path) -> None:
    root = _folder(tmp_path, 8)
    report = preflight(root, policy=NO_FACES)
    assert len(report.accepted) == 9
    with (
        serve_in_thread(api_keys={KEY: 100}, faults="lost:0.4", seed=7) as url,
        _client(url) as client,
        WorkJournal(tmp_path / "j.sqlite") as journal,
    ):
        cid = client.characters.create("Lossy").character_id or ""
        first = upload_accepted(report, client, cid, journal, concurrency=4)
        assert [o.status for o in first if o.status == "failed"] == []
        assets = client.assets.list(cid).assets
        assert len(assets) == 9
        assert len({a.filename for a in assets}) == 9
        body = [a for a in assets if a.asset_type == "body_image"]
        assert [a.image_type for a in body] == ["body_image_back"]
        # A rerun sends nothing: the journal knows every file.
        again = upload_accepted(report, client, cid, journal)
        assert {o.status for o in again} == {"already"}
    # Without the journal (a lost file, another machine), the asset list still tells.
    with (
        serve_in_thread(api_keys={KEY: 100}) as url2,
        _client(url2) as client,
        WorkJournal(tmp_path / "fresh.sqlite") as journal,
    ):
        cid2 = client.characters.create("Second").character_id or ""
        upload_accepted(report, client, cid2, journal)
        with WorkJournal(tmp_path / "empty.sqlite") as nothing_known:
            third = upload_accepted(report, client, cid2, nothing_known)
        assert {o.status for o in third} == {"already"}
        assert len(client.assets.list(cid2).assets) == 9


def test_a_file_changed_since_the_check_is_not_uploaded(tmp_path: Path) -> None:
    root = _folder(tmp_path, 2)
    report = preflight(root, policy=NO_FACES)
    shutil.copy(root / "face" / "f1.jpg", root / "face" / "f0.jpg")
    with (
        serve_in_thread(api_keys={KEY: 100}) as url,
        _client(url) as client,
        WorkJournal(tmp_path / "j.sqlite") as journal,
    ):
        cid = client.characters.create("Changed").character_id or ""
        outcomes = {o.path: o for o in upload_accepted(report, client, cid, journal)}
        assert outcomes["face/f0.jpg"].status == "failed"
        assert "changed since the check" in (outcomes["face/f0.jpg"].error or "")
        assert outcomes["face/f1.jpg"].status == "uploaded"
        assert len(client.assets.list(cid).assets) == 2


PEOPLE = Path(__file__).resolve().parents[1] / "data" / "people"
STRANGERS = ("tune/biden_blue_room.jpg", "check/henner_bokeh.jpg", "check/hopper_navy.jpg")


def test_photos_of_strangers_are_not_uploaded_as_one_character(tmp_path: Path) -> None:
    face = tmp_path / "c" / "face"
    face.mkdir(parents=True)
    for name in STRANGERS:
        shutil.copy(PEOPLE / name, face)
    with serve_in_thread(api_keys={KEY: 100}) as url, _client(url) as client:
        with pytest.raises(UploadError) as stopped:
            upload_folder(tmp_path / "c", client, name="Strangers")
        assert not client.characters.list().characters
    assert "identity_unclear 3" in str(stopped.value)


def test_the_pre_flight_s_warnings_are_said_before_uploading(tmp_path: Path) -> None:
    face = tmp_path / "c" / "face"
    face.mkdir(parents=True)
    for name in STRANGERS[:2]:
        shutil.copy(PEOPLE / name, face)
    said: list[str] = []
    with serve_in_thread(api_keys={KEY: 100}) as url, _client(url) as client:
        summary = upload_folder(tmp_path / "c", client, name="Two", log=said.append)
    assert [o.status for o in summary.uploads] == ["uploaded", "uploaded"]
    assert (
        "pre-flight warning: identity not checked: 2 photos with a usable face, and they "
        "look like 2 different people; 3 needed to tell who the character is (or give "
        "reference photos)"
    ) in said


def test_names_that_are_not_utf8_are_uploaded_and_resumed(tmp_path: Path) -> None:
    # A Latin-1 name from an old camera or a Windows archive (read as lone surrogates),
    # in the folder's path and a photo's: the journal could not store it, and every run
    # stopped with a traceback after sending the photo.
    root = tmp_path / os.fsdecode(b"caf\xe9") / "c"
    for i in range(2):
        write(root / "face" / os.fsdecode(b"ard\xe9rn-%d.jpg" % i), scene(i, (700, 600)))
    with serve_in_thread(api_keys={KEY: 100}) as url, _client(url) as client:
        first = upload_folder(root, client, name="Latin", policy=NO_FACES)
        assert sorted(o.status for o in first.uploads) == ["uploaded", "uploaded"]
        again = upload_folder(root, client, name="Latin", policy=NO_FACES)
        assert again.character_id == first.character_id
        assert {o.status for o in again.uploads} == {"already"}
        assert len(client.assets.list(first.character_id).assets) == 2


def test_caps_over_the_server_s_limits_are_refused_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    # body_cap 60 passed: 8 photos were then refused one by one by the server, and the
    # printed resume command failed the same way for ever.
    root = _folder(tmp_path, 2)
    with serve_in_thread(api_keys={KEY: 100}) as url, _client(url) as client:
        with pytest.raises(UploadError, match=r"body_cap 60 is over the 40 body photos"):
            upload_folder(root, client, name="Greedy", policy=Policy(faces=False, body_cap=60))
        assert not client.characters.list().characters
    # A check may lift the caps all the same (every photo judged, none left out).
    assert len(preflight(root, policy=Policy(faces=False, body_cap=60)).accepted) == 3
