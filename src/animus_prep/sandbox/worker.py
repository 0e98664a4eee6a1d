"""Background production of renders: dataset images, augmented faces, generations.

Work is "due" once the simulated clock passes its ready time. `Materializer.catch_up`
produces whatever is due; a `Worker` thread calls it continuously while the app runs,
and request handlers call it for their character first, so results appear on time even
when no background thread runs (e.g. an app used through an in-process transport).
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from PIL import Image

from . import renders
from .context import Sandbox
from .defects import Defect
from .jobs import (
    AUGMENT_QUEUE_SECONDS,
    AUGMENT_SECONDS_PER_IMAGE,
    GENERATION_QUEUE_SECONDS,
    GENERATION_SECONDS_PER_IMAGE,
    batch_state,
)

logger = logging.getLogger("animus_prep.sandbox")


class Materializer:
    """Turns due work into files and rows. Serialised by one lock: renders are CPU work."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._lock = threading.Lock()

    def references(self, character_id: str) -> list[Image.Image]:
        """Decoded references of a character, faces first, oldest first."""
        rows = self.sandbox.store.all(
            "SELECT file_name FROM assets WHERE character_id = ?"
            " ORDER BY asset_type = 'body_image', rowid",
            (character_id,),
        )
        refs: list[Image.Image] = []
        for r in rows:
            path: Path = self.sandbox.files_dir / r["file_name"]
            if path.exists():
                refs.append(renders.load_reference(path))
        return refs

    def catch_up(self, character_id: str | None = None) -> None:
        with self._lock:
            self._dataset(character_id)
            self._augmentations(character_id)
            self._generations(character_id)

    def _where(self, character_id: str | None) -> tuple[str, tuple[str, ...]]:
        return ("AND character_id = ?", (character_id,)) if character_id else ("", ())

    def _dataset(self, character_id: str | None) -> None:
        sb = self.sandbox
        clause, args = self._where(character_id)
        due = sb.store.all(
            "SELECT * FROM dataset_images WHERE file_name IS NULL AND ready_at <= ? "
            f"{clause} ORDER BY character_id, idx",
            (sb.now(), *args),
        )
        refs_by_char: dict[str, list[Image.Image]] = {}
        for row in due:
            cid = row["character_id"]
            if cid not in refs_by_char:
                refs_by_char[cid] = self.references(cid)
            defect = Defect(row["defect"]) if row["defect"] else None
            data = renders.dataset_render(
                refs_by_char[cid], row["seed"], defect, row["defect_source_seed"]
            )
            name = f"{sb.new_id('render')}.jpg"
            sb.write_file(name, data)
            changed = sb.store.execute(
                "UPDATE dataset_images SET file_name = ? WHERE image_id = ? AND seed = ?"
                " AND file_name IS NULL",
                (name, row["image_id"], row["seed"]),
            )
            if not changed:  # deleted or regenerated while rendering
                sb.delete_file(name)
        generating = sb.store.all(
            f"SELECT character_id FROM characters WHERE dataset_status = 'generating' {clause}",
            args,
        )
        for row in generating:
            self._finish_dataset(row["character_id"])

    def _finish_dataset(self, character_id: str) -> None:
        sb = self.sandbox
        pending = sb.store.one(
            "SELECT COUNT(*) AS n FROM dataset_images WHERE character_id = ? AND file_name IS NULL",
            (character_id,),
        )
        if pending is not None and pending["n"] == 0:
            sb.store.execute(
                "UPDATE characters SET dataset_status = 'reviewing'"
                " WHERE character_id = ? AND dataset_status = 'generating'",
                (character_id,),
            )

    def _augmentations(self, character_id: str | None) -> None:
        sb = self.sandbox
        clause, args = self._where(character_id)
        jobs = sb.store.all(
            f"SELECT * FROM jobs WHERE kind = 'face_augment' AND result IS NULL {clause}", args
        )
        for job in jobs:
            params = json.loads(job["params"])
            state = batch_state(
                params["total"],
                job["created_at"],
                sb.now(),
                sb.settings.time_scale,
                AUGMENT_QUEUE_SECONDS,
                AUGMENT_SECONDS_PER_IMAGE,
            )
            if state.completed <= job["materialized"]:
                continue
            source = self._source_face(job["character_id"], params.get("source_asset_id"))
            for i in range(job["materialized"], state.completed):
                data = renders.face_variant(source, params["seeds"][i])
                name = f"{sb.new_id('face')}.jpg"
                sb.write_file(name, data)
                with sb.store.transaction() as conn:
                    conn.execute(
                        "INSERT INTO assets (asset_id, character_id, asset_type, image_type,"
                        " filename, file_name, caption, width, height, sha256, source,"
                        " created_at) VALUES (?, ?, 'face_image', NULL, ?, ?, ?, ?, ?, '',"
                        " 'augmented', ?)",
                        (
                            sb.new_id("asset"),
                            job["character_id"],
                            f"augmented_{i + 1:02d}.jpg",
                            name,
                            params["prompts"][i],
                            *renders.FACE_SIZE,
                            sb.now(),
                        ),
                    )
                    conn.execute(
                        "UPDATE jobs SET materialized = ?, result = ? WHERE job_id = ?",
                        (i + 1, "done" if i + 1 == state.total else None, job["job_id"]),
                    )

    def _source_face(self, character_id: str, asset_id: str | None) -> Image.Image | None:
        sb = self.sandbox
        row = None
        if asset_id:
            row = sb.store.one("SELECT file_name FROM assets WHERE asset_id = ?", (asset_id,))
        if row is None:
            row = sb.store.one(
                "SELECT file_name FROM assets WHERE character_id = ? AND asset_type = 'face_image'"
                " ORDER BY rowid LIMIT 1",
                (character_id,),
            )
        if row is None or not (sb.files_dir / row["file_name"]).exists():
            return None
        return renders.load_reference(sb.files_dir / row["file_name"])

    def _generations(self, character_id: str | None) -> None:
        sb = self.sandbox
        clause, args = self._where(character_id)
        jobs = sb.store.all(
            f"SELECT * FROM jobs WHERE kind = 'generation' AND result IS NULL {clause}", args
        )
        for job in jobs:
            params = json.loads(job["params"])
            state = batch_state(
                params["num_images"],
                job["created_at"],
                sb.now(),
                sb.settings.time_scale,
                GENERATION_QUEUE_SECONDS,
                GENERATION_SECONDS_PER_IMAGE,
            )
            if state.status != "completed":
                continue
            refs = self.references(job["character_id"])
            names = []
            for i in range(params["num_images"]):
                data = renders.generation(
                    refs, params["seed"] + i, params["width"], params["height"]
                )
                name = f"{sb.new_id('gen')}.jpg"
                sb.write_file(name, data)
                names.append(name)
            sb.store.execute(
                "UPDATE jobs SET result = ?, materialized = 1 WHERE job_id = ?",
                (json.dumps(names), job["job_id"]),
            )


class Worker:
    """A daemon thread calling `Materializer.catch_up` until stopped."""

    def __init__(self, materializer: Materializer, interval: float = 0.2) -> None:
        self.materializer = materializer
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.materializer.catch_up()
            except Exception:  # keep serving; the next request retries the same work
                logger.exception("background render failed")
