"""The pre-flight of many characters: every subfolder of a root is one character folder.

Characters are judged one after another (each with the per-file work on the executor),
or, with `spread=True`, each as one task on the executor: on a dask.distributed cluster,
characters spread over its workers. Either way results stream out one character at a
time, so memory stays flat whatever the number of characters, and duplicates are looked
for within a character, never across (different people).

A character is judged again only when its content changed: its *content key* is a digest
of every file's path, kind and sha256, the policy and this package's version, kept beside
its last report in `ROOT/.animus-prep/check/`. `force=True` judges everything again.

`CrossIdentity` collects each character's identity as results go by and says, at the
end, which characters look like one person, and which rejected photos look like another
character (a studio filing one person under two names).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..faces.identity import cosine
from ..policy import Policy, PolicyError, policy_or_default
from ..reasons import ReasonCode
from .discover import LayoutError, discover, is_character_folder
from .run import preflight
from .work import digest_batch, stream

BATCH_SCHEMA = "animus-prep.batch/1"
STATE_SCHEMA = "animus-prep.batch-state/1"
STATE_FOLDER = Path(".animus-prep") / "check"

JUDGED = "judged"
UNCHANGED = "unchanged"
ERROR = "error"


@dataclass(frozen=True, slots=True)
class Stray:
    """A face photo rejected as someone else, with its embedding (for cross-identity)."""

    path: str
    embedding: np.ndarray


@dataclass(frozen=True, slots=True)
class CharacterResult:
    """The outcome for one character folder."""

    name: str
    status: str
    """`judged`, `unchanged` (content as at its last report, which is given again) or
    `error` (not a character folder, or it could not be read)."""
    report: dict[str, Any] | None = None
    """The `animus-prep.report/1` document."""
    error: dict[str, str] | None = None
    """{"code", "message"} for an error."""
    key: str | None = None
    """The content key the report belongs to."""
    identity: np.ndarray | None = field(default=None, repr=False)
    strays: tuple[Stray, ...] = field(default=(), repr=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema": BATCH_SCHEMA,
            "type": "character",
            "character": self.name,
            "status": self.status,
        }
        if self.error is not None:
            out["error"] = self.error
        if self.report is not None:
            out["report"] = self.report
        return out


def character_folders(root: str | Path) -> tuple[list[Path], list[str]]:
    """The character folders under `root` (its non-dot subfolders, sorted) and a warning
    for every other entry (a file at the top level is not a character)."""
    base = Path(root)
    try:
        entries = sorted(os.scandir(base), key=lambda e: e.name)
    except OSError as exc:
        raise LayoutError(f"{base}: cannot be read ({exc.strerror or exc})") from exc
    folders: list[Path] = []
    warnings: list[str] = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            is_folder = entry.is_dir()
        except OSError:
            is_folder = False
        if is_folder:
            folders.append(Path(entry.path))
        else:
            warnings.append(f"{entry.name}: not a folder, so not a character; skipped")
    return folders, warnings


def package_version() -> str:
    """The installed version of animus-prep (part of every content key: another version
    may judge differently)."""
    try:
        return importlib.metadata.version("animus-prep")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def content_key(folder: Path, policy: Policy, executor: Executor | None = None) -> str:
    """A digest of what a character's report depends on: every file's path, kind and
    bytes (sha256), the policy and this package's version."""
    candidates = discover(folder)
    digests = stream(executor, digest_batch, [str(c.path.absolute()) for c in candidates], 64)
    h = hashlib.sha256()
    h.update(f"{STATE_SCHEMA}\0{package_version()}\0".encode())
    h.update(json.dumps(policy.to_json(), sort_keys=True).encode())
    for c, digest in zip(candidates, digests, strict=True):
        line = f"\0{c.relpath}\0{c.kind}\0{c.image_type}\0{c.same_as}\0{digest}"
        h.update(line.encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def judge_character(
    folder: str,
    name: str,
    policy: Policy,
    known_key: str | None,
    executor: Executor | None = None,
) -> CharacterResult:
    """Judge one character folder, unless its content key is `known_key` (then the result
    is `unchanged`, without a report: the caller has it). Never raises for bad input."""
    path = Path(folder)
    if not path.is_dir() or not is_character_folder(path):
        return CharacterResult(
            name,
            ERROR,
            error={
                "code": "not_a_character_folder",
                "message": f"{name} has no face/ or body/ folder",
            },
        )
    try:
        key = content_key(path, policy, executor)
        if key == known_key:
            return CharacterResult(name, UNCHANGED, key=key)
        report = preflight(path, policy=policy, executor=executor)
    except LayoutError as exc:
        return CharacterResult(name, ERROR, error={"code": "unreadable", "message": str(exc)})
    strays = tuple(
        Stray(img.path, img.embedding)
        for img in report.images
        if img.embedding is not None and ReasonCode.IDENTITY_MISMATCH in img.codes
    )
    return CharacterResult(
        name,
        JUDGED,
        report=report.to_json(),
        key=key,
        identity=report.identity,
        strays=strays,
    )


def _judge_task(args: tuple[str, str, Policy, str | None]) -> CharacterResult:
    folder, name, policy, known = args
    return judge_character(folder, name, policy, known)


def _judge_tasks(batch: Sequence[tuple[str, str, Policy, str | None]]) -> list[CharacterResult]:
    """Worker task: judge whole characters (each with its per-file work in the worker)."""
    return [_judge_task(args) for args in batch]


class StateStore:
    """Each character's last report and content key, one JSON file per character."""

    def __init__(self, root: Path) -> None:
        self.folder = root / STATE_FOLDER
        self.warning: str | None = None

    def _file(self, name: str) -> Path:
        digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:24]
        return self.folder / f"{digest}.json"

    def load(self, name: str) -> dict[str, Any] | None:
        try:
            data: Any = json.loads(self._file(name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("schema") != STATE_SCHEMA:
            return None
        if data.get("character") != name or not isinstance(data.get("report"), dict):
            return None
        return data

    def save(self, result: CharacterResult) -> None:
        if result.report is None or result.key is None or self.warning is not None:
            return
        doc = {
            "schema": STATE_SCHEMA,
            "character": result.name,
            "key": result.key,
            "report": result.report,
            "identity": None if result.identity is None else result.identity.tolist(),
            "strays": [{"path": s.path, "embedding": s.embedding.tolist()} for s in result.strays],
        }
        target = self._file(result.name)
        tmp = target.with_suffix(".tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # ASCII JSON: a name's undecodable bytes (lone surrogates) are kept as
            # \udcXX escapes, which read back as the same name.
            tmp.write_text(json.dumps(doc), encoding="ascii")
            os.replace(tmp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            self.warning = (
                f"cannot keep reports in {self.folder} ({exc.strerror or exc}): every "
                "character will be judged again next time"
            )


def from_state(name: str, state: dict[str, Any], folder: Path | None = None) -> CharacterResult:
    """The stored result of an unchanged character; its report's root is `folder` (the
    folder as it is now: the root may have been moved or copied since)."""
    identity = state.get("identity")
    strays = tuple(
        Stray(str(s["path"]), np.asarray(s["embedding"], dtype=np.float32))
        for s in state.get("strays") or ()
    )
    report = dict(state["report"])
    if folder is not None:
        report["root"] = str(folder.absolute())
    return CharacterResult(
        name,
        UNCHANGED,
        report=report,
        key=state.get("key"),
        identity=None if identity is None else np.asarray(identity, dtype=np.float32),
        strays=strays,
    )


def check_batch(
    root: str | Path,
    policy: Policy | None = None,
    executor: Executor | None = None,
    *,
    force: bool = False,
    spread: bool = False,
    warnings: list[str] | None = None,
    policies: Callable[[Path], Policy] | None = None,
) -> Iterator[CharacterResult]:
    """Judge every character folder under `root`, yielding one result per character in
    name order (each report's root is the character folder's absolute path). `spread`
    runs each character as one task on `executor` (on a cluster: one character per
    worker at a time); otherwise characters go one after another, with their per-file
    work on `executor`. A reason why reports could not be kept is added
    to `warnings` (once). `policies`, when given, makes each character folder's policy
    (the command line's: the folder's own policy file); a folder whose policy cannot be
    made (`PolicyError`) is an `error` result (`bad_policy`). Otherwise `policy` (None: the
    defaults) applies to every folder, whatever policy files they hold; ``policies=lambda
    folder: animus_prep.effective_policy(folder).policy`` judges each as `animus-prep check
    --batch` does."""
    policy = policy_or_default(policy)
    base = Path(root)
    folders, _ = character_folders(base)
    store = StateStore(base)
    jobs: list[tuple[Path, dict[str, Any] | None, Policy | PolicyError]] = []
    for folder in folders:
        state = None if force else store.load(folder.name)
        try:
            own: Policy | PolicyError = policy if policies is None else policies(folder)
        except PolicyError as exc:
            own = exc
        jobs.append((folder, state, own))
    judged = [(f, s, p) for f, s, p in jobs if isinstance(p, Policy)]
    if spread and executor is not None:
        args = [(str(f.absolute()), f.name, p, s["key"] if s else None) for f, s, p in judged]
        results: Iterator[CharacterResult] = stream(executor, _judge_tasks, args, 1)
    else:
        results = (
            judge_character(str(f.absolute()), f.name, p, s["key"] if s else None, executor)
            for f, s, p in judged
        )
    for folder, state, own in jobs:
        if isinstance(own, PolicyError):
            yield CharacterResult(
                folder.name, ERROR, error={"code": "bad_policy", "message": str(own)}
            )
            continue
        result = next(results)
        if result.status == UNCHANGED and state is not None:
            result = from_state(result.name, state, folder)
        elif result.status == JUDGED:
            had = store.warning
            store.save(result)
            if store.warning is not None and had is None and warnings is not None:
                warnings.append(store.warning)
        yield result


@dataclass
class Rollup:
    """Totals over every character, built as results go by."""

    characters: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    images: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)

    def add(self, result: CharacterResult) -> None:
        self.characters += 1
        self.statuses[result.status] += 1
        if result.report is not None:
            s = result.report.get("summary", {})
            for k in ("total", "accepted", "rejected"):
                self.images[k] += int(s.get(k, 0))
            self.reasons.update(s.get("rejected_by_reason", {}))

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": BATCH_SCHEMA,
            "type": "rollup",
            "characters": self.characters,
            "judged": self.statuses[JUDGED],
            "unchanged": self.statuses[UNCHANGED],
            "errors": self.statuses[ERROR],
            "images": {k: self.images[k] for k in ("total", "accepted", "rejected")},
            "rejected_by_reason": dict(sorted(self.reasons.items())),
            "warnings": list(self.warnings),
        }


class CrossIdentity:
    """Finds one person under two characters: identities kept per character (one
    embedding each, and the photos rejected as someone else), compared at the end."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._names: list[str] = []
        self._identities: list[np.ndarray] = []
        self._strays: list[tuple[str, Stray]] = []

    def add(self, result: CharacterResult) -> None:
        if result.identity is not None:
            self._names.append(result.name)
            self._identities.append(np.asarray(result.identity, dtype=np.float32))
        self._strays.extend((result.name, s) for s in result.strays)

    def warnings(self) -> list[str]:
        out: list[str] = []
        for i in range(len(self._names)):
            for j in range(i + 1, len(self._names)):
                sim = cosine(self._identities[i], self._identities[j])
                if sim >= self.threshold:
                    out.append(
                        f"characters {self._names[i]} and {self._names[j]} look like the "
                        f"same person (identity similarity {sim:.2f}; same person above "
                        f"{self.threshold:.3f})"
                    )
        for owner, stray in self._strays:
            scores = [
                (cosine(stray.embedding, identity), name)
                for name, identity in zip(self._names, self._identities, strict=True)
                if name != owner
            ]
            best = max(scores, default=None)
            if best is not None and best[0] >= self.threshold:
                out.append(
                    f"{owner}/{stray.path} looks like character {best[1]} (similarity "
                    f"{best[0]:.2f}), not {owner}"
                )
        return out
