"""Square, face-centred training crops of accepted face photos."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .decode import load_upright, normalized_rgb
from .discover import is_character_folder
from .faces.crop import CropResult
from .faces.crop import crop_face as _crop_around
from .faces.findings import find_faces
from .faces.types import Face, FaceDetector
from .policy import Policy
from .preflight import ProgressCallback, preflight


def crop_face(
    image: Image.Image | np.ndarray | str | Path,
    face: Face | None = None,
    *,
    size: int = 1024,
    margin: float = 0.6,
    allow_upscale: bool = False,
    min_side: int = 512,
    detector: FaceDetector | None = None,
) -> CropResult:
    """One square crop centred on `face` (found with the bundled detector when omitted).

    The square's side is the face's larger side times 1 + 2 * margin, shifted to stay
    inside the image; it is resized to `size` but never upscaled unless `allow_upscale`.
    When the square would be under `min_side` source pixels, no image is made and the
    result's `reason` says why. A path or a Pillow image is turned upright by its EXIF
    orientation; pixels are normalised as in the pre-flight (16-bit scaled to 8, alpha
    flattened on grey). Arrays must be uint8 or uint16, (H, W), (H, W, 1), (H, W, 3) RGB
    or (H, W, 4) RGBA; anything else raises ValueError.
    """
    if isinstance(image, str | Path):
        pil = load_upright(image)
    elif isinstance(image, Image.Image):
        pil = normalized_rgb(ImageOps.exif_transpose(image))
    else:
        pil = normalized_rgb(_array_image(image))
    if face is None:
        rgb = np.asarray(pil)
        findings = find_faces(rgb, 1.0, embed=False, policy=Policy(), detector=detector)
        if findings.unavailable:
            return CropResult(None, (0, 0, 0, 0), findings.unavailable)
        if findings.main is None:
            return CropResult(None, (0, 0, 0, 0), "no face found")
        face = findings.main
    return _crop_around(
        pil, face, size=size, margin=margin, allow_upscale=allow_upscale, min_side=min_side
    )


def _array_image(array: np.ndarray) -> Image.Image:
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

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "output": self.output,
            "box": list(self.box) if self.box else None,
            "size": self.size,
            "skipped": self.skipped,
        }


def crop_sources(
    sources: Sequence[str | Path],
    out: str | Path,
    *,
    size: int = 1024,
    margin: float = 0.6,
    allow_upscale: bool = False,
    policy: Policy | None = None,
    executor: Executor | None = None,
    progress: ProgressCallback | None = None,
) -> list[CropOutcome]:
    """Pre-flight each source (face photos), then write one crop per accepted photo.

    A character folder stands for its ``face/`` folder. Crops keep their source's name
    (and folder, under a folder source). Two sources that would share a crop's name
    (``me.jpg`` and ``me.jpeg``, or ``x.jpg`` in two folders given as files) never
    overwrite each other: the later one is named ``me-2.jpg``.
    """
    policy = (policy or Policy()).with_overrides({"faces": True})
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
                outcomes.append(CropOutcome(shown, None, None, None, f"rejected: {codes}"))
                continue
            if not img.faces:  # accepted face photos have a face; be safe all the same
                outcomes.append(CropOutcome(shown, None, None, None, "no face found"))
                continue
            face = img.faces[0]
            path = src_path / img.path if src_path.is_dir() else src_path
            result = _crop_around(
                load_upright(path),
                face,
                size=size,
                margin=margin,
                allow_upscale=allow_upscale,
                min_side=policy.face_crop_side,
            )
            if result.image is None:
                outcomes.append(CropOutcome(shown, None, result.box, None, result.reason))
                continue
            rel = Path(prefix) / img.path if prefix else Path(img.path)
            target = _unclaimed(
                (out_dir / rel).with_suffix(".png" if img.format == "PNG" else ".jpg"), claimed
            )
            target.parent.mkdir(parents=True, exist_ok=True)
            result.image.save(target, quality=95)
            outcomes.append(CropOutcome(shown, str(target), result.box, result.image.width, None))
    return outcomes


def _unclaimed(target: Path, claimed: set[Path]) -> Path:
    """``target``, or ``<stem>-<n><suffix>`` beside it if this run already wrote that name."""
    candidate, n = target, 1
    while candidate in claimed:
        n += 1
        candidate = target.with_name(f"{target.stem}-{n}{target.suffix}")
    claimed.add(candidate)
    return candidate
