"""Bearer-key authentication: every key is its own organization."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .errors import SandboxError

bearer_scheme = HTTPBearer(auto_error=False, description="Sandbox API key")


def key_hash(api_key: str) -> str:
    # Only a hash is stored, so the database never holds a usable key.
    return hashlib.sha256(api_key.encode()).hexdigest()


def org_ids_for(api_key: str) -> tuple[str, str]:
    """Stable organization and creator ids derived from a key."""
    digest = key_hash(api_key)
    return f"org_{digest[:16]}", f"user_{digest[16:32]}"


@dataclass(frozen=True)
class Org:
    """The organization a request acts for."""

    org_id: str
    creator_id: str


def current_org(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Org:
    """FastAPI dependency: the organization of the bearer key, or 401."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise SandboxError(401, "Missing bearer token: send 'Authorization: Bearer <key>'")
    keys: dict[str, Org] = request.app.state.sandbox.orgs_by_key
    org = keys.get(credentials.credentials)
    if org is None:
        raise SandboxError(401, "Invalid API key")
    return org


OrgDep = Annotated[Org, Depends(current_org)]
