"""Exactly-once uploads: content filenames, idempotency keys and reconciliation."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from client_support import Recorder, run
from hypothesis import given
from hypothesis import strategies as st

from animus_prep.client import (
    APIConnectionError,
    Asset,
    BadRequestError,
    content_filename,
    find_asset,
    upload_idempotency_key,
)

PHOTO = b"\xff\xd8\xff\xe0 fake jpeg bytes \xff\xd9"
PHOTO_DIGEST = hashlib.sha256(PHOTO).hexdigest()[:16]


class FakeAssetServer:
    """Stores uploads like the API; ``lose`` names attempts whose response is lost."""

    def __init__(
        self,
        lose: set[int] | None = None,
        fail_first_listing: bool = False,
        lost_as: type[httpx.TransportError] | int = httpx.ReadError,
    ) -> None:
        self.assets: list[dict[str, Any]] = []
        self.lose = lose or set()
        self.lost_as = lost_as
        self.upload_attempts = 0
        self.listings = 0
        self.fail_first_listing = fail_first_listing
        self.recorder = Recorder(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET" and path == "/v2/c1/assets":
            self.listings += 1
            if self.fail_first_listing and self.listings == 1:
                return httpx.Response(503, json={"detail": "busy"})
            return httpx.Response(200, json={"assets": self.assets, "total": len(self.assets)})
        if request.method == "POST" and path.startswith("/v2/c1/upload/"):
            self.upload_attempts += 1
            body = request.content
            name = re.search(rb'name="file"; filename="([^"]+)"', body)
            image_type = re.search(rb'name="image_type"\r\n\r\n([^\r]+)', body)
            assert name is not None
            asset = {
                "asset_id": f"a{len(self.assets) + 1}",
                "asset_type": "face_image" if path.endswith("face-image") else "body_image",
                "image_type": image_type.group(1).decode() if image_type else None,
                "filename": name.group(1).decode(),
                "view_url": "https://cdn/x",
                "new_server_field": True,
            }
            self.assets.append(asset)
            if self.upload_attempts in self.lose:
                # The server stored the file, then the answer never arrived intact.
                if isinstance(self.lost_as, int):
                    return httpx.Response(self.lost_as, json={"detail": "upstream died"})
                raise self.lost_as("connection reset", request=request)
            return httpx.Response(200, json={"success": True, **asset})
        return httpx.Response(404, json={"detail": f"no route {path}"})

    def upload_requests(self) -> list[httpx.Request]:
        return [r for r in self.recorder.requests if r.method == "POST"]


# Pure functions


def test_content_filename_golden() -> None:
    assert content_filename("me.jpg", b"hello") == "me.2cf24dba5fb0a30e.jpg"
    assert content_filename("dir/sub/Me Photo.PNG", b"hello") == "Me_Photo.2cf24dba5fb0a30e.PNG"
    assert content_filename("noext", b"hello") == "noext.2cf24dba5fb0a30e"
    assert content_filename("", b"hello") == "image.2cf24dba5fb0a30e"


def test_content_filename_is_ascii_so_servers_keep_it_whole() -> None:
    assert (
        content_filename("\u0444\u043e\u0442\u043e.jpg", b"hello") == "image.2cf24dba5fb0a30e.jpg"
    )
    assert content_filename("caf\u00e9 2.jpeg", b"hello") == "caf_2.2cf24dba5fb0a30e.jpeg"
    assert content_filename("x.j\u00e9pg", b"hello") == "x.2cf24dba5fb0a30e.jpg"


@given(name=st.from_regex(r"[a-z]{1,8}(\.[a-z]{1,4})?", fullmatch=True), data=st.binary())
def test_content_filename_laws(name: str, data: bytes) -> None:
    tagged = content_filename(name, data)
    assert hashlib.sha256(data).hexdigest()[:16] in tagged
    assert content_filename(tagged, data) == tagged  # tagging twice changes nothing
    if "." in name:
        assert tagged.rpartition(".")[2] == name.rpartition(".")[2]
    if data:
        assert content_filename(name, data + b"x") != tagged


def test_idempotency_key_depends_on_content_character_and_kind() -> None:
    key = upload_idempotency_key("c1", "face_image", PHOTO)
    assert key == upload_idempotency_key("c1", "face_image", PHOTO)
    assert key != upload_idempotency_key("c2", "face_image", PHOTO)
    assert key != upload_idempotency_key("c1", "body_image", PHOTO)
    assert key != upload_idempotency_key("c1", "face_image", PHOTO + b"!")


def test_find_asset() -> None:
    name = content_filename("me.jpg", PHOTO)
    assets = [
        Asset(asset_id="x", asset_type="face_image", filename="other.jpg"),
        Asset(asset_id="b", asset_type="body_image", filename=name),
        Asset(asset_id="f", asset_type="face_image", filename=name),
        Asset(asset_id="p", asset_type="face_image", filename=f"uuid123_{name}"),
    ]
    assert find_asset(assets, name).asset_id == "b"  # type: ignore[union-attr]
    assert find_asset(assets, name, "face_image").asset_id == "f"  # type: ignore[union-attr]
    assert find_asset(assets[3:], name, "face_image").asset_id == "p"  # type: ignore[union-attr]
    assert find_asset(assets[:1], name) is None
    back = Asset(asset_type="body_image", image_type="body_image_back", filename=name)
    assert find_asset([back], name, "body_image", "body_image_front") is None
    assert find_asset([back], name, "body_image", "body_image_back") is back
    assert find_asset(assets, content_filename("me.png", PHOTO), "face_image") is None


def test_find_asset_when_the_server_dropped_or_changed_the_stem() -> None:
    name = content_filename("me.jpg", PHOTO)
    digest = name.split(".")[1]
    stripped = Asset(asset_id="s", asset_type="face_image", filename=f"{digest}.jpg")
    renamed = Asset(asset_id="r", asset_type="face_image", filename=f"upload-{digest}.jpg")
    assert find_asset([stripped], name) is stripped
    assert find_asset([renamed], name) is renamed
    # The digest must be a whole part of the name, not inside a longer hex run.
    longer = Asset(asset_id="l", asset_type="face_image", filename=f"a{digest}.jpg")
    assert find_asset([longer], name) is None


# Upload flows


def test_upload_sends_content_filename_and_key(mode: str) -> None:
    server = FakeAssetServer()
    result = run(
        mode, lambda c: c.assets.upload_face("c1", PHOTO, filename="me.jpg"), server.recorder
    )
    assert result.asset_id == "a1" and result.reconciled is False
    (request,) = server.upload_requests()
    assert request.url.path == "/v2/c1/upload/face-image"
    assert f'filename="me.{PHOTO_DIGEST}.jpg"'.encode() in request.content
    assert b"Content-Type: image/jpeg" in request.content
    assert PHOTO in request.content
    assert request.headers["idempotency-key"] == upload_idempotency_key("c1", "face_image", PHOTO)
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert server.listings == 0  # a clean first attempt needs no reconciliation


@pytest.mark.parametrize(
    "lost_as",
    [httpx.ReadError, httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadTimeout, 502, 504],
    ids=lambda v: v if isinstance(v, int) else v.__name__,
)
def test_lost_response_yields_exactly_one_asset(
    mode: str, lost_as: type[httpx.TransportError] | int
) -> None:
    server = FakeAssetServer(lose={1}, lost_as=lost_as)
    result = run(
        mode, lambda c: c.assets.upload_face("c1", PHOTO, filename="me.jpg"), server.recorder
    )
    assert len(server.assets) == 1
    assert server.upload_attempts == 1
    assert result.reconciled is True
    assert result.asset_id == "a1"
    assert result.filename == f"me.{PHOTO_DIGEST}.jpg"
    assert result.raw["new_server_field"] is True
    assert server.recorder.paths == ["/v2/c1/upload/face-image", "/v2/c1/assets"]


def test_failure_before_storing_is_resent_with_the_same_key(mode: str) -> None:
    server = FakeAssetServer()
    calls = {"n": 0}
    inner = server.handle

    def flaky(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and calls["n"] == 0:
            calls["n"] += 1
            return httpx.Response(503, json={"detail": "try later"})
        return inner(request)

    server.recorder.respond = flaky
    result = run(
        mode, lambda c: c.assets.upload_face("c1", PHOTO, filename="me.jpg"), server.recorder
    )
    assert result.reconciled is False and len(server.assets) == 1
    uploads = server.upload_requests()
    assert len(uploads) == 2
    assert uploads[0].headers["idempotency-key"] == uploads[1].headers["idempotency-key"]
    assert server.listings == 1  # checked the list before resending


def test_reconciliation_listing_is_itself_retried(mode: str) -> None:
    server = FakeAssetServer(lose={1}, fail_first_listing=True)
    run(mode, lambda c: c.assets.upload_face("c1", PHOTO, filename="me.jpg"), server.recorder)
    assert len(server.assets) == 1 and server.listings == 2


def test_lost_responses_until_attempts_run_out_still_one_asset(mode: str) -> None:
    server = FakeAssetServer(lose={1})
    # A lost first response and no retries allowed: the error surfaces, one asset exists.
    with pytest.raises(APIConnectionError):
        run(
            mode,
            lambda c: c.assets.upload_face("c1", PHOTO, filename="me.jpg"),
            server.recorder,
            max_retries=0,
        )
    assert len(server.assets) == 1


def test_upload_body_from_path(mode: str, tmp_path: Path) -> None:
    photo = tmp_path / "front.png"
    photo.write_bytes(PHOTO)
    server = FakeAssetServer(lose={1})
    result = run(
        mode,
        lambda c: c.assets.upload_body("c1", photo, image_type="body_image_front"),
        server.recorder,
    )
    assert result.reconciled is True and result.image_type == "body_image_front"
    assert len(server.assets) == 1
    assert server.assets[0]["asset_type"] == "body_image"
    (request,) = server.upload_requests()
    assert request.url.path == "/v2/c1/upload/body-image"
    assert b'name="image_type"\r\n\r\nbody_image_front' in request.content
    assert f'filename="front.{PHOTO_DIGEST}.png"'.encode() in request.content
    expected = upload_idempotency_key("c1", "body_image:body_image_front", PHOTO)
    assert request.headers["idempotency-key"] == expected


def test_skip_existing_does_not_upload_again(mode: str) -> None:
    server = FakeAssetServer()

    def twice(client: Any) -> Any:
        client.assets.upload_face("c1", PHOTO, filename="me.jpg", skip_existing=True)
        return client.assets.upload_face("c1", PHOTO, filename="me.jpg", skip_existing=True)

    async def twice_async(client: Any) -> Any:
        await client.assets.upload_face("c1", PHOTO, filename="me.jpg", skip_existing=True)
        return await client.assets.upload_face("c1", PHOTO, filename="me.jpg", skip_existing=True)

    result = run(mode, twice if mode == "sync" else twice_async, server.recorder)
    assert result.reconciled is True
    assert len(server.assets) == 1 and server.upload_attempts == 1


def test_same_content_as_face_and_body_are_two_assets() -> None:
    server = FakeAssetServer(lose={2})

    def both(client: Any) -> None:
        client.assets.upload_face("c1", PHOTO, filename="me.jpg")
        client.assets.upload_body("c1", PHOTO, filename="me.jpg", image_type="body_image_front")

    run("sync", both, server.recorder)
    assert [a["asset_type"] for a in server.assets] == ["face_image", "body_image"]


def test_rejected_upload_is_not_retried(mode: str) -> None:
    recorder = Recorder(lambda r: httpx.Response(400, json={"detail": "Image too small"}))
    with pytest.raises(BadRequestError, match="Image too small"):
        run(mode, lambda c: c.assets.upload_face("c1", PHOTO, filename="me.jpg"), recorder)
    assert len(recorder.requests) == 1


def test_bytes_need_a_filename() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json={}))
    with pytest.raises(ValueError, match="filename"):
        run("sync", lambda c: c.assets.upload_face("c1", PHOTO), recorder)
    assert recorder.requests == []
