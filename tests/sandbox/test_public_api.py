"""The package's public surface and its synchronous in-process path."""

from __future__ import annotations

from pathlib import Path

import httpx

import animus_prep.sandbox as sandbox
from animus_prep.sandbox import SyncASGITransport, close_app, create_app
from photos import textured

from .support import KEY, SANDBOX_START, FakeClock


def test_all_matches_the_real_exports() -> None:
    public = {n for n in vars(sandbox) if not n.startswith("_") and n.isidentifier()}
    modules = {n for n in public if type(getattr(sandbox, n)).__name__ == "module"}
    assert set(sandbox.__all__) == public - modules - {"annotations"}
    for name in sandbox.__all__:
        assert getattr(sandbox, name) is not None


def test_sync_transport_without_lifespan_still_renders(tmp_path: Path) -> None:
    clock = FakeClock(SANDBOX_START)
    app = create_app(data_dir=tmp_path, api_keys={KEY: 10}, clock=clock, defect_rate=0)
    try:
        with httpx.Client(
            transport=SyncASGITransport(app),
            base_url="http://sandbox/v2",
            headers={"Authorization": f"Bearer {KEY}"},
        ) as c:
            cid = c.post("/characters", json={"name": "inproc"}).json()["character_id"]
            for kind in ("face", "body"):
                r = c.post(
                    f"/{cid}/upload/{kind}-image",
                    files={"file": ("a.jpg", textured(3), "image/jpeg")},
                )
                assert r.status_code == 200
            c.post(f"/{cid}/dataset/generate", json={"prompts": ["a", "b"]})
            clock.advance(60)
            images = c.get(f"/{cid}/dataset/images").json()["images"]
            assert len(images) == 2
            assert images[0]["view_url"].startswith("http://sandbox/v2/files/")
            assert c.get(images[0]["view_url"]).content[:2] == b"\xff\xd8"
    finally:
        close_app(app)


def test_default_data_dir_is_temporary_and_removed() -> None:
    app = create_app()
    data = Path(app.state.sandbox.data_dir)
    assert (data / "sandbox.sqlite3").exists()
    close_app(app)
    assert not data.exists()
