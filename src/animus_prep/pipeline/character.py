"""The character a folder is prepared for: found again, never created twice.

The journal remembers the character created for a folder, name and server, and records a
create before sending it. When a create was sent but its answer never came back, the
server may have made the character all the same: characters made by animus-prep carry a
reference to their folder and name in their description, so the whole character list is
searched for it before anything is created again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from ..client import Client
from .journal import WorkJournal

#: A listing longer than this is taken for a server that never says "no more".
MAX_LISTED = 100_000


class CharacterError(RuntimeError):
    """The server created a character but did not say which."""


def folder_ref(folder: str, name: str) -> str:
    """The reference to a folder and name written into a character's description."""
    digest = hashlib.sha256(f"{folder}\n{name}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"animus-prep ref {digest[:16]}"


def ensure_character(
    client: Client, journal: WorkJournal, folder: str, name: str, say: Callable[[str], None]
) -> str:
    """The id of the character for ``folder`` and ``name``, created only if none exists."""
    cid = journal.character(folder, name, client.base_url)
    if cid is not None:
        say(f"resuming character {name} ({cid})")
        return cid
    ref = folder_ref(folder, name)
    if journal.character_requested(folder, name, client.base_url):
        # Every page, in whatever order the server lists them, up to a bound no real
        # account reaches (a server that always says "more" must not loop forever).
        for n, character in enumerate(client.characters.iter()):
            if n >= MAX_LISTED:
                raise CharacterError(
                    f"searched {MAX_LISTED} characters for the one an earlier run may have "
                    f"created ({ref}) without reaching the end; not creating another"
                )
            if character.character_id and ref in (character.description or ""):
                journal.record_character(folder, name, client.base_url, character.character_id)
                say(f"found character {name} ({character.character_id}) from an earlier run")
                return character.character_id
    journal.record_character_request(folder, name, client.base_url)
    created = client.characters.create(name, description=f"Prepared with {ref}").character_id
    if not created:
        raise CharacterError("the server created a character without an id")
    journal.record_character(folder, name, client.base_url, created)
    say(f"created character {name} ({created})")
    return created
