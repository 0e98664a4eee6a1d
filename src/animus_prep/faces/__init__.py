"""Face detection (YuNet), identity embeddings (SFace) and face crops."""

from .crop import CropResult, crop_box, crop_face
from .detector import YuNetDetector
from .errors import FacesUnavailableError
from .recognizer import SAME_PERSON_COSINE, SFaceEmbedder, align_face, cosine
from .runtime import clear_sessions, get_session, set_default_threads
from .types import LANDMARK_NAMES, Face, FaceDetector, FaceEmbedder

__all__ = [
    "LANDMARK_NAMES",
    "SAME_PERSON_COSINE",
    "CropResult",
    "Face",
    "FaceDetector",
    "FaceEmbedder",
    "FacesUnavailableError",
    "SFaceEmbedder",
    "YuNetDetector",
    "align_face",
    "clear_sessions",
    "cosine",
    "crop_box",
    "crop_face",
    "get_session",
    "set_default_threads",
]
