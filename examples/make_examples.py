"""Rebuild examples/character/ from the public-domain photos in examples/sources/.

Run by hand (`python examples/make_examples.py`); the outputs are committed. Each derived
file exists to show one verdict of `animus-prep check`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image, ImageEnhance, ImageFilter, ImageOps

HERE = Path(__file__).resolve().parent
SRC = HERE / "sources"
OUT = HERE / "character"


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    face = OUT / "face"
    front = OUT / "body" / "front"
    face.mkdir(parents=True)
    front.mkdir(parents=True)

    ardern = Image.open(SRC / "ardern.jpg").convert("RGB")
    w, h = ardern.size
    # Accepted: the original, and a closer framing of the person (a tight crop is
    # another picture: it shows the face at a larger size).
    ardern.save(face / "ardern.jpg", quality=92)
    closeup = ardern.crop(((w - 540) // 2, 40, (w - 540) // 2 + 540, 740))
    closeup.save(face / "ardern_closeup.jpg", quality=92)
    # duplicate: a mirrored, re-framed, warmer copy (its face proposes it, its pixels
    # confirm it: the hash of a picture cropped by 6% is too far off).
    mirrored = ImageOps.mirror(ardern).crop((0, int(h * 0.06), w, h))
    r, g, b = mirrored.split()
    warmer = Image.merge("RGB", (r.point(lambda v: min(255, int(v * 1.08))), g, b))
    warmer.save(face / "ardern_mirrored.jpg", quality=90)
    # blurry: defocused.
    ardern.filter(ImageFilter.GaussianBlur(6)).save(face / "ardern_blurry.jpg", quality=90)
    # duplicate: a smaller, re-encoded WebP copy of the original (the JPEG is kept).
    ardern.resize((w * 3 // 4, h * 3 // 4), Image.Resampling.LANCZOS).save(
        face / "ardern_copy.webp", quality=80
    )
    # too_small: 400 px on the shorter side.
    ardern.resize((400, 400 * h // w), Image.Resampling.LANCZOS).save(
        face / "ardern_small.jpg", quality=90
    )
    # too_dark: the close-up underexposed by three stops (and a copy of it).
    ImageEnhance.Brightness(closeup).enhance(0.12).save(face / "ardern_dark.jpg", quality=90)
    # unreadable: a JPEG cut off half way.
    data = (face / "ardern.jpg").read_bytes()
    (face / "ardern_truncated.jpg").write_bytes(data[: len(data) // 2])
    # unsupported_format: a BMP.
    ImageOps.mirror(ardern).rotate(3).save(face / "ardern_scan.bmp")
    # Another person among the character's face photos (identity_mismatch with faces on).
    Image.open(SRC / "obama.jpg").convert("RGB").save(face / "obama.jpg", quality=92)

    # no_face: a face photo without a face.
    coffee = Image.open(SRC / "coffee.png").convert("RGB")
    coffee.resize((coffee.width * 2, coffee.height * 2), Image.Resampling.LANCZOS).save(
        face / "coffee.jpg", quality=92
    )
    # multiple_faces: the character next to someone else.
    obama = Image.open(SRC / "obama.jpg").convert("RGB")
    pair = Image.new("RGB", (w + obama.width * h // obama.height, h))
    pair.paste(ardern, (0, 0))
    pair.paste(obama.resize((obama.width * h // obama.height, h)), (w, 0))
    pair.save(face / "with_a_friend.jpg", quality=92)

    # Body: the same person, standing smaller in a wider studio frame.
    backdrop = Image.linear_gradient("L").resize((1000, 1400)).convert("RGB")
    backdrop = ImageEnhance.Brightness(backdrop).enhance(0.55)
    person = ImageOps.mirror(ardern).resize((w * 5 // 6, h * 5 // 6), Image.Resampling.LANCZOS)
    backdrop.paste(person, ((1000 - person.width) // 2, 1400 - person.height))
    backdrop.save(front / "ardern_studio.jpg", quality=92)

    # misplaced: outside face/ and body/<view>/.
    (OUT / "notes.txt").write_text("shoot on 2026-03-02, studio B\n", encoding="utf-8")


if __name__ == "__main__":
    main()
