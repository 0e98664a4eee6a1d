"""The character a folder is prepared for: found again, never created twice.

The journal remembers the character created for a folder, name and server. When it does
not (a first run, a journal deleted, or a create whose response was lost), the server is
asked first: characters made by animus-prep carry a reference to their folder and name in
their description, so the one an earlier run created is found and reused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from .client import Client
from .journal import Journal

#: Characters listed at most when looking for one an earlier run created.
MAX_LISTED = 5000


class CharacterError(RuntimeError):
    """The server created a character but did not say which."""


def folder_ref(folder: str, name: str) -> str:
    """The reference to a folder and name written into a character's description."""
    digest = hashlib.sha256(f"{folder}\n{name}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"animus-prep ref {digest[:16]}"


def ensure_character(
    client: Client, journal: Journal, folder: str, name: str, say: Callable[[str], None]
) -> str:
    """The id of the character for ``folder`` and ``name``, created only if none exists."""
    cid = journal.character(folder, name, client.base_url)
    if cid is not None:
        say(f"resuming character {name} ({cid})")
        return cid
    ref = folder_ref(folder, name)
    for n, character in enumerate(client.characters.iter()):
        if n >= MAX_LISTED:
            break
        if character.character_id and ref in (character.description or ""):
            journal.record_character(folder, name, client.base_url, character.character_id)
            say(f"found character {name} ({character.character_id}) from an earlier run")
            return character.character_id
    created = client.characters.create(name, description=f"Prepared with {ref}").character_id
    if not created:
        raise CharacterError("the server created a character without an id")
    journal.record_character(folder, name, client.base_url, created)
    say(f"created character {name} ({created})")
    return created
