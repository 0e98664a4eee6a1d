"""The asynchronous client: performs the core's steps with ``httpx.AsyncClient``."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from . import _endpoints as ep
from . import _models as m
from . import _reconcile as rc
from . import _waiters as w
from ._bounds import send_async
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
from ._retry import RetryPolicy, default_async_sleep
from ._uploads import UploadSource, upload_flow

__all__ = ["AsyncClient"]

T = TypeVar("T")


class AsyncClient:
    """Asynchronous Animus v2 client; the same API as ``Client`` with awaitable methods.

    ``transport`` plugs in e.g. ``httpx.MockTransport`` or ``httpx.ASGITransport``;
    ``sleep`` must be an async callable. ``deadline`` ends an attempt wherever it is
    waiting (a cancel scope), whatever the transport. Use ``async with``, or ``await aclose()``.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
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
        self._sleep = sleep or default_async_sleep
        self._http = httpx.AsyncClient(
            transport=transport, timeout=ClientCore.checked_timeout(timeout)
        )
        self.characters = AsyncCharacters(self)
        self.assets = AsyncAssets(self)
        self.face_augmentation = AsyncFaceAugmentation(self)
        self.dataset = AsyncDataset(self)
        self.training = AsyncTraining(self)
        self.generation = AsyncGeneration(self)

    @property
    def base_url(self) -> str:
        """The API root every path is appended to."""
        return self._core.base_url

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry policy in force."""
        return self._core.retry

    def __repr__(self) -> str:
        return f"AsyncClient(base_url={self.base_url!r})"

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def close(self) -> None:
        """Alias of ``aclose()``."""
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def request(self, call: Call[T]) -> T:
        """Run one call with the retry policy."""
        return await self._run(self._core.execute(call))

    async def download(self, url: str) -> bytes:
        """The bytes at a ``view_url``, with retries; the key is sent only to the API's host."""
        return await self.request(ep.download(url))

    async def _run(self, flow: Flow[T]) -> T:
        try:
            step = next(flow)
            while True:
                if isinstance(step, Sleep):
                    await self._sleep(step.seconds)
                    step = flow.send(None)
                    continue
                outcome = await send_async(
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


class _AsyncResource:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client


class AsyncCharacters(_AsyncResource):
    """``/characters``: create, list, get, update, delete."""

    async def create(self, name: str, description: str | None = None) -> m.Character:
        """Create a character shell."""
        return await self._client.request(ep.create_character(name, description))

    async def list(self, *, limit: int = 20, offset: int = 0) -> m.CharacterPage:
        """One page of characters."""
        return await self._client.request(ep.list_characters(limit, offset))

    async def iter(self, *, page_size: int = 100, offset: int = 0) -> AsyncIterator[m.Character]:
        """Every character, fetching pages of ``page_size`` lazily."""
        next_at: int | None = offset
        while next_at is not None:
            page = await self.list(limit=page_size, offset=next_at)
            for character in page.characters:
                yield character
            next_at = ep.next_offset(page, next_at)

    async def get(self, character_id: str) -> m.Character:
        """One character."""
        return await self._client.request(ep.get_character(character_id))

    async def update(
        self, character_id: str, *, name: str | None = None, description: str | None = None
    ) -> m.Character:
        """Rename a character or change its description."""
        return await self._client.request(ep.update_character(character_id, name, description))

    async def delete(self, character_id: str) -> m.OperationResult:
        """Delete a character."""
        return await self._client.request(ep.delete_character(character_id))


class AsyncAssets(_AsyncResource):
    """Reference photos: ``/{id}/upload/...`` and ``/{id}/assets``."""

    async def upload_face(
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
        return await self._client._run(flow)

    async def upload_body(
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
        return await self._client._run(flow)

    async def list(self, character_id: str, *, asset_type: str | None = None) -> m.AssetList:
        """Uploaded assets, optionally only ``face_image`` or ``body_image``."""
        return await self._client.request(ep.list_assets(character_id, asset_type))


class AsyncFaceAugmentation(_AsyncResource):
    """Optional face augmentation and its upload-job status."""

    async def create(
        self, character_id: str, source_image_url: str, *, prompts: Sequence[str] | None = None
    ) -> m.FaceAugmentationJob:
        """Queue synthesized faces (charged up front)."""
        return await self._client.request(
            ep.auto_generate_faces(character_id, source_image_url, prompts)
        )

    async def job_status(self, job_id: str) -> m.UploadJob:
        """Status of an upload job."""
        return await self._client.request(ep.upload_job_status(job_id))

    async def wait(
        self,
        job_id: str,
        *,
        timeout: float = 1800.0,
        interval: float = 10.0,
        on_progress: Callable[[m.UploadJob], object] | None = None,
    ) -> m.UploadJob:
        """Poll until the upload job finishes; WaitTimeoutError after ``timeout``."""
        options = w.WaitOptions(timeout, interval)
        return await self._client._run(
            w.upload_job_flow(self._client._core, job_id, options, on_progress)
        )


class AsyncDataset(_AsyncResource):
    """``/{id}/dataset/...``: generate, review, approve."""

    async def generate(
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
        return await self._client._run(flow)

    async def status(self, character_id: str) -> m.DatasetStatus:
        """Dataset counts and flags."""
        return await self._client.request(ep.dataset_status(character_id))

    async def images(self, character_id: str, *, approved_only: bool = False) -> m.DatasetImageList:
        """Dataset images with prompts, seeds and view URLs."""
        return await self._client.request(ep.dataset_images(character_id, approved_only))

    async def approve_image(self, character_id: str, image_id: str) -> m.ImageApproval:
        """Approve one image."""
        return await self._client.request(ep.set_image_approval(character_id, image_id, True))

    async def reject_image(self, character_id: str, image_id: str) -> m.ImageApproval:
        """Reject one image."""
        return await self._client.request(ep.set_image_approval(character_id, image_id, False))

    async def regenerate_image(
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
        return await self._client._run(flow)

    async def delete_image(self, character_id: str, image_id: str) -> m.OperationResult:
        """Delete one image."""
        return await self._client.request(ep.delete_image(character_id, image_id))

    async def approve(self, character_id: str) -> m.DatasetApproval:
        """Approve the dataset (ConflictError while images are pending review)."""
        return await self._client._run(rc.approve_dataset_flow(self._client._core, character_id))

    async def wait_until_generated(
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
        return await self._client._run(flow)


class AsyncTraining(_AsyncResource):
    """``/{id}/training/...``: start, watch and cancel LoRA trainings."""

    async def start_face_lora(self, character_id: str) -> m.TrainingStart:
        """Start the face LoRA training (charges credits; never twice after a lost answer)."""
        flow = rc.start_training_flow(self._client._core, character_id, "face")
        return await self._client._run(flow)

    async def start_body_lora(self, character_id: str) -> m.TrainingStart:
        """Start the body LoRA training (charges credits; never twice after a lost answer)."""
        flow = rc.start_training_flow(self._client._core, character_id, "body")
        return await self._client._run(flow)

    async def status(self, character_id: str) -> m.TrainingStatus:
        """Face and body training summaries."""
        return await self._client.request(ep.training_status(character_id))

    async def jobs(self, character_id: str) -> m.TrainingJobList:
        """Every training job of the character."""
        return await self._client.request(ep.training_jobs(character_id))

    async def logs(self, character_id: str, job_id: str, *, lines: int = 100) -> m.TrainingLogs:
        """Tail of a job's log."""
        return await self._client.request(ep.training_logs(character_id, job_id, lines))

    async def complete_status(self, character_id: str) -> m.CompleteStatus:
        """Whether the character can proceed to generation."""
        return await self._client.request(ep.complete_status(character_id))

    async def cancel(self, character_id: str, job_id: str) -> m.TrainingCancel:
        """Best-effort cancellation."""
        return await self._client._run(cancel_flow(self._client._core, character_id, job_id))

    async def wait(
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
        return await self._client._run(flow)


class AsyncGeneration(_AsyncResource):
    """Readiness and image generation."""

    async def capabilities(self, character_id: str) -> m.Capabilities:
        """LoRA statuses and ``generation_ready``."""
        return await self._client.request(ep.capabilities(character_id))

    async def create(
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
        return await self._client.request(call)

    async def status(self, generation_id: str) -> m.GenerationStatus:
        """Status, progress and result URLs of a generation."""
        return await self._client.request(ep.generation_status(generation_id))

    async def wait_until_ready(
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
        return await self._client._run(flow)

    async def wait(
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
        return await self._client._run(flow)
