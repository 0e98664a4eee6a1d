"""The work journal: a small SQLite file in the character folder that records the work
done on the server for it: the character created, every upload, every paid job, and the
regenerations asked of each render.

It makes `upload` and `run` resumable: a rerun, or a run after a crash, skips every file
whose content is already recorded as an asset of the character. The server's asset list
stays the source of truth (uploads are reconciled with it), the journal saves the calls.
Paid jobs and character creations are recorded before they are requested, so a rerun
never pays or creates twice. Opened with ``lock=True``, it also keeps a second command
off the same folder while it runs.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import IO, NamedTuple

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; commands are then not kept apart
    fcntl = None  # type: ignore[assignment]

JOURNAL_NAME = ".animus-prep/journal.sqlite"
"""Where a character folder keeps its journal, relative to the folder."""

STATE_DIR_VARIABLE = "ANIMUS_PREP_STATE_DIR"
"""Where commands that work on a character without its folder (`review`) keep their
journal: this folder when set, else ``$XDG_STATE_HOME/animus-prep`` (by default
``~/.local/state/animus-prep``)."""


def state_journal_path() -> Path:
    """The journal of commands that have no character folder (`STATE_DIR_VARIABLE`)."""
    folder = os.environ.get(STATE_DIR_VARIABLE)
    if not folder:
        base = os.environ.get("XDG_STATE_HOME", "")
        if not os.path.isabs(base):  # unset, or relative: ignored, as the XDG spec says
            base = str(Path.home() / ".local" / "state")
        folder = str(Path(base) / "animus-prep")
    return Path(folder) / "journal.sqlite"


def storable(text: str) -> str:
    """``text`` as the journal keeps it: itself, or, when it holds bytes that are not
    UTF-8 (a file name from an old camera or a Windows archive, read as lone surrogates),
    those bytes written as ``\\xNN`` (SQLite keeps text as UTF-8 only). The same name always
    gives the same text, so lookups by it still match."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a surrogate no file name decodes to
            raw = text.encode("utf-8", "backslashreplace")
        return raw.decode("utf-8", "backslashreplace")
    return text


_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    character_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    image_type TEXT NOT NULL,
    path TEXT NOT NULL,
    asset_id TEXT,
    uploaded_at REAL NOT NULL,
    PRIMARY KEY (character_id, sha256, image_type)
);
CREATE TABLE IF NOT EXISTS characters (
    folder TEXT NOT NULL,
    name TEXT NOT NULL,
    character_id TEXT NOT NULL,
    base_url TEXT NOT NULL,
    PRIMARY KEY (folder, name, base_url)
);
CREATE TABLE IF NOT EXISTS character_requests (
    folder TEXT NOT NULL,
    name TEXT NOT NULL,
    base_url TEXT NOT NULL,
    requested_at REAL NOT NULL,
    PRIMARY KEY (folder, name, base_url)
);
CREATE TABLE IF NOT EXISTS folder (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS folder_paths (
    path TEXT PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS regenerations (
    character_id TEXT NOT NULL,
    image_id TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (character_id, image_id)
);
CREATE TABLE IF NOT EXISTS jobs (
    character_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    job_id TEXT,
    state TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (character_id, kind)
);
"""


class JournalError(RuntimeError):
    """The folder's journal cannot be used now (busy, or damaged)."""


class JournalBusyError(JournalError):
    """Another command holds the folder's journal lock."""


class JournalDamagedError(JournalError):
    """The folder's journal is not a journal this version can read."""


class JobRecord(NamedTuple):
    """A paid job as recorded: ``requested`` (sent, no answer yet), ``running``, ``done``."""

    job_id: str | None
    state: str


class WorkJournal:
    """Thread-safe record of the work done on the server for one character folder."""

    def __init__(self, path: str | Path, *, lock: bool = False) -> None:
        self.path = Path(path)
        self._lock_file: IO[bytes] | None = None
        if str(path) != ":memory:":
            ensure_writable(self.path)
            if lock:
                self._lock_file = _exclusive(self.path.with_name(self.path.name + ".lock"))
        self._lock = threading.Lock()
        db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False)
            with self._lock, db:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(_SCHEMA)
                # A damaged page past the header shows only when read: read it all now.
                (verdict,) = db.execute("PRAGMA quick_check(1)").fetchone()
            if verdict != "ok":
                raise sqlite3.DatabaseError("quick check: " + " ".join(str(verdict).split()))
        except sqlite3.Error as exc:
            if db is not None:
                db.close()
            if self._lock_file is not None:
                self._lock_file.close()
                self._lock_file = None
            # Never replaced or moved here: it may hold the only record of paid work.
            if isinstance(exc, sqlite3.OperationalError):
                raise JournalError(
                    f"the work journal {self.path} cannot be opened ({exc}); check that "
                    "its folder is writable and no other program holds it"
                ) from None
            raise JournalDamagedError(
                f"the work journal {self.path} cannot be read ({exc}); move it aside and "
                "run again (the character animus-prep made for this folder is found again "
                "by its photos)"
            ) from None
        self._db = db

    def _run(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Cursor:
        """``sql`` on the journal, with every text parameter made storable (`storable`)."""
        return self._db.execute(
            sql, tuple(storable(p) if isinstance(p, str) else p for p in params)
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock
            self._lock_file = None

    def __enter__(self) -> WorkJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def folder_id(self) -> str:
        """The folder's own identity: made once and kept in the journal, so it travels
        with the folder when it is moved or renamed (its path does not)."""
        with self._lock, self._db:
            row = self._run("SELECT value FROM folder WHERE key='id'").fetchone()
            if row is not None:
                return str(row[0])
            value = uuid.uuid4().hex
            self._run("INSERT INTO folder (key, value) VALUES ('id', ?)", (value,))
            return value

    def new_folder_identity(self) -> str:
        """Give the folder a new identity (and forget the paths it was used from): a copy
        made on purpose then prepares a character of its own instead of resuming the one
        its journal names."""
        value = uuid.uuid4().hex
        with self._lock, self._db:
            self._run("INSERT OR REPLACE INTO folder (key, value) VALUES ('id', ?)", (value,))
            self._run("DELETE FROM folder_paths")
        return value

    def folder_paths(self) -> list[str]:
        """Every path this folder identity was used from."""
        with self._lock:
            rows = self._run("SELECT path FROM folder_paths ORDER BY path").fetchall()
        return [str(path) for (path,) in rows]

    def record_folder_path(self, path: str) -> None:
        with self._lock, self._db:
            self._run("INSERT OR IGNORE INTO folder_paths (path) VALUES (?)", (path,))

    def uploaded(self, character_id: str, sha256: str, image_type: str) -> str | None:
        """The asset id this content became, if it was uploaded before."""
        with self._lock:
            row = self._run(
                "SELECT asset_id FROM uploads WHERE character_id=? AND sha256=? AND image_type=?",
                (character_id, sha256, image_type),
            ).fetchone()
        return None if row is None else str(row[0] or "")

    def record_upload(
        self, character_id: str, sha256: str, image_type: str, path: str, asset_id: str | None
    ) -> None:
        with self._lock, self._db:
            self._run(
                "INSERT OR REPLACE INTO uploads"
                " (character_id, sha256, image_type, path, asset_id, uploaded_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (character_id, sha256, image_type, path, asset_id, time.time()),
            )

    def uploads(self, character_id: str) -> int:
        with self._lock:
            (count,) = self._run(
                "SELECT COUNT(*) FROM uploads WHERE character_id=?", (character_id,)
            ).fetchone()
        return int(count)

    def character(self, folder: str, name: str, base_url: str) -> str | None:
        """The character created earlier for this folder, name and server."""
        with self._lock:
            row = self._run(
                "SELECT character_id FROM characters WHERE folder=? AND name=? AND base_url=?",
                (folder, name, base_url),
            ).fetchone()
        return None if row is None else str(row[0])

    def record_character(self, folder: str, name: str, base_url: str, character_id: str) -> None:
        with self._lock, self._db:
            self._run(
                "INSERT OR REPLACE INTO characters (folder, name, base_url, character_id)"
                " VALUES (?, ?, ?, ?)",
                (folder, name, base_url, character_id),
            )
            self._run(
                "DELETE FROM character_requests WHERE folder=? AND name=? AND base_url=?",
                (folder, name, base_url),
            )

    def forget_character(self, folder: str, name: str, base_url: str) -> None:
        """Drop the character recorded for this folder, name and server (it is gone)."""
        with self._lock, self._db:
            self._run(
                "DELETE FROM characters WHERE folder=? AND name=? AND base_url=?",
                (folder, name, base_url),
            )

    def character_requested(self, folder: str, name: str, base_url: str) -> bool:
        """Whether a create was sent for this folder, name and server with no id recorded."""
        with self._lock:
            row = self._run(
                "SELECT 1 FROM character_requests WHERE folder=? AND name=? AND base_url=?",
                (folder, name, base_url),
            ).fetchone()
        return row is not None

    def record_character_request(self, folder: str, name: str, base_url: str) -> None:
        with self._lock, self._db:
            self._run(
                "INSERT OR REPLACE INTO character_requests (folder, name, base_url, requested_at)"
                " VALUES (?, ?, ?, ?)",
                (folder, name, base_url, time.time()),
            )

    def regenerations(self, character_id: str) -> dict[str, int]:
        """How often each render of the character was sent back for regeneration."""
        with self._lock:
            rows = self._run(
                "SELECT image_id, count FROM regenerations WHERE character_id=?",
                (character_id,),
            ).fetchall()
        return {str(image_id): int(count) for image_id, count in rows}

    def record_regeneration(self, character_id: str, image_id: str, count: int) -> None:
        with self._lock, self._db:
            self._run(
                "INSERT OR REPLACE INTO regenerations (character_id, image_id, count)"
                " VALUES (?, ?, ?)",
                (character_id, image_id, count),
            )

    def job(self, character_id: str, kind: str) -> JobRecord | None:
        """The paid job of this kind recorded for the character, if any."""
        with self._lock:
            row = self._run(
                "SELECT job_id, state FROM jobs WHERE character_id=? AND kind=?",
                (character_id, kind),
            ).fetchone()
        return None if row is None else JobRecord(row[0], str(row[1]))

    def record_job(self, character_id: str, kind: str, job_id: str | None, state: str) -> None:
        with self._lock, self._db:
            self._run(
                "INSERT OR REPLACE INTO jobs (character_id, kind, job_id, state, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (character_id, kind, job_id, state, time.time()),
            )

    def forget_job(self, character_id: str, kind: str) -> None:
        with self._lock, self._db:
            self._run("DELETE FROM jobs WHERE character_id=? AND kind=?", (character_id, kind))


def ensure_writable(path: str | Path, *, keep: bool = True) -> None:
    """Prove the journal at ``path`` can be kept, or raise JournalError naming its folder
    and why: found before a long check, not after it. With ``keep`` its folder is made;
    without, nothing is left behind (nor raced with another command making it): a
    folder is made and removed beside where the journal's would go."""
    if str(path) == ":memory:":
        return
    folder = Path(path).parent
    try:
        if keep:
            folder.mkdir(parents=True, exist_ok=True)
            probe_in = folder
        else:
            probe_in = next(p for p in (folder, *folder.parents) if p.exists())
        os.rmdir(tempfile.mkdtemp(prefix=".animus-prep-probe-", dir=probe_in))
    except OSError as exc:
        why = exc.strerror or str(exc)
        blocker = next((p for p in (folder, *folder.parents) if p.exists()), folder)
        if not blocker.is_dir():
            why = f"{blocker.name}: a file of that name is in the way"
        raise JournalError(
            f"the work journal cannot be kept in {folder} ({why}): the "
            "character folder must be writable, since its journal records the work done "
            "on the server so that a rerun never uploads or pays twice"
        ) from None


def _exclusive(path: Path) -> IO[bytes] | None:
    if fcntl is None:
        return None
    try:
        handle = path.open("ab")
    except OSError as exc:
        raise JournalError(
            f"the work journal's lock {path} cannot be made ({exc.strerror or exc})"
        ) from None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise JournalBusyError(
            f"another animus-prep command is working on this folder (it holds {path}); "
            "wait for it to finish"
        ) from None
    return handle


class JournaledTries(MutableMapping[str, int]):
    """Regenerations per render, kept in the journal so the budget holds across runs.
    Each count is read from the journal when asked for, so two commands working on one
    character at once see each other's."""

    def __init__(self, journal: WorkJournal, cid: str) -> None:
        self._journal, self._cid = journal, cid
        self._counts = journal.regenerations(cid)

    def __getitem__(self, key: str) -> int:
        self._counts = self._journal.regenerations(self._cid)
        return self._counts[key]

    def __setitem__(self, key: str, value: int) -> None:
        self._journal.record_regeneration(self._cid, key, value)
        self._counts[key] = value

    def __delitem__(self, key: str) -> None:
        del self._counts[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._counts)

    def __len__(self) -> int:
        return len(self._counts)
