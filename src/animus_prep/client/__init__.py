"""Typed sync and async client for the Animus v2 character pipeline API.

    with Client() as client:                      # ANIMUS_API_KEY from the environment
        character = client.characters.create("Chloe")
        client.assets.upload_face(character.character_id, "photos/chloe-1.jpg")

See docs/animus-api.md for the contract this client follows.
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
    ConflictError,
    MissingAPIKeyError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitError,
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
from ._retry import RetryPolicy, parse_retry_after
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
    "normalize_status",
    "parse_retry_after",
    "upload_idempotency_key",
]
