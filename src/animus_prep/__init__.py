"""animus-prep: prepare characters for LoRA training on the Animus pipeline.

Pre-flight checks (`preflight`), face crops (`crop_face`) and the Animus API client
(`Client`, `AsyncClient`; resource models live in `animus_prep.client`).
"""

from .analysis import ImageAnalysis, analyze_bytes
from .client import (
    AnimusError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    ClientConfigError,
    ConflictError,
    MissingAPIKeyError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    WaitTimeoutError,
)
from .cropping import CropOutcome, crop_face, crop_sources
from .decode import DecodedImage, DecodeFailure, decode_bytes, decode_path
from .discover import Candidate, LayoutError, discover
from .faces import CropResult, Face
from .policy import Policy, PolicyError
from .preflight import preflight
from .reasons import Reason, ReasonCode
from .report import SCHEMA, ImageReport, Report

__version__ = "0.1.0"

__all__ = [
    "SCHEMA",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AnimusError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Candidate",
    "Client",
    "ClientConfigError",
    "ConflictError",
    "CropOutcome",
    "CropResult",
    "DecodeFailure",
    "DecodedImage",
    "Face",
    "ImageAnalysis",
    "ImageReport",
    "LayoutError",
    "MissingAPIKeyError",
    "NotFoundError",
    "PaymentRequiredError",
    "Policy",
    "PolicyError",
    "RateLimitError",
    "Reason",
    "ReasonCode",
    "Report",
    "RetryPolicy",
    "ServerError",
    "WaitTimeoutError",
    "__version__",
    "analyze_bytes",
    "crop_face",
    "crop_sources",
    "decode_bytes",
    "decode_path",
    "discover",
    "preflight",
]
