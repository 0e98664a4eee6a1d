"""The in-process transport: a dropped connection looks to clients like a real one."""

from __future__ import annotations

import httpx

from animus_prep import Client
from animus_prep.client import RetryPolicy
from animus_prep.sandbox import SyncASGITransport, close_app, create_app
from photos import textured

from .support import KEY


def test_a_lost_response_in_process_is_a_protocol_error_and_uploads_stay_exactly_once() -> None:
    app = create_app(api_keys={KEY: 10}, faults="lost:0.5", seed=3)
    try:
        transport = SyncASGITransport(app)
        with httpx.Client(transport=transport, base_url="http://sandbox/v2") as raw:
            headers = {"Authorization": f"Bearer {KEY}"}
            outcomes = []
            for _ in range(8):
                try:
                    outcomes.append(raw.get("/characters", headers=headers).status_code)
                except httpx.RemoteProtocolError:
                    outcomes.append("dropped")
            assert "dropped" in outcomes and 200 in outcomes
            # Creating is not resent after an ambiguous failure (it could charge twice):
            # make the character with faults off, then upload through the faults.
            exempt = {**headers, "X-Sandbox-Faults": "off"}
            cid = raw.post("/characters", json={"name": "InProcess"}, headers=exempt).json()[
                "character_id"
            ]
        retry = RetryPolicy(attempts=10, initial_wait=0.0, max_wait=0.0, timeout=30)
        with Client(
            api_key=KEY,
            base_url="http://sandbox/v2",
            transport=SyncASGITransport(app),
            retry=retry,
            sleep=lambda _s: None,
        ) as client:
            results = [
                client.assets.upload_face(cid, textured(i), filename=f"f{i}.jpg") for i in range(5)
            ]
            assets = client.assets.list(cid).assets
        assert len(assets) == 5 and len({a.filename for a in assets}) == 5
        # Some responses were lost after the server stored the file; those uploads were
        # answered from the asset list instead of being sent again.
        assert any(r.reconciled for r in results)
    finally:
        close_app(app)


def test_without_faults_nothing_is_dropped() -> None:
    app = create_app(api_keys={KEY: 10})
    try:
        with httpx.Client(transport=SyncASGITransport(app), base_url="http://sandbox/v2") as raw:
            codes = {raw.get("/characters").status_code for _ in range(20)}
        assert codes == {401}  # answered every time (no key), never dropped
    finally:
        close_app(app)
