"""The synchronous client: performs the core's steps with ``httpx.Client``."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from . import _endpoints as ep
from . import _models as m
from . import _reconcile as rc
from . import _waiters as w
from ._bounds import bound_pools, send
from ._cancel import cancel_flow
from ._core import (
    DEFAULT_DEADLINE,
    DEFAULT_MAX_DOWNLOAD_BYTES,
    DEFAULT_MAX_JSON_BYTES,
    DEFAULT_TIMEOUT,
    Call,
    ClientCore,
    Flow,
    Sleep,
)
from ._retry import RetryPolicy, default_sleep
from ._uploads import UploadSource, upload_flow

__all__ = ["Client"]

T = TypeVar("T")


class Client:
    """Synchronous Animus v2 client.

    ``api_key`` and ``base_url`` default to ``ANIMUS_API_KEY`` and ``ANIMUS_BASE_URL``
    (then ``https://api.animusai.co/v2``). ``timeout`` bounds each network operation
    (connecting, every read and write), in seconds or an ``httpx.Timeout``; ``deadline``
    bounds a whole attempt, from connecting to the last byte of the answer (default
    300 s; None turns it off), so a server that drips its answer cannot hold a call.
    Answers are read up to ``max_json_bytes`` (16 MiB) and downloads up to
    ``max_download_bytes`` (64 MiB); a larger one is a ``ResponseTooLargeError``.
    ``max_retries`` counts retries after the first attempt (default 2);
    ``retry`` replaces the whole ``RetryPolicy`` (attempts, backoff, total-time bound).
    ``transport`` plugs in e.g. ``httpx.MockTransport`` or ``httpx.WSGITransport``
    (the deadline then holds between body chunks; an ``httpx.HTTPTransport`` keeps the
    full deadline); ``sleep`` and ``clock`` replace real waiting (see
    ``animus_prep.client.testing``). Use as a context manager, or call ``close()``.

    Namespaces: ``characters``, ``assets``, ``face_augmentation``, ``dataset``,
    ``training``, ``generation``.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        rng: random.Random | None = None,
        deadline: float | None = DEFAULT_DEADLINE,
        max_json_bytes: int = DEFAULT_MAX_JSON_BYTES,
        max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
    ) -> None:
        # The core validates the key before a connection pool exists to leak.
        self._core = ClientCore(
            api_key=api_key,
            base_url=base_url,
            max_retries=max_retries,
            retry=retry,
            clock=clock,
            rng=rng,
            deadline=deadline,
            max_json_bytes=max_json_bytes,
            max_download_bytes=max_download_bytes,
        )
        self._sleep = sleep or default_sleep
        self._http = httpx.Client(transport=transport, timeout=ClientCore.checked_timeout(timeout))
        bound_pools(self._http)
        self.characters = Characters(self)
        self.assets = Assets(self)
        self.face_augmentation = FaceAugmentation(self)
        self.dataset = Dataset(self)
        self.training = Training(self)
        self.generation = Generation(self)

    @property
    def base_url(self) -> str:
        """The API root every path is appended to."""
        return self._core.base_url

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry policy in force."""
        return self._core.retry

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def request(self, call: Call[T]) -> T:
        """Run one call with the retry policy."""
        return self._run(self._core.execute(call))

    def download(self, url: str) -> bytes:
        """The bytes at a ``view_url``, with retries; the key is sent only to the API's host."""
        return self.request(ep.download(url))

    def _run(self, flow: Flow[T]) -> T:
        try:
            step = next(flow)
            while True:
                if isinstance(step, Sleep):
                    self._sleep(step.seconds)
                    step = flow.send(None)
                    continue
                outcome = send(
                    self._http,
                    step.request,
                    max_bytes=step.max_bytes,
                    deadline=self._core.deadline,
                )
                step = flow.send(outcome)
        except StopIteration as stop:
            value: T = stop.value
            return value
        finally:
            flow.close()


class _Resource:
    def __init__(self, client: Client) -> None:
        self._client = client


class Characters(_Resource):
    """``/characters``: create, list, get, update, delete."""

    def create(self, name: str, description: str | None = None) -> m.Character:
        """Create a character shell."""
        return self._client.request(ep.create_character(name, description))

    def list(self, *, limit: int = 20, offset: int = 0) -> m.CharacterPage:
        """One page of characters."""
        return self._client.request(ep.list_characters(limit, offset))

    def iter(self, *, page_size: int = 100, offset: int = 0) -> Iterator[m.Character]:
        """Every character, fetching pages of ``page_size`` lazily."""
        next_at: int | None = offset
        while next_at is not None:
            page = self.list(limit=page_size, offset=next_at)
            yield from page.characters
            next_at = ep.next_offset(page, next_at)

    def get(self, character_id: str) -> m.Character:
        """One character."""
        return self._client.request(ep.get_character(character_id))

    def update(
        self, character_id: str, *, name: str | None = None, description: str | None = None
    ) -> m.Character:
        """Rename a character or change its description."""
        return self._client.request(ep.update_character(character_id, name, description))

    def delete(self, character_id: str) -> m.OperationResult:
        """Delete a character."""
        return self._client.request(ep.delete_character(character_id))


class Assets(_Resource):
    """Reference photos: ``/{id}/upload/...`` and ``/{id}/assets``."""

    def upload_face(
        self,
        character_id: str,
        source: UploadSource,
        *,
        filename: str | None = None,
        skip_existing: bool = False,
    ) -> m.UploadResult:
        """Upload a face photo (bytes need ``filename``) exactly once."""
        flow = upload_flow(
            self._client._core,
            character_id,
            ep.FACE_IMAGE,
            source,
            filename=filename,
            image_type=None,
            skip_existing=skip_existing,
        )
        return self._client._run(flow)

    def upload_body(
        self,
        character_id: str,
        source: UploadSource,
        *,
        image_type: str,
        filename: str | None = None,
        skip_existing: bool = False,
    ) -> m.UploadResult:
        """Upload a body photo, e.g. ``image_type="body_image_front"``, exactly once."""
        flow = upload_flow(
            self._client._core,
            character_id,
            ep.BODY_IMAGE,
            source,
            filename=filename,
            image_type=image_type,
            skip_existing=skip_existing,
        )
        return self._client._run(flow)

    def list(self, character_id: str, *, asset_type: str | None = None) -> m.AssetList:
        """Uploaded assets, optionally only ``face_image`` or ``body_image``."""
        return self._client.request(ep.list_assets(character_id, asset_type))


class FaceAugmentation(_Resource):
    """Optional face augmentation and its upload-job status."""

    def create(
        self, character_id: str, source_image_url: str, *, prompts: Sequence[str] | None = None
    ) -> m.FaceAugmentationJob:
        """Queue synthesized faces (charged up front)."""
        return self._client.request(ep.auto_generate_faces(character_id, source_image_url, prompts))

    def job_status(self, job_id: str) -> m.UploadJob:
        """Status of an upload job."""
        return self._client.request(ep.upload_job_status(job_id))

    def wait(
        self,
        job_id: str,
        *,
        timeout: float = 1800.0,
        interval: float = 10.0,
        on_progress: Callable[[m.UploadJob], object] | None = None,
    ) -> m.UploadJob:
        """Poll until the upload job finishes; WaitTimeoutError after ``timeout``."""
        options = w.WaitOptions(timeout, interval)
        return self._client._run(
            w.upload_job_flow(self._client._core, job_id, options, on_progress)
        )


class Dataset(_Resource):
    """``/{id}/dataset/...``: generate, review, approve."""

    def generate(
        self,
        character_id: str,
        *,
        use_default_prompts: bool | None = True,
        prompts: Sequence[str] | None = None,
    ) -> m.DatasetGeneration:
        """Start generating the training dataset (never twice after a lost answer)."""
        flow = rc.generate_dataset_flow(
            self._client._core, character_id, use_default_prompts, prompts
        )
        return self._client._run(flow)

    def status(self, character_id: str) -> m.DatasetStatus:
        """Dataset counts and flags."""
        return self._client.request(ep.dataset_status(character_id))

    def images(self, character_id: str, *, approved_only: bool = False) -> m.DatasetImageList:
        """Dataset images with prompts, seeds and view URLs."""
        return self._client.request(ep.dataset_images(character_id, approved_only))

    def approve_image(self, character_id: str, image_id: str) -> m.ImageApproval:
        """Approve one image."""
        return self._client.request(ep.set_image_approval(character_id, image_id, True))

    def reject_image(self, character_id: str, image_id: str) -> m.ImageApproval:
        """Reject one image."""
        return self._client.request(ep.set_image_approval(character_id, image_id, False))

    def regenerate_image(
        self,
        character_id: str,
        image_id: str,
        *,
        prompt: str | None = None,
        seed: int | None = None,
        last_seen: m.DatasetImage | None = None,
    ) -> m.RegenerateResult:
        """Re-render one image, optionally with a new prompt or seed.

        ``last_seen`` is the image as you saw it (from ``images()``): after a lost answer,
        a changed seed or file shows the regeneration happened, so it is not asked twice.
        Without it the image is read first.
        """
        flow = rc.regenerate_flow(
            self._client._core, character_id, image_id, prompt, seed, last_seen
        )
        return self._client._run(flow)

    def delete_image(self, character_id: str, image_id: str) -> m.OperationResult:
        """Delete one image."""
        return self._client.request(ep.delete_image(character_id, image_id))

    def approve(self, character_id: str) -> m.DatasetApproval:
        """Approve the dataset (ConflictError while images are pending review)."""
        return self._client._run(rc.approve_dataset_flow(self._client._core, character_id))

    def wait_until_generated(
        self,
        character_id: str,
        *,
        timeout: float = 3600.0,
        interval: float = 15.0,
        on_progress: Callable[[m.DatasetStatus], object] | None = None,
    ) -> m.DatasetStatus:
        """Poll until ``generation_complete``; WaitTimeoutError after ``timeout``."""
        flow = w.dataset_flow(
            self._client._core, character_id, w.WaitOptions(timeout, interval), on_progress
        )
        return self._client._run(flow)


class Training(_Resource):
    """``/{id}/training/...``: start, watch and cancel LoRA trainings."""

    def start_face_lora(self, character_id: str) -> m.TrainingStart:
        """Start the face LoRA training (charges credits; never twice after a lost answer)."""
        return self._client._run(rc.start_training_flow(self._client._core, character_id, "face"))

    def start_body_lora(self, character_id: str) -> m.TrainingStart:
        """Start the body LoRA training (charges credits; never twice after a lost answer)."""
        return self._client._run(rc.start_training_flow(self._client._core, character_id, "body"))

    def status(self, character_id: str) -> m.TrainingStatus:
        """Face and body training summaries."""
        return self._client.request(ep.training_status(character_id))

    def jobs(self, character_id: str) -> m.TrainingJobList:
        """Every training job of the character."""
        return self._client.request(ep.training_jobs(character_id))

    def logs(self, character_id: str, job_id: str, *, lines: int = 100) -> m.TrainingLogs:
        """Tail of a job's log."""
        return self._client.request(ep.training_logs(character_id, job_id, lines))

    def complete_status(self, character_id: str) -> m.CompleteStatus:
        """Whether the character can proceed to generation."""
        return self._client.request(ep.complete_status(character_id))

    def cancel(self, character_id: str, job_id: str) -> m.TrainingCancel:
        """Best-effort cancellation."""
        return self._client._run(cancel_flow(self._client._core, character_id, job_id))

    def wait(
        self,
        character_id: str,
        job_id: str,
        *,
        timeout: float = 7200.0,
        interval: float = 30.0,
        log_lines: int = 20,
        on_progress: Callable[[w.TrainingProgress], object] | None = None,
    ) -> w.TrainingProgress:
        """Poll until the job is terminal; progress carries phase, ETA and log tail."""
        options = w.WaitOptions(timeout, interval)
        flow = w.training_flow(
            self._client._core, character_id, job_id, options, on_progress, log_lines
        )
        return self._client._run(flow)


class Generation(_Resource):
    """Readiness and image generation."""

    def capabilities(self, character_id: str) -> m.Capabilities:
        """LoRA statuses and ``generation_ready``."""
        return self._client.request(ep.capabilities(character_id))

    def create(
        self,
        character_id: str,
        prompt: str,
        *,
        use_face_lora: bool = True,
        use_body_lora: bool = True,
        num_images: int = 1,
        seed: int | None = None,
        width: int | None = None,
        height: int | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> m.GenerationJob:
        """Queue a generation; ``extra`` adds fields the contract leaves open."""
        call = ep.create_generation(
            character_id,
            prompt,
            use_face_lora=use_face_lora,
            use_body_lora=use_body_lora,
            num_images=num_images,
            seed=seed,
            width=width,
            height=height,
            extra=extra,
        )
        return self._client.request(call)

    def status(self, generation_id: str) -> m.GenerationStatus:
        """Status, progress and result URLs of a generation."""
        return self._client.request(ep.generation_status(generation_id))

    def wait_until_ready(
        self,
        character_id: str,
        *,
        timeout: float = 1800.0,
        interval: float = 15.0,
        on_progress: Callable[[m.Capabilities], object] | None = None,
    ) -> m.Capabilities:
        """Poll until ``generation_ready`` (or a LoRA failed); WaitTimeoutError after timeout."""
        flow = w.readiness_flow(
            self._client._core, character_id, w.WaitOptions(timeout, interval), on_progress
        )
        return self._client._run(flow)

    def wait(
        self,
        generation_id: str,
        *,
        timeout: float = 600.0,
        interval: float = 5.0,
        on_progress: Callable[[m.GenerationStatus], object] | None = None,
    ) -> m.GenerationStatus:
        """Poll until the generation is terminal."""
        flow = w.generation_flow(
            self._client._core, generation_id, w.WaitOptions(timeout, interval), on_progress
        )
        return self._client._run(flow)
