"""The character a folder is prepared for: found again, never created twice.

The journal in the folder remembers the character created for the folder, name and
server, and records a create before sending it. The folder is known by an identity kept
in its journal, not by its path, so a folder moved or renamed resumes its character
(`WorkJournal.new_folder_identity` makes a copy made on purpose a folder of its own).
When a create was sent but its answer never came back, the server may have made the
character all the same: characters made by animus-prep carry a reference to their folder
identity and name in their description, so the whole character list is searched for it
before anything is created again, both on a rerun and at once when an answer is lost.
Without a journal that names one (removed, or the server given by another address), the
character animus-prep made under the name that holds the folder's photos is the
folder's; one of the name holding none of them stops the command rather than be doubled.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
from collections.abc import Callable, Collection
from pathlib import Path

from ..client import APIError, Client, NotFoundError
from .journal import JOURNAL_NAME, WorkJournal, storable

#: A listing longer than this is taken for a server that never says "no more".
MAX_LISTED = 100_000
#: Creates sent in one call when answers keep getting lost before the server acted.
CREATE_ATTEMPTS = 5


class CharacterError(RuntimeError):
    """The folder's character cannot be settled: the server created one but did not say
    which, the one the journal names is gone, or one this folder's journal does not know
    already has the name."""


#: What the description of every character animus-prep makes begins with (`folder_ref`).
DESCRIPTION_PREFIX = "Prepared with animus-prep ref"


def folder_ref(folder: str, name: str) -> str:
    """The reference to a folder (its identity) and name written into a character's
    description."""
    digest = hashlib.sha256(f"{folder}\n{name}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"animus-prep ref {digest[:16]}"


def ensure_character(
    client: Client,
    journal: WorkJournal,
    name: str,
    say: Callable[[str], None],
    *,
    path: str | None = None,
    new_character: bool = False,
    photos: Collection[str] = (),
) -> str:
    """The id of the character for the journal's folder and ``name``, created only if
    none exists.

    ``path`` is the folder's absolute path: journals written before folders had an
    identity keyed their character by it, and such a character is found and kept.

    ``photos`` are the sha256 digests of the folder's photos: without a character in the
    journal, a character animus-prep made under ``name`` that holds any of them (uploads
    carry a digest of their content in their file names) is this folder's, and is kept.

    Raises `CharacterError` when the character the journal names is gone from the server,
    or when none is recorded and the server already holds a character animus-prep made
    under ``name`` with none of the folder's photos: it may be another folder's, and
    creating one more could pay for the same work twice. With ``new_character`` a new one
    is made in both cases.
    """
    folder = journal.folder_id()
    if path is not None:
        _adopt_path_keyed_character(journal, folder, path, name, client.base_url)
    cid = journal.character(folder, name, client.base_url)
    if cid is not None and not _gone(client, cid):
        say(f"resuming character {name} ({cid})")
        return cid
    if cid is not None:
        if not new_character:
            raise CharacterError(
                f"the character {name} ({cid}) this folder's journal names is not on the "
                "server (deleted, or the API key is another account's); add "
                "--new-character to prepare a new one"
            )
        # Forgotten before anything is created: a rerun after a lost answer then finds
        # the new character by its reference instead of making another.
        journal.forget_character(folder, name, client.base_url)
    ref = folder_ref(folder, name)
    if journal.character_requested(folder, name, client.base_url):
        found = _find(client, ref)
        if found is not None:
            journal.record_character(folder, name, client.base_url, found)
            say(f"found character {name} ({found}) from an earlier run")
            return found
    if not new_character:
        others = _made_under(client, name)
        holding = [c for c in others if _holds_any(client, c, photos)]
        if len(holding) == 1:
            journal.record_character(folder, name, client.base_url, holding[0])
            say(f"found character {name} ({holding[0]}): it holds this folder's photos")
            return holding[0]
        if others:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise CharacterError(
                f"the server already has {len(others)} character(s) named {name} that "
                f"animus-prep made ({shown}), and this folder's journal names none of them "
                f"({'several hold' if holding else 'none holds'} this folder's photos); to "
                f"make another, add --new-character (or upload to one: upload PATH "
                f"--character ID)"
            )
    journal.record_character_request(folder, name, client.base_url)
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            created = client.characters.create(name, description=f"Prepared with {ref}")
        except APIError as exc:
            # The answer was lost: the list says whether the character was made. Only
            # when it surely was not is the create sent again.
            if not exc.may_have_run or attempt == CREATE_ATTEMPTS:
                raise
            found = _find(client, ref)
            if found is not None:
                journal.record_character(folder, name, client.base_url, found)
                say(f"created character {name} ({found}; its answer was lost, found by listing)")
                return found
            continue
        if not created.character_id:
            raise CharacterError("the server created a character without an id")
        journal.record_character(folder, name, client.base_url, created.character_id)
        say(f"created character {name} ({created.character_id})")
        return created.character_id
    raise AssertionError("unreachable: the last attempt returns or raises")


def folder_character(
    client: Client,
    journal: WorkJournal,
    root: Path,
    name: str,
    say: Callable[[str], None],
    *,
    new_character: bool,
    photos: Collection[str],
) -> str:
    """The character of the folder at ``root``: its identity settled (a copy of another
    folder gets its own with ``new_character``), then found or created once
    (`ensure_character`)."""
    settle_folder_identity(journal, root, new_character=new_character)
    return ensure_character(
        client,
        journal,
        name,
        say,
        path=str(root.resolve()),
        new_character=new_character,
        photos=photos,
    )


def settle_folder_identity(journal: WorkJournal, root: Path, *, new_character: bool) -> None:
    """Record where the folder is used from; with ``new_character``, give a copy of
    another folder an identity of its own.

    A folder is a copy when another folder it was used from still holds a journal with
    the same identity (a moved folder leaves nothing behind). Only then does
    ``new_character`` change anything, so running the same command again resumes the
    new character instead of making a third.
    """
    here = storable(str(root.resolve()))
    if new_character:
        identity = journal.folder_id()
        others = [p for p in journal.folder_paths() if p != here]
        if any(_identity_at(Path(p)) == identity for p in others):
            journal.new_folder_identity()
    journal.record_folder_path(here)


def _identity_at(folder: Path) -> str | None:
    """The folder identity in the journal of the folder at ``folder`` (None: none)."""
    path = folder / JOURNAL_NAME
    if not path.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT value FROM folder WHERE key='id'").fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else str(row[0])


def _adopt_path_keyed_character(
    journal: WorkJournal, folder: str, path: str, name: str, base_url: str
) -> None:
    """Key by the folder's identity a character an older journal keyed by the path."""
    if journal.character(folder, name, base_url) is not None:
        return
    legacy = journal.character(path, name, base_url)
    if legacy is not None:
        journal.record_character(folder, name, base_url, legacy)


def _gone(client: Client, cid: str) -> bool:
    """Whether the server says the character no longer exists."""
    try:
        client.characters.get(cid)
    except NotFoundError:
        return True
    return False


def _holds_any(client: Client, cid: str, photos: Collection[str]) -> bool:
    """Whether the character holds an upload of any of ``photos`` (sha256 digests): an
    upload name carries its content's digest, and a copy made to fit the server's limits
    its original's as well (``photo-<original>-fit.<copy>.jpg``)."""
    if not photos:
        return False
    tags = {digest[:16] for digest in photos}
    for asset in client.assets.list(cid).assets:
        if not tags.isdisjoint(_NAME_PARTS.split(asset.filename or "")):
            return True
    return False


_NAME_PARTS = re.compile(r"[._-]")


def _made_under(client: Client, name: str) -> list[str]:
    """The ids of the characters animus-prep made under ``name`` on this server (every
    page, up to the bound of `_find`: past it, nothing is created)."""
    out = []
    for n, character in enumerate(client.characters.iter()):
        if n >= MAX_LISTED:
            raise CharacterError(
                f"searched {MAX_LISTED} characters for those named {name} without "
                "reaching the end; not creating another (to make one, add --new-character)"
            )
        described = (character.description or "").startswith(DESCRIPTION_PREFIX)
        if character.character_id and character.name == name and described:
            out.append(character.character_id)
    return out


def _find(client: Client, ref: str) -> str | None:
    """The id of the character whose description carries ``ref``, if any.

    Every page, in whatever order the server lists them, up to a bound no real account
    reaches (a server that always says "more" must not loop forever).
    """
    for n, character in enumerate(client.characters.iter()):
        if n >= MAX_LISTED:
            raise CharacterError(
                f"searched {MAX_LISTED} characters for the one an earlier run may have "
                f"created ({ref}) without reaching the end; not creating another"
            )
        if character.character_id and ref in (character.description or ""):
            return character.character_id
    return None
