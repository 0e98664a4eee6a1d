"""The character a folder is prepared for: found again, never created twice.

The journal remembers the character created for a folder, name and server, and records a
create before sending it. When a create was sent but its answer never came back, the
server may have made the character all the same: characters made by animus-prep carry a
reference to their folder and name in their description, so the whole character list is
searched for it before anything is created again, both on a rerun and at once when an
answer is lost during the run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from ..client import APIError, Client
from .journal import WorkJournal

#: A listing longer than this is taken for a server that never says "no more".
MAX_LISTED = 100_000
#: Creates sent in one call when answers keep getting lost before the server acted.
CREATE_ATTEMPTS = 5


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
        found = _find(client, ref)
        if found is not None:
            journal.record_character(folder, name, client.base_url, found)
            say(f"found character {name} ({found}) from an earlier run")
            return found
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
