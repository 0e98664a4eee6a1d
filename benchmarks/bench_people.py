"""Judge real photos of real people as a LoRA trainer would: per-code precision and recall.

The photos are tests/data/people (licences in its CREDITS.md) and the public-domain face
photos of tests/faces/data. Thresholds were chosen on the `tune` photos; the `check`
photos are held out, and every figure is reported for both. Defects are made from the
photos by tests/people.py (nothing derived is stored):

- originals as they are, re-encoded at JPEG quality 70, 85 and 95, and with a phone-like
  noise reduction: none may be `upscaled` or `blurry` (false rejections);
- originals saved at JPEG quality 10 and 20 (`over_compressed` required) and 40 (wrong);
  saved at 10 and 20 and then again, at quality 90 or as a PNG (`over_compressed`
  required: the pixels keep the blocks), and at 40 and 70 then 90 (wrong);
- originals with the frame cut just under the eyes, at the nose tip, or through the nose
  from the side (`face_cut_off` required; a cut that leaves no face is not scored);
- enlargements: a web-sized copy (shorter side 150, 200, 250 or 300 px) enlarged 2-6x with
  Lanczos, bicubic and bilinear filters (only those reaching 512 px): `upscaled` required,
  `blurry` allowed (they are soft at the training crop's size);
- Gaussian blur of sigma 1-4 px at 1024 px: `blurry` required from sigma 3, allowed
  below; `upscaled` allowed (a blur after the photo was taken removes the same detail);
- the same blur of sigma 3 and 4 under grain of 3 and 5 grey levels (a low-light shot
  that missed focus): `blurry` required;
- a shake: motion blur of 15 and 21 px at 1024 px, across, up and down and along both
  diagonals: `blurry` required, `upscaled` allowed;
- originals shrunk to a shorter side just above 512 px (516-560, Lanczos, bicubic, area):
  none may be `upscaled` or `blurry`;
- the face alone blurred (sigma 3.5 px at the training crop): `blurry` required;
- the person on a white studio background: `too_bright` and `bordered` wrong;
- originals letterboxed (bars top and bottom), pillarboxed (left and right), mounted (all
  four edges) and with one bar at the top, each bar 5%, 12% or 30% of the side, black
  and white: `bordered` required (the figure is given apart for the colour that stands
  out against the photo's edges and for the one that does not);
- over-exposed x3 (`too_bright` required), under-exposed x0.2 and x0.25 and the face in
  shadow against a lit frame (`too_dark` required); dimmed x0.6, a dark but usable photo
  (`too_dark` wrong);
- made black and white, and with half the saturation; standing small (8% of the frame)
  in a flat grey frame, in colour and made grey: the `monochrome:` note (not a reason
  code, scored apart) is required on the ones made grey, and on every variant of a
  black-and-white photo, and wrong on every other.

Then mirrored copies: each photo beside a copy of it flipped left to right (as it is,
resized to 80% and saved at quality 80, cropped by 3% or 8%), each pair in a folder of
its own, run through the pre-flight: how many are found `duplicate`; and the photos of
the set together, every other one flipped, where none is a copy of another.

Each original is also turned a quarter either way and upside down, as a lost or wrong
EXIF orientation leaves it: `rotated` is required there, and wrong on every other
variant (all upright). Every variant but the cuts shows the whole face (`face_cut_off`
is wrong on them).

Run with the default policy (faces on), the path users run:

    .venv/bin/python benchmarks/bench_people.py [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from animus_prep import preflight  # noqa: E402
from animus_prep.inspection.analysis import analyze_bytes  # noqa: E402
from animus_prep.policy import Policy  # noqa: E402
from people import (  # noqa: E402
    BLACK_AND_WHITE,
    CHECK,
    FILTERS,
    SMALL,
    TUNE,
    backlit,
    bars,
    contrasting,
    cut,
    drained,
    enlarged,
    exposed,
    grey,
    has_face,
    jpeg,
    load,
    main_face,
    noise_reduced,
    on_white,
    resized,
    saved_again,
    small_on_grey,
    soft_face,
)
from photos import motion  # noqa: E402

NEAR_MINIMUM = (516, 524, 532, 560)
"""Shorter sides just above the policy's 512 px that sharp originals are shrunk to."""
DOWNSCALERS = {"lanczos": cv2.INTER_LANCZOS4, "bicubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA}

CODES = (
    "upscaled",
    "blurry",
    "too_bright",
    "too_dark",
    "rotated",
    "face_cut_off",
    "over_compressed",
    "bordered",
    "noisy",
)
"""Codes scored. Only the turned originals are not upright: `rotated` on any other
variant is a false rejection. No variant is noisy (grain of 3-5 grey levels at 1024 px
is what good photos carry): `noisy` anywhere is a false rejection."""
MONOCHROME = "monochrome"
"""The black-and-white note, scored apart from the codes."""


@dataclass
class Variant:
    name: str
    data: bytes
    required: set[str] = field(default_factory=set)
    allowed: set[str] = field(default_factory=set)
    group: str = ""
    factor: float | None = None
    monochrome: bool = False
    """Whether the variant is black and white (the `monochrome:` note's truth)."""


def variants(path: Path, policy: Policy) -> Iterator[Variant]:
    black_and_white = path.stem in BLACK_AND_WHITE
    for v in _variants(path, policy):
        v.monochrome = v.monochrome or black_and_white
        yield v


def _variants(path: Path, policy: Policy) -> Iterator[Variant]:
    rgb = load(path)
    stem = path.stem
    original = path in TUNE or path in CHECK
    if original:
        yield Variant(f"{stem}/original", path.read_bytes(), group="original")
        for q in (70, 85, 95):
            yield Variant(f"{stem}/q{q}", jpeg(rgb, q), group="original")
        yield Variant(f"{stem}/noise-reduced", jpeg(noise_reduced(rgb), 85), group="original")
        for q in (10, 20):
            yield Variant(
                f"{stem}/q{q}",
                jpeg(rgb, q),
                required={"over_compressed"},
                allowed={"upscaled", "blurry"},
                group="compressed",
            )
        yield Variant(f"{stem}/q40", jpeg(rgb, 40), allowed={"upscaled"}, group="compressed")
        for q in (10, 20):
            for fmt in ("JPEG", "PNG"):
                yield Variant(
                    f"{stem}/q{q}-saved-again-as-{fmt.lower()}",
                    saved_again(rgb, q, fmt),
                    required={"over_compressed"},
                    allowed={"upscaled", "blurry"},
                    group="saved-again",
                )
        for q in (40, 70):
            yield Variant(
                f"{stem}/q{q}-saved-again-as-jpeg",
                saved_again(rgb, q),
                allowed={"upscaled"},
                group="saved-again-usable",
            )
        for k, clockwise in ((1, 90), (2, 180), (3, 270)):
            # np.rot90 turns counter-clockwise: turning back clockwise makes it upright.
            yield Variant(
                f"{stem}/turned-{clockwise}",
                jpeg(np.ascontiguousarray(np.rot90(rgb, k))),
                required={"rotated"},
                group=f"turned-{clockwise}",
            )
        for where in ("eyes", "nose", "half"):
            photo = cut(rgb, where)
            if not has_face(photo):
                continue  # no face left to judge: `no_face`, not this code's question
            yield Variant(
                f"{stem}/cut-at-{where}",
                jpeg(photo),
                required={"face_cut_off"},
                allowed={"upscaled", "blurry"},
                group="cut",
            )
        for edges in ("tb", "lr", "all", "t"):
            standing_out = contrasting(rgb, edges)
            for share in (0.05, 0.12, 0.3):
                for colour in (0, 255):
                    contrast = "contrasting" if colour == standing_out else "blending"
                    yield Variant(
                        f"{stem}/bars-{edges}-{share:g}-{colour}",
                        jpeg(bars(rgb, share, colour, edges)),
                        required={"bordered"},
                        allowed={"upscaled", "face_cut_off"},
                        group=f"bordered-{contrast}",
                    )
    for source in (150, 200, 250, 300):
        for factor in (2.0, 3.0, 4.0, 6.0):
            if source * factor < policy.min_side:
                continue
            for filt in FILTERS:
                yield Variant(
                    f"{stem}/enlarged-{source}px-x{factor:g}-{filt}",
                    jpeg(enlarged(rgb, source, factor, filt)),
                    required={"upscaled"},
                    allowed={"blurry"},
                    group="enlarged",
                    factor=factor,
                )
    if not original:
        return
    for short in NEAR_MINIMUM:
        if short >= min(rgb.shape[:2]):
            continue
        for name, interpolation in DOWNSCALERS.items():
            yield Variant(
                f"{stem}/downscaled-{short}px-{name}",
                jpeg(resized(rgb, short, interpolation)),
                group="downscaled",
            )
    big = resized(rgb, 1024)
    for sigma in (1.0, 2.0, 3.0, 4.0):
        yield Variant(
            f"{stem}/gaussian-{sigma:g}-at-1024",
            jpeg(cv2.GaussianBlur(big, (0, 0), sigma)),
            required={"blurry"} if sigma >= 3 else set(),
            allowed={"upscaled"} | ({"blurry"} if sigma < 3 else set()),
            group=f"gaussian-{sigma:g}",
        )
    for sigma in (3.0, 4.0):
        for grain in (3.0, 5.0):
            blurred = cv2.GaussianBlur(big, (0, 0), sigma).astype(np.float32)
            noise = np.random.default_rng(int(sigma * 10 + grain)).normal(0, grain, big.shape[:2])
            grainy = np.clip(blurred + noise[..., None], 0, 255).astype(np.uint8)
            yield Variant(
                f"{stem}/gaussian-{sigma:g}-grain-{grain:g}-at-1024",
                jpeg(grainy),
                required={"blurry"},
                allowed={"upscaled"},
                group="gaussian-grain",
            )
    for length in (15, 21):
        for angle in (0, 45, 90, 135):
            yield Variant(
                f"{stem}/motion-{length}px-{angle}deg-at-1024",
                jpeg(motion(big, length, angle)),
                required={"blurry"},
                allowed={"upscaled"},
                group="motion",
            )
    face = main_face(rgb)
    crop = max(face.box[2], face.box[3]) * (1 + 2 * policy.face_crop_margin)
    sigma = 3.5 * max(1.0, crop / policy.training_side)
    yield Variant(
        f"{stem}/soft-face", jpeg(soft_face(rgb, sigma)), required={"blurry"}, group="soft-face"
    )
    yield Variant(f"{stem}/white-background", jpeg(on_white(rgb)), group="white-background")
    yield Variant(
        f"{stem}/over-exposed", jpeg(exposed(rgb, 3.0)), required={"too_bright"}, group="exposure"
    )
    for gain in (0.2, 0.25):
        yield Variant(
            f"{stem}/under-exposed-x{gain:g}",
            jpeg(exposed(rgb, gain)),
            required={"too_dark"},
            group="exposure",
        )
    yield Variant(f"{stem}/dim-x0.6", jpeg(exposed(rgb, 0.6)), group="dim")
    yield Variant(f"{stem}/grey", jpeg(grey(rgb)), group="colour", monochrome=True)
    yield Variant(f"{stem}/half-saturation", jpeg(drained(rgb, 0.5)), group="colour")
    # Standing small in a flat grey frame (a full-length shot on a grey backdrop).
    figure = small_on_grey(rgb, 0.08)
    yield Variant(f"{stem}/small-on-grey", jpeg(figure), group="small-on-grey")
    made_grey = jpeg(grey(figure))
    yield Variant(f"{stem}/small-on-grey-made-grey", made_grey, monochrome=True)
    yield Variant(
        f"{stem}/face-in-shadow", jpeg(backlit(rgb, 0.15)), required={"too_dark"}, group="exposure"
    )


def judge(v: Variant, policy: Policy) -> set[str]:
    """The variant's reason codes, and `monochrome` when it would get that note."""
    a = analyze_bytes(v.data, v.name.replace("/", "_") + ".jpg", policy, kind="face")
    got = {r.code.value for r in a.reasons()}
    saturation = a.saturation()
    if saturation is not None and saturation < policy.monochrome_saturation:
        got.add(MONOCHROME)
    return got


def score(rows: list[tuple[Variant, set[str]]]) -> dict[str, object]:
    """Per-code precision and recall, and the figures the README quotes."""
    out: dict[str, object] = {}
    for code in CODES:
        tp = sum(code in v.required and code in got for v, got in rows)
        fn = sum(code in v.required and code not in got for v, got in rows)
        fp = sum(code not in v.required | v.allowed and code in got for v, got in rows)
        allowed = sum(code in v.allowed and code in got for v, got in rows)
        out[code] = {
            "precision": None if tp + fp == 0 else round(tp / (tp + fp), 3),
            "recall": None if tp + fn == 0 else round(tp / (tp + fn), 3),
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "fired_where_allowed": allowed,
        }
    by_factor: dict[str, list[int]] = {}
    for v, got in rows:
        if v.group == "enlarged":
            hit = by_factor.setdefault(f"x{v.factor:g}", [0, 0])
            hit[0] += "upscaled" in got
            hit[1] += 1
    out["upscaled_by_factor"] = {k: f"{h}/{n}" for k, (h, n) in sorted(by_factor.items())}
    originals = [(v, got) for v, got in rows if v.group == "original"]
    out["originals_flagged_upscaled_or_blurry"] = [
        v.name for v, got in originals if got & {"upscaled", "blurry"}
    ]
    out["originals"] = len(originals)
    sigma3 = [(v, got) for v, got in rows if v.group in ("gaussian-3", "gaussian-4")]
    out["blur_recall_sigma_3_and_more"] = f"{sum('blurry' in g for _, g in sigma3)}/{len(sigma3)}"
    again = [(v, got) for v, got in rows if v.group == "saved-again"]
    out["saved_again_over_compressed"] = (
        f"{sum('over_compressed' in g for _, g in again)}/{len(again)}"
    )
    usable = [(v, got) for v, got in rows if v.group == "saved-again-usable"]
    out["saved_again_usable_over_compressed"] = (
        f"{sum('over_compressed' in g for _, g in usable)}/{len(usable)}"
    )
    shaken = [(v, got) for v, got in rows if v.group == "motion"]
    out["motion_blur_recall"] = f"{sum('blurry' in g for _, g in shaken)}/{len(shaken)}"
    rejected = sum(bool(g & {"blurry", "upscaled"}) for _, g in shaken)
    out["motion_blur_rejected"] = f"{rejected}/{len(shaken)}"
    down = [(v, got) for v, got in rows if v.group == "downscaled"]
    flagged = sum(bool(g & {"upscaled", "blurry"}) for _, g in down)
    out["downscaled_flagged"] = f"{flagged}/{len(down)}"
    grainy = [(v, got) for v, got in rows if v.group == "gaussian-grain"]
    out["blur_under_grain_recall"] = f"{sum('blurry' in g for _, g in grainy)}/{len(grainy)}"
    white = [(v, got) for v, got in rows if v.group == "white-background"]
    out["white_background_too_bright"] = f"{sum('too_bright' in g for _, g in white)}/{len(white)}"
    for contrast in ("contrasting", "blending"):
        framed = [(v, got) for v, got in rows if v.group == f"bordered-{contrast}"]
        found = sum("bordered" in g for _, g in framed)
        out[f"bordered_recall_{contrast}"] = f"{found}/{len(framed)}"
    out["white_background_bordered"] = f"{sum('bordered' in g for _, g in white)}/{len(white)}"
    dim = [(v, got) for v, got in rows if v.group == "dim"]
    out["dim_too_dark"] = f"{sum('too_dark' in g for _, g in dim)}/{len(dim)}"
    for clockwise in (90, 180, 270):
        turned = [(v, got) for v, got in rows if v.group == f"turned-{clockwise}"]
        found = sum("rotated" in g for _, g in turned)
        out[f"rotated_recall_{clockwise}"] = f"{found}/{len(turned)}"
    upright = [(v, got) for v, got in rows if not v.group.startswith("turned-")]
    out["upright_rotated"] = f"{sum('rotated' in g for _, g in upright)}/{len(upright)}"
    tp = sum(v.monochrome and MONOCHROME in g for v, g in rows)
    fp = [v.name for v, g in rows if not v.monochrome and MONOCHROME in g]
    fn = [v.name for v, g in rows if v.monochrome and MONOCHROME not in g]
    out[MONOCHROME] = {
        "precision": None if tp + len(fp) == 0 else round(tp / (tp + len(fp)), 3),
        "recall": None if tp + len(fn) == 0 else round(tp / (tp + len(fn)), 3),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }
    small = [(v, got) for v, got in rows if v.name.endswith("/small-on-grey")]
    out["small_on_grey_monochrome"] = f"{sum(MONOCHROME in g for _, g in small)}/{len(small)}"
    muted = [(v, got) for v, got in rows if v.name.endswith("/half-saturation")]
    out["half_saturation_monochrome"] = f"{sum(MONOCHROME in g for _, g in muted)}/{len(muted)}"
    out["misses"] = [
        {"variant": v.name, "missing": sorted(v.required - got)}
        for v, got in rows
        if v.required - got
    ]
    out["wrong"] = [
        {"variant": v.name, "wrong": sorted(got & set(CODES) - v.required - v.allowed)}
        for v, got in rows
        if got & set(CODES) - v.required - v.allowed
    ]
    return out


MIRRORS = {
    "flipped": lambda rgb: rgb[:, ::-1],
    "flipped, 80%, q80": lambda rgb: resized(_flipped(rgb), round(min(rgb.shape[:2]) * 0.8)),
    "flipped, cropped 3%": lambda rgb: _cropped(rgb, 0.03)[:, ::-1],
    "flipped, cropped 8%": lambda rgb: _cropped(rgb, 0.08)[:, ::-1],
}
"""Mirrored copies scored, each beside its photo in a folder of its own."""


def _flipped(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb[:, ::-1])


def _cropped(rgb: np.ndarray, share: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    return rgb[round(h * share) :, round(w * share) :]


def mirror_scores(paths: tuple[Path, ...], policy: Policy) -> dict[str, object]:
    """Mirrored copies found as duplicates of their photo (`MIRRORS`, each pair in its own
    folder), and the photos together, every other one flipped, wrongly found copies."""
    found = {name: 0 for name in MIRRORS}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for k, path in enumerate(paths):
            rgb = load(path)
            for m, (name, make) in enumerate(MIRRORS.items()):
                folder = root / f"pair-{k}-{m}" / "face"
                folder.mkdir(parents=True)
                (folder / "photo.jpg").write_bytes(jpeg(rgb))
                quality = 80 if "q80" in name else 92
                (folder / "mirror.jpg").write_bytes(jpeg(np.ascontiguousarray(make(rgb)), quality))
                report = preflight(folder.parent, policy=policy)
                found[name] += sum(i.duplicate_of is not None for i in report.images)
        # The photos together, every other one flipped: no two are copies.
        folder = root / "apart" / "face"
        folder.mkdir(parents=True)
        for k, path in enumerate(paths):
            rgb = load(path)
            photo = np.ascontiguousarray(rgb[:, ::-1]) if k % 2 else rgb
            (folder / f"{k}.jpg").write_bytes(jpeg(photo))
        apart = preflight(folder.parent, policy=policy)
    wrong = sum(i.duplicate_of is not None for i in apart.images)
    return {
        "found": {name: f"{n}/{len(paths)}" for name, n in found.items()},
        "apart_wrongly_copies": f"{wrong}/{len(paths)}",
    }


def run_set(
    paths: tuple[Path, ...], policy: Policy, say: Callable[[str], None]
) -> dict[str, object]:
    rows = []
    for path in paths:
        for v in variants(path, policy):
            rows.append((v, judge(v, policy)))
        say(f"  {path.stem}: done")
    result = score(rows)
    result["variants"] = len(rows)
    result["mirrors"] = mirror_scores(paths, policy)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    policy = Policy()
    started = time.time()
    results = {
        "policy": policy.to_json(),
        "tune": run_set(TUNE, policy, print),
        "check": run_set(CHECK + SMALL, policy, print),
    }
    results["seconds"] = round(time.time() - started, 1)
    for name in ("tune", "check"):
        r = results[name]
        assert isinstance(r, dict)
        print(f"\n{name} ({r['variants']} variants)")
        for code in CODES:
            m = r[code]
            print(
                f"  {code:11s} precision {m['precision']}  recall {m['recall']}  "
                f"(tp {m['tp']} fp {m['fp']} fn {m['fn']}; "
                f"fired where allowed {m['fired_where_allowed']})"
            )
        print(f"  upscaled by enlargement factor: {r['upscaled_by_factor']}")
        flagged = r["originals_flagged_upscaled_or_blurry"]
        print(f"  originals flagged upscaled or blurry: {len(flagged)}/{r['originals']} {flagged}")
        print(f"  blur recall, sigma >= 3 at 1024 px: {r['blur_recall_sigma_3_and_more']}")
        print(f"  the same under grain of 3-5 levels: {r['blur_under_grain_recall']}")
        print(
            f"  saved at quality 10-20, then again at 90 or as a PNG, over_compressed: "
            f"{r['saved_again_over_compressed']}; at 40-70 then 90: "
            f"{r['saved_again_usable_over_compressed']}"
        )
        print(
            f"  motion blur of 15-21 px at 1024 px, 4 directions: blurry "
            f"{r['motion_blur_recall']}, rejected (blurry or upscaled) {r['motion_blur_rejected']}"
        )
        print(
            f"  sharp originals shrunk to 516-560 px flagged upscaled or blurry: "
            f"{r['downscaled_flagged']}"
        )
        print(f"  white studio background called too_bright: {r['white_background_too_bright']}")
        print(f"  dimmed x0.6 (dark but usable) called too_dark: {r['dim_too_dark']}")
        print(
            f"  bars and frames found: {r['bordered_recall_contrasting']} in the colour that "
            f"stands out, {r['bordered_recall_blending']} in the other; white studio "
            f"background called bordered: {r['white_background_bordered']}"
        )
        print(
            f"  turned found rotated, 90 / 180 / 270 degrees: {r['rotated_recall_90']}, "
            f"{r['rotated_recall_180']}, {r['rotated_recall_270']}; upright variants called "
            f"rotated: {r['upright_rotated']}"
        )
        mono = r[MONOCHROME]
        assert isinstance(mono, dict)
        print(
            f"  monochrome (note) precision {mono['precision']}  recall {mono['recall']}  "
            f"(tp {mono['tp']} fp {len(mono['fp'])} fn {len(mono['fn'])}); half saturation "
            f"noted: {r['half_saturation_monochrome']}; colour, small in a grey frame, noted: "
            f"{r['small_on_grey_monochrome']}"
        )
        mirrors = r["mirrors"]
        assert isinstance(mirrors, dict)
        print(
            f"  mirrored copies found: {mirrors['found']}; photos (every other flipped) "
            f"wrongly found copies: {mirrors['apart_wrongly_copies']}"
        )
        if r["misses"]:
            print(f"  misses: {r['misses']}")
        if r["wrong"]:
            print(f"  wrong: {r['wrong']}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"people-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
