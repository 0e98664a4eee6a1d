"""The pre-flight and the server (the sandbox) agree on what the server takes, from one
table of rules; photos over a limit that a copy can meet are uploaded as such a copy."""

from __future__ import annotations

import hashlib
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from animus_prep import APIStatusError, Client, Policy, Reason, Report, preflight
from animus_prep import server_rules as rules
from animus_prep.pipeline.upload import upload_folder
from animus_prep.sandbox import serve_in_thread
from photos import photo

KEY = "sk-rules-test"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_in_thread(api_keys={KEY: 100}, time_scale=5000) as base:
        yield base


def _jpeg(arr: np.ndarray, quality: int = 90) -> bytes:
    out = io.BytesIO()
    Image.fromarray(arr).save(out, "JPEG", quality=quality)
    return out.getvalue()


def _textured(width: int, height: int, seed: int) -> np.ndarray:
    """A sharp, busy picture of any size (a real photo enlarged, plus fine grain)."""
    base = np.asarray(Image.fromarray(photo("astronaut", 512)).resize((width, height)))
    grain = np.random.default_rng(seed).normal(0, 12, (height, width, 1))
    return np.clip(base + grain, 0, 255).astype(np.uint8)


def _reason(report: Report, path: str, code: str) -> Reason:
    return next(r for r in report.image(path).reasons if r.code.value == code)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A character folder with one photo of each kind the server refuses."""
    root = tmp_path_factory.mktemp("rules") / "chloe"
    (root / "face").mkdir(parents=True)
    (root / "body" / "front").mkdir(parents=True)
    shutil.copy(EXAMPLES / "sources" / "ardern.jpg", root / "face" / "ok.jpg")
    # A 48 MP phone photo: over the server's 40 MP.
    (root / "body" / "front" / "phone48mp.jpg").write_bytes(_jpeg(_textured(8000, 6000, 1), 80))
    # A 25 MB file of 7 MP: over the server's 20 MB.
    noise = np.random.default_rng(2).integers(0, 256, (2600, 3300, 3), dtype=np.uint8)
    Image.fromarray(noise).save(root / "body" / "front" / "huge_file.png")
    # A featureless body photo: nothing for the blur estimate, refused by the server.
    flat = np.full((1400, 1000, 3), 128, np.uint8)
    (root / "body" / "front" / "flat.jpg").write_bytes(_jpeg(flat, 95))
    return root


def _codes(report: object, path: str) -> set[str]:
    return {c.value for c in report.image(path).codes}  # type: ignore[attr-defined]


def test_the_policy_and_the_sandbox_read_one_table() -> None:
    from animus_prep.sandbox import settings, validation

    policy = Policy()
    assert policy.server_max_pixels == settings.MAX_UPLOAD_PIXELS == rules.MAX_UPLOAD_PIXELS
    assert policy.server_max_bytes == settings.MAX_UPLOAD_BYTES == rules.MAX_UPLOAD_BYTES
    assert policy.server_min_sharpness == validation.MIN_SHARPNESS == rules.MIN_SHARPNESS
    assert (policy.face_cap, policy.body_cap) == (rules.MAX_FACE_IMAGES, rules.MAX_BODY_IMAGES)
    assert policy.min_side == settings.MIN_FACE_SIDE == rules.MIN_FACE_SIDE


def test_what_the_preflight_accepts_the_server_takes_and_what_it_refuses_the_server_refuses(
    folder: Path, url: str
) -> None:
    report = preflight(folder, policy=Policy(identity=False))
    assert _codes(report, "face/ok.jpg") == set()
    assert "too_large" in _codes(report, "body/front/phone48mp.jpg")
    assert "too_large" in _codes(report, "body/front/huge_file.png")
    # Each reason's measured value is in the unit its message names: MP, or else MB.
    by_size = _reason(report, "body/front/huge_file.png", "too_large")
    assert by_size.threshold == rules.MAX_UPLOAD_BYTES and by_size.score is not None
    assert by_size.score > by_size.threshold and "MB, over the server's" in by_size.message
    by_pixels = _reason(report, "body/front/phone48mp.jpg", "too_large")
    assert by_pixels.threshold == rules.MAX_UPLOAD_PIXELS and "MP, over" in by_pixels.message
    assert _codes(report, "body/front/flat.jpg") == {"blurry"}
    with Client(api_key=KEY, base_url=url) as client:
        cid = client.characters.create("Rules").character_id or ""
        for img in report.images:
            data = (folder / img.path).read_bytes()
            try:
                if img.kind == "face":
                    client.assets.upload_face(cid, data, filename=Path(img.path).name)
                else:
                    client.assets.upload_body(
                        cid, data, filename=Path(img.path).name, image_type=img.image_type
                    )
                taken = True
            except APIStatusError as exc:  # a refusal: 400, or 413 for the large file
                assert exc.status_code in (400, 413)
                taken = False
            assert taken == img.accepted, img.path


def test_a_lowered_minimum_size_never_passes_what_the_server_refuses(
    url: str, tmp_path: Path
) -> None:
    # min_side lowered to 256 (for training on smaller photos): a 400 px face photo is
    # still too small, under the server's own 512 px, and a 300 px body photo passes
    # (the server takes body photos from 256 px); the sandbox agrees on both.
    root = tmp_path / "small"
    (root / "face").mkdir(parents=True)
    (root / "body" / "front").mkdir(parents=True)
    with Image.open(EXAMPLES / "sources" / "ardern.jpg") as img:
        img.convert("RGB").resize((400, 522)).save(root / "face" / "small.jpg", quality=95)
        img.convert("RGB").resize((300, 392)).save(root / "body" / "front" / "b.jpg", quality=95)
    report = preflight(root, policy=Policy(identity=False, min_side=256))
    small = report.image("face/small.jpg")
    assert "too_small" in _codes(report, "face/small.jpg")
    reason = next(r for r in small.reasons if r.code.value == "too_small")
    assert "the server's minimum for face photos" in reason.message
    assert reason.threshold == rules.MIN_FACE_SIDE
    assert "too_small" not in _codes(report, "body/front/b.jpg")
    with Client(api_key=KEY, base_url=url) as client:
        cid = client.characters.create("Small").character_id
        with pytest.raises(APIStatusError) as refused:
            client.assets.upload_face(cid, root / "face" / "small.jpg")
        assert refused.value.status_code == 400
        client.assets.upload_body(
            cid, root / "body" / "front" / "b.jpg", image_type="body_image_front"
        )


FIX = Policy(identity=False, fix=True, max_noise=0)
"""`fix`, and no noise check: the file over 20 MB is random noise (to be that large)."""


def test_fix_uploads_copies_that_fit_and_never_touches_the_originals(
    folder: Path, url: str, tmp_path: Path
) -> None:
    originals = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*.*")}
    with Client(api_key=KEY, base_url=url) as client:
        summary = upload_folder(folder, client, name="Fixed", policy=FIX)
        by_path = {u.path: u for u in summary.uploads}
        assert set(by_path) == {
            "face/ok.jpg",
            "body/front/phone48mp.jpg",
            "body/front/huge_file.png",
        }
        assert all(u.status == "uploaded" for u in by_path.values()), summary.to_json()
        assert by_path["face/ok.jpg"].fixed is None
        assert by_path["body/front/phone48mp.jpg"].fixed is not None
        assert by_path["body/front/huge_file.png"].fixed is not None
        assets = client.assets.list(summary.character_id).assets
        stored = [client.download(a.view_url or "") for a in assets]
    for data in stored:
        with Image.open(io.BytesIO(data)) as im:
            assert im.width * im.height <= rules.MAX_UPLOAD_PIXELS
        assert len(data) <= rules.MAX_UPLOAD_BYTES
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in originals} == originals
    # A rerun finds every copy on the server (the same bytes): nothing is sent twice.
    with Client(api_key=KEY, base_url=url) as client:
        again = upload_folder(folder, client, name="Fixed", policy=FIX)
        assert {u.status for u in again.uploads} == {"already"}
        assert len(client.assets.list(again.character_id).assets) == 3
