"""How long a hostile peer can hold animus-prep, and how much memory it can make it use.

Client side, against the tests' hostile loopback server (`tests/client/hostile_server.py`):
the time from the call to its `APITimeoutError` when the server drips its body or its
headers a byte at a time (each byte well within the per-read timeout), and the bytes
read, bytes the server managed to write and peak traced memory when it sends an endless
JSON body. Sandbox side: peak traced memory while it receives uploads of growing size
(served in this process, so `tracemalloc` sees the server), and how long it keeps a
connection that sent half a request line.

    .venv/bin/python benchmarks/bench_bounds.py [--out benchmarks/results/bounds.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "client"))
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
from hostile_server import HostileServer, drip, endless  # noqa: E402
from PIL import Image  # noqa: E402

from animus_prep.client import AnimusError, AsyncClient, Client  # noqa: E402
from animus_prep.sandbox import serve_in_thread  # noqa: E402
from animus_prep.sandbox.server import HEADER_TIMEOUT  # noqa: E402

MB = 1024 * 1024


def _call(mode: str, url: str, **options: Any) -> tuple[str, float]:
    config: dict[str, Any] = {"api_key": "k", "base_url": url, "max_retries": 0, **options}
    start = time.monotonic()
    try:
        if mode == "sync":
            with Client(**config) as client:
                client.characters.get("c1")
        else:

            async def main() -> None:
                async with AsyncClient(**config) as client:
                    await client.characters.get("c1")

            asyncio.run(main())
        outcome = "returned"
    except AnimusError as error:
        outcome = type(error).__name__
    return outcome, time.monotonic() - start


def deadlines(repeats: int) -> list[dict[str, Any]]:
    rows = []
    for where in ("body", "headers"):
        for deadline in (1.0, 3.0):
            for mode in ("sync", "async"):
                times, outcomes = [], set()
                for _ in range(repeats):
                    with HostileServer(drip(0.02, in_headers=where == "headers")) as server:
                        outcome, seconds = _call(mode, server.url, timeout=5, deadline=deadline)
                    times.append(seconds)
                    outcomes.add(outcome)
                rows.append(
                    {
                        "drip": where,
                        "mode": mode,
                        "deadline_s": deadline,
                        "median_s": round(statistics.median(times), 3),
                        "max_s": round(max(times), 3),
                        "outcome": "/".join(sorted(outcomes)),
                    }
                )
    return rows


def endless_body() -> list[dict[str, Any]]:
    rows = []
    for mode in ("sync", "async"):
        sent: list[int] = []
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            with HostileServer(endless(counter=sent)) as server:
                outcome, seconds = _call(mode, server.url)
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
        rows.append(
            {
                "mode": mode,
                "outcome": outcome,
                "seconds": round(seconds, 3),
                "server_wrote_mb": round(sent[0] / MB, 1) if sent else None,
                "peak_traced_mb": round(peak / MB, 1),
            }
        )
    return rows


def _measure(action: Callable[[], Any]) -> tuple[Any, float]:
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = action()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return result, peak


def sandbox_uploads(tmp: Path) -> list[dict[str, Any]]:
    rows = []
    key = "sk-bench"
    with serve_in_thread(data_dir=tmp / "data", api_keys={key: 10}) as url:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            cid = client.post("/characters", json={"name": "bench"}).json()["character_id"]
            for side in (700, 1400, 2000, 2500):
                path = tmp / f"noise{side}.png"
                rng = np.random.default_rng(side)
                pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(path, compress_level=1)

                def upload(path: Path = path) -> int:
                    with path.open("rb") as f:
                        r = client.post(
                            f"/{cid}/upload/body-image",
                            files={"file": (path.name, f, "image/png")},
                            data={"image_type": "body_image_front"},
                        )
                    return r.status_code

                status, peak = _measure(upload)
                rows.append(
                    {
                        "file_mb": round(path.stat().st_size / MB, 1),
                        "status": status,
                        "peak_traced_mb": round(peak / MB, 2),
                    }
                )
    return rows


def half_request(tmp: Path) -> dict[str, Any]:
    with serve_in_thread(data_dir=tmp / "data2", api_keys={"k": 1}) as url:
        parts = urlsplit(url)
        assert parts.hostname and parts.port
        with socket.create_connection((parts.hostname, parts.port)) as sock:
            sock.sendall(b"GET /v2/charac")
            start = time.monotonic()
            sock.settimeout(HEADER_TIMEOUT + 30)
            reply = b""
            while chunk := sock.recv(4096):
                reply += chunk
            seconds = time.monotonic() - start
    return {
        "header_timeout_s": HEADER_TIMEOUT,
        "closed_after_s": round(seconds, 2),
        "reply": reply.split(b"\r\n", 1)[0].decode(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "bounds.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            "deadline": deadlines(args.repeats),
            "endless_json_body": endless_body(),
            "sandbox_upload_memory": sandbox_uploads(Path(tmp)),
            "sandbox_half_request": half_request(Path(tmp)),
        }
    for section, rows in results.items():
        print(f"\n{section}")
        for row in rows if isinstance(rows, list) else [rows]:
            print("  " + ", ".join(f"{k}={v}" for k, v in row.items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
