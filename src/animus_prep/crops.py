"""Square, face-centred training crops: of one image, or of every accepted face photo.

One crop rule everywhere: the square's side is the face's larger side times
1 + 2 * margin (the policy's `face_crop_margin`, the same margin the `face_too_small`
check assumes), shifted to stay inside the image, resized to `size` but never upscaled
unless asked. A square under the policy's `face_crop_side` source pixels is refused.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, PngImagePlugin

from .faces.crop import crop_box
from .faces.types import Face, FaceDetector
from .inspection.decode import DecodeFailure, decode_path, load_upright
from .inspection.discover import LayoutError, is_character_folder
from .inspection.faces import find_faces
from .inspection.pixels import normalized_rgb
from .inspection.run import ProgressCallback, preflight
from .policy import Policy, policy_or_default
from .reasons import Reason, ReasonCode

DEFAULT_CROP_SIZE = 1024
"""Side of a written crop in pixels: the resolution LoRA trainers train faces at."""


@dataclass(frozen=True, slots=True)
class CropResult:
    """A crop (or the reason there is none) and where it came from."""

    image: Image.Image | None
    """The crop, ``size`` px square (smaller if that would need upscaling); None if refused."""
    box: tuple[int, int, int, int]
    """left, top, right, bottom of the square in source pixels (right/bottom exclusive)."""
    reason: str | None = None
    """Why there is no image (no face, or the square would be too small), else None."""

    @property
    def side(self) -> int:
        """Side of the square in source pixels."""
        return self.box[2] - self.box[0]

    @property
    def ok(self) -> bool:
        """Whether a crop was made (else `reason` says why not)."""
        return self.image is not None


def crop_face(
    image: Image.Image | npt.NDArray[np.generic] | str | Path,
    face: Face | None = None,
    *,
    size: int = DEFAULT_CROP_SIZE,
    margin: float | None = None,
    allow_upscale: bool = False,
    min_side: int | None = None,
    detector: FaceDetector | None = None,
    policy: Policy | None = None,
) -> CropResult:
    """One square crop centred on `face` (found with the bundled detector when omitted).

    `margin` and `min_side` default to `policy`'s `face_crop_margin` and `face_crop_side`
    (the default policy's when none is given). When the square would be under `min_side`
    source pixels, no image is made and the result's `reason` says why. A path is first
    read as the pre-flight reads it (its size, memory and damage limits, `policy`'s): a
    file that is missing, not an image, damaged or too large gives no image and a
    `reason` naming the file and why, never a traceback. A path or a Pillow image is
    turned upright by its EXIF orientation; pixels are normalised as in the pre-flight
    (16-bit scaled to 8, alpha flattened on grey). Arrays must be uint8 or uint16,
    (H, W), (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA, with ``face`` in their pixels;
    anything else (or a `size` under 1, a negative `margin`) raises ValueError.
    """
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    defaults = policy_or_default(policy)
    margin = defaults.face_crop_margin if margin is None else margin
    min_side = defaults.face_crop_side if min_side is None else min_side
    if isinstance(image, str | Path):
        checked = decode_path(Path(image), defaults)
        if isinstance(checked, DecodeFailure):
            return CropResult(None, (0, 0, 0, 0), f"{image}: {checked.reason.message}")
        pil = load_upright(image)
    elif isinstance(image, Image.Image):
        pil = normalized_rgb(ImageOps.exif_transpose(image))
    else:
        pil = normalized_rgb(_array_image(image))
    if face is None:
        findings = find_faces(np.asarray(pil), 1.0, embed=False, policy=defaults, detector=detector)
        if findings.unavailable:
            return CropResult(None, (0, 0, 0, 0), findings.unavailable)
        if findings.main is None:
            return CropResult(None, (0, 0, 0, 0), "no face found")
        face = findings.main
    return _square(pil, face, size, margin, allow_upscale, min_side)


def _square(
    pil: Image.Image, face: Face, size: int, margin: float, allow_upscale: bool, min_side: int
) -> CropResult:
    """The crop of an upright RGB image (the rule in the module docstring)."""
    box = crop_box(pil.size, face, margin)
    side = box[2] - box[0]
    if side < min_side:
        return CropResult(
            None, box, f"face crop would be {side} px from the source, under {min_side} px"
        )
    square = pil.crop(box)
    target = size if allow_upscale else min(size, side)
    if target != side:
        square = square.resize((target, target), Image.Resampling.LANCZOS)
    return CropResult(square, box)


def _array_image(array: npt.NDArray[np.generic]) -> Image.Image:
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise ValueError(
            f"expected an image array (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got {a.shape}"
        )
    if a.dtype == np.uint16:
        a = (a.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    elif a.dtype != np.uint8:
        raise ValueError(f"expected uint8 or uint16 pixels, got {a.dtype}")
    return Image.fromarray(np.ascontiguousarray(a))


@dataclass(frozen=True, slots=True)
class CropOutcome:
    """What happened to one source photo."""

    source: str
    output: str | None
    box: tuple[int, int, int, int] | None
    size: int | None
    skipped: str | None
    """Why no crop was written (rejected by the pre-flight, or too small), else None."""
    reasons: tuple[Reason, ...] = ()
    """The same, as reasons with their stable codes (empty when a crop was written)."""

    def to_json(self) -> dict[str, object]:
        """One entry of `animus-prep crop --json`'s ``crops`` list."""
        return {
            "source": self.source,
            "output": self.output,
            "box": list(self.box) if self.box else None,
            "size": self.size,
            "skipped": self.skipped,
            "reasons": [r.to_json() for r in self.reasons],
        }


def crop_sources(
    sources: str | Path | Sequence[str | Path],
    out: str | Path,
    *,
    size: int = DEFAULT_CROP_SIZE,
    margin: float | None = None,
    allow_upscale: bool = False,
    policy: Policy | None = None,
    executor: Executor | None = None,
    progress: ProgressCallback | None = None,
) -> list[CropOutcome]:
    """Pre-flight each source (face photos), then write one crop per accepted photo.

    `margin` defaults to the policy's `face_crop_margin`, so the written crop is the one
    the `face_too_small` check judged. A character folder stands for its ``face/``
    folder. Crops keep their source's name (and folder, under a folder source). Two
    sources that would share a crop's name (``me.jpg`` and ``me.jpeg``, or ``x.jpg`` in
    two folders given as files) never overwrite each other: the later one is named
    ``me-2.jpg``. `sources` is one path or a sequence of them.
    """
    if isinstance(sources, str | Path):
        sources = [sources]
    problem = destination_problem(sources, out)
    if problem is not None:
        raise LayoutError(problem)
    policy = policy_or_default(policy).with_overrides({"faces": True})
    if margin is not None:
        policy = policy.with_overrides({"face_crop_margin": float(margin)})
    out_dir = Path(out)
    outcomes: list[CropOutcome] = []
    claimed: set[Path] = set()
    for src in sources:
        src_path = Path(src)
        if src_path.is_dir() and is_character_folder(src_path):
            src_path = src_path / "face"  # a character folder's face photos (body/ is not)
            if not src_path.is_dir():
                continue
        report = preflight(
            src_path, kind="face", policy=policy, executor=executor, progress=progress
        )
        prefix = src_path.name if len(sources) > 1 and src_path.is_dir() else ""
        for img in report.images:
            shown = f"{src_path.name}/{img.path}" if src_path.is_dir() else img.path
            if not img.accepted:
                codes = ", ".join(dict.fromkeys(r.code.value for r in img.reasons))
                outcomes.append(
                    CropOutcome(shown, None, None, None, f"rejected: {codes}", img.reasons)
                )
                continue
            if not img.faces:  # accepted face photos have a face; be safe all the same
                no_face = Reason(ReasonCode.NO_FACE, "no face found")
                outcomes.append(CropOutcome(shown, None, None, None, no_face.message, (no_face,)))
                continue
            path = src_path / img.path if src_path.is_dir() else src_path
            result = _square(
                load_upright(path),
                img.faces[0],
                size,
                policy.face_crop_margin,
                allow_upscale,
                policy.face_crop_side,
            )
            if result.image is None:
                small = Reason(
                    ReasonCode.FACE_TOO_SMALL,
                    result.reason or "face crop too small",
                    score=float(result.side),
                    threshold=float(policy.face_crop_side),
                )
                outcomes.append(CropOutcome(shown, None, result.box, None, result.reason, (small,)))
                continue
            rel = Path(prefix) / img.path if prefix else Path(img.path)
            target = _unclaimed(
                (out_dir / rel).with_suffix(".png" if img.format == "PNG" else ".jpg"), claimed
            )
            target.parent.mkdir(parents=True, exist_ok=True)
            _write_crop(result.image, target)
            outcomes.append(CropOutcome(shown, str(target), result.box, result.image.width, None))
    return outcomes


def destination_problem(sources: str | Path | Sequence[str | Path], out: str | Path) -> str | None:
    """Why crops of `sources` must not be written to `out` (None when they may).

    A crop is named after its photo: ``out/<path in its folder>``, or, with several
    sources, ``out/<folder name>/<path in its folder>``, and a photo given as a file goes
    to ``out/<its name>``. So `out` may not be a source folder (or inside one, where the
    crops would be judged as photos next time), nor, with several sources, the folder
    that holds one of them, nor the folder of a photo given as a file (a linked photo is
    written through the link: its target's folder counts too).
    """
    where = Path(out).resolve()
    listed = [sources] if isinstance(sources, str | Path) else list(sources)
    for src in listed:
        given = Path(src)
        if given.is_file():
            folders = {given.absolute().parent.resolve(), given.resolve().parent}
            clash = where in folders
        else:
            folder = given.resolve()
            clash = where.is_relative_to(folder) or (len(listed) > 1 and where == folder.parent)
        if clash:
            return (
                f"crops in {out} could overwrite the photos of {src}, or be judged as photos "
                "next time; write them to a folder outside it"
            )
    return None


CROP_MARK = "animus-prep crop"
"""Written in every crop (a JPEG comment, a PNG text chunk): a file in the output folder
that carries it is an earlier crop, which a rerun may replace; any other file is kept."""


def _unclaimed(target: Path, claimed: set[Path]) -> Path:
    """``target``, or ``<stem>-<n><suffix>`` beside it if this run already wrote that name,
    or a file that is not an earlier crop (a photo of the user's, a link) holds it."""
    candidate, n = target, 1
    while candidate in claimed or not _replaceable(candidate):
        n += 1
        candidate = target.with_name(f"{target.stem}-{n}{target.suffix}")
    claimed.add(candidate)
    return candidate


def _replaceable(path: Path) -> bool:
    """Whether a crop may be written at ``path``: nothing is there, or an earlier crop is
    (a plain file carrying `CROP_MARK`; never a link, which would be written through)."""
    if not os.path.lexists(path):
        return True
    if path.is_symlink() or not path.is_file():
        return False
    try:
        with Image.open(path) as img:
            mark = img.info.get("comment", img.info.get("Comment", b""))
    except (OSError, ValueError, Image.DecompressionBombError):
        return False
    if isinstance(mark, bytes):
        mark = mark.decode("utf-8", "replace")
    return bool(mark == CROP_MARK)


def _write_crop(image: Image.Image, target: Path) -> None:
    """Save a crop at ``target`` with `CROP_MARK`, through a temporary file renamed over
    it: an interrupted save leaves no half crop, and a link is replaced, never followed."""
    # Created as any new file is (0666 less the umask: readable by whoever reads the
    # folder), under a name no one else uses; `mkstemp` would make it private.
    temp = target.parent / f".crop-{secrets.token_hex(8)}{target.suffix}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            if target.suffix == ".png":
                info = PngImagePlugin.PngInfo()
                info.add_text("Comment", CROP_MARK)
                image.save(fh, "PNG", pnginfo=info)
            else:
                image.save(fh, "JPEG", quality=95, comment=CROP_MARK)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
