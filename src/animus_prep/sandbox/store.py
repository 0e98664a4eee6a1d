"""SQLite state of the sandbox: one connection, one lock, WAL journal."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS orgs (
    org_id TEXT PRIMARY KEY,
    api_key_hash TEXT NOT NULL UNIQUE,
    creator_id TEXT NOT NULL,
    balance_cents INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger (
    entry_id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    reason TEXT NOT NULL,
    ref TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS characters (
    character_id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    creator_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    dataset_status TEXT NOT NULL DEFAULT 'not_started',
    dataset_job_id TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS characters_org ON characters (org_id);
CREATE TABLE IF NOT EXISTS assets (
    asset_id TEXT PRIMARY KEY,
    character_id TEXT NOT NULL,
    asset_type TEXT NOT NULL,
    image_type TEXT,
    filename TEXT NOT NULL,
    file_name TEXT NOT NULL,
    caption TEXT,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS assets_character ON assets (character_id);
CREATE TABLE IF NOT EXISTS idempotency (
    org_id TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (org_id, key)
);
CREATE TABLE IF NOT EXISTS dataset_images (
    image_id TEXT PRIMARY KEY,
    character_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    prompt TEXT NOT NULL,
    seed INTEGER NOT NULL,
    review TEXT NOT NULL DEFAULT 'pending',
    regenerated INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    ready_at REAL NOT NULL,
    file_name TEXT,
    defect TEXT,
    defect_source_seed INTEGER
);
CREATE INDEX IF NOT EXISTS dataset_images_character ON dataset_images (character_id, idx);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    character_id TEXT NOT NULL,
    org_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    params TEXT NOT NULL,
    cancelled_at REAL,
    fail_at REAL,
    materialized INTEGER NOT NULL DEFAULT 0,
    result TEXT
);
CREATE INDEX IF NOT EXISTS jobs_character ON jobs (character_id, kind, created_at);
"""

Row = sqlite3.Row


class Store:
    """Thread-safe access to the sandbox database.

    One connection shared by every thread and guarded by a re-entrant lock: the sandbox
    serves a handful of clients, and a single writer keeps transactions trivially
    serialisable. WAL lets an external `sqlite3` shell read while the server writes.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock for a read-modify-write sequence committed atomically."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            return list(self._conn.execute(sql, params).fetchall())

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        with self._lock:
            row: Row | None = self._conn.execute(sql, params).fetchone()
            return row

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement in its own transaction; return the number of changed rows."""
        with self.transaction() as conn:
            return conn.execute(sql, params).rowcount

    def close(self) -> None:
        with self._lock:
            self._conn.close()
