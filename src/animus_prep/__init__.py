"""animus-prep: prepare characters for LoRA training on the Animus pipeline.

Pre-flight checks (`preflight`), face crops (`crop_face`), the HTML report
(`write_html_report`), the policy that applies to a folder (`effective_policy`) and the
Animus API client (`Client`, `AsyncClient`; resource models live in `animus_prep.client`).

The public names are loaded on first use, so ``import animus_prep.client`` (or the
sandbox) does not pay for OpenCV, onnxruntime and the image stack it does not need.
"""

import importlib as _importlib
import logging as _logging
import typing as _typing

# A library says nothing by itself: its log records reach only the handlers an
# application sets up (the command line sets up its own).
_logging.getLogger(__name__).addHandler(_logging.NullHandler())

__version__ = "0.1.0"

# Public name -> module that defines it.
_EXPORTS: dict[str, str] = {
    "preflight": "inspection.run",
    "Policy": "policy",
    "PolicyError": "policy",
    "Reason": "reasons",
    "ReasonCode": "reasons",
    "Report": "inspection.report",
    "ImageReport": "inspection.report",
    "SCHEMA": "inspection.report",
    "LayoutError": "inspection.discover",
    "UnusableReferenceError": "inspection.references",
    "Candidate": "inspection.discover",
    "discover": "inspection.discover",
    "DecodedImage": "inspection.decode",
    "DecodeFailure": "inspection.decode",
    "decode_bytes": "inspection.decode",
    "decode_path": "inspection.decode",
    "ImageAnalysis": "inspection.analysis",
    "analyze_bytes": "inspection.analysis",
    "crop_face": "crops",
    "crop_sources": "crops",
    "CropResult": "crops",
    "CropOutcome": "crops",
    "Face": "faces.types",
    "render_html_report": "htmlreport",
    "write_html_report": "htmlreport",
    "EffectivePolicy": "config",
    "effective_policy": "config",
    "Client": "client",
    "AsyncClient": "client",
    "RetryPolicy": "client",
    "AnimusError": "client",
    "APIError": "client",
    "APIStatusError": "client",
    "APIResponseValidationError": "client",
    "ResponseTooLargeError": "client",
    "APIConnectionError": "client",
    "APITimeoutError": "client",
    "AuthenticationError": "client",
    "BadRequestError": "client",
    "ClientConfigError": "client",
    "ConflictError": "client",
    "MissingAPIKeyError": "client",
    "NotFoundError": "client",
    "PaymentRequiredError": "client",
    "RateLimitError": "client",
    "ServerError": "client",
    "WaitTimeoutError": "client",
}

__all__ = [
    "SCHEMA",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
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
    "EffectivePolicy",
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
    "ResponseTooLargeError",
    "RetryPolicy",
    "ServerError",
    "UnusableReferenceError",
    "WaitTimeoutError",
    "__version__",
    "analyze_bytes",
    "crop_face",
    "crop_sources",
    "decode_bytes",
    "decode_path",
    "discover",
    "effective_policy",
    "preflight",
    "render_html_report",
    "write_html_report",
]

if _typing.TYPE_CHECKING:
    from .client import (
        AnimusError,
        APIConnectionError,
        APIError,
        APIResponseValidationError,
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
        ResponseTooLargeError,
        RetryPolicy,
        ServerError,
        WaitTimeoutError,
    )
    from .config import EffectivePolicy, effective_policy
    from .crops import CropOutcome, CropResult, crop_face, crop_sources
    from .faces.types import Face
    from .htmlreport import render_html_report, write_html_report
    from .inspection.analysis import ImageAnalysis, analyze_bytes
    from .inspection.decode import DecodedImage, DecodeFailure, decode_bytes, decode_path
    from .inspection.discover import Candidate, LayoutError, discover
    from .inspection.references import UnusableReferenceError
    from .inspection.report import SCHEMA, ImageReport, Report
    from .inspection.run import preflight
    from .policy import Policy, PolicyError
    from .reasons import Reason, ReasonCode


def __getattr__(name: str) -> _typing.Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
