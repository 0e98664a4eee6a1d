"""Characters made on a sandbox for the tests of the commands that pick one up midway."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import httpx

from animus_prep import Client
from animus_prep.inspection.run import preflight

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "character"


class NoFaults(httpx.HTTPTransport):
    """Marks every request exempt from the sandbox's fault injection (to set up state)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["X-Sandbox-Faults"] = "off"
        return super().handle_request(request)


def setup_client(base_url: str, key: str) -> Client:
    """A client the sandbox never injects faults into."""
    return Client(api_key=key, base_url=base_url, transport=NoFaults())


def example_copy(tmp_path: Path) -> Path:
    root = tmp_path / "character"
    shutil.copytree(EXAMPLE, root)
    return root


def prepared_character(
    client: Client,
    root: Path,
    name: str,
    *,
    augment: bool = True,
    render: bool = True,
    approve: bool = True,
) -> str:
    """The example character with its accepted photos uploaded, as asked five faces
    (three of them synthesized, as training needs), its dataset rendered, and every
    render approved."""
    cid = client.characters.create(name).character_id or ""
    for img in preflight(root).accepted:
        data = (root / img.path).read_bytes()
        name_ = Path(img.path).name
        if img.kind == "face":
            client.assets.upload_face(cid, data, filename=name_)
        else:
            client.assets.upload_body(cid, data, filename=name_, image_type=img.image_type)
    if augment:
        source = client.assets.list(cid, asset_type="face_image").assets[0].view_url or ""
        job = client.face_augmentation.create(cid, source, prompts=["a", "b", "c"])
        client.face_augmentation.wait(job.job_id or "", timeout=60, interval=0.05)
    if render:
        client.dataset.generate(cid)
        client.dataset.wait_until_generated(cid, timeout=120, interval=0.05)
    if render and approve:
        for image in client.dataset.images(cid).images:
            client.dataset.approve_image(cid, image.image_id or "")
        client.dataset.approve(cid)
    return cid


def charges(database: Path, cid: str | None = None) -> dict[str, int]:
    """Charges in a sandbox's ledger by kind (of one character's jobs, if given)."""
    sql = "SELECT l.reason, COUNT(*) FROM ledger l JOIN jobs j ON j.job_id = l.ref"
    args: tuple[str, ...] = ()
    if cid is not None:
        sql += " WHERE j.character_id = ?"
        args = (cid,)
    with sqlite3.connect(database) as db:
        rows = db.execute(sql + " GROUP BY l.reason", args).fetchall()
    db.close()
    return {str(r): int(n) for r, n in rows}
