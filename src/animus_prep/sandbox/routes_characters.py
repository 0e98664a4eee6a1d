"""Character CRUD: `/characters`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from .auth import OrgDep
from .context import sandbox_of as _sb
from .errors import bad_request, conflict
from .responses import errors
from .schemas import (
    Character,
    CharacterCreate,
    CharacterFilters,
    CharacterList,
    CharacterUpdate,
    Deleted,
    Pagination,
)
from .worker import Materializer

router = APIRouter(tags=["characters"])


@router.post("/characters", response_model=Character, responses=errors())
def create_character(body: CharacterCreate, org: OrgDep, request: Request) -> Character:
    """Create a character in the caller's organization."""
    sb = _sb(request)
    name = body.name.strip()
    if not name:
        raise bad_request("name must not be blank")
    cid = sb.new_id("char")
    now = sb.now()
    sb.store.execute(
        "INSERT INTO characters (character_id, org_id, creator_id, name, description,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (cid, org.org_id, org.creator_id, name, body.description, now, now),
    )
    return sb.character_view(sb.character_row(org, cid))


@router.get("/characters", response_model=CharacterList, responses=errors())
def list_characters(
    org: OrgDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> CharacterList:
    """Characters of the caller's organization, oldest first."""
    sb = _sb(request)
    total_row = sb.store.one("SELECT COUNT(*) AS n FROM characters WHERE org_id = ?", (org.org_id,))
    total = 0 if total_row is None else int(total_row["n"])
    rows = sb.store.all(
        "SELECT * FROM characters WHERE org_id = ? ORDER BY created_at, rowid LIMIT ? OFFSET ?",
        (org.org_id, limit, offset),
    )
    items = [sb.character_view(r) for r in rows]
    return CharacterList(
        characters=items,
        pagination=Pagination(
            limit=limit,
            offset=offset,
            returned=len(items),
            has_more=offset + len(items) < total,
            total=total,
        ),
        filters=CharacterFilters(organization_id=org.org_id, creator_id=None),
    )


@router.get("/characters/{character_id}", response_model=Character, responses=errors(404))
def get_character(character_id: str, org: OrgDep, request: Request) -> Character:
    """One character with its counts, wizard step and training states."""
    sb = _sb(request)
    sb.character_row(org, character_id)
    materializer: Materializer = request.app.state.materializer
    materializer.catch_up(character_id)
    return sb.character_view(sb.character_row(org, character_id))


@router.put("/characters/{character_id}", response_model=Character, responses=errors(400, 404))
def update_character(
    character_id: str, body: CharacterUpdate, org: OrgDep, request: Request
) -> Character:
    """Rename a character or change its description."""
    sb = _sb(request)
    sb.character_row(org, character_id)
    fields = body.model_dump(exclude_unset=True)
    if "name" in fields and (fields["name"] is None or not fields["name"].strip()):
        raise bad_request("name must not be blank")
    with sb.store.transaction() as conn:
        if "name" in fields:
            conn.execute(
                "UPDATE characters SET name = ? WHERE character_id = ?",
                (fields["name"].strip(), character_id),
            )
        if "description" in fields:
            conn.execute(
                "UPDATE characters SET description = ? WHERE character_id = ?",
                (fields["description"], character_id),
            )
        sb.touch(conn, character_id)
    return sb.character_view(sb.character_row(org, character_id))


@router.delete("/characters/{character_id}", response_model=Deleted, responses=errors(404, 409))
def delete_character(character_id: str, org: OrgDep, request: Request) -> Deleted:
    """Delete a character with its references, renders and jobs."""
    sb = _sb(request)
    sb.character_row(org, character_id)
    for kind in ("face_lora", "body_lora"):
        if sb.lora_status(character_id, kind) in {"queued", "starting", "training"}:
            raise conflict("Cancel the running training before deleting the character")
    names = [
        r["file_name"]
        for r in sb.store.all(
            "SELECT file_name FROM assets WHERE character_id = ?"
            " UNION ALL SELECT file_name FROM dataset_images WHERE character_id = ?",
            (character_id, character_id),
        )
    ]
    with sb.store.transaction() as conn:
        for table in ("assets", "dataset_images", "jobs", "characters"):
            conn.execute(f"DELETE FROM {table} WHERE character_id = ?", (character_id,))
    for name in names:
        sb.delete_file(name)
    return Deleted(success=True, message="Character deleted")
