"""Which files to judge, and as what: the character-folder layout.

A character folder holds `face/` (face photos) and `body/<view>/` (body photos whose API
image type is `body_image_<view>`). Any other folder can be checked with an explicit kind.
Folders are walked recursively in a stable order, following linked folders (a link back
to a folder on its own path is not followed, so loops end); dotfiles and dot-folders are
skipped. Every
other entry is a candidate, so a stray text file, a broken link or a folder that cannot
be read gets a verdict too (`unreadable`) instead of vanishing from the report.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from ..policy import FOLDER_FILE, PYPROJECT

Kind = Literal["face", "body"]
KINDS: tuple[Kind, ...] = ("face", "body")
FACE_IMAGE_TYPE = "face_image"
_VIEW = re.compile(r"^[a-z0-9][a-z0-9_]*$")
SETTINGS_FILES = frozenset({FOLDER_FILE, PYPROJECT})
"""A folder's own settings files (see `config`): never judged as its photos."""
REPORT_MARK = '<meta name="generator" content="animus-prep">'
"""What the head of every HTML report of animus-prep carries (see `htmlreport`): a report
written into the folder it describes is not judged as one of its photos next time."""
_REPORT_SUFFIXES = (".html", ".htm")
# Folders deeper than this are reported as entries, not walked (links can nest forever).
_MAX_DEPTH = 32
# Paths under which one real folder's files are listed, at most (see _walk).
_MAX_PATHS = 8


class LayoutError(ValueError):
    """The path cannot be read as a character folder or a folder of one kind."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One file to judge."""

    path: Path
    relpath: str
    """Path relative to the root, with forward slashes (the report's key)."""
    kind: Kind | None
    """None when the file is outside face/ and body/<view>/ of a character folder."""
    image_type: str | None
    """API image type: `face_image`, or `body_image_<view>` for body photos."""
    size: int | None = None
    """Size in bytes of a regular file (None for anything else, or when it cannot be read)."""
    file_id: tuple[int, int] | None = None
    """(device, inode) of a regular file: equal for every path that reaches one file."""
    same_as: str | None = None
    """For a folder reached by more paths than are listed: the path its files are under."""

    def absolute(self) -> Candidate:
        """This candidate with an absolute path (for a worker with another working folder)."""
        return self if self.path.is_absolute() else replace(self, path=self.path.absolute())


def body_image_type(view: str) -> str:
    return f"body_image_{view}"


_FolderId = tuple[int, int]
_Listing = list[tuple[str, bool]] | None
"""A folder's entries (name, is a folder), or None when it cannot be listed."""


def _list(folder: Path) -> _Listing:
    try:
        with os.scandir(folder) as listing:
            entries = []
            for entry in listing:
                if entry.name.startswith("."):
                    continue
                try:
                    is_folder = entry.is_dir()  # follows links
                except OSError:
                    is_folder = False
                entries.append((entry.name, is_folder))
    except OSError:
        return None
    # The character layout's own folders first, so they are listed under their own paths
    # before any cap on the paths of one folder applies.
    return sorted(entries, key=lambda e: (e[0] not in ("face", "body"), e[0]), reverse=True)


def _walk(root: Path) -> list[tuple[Path, Path | None]]:
    """Every non-dot entry under ``root`` that is not a folder, and every folder that
    cannot be listed, as (path, None). Linked folders are followed; a link back to a
    folder on its own path (a loop), or to any folder above ``root`` (whose walk would
    hold ``root`` and everything beside it), is not.

    Each real folder is listed from disk once, however many paths reach it (a link tree
    that fans out): its other paths reuse that listing, up to _MAX_PATHS paths per
    folder. A path beyond those is one entry, (path, the folder's first path), instead of
    its files again: a tree of links can reach one folder by exponentially many paths.
    """
    found: list[tuple[Path, Path | None]] = []
    listings: dict[_FolderId, _Listing] = {}
    paths: dict[_FolderId, list[Path]] = {}
    above = _folders_above(root)
    stack: list[tuple[Path, frozenset[_FolderId]]] = [(root, frozenset())]
    while stack:
        folder, ancestors = stack.pop()
        try:
            st = folder.stat()
        except OSError:
            found.append((folder, None))
            continue
        here = (st.st_dev, st.st_ino)
        if here in above:
            found.append((folder, None))  # reported (see `decode`), never walked
            continue
        if here in ancestors:
            continue
        seen = paths.setdefault(here, [])
        if len(seen) >= _MAX_PATHS:
            found.append((folder, seen[0]))
            continue
        seen.append(folder)
        if here not in listings:
            listings[here] = _list(folder)
        listing = listings[here]
        if listing is None:
            # Reported unreadable with the reason, rather than its photos silently missing.
            found.append((folder, None))
            continue
        for name, is_folder in listing:
            path = folder / name
            if is_folder and len(ancestors) < _MAX_DEPTH:
                stack.append((path, ancestors | {here}))
            else:
                found.append((path, None))
    return found


def _folders_above(root: Path) -> frozenset[_FolderId]:
    """The identities of the real folders that hold ``root`` (links resolved)."""
    out: set[_FolderId] = set()
    for folder in root.resolve().parents:
        try:
            st = folder.stat()
        except OSError:
            continue
        out.add((st.st_dev, st.st_ino))
    return frozenset(out)


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def is_character_folder(root: Path) -> bool:
    return (root / "face").is_dir() or (root / "body").is_dir()


def discover(root: str | Path, kind: Kind | None = None, view: str = "front") -> list[Candidate]:
    """List the candidates under `root` (a folder, or a single file with `kind`)."""
    root = Path(root)
    try:
        return _discover(root, kind, view)
    except OSError as exc:
        raise LayoutError(f"{root}: cannot be read ({exc.strerror or exc})") from exc


def _discover(root: Path, kind: Kind | None, view: str) -> list[Candidate]:
    if not root.exists():
        raise LayoutError(f"{root}: no such file or folder")
    if kind is not None and kind not in KINDS:
        shown = repr(kind) if isinstance(kind, str) else f"of type {type(kind).__name__}"
        raise LayoutError(f"unknown kind {shown}: use face or body")
    if not _VIEW.match(view):
        raise LayoutError(f"invalid body view {view!r}: use lower-case letters, e.g. front")
    if root.is_file():
        if kind is None:
            raise LayoutError(f"{root} is a file: say what it is with --kind face|body")
        return [_with_facts(_candidate(root, root.name, kind, view), None)]
    if not root.is_dir():
        raise LayoutError(f"{root} is neither a file nor a folder")
    with os.scandir(root):  # an unreadable root is an error, not an empty folder
        pass
    if kind is None and not is_character_folder(root):
        raise LayoutError(
            f"{root} is not a character folder (it has no face/ or body/ folder); "
            "pass --kind face|body to check any folder of one kind"
        )
    walked = sorted(_walk(root), key=lambda e: _rel(e[0], root))
    out: list[Candidate] = []
    for path, first in walked:
        rel = _rel(path, root)
        if rel in SETTINGS_FILES:
            continue  # the folder's own policy file (see `config`), not a photo
        if is_report(path):
            continue  # a report of this folder, written into it
        c = _candidate(path, rel, kind, view) if kind is not None else _placed(path, rel)
        out.append(_with_facts(c, None if first is None else _rel(first, root)))
    return out


def is_report(path: Path) -> bool:
    """Whether ``path`` is an HTML report of animus-prep by its name and its head."""
    return path.name.lower().endswith(_REPORT_SUFFIXES) and carries_report_mark(path)


def carries_report_mark(path: Path) -> bool:
    """Whether ``path`` is a regular file whose head carries `REPORT_MARK`."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return False  # never opened: a FIFO would block
        with path.open("rb") as f:
            head = f.read(16384)
    except OSError:
        return False
    return REPORT_MARK.encode() in head


def _placed(path: Path, rel: str) -> Candidate:
    """A file of a character folder, its kind known from where it is."""
    parts = rel.split("/")
    # A folder is an entry only when it cannot be listed (`_walk`): the face folder's or
    # a body view's files are of that kind, whatever keeps them from being read.
    if parts[0] == "face" and (len(parts) >= 2 or _is_folder(path)):
        return Candidate(path, rel, "face", FACE_IMAGE_TYPE)
    if (
        parts[0] == "body"
        and len(parts) >= 2
        and _VIEW.match(parts[1].lower())
        and (len(parts) >= 3 or _is_folder(path))
    ):
        return Candidate(path, rel, "body", body_image_type(parts[1].lower()))
    return Candidate(path, rel, None, None)


def _is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _with_facts(c: Candidate, same_as: str | None) -> Candidate:
    """The candidate with its file's size and identity (for a regular file)."""
    if same_as is not None:
        return replace(c, same_as=same_as)
    try:
        st = c.path.stat()
    except OSError:
        return c
    if not stat.S_ISREG(st.st_mode):
        return c
    return replace(c, size=st.st_size, file_id=(st.st_dev, st.st_ino))


def _candidate(path: Path, rel: str, kind: Kind, view: str) -> Candidate:
    image_type = FACE_IMAGE_TYPE if kind == "face" else body_image_type(view)
    return Candidate(path, rel, kind, image_type)
