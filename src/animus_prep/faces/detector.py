"""YuNet face detector on onnxruntime."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .._opencv import cv2
from . import yunet
from .runtime import get_session
from .types import Face

#: YuNet finds faces of roughly 10-300 px, so photos are analysed with this long side.
DEFAULT_LONG_SIDE = 640
#: How much longer (px) the long side is when `YuNetDetector.confirm` looks again.
CONFIRM_STEP = 160


def _as_rgb(image: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        return np.repeat(np.asarray(image, dtype=np.uint8)[:, :, None], 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 4:
        return np.ascontiguousarray(image[:, :, :3])
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB array of shape (H, W, 3), got {image.shape}")
    return np.asarray(image, dtype=np.uint8)


def shrink(rgb: npt.NDArray[np.uint8], width: int, height: int) -> npt.NDArray[np.uint8]:
    """Resize down to ``width`` x ``height`` without aliasing, quickly.

    OpenCV's area filter is fast only for whole-number factors, so reduce by the largest
    whole factor with it and finish with a bilinear step of less than 2x.
    """
    h, w = rgb.shape[:2]
    if (width, height) == (w, h):
        return rgb
    k = min(w // width, h // height)
    if k >= 2:
        area = cv2.resize(rgb, (w // k, h // k), interpolation=cv2.INTER_AREA)
        rgb = np.asarray(area, dtype=np.uint8)
    if rgb.shape[1] == width and rgb.shape[0] == height:
        return rgb
    return np.asarray(
        cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR), dtype=np.uint8
    )


def prepare(
    rgb: npt.NDArray[np.uint8], long_side: int = DEFAULT_LONG_SIDE
) -> tuple[npt.NDArray[np.float32], float, float]:
    """Network input (1, 3, H, W) BGR float32 0-255, zero-padded to multiples of 32.

    The image is shrunk (never enlarged) so its long side is at most ``long_side``.
    Returns the blob and the x and y factors from input pixels to blob pixels.
    """
    h, w = rgb.shape[:2]
    if h == 0 or w == 0:
        raise ValueError(f"empty image {w}x{h}")
    scale = min(1.0, long_side / max(h, w))
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    small = np.ascontiguousarray(shrink(rgb, nw, nh))
    pw = -(-nw // yunet.DIVISOR) * yunet.DIVISOR
    ph = -(-nh // yunet.DIVISOR) * yunet.DIVISOR
    blob = np.zeros((1, 3, ph, pw), np.float32)
    # YuNet was trained on OpenCV's BGR order: plane 0 is blue. Writing the split planes
    # into a zeroed blob pads and converts in one pass (cv2.dnn.blobFromImage plus
    # copyMakeBorder took ~4 ms at 640 px; this takes ~0.2 ms).
    for plane, channel in enumerate(reversed(cv2.split(small))):
        blob[0, plane, :nh, :nw] = channel
    return blob, nw / w, nh / h


class YuNetDetector:
    """Finds faces with YuNet: score threshold 0.6 and NMS IoU 0.3 by default (as OpenCV)."""

    def __init__(
        self,
        *,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
        top_k: int = 0,
        long_side: int = DEFAULT_LONG_SIDE,
        threads: int | None = None,
    ) -> None:
        if long_side < yunet.DIVISOR:
            raise ValueError(f"long_side must be >= {yunet.DIVISOR}, got {long_side}")
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.top_k = top_k
        self.long_side = long_side
        self.threads = threads

    def detect(
        self,
        rgb: npt.NDArray[np.uint8],
        *,
        scale_to: tuple[int, int] | None = None,
        to_full: float | None = None,
    ) -> list[Face]:
        """Faces in ``rgb`` (H, W, 3) uint8, best score first.

        Boxes and landmarks are in ``rgb``'s pixels, or, for a caller holding a reduced
        copy, in the pixels of a ``scale_to=(width, height)`` image or multiplied by
        ``to_full``. Boxes are not clipped to the image.
        """
        if scale_to is not None and to_full is not None:
            raise ValueError("give scale_to or to_full, not both")
        image = _as_rgb(rgb)
        h, w = image.shape[:2]
        blob, sx, sy = prepare(image, self.long_side)
        session = get_session("yunet", self.threads)
        names = [o.name for o in session.get_outputs()]
        outputs = dict(zip(names, session.run(names, {"input": blob}), strict=True))
        found = yunet.detect_faces(
            outputs,
            width=blob.shape[3],
            height=blob.shape[2],
            score_threshold=self.score_threshold,
            nms_threshold=self.nms_threshold,
            top_k=self.top_k,
        )
        fx, fy = 1.0 / sx, 1.0 / sy
        if scale_to is not None:
            fx, fy = fx * scale_to[0] / w, fy * scale_to[1] / h
        elif to_full is not None:
            fx, fy = fx * to_full, fy * to_full
        return [face.scaled(fx, fy) for face in found.to_faces()]

    def closer(self, long_side: int) -> YuNetDetector:
        """The same detector at another input size: a larger one finds smaller faces,
        at a cost that grows with its area."""
        return YuNetDetector(
            score_threshold=self.score_threshold,
            nms_threshold=self.nms_threshold,
            top_k=self.top_k,
            long_side=long_side,
            threads=self.threads,
        )

    def confirm(self, rgb: npt.NDArray[np.uint8], face: Face, *, min_score: float) -> bool:
        """Whether ``face`` (in ``rgb``'s pixels) is found again at a finer scale.

        The whole image is searched again with a long side `CONFIRM_STEP` px longer. A
        face is found again; a pattern that looked like one at this detector's scale (a
        floral blouse) usually is not. (A crop around it is no test: out of context, the
        pattern looks like a face at most scales.)
        """
        image = _as_rgb(rgb)
        finer = YuNetDetector(
            score_threshold=min_score,
            nms_threshold=self.nms_threshold,
            long_side=self.long_side + CONFIRM_STEP,
            threads=self.threads,
        )
        return any(float(yunet.iou(face.box, f.box)[0]) >= 0.3 for f in finer.detect(image))
