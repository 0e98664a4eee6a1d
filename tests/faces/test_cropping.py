"""The library's `crop_face` (any image input, face found when not given) and `crop_sources`."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from animus_prep import crop_face
from animus_prep.crops import crop_sources
from animus_prep.inspection.discover import LayoutError
from animus_prep.policy import Policy

FACES = Path(__file__).resolve().parents[2] / "examples" / "character" / "face"


def pixels(path: str) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("L"), dtype=np.int16)


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    with Image.open(FACES / "ardern.jpg") as img:
        return np.asarray(img.convert("RGB"))


def crop_of(image: object) -> np.ndarray:
    result = crop_face(image, size=256, min_side=256)  # type: ignore[arg-type]
    assert result.image is not None, result.reason
    return np.asarray(result.image.convert("L"), dtype=np.int16)


def test_path_pil_and_array_inputs_give_the_same_crop(portrait: np.ndarray) -> None:
    from_path = crop_of(FACES / "ardern.jpg")
    with Image.open(FACES / "ardern.jpg") as img:
        from_pil = crop_of(img)
    assert np.abs(from_pil - from_path).max() <= 1
    assert np.abs(crop_of(portrait) - from_path).max() <= 1


def test_sixteen_bit_grey_and_alpha_are_normalised_as_in_the_preflight(
    portrait: np.ndarray, tmp_path: Path
) -> None:
    grey8 = np.asarray(Image.fromarray(portrait).convert("L"))
    grey16 = grey8.astype(np.uint16) * 257
    png = tmp_path / "grey16.png"
    Image.fromarray(grey16).save(png)
    expected = crop_of(grey8)
    with Image.open(png) as img:
        assert img.mode.startswith("I")
        from_pil = crop_of(img)
    for crop in (crop_of(png), from_pil, crop_of(grey16), crop_of(grey16[:, :, None])):
        assert np.abs(crop - expected).max() <= 1
    rgba = np.dstack([portrait, np.full(portrait.shape[:2], 255, np.uint8)])
    assert np.abs(crop_of(rgba) - crop_of(portrait)).max() <= 1


def test_a_sideways_pil_image_is_turned_upright(portrait: np.ndarray) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: the camera was held sideways
    sideways = Image.fromarray(np.ascontiguousarray(np.rot90(portrait, 1)))
    sideways.info["exif"] = exif.tobytes()
    sideways.getexif()[0x0112] = 6
    assert np.abs(crop_of(sideways) - crop_of(portrait)).mean() < 2


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((600, 600, 3), np.float32), "uint8 or uint16"),
        (np.zeros((600, 600, 2), np.uint8), "image array"),
        (np.zeros((600,), np.uint8), "image array"),
    ],
)
def test_unsupported_arrays_are_a_clear_error(array: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        crop_face(array)


def test_sources_sharing_a_crop_name_never_overwrite_each_other(tmp_path: Path) -> None:
    same = tmp_path / "same"
    same.mkdir()
    shutil.copy(FACES / "ardern.jpg", same / "me.jpg")
    shutil.copy(FACES / "obama.jpg", same / "me.jpeg")
    for sub, name in (("a", "ardern.jpg"), ("b", "obama.jpg")):
        (tmp_path / sub).mkdir()
        shutil.copy(FACES / name, tmp_path / sub / "x.jpg")
    out = tmp_path / "out"

    outcomes = crop_sources(
        [same, tmp_path / "a" / "x.jpg", tmp_path / "b" / "x.jpg"], out, size=512
    )

    written = [o.output for o in outcomes if o.output]
    assert len(written) == 4, [o.to_json() for o in outcomes]
    assert len(set(written)) == 4
    assert sorted(p.name for p in out.rglob("*.jpg")) == ["me-2.jpg", "me.jpg", "x-2.jpg", "x.jpg"]
    by_source = {o.source: o.output for o in outcomes if o.output}
    # Each crop is its own source's: the same photo's crops alike, the other's not.
    me, me_too = pixels(by_source["same/me.jpg"]), pixels(by_source["same/me.jpeg"])
    a, b = [pixels(o.output) for o in outcomes if o.source == "x.jpg" and o.output]
    assert np.abs(me - a).mean() < np.abs(me - b).mean() / 4
    assert np.abs(me_too - b).mean() < np.abs(me_too - a).mean() / 4


def test_a_rerun_overwrites_its_own_crops_in_place(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(FACES / "ardern.jpg", src / "a.jpg")
    first = crop_sources([src], tmp_path / "out", size=512)
    second = crop_sources([src], tmp_path / "out", size=512)
    assert [o.output for o in first] == [o.output for o in second]
    assert [p.name for p in (tmp_path / "out").rglob("*.jpg")] == ["a.jpg"]


def test_the_policy_margin_is_the_margin_of_the_written_crop(tmp_path: Path) -> None:
    # The face_too_small check judges the crop at the policy's margin; the written crop
    # must be that same square, and an explicit margin still wins.
    src = tmp_path / "src"
    src.mkdir()
    # The portrait on a wide canvas, so that no square is clipped by the frame (grainy:
    # flat grey on both sides would be padding, `bordered`, and get no crop).
    with Image.open(FACES / "ardern.jpg") as img:
        grain = np.random.default_rng(5).normal(128, 12, (img.height * 2, img.width * 3, 3))
        canvas = Image.fromarray(grain.clip(0, 255).astype(np.uint8))
        canvas.paste(img.convert("RGB"), (img.width, img.height // 2))
    canvas.save(src / "a.jpg", quality=95)
    default = crop_sources([src], tmp_path / "d", size=512)[0]
    tight = crop_sources([src], tmp_path / "t", size=512, policy=Policy(face_crop_margin=0.3))[0]
    explicit = crop_sources(
        [src], tmp_path / "e", size=512, margin=0.6, policy=Policy(face_crop_margin=0.3)
    )[0]
    assert default.box is not None and tight.box is not None and explicit.box is not None
    side = {
        name: o.box[2] - o.box[0] for name, o in (("d", default), ("t", tight), ("e", explicit))
    }  # type: ignore[index]
    # side = face * (1 + 2 * margin): 2.2 face at the default 0.6, 1.6 face at 0.3.
    assert side["t"] / side["d"] == pytest.approx(1.6 / 2.2, rel=0.02)
    assert side["e"] == side["d"]


def test_crop_face_defaults_follow_the_policy(portrait: np.ndarray) -> None:
    face = crop_face(portrait)
    assert face.image is not None
    policy = Policy()
    found = crop_face(portrait, margin=policy.face_crop_margin)
    assert found.box == face.box


def test_crop_face_takes_the_policy_it_is_given(portrait: np.ndarray) -> None:
    default = crop_face(portrait)
    tight = crop_face(portrait, policy=Policy(face_crop_margin=0.3))
    assert default.image is not None and tight.image is not None
    # side = face * (1 + 2 * margin), unless the frame clips the default square.
    assert tight.side < default.side
    assert crop_face(portrait, margin=0.6, policy=Policy(face_crop_margin=0.3)).box == default.box


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("missing.jpg", "no such file"),
        ("folder", "not a regular file|is a directory|folder"),
        ("notes.jpg", "not an image|cannot identify|unsupported"),
        ("ardern_truncated.jpg", "truncated|damaged|corrupt"),
    ],
)
def test_a_path_that_cannot_be_used_gives_a_reason_not_a_traceback(
    tmp_path: Path, name: str, why: str
) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "notes.jpg").write_text("these are notes, not a photo\n")
    shutil.copy(FACES / "ardern_truncated.jpg", tmp_path)
    result = crop_face(tmp_path / name)
    assert result.image is None and result.reason is not None
    assert str(tmp_path / name) in result.reason
    assert re.search(why, result.reason, re.IGNORECASE), result.reason


def test_crop_sources_takes_one_path(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(FACES / "ardern.jpg", src)
    outcomes = crop_sources(str(src), tmp_path / "out", size=512)
    assert [o.source for o in outcomes] == ["src/ardern.jpg"]
    assert outcomes[0].output == str(tmp_path / "out" / "ardern.jpg")


def test_crops_are_never_written_over_or_among_the_photos(tmp_path: Path) -> None:
    character = tmp_path / "chloe"
    shutil.copytree(FACES.parent, character)
    before = {p: p.read_bytes() for p in character.rglob("*") if p.is_file()}
    for sources, out in [
        ([character], character / "face"),  # the photos' own folder
        ([character / "face"], character / "face" / "crops"),  # inside it
        ([character / "face" / "ardern.jpg"], character / "face"),  # a photo's folder
    ]:
        with pytest.raises(LayoutError, match="write them to a folder outside it"):
            crop_sources(sources, out, size=512)
    # A photo given through a link is written through it: the link's folder counts.
    links = tmp_path / "links"
    links.mkdir()
    (links / "a.jpg").symlink_to(character / "face" / "ardern.jpg")
    bob = tmp_path / "bob"
    shutil.copytree(FACES.parent, bob)
    for sources, out in [
        ([links / "a.jpg"], links),
        ([character / "face", bob / "face"], character),  # out/<folder name>/: the photos
    ]:
        with pytest.raises(LayoutError, match="write them to a folder outside it"):
            crop_sources(sources, out, size=512)
    after = {p: p.read_bytes() for p in character.rglob("*") if p.is_file()}
    assert after == before
    # Beside the character folder is fine, and so is a folder above a single source.
    assert any(o.output for o in crop_sources([character], tmp_path / "crops", size=512))
    assert any(o.output for o in crop_sources([character / "face"], tmp_path, size=512))


def test_a_file_already_in_the_output_folder_is_never_overwritten(tmp_path: Path) -> None:
    # A photo of the user's, and a link to a file outside, where crops are to go: both
    # used to be overwritten (the link written through). They are kept; the crops take
    # other names, and a rerun still replaces its own crops in place.
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(FACES / "ardern.jpg", src / "a.jpg")
    shutil.copy(FACES / "obama.jpg", src / "b.jpg")
    out = tmp_path / "out"
    out.mkdir()
    mine = out / "a.jpg"
    shutil.copy(FACES / "obama.jpg", mine)
    outside = tmp_path / "elsewhere.jpg"
    shutil.copy(FACES / "obama.jpg", outside)
    (out / "b.jpg").symlink_to(outside)
    before = mine.read_bytes(), outside.read_bytes()

    first = crop_sources([src], out, size=512)
    assert (mine.read_bytes(), outside.read_bytes()) == before
    assert (out / "b.jpg").is_symlink()
    written = sorted(Path(o.output).name for o in first if o.output)
    assert written == ["a-2.jpg", "b-2.jpg"]
    second = crop_sources([src], out, size=512)
    assert [o.output for o in second] == [o.output for o in first]
    assert sorted(p.name for p in out.iterdir()) == ["a-2.jpg", "a.jpg", "b-2.jpg", "b.jpg"]


def test_crops_are_as_readable_as_any_new_file(tmp_path: Path) -> None:
    # Written through a private temporary file, crops came out readable by their owner
    # alone (0600), whatever the umask said.
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(FACES / "ardern.jpg", src / "a.jpg")
    (written,) = [o.output for o in crop_sources([src], tmp_path / "out", size=512) if o.output]
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(written).st_mode & 0o777 == 0o666 & ~umask
