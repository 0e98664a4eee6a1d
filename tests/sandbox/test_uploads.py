"""Uploads: idempotency keys, caps, file names, hostile files."""

from __future__ import annotations

import io
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor

import httpx
from PIL import Image

from photos import textured

from .support import make_character, upload


def test_idempotency_key_replays_the_first_result(client: httpx.Client) -> None:
    cid = make_character(client, faces=0, bodies=0)
    headers = {"Idempotency-Key": "upload-1"}
    first = upload(client, cid, "face", 1, headers=headers)
    again = upload(client, cid, "face", 1, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert client.get(f"/{cid}/assets").json()["total"] == 1
    other = upload(client, cid, "face", 1, headers={"Idempotency-Key": "upload-2"})
    assert other.json()["asset_id"] != first.json()["asset_id"]
    assert client.get(f"/{cid}/assets").json()["total"] == 2
    # The same key for a different file is a conflict, not a silent replay.
    clash = upload(client, cid, "face", 2, headers=headers)
    assert clash.status_code == 409


def test_concurrent_retries_with_one_key_store_one_asset(client: httpx.Client) -> None:
    cid = make_character(client, faces=0, bodies=0)
    headers = {"Idempotency-Key": "same-for-all"}
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(
            pool.map(lambda _: upload(client, cid, "face", 4, headers=headers), range(6))
        )
    assert {r.status_code for r in results} == {200}
    assert len({r.json()["asset_id"] for r in results}) == 1
    assert client.get(f"/{cid}/assets").json()["total"] == 1


def test_uploaded_filename_is_kept_and_sanitised(client: httpx.Client) -> None:
    cid = make_character(client, faces=0, bodies=0)
    names = {
        "../../etc/passwd.jpg": "passwd.jpg",
        "..\\..\\win\\evil name.jpg": "evil_name.jpg",
        "Sommer Urlaub 2024 (1).JPG": "Sommer_Urlaub_2024_1_.JPG",
        "...": "upload.jpg",
    }
    for raw, expected in names.items():
        r = client.post(
            f"/{cid}/upload/face-image",
            files={"file": (raw, textured(len(raw)), "image/jpeg")},
        )
        assert r.status_code == 200
        assert r.json()["filename"] == expected
    listed = [a["filename"] for a in client.get(f"/{cid}/assets").json()["assets"]]
    assert listed == list(names.values())


def test_view_url_serves_the_uploaded_bytes(client: httpx.Client) -> None:
    cid = make_character(client, faces=0, bodies=0)
    data = textured(5, fmt="PNG")
    r = client.post(f"/{cid}/upload/face-image", files={"file": ("a.png", data, "image/png")})
    view = r.json()["view_url"]
    assert view.startswith(str(client.base_url).rstrip("/"))
    got = client.get(view)
    assert got.headers["content-type"] == "image/png"
    assert got.content == data


def test_caps_of_20_faces_and_40_bodies(client: httpx.Client) -> None:
    cid = make_character(client, faces=20, bodies=0)
    r = upload(client, cid, "face", 999)
    assert r.status_code == 400
    assert "at most 20" in r.json()["detail"]
    small = textured(3, (300, 400))
    for i in range(40):
        r = client.post(
            f"/{cid}/upload/body-image",
            files={"file": (f"b{i}.jpg", small, "image/jpeg")},
            data={"image_type": "body_image_back"},
        )
        assert r.status_code == 200, r.text
    r = client.post(f"/{cid}/upload/body-image", files={"file": ("x.jpg", small, "image/jpeg")})
    assert r.status_code == 400
    assert "at most 40" in r.json()["detail"]
    character = client.get(f"/characters/{cid}").json()
    assert (character["face_images_count"], character["body_images_count"]) == (20, 40)


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_pixel_bombs_are_refused_before_decoding(client: httpx.Client) -> None:
    cid = make_character(client, faces=0, bodies=0)
    for w, h in ((20_000, 20_000), (100_000, 100_000)):
        r = client.post(
            f"/{cid}/upload/face-image",
            files={"file": ("bomb.png", _png_header_only(w, h), "image/png")},
        )
        assert r.status_code == 400
        assert "too many pixels" in r.json()["detail"]


def test_other_formats_and_bad_image_type_are_refused(client: httpx.Client) -> None:
    cid = make_character(client, faces=0, bodies=0)
    gif = io.BytesIO()
    Image.new("RGB", (600, 600)).save(gif, "GIF")
    r = client.post(f"/{cid}/upload/face-image", files={"file": ("a.gif", gif.getvalue())})
    assert r.status_code == 400
    r = client.post(
        f"/{cid}/upload/body-image",
        files={"file": ("b.jpg", textured(1), "image/jpeg")},
        data={"image_type": "../../etc"},
    )
    assert r.status_code == 400
    assert client.get(f"/{cid}/assets").json()["total"] == 0
