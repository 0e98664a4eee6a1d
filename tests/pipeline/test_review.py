"""Render review against a sandbox whose renders carry known, recorded defects."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_support import example_character, sandbox_character

from animus_prep import Client, Policy, preflight
from animus_prep.pipeline.review import judge_renders, review_dataset
from animus_prep.sandbox import close_app, create_app, injected_defects, serve_in_thread

KEY = "sk-review-test"


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:  # type: ignore[type-arg]
    root = example_character(tmp_path_factory.mktemp("ref"))
    report = preflight(root)
    return root, list(report.accepted)


def _setup(client: Client, root: Path, refs: list) -> str:  # type: ignore[type-arg]
    return sandbox_character(client, root, refs, "Reviewed")


@pytest.mark.parametrize("seed", [3, 11])
def test_every_injected_defect_is_caught_and_no_clean_render_rejected(
    references: tuple[Path, list],  # type: ignore[type-arg]
    seed: int,
) -> None:
    root, refs = references
    app = create_app(api_keys={KEY: 100}, time_scale=5000, seed=seed, defect_rate=0.35)
    try:
        with serve_in_thread(app) as url, Client(api_key=KEY, base_url=url) as client:
            cid = _setup(client, root, refs)
            images = client.dataset.images(cid).images
            renders = [
                (i.image_id or "", i.filename or "", client.download(i.view_url or ""))
                for i in images
            ]
        verdicts = {v.image_id: v for v in judge_renders(renders, refs, Policy())}
        defects = injected_defects(app, cid)
    finally:
        close_app(app)
    kinds = {d for d in defects.values() if d is not None}
    assert len(kinds) == 7, kinds  # every kind of defect was exercised
    data = {image_id: blob for image_id, _, blob in renders}
    for image_id, defect in defects.items():
        flagged = not verdicts[image_id].ok
        if defect is None:
            # A clean render may only be flagged as the twin of an injected duplicate.
            twins = [
                i for i, d in defects.items() if d == "duplicate" and data[i] == data[image_id]
            ]
            assert not flagged or twins, (image_id, verdicts[image_id].reasons)
        elif defect == "duplicate":
            twin_flagged = any(
                not verdicts[i].ok for i in defects if i != image_id and data[i] == data[image_id]
            )
            assert flagged or twin_flagged, image_id
        else:
            assert flagged, (image_id, defect)


def test_review_drives_the_dataset_to_approval(
    references: tuple[Path, list],  # type: ignore[type-arg]
) -> None:
    root, refs = references
    app = create_app(api_keys={KEY: 100}, time_scale=5000, seed=5, defect_rate=0.3)
    try:
        with serve_in_thread(app) as url, Client(api_key=KEY, base_url=url) as client:
            cid = _setup(client, root, refs)
            total = client.dataset.status(cid).total_images or 0
            lines: list[str] = []
            summary = review_dataset(
                client, cid, refs, Policy(), poll_interval=0.2, log=lines.append
            )
            status = client.dataset.status(cid)
            approved = client.dataset.images(cid, approved_only=True).images
            remaining = defects_of(app, cid, [i.image_id or "" for i in approved])
    finally:
        close_app(app)
    assert summary.dataset_approved, summary.note
    assert (status.dataset_status or "").lower() == "approved"
    assert summary.regenerated and lines
    # Every approved render is clean (of a byte-identical pair, one copy may stay), and
    # nothing was lost without a reason.
    assert remaining <= {"duplicate"}
    assert len(approved) + len(summary.deleted) == total


def defects_of(app: object, cid: str, ids: list[str]) -> set[str]:
    recorded = injected_defects(app, cid)  # type: ignore[arg-type]
    return {str(recorded[i]) for i in ids if recorded.get(i) is not None}
