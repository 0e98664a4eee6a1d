"""The vendor guide's own curl commands, run verbatim against a sandbox.

Only the base URL, the key and the placeholders (character id, photo paths) change. The
guide lives in the shared folder next to the repository (`<repo>/../shared`, or
`$ANIMUS_PREP_SHARED`); without it the test is skipped.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from animus_prep.sandbox import serve_in_thread
from photos import textured

from .support import KEY, api_client, wait_for

VENDOR_BASE = "https://api.animusai.co/v2"


def guide_commands(text: str) -> list[list[str]]:
    """Each `curl` command of the guide as argv, continuation lines and quotes joined."""
    commands: list[list[str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].lstrip().startswith("curl "):
            i += 1
            continue
        chunk = lines[i]
        # A command continues after a trailing backslash or while a quote is open.
        while chunk.rstrip().endswith("\\") or chunk.count("'") % 2:
            i += 1
            chunk = (
                chunk.rstrip().removesuffix("\\") if chunk.rstrip().endswith("\\") else chunk + "\n"
            ) + lines[i]
        commands.append(shlex.split(chunk))
        i += 1
    return commands


def test_guide_parsing_finds_every_curl_command() -> None:
    sample = (
        'Intro\ncurl https://x/v2/characters \\\n  -H "A: b" \\\n  -d \'{\n  "n": 1\n}\'\n'
        'text\ncurl https://x/v2/y \\\n  -H "A: $K"\n'
    )
    assert guide_commands(sample) == [
        ["curl", "https://x/v2/characters", "-H", "A: b", "-d", '{\n  "n": 1\n}'],
        ["curl", "https://x/v2/y", "-H", "A: $K"],
    ]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_vendor_guide_curl_commands_succeed(tmp_path: Path, shared: Path) -> None:
    guide = (shared / "seed" / "animus-character-pipeline-guide.txt").read_text()
    commands = guide_commands(guide)
    assert len(commands) == 8, commands
    photos = {
        "/path/to/headshot.jpg": tmp_path / "headshot.jpg",
        "/path/to/full-body.jpg": tmp_path / "full-body.jpg",
    }
    photos["/path/to/headshot.jpg"].write_bytes(textured(1, (768, 768)))
    photos["/path/to/full-body.jpg"].write_bytes(textured(2, (600, 1000)))

    with serve_in_thread(data_dir=tmp_path / "data", api_keys={KEY: 500}, time_scale=5000) as url:
        state: dict[str, str] = {}

        def run(argv: list[str]) -> Any:
            args = []
            for arg in argv[1:]:
                arg = arg.replace(VENDOR_BASE, url).replace("$ANIMUS_API_KEY", KEY)
                arg = arg.replace("${CHARACTER_ID}", state.get("cid", "missing"))
                for placeholder, path in photos.items():
                    arg = arg.replace(f"@{placeholder}", f"@{path}")
                args.append(arg)
            out = subprocess.run(
                ["curl", "-sS", "-w", "\n%{http_code}", *args],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert out.returncode == 0, out.stderr
            body, _, status = out.stdout.rpartition("\n")
            assert status.startswith("2"), f"{argv[1]} -> {status}: {body}"
            return json.loads(body)

        with api_client(url) as api:
            by_step = {c[1].removeprefix(VENDOR_BASE): c for c in commands}
            created = run(by_step["/characters"])
            assert created["name"] == "Chloe"
            state["cid"] = cid = created["character_id"]
            run(by_step["/${CHARACTER_ID}/upload/face-image"])
            body = run(by_step["/${CHARACTER_ID}/upload/body-image"])
            assert body["image_type"] == "body_image_front"
            job = run(by_step["/characters/${CHARACTER_ID}/auto-generate-face-images"])
            assert job["credits_deducted"] == 0.5 * job["total_images"]
            wait_for(
                lambda: (
                    api.get(f"/upload-job/{job['job_id']}/status").json()["status"] == "completed"
                )
            )
            started = run(by_step["/${CHARACTER_ID}/dataset/generate"])
            assert started["total_images"] == 20
            wait_for(lambda: api.get(f"/{cid}/dataset/status").json()["generation_complete"])
            # Review is done with the listed endpoints the guide shows without curl.
            for im in api.get(f"/{cid}/dataset/images").json()["images"]:
                api.put(f"/{cid}/dataset/images/{im['image_id']}/approval", json={"approved": True})
            assert api.post(f"/{cid}/dataset/approve").status_code == 200
            face = run(by_step["/${CHARACTER_ID}/training/face-lora"])
            body_job = run(by_step["/${CHARACTER_ID}/training/body-lora"])
            assert face["job_id"] != body_job["job_id"]
            assert body_job["remaining_balance"] == 500 - 4 - 30 - 45
            wait_for(lambda: api.get(f"/{cid}/training/complete-status").json()["generation_ready"])
            caps = run(by_step["/${CHARACTER_ID}/generation/capabilities"])
            assert caps == {
                "face_lora": {"status": "succeeded"},
                "body_lora": {"status": "succeeded"},
                "generation_ready": True,
            }
            assert len(by_step) == 8
