"""onnxruntime sessions for the bundled models, created once per process.

Thread counts are deliberate: the pre-flight parallelises across processes, so in a worker
process a session uses one thread; alone in a process it uses every core, up to four
(`auto_threads`). ``set_default_threads`` or a ``threads`` argument overrides that.
A forked child never uses its parent's sessions: their thread pools did not survive the
fork, so it makes its own.
"""

from __future__ import annotations

import ctypes
import importlib
import importlib.resources
import multiprocessing
import os
import threading
from types import ModuleType
from typing import Any, Literal

from .errors import FacesUnavailableError
from .turns import one_at_a_time

ModelName = Literal["yunet", "sface"]
MODELS_PACKAGE = "animus_prep.models"
ALLOW_SPINNING = "session.intra_op.allow_spinning"
"""The session setting that lets pool threads busy-wait between runs (set to "0")."""

_lock = threading.Lock()
_sessions: dict[tuple[str, int], Any] = {}
# Sessions inherited over a fork: kept referenced, never destroyed, since destroying one
# would wait on thread-pool threads that exist only in the parent.
_inherited: list[Any] = []
_default_threads: int | None = None


def auto_threads() -> int:
    """One thread in a worker process (the pool spreads the work), every core (up to
    four) when running alone in a process."""
    if multiprocessing.parent_process() is not None:
        return 1
    return max(1, min(4, os.cpu_count() or 1))


def default_threads() -> int:
    """Threads for a session created without an explicit count."""
    return auto_threads() if _default_threads is None else _default_threads


def set_default_threads(threads: int | None) -> None:
    """Threads (intra-op) for sessions created from now on without an explicit count;
    None restores the automatic choice (`auto_threads`)."""
    global _default_threads
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    _default_threads = threads


def _forget_parent_sessions() -> None:
    global _lock
    _lock = threading.Lock()  # the parent may have held it while forking
    _inherited.extend(_sessions.values())
    _sessions.clear()


os.register_at_fork(after_in_child=_forget_parent_sessions)


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


def _supply_weights(options: Any, ort: ModuleType, name: ModelName) -> list[Any]:
    """`supply_weights` from the model's ``<name>.weights.npz``, when it has one."""
    try:
        package = importlib.resources.files(MODELS_PACKAGE)
        data = package.joinpath(f"{name}.weights.npz").read_bytes()
    except (FileNotFoundError, ModuleNotFoundError):  # no weights file (or no models)
        return []
    try:
        return supply_weights(options, ort, data)
    except ValueError as exc:
        raise FacesUnavailableError(
            f"face checks are unavailable: {name}.weights.npz is damaged ({exc})"
        ) from exc


def supply_weights(options: Any, ort: ModuleType, data: bytes) -> list[Any]:
    """Hand a session's options the float32 weights its graph keeps outside, made from
    the bytes of a weights file (see `faces.weights`; ValueError when it is not one).

    onnxruntime copies them in when the session is built: keep the values returned
    until then.
    """
    from .weights import unpack

    stored = unpack(data)
    names: list[str] = []
    values: list[Any] = []
    while stored:  # each int8 weight is let go once its float32 copy is made
        weight = stored.pop(0)
        names.append(weight.name)
        values.append(ort.OrtValue.ortvalue_from_numpy(weight.dequantized()))
    options.add_external_initializers(names, values)
    return values


def get_session(name: ModelName, threads: int | None = None) -> Any:
    """The process-wide ``onnxruntime.InferenceSession`` for ``name`` (created on first use)."""
    count = default_threads() if threads is None else threads
    if count < 1:
        raise ValueError(f"threads must be >= 1, got {count}")
    key = (name, count)
    with _lock:
        session = _sessions.get(key)
        if session is None:
            # The build's transient peak is several times what the session keeps: the
            # processes of this host take turns, so their peaks do not add up.
            with one_at_a_time():
                session = _build(name, count)
            _sessions[key] = session
    return session


def _build(name: ModelName, threads: int) -> Any:
    """A new session for ``name``, with the memory its build freed handed back."""
    ort = _onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only: no optimiser chatter on stderr
    # onnxruntime's pool threads busy-wait for work after each run by default. Between
    # runs this process decodes and measures, so a waiting thread takes a core from
    # that work: on 2 cores the pre-flight with two-thread sessions took 69-77 ms per
    # 12 MP photo spinning, 58-60 ms not (one thread, no pool: 64-67 ms either way).
    options.add_session_config_entry(ALLOW_SPINNING, "0")
    # No arena: it would keep each session's largest working memory for good (13 MB for
    # YuNet, 25 MB for SFace, in every process) to save a malloc per run (~2% of a run).
    # What runs free, callers hand back to the system with `release_freed_memory` (the
    # pre-flight's workers do, at most once a second: `inspection.work`).
    options.enable_cpu_mem_arena = False
    weights = _supply_weights(options, ort, name)
    data = model_bytes(name)
    try:
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own (Fail, InvalidGraph, ...)
        raise FacesUnavailableError(
            f"face checks are unavailable: model {name}.onnx cannot be loaded "
            f"({str(exc).strip() or type(exc).__name__})"
        ) from exc
    del weights, options, data  # the session has its own copies now
    release_freed_memory()
    return session


def release_freed_memory() -> bool:
    """Return the memory freed inside the C heap to the system (glibc's ``malloc_trim``).

    Building a session frees more than it keeps (SFace's: ~80 MB of float32 weights
    made and copied, and onnxruntime's own copies before it lays them out), and each run
    allocates its working memory afresh; glibc keeps freed pages, so without this every
    process that embeds a face would hold its high-water mark.
    Returns False where the C library has no ``malloc_trim`` (not glibc).
    """
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    trim(0)
    return True


def clear_sessions() -> None:
    """Drop the cached sessions (they are recreated on next use)."""
    with _lock:
        _sessions.clear()
