"""The state one sandbox app shares between its routes: settings, database and files."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

from fastapi import Request

from .auth import Org, key_hash, org_ids_for
from .errors import not_found
from .jobs import TRAINING_PLAN, TrainingState, training_state
from .ledger import to_cents
from .schemas import Character
from .settings import SandboxSettings
from .store import Row, Store

LORA_KINDS = tuple(TRAINING_PLAN)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def sandbox_of(request: Request) -> Sandbox:
    """The `Sandbox` of the app serving `request`."""
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


class Sandbox:
    """Settings, store and file area of one sandbox instance."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.data_dir = Path(settings.data_dir)
        self.files_dir = self.data_dir / "files"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.data_dir / "sandbox.sqlite3")
        self.orgs_by_key: dict[str, Org] = {}
        with self.store.transaction() as conn:
            for key, credits in settings.api_keys.items():
                org_id, creator_id = org_ids_for(key)
                # A restart keeps the stored balance; only a new key gets its credits.
                conn.execute(
                    "INSERT OR IGNORE INTO orgs (org_id, api_key_hash, creator_id, balance_cents)"
                    " VALUES (?, ?, ?, ?)",
                    (org_id, key_hash(key), creator_id, to_cents(credits)),
                )
                self.orgs_by_key[key] = Org(org_id, creator_id)

    # --- basics ---------------------------------------------------------------------

    def now(self) -> float:
        return self.settings.clock()

    @staticmethod
    def new_id(prefix: str) -> str:
        return f"{prefix}_{uuid.uuid4().hex[:24]}"

    def rng(self, *parts: object) -> random.Random:
        """A generator seeded by the sandbox seed and stable, non-random identifiers."""
        return random.Random(":".join(str(p) for p in (self.settings.seed, *parts)))

    def write_file(self, name: str, data: bytes) -> None:
        path = self.files_dir / name
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def delete_file(self, name: str | None) -> None:
        if name:
            (self.files_dir / name).unlink(missing_ok=True)

    @staticmethod
    def file_url(request: Request, name: str) -> str:
        return f"{str(request.base_url).rstrip('/')}/v2/files/{name}"

    # --- characters -----------------------------------------------------------------

    def character_row(self, org: Org, character_id: str) -> Row:
        """The character if it belongs to `org`, else 404 (never 403: ids do not leak)."""
        row = self.store.one(
            "SELECT * FROM characters WHERE character_id = ? AND org_id = ?",
            (character_id, org.org_id),
        )
        if row is None:
            raise not_found("Character")
        return row

    def latest_job(self, character_id: str, kind: str) -> Row | None:
        return self.store.one(
            "SELECT * FROM jobs WHERE character_id = ? AND kind = ?"
            " ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (character_id, kind),
        )

    def training_view(self, job: Row) -> TrainingState:
        params = json.loads(job["params"])
        return training_state(
            job["kind"],
            job["created_at"],
            self.now(),
            self.settings.time_scale,
            cancelled_at=job["cancelled_at"],
            fail_at=job["fail_at"],
            failure_message=params.get("failure_message", "training failed"),
        )

    def lora_status(self, character_id: str, kind: str) -> str:
        job = self.latest_job(character_id, kind)
        return "not_started" if job is None else self.training_view(job).status

    def asset_counts(self, character_id: str) -> dict[str, int]:
        rows = self.store.all(
            "SELECT asset_type, COUNT(*) AS n FROM assets WHERE character_id = ?"
            " GROUP BY asset_type",
            (character_id,),
        )
        return {str(r["asset_type"]): int(r["n"]) for r in rows}

    def current_step(self, row: Row, face: str, body: str) -> int:
        """Wizard step: 1 references, 2 dataset, 3 training, 4 ready to generate."""
        if face == "succeeded" and body == "succeeded":
            return 4
        if row["dataset_status"] == "approved":
            return 3
        if row["dataset_status"] != "not_started":
            return 2
        return 1

    def character_view(self, row: Row) -> Character:
        counts = self.asset_counts(row["character_id"])
        face = self.lora_status(row["character_id"], "face_lora")
        body = self.lora_status(row["character_id"], "body_lora")
        return Character(
            character_id=row["character_id"],
            organization_id=row["org_id"],
            creator_id=row["creator_id"],
            name=row["name"],
            description=row["description"],
            status="active",
            current_step=self.current_step(row, face, body),
            face_images_count=counts.get("face_image", 0),
            body_images_count=counts.get("body_image", 0),
            dataset_status=row["dataset_status"],
            face_lora_status=face,
            body_lora_status=body,
            created_at=iso(row["created_at"]),
            updated_at=iso(row["updated_at"]),
            subscription_id=None,
        )

    def dataset_counts(self, character_id: str) -> dict[str, int]:
        rows = self.store.all(
            "SELECT review, file_name IS NOT NULL AS ready, COUNT(*) AS n FROM dataset_images"
            " WHERE character_id = ? GROUP BY review, ready",
            (character_id,),
        )
        counts = {"total": 0, "ready": 0, "approved": 0, "rejected": 0, "pending": 0}
        for r in rows:
            counts["total"] += r["n"]
            if r["ready"]:
                counts["ready"] += r["n"]
            counts[str(r["review"])] += r["n"]
        return counts

    def touch(self, conn: sqlite3.Connection, character_id: str) -> None:
        conn.execute(
            "UPDATE characters SET updated_at = ? WHERE character_id = ?",
            (self.now(), character_id),
        )

    def close(self) -> None:
        self.store.close()
