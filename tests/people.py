"""Real photos of real people (tests/data/people) and the defects a trainer must not get.

Thresholds were chosen on `TUNE` only; `CHECK` is held out. Every defect is made here,
from the photos, by a named function: nothing derived is stored.
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

from animus_prep.faces import Face, YuNetDetector

DATA = Path(__file__).resolve().parent / "data" / "people"
FACES = Path(__file__).resolve().parent / "faces" / "data"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "sources"

TUNE = (
    DATA / "tune" / "obama_oval_office.jpg",
    DATA / "tune" / "biden_blue_room.jpg",
    DATA / "tune" / "studio_grey_bw.jpg",
    FACES / "person_a_2.jpg",
    FACES / "person_b_2.jpg",
    FACES / "impostor_1.jpg",
)
CHECK = (
    DATA / "check" / "obama_blue_room.jpg",
    DATA / "check" / "hopper_navy.jpg",
    DATA / "check" / "giunchedi_foliage.jpg",
    DATA / "check" / "henner_bokeh.jpg",
)
# Small or cropped photos: sources for enlargements only (too small to stand as originals).
SMALL = (DATA / "check" / "freckles_light.jpg", DATA / "check" / "luispedro_web.jpg")

BLACK_AND_WHITE = frozenset({"studio_grey_bw"})
"""Stems of the photos that are black and white (a print, its background slightly toned)."""

FILTERS = {
    "lanczos": cv2.INTER_LANCZOS4,
    "bicubic": cv2.INTER_CUBIC,
    "bilinear": cv2.INTER_LINEAR,
}


def load(path: Path) -> np.ndarray:
    """The photo upright, as RGB uint8."""
    with Image.open(path) as img:
        return np.asarray(ImageOps.exif_transpose(img).convert("RGB"))


def jpeg(rgb: np.ndarray, quality: int = 92) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=quality)
    return out.getvalue()


def saved_again(rgb: np.ndarray, quality: int, fmt: str = "JPEG") -> bytes:
    """The photo saved at JPEG ``quality``, then saved again from that file: as a JPEG at
    quality 90 (a download from a messaging app, saved again), or as a PNG."""
    with Image.open(io.BytesIO(jpeg(rgb, quality))) as first:
        pixels = np.asarray(first.convert("RGB"))
    out = io.BytesIO()
    if fmt == "JPEG":
        Image.fromarray(pixels).save(out, "JPEG", quality=90)
    else:
        Image.fromarray(pixels).save(out, fmt)
    return out.getvalue()


def resized(rgb: np.ndarray, short: int, interpolation: int | None = None) -> np.ndarray:
    """``rgb`` with its shorter side at ``short`` px (area-averaged when shrinking)."""
    h, w = rgb.shape[:2]
    f = short / min(h, w)
    if interpolation is None:
        interpolation = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return np.ascontiguousarray(cv2.resize(rgb, size, interpolation=interpolation))


def enlarged(rgb: np.ndarray, source_short: int, factor: float, filt: str) -> np.ndarray:
    """A web-sized copy of the photo (shorter side ``source_short``), enlarged again."""
    small = resized(rgb, source_short)
    return resized(small, round(source_short * factor), FILTERS[filt])


def noise_reduced(rgb: np.ndarray) -> np.ndarray:
    """What a phone's noise reduction does: edges kept, fine texture smoothed."""
    return np.ascontiguousarray(cv2.bilateralFilter(rgb, 7, 40, 5))


_DETECTOR = YuNetDetector()


def main_face(rgb: np.ndarray) -> Face:
    faces = _DETECTOR.detect(rgb)
    assert faces, "the corpus photos all show a face"
    return max(faces, key=lambda f: f.box[2] * f.box[3])


def has_face(rgb: np.ndarray) -> bool:
    """Whether the detector finds a face at the policy's confidence floor."""
    return any(f.score >= 0.6 for f in _DETECTOR.detect(rgb))


def _face_mask(rgb: np.ndarray, face: Face, grow: float) -> np.ndarray:
    """A soft elliptical mask (0-1) over the face (brows to chin, cheek to cheek, from
    the five landmarks), grown by ``grow``."""
    points = np.array(face.landmarks)
    eyes = float(np.hypot(*(points[1] - points[0])))
    cx, cy = points.mean(axis=0)
    ax, ay = 0.95 * eyes * grow, 1.15 * eyes * grow
    mask = np.zeros(rgb.shape[:2], np.float32)
    cv2.ellipse(mask, (round(cx), round(cy)), (round(ax), round(ay)), 0, 0, 360, 1.0, -1)
    feather = max(1.0, 0.08 * (ax + ay))
    return cv2.GaussianBlur(mask, (0, 0), feather)[:, :, None]


def soft_face(rgb: np.ndarray, sigma: float) -> np.ndarray:
    """The face itself blurred (focus missed it, or the head moved); hair, clothes and the
    background stay sharp."""
    mask = _face_mask(rgb, main_face(rgb), 1.25)
    soft = cv2.GaussianBlur(rgb, (0, 0), sigma).astype(np.float32)
    return (soft * mask + rgb.astype(np.float32) * (1 - mask)).astype(np.uint8)


def on_white(rgb: np.ndarray) -> np.ndarray:
    """The person cut out (GrabCut around the head and shoulders) onto pure white: a
    studio headshot on a white background."""
    face = main_face(rgb)
    h, w = rgb.shape[:2]
    f = 320 / max(h, w)
    small = cv2.resize(rgb, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
    x, y, fw, fh = (v * f for v in face.box)
    sh, sw = small.shape[:2]
    top = max(1, int(y - 0.5 * fh))
    left = max(1, int(x - 0.9 * fw))
    rect = (left, top, min(sw - left - 1, int(2.8 * fw)), sh - top - 1)
    mask = np.zeros((sh, sw), np.uint8)
    bg, fg = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.grabCut(
        cv2.cvtColor(small, cv2.COLOR_RGB2BGR), mask, rect, bg, fg, 4, cv2.GC_INIT_WITH_RECT
    )
    person = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.float32)
    person = cv2.resize(person, (w, h), interpolation=cv2.INTER_LINEAR)
    person = np.maximum(person, _face_mask(rgb, face, 1.2)[:, :, 0])  # never cut the face
    person = cv2.GaussianBlur(person, (0, 0), 1.5)[:, :, None]
    return (rgb * person + 255.0 * (1 - person)).astype(np.uint8)


def exposed(rgb: np.ndarray, gain: float) -> np.ndarray:
    """The whole photo under- (gain < 1) or over-exposed (gain > 1, clipping at white)."""
    return np.clip(rgb.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def backlit(rgb: np.ndarray, gain: float) -> np.ndarray:
    """The face in shadow (``gain`` < 1) against a properly exposed rest of the frame."""
    mask = _face_mask(rgb, main_face(rgb), 1.4)
    dark = rgb.astype(np.float32) * gain
    return (dark * mask + rgb.astype(np.float32) * (1 - mask)).astype(np.uint8)


def cut(rgb: np.ndarray, where: str) -> np.ndarray:
    """The photo with its frame cut through the face: just under the eyes (``eyes``), at
    the nose tip (``nose``), or through the nose from the side (``half``)."""
    face = main_face(rgb)
    (_, ry), (_, ly), (nx, ny) = face.landmarks[:3]
    if where == "eyes":
        return rgb[int((ry + ly) / 2) + 10 :]
    if where == "nose":
        return rgb[: int(ny)]
    return rgb[:, int(nx) :]


_SIDES = {"tb": "tb", "t": "t", "b": "b", "lr": "lr", "all": "tblr"}


def bars(rgb: np.ndarray, share: float, colour: int, edges: str) -> np.ndarray:
    """The photo with flat bars of ``colour`` added along ``edges``: ``tb`` top and bottom
    (letterboxing), ``lr`` left and right (pillarboxing), ``all`` (a mount), ``t`` the
    top alone. Each bar is ``share`` of the photo's height (top, bottom) or width (left,
    right); a mount's, of its shorter side."""
    h, w = rgb.shape[:2]
    across = round({"tb": h, "t": h, "lr": w}.get(edges, min(h, w)) * share)
    sides = _SIDES[edges]
    pad = (
        (across if "t" in sides else 0, across if "b" in sides else 0),
        (across if "l" in sides else 0, across if "r" in sides else 0),
        (0, 0),
    )
    return np.pad(rgb, pad, constant_values=colour)


def captioned(rgb: np.ndarray, share: float, colour: int, edge: str) -> np.ndarray:
    """The photo with a flat bar of ``colour`` along the top (``t``) or bottom (``b``),
    ``share`` of its height, with a caption written across its middle in the opposite
    colour (a screenshot's user name, a repost's hashtags)."""
    h = rgb.shape[0]
    across = round(h * share)
    pad = ((across, 0) if edge == "t" else (0, across), (0, 0), (0, 0))
    img = Image.fromarray(np.pad(rgb, pad, constant_values=colour))
    draw = ImageDraw.Draw(img)
    size = max(8, across * 2 // 5)
    top = (across - size) // 2 if edge == "t" else h + (across - size) // 2
    ink = 255 - colour
    draw.text(
        (img.width // 20, top),
        "@someone  #tbt  #throwback",
        font=ImageFont.load_default(size=size),
        fill=(ink, ink, ink),
    )
    return np.asarray(img)


def contrasting(rgb: np.ndarray, edges: str) -> int:
    """Black or white, whichever stands out more against the photo's outermost pixels
    along ``edges`` (as in `bars`)."""
    grey = rgb.mean(axis=2)
    outer = {"t": grey[:2], "b": grey[-2:], "l": grey[:, :2], "r": grey[:, -2:]}
    edge = np.concatenate([outer[side].ravel() for side in _SIDES[edges]])
    return 0 if float(edge.mean()) >= 128 else 255


def grey(rgb: np.ndarray) -> np.ndarray:
    """The photo made black and white (kept as three channels, as an RGB JPEG holds it)."""
    return np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)


def drained(rgb: np.ndarray, saturation: float) -> np.ndarray:
    """The photo with its colour scaled towards grey (Pillow's ImageEnhance.Color)."""
    return np.asarray(ImageEnhance.Color(Image.fromarray(rgb)).enhance(saturation))


def small_on_grey(rgb: np.ndarray, share: float) -> np.ndarray:
    """The photo standing small (`share` of the frame) at the foot of a flat grey canvas,
    as a full-length shot on a grey studio backdrop."""
    canvas = np.full((1800, 2400, 3), 128, np.uint8)
    f = float(np.sqrt(share * canvas.shape[0] * canvas.shape[1] / (rgb.shape[0] * rgb.shape[1])))
    w, h = round(rgb.shape[1] * f), round(rgb.shape[0] * f)
    left = (canvas.shape[1] - w) // 2
    canvas[-h:, left : left + w] = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
    return canvas
