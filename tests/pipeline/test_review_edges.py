"""Render review when things go wrong: reruns, refusals, vanished and unreachable renders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pipeline_support import example_character, sandbox_character

from animus_prep import APIConnectionError, Client, Policy, ReasonCode, preflight
from animus_prep.pipeline.review import judge_renders, review_dataset
from animus_prep.sandbox import serve_in_thread

KEY = "sk-review-edges"


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any]]:
    root = example_character(tmp_path_factory.mktemp("ref"))
    return root, list(preflight(root).accepted)


@pytest.fixture
def client() -> Iterator[Client]:
    with (
        serve_in_thread(api_keys={KEY: 100}, time_scale=5000, seed=5, defect_rate=0.0) as url,
        Client(api_key=KEY, base_url=url) as c,
    ):
        yield c


def character(client: Client, refs: tuple[Path, list[Any]], generate: bool = True) -> str:
    return sandbox_character(client, refs[0], refs[1], "Edges", generate)


def review(client: Client, cid: str, refs: tuple[Path, list[Any]]) -> Any:
    return review_dataset(client, cid, refs[1], Policy(), poll_interval=0.1, wait_timeout=60)


def test_a_rerun_after_every_render_was_approved_approves_the_dataset(
    client: Client, references: tuple[Path, list[Any]]
) -> None:
    cid = character(client, references)
    for img in client.dataset.images(cid).images:  # an earlier run got this far
        client.dataset.approve_image(cid, img.image_id or "")
    summary = review(client, cid, references)
    assert summary.dataset_approved, summary.note
    assert (client.dataset.status(cid).dataset_status or "").lower() == "approved"


def test_too_few_approved_renders_are_reported_without_asking_for_approval(
    client: Client, references: tuple[Path, list[Any]]
) -> None:
    cid = character(client, references)
    images = client.dataset.images(cid).images
    need = client.dataset.status(cid).min_required or 0
    assert len(images) > need > 1
    for img in images[: need - 1]:
        client.dataset.approve_image(cid, img.image_id or "")
    for img in images[need - 1 :]:
        client.dataset.delete_image(cid, img.image_id or "")
    summary = review(client, cid, references)
    assert not summary.dataset_approved
    assert summary.note and f"needs {need}" in summary.note
    assert "refused" not in summary.note  # the server was not asked


def test_a_render_deleted_during_the_review_is_skipped(
    client: Client, references: tuple[Path, list[Any]]
) -> None:
    cid = character(client, references)
    victim = client.dataset.images(cid).images[0].image_id or ""
    real_approve = client.dataset.approve_image

    def approve_after_someone_deleted_it(c: str, image_id: str) -> Any:
        if image_id == victim:
            client.dataset.delete_image(c, image_id)
        return real_approve(c, image_id)

    client.dataset.approve_image = approve_after_someone_deleted_it  # type: ignore[method-assign]
    lines: list[str] = []
    summary = review_dataset(
        client, cid, references[1], Policy(), poll_interval=0.1, log=lines.append
    )
    assert any("gone from the dataset" in line for line in lines)
    assert victim not in summary.approved


def test_a_render_that_cannot_be_downloaded_is_judged_next_round_not_rejected(
    client: Client, references: tuple[Path, list[Any]]
) -> None:
    cid = character(client, references)
    victim = client.dataset.images(cid).images[0]
    real_download = client.download
    failures = {"left": 1}

    def flaky(url: str) -> bytes:
        if url == victim.view_url and failures["left"]:
            failures["left"] -= 1
            raise APIConnectionError("connection reset", method="GET", url=url)
        return real_download(url)

    client.download = flaky  # type: ignore[method-assign]
    lines: list[str] = []
    summary = review_dataset(
        client, cid, references[1], Policy(), poll_interval=0.1, log=lines.append
    )
    assert failures["left"] == 0
    assert any("could not be downloaded" in line for line in lines)
    # Judged from its real bytes in a later round: never as an empty file.
    verdicts = [v for v in summary.verdicts if v.image_id == victim.image_id]
    assert verdicts
    assert ReasonCode.UNREADABLE not in {r.code for r in verdicts[0].reasons}


def test_an_empty_dataset_returns_at_once_with_a_note(
    client: Client, references: tuple[Path, list[Any]]
) -> None:
    cid = character(client, references, generate=False)
    summary = review_dataset(client, cid, references[1], Policy(), wait_timeout=600)
    assert not summary.dataset_approved
    assert summary.note and "no renders" in summary.note


def test_a_new_render_that_repeats_an_approved_one_is_a_duplicate(
    client: Client, references: tuple[Path, list[Any]]
) -> None:
    cid = character(client, references)
    for img in client.dataset.images(cid).images:
        data = client.download(img.view_url or "")
        (kept,) = judge_renders([("r1", "r1.jpg", data)], references[1], Policy())
        if kept.ok:
            break
    assert kept.ok, "no clean render to repeat"
    (again,) = judge_renders([("r2", "r2.jpg", data)], references[1], Policy(), [kept])
    assert [r.code for r in again.reasons] == [ReasonCode.DUPLICATE]
    assert "approved render r1.jpg" in again.reasons[0].message


def test_the_regeneration_budget_holds_across_interrupted_reviews(
    references: tuple[Path, list[Any]],
) -> None:
    with (
        serve_in_thread(api_keys={KEY: 100}, time_scale=5000, seed=7, defect_rate=0.6) as url,
        Client(api_key=KEY, base_url=url) as c,
    ):
        cid = character(c, references)
        tries: dict[str, int] = {}
        regenerated: list[str] = []
        for _ in range(3):  # three runs, each cut short after one round
            s = review_dataset(
                c, cid, references[1], Policy(), max_regenerations=1, max_rounds=1, tries=tries
            )
            regenerated += s.regenerated
    assert regenerated, "the seed gives bad renders to regenerate"
    assert max(regenerated.count(i) for i in regenerated) == 1
    assert all(tries[i] == 1 for i in regenerated)


def test_a_render_whose_face_is_too_small_to_find_at_first_look_is_not_approved(
    references: tuple[Path, list[Any]],
) -> None:
    # The closer look of face photos (whose face size is then judged) is not spent on
    # renders, whose face size is not: a 20 px face would be embedded and approved.
    import io

    from PIL import Image

    person = Image.open(references[0] / "body" / "front" / "ardern_studio.jpg").convert("RGB")
    canvas = Image.new("RGB", (832, 1216), (120, 130, 140))
    small = person.resize((round(person.width * 130 / person.height), 130), Image.LANCZOS)
    canvas.paste(small, ((832 - small.width) // 2, 1216 - 180))
    buf = io.BytesIO()
    canvas.save(buf, "JPEG", quality=95)
    (verdict,) = judge_renders([("r1", "r1.jpg", buf.getvalue())], references[1], Policy())
    assert ReasonCode.NO_FACE in {r.code for r in verdict.reasons}
