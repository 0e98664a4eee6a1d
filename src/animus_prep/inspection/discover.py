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
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Kind = Literal["face", "body"]
KINDS: tuple[Kind, ...] = ("face", "body")
FACE_IMAGE_TYPE = "face_image"
_VIEW = re.compile(r"^[a-z0-9][a-z0-9_]*$")
# Folders deeper than this are reported as entries, not walked (links can nest forever).
_MAX_DEPTH = 32


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


def body_image_type(view: str) -> str:
    return f"body_image_{view}"


def _walk(root: Path) -> list[Path]:
    """Every non-dot entry under ``root`` that is not a folder, and every folder that
    cannot be listed. Linked folders are followed; a link back to a folder on its own
    path (a loop) is not."""
    found: list[Path] = []
    stack: list[tuple[Path, frozenset[tuple[int, int]]]] = [(root, frozenset())]
    while stack:
        folder, ancestors = stack.pop()
        try:
            st = folder.stat()
            here = (st.st_dev, st.st_ino)
            if here in ancestors:
                continue
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name, reverse=True)
        except OSError:
            # Reported unreadable with the reason, rather than its photos silently missing.
            found.append(folder)
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                is_folder = entry.is_dir()  # follows links
            except OSError:
                is_folder = False
            if is_folder and len(ancestors) < _MAX_DEPTH:
                stack.append((Path(entry.path), ancestors | {here}))
            else:
                found.append(Path(entry.path))
    return found


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
        raise LayoutError(f"unknown kind {kind!r}: use face or body")
    if not _VIEW.match(view):
        raise LayoutError(f"invalid body view {view!r}: use lower-case letters, e.g. front")
    if root.is_file():
        if kind is None:
            raise LayoutError(f"{root} is a file: say what it is with --kind face|body")
        return [_candidate(root, root.name, kind, view)]
    if not root.is_dir():
        raise LayoutError(f"{root} is neither a file nor a folder")
    with os.scandir(root):  # an unreadable root is an error, not an empty folder
        pass
    if kind is not None:
        return [
            _candidate(p, _rel(p, root), kind, view)
            for p in sorted(_walk(root), key=lambda p: _rel(p, root))
        ]
    if not is_character_folder(root):
        raise LayoutError(
            f"{root} is not a character folder (it has no face/ or body/ folder); "
            "pass --kind face|body to check any folder of one kind"
        )
    out: list[Candidate] = []
    for path in sorted(_walk(root), key=lambda p: _rel(p, root)):
        rel = _rel(path, root)
        parts = rel.split("/")
        if parts[0] == "face" and len(parts) >= 2:
            out.append(Candidate(path, rel, "face", FACE_IMAGE_TYPE))
        elif parts[0] == "body" and len(parts) >= 3 and _VIEW.match(parts[1].lower()):
            out.append(Candidate(path, rel, "body", body_image_type(parts[1].lower())))
        else:
            out.append(Candidate(path, rel, None, None))
    return out


def _candidate(path: Path, rel: str, kind: Kind, view: str) -> Candidate:
    image_type = FACE_IMAGE_TYPE if kind == "face" else body_image_type(view)
    return Candidate(path, rel, kind, image_type)
