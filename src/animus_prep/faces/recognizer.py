"""SFace identity embeddings from faces aligned on their five landmarks."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .._opencv import cv2
from .identity import l2_normalize
from .runtime import get_session
from .types import Face

ALIGNED_SIZE = 112
#: ArcFace's 112x112 template for the five landmarks, in YuNet's order.
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)


def similarity_transform(
    src: npt.ArrayLike, dst: npt.ArrayLike = ARCFACE_TEMPLATE
) -> npt.NDArray[np.float64]:
    """2x3 least-squares similarity (rotation, uniform scale, shift) taking src to dst.

    Umeyama's closed form, without reflection.
    """
    s = np.asarray(src, dtype=np.float64).reshape(-1, 2)
    d = np.asarray(dst, dtype=np.float64).reshape(-1, 2)
    if s.shape != d.shape or s.shape[0] < 2:
        raise ValueError(f"need matching point sets of >= 2 points, got {s.shape} and {d.shape}")
    mu_s, mu_d = s.mean(axis=0), d.mean(axis=0)
    sc, dc = s - mu_s, d - mu_d
    var_s = float((sc**2).sum()) / len(s)
    if var_s == 0:
        raise ValueError("landmarks are all the same point")
    u, sig, vt = np.linalg.svd(dc.T @ sc / len(s))
    flip = np.diag([1.0, -1.0 if np.linalg.det(u) * np.linalg.det(vt) < 0 else 1.0])
    rot = u @ flip @ vt
    scale = float((sig * np.diag(flip)).sum()) / var_s
    matrix = np.empty((2, 3), dtype=np.float64)
    matrix[:, :2] = scale * rot
    matrix[:, 2] = mu_d - scale * rot @ mu_s
    return matrix


def align_face(rgb: npt.NDArray[np.uint8], face: Face) -> npt.NDArray[np.uint8]:
    """The 112x112 RGB crop with ``face``'s landmarks moved onto the ArcFace template."""
    matrix = similarity_transform(face.landmarks)
    out = cv2.warpAffine(
        rgb, matrix, (ALIGNED_SIZE, ALIGNED_SIZE), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0)
    )
    return np.asarray(out, dtype=np.uint8)


class SFaceEmbedder:
    """128-d SFace embeddings (L2-normalised float32) of faces found by YuNet."""

    def __init__(self, *, threads: int | None = None) -> None:
        self.threads = threads

    def embed(self, rgb: npt.NDArray[np.uint8], face: Face) -> npt.NDArray[np.float32]:
        """Embedding of ``face`` in ``rgb`` (H, W, 3) uint8, landmarks in ``rgb``'s pixels."""
        return l2_normalize(self.embed_unnormalised(rgb, face))

    def embed_unnormalised(self, rgb: npt.NDArray[np.uint8], face: Face) -> npt.NDArray[np.float32]:
        """The embedding as the model gives it, before L2 normalisation. Its length says
        how much the aligned crop looks like a face to the model: an upright face measured
        9.5-14.7 on the project's real photos, the same faces upside down (found by the
        detector, their landmarks placed as if upright) 5.0-7.7."""
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an RGB uint8 array (H, W, 3), got {rgb.dtype} {rgb.shape}")
        aligned = align_face(rgb, face)
        # SFace takes RGB, 0-255, NCHW; it subtracts 127.5 and scales by 1/128 itself.
        blob = aligned.transpose(2, 0, 1)[None].astype(np.float32)
        session = get_session("sface", self.threads)
        (out,) = session.run(["fc1"], {"data": blob})
        return np.asarray(out, dtype=np.float32).reshape(-1)
