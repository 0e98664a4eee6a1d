"""Real photos of real people judged as a LoRA trainer would: enlarged web photos, soft
faces in sharp frames, blur at the training crop's scale, white studio backgrounds.

The photos are in tests/data/people (licences in its CREDITS.md); thresholds were chosen
on the `tune` photos, and the `check` photos are held out.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from animus_prep import preflight
from animus_prep._opencv import cv2
from animus_prep.inspection.analysis import ImageAnalysis, analyze_bytes
from animus_prep.inspection.colour import FACE_COLOUR, saturation_level
from animus_prep.policy import Policy
from animus_prep.reasons import ReasonCode
from people import (
    BLACK_AND_WHITE,
    CHECK,
    SMALL,
    TUNE,
    backlit,
    bars,
    captioned,
    contrasting,
    cut,
    drained,
    enlarged,
    exposed,
    grey,
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
from photos import gaussian, motion, scene

POLICY = Policy(identity=False)  # identity is judged across photos, not here
ORIGINALS = TUNE + CHECK


def judged(rgb: np.ndarray, kind: str = "face", quality: int = 92) -> ImageAnalysis:
    return analyze_bytes(jpeg(rgb, quality), "photo.jpg", POLICY, kind=kind)


def codes(a: ImageAnalysis) -> set[ReasonCode]:
    return {r.code for r in a.reasons()}


def name(path: Path) -> str:
    return path.stem


# -- enlarged small photos ------------------------------------------------------------


@pytest.mark.parametrize("path", ORIGINALS + SMALL, ids=name)
@pytest.mark.parametrize(
    ("source", "factor"), [(150, 4), (150, 6), (200, 3), (200, 4), (300, 2)], ids=str
)
@pytest.mark.parametrize("filt", ["lanczos", "bicubic"])
def test_a_small_photo_enlarged_is_upscaled(
    path: Path, source: int, factor: float, filt: str
) -> None:
    rgb = enlarged(load(path), source, factor, filt)
    a = judged(rgb)
    assert ReasonCode.UPSCALED in codes(a)
    (reason,) = [r for r in a.reasons() if r.code is ReasonCode.UPSCALED]
    assert reason.message.startswith("looks enlarged from about ")
    # The estimate names the small photo's size, within the filters' transition band.
    assert reason.score is not None and 0.7 * source <= reason.score <= 1.6 * source
    assert reason.threshold == POLICY.min_side


@pytest.mark.parametrize("path", ORIGINALS, ids=name)
def test_an_enlargement_with_bilinear_filtering_is_upscaled_too(path: Path) -> None:
    assert ReasonCode.UPSCALED in codes(judged(enlarged(load(path), 200, 4, "bilinear")))


def test_the_report_carries_the_estimated_source_size() -> None:
    from animus_prep.inspection.assemble import assemble

    rgb = enlarged(load(TUNE[0]), 200, 4, "lanczos")
    report = assemble("x", [judged(rgb)], POLICY)
    metrics = report.images[0].metrics
    short = min(int(metrics["source_width"]), int(metrics["source_height"]))  # type: ignore[arg-type]
    assert 140 <= short <= 320
    (reason,) = [r for r in report.images[0].reasons if r.code is ReasonCode.UPSCALED]
    assert reason.message.startswith("looks enlarged from about ")


@pytest.mark.parametrize("path", ORIGINALS, ids=name)
@pytest.mark.parametrize("quality", [70, 85, 95])
def test_sharp_originals_at_any_usual_jpeg_quality_are_not_upscaled(
    path: Path, quality: int
) -> None:
    a = judged(load(path), quality=quality)
    assert not codes(a) & {ReasonCode.UPSCALED, ReasonCode.BLURRY}


@pytest.mark.parametrize("path", ORIGINALS, ids=name)
def test_phone_like_noise_reduction_is_not_upscaling(path: Path) -> None:
    a = judged(noise_reduced(load(path)), quality=85)
    assert not codes(a) & {ReasonCode.UPSCALED, ReasonCode.BLURRY}


def test_a_sharp_face_on_a_defocused_background_is_neither_upscaled_nor_blurry() -> None:
    bokeh = load(CHECK[3])  # henner_bokeh: shallow depth of field, a real photo
    a = judged(bokeh)
    assert not codes(a) & {ReasonCode.UPSCALED, ReasonCode.BLURRY}, a.reasons()


@pytest.mark.parametrize("path", ORIGINALS, ids=name)
@pytest.mark.parametrize("short", [516, 524, 532])
@pytest.mark.parametrize(
    "interpolation", [cv2.INTER_LANCZOS4, cv2.INTER_AREA], ids=["lanczos", "area"]
)
def test_a_sharp_photo_shrunk_to_just_over_the_minimum_is_not_upscaled(
    path: Path, short: int, interpolation: int
) -> None:
    # Shrinking such a photo again to the 512 px analysis size blended each pixel with
    # its neighbour, which read as lost detail ("enlarged from about 415 px").
    rgb = load(path)
    if short >= min(rgb.shape[:2]):
        pytest.skip("the photo is not larger than that")
    a = judged(resized(rgb, short, interpolation))
    assert not codes(a) & {ReasonCode.UPSCALED, ReasonCode.BLURRY}, a.reasons()


def test_a_body_photo_enlarged_is_upscaled_too() -> None:
    a = judged(enlarged(load(TUNE[1]), 250, 3, "lanczos"), kind="body")
    assert ReasonCode.UPSCALED in codes(a)


# -- the face's own sharpness, at the training crop's scale -----------------------------


def _face_crop_side(rgb: np.ndarray) -> float:
    face = main_face(rgb)
    return max(face.box[2], face.box[3]) * (1 + 2 * POLICY.face_crop_margin)


@pytest.mark.parametrize("path", ORIGINALS, ids=name)
def test_a_soft_face_in_a_sharp_frame_is_blurry(path: Path) -> None:
    rgb = load(path)
    # Soft at the training crop's scale: sigma 3.5 px there (more in a larger photo).
    sigma = 3.5 * max(1.0, _face_crop_side(rgb) / POLICY.training_side)
    a = judged(soft_face(rgb, sigma))
    (reason,) = [r for r in a.reasons() if r.code is ReasonCode.BLURRY]
    assert reason.message.startswith("blurry face")


@pytest.mark.parametrize("path", ORIGINALS, ids=name)
def test_a_portrait_blurred_at_sigma_3_at_1024_px_is_blurry(path: Path) -> None:
    rgb = gaussian(resized(load(path), 1024), 3.0)
    assert ReasonCode.BLURRY in codes(judged(rgb))


@pytest.mark.parametrize("path", ORIGINALS, ids=name)
@pytest.mark.parametrize("grain", [3.0, 5.0])
def test_a_blurred_portrait_under_grain_is_still_blurry(path: Path, grain: float) -> None:
    # A low-light shot that missed focus: the grain's steep little edges made a soft face
    # read as sharp (benchmarks/bench_people.py measures more blurs and grains).
    blurred = gaussian(resized(load(path), 1024), 4.0).astype(np.float32)
    noise = np.random.default_rng(7).normal(0.0, grain, blurred.shape[:2])[..., None]
    rgb = np.clip(blurred + noise, 0, 255).astype(np.uint8)
    assert ReasonCode.BLURRY in codes(judged(rgb))


@pytest.mark.parametrize("path", ORIGINALS, ids=name)
@pytest.mark.parametrize("angle", [0.0, 90.0], ids=["across", "up-and-down"])
def test_a_portrait_shaken_by_21_px_at_1024_px_is_rejected(path: Path, angle: float) -> None:
    # A shake blurs the edges across the motion only: judged on the face's strongest edges
    # overall, those all dropped out and the sharp edges along the motion vouched for it.
    a = judged(motion(resized(load(path), 1024), 21, angle))
    # Blurry, or (a photo whose detail the shake took entirely) enlarged "or blurred".
    assert codes(a) & {ReasonCode.BLURRY, ReasonCode.UPSCALED}


@pytest.mark.parametrize("path", ORIGINALS, ids=name)
def test_heavy_sensor_noise_is_noisy_and_usual_grain_is_not(path: Path) -> None:
    # Noise of 30 grey levels in each channel at 1024 px (a dim shot pushed bright): the
    # LoRA would learn the grain. Grain of 3-5 levels is what many good photos carry.
    rgb = resized(load(path), 1024)
    rng = np.random.default_rng(3)
    for sigma, noisy in ((0.0, False), (3.0, False), (5.0, False), (30.0, True)):
        grain = rng.normal(0.0, sigma, rgb.shape) if sigma else 0.0
        shot = np.clip(rgb + grain, 0, 255).astype(np.uint8)
        assert (ReasonCode.NOISY in codes(judged(shot))) is noisy, sigma


# -- the face in the frame; the file's compression --------------------------------------


@pytest.mark.parametrize("path", ORIGINALS, ids=name)
@pytest.mark.parametrize("where", ["eyes", "nose", "half"])
def test_a_face_cut_by_the_frame_is_face_cut_off(path: Path, where: str) -> None:
    photo = cut(load(path), where)
    # Judged whatever its size: some cuts leave a photo under 512 px.
    a = analyze_bytes(jpeg(photo), "cut.jpg", POLICY.with_overrides({"min_side": 64}))
    if a.faces is None or a.faces.main is None:
        pytest.skip("the cut leaves no face the detector finds")
    assert ReasonCode.FACE_CUT_OFF in codes(a), (a.faces.main, a.reasons())


@pytest.mark.parametrize("path", ORIGINALS + SMALL, ids=name)
def test_a_whole_face_is_in_the_frame_tight_headshot_or_not(path: Path) -> None:
    rgb = load(path)
    face = main_face(rgb)
    x, y, w, h = (int(v) for v in face.box)
    # As tight as a headshot gets: the frame at the face box's own edges (hair, chin and
    # ears cut), the eyes, nose, mouth and cheeks all in.
    tight = rgb[max(0, y) : y + h, max(0, x) : x + w]
    assert ReasonCode.FACE_CUT_OFF not in codes(judged(load(path)))
    a = analyze_bytes(jpeg(tight), "tight.jpg", POLICY.with_overrides({"min_side": 64}))
    assert ReasonCode.FACE_CUT_OFF not in codes(a), a.reasons()


@pytest.mark.parametrize("path", ORIGINALS, ids=name)
def test_heavy_jpeg_compression_is_over_compressed_and_usual_qualities_are_not(
    path: Path,
) -> None:
    rgb = load(path)
    for quality in (10, 20):
        assert ReasonCode.OVER_COMPRESSED in codes(judged(rgb, quality=quality))
    for quality in (40, 70, 95):
        assert ReasonCode.OVER_COMPRESSED not in codes(judged(rgb, quality=quality))


@pytest.mark.parametrize("path", ORIGINALS + SMALL, ids=name)
def test_heavy_compression_shows_through_a_later_save(path: Path) -> None:
    # Saved at quality 10-20 and again at 90 (or as a PNG), the file's table says 90 (or
    # nothing) while the pixels keep the blocks: read from the pixels.
    rgb = load(path)
    # A PNG is read at its full size or half of it; one whose shorter side is 1536 px or
    # more is reduced three times or more, where the blocks are lost (a stated limit).
    small = rgb if min(rgb.shape[:2]) < 3 * POLICY.analysis_side else resized(rgb, 1000)
    for quality, fmt in ((10, "JPEG"), (20, "JPEG"), (20, "PNG")):
        photo = small if fmt == "PNG" else rgb
        a = analyze_bytes(saved_again(photo, quality, fmt), "again", POLICY, kind="face")
        (reason,) = [r for r in a.reasons() if r.code is ReasonCode.OVER_COMPRESSED]
        assert reason.message.startswith("its pixels show the 8x8 blocks of JPEG quality")
        assert reason.score is not None and abs(reason.score - quality) <= 4, reason
    for quality in (40, 70):
        a = analyze_bytes(saved_again(rgb, quality), "again.jpg", POLICY, kind="face")
        assert ReasonCode.OVER_COMPRESSED not in codes(a)


# -- bars and frames -------------------------------------------------------------------


@pytest.mark.parametrize("path", ORIGINALS + SMALL, ids=name)
@pytest.mark.parametrize(
    ("edges", "share"), [("tb", 0.12), ("lr", 0.2), ("all", 0.05), ("t", 0.3)], ids=str
)
def test_bars_or_a_frame_around_a_photo_are_bordered(path: Path, edges: str, share: float) -> None:
    # Letterboxed, pillarboxed, mounted, or a screenshot's bar: black or white, whichever
    # the photo's edges are not.
    rgb = load(path)
    a = judged(bars(rgb, share, contrasting(rgb, edges), edges))
    (reason,) = [r for r in a.reasons() if r.code is ReasonCode.BORDERED]
    # The widest bar, as a share of the bordered photo's side.
    h, w = rgb.shape[:2]
    across = round({"tb": h, "t": h, "lr": w}.get(edges, min(h, w)) * share)
    side = {"tb": h + 2 * across, "t": h + across, "lr": w + 2 * across}.get(edges)
    if side is not None:
        assert reason.score == pytest.approx(across / side, abs=0.01)
    assert reason.threshold == POLICY.max_border
    assert reason.message.endswith(("crop it off", "crop them off"))


@pytest.mark.parametrize("path", ORIGINALS + SMALL, ids=name)
@pytest.mark.parametrize("edge", ["t", "b"])
@pytest.mark.parametrize("share", [0.08, 0.18])
def test_a_bar_with_a_caption_written_in_it_is_bordered_too(
    path: Path, edge: str, share: float
) -> None:
    # A few words in the bar made its lines not flat, and the bar went unseen.
    rgb = load(path)
    a = judged(captioned(rgb, share, contrasting(rgb, edge), edge))
    (reason,) = [r for r in a.reasons() if r.code is ReasonCode.BORDERED]
    bar = round(rgb.shape[0] * share)
    assert reason.score == pytest.approx(bar / (rgb.shape[0] + bar), abs=0.01)


@pytest.mark.parametrize("path", ORIGINALS + SMALL, ids=name)
@pytest.mark.parametrize("edges", ["tb", "lr"])
@pytest.mark.parametrize("colour", [0, 255])
def test_both_bars_of_a_letterbox_are_named_when_one_is_found(
    path: Path, edges: str, colour: int
) -> None:
    # Beside one bar the picture may be of nearly its colour (dark clothes at the bottom
    # of a black letterbox), and no boundary shows there; the twin bar still tells.
    a = judged(bars(load(path), 0.1, colour, edges))
    assert a.measurements is not None
    border = a.measurements.border
    pair = (border.top, border.bottom) if edges == "tb" else (border.left, border.right)
    if border.widest > 0:
        assert min(pair) == pytest.approx(max(pair), abs=0.01), border
    if colour == contrasting(load(path), edges):
        assert border.widest > 0


@pytest.mark.parametrize("path", ORIGINALS + SMALL, ids=name)
def test_a_photo_and_a_white_studio_background_are_not_bordered(path: Path) -> None:
    # A studio background is as flat as a bar, but ends where the person begins.
    rgb = load(path)
    assert ReasonCode.BORDERED not in codes(judged(rgb))
    assert ReasonCode.BORDERED not in codes(judged(on_white(rgb)))


def test_a_thin_bar_passes_and_the_check_can_be_turned_off() -> None:
    rgb = load(TUNE[0])
    colour = contrasting(rgb, "tb")
    assert ReasonCode.BORDERED not in codes(judged(bars(rgb, 0.02, colour, "tb")))
    wide = jpeg(bars(rgb, 0.2, colour, "tb"))
    assert ReasonCode.BORDERED in codes(analyze_bytes(wide, "wide.jpg", POLICY))
    off = POLICY.with_overrides({"max_border": 1.0})
    assert ReasonCode.BORDERED not in codes(analyze_bytes(wide, "wide.jpg", off))


# -- close-ups in body/ ------------------------------------------------------------------


def test_a_close_up_of_the_face_among_body_photos_is_noted_and_warned_of(tmp_path: Path) -> None:
    # A head-and-shoulders portrait (the face 44% of its height) and a photo to the
    # knees (15%), both in body/: the body LoRA learns nothing of the body from the first.
    close = load(TUNE[4])
    wide = load(CHECK[0])
    (tmp_path / "body" / "front").mkdir(parents=True)
    (tmp_path / "body" / "front" / "close.jpg").write_bytes(jpeg(close))
    (tmp_path / "body" / "front" / "wide.jpg").write_bytes(jpeg(wide))
    report = preflight(tmp_path, policy=POLICY)
    images = {i.path: i for i in report.images}
    close_up = images["body/front/close.jpg"]
    assert close_up.accepted, close_up.reasons  # noted, not rejected
    (note,) = [n for n in close_up.notes if n.startswith("close_up:")]
    assert "the face is 4" in note and "belongs in face/" in note
    assert not [n for n in images["body/front/wide.jpg"].notes if n.startswith("close_up:")]
    (warning,) = [w for w in report.warnings if "close-up" in w]
    assert warning.startswith("1 accepted body photo is a close-up of the face")
    assert "body/front/close.jpg" in warning and "wide.jpg" not in warning
    # `close_up_face_share = 1` never notes one.
    never = preflight(tmp_path, policy=POLICY.with_overrides({"close_up_face_share": 1.0}))
    assert not any(n.startswith("close_up:") for i in never.images for n in i.notes)
    assert not [w for w in never.warnings if "close-up" in w]
    # The same portrait in face/ is what a face photo should be: nothing to say.
    (tmp_path / "face").mkdir()
    (tmp_path / "body" / "front" / "close.jpg").rename(tmp_path / "face" / "close.jpg")
    again = preflight(tmp_path, policy=POLICY)
    assert not [w for w in again.warnings if "close-up" in w]
    assert not any(n.startswith("close_up:") for i in again.images for n in i.notes)


def test_a_front_body_photo_with_no_face_is_noted_and_warned_of(tmp_path: Path) -> None:
    # A picture of a cup in body/front/ was accepted and uploaded without a word.
    cup = Path(__file__).resolve().parents[2] / "examples" / "character" / "face" / "coffee.jpg"
    front = tmp_path / "body" / "front"
    front.mkdir(parents=True)
    (front / "cup.jpg").write_bytes(cup.read_bytes())
    (front / "person.jpg").write_bytes(jpeg(load(CHECK[0])))
    back = tmp_path / "body" / "back"
    back.mkdir()
    # From behind, no face is to be expected (a picture with none stands in for one).
    (back / "scene.jpg").write_bytes(jpeg(scene(4, (700, 900))))
    report = preflight(tmp_path, policy=POLICY)
    images = {i.path: i for i in report.images}
    assert [n for n in images["body/front/cup.jpg"].notes if n.startswith("no_face_in_body:")]
    for quiet in ("body/front/person.jpg", "body/back/scene.jpg"):
        assert not [n for n in images[quiet].notes if n.startswith("no_face_in_body:")]
    (warning,) = [w for w in report.warnings if "show no face" in w or "shows no face" in w]
    assert warning.startswith("1 accepted front body photo shows no face: body/front/cup.jpg")


# -- exposure judged on the subject ---------------------------------------------------


@pytest.mark.parametrize("path", ORIGINALS, ids=name)
def test_a_headshot_on_a_white_studio_background_is_not_too_bright(path: Path) -> None:
    a = judged(on_white(load(path)))
    assert ReasonCode.TOO_BRIGHT not in codes(a), a.reasons()
    assert ReasonCode.TOO_DARK not in codes(a)


def test_the_white_backgrounds_are_blown_out_as_a_studio_would_have_them() -> None:
    # The cases above are real tests of the background allowance: most of each frame is
    # blown out, far past the limit for a photo without a face.
    shares = [judged(on_white(load(p))).measurements for p in ORIGINALS]
    blown = [m.clipped_fraction for m in shares if m is not None]
    assert sum(b > POLICY.max_clipped_fraction for b in blown) >= len(blown) // 2, blown


@pytest.mark.parametrize("path", ORIGINALS, ids=name)
def test_a_blown_out_face_is_still_too_bright(path: Path) -> None:
    a = judged(exposed(load(path), 3.0))
    assert ReasonCode.TOO_BRIGHT in codes(a)


@pytest.mark.parametrize("path", ORIGINALS, ids=name)
def test_an_underexposed_face_is_still_too_dark(path: Path) -> None:
    assert ReasonCode.TOO_DARK in codes(judged(exposed(load(path), 0.2)))


@pytest.mark.parametrize("path", ORIGINALS, ids=name)
def test_a_face_in_shadow_against_a_bright_frame_is_too_dark(path: Path) -> None:
    assert ReasonCode.TOO_DARK in codes(judged(backlit(load(path), 0.15)))


@pytest.mark.parametrize("path", TUNE[:2], ids=name)
def test_a_photo_beside_a_copy_enlarged_from_it_is_the_copy_kept(
    path: Path, tmp_path: Path
) -> None:
    # The enlarged copy has more pixels than the photo, but only the detail of a 250 px
    # copy: keeping it (and rejecting it as upscaled) would lose the picture.
    original = load(path)
    copy = enlarged(original, 250, 5.0, "lanczos")
    assert min(copy.shape[:2]) > 1.2 * min(original.shape[:2])
    (tmp_path / "face").mkdir()
    (tmp_path / "face" / "original.jpg").write_bytes(jpeg(original))
    (tmp_path / "face" / "original_big.jpg").write_bytes(jpeg(copy))
    report = preflight(tmp_path, policy=POLICY)
    verdicts = {i.path: i for i in report.images}
    assert verdicts["face/original.jpg"].accepted, verdicts["face/original.jpg"].reasons
    big = verdicts["face/original_big.jpg"]
    assert big.duplicate_of == "face/original.jpg"
    assert ReasonCode.UPSCALED in {r.code for r in big.reasons}


def test_of_two_native_copies_the_one_passing_the_face_size_check_is_kept(
    tmp_path: Path,
) -> None:
    # Neither copy is enlarged; the smaller one (at a higher JPEG quality) has a face just
    # too small for a training crop. Keeping it would reject the picture.
    rgb = load(TUNE[0])
    side = max(main_face(rgb).box[2:])
    need = POLICY.face_crop_side / (1 + 2 * POLICY.face_crop_margin)
    big = resized(rgb, round(min(rgb.shape[:2]) * (need + 7) / side))
    small = resized(rgb, round(min(rgb.shape[:2]) * (need - 2) / side))
    (tmp_path / "face").mkdir()
    (tmp_path / "face" / "a.jpg").write_bytes(jpeg(big, 85))
    (tmp_path / "face" / "b.jpg").write_bytes(jpeg(small, 97))
    report = preflight(tmp_path, policy=POLICY)
    assert ReasonCode.FACE_TOO_SMALL in report.image("face/b.jpg").codes
    assert report.image("face/a.jpg").accepted, report.image("face/a.jpg").reasons
    assert report.image("face/b.jpg").duplicate_of == "face/a.jpg"


# -- black and white ---------------------------------------------------------------------

MONOCHROME = POLICY.monochrome_saturation


def saturation(a: ImageAnalysis) -> float:
    assert a.measurements is not None and a.measurements.saturation is not None
    return a.measurements.saturation


@pytest.mark.parametrize("path", ORIGINALS + SMALL, ids=name)
def test_black_and_white_is_told_from_colour(path: Path) -> None:
    rgb = load(path)
    if path.stem in BLACK_AND_WHITE:
        # Over- or under-exposed, a black-and-white print is still one.
        for photo in (rgb, exposed(rgb, 3.0), exposed(rgb, 0.2)):
            assert saturation(judged(photo)) < MONOCHROME
    else:
        assert saturation(judged(rgb)) >= 1.5 * MONOCHROME  # colour: well clear of it
        # Muted colour (half the saturation), a dark or a bright copy, and the person on
        # a white studio background are colour.
        for photo in (drained(rgb, 0.5), exposed(rgb, 0.2), exposed(rgb, 3.0), on_white(rgb)):
            assert saturation(judged(photo)) >= MONOCHROME
    assert saturation(judged(grey(rgb))) < 3  # made grey, saved as an RGB JPEG
    one_channel = io.BytesIO()
    Image.fromarray(rgb).convert("L").save(one_channel, "JPEG", quality=90)
    assert saturation(analyze_bytes(one_channel.getvalue(), "grey.jpg", POLICY)) == 0.0


@pytest.mark.parametrize("level", [8, 250])
def test_a_black_or_white_picture_has_no_saturation_to_judge(level: int) -> None:
    flat = np.full((600, 600, 3), level, dtype=np.uint8)
    a = judged(flat)
    assert a.measurements is not None and a.measurements.saturation is None


def test_a_black_and_white_photo_is_noted_and_warned_of(tmp_path: Path) -> None:
    (tmp_path / "face").mkdir()
    colour = load(TUNE[0])
    (tmp_path / "face" / "colour.jpg").write_bytes(jpeg(colour))
    (tmp_path / "face" / "grey.jpg").write_bytes(jpeg(grey(load(TUNE[3]))))
    report = preflight(tmp_path, policy=POLICY)
    images = {i.path: i for i in report.images}
    assert images["face/grey.jpg"].accepted, images["face/grey.jpg"].reasons  # noted only
    (note,) = [n for n in images["face/grey.jpg"].notes if n.startswith("monochrome:")]
    assert "black and white" in note and "saturation" in note
    assert images["face/grey.jpg"].metrics["saturation"] < 3
    assert images["face/colour.jpg"].metrics["saturation"] >= 1.5 * MONOCHROME
    assert not [n for n in images["face/colour.jpg"].notes if n.startswith("monochrome:")]
    (warning,) = [w for w in report.warnings if "black and white" in w]
    assert warning.startswith("1 accepted photo is black and white: face/grey.jpg;")
    # `monochrome_saturation = 0` never notes one.
    never = preflight(tmp_path, policy=POLICY.with_overrides({"monochrome_saturation": 0.0}))
    assert not any(n.startswith("monochrome:") for i in never.images for n in i.notes)
    assert not [w for w in never.warnings if "black and white" in w]


@pytest.mark.parametrize("path", [TUNE[0], TUNE[1], CHECK[1], CHECK[3]], ids=name)
def test_a_colour_figure_small_in_a_grey_frame_is_colour_by_its_face(
    tmp_path: Path, path: Path
) -> None:
    body = tmp_path / "body" / "front"
    body.mkdir(parents=True)
    figure = small_on_grey(load(path), 0.08)
    (body / "colour.jpg").write_bytes(jpeg(figure))
    (body / "grey.jpg").write_bytes(jpeg(grey(figure)))
    report = preflight(tmp_path, policy=POLICY)
    images = {i.path: i for i in report.images}
    colour, grey_one = images["body/front/colour.jpg"], images["body/front/grey.jpg"]
    # The frame alone measures grey; the face does not.
    assert colour.metrics["saturation"] < MONOCHROME
    assert colour.metrics["face_saturation"] > MONOCHROME  # type: ignore[operator]
    assert not [n for n in colour.notes if n.startswith("monochrome:")]
    (note,) = [n for n in grey_one.notes if n.startswith("monochrome:")]
    assert "black and white" in note
    assert grey_one.metrics["face_saturation"] < 3  # type: ignore[operator]


def _cast(rgb: np.ndarray, levels: int) -> np.ndarray:
    """A faint colour cast: red up, blue down by `levels`."""
    out = rgb.astype(np.int16)
    out[..., 0] += levels
    out[..., 2] -= levels
    return np.clip(out, 0, 255).astype(np.uint8)


def test_a_black_and_white_print_with_a_faint_cast_and_a_shaded_face_is_noted(
    tmp_path: Path,
) -> None:
    # Saturation reads stronger in darker pixels: a faint cast on a face darker than
    # its backdrop measures over the limit, yet far under any colour face.
    print_ = load(TUNE[2])
    assert TUNE[2].stem in BLACK_AND_WHITE
    (tmp_path / "face").mkdir()
    (tmp_path / "face" / "warm.jpg").write_bytes(jpeg(_cast(print_, 6)))
    (tmp_path / "face" / "shaded.jpg").write_bytes(jpeg(_cast(backlit(print_, 0.35), 3)))
    report = preflight(tmp_path, policy=POLICY)
    for image in report.images:
        face = image.metrics["face_saturation"]
        assert isinstance(face, float) and MONOCHROME < face < FACE_COLOUR
        (note,) = [n for n in image.notes if n.startswith("monochrome:")]
        assert f"its face {face:.1f}%, which counts from {FACE_COLOUR:g}%" in note


@pytest.mark.parametrize(
    ("thumb", "expected"),
    [
        (np.zeros((0, 0, 3), np.uint8), None),
        (np.zeros((20, 20), np.uint8), None),  # black, one channel
        (np.full((20, 20), 128, np.uint8), 0.0),  # grey, one channel
        (np.full((20, 20, 3), 250, np.uint8), None),  # white
        (np.dstack([np.full((20, 20), v, np.uint8) for v in (200, 100, 100)]), 50.0),
    ],
)
def test_saturation_level_of_plain_pictures(thumb: np.ndarray, expected: float | None) -> None:
    assert saturation_level(thumb) == expected
