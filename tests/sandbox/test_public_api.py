"""The package's public surface and its synchronous in-process path."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest

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


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"time_scale": -1}, "time_scale"),
        ({"time_scale": float("nan")}, "time_scale"),
        ({"defect_rate": 5}, "defect_rate"),
        ({"faults": "junk"}, "junk"),
        ({"api_keys": {}}, "at least one API key"),
        ({"api_keys": {"k": float("nan")}}, "credits"),
    ],
)
def test_refused_settings_leave_no_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: dict[str, Any], message: str
) -> None:
    # The default data folder is made before the settings are checked: a refusal removes
    # it, and an empty key table is refused, not replaced by the default key.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(ValueError, match=message):
        create_app(**settings)
    assert list(tmp_path.iterdir()) == []
