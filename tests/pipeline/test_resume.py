"""Runs cut short at the worst moments: a rerun must never pay or create twice."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pipeline_support import example_character

from animus_prep import APIConnectionError, Client, PaymentRequiredError
from animus_prep.client import content_filename, find_asset
from animus_prep.pipeline.journal import JournalBusyError, WorkJournal
from animus_prep.pipeline.run import JOURNAL_NAME, PipelineError, RunSummary, run_pipeline
from animus_prep.pipeline.upload import upload_folder
from animus_prep.policy import Policy
from animus_prep.sandbox import serve_in_thread
from characters import charges

KEY = "sk-resume-test"


@pytest.fixture
def client() -> Iterator[Client]:
    with (
        serve_in_thread(api_keys={KEY: 200}, time_scale=5000, seed=4) as url,
        Client(api_key=KEY, base_url=url) as c,
    ):
        yield c


def no_answer() -> APIConnectionError:
    """What the client raises for a creating call whose answer never came back."""
    error = APIConnectionError("connection reset by peer", method="POST", url="lost")
    error.may_have_run = True
    return error


def lost_answer(call: Callable[..., Any]) -> Callable[..., Any]:
    """The call reaches the server, which acts on it; its answer never comes back."""

    def lost(*args: Any, **kwargs: Any) -> Any:
        call(*args, **kwargs)
        raise no_answer()

    return lost


def never_sent(*args: Any, **kwargs: Any) -> Any:
    """The connection drops before the server acts: to the client, the same as ``lost``."""
    raise no_answer()


def interrupted(*args: Any, **kwargs: Any) -> Any:
    raise KeyboardInterrupt


def interrupted_after(call: Callable[..., Any]) -> Callable[..., Any]:
    """The call reaches the server, which acts on it; then the run is stopped."""

    def stopped(*args: Any, **kwargs: Any) -> Any:
        call(*args, **kwargs)
        raise KeyboardInterrupt

    return stopped


def faces(client: Client, cid: str) -> int:
    return client.characters.get(cid).face_images_count or 0


def run(root: Path, client: Client, **kwargs: Any) -> Any:
    return run_pipeline(root, "Resume", client, poll_interval=0.05, train=False, **kwargs)


def only_character(client: Client) -> str:
    (character,) = list(client.characters.iter())
    return character.character_id or ""


def test_interrupted_while_waiting_for_augmentation_the_rerun_waits_and_pays_nothing(
    tmp_path: Path, client: Client
) -> None:
    root = example_character(tmp_path)
    real_wait = client.face_augmentation.wait
    client.face_augmentation.wait = interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        run(root, client)
    cid = only_character(client)
    client.face_augmentation.wait = real_wait  # type: ignore[method-assign]
    log: list[str] = []
    second = run(root, client, log=log.append)
    assert any("waiting for job" in line for line in log)
    assert second.augmented_faces == 0
    assert faces(client, cid) == 5  # 2 photos + 3 synthesized once, not 2 + 3 + 3


def test_an_augmentation_answer_lost_after_the_charge_is_not_paid_again(
    tmp_path: Path, client: Client
) -> None:
    root = example_character(tmp_path)
    real_create = client.face_augmentation.create
    client.face_augmentation.create = lost_answer(real_create)  # type: ignore[method-assign]
    log: list[str] = []
    # The synthesized faces arriving show the request went through: the run goes on.
    first = run(root, client, log=log.append)
    assert any("answer was lost" in line for line in log)
    cid = only_character(client)
    assert first.augmented_faces == 3 and first.review is not None
    # Its charge was never reported: not counted, and said so, rather than a silent 0.
    assert first.credits_spent == 0 and first.credits_unreported == ["face augmentation"]
    assert first.to_json()["credits_unreported"] == ["face augmentation"]
    client.face_augmentation.create = real_create  # type: ignore[method-assign]
    second = run(root, client)
    assert second.augmented_faces == 0
    assert faces(client, cid) == 5


class GarblingProxy(httpx.HTTPTransport):
    """A real connection to the sandbox on which a proxy replaces the answers to POSTs
    to paths ending in ``suffix`` with its own page: the server acts and charges, the
    client cannot read what it said."""

    def __init__(self, suffix: str) -> None:
        super().__init__()
        self.suffix = suffix

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method != "POST" or not request.url.path.endswith(self.suffix):
            return response
        response.read()
        response.close()
        page = b"<html><body>502 Bad Gateway</body></html>"
        return httpx.Response(200, headers={"content-type": "text/html"}, content=page)


@contextlib.contextmanager
def garbling_sandbox(data: Path, garbled_path: str) -> Iterator[tuple[Client, Client]]:
    """A sandbox keeping its state in ``data``, a client whose answers to requests whose
    path holds ``garbled_path`` come back as a proxy's page, and a plain client."""
    with (
        serve_in_thread(data_dir=data, api_keys={KEY: 200}, time_scale=5000, seed=4) as url,
        Client(api_key=KEY, base_url=url, transport=GarblingProxy(garbled_path)) as garbled,
        Client(api_key=KEY, base_url=url) as client,
    ):
        yield garbled, client


def test_an_augmentation_answered_unreadably_is_watched_for_and_not_paid_again(
    tmp_path: Path,
) -> None:
    root = example_character(tmp_path)
    data = tmp_path / "sandbox"
    with garbling_sandbox(data, "auto-generate-face-images") as (garbled, client):
        log: list[str] = []
        first = run(root, garbled, log=log.append)
        assert any("answer was lost" in line for line in log)
        cid = only_character(client)
        assert first.augmented_faces == 3 and first.review is not None
        second = run(root, client)
        assert second.augmented_faces == 0
        assert faces(client, cid) == 5
    assert charges(data / "sandbox.sqlite3", cid)["face_augmentation"] == 1


def test_a_training_whose_start_was_answered_unreadably_is_found_and_its_charge_unreported(
    tmp_path: Path,
) -> None:
    root = example_character(tmp_path)
    data = tmp_path / "sandbox"
    with garbling_sandbox(data, "face-lora") as (garbled, _client):
        summary = run_pipeline(root, "Resume", garbled, poll_interval=0.05)
        cid = summary.character_id or ""
    assert summary.trainings == {"face": "succeeded", "body": "succeeded"}
    assert summary.credits_unreported == ["face LoRA"]
    assert summary.credits_spent == 1.5 + 45  # the augmentation and the body LoRA
    assert charges(data / "sandbox.sqlite3", cid)["face_lora"] == 1


def test_an_augmentation_request_with_no_answer_stops_until_the_user_says_retry(
    tmp_path: Path, client: Client
) -> None:
    root = example_character(tmp_path)
    real_create = client.face_augmentation.create
    client.face_augmentation.create = never_sent  # type: ignore[method-assign]
    with pytest.raises(PipelineError, match="--retry-augmentation") as stop:
        run(root, client)
    assert isinstance(stop.value.__cause__, APIConnectionError)
    cid = only_character(client)
    client.face_augmentation.create = real_create  # type: ignore[method-assign]
    with pytest.raises(PipelineError, match="--retry-augmentation"):
        run(root, client)
    assert faces(client, cid) == 2  # nothing was paid for
    third = run(root, client, retry_augmentation=True)
    assert third.augmented_faces == 3
    assert faces(client, cid) == 5


def test_a_lost_create_answer_finds_the_created_character_again(
    tmp_path: Path, client: Client
) -> None:
    root = example_character(tmp_path)
    for n in range(3):  # listed before ours
        client.characters.create(f"other{n}")
    real_create = client.characters.create
    client.characters.create = interrupted_after(real_create)  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        run(root, client)
    client.characters.create = real_create  # type: ignore[method-assign]
    log: list[str] = []
    second = run(root, client, log=log.append)
    names = sorted(c.name or "" for c in client.characters.iter())
    assert names == ["Resume", "other0", "other1", "other2"]
    assert any(line.startswith("found character") for line in log)
    assert second.character_id == next(
        c.character_id for c in client.characters.iter() if c.name == "Resume"
    )


def test_a_refused_augmentation_is_not_taken_for_a_possible_charge(tmp_path: Path) -> None:
    root = example_character(tmp_path)
    with (
        serve_in_thread(api_keys={KEY: 1}, time_scale=5000, seed=4) as url,  # 1.5 needed
        Client(api_key=KEY, base_url=url) as poor,
    ):
        for _ in range(2):  # a definite refusal each time, never "ask with --retry"
            with pytest.raises(PaymentRequiredError):
                run(root, poor)
        with WorkJournal(root / JOURNAL_NAME) as journal:
            assert journal.job(only_character(poor), "face_augmentation") is None


def test_the_folder_stays_locked_until_the_run_ends(tmp_path: Path, client: Client) -> None:
    root = example_character(tmp_path)
    seen: list[str] = []
    real_status = client.dataset.status

    def status_while_probing(cid: str) -> Any:
        try:
            WorkJournal(root / JOURNAL_NAME, lock=True).close()
            seen.append("free")
        except JournalBusyError:
            seen.append("locked")
        return real_status(cid)

    client.dataset.status = status_while_probing  # type: ignore[method-assign]
    run(root, client)
    assert seen and set(seen) == {"locked"}
    WorkJournal(root / JOURNAL_NAME, lock=True).close()  # released at the end


def test_no_body_photo_stops_before_anything_is_paid(tmp_path: Path, client: Client) -> None:
    root = example_character(tmp_path)
    shutil.rmtree(root / "body")
    with pytest.raises(PipelineError, match="no body photo"):
        run(root, client)
    assert faces(client, only_character(client)) == 2  # no augmentation bought


def test_a_second_command_on_the_same_folder_is_refused(tmp_path: Path, client: Client) -> None:
    root = example_character(tmp_path)
    with WorkJournal(root / JOURNAL_NAME, lock=True), pytest.raises(PipelineError, match="another"):
        run(root, client)
    assert list(client.characters.iter()) == []  # refused before creating anything


@pytest.mark.parametrize("fault", ["lost", "never sent"])
def test_a_create_without_answer_is_settled_in_the_same_run(
    tmp_path: Path, client: Client, fault: str
) -> None:
    root = example_character(tmp_path)
    client.characters.create("someone else")
    real_create = client.characters.create
    calls: list[str] = []

    def once_without_answer(*args: Any, **kwargs: Any) -> Any:
        calls.append(fault)
        client.characters.create = real_create  # type: ignore[method-assign]
        if fault == "lost":
            real_create(*args, **kwargs)
        raise no_answer()

    client.characters.create = once_without_answer  # type: ignore[method-assign]
    log: list[str] = []
    summary = run(root, client, log=log.append)
    assert calls == [fault]
    names = sorted(c.name or "" for c in client.characters.iter())
    assert names == ["Resume", "someone else"]  # made once, whichever way it went
    assert summary.character_id == next(
        c.character_id for c in client.characters.iter() if c.name == "Resume"
    )
    found = any("found by listing" in line for line in log)
    assert found is (fault == "lost")


def test_a_moved_folder_resumes_its_character_and_pays_nothing_again(
    tmp_path: Path, client: Client
) -> None:
    root = example_character(tmp_path / "a")
    run(root, client)
    cid = only_character(client)
    before = faces(client, cid)
    moved = tmp_path / "b" / "renamed"
    moved.parent.mkdir()
    shutil.move(str(root), moved)
    lines: list[str] = []
    run(moved, client, log=lines.append)
    assert only_character(client) == cid  # no second character, nothing paid again
    assert faces(client, cid) == before
    assert f"resuming character Resume ({cid})" in lines


def test_a_copied_folder_makes_a_second_character_only_when_asked(
    tmp_path: Path, client: Client
) -> None:
    root = example_character(tmp_path / "a")
    run(root, client)
    cid = only_character(client)
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    run(copy, client)  # by default a copy resumes, like a moved folder
    assert only_character(client) == cid
    run(copy, client, new_character=True)
    ids = {c.character_id for c in client.characters.iter()}
    assert len(ids) == 2 and cid in ids
    # The same command again resumes the new character: it does not make a third.
    run(copy, client, new_character=True)
    assert {c.character_id for c in client.characters.iter()} == ids
    # The original still resumes its own.
    lines: list[str] = []
    run(root, client, log=lines.append)
    assert f"resuming character Resume ({cid})" in lines


def test_a_journal_keyed_by_the_folder_path_keeps_its_character(
    tmp_path: Path, client: Client
) -> None:
    from animus_prep.pipeline.character import ensure_character

    root = example_character(tmp_path)
    cid = client.characters.create("Resume").character_id or ""
    with WorkJournal(root / JOURNAL_NAME) as journal:
        # As journals recorded it before folders had an identity of their own.
        journal.record_character(str(root.resolve()), "Resume", client.base_url, cid)
        found = ensure_character(
            client, journal, "Resume", lambda _m: None, path=str(root.resolve())
        )
    assert found == cid and only_character(client) == cid


def test_a_paid_step_under_way_is_never_listed_as_not_done(tmp_path: Path) -> None:
    # 40 credits: the face augmentation (1.5) and the face LoRA (30) are paid, the body
    # LoRA (45) is refused. The face LoRA is under way, not "not done": a user told it
    # is not done might start (and pay for) it again by hand.
    with (
        serve_in_thread(api_keys={KEY: 40}, time_scale=5000, seed=4) as url,
        Client(api_key=KEY, base_url=url) as client,
    ):
        root = example_character(tmp_path)
        summary = RunSummary()
        with pytest.raises(PaymentRequiredError):
            run_pipeline(root, "Resume", client, poll_interval=0.05, summary=summary)
        assert "face LoRA" in summary.started and "face LoRA" not in summary.steps
        assert summary.not_done == ["body LoRA"]
        assert summary.to_json()["started"] == summary.started
        assert summary.credits_spent == 31.5 and summary.credits_unreported == []


def test_an_augmentation_interrupted_while_it_runs_is_under_way(
    tmp_path: Path, client: Client
) -> None:
    root = example_character(tmp_path)
    client.face_augmentation.wait = interrupted  # type: ignore[method-assign]
    summary = RunSummary()
    with pytest.raises(KeyboardInterrupt):
        run(root, client, summary=summary)
    assert "face augmentation" in summary.started
    assert "face augmentation" not in summary.not_done and summary.not_done == ["dataset"]


def test_a_removed_journal_finds_its_character_by_its_photos(
    tmp_path: Path, client: Client
) -> None:
    root = example_character(tmp_path)
    run(root, client)
    cid = only_character(client)
    before = faces(client, cid)
    shutil.rmtree(root / JOURNAL_NAME.split("/")[0])
    lines: list[str] = []
    run(root, client, log=lines.append)
    assert f"found character Resume ({cid}): it holds this folder's photos" in lines
    assert only_character(client) == cid and faces(client, cid) == before


def test_a_removed_journal_finds_its_character_by_copies_made_to_fit(
    tmp_path: Path, client: Client
) -> None:
    # Every photo is over this policy's pixel limit, so only copies made to fit are sent:
    # their names carry their originals' digests.
    policy = Policy(identity=False, fix=True, server_max_pixels=370_000)
    root = example_character(tmp_path)
    first = upload_folder(root, client, name="Resume", policy=policy)
    assert first.uploads and all(u.fixed for u in first.uploads), first.to_json()
    shutil.rmtree(root / JOURNAL_NAME.split("/")[0])
    lines: list[str] = []
    again = upload_folder(root, client, name="Resume", policy=policy, log=lines.append)
    assert again.character_id == first.character_id == only_character(client)
    assert f"found character Resume ({first.character_id}): it holds this folder's photos" in lines
    assert {u.status for u in again.uploads} == {"already"}
    # A copy is never taken for an upload of its original.
    assets = client.assets.list(first.character_id).assets
    for upload in first.uploads:
        original = (root / upload.path).read_bytes()
        assert find_asset(assets, content_filename(Path(upload.path).name, original)) is None


def test_the_character_list_is_searched_within_a_bound(
    tmp_path: Path, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from animus_prep.pipeline import character

    for n in range(3):
        client.characters.create(f"Someone {n}")
    monkeypatch.setattr(character, "MAX_LISTED", 2)
    with (
        WorkJournal(tmp_path / JOURNAL_NAME) as journal,
        pytest.raises(character.CharacterError, match="searched 2 characters"),
    ):
        character.ensure_character(client, journal, "Resume", lambda _m: None)
    assert len(list(client.characters.iter())) == 3


def test_another_spelling_of_the_server_finds_the_same_character(
    tmp_path: Path, client: Client
) -> None:
    root = example_character(tmp_path)
    run(root, client)
    cid = only_character(client)
    other = client.base_url.replace("127.0.0.1", "localhost")
    assert other != client.base_url
    with Client(api_key=KEY, base_url=other) as same_server:
        run(root, same_server)
    assert only_character(client) == cid


def test_a_character_of_the_same_name_without_the_folders_photos_is_not_taken(
    tmp_path: Path, client: Client
) -> None:
    from animus_prep.pipeline.character import CharacterError, ensure_character

    root = example_character(tmp_path / "a")
    run(root, client)
    cid = only_character(client)
    # Another folder, other photos, the same name: it is not the same character, and
    # making one more is left to the user.
    with WorkJournal(tmp_path / "b" / JOURNAL_NAME) as journal:
        with pytest.raises(CharacterError, match=rf"named Resume.*\({cid}\).*none holds"):
            ensure_character(client, journal, "Resume", lambda _m: None, photos={"ab" * 32})
        made = ensure_character(
            client, journal, "Resume", lambda _m: None, photos={"ab" * 32}, new_character=True
        )
    assert made != cid and len(list(client.characters.iter())) == 2


def test_a_character_deleted_on_the_server_is_said_and_can_be_replaced(
    tmp_path: Path, client: Client
) -> None:
    root = example_character(tmp_path)
    run(root, client)
    cid = only_character(client)
    client.characters.delete(cid)
    with pytest.raises(PipelineError, match=rf"Resume \({cid}\).*is not on the server"):
        run(root, client)
    # The new character's create reaches the server, then the run is stopped: the same
    # command again finds it rather than making a second one.
    real_create = client.characters.create
    client.characters.create = interrupted_after(real_create)  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        run(root, client, new_character=True)
    client.characters.create = real_create  # type: ignore[method-assign]
    new = only_character(client)
    lines: list[str] = []
    run(root, client, new_character=True, log=lines.append)
    assert only_character(client) == new != cid
    assert f"found character Resume ({new}) from an earlier run" in lines
    run(root, client, log=lines.append)  # and it is resumed from then on
    assert f"resuming character Resume ({new})" in lines


def test_a_damaged_journal_is_said_and_kept(tmp_path: Path, client: Client) -> None:
    root = example_character(tmp_path)
    journal = root / JOURNAL_NAME
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_bytes(b"\x13\x37" * 1500)
    with pytest.raises(PipelineError, match=r"cannot be read.*move it aside"):
        run(root, client)
    assert journal.read_bytes() == b"\x13\x37" * 1500
    assert list(client.characters.iter()) == []


def test_a_journal_damaged_past_its_header_is_said_and_kept(tmp_path: Path, client: Client) -> None:
    root = example_character(tmp_path)
    run(root, client)
    journal = root / JOURNAL_NAME
    data = bytearray(journal.read_bytes())
    assert len(data) >= 3 * 4096  # the header page, and tables after it
    data[4096 : 3 * 4096] = b"\xa5" * (2 * 4096)
    journal.write_bytes(bytes(data))
    with pytest.raises(PipelineError, match=r"cannot be read.*move it aside"):
        run(root, client)
    assert journal.read_bytes() == bytes(data)
