"""The upload journal: what it records survives a reopen; lookups are exact."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from animus_prep.pipeline.journal import (
    STATE_DIR_VARIABLE,
    JobRecord,
    JournalBusyError,
    JournaledTries,
    JournalError,
    WorkJournal,
    ensure_writable,
    state_journal_path,
)


def test_uploads_and_characters_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "j" / "journal.sqlite"
    with WorkJournal(path) as j:
        assert j.uploaded("c1", "abc", "face_image") is None
        j.record_upload("c1", "abc", "face_image", "face/a.jpg", "asset-1")
        j.record_character("/f", "Chloe", "http://x/v2", "c1")
    with WorkJournal(path) as j:
        assert j.uploaded("c1", "abc", "face_image") == "asset-1"
        # Same content as another kind, or for another character, is another upload.
        assert j.uploaded("c1", "abc", "body_image_front") is None
        assert j.uploaded("c2", "abc", "face_image") is None
        assert j.character("/f", "Chloe", "http://x/v2") == "c1"
        assert j.character("/f", "Chloe", "http://other/v2") is None
        assert j.uploads("c1") == 1


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    with WorkJournal(tmp_path / "j.sqlite") as j, ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda i: j.record_upload("c", f"sha{i}", "face_image", f"{i}.jpg", f"a{i}"),
                range(200),
            )
        )
        assert j.uploads("c") == 200


def test_paid_jobs_are_recorded_per_character_and_kind(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    with WorkJournal(path) as j:
        assert j.job("c1", "face_augmentation") is None
        j.record_job("c1", "face_augmentation", None, "requested")
    with WorkJournal(path) as j:
        assert j.job("c1", "face_augmentation") == JobRecord(None, "requested")
        j.record_job("c1", "face_augmentation", "job-7", "running")
        assert j.job("c1", "face_augmentation") == JobRecord("job-7", "running")
        assert j.job("c2", "face_augmentation") is None
        j.forget_job("c1", "face_augmentation")
        assert j.job("c1", "face_augmentation") is None


def test_the_folder_lock_keeps_a_second_command_out_until_released(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    script = (
        "import sys\n"
        "from animus_prep.pipeline.journal import WorkJournal, JournalBusyError\n"
        "try:\n"
        "    WorkJournal(sys.argv[1], lock=True).close()\n"
        "except JournalBusyError:\n"
        "    sys.exit(3)\n"
    )

    def other_process() -> int:
        return subprocess.run([sys.executable, "-c", script, str(path)], timeout=60).returncode

    with WorkJournal(path, lock=True):
        with pytest.raises(JournalBusyError, match="another animus-prep command"):
            WorkJournal(path, lock=True)
        assert other_process() == 3
        with WorkJournal(path):  # reading without the lock stays possible
            pass
    assert other_process() == 0


def test_regeneration_counts_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    with WorkJournal(path) as j:
        assert j.regenerations("c1") == {}
        j.record_regeneration("c1", "img1", 1)
        j.record_regeneration("c1", "img1", 2)
        j.record_regeneration("c2", "img9", 1)
    with WorkJournal(path) as j:
        assert j.regenerations("c1") == {"img1": 2}
        assert j.regenerations("c2") == {"img9": 1}


def test_the_check_before_the_work_leaves_nothing_behind(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / ".animus-prep" / "journal.sqlite"
    ensure_writable(deep, keep=False)
    assert list(tmp_path.iterdir()) == []  # not even a probe, nor a folder on the way
    ensure_writable(":memory:", keep=False)  # no folder at all
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / ".animus-prep").write_text("a file")
    with pytest.raises(JournalError, match=r"\.animus-prep: a file of that name is in the way"):
        ensure_writable(tmp_path / "c" / ".animus-prep" / "journal.sqlite", keep=False)
    ensure_writable(deep)  # for the journal itself, its folder is made
    assert deep.parent.is_dir()


def test_two_commands_checking_one_fresh_folder_both_pass(tmp_path: Path) -> None:
    # The check makes nothing in the journal's folder, so neither can remove it from
    # under the other.
    journal = tmp_path / ".animus-prep" / "journal.sqlite"
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: ensure_writable(journal, keep=False), range(400)))
    assert list(tmp_path.iterdir()) == []


def test_a_missing_character_folder_is_not_made_by_an_upload(tmp_path: Path) -> None:
    from animus_prep import Client, LayoutError
    from animus_prep.pipeline.upload import upload_folder

    missing = tmp_path / "no-such-character"
    with (
        Client(api_key="sk-unused", base_url="http://127.0.0.1:9/v2") as client,
        pytest.raises(LayoutError, match="no such file or folder"),
    ):
        upload_folder(missing, client, name="X")
    assert not missing.exists()


def test_two_commands_on_one_character_see_each_other_s_regenerations(tmp_path: Path) -> None:
    with WorkJournal(tmp_path / "j.sqlite") as first, WorkJournal(tmp_path / "j.sqlite") as second:
        mine, theirs = JournaledTries(first, "c1"), JournaledTries(second, "c1")
        mine["r1"] = mine.get("r1", 0) + 1
        assert theirs.get("r1", 0) == 1  # read when asked for, not when opened
        theirs["r1"] = theirs.get("r1", 0) + 1
        assert mine["r1"] == 2 and JournaledTries(first, "c2").get("r1") is None


def test_the_state_journal_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STATE_DIR_VARIABLE, str(tmp_path / "mine"))
    assert state_journal_path() == tmp_path / "mine" / "journal.sqlite"
    monkeypatch.delenv(STATE_DIR_VARIABLE)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert state_journal_path() == tmp_path / "state" / "animus-prep" / "journal.sqlite"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/state")  # ignored, as the spec says
    expected = tmp_path / "home" / ".local" / "state" / "animus-prep" / "journal.sqlite"
    assert state_journal_path() == expected
