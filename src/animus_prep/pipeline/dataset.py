"""The dataset step on its own, for a character that already exists (made in the studio,
or by an earlier command): render the dataset if it never was, then review and approve it.

The review judges renders against reference photos: a folder of them, pre-flighted like
any upload, or, when none is given, the character's own face images, downloaded and
pre-flighted from their bytes (never written to disk). Every photo of the character,
face or body, is also looked for in the renders: a render that copies one is rejected.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from ..client import AnimusError, Asset, Client
from ..inspection.analysis import ImageAnalysis, analyze_bytes
from ..inspection.assemble import assemble
from ..inspection.report import ImageReport, Report
from ..inspection.run import preflight
from ..policy import Policy
from .review import ReviewSummary, review_dataset
from .training import MIN_FACE_IMAGES

Log = Callable[[str], None]


class NoReferencesError(RuntimeError):
    """No usable reference photo: the renders cannot be judged."""


def folder_references(path: str | Path, policy: Policy, executor: Executor | None = None) -> Report:
    """The pre-flight of a folder of reference face photos."""
    return preflight(path, kind="face", policy=policy, executor=executor)


def character_photos(client: Client, cid: str, policy: Policy) -> Report:
    """The pre-flight of every photo uploaded to the character, downloaded 4 at a time.

    A photo that cannot be downloaded is reported `unreadable`, like a broken file.
    """
    assets = [a for a in client.assets.list(cid).assets if a.view_url]

    def one(asset: Asset) -> ImageAnalysis:
        name = asset.filename or asset.asset_id or "photo"
        kind = "body" if asset.asset_type == "body_image" else "face"
        try:
            data = client.download(asset.view_url or "")
        except AnimusError:
            data = b""  # judged unreadable, with the same reason a corrupt file gets
        return analyze_bytes(data, name, policy, kind=kind)

    with ThreadPoolExecutor(max_workers=4) as pool:
        analyses = list(pool.map(one, assets))
    return assemble(f"character {cid}", analyses, policy)


def review_references(photos: Report, folder: Report | None, where: str) -> list[ImageReport]:
    """What renders are judged against: the identity of the accepted face photos of
    ``folder`` (or, without one, of the character's own ``photos``), and a copy of any
    photo of the character (a render that repeats one, face or body, teaches nothing).

    Raises `NoReferencesError` when no face photo is accepted.
    """
    source = folder if folder is not None else photos
    identity = [i for i in source.accepted if i.kind == "face"]
    if not identity:
        raise NoReferencesError(
            f"none of the {sum(i.kind == 'face' for i in source.images)} face photos of "
            f"{where} passes the pre-flight, so the renders cannot be judged: give "
            "reference photos with --reference DIR"
        )
    # Photos that are not identity references still catch copies, never vote on identity.
    copies = [
        replace(i, embedding=None)
        for i in photos.images
        if i.fingerprint is not None and (folder is not None or i not in identity)
    ]
    return identity + copies


def review_character(
    client: Client,
    cid: str,
    references: Sequence[ImageReport],
    policy: Policy,
    *,
    max_regenerations: int = 2,
    dry_run: bool = False,
    poll_interval: float = 2.0,
    log: Log | None = None,
    tries: MutableMapping[str, int] | None = None,
    summary: ReviewSummary | None = None,
) -> ReviewSummary:
    """Render the dataset of ``cid`` if it never was, then review and approve it.

    A dataset approved already is left alone. With ``dry_run`` nothing is rendered,
    judged renders are not acted on, and the dataset is not approved. ``summary`` is
    filled as the review goes, so a caller still has it when the review raises.
    """
    say = log or (lambda _msg: None)
    summary = summary if summary is not None else ReviewSummary()
    summary.dry_run = dry_run
    status = client.dataset.status(cid)
    if (status.dataset_status or "").lower() == "approved":
        summary.dataset_approved = True
        summary.note = f"the dataset was approved already ({status.approved_images} renders)"
        return summary
    if not status.total_images:
        # Said before rendering (a dry run says it too: the cheap place to learn it).
        faces = client.characters.get(cid).face_images_count or 0
        if faces < MIN_FACE_IMAGES:
            warning = (
                f"the character has {faces} face image{'' if faces == 1 else 's'}; its face "
                f"LoRA needs {MIN_FACE_IMAGES} (the server refuses it with fewer): upload "
                "more, or let `animus-prep run` add synthesized faces"
            )
            summary.warnings.append(warning)
            say(f"warning: {warning}")
        if dry_run:
            summary.note = "the dataset has not been rendered yet: nothing to judge"
            return summary
        started = client.dataset.generate(cid, use_default_prompts=True)
        say(f"dataset: rendering {started.total_images or '?'} images")
    return review_dataset(
        client,
        cid,
        references,
        policy,
        max_regenerations=max_regenerations,
        poll_interval=poll_interval,
        log=say,
        tries=tries,
        dry_run=dry_run,
        summary=summary,
    )


__all__ = [
    "NoReferencesError",
    "character_photos",
    "folder_references",
    "review_character",
    "review_references",
]
