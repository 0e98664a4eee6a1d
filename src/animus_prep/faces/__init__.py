"""The face models and their geometry: YuNet detection, SFace identity, crop squares.

A leaf of the package: nothing here imports the rest of animus_prep. How the pre-flight
uses these models lives in `animus_prep.inspection.faces`.
"""

from .crop import crop_box
from .detector import YuNetDetector
from .errors import FacesUnavailableError
from .identity import SAME_PERSON_COSINE, cosine
from .recognizer import SFaceEmbedder, align_face
from .runtime import clear_sessions, get_session, set_default_threads
from .types import LANDMARK_NAMES, Face, FaceDetector, FaceEmbedder

__all__ = [
    "LANDMARK_NAMES",
    "SAME_PERSON_COSINE",
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
    "get_session",
    "set_default_threads",
]
