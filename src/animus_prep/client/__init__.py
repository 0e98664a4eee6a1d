"""Typed sync and async client for the Animus v2 character pipeline API.

    with Client() as client:                      # ANIMUS_API_KEY from the environment
        character = client.characters.create("Chloe")
        client.assets.upload_face(character.character_id, "photos/chloe-1.jpg")

The operations follow the Animus v2 API contract one for one (`_endpoints` builds each
request); the sandbox (`animus_prep.sandbox`) serves the same contract offline.
"""

from ._async import AsyncClient
from ._core import DEFAULT_BASE_URL, Call
from ._exceptions import (
    AnimusError,
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientConfigError,
    ConflictError,
    MissingAPIKeyError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitError,
    ResponseTooLargeError,
    ServerError,
    WaitTimeoutError,
)
from ._models import (
    Asset,
    AssetList,
    Capabilities,
    Character,
    CharacterPage,
    CompleteStatus,
    DatasetApproval,
    DatasetGeneration,
    DatasetImage,
    DatasetImageList,
    DatasetStatus,
    FaceAugmentationJob,
    GenerationJob,
    GenerationStatus,
    ImageApproval,
    LoraState,
    OperationResult,
    Pagination,
    RegenerateResult,
    TrainingCancel,
    TrainingJob,
    TrainingJobList,
    TrainingLogs,
    TrainingStart,
    TrainingStatus,
    UploadJob,
    UploadResult,
)
from ._parse import Model, StatusModel
from ._retry import RetryPolicy, is_transient, parse_retry_after
from ._status import Status, normalize_status
from ._sync import Client
from ._uploads import UploadSource, content_filename, find_asset, upload_idempotency_key
from ._waiters import TrainingProgress

__all__ = [
    "DEFAULT_BASE_URL",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AnimusError",
    "Asset",
    "AssetList",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Call",
    "Capabilities",
    "Character",
    "CharacterPage",
    "Client",
    "ClientConfigError",
    "CompleteStatus",
    "ConflictError",
    "DatasetApproval",
    "DatasetGeneration",
    "DatasetImage",
    "DatasetImageList",
    "DatasetStatus",
    "FaceAugmentationJob",
    "GenerationJob",
    "GenerationStatus",
    "ImageApproval",
    "LoraState",
    "MissingAPIKeyError",
    "Model",
    "NotFoundError",
    "OperationResult",
    "Pagination",
    "PaymentRequiredError",
    "RateLimitError",
    "RegenerateResult",
    "ResponseTooLargeError",
    "RetryPolicy",
    "ServerError",
    "Status",
    "StatusModel",
    "TrainingCancel",
    "TrainingJob",
    "TrainingJobList",
    "TrainingLogs",
    "TrainingProgress",
    "TrainingStart",
    "TrainingStatus",
    "UploadJob",
    "UploadResult",
    "UploadSource",
    "WaitTimeoutError",
    "content_filename",
    "find_asset",
    "is_transient",
    "normalize_status",
    "parse_retry_after",
    "upload_idempotency_key",
]
