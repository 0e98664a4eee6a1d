"""Per-file work on any `concurrent.futures.Executor`, streamed in batches.

A process pool, a thread pool or a dask.distributed cluster (`Client.get_executor()`)
all take the same tasks: module-level functions over small, picklable values (paths, not
pixels), whose results are small too (but for a small folder's packed verification
pixels, ~120 KB per photo, which its pair checks are sent back, and the ~45 KB features
of each photo a duplicate search verifies). Work is sent in batches (a task per file
would spend more on messaging than on small files) with a bounded number in flight, so
memory stays flat whatever the number of files, and results come back in input order.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import replace
from itertools import islice
from pathlib import Path
from time import monotonic as _clock
from typing import TypeVar

from ..faces.runtime import release_freed_memory
from ..policy import Policy
from .analysis import ImageAnalysis, analyze
from .dedup import PairVerdict, features_or_none, verify_mirrored, verify_pair
from .detail import known_features
from .discover import Candidate
from .features import Features
from .fingerprint import Fingerprint

T = TypeVar("T")
R = TypeVar("R")

IN_FLIGHT = 64
"""Batches submitted and not yet consumed, at most."""
RELEASE_EVERY = 1.0
"""Seconds, at least, between a worker's hand-backs of the memory its analyses freed."""
_released_at = -RELEASE_EVERY


def batch_size(n: int) -> int:
    """Items per task for `n` items: one for small jobs (progress stays smooth), more for
    many small files (so messaging does not dominate)."""
    return max(1, min(16, n // 256))


def stream(
    executor: Executor | None,
    fn: Callable[[Sequence[T]], list[R]],
    items: Iterable[T],
    size: int,
) -> Iterator[R]:
    """`fn` over `items`, `size` items per call, results in input order. Without an
    executor the calls run here, one after another."""
    it = iter(items)
    if executor is None:
        while chunk := list(islice(it, size)):
            yield from fn(chunk)
        return
    pending: deque[Future[list[R]]] = deque()
    try:
        while True:
            while len(pending) < IN_FLIGHT and (chunk := list(islice(it, size))):
                pending.append(executor.submit(fn, chunk))
            if not pending:
                return
            yield from pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


AnalyzeJob = tuple[Candidate, Policy, bool]
"""A file to analyse, the policy, and whether its fingerprint keeps its pixels packed."""


def analyze_batch(items: Sequence[AnalyzeJob]) -> list[ImageAnalysis]:
    """Worker task: analyse files (each read by its path)."""
    out = [analyze(candidate, policy, keep_packed=keep) for candidate, policy, keep in items]
    _release_now_and_then()
    return out


def _release_now_and_then() -> None:
    """Hand what the last tasks freed back to the system, at most every RELEASE_EVERY
    seconds. The face models allocate their working memory per run (see
    `faces.runtime`): without this a worker keeps its high-water mark. After every batch
    it would cost more than it saves: each file's working memory, handed back, must be
    faulted in again by the next (a burst of 400 photos spent 4 of its 46 CPU seconds so).
    """
    global _released_at
    now = _clock()
    if now - _released_at >= RELEASE_EVERY:
        release_freed_memory()
        _released_at = _clock()


def digest_batch(paths: Sequence[str]) -> list[str | None]:
    """Worker task: the sha256 of each file, or None when it cannot be read."""
    out: list[str | None] = []
    for path in paths:
        try:
            with Path(path).open("rb") as f:
                out.append(hashlib.file_digest(f, "sha256").hexdigest())
        except OSError:
            out.append(None)
    return out


VerifyJob = tuple[Fingerprint, tuple[Fingerprint, ...], float]
"""An image's fingerprint, its candidates' (nearest first), the similarity needed."""
VerifyResult = tuple[tuple[int, PairVerdict] | None, tuple[bytes | None, ...]]
"""The first candidate the image is a copy of (its position and the verdict), or None;
and, for the image and each candidate in turn, the packed features the task made of it
when it came without them (`features.Features.pack`; once per task), else None."""


def verify_batch(jobs: Sequence[VerifyJob]) -> list[VerifyResult]:
    """Worker task: for each job, the first candidate the image is a copy of, and the
    features made on the way (so no other worker makes them again). Each candidate is
    checked as the kept copy. Features made for one job serve the task's later jobs."""
    out: list[VerifyResult] = []
    made: dict[str, bytes] = {}
    returned: set[str] = set()
    for fp, candidates, min_similarity in jobs:
        fp = _with_made(fp, made)
        match = None
        for k, candidate in enumerate(candidates):
            candidate = _with_made(candidate, made)
            verdict = verify_pair(candidate, fp, min_similarity)
            _remember(candidate, made)
            _remember(fp, made)
            if verdict.duplicate:
                match = (k, verdict)
                break
        sent = (fp, *candidates)
        out.append((match, tuple(_made_here(p, made, returned) for p in sent)))
    _release_now_and_then()
    return out


MirrorJob = tuple[Fingerprint, Fingerprint, float]
"""A photo, another whose picture may be it flipped left to right, the similarity needed."""


def mirror_batch(jobs: Sequence[MirrorJob]) -> list[PairVerdict]:
    """Worker task: for each job, whether the second photo is the first one flipped
    (`dedup.verify_mirrored`)."""
    out = [verify_mirrored(a, b, min_similarity) for a, b, min_similarity in jobs]
    _release_now_and_then()
    return out


def _with_made(fp: Fingerprint, made: dict[str, bytes]) -> Fingerprint:
    """The fingerprint with the features this task made of it, when it came without."""
    if fp.features is None and fp.pixel_hash in made:
        return replace(fp, features=made[fp.pixel_hash])
    return fp


def _remember(fp: Fingerprint, made: dict[str, bytes]) -> None:
    """Keep, packed, the features this process just made of a fingerprint sent without."""
    if fp.features is not None or fp.pixel_hash in made:
        return
    packed = _packed(known_features(fp))
    if packed is not None:
        made[fp.pixel_hash] = packed


def _made_here(fp: Fingerprint, made: dict[str, bytes], returned: set[str]) -> bytes | None:
    """The packed features this task made of a fingerprint sent without them, once per
    task (`returned`: the pixel digests already given back)."""
    if fp.features is not None or fp.pixel_hash in returned or fp.pixel_hash not in made:
        return None
    returned.add(fp.pixel_hash)
    return made[fp.pixel_hash]


def features_batch(prints: Sequence[Fingerprint]) -> list[bytes | None]:
    """Worker task: each image's packed features, made ahead of its verifications (None
    where its pixels cannot be had, or it came with them)."""
    out = [None if fp.features is not None else _packed(features_or_none(fp)) for fp in prints]
    _release_now_and_then()
    return out


def _packed(found: Features | None) -> bytes | None:
    """Features packed to travel, or None (none, or pixels no verification could have
    made: nothing to send)."""
    if found is None:
        return None
    try:
        return found.pack()
    except ValueError:
        return None
