"""Local stand-in for the Animus v2 API (like stripe-mock for Stripe).

    app = create_app(data_dir="state", api_keys={"sk-test": 100})
    with serve_in_thread(app) as base_url:   # "http://127.0.0.1:PORT/v2"
        ...

The whole contract is served under `/v2`; `/openapi.json` describes it. From the
command line: `animus-prep sandbox --port 0 --time-scale 60` (or
`python -m animus_prep.sandbox`). For synchronous in-process calls without sockets use
`httpx.Client(transport=SyncASGITransport(app), base_url="http://sandbox/v2")`.

Prices (credits, charged up front, never refunded): face augmentation 0.5 per face (the
contract's price), face LoRA 30, body LoRA 45, generation 1 per image; dataset renders
and regenerations are free. Jobs run on a clock sped up by `time_scale`; a share
`defect_rate` of dataset renders is flawed (see `Defect`, `injected_defects`); faults
are injected per `animus_prep.sandbox.faults`.
"""

from __future__ import annotations

from .app import close_app, create_app
from .defects import Defect
from .faults import ConnectionDropped, FaultSpecError, parse_faults
from .internals import injected_defects
from .server import serve_in_thread
from .settings import (
    PRICE_BODY_LORA,
    PRICE_DATASET_GENERATION,
    PRICE_FACE_AUGMENTATION,
    PRICE_FACE_LORA,
    PRICE_GENERATION_IMAGE,
)
from .transport import SyncASGITransport

__all__ = [
    "PRICE_BODY_LORA",
    "PRICE_DATASET_GENERATION",
    "PRICE_FACE_AUGMENTATION",
    "PRICE_FACE_LORA",
    "PRICE_GENERATION_IMAGE",
    "ConnectionDropped",
    "Defect",
    "FaultSpecError",
    "SyncASGITransport",
    "close_app",
    "create_app",
    "injected_defects",
    "parse_faults",
    "serve_in_thread",
]
