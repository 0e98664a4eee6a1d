"""The upload journal: what it records survives a reopen; lookups are exact."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from animus_prep.journal import Journal


def test_uploads_and_characters_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "j" / "journal.sqlite"
    with Journal(path) as j:
        assert j.uploaded("c1", "abc", "face_image") is None
        j.record_upload("c1", "abc", "face_image", "face/a.jpg", "asset-1")
        j.record_character("/f", "Chloe", "http://x/v2", "c1")
    with Journal(path) as j:
        assert j.uploaded("c1", "abc", "face_image") == "asset-1"
        # Same content as another kind, or for another character, is another upload.
        assert j.uploaded("c1", "abc", "body_image_front") is None
        assert j.uploaded("c2", "abc", "face_image") is None
        assert j.character("/f", "Chloe", "http://x/v2") == "c1"
        assert j.character("/f", "Chloe", "http://other/v2") is None
        assert j.uploads("c1") == 1


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as j, ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda i: j.record_upload("c", f"sha{i}", "face_image", f"{i}.jpg", f"a{i}"),
                range(200),
            )
        )
        assert j.uploads("c") == 200
