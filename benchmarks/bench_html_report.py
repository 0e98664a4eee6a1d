"""Size and time of the HTML report for a character folder of N photos.

    .venv/bin/python benchmarks/bench_html_report.py [--corpus benchmarks/corpus] [--n 60]

Takes the first N decodable photos of the corpus (`make_corpus.py`: 12 MP and 2 MP
JPEGs of natural scenes with grain, their blurred, resized and re-encoded copies, PNG and
WebP duplicates), lays them out as a character folder (a third under face/, the rest
under body/front/), runs the pre-flight with face checks on, and writes the report to
`benchmarks/results/report-<N>.html`. Prints the page's size, the share taken by
thumbnails and the time to render it (the pre-flight excluded).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image

import animus_prep

HERE = Path(__file__).resolve().parent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=HERE / "corpus")
    p.add_argument("--n", type=int, default=60, help="photos in the folder (default 60)")
    p.add_argument("--out", type=Path, default=HERE / "results")
    args = p.parse_args()
    photos = []
    for path in sorted((args.corpus / "images").iterdir()):
        try:
            with Image.open(path) as im:
                im.load()
        except OSError:
            continue  # the corpus's truncated and damaged files: no thumbnail to weigh
        photos.append(path)
    if len(photos) < args.n:
        raise SystemExit(f"only {len(photos)} decodable photos in {args.corpus}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "character"
        for n, src in enumerate(photos[: args.n]):
            folder = root / ("face" if n % 3 == 0 else "body/front")
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, folder / src.name)
        with ProcessPoolExecutor(os.cpu_count()) as pool:
            report = animus_prep.preflight(root, executor=pool)
        start = time.perf_counter()
        html = animus_prep.render_html_report(report)
        seconds = time.perf_counter() - start
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / f"report-{args.n}.html"
    target.write_text(html, encoding="utf-8")
    size = len(html.encode("utf-8"))
    uris = re.findall(r'src="(data:[^"]+)"', html)
    thumbs = sum(len(u) for u in uris)
    print(
        f"{args.n} photos ({sum(i.thumbnail is not None for i in report.images)} with a "
        f"thumbnail, {len(uris)} pictures on the page with duplicate groups): "
        f"{size / 1e6:.2f} MB, thumbnails {thumbs / 1e6:.2f} MB "
        f"({thumbs / max(len(uris), 1) / 1e3:.1f} kB each), rendered in {seconds:.2f} s "
        f"-> {target}"
    )


if __name__ == "__main__":
    main()
