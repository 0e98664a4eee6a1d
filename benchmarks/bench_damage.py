"""How much damage the pre-flight catches, per format and kind of damage.

Real photos (tests/data/people/tune) are encoded as baseline and progressive JPEG, PNG,
lossy and lossless WebP, then damaged: truncated at a random point, 1-8 bits flipped, or
64-4096 bytes overwritten with random ones (never in the first 200 bytes, where a damaged
header is plainly caught). Each damaged file is decoded with the default policy; it is
"caught" when it is `unreadable`.

    .venv/bin/python benchmarks/bench_damage.py [--per-kind 40] [--seed 1]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from PIL import Image  # noqa: E402

from animus_prep.inspection.decode import DecodeFailure, decode_bytes  # noqa: E402
from animus_prep.policy import Policy  # noqa: E402
from animus_prep.reasons import ReasonCode  # noqa: E402
from people import TUNE, load, resized  # noqa: E402

FORMATS = {
    "JPEG baseline": ("JPEG", {"quality": 90}),
    "JPEG progressive": ("JPEG", {"quality": 90, "progressive": True}),
    "PNG": ("PNG", {}),
    "WebP lossy": ("WEBP", {"quality": 85}),
    "WebP lossless": ("WEBP", {"lossless": True}),
}
HEADER = 200


def encoded(rgb: object, fmt: str, params: dict[str, object]) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, fmt, **params)  # type: ignore[arg-type]
    return out.getvalue()


def damage(data: bytes, kind: str, rng: random.Random) -> bytes:
    out = bytearray(data)
    if kind == "truncated":
        return bytes(out[: rng.randrange(HEADER, len(out) - 1)])
    if kind == "bit flips":
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(HEADER, len(out))] ^= 1 << rng.randrange(8)
        return bytes(out)
    size = rng.randint(64, 4096)
    at = rng.randrange(HEADER, max(HEADER + 1, len(out) - size))
    out[at : at + size] = bytes(rng.randrange(256) for _ in range(size))
    return bytes(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    policy = Policy()
    photos = [resized(load(p), 900) for p in TUNE[:3]]
    table: dict[str, dict[str, list[int]]] = {}
    started = time.time()
    for label, (fmt, params) in FORMATS.items():
        originals = [encoded(p, fmt, params) for p in photos]
        for kind in ("truncated", "bit flips", "overwritten"):
            caught = total = 0
            for i in range(args.per_kind):
                damaged = damage(originals[i % len(originals)], kind, rng)
                result = decode_bytes(damaged, policy)
                total += 1
                caught += (
                    isinstance(result, DecodeFailure)
                    and result.reason.code is ReasonCode.UNREADABLE
                )
            table.setdefault(label, {})[kind] = [caught, total]
    print(f"{'format':18s} {'truncated':>12s} {'bit flips':>12s} {'overwritten':>12s}")
    for label, kinds in table.items():
        cells = [f"{c}/{t}" for c, t in kinds.values()]
        print(f"{label:18s} " + " ".join(f"{c:>12s}" for c in cells))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"damage-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"seed": args.seed, "table": table}, indent=2))
    print(f"({time.time() - started:.0f} s) results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
