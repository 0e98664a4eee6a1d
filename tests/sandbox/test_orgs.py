"""Each key is its own organization: its own characters and its own credits."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from .support import OTHER_KEY, api_client, make_character


def test_another_organizations_character_is_404(
    sandbox: tuple[FastAPI, str], client: httpx.Client
) -> None:
    cid = make_character(client, faces=1, bodies=0)
    asset = client.get(f"/{cid}/assets").json()["assets"][0]
    with api_client(sandbox[1], OTHER_KEY) as other:
        for method, path in (
            ("GET", f"/characters/{cid}"),
            ("PUT", f"/characters/{cid}"),
            ("DELETE", f"/characters/{cid}"),
            ("GET", f"/{cid}/assets"),
            ("GET", f"/{cid}/dataset/status"),
            ("GET", f"/{cid}/training/status"),
            ("GET", f"/{cid}/generation/capabilities"),
        ):
            r = other.request(method, path, json={"name": "x"} if method == "PUT" else None)
            assert r.status_code == 404, (method, path)
        listing = other.get("/characters").json()
        assert listing["characters"] == []
        assert (
            listing["filters"]["organization_id"]
            != client.get("/characters").json()["filters"]["organization_id"]
        )
        r = other.post(f"/{cid}/upload/face-image", files={"file": ("a.jpg", b"x", "image/jpeg")})
        assert r.status_code == 404
    # The owner still sees it untouched.
    assert client.get(f"/characters/{cid}").json()["face_images_count"] == 1
    assert asset["asset_type"] == "face_image"


def test_pagination(client: httpx.Client) -> None:
    ids = [
        client.post("/characters", json={"name": f"c{i}"}).json()["character_id"] for i in range(5)
    ]
    page = client.get("/characters", params={"limit": 2, "offset": 0}).json()
    assert [c["character_id"] for c in page["characters"]] == ids[:2]
    assert page["pagination"] == {
        "limit": 2,
        "offset": 0,
        "returned": 2,
        "has_more": True,
        "total": 5,
    }
    last = client.get("/characters", params={"limit": 2, "offset": 4}).json()
    assert [c["character_id"] for c in last["characters"]] == ids[4:]
    assert last["pagination"]["has_more"] is False
    default = client.get("/characters").json()["pagination"]
    assert default["limit"] == 20
    assert default["returned"] == 5


def test_crud(client: httpx.Client) -> None:
    cid = client.post("/characters", json={"name": " Ava ", "description": "d"}).json()[
        "character_id"
    ]
    r = client.put(f"/characters/{cid}", json={"description": "new"})
    assert r.json()["name"] == "Ava"
    assert r.json()["description"] == "new"
    r = client.put(f"/characters/{cid}", json={"name": "Bea"})
    assert r.json()["description"] == "new"
    assert r.json()["name"] == "Bea"
    r = client.delete(f"/characters/{cid}")
    assert r.json()["success"] is True
    assert client.get(f"/characters/{cid}").status_code == 404
