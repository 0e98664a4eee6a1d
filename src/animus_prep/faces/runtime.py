"""onnxruntime sessions for the bundled models, created once per process.

Pre-flight parallelises across processes, so each session uses one thread unless told
otherwise (``set_default_threads`` or the ``threads`` argument).
"""

from __future__ import annotations

import importlib
import importlib.resources
import threading
from types import ModuleType
from typing import Any, Literal

from .errors import FacesUnavailableError

ModelName = Literal["yunet", "sface"]
MODELS_PACKAGE = "animus_prep.models"

_lock = threading.Lock()
_sessions: dict[tuple[str, int], Any] = {}
_default_threads = 1


def set_default_threads(threads: int) -> None:
    """Threads (intra-op) for sessions created from now on without an explicit count."""
    global _default_threads
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    _default_threads = threads


def _onnxruntime() -> ModuleType:
    try:
        return importlib.import_module("onnxruntime")
    except ImportError as exc:  # also covers a broken native library
        raise FacesUnavailableError(
            f"face checks are unavailable: onnxruntime cannot be imported ({exc}); "
            "install it with `pip install onnxruntime`"
        ) from exc


def model_bytes(name: ModelName) -> bytes:
    """The bundled ``<name>.onnx`` from the ``animus_prep.models`` package."""
    try:
        return importlib.resources.files(MODELS_PACKAGE).joinpath(f"{name}.onnx").read_bytes()
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        raise FacesUnavailableError(
            f"face checks are unavailable: model {name}.onnx is missing from {MODELS_PACKAGE}"
        ) from exc


def get_session(name: ModelName, threads: int | None = None) -> Any:
    """The process-wide ``onnxruntime.InferenceSession`` for ``name`` (created on first use)."""
    count = _default_threads if threads is None else threads
    if count < 1:
        raise ValueError(f"threads must be >= 1, got {count}")
    key = (name, count)
    with _lock:
        session = _sessions.get(key)
        if session is None:
            ort = _onnxruntime()
            options = ort.SessionOptions()
            options.intra_op_num_threads = count
            options.inter_op_num_threads = 1
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.log_severity_level = 3  # errors only: no optimiser chatter on stderr
            session = ort.InferenceSession(
                model_bytes(name), options, providers=["CPUExecutionProvider"]
            )
            _sessions[key] = session
    return session


def clear_sessions() -> None:
    """Drop the cached sessions (they are recreated on next use)."""
    with _lock:
        _sessions.clear()
