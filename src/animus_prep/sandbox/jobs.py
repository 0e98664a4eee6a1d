"""Clocked job state: a job's status is a pure function of the time since it started.

Nothing ticks in the background: status, progress, phase, ETA and log lines are computed
from `created_at`, the current time and the time scale. That makes jobs restart-safe
(a restarted sandbox computes the same state) and lets tests drive a fake clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Virtual seconds of each stage, as long as the vendor's runs roughly take.
TRAINING_PLAN: dict[str, tuple[float, float, float, int]] = {
    # kind: (queued, starting, training, steps)
    "face_lora": (20.0, 40.0, 900.0, 1000),
    "body_lora": (20.0, 60.0, 1500.0, 1500),
}
TRAINING_PHASES = ((0.1, "caching_latents"), (0.9, "training"), (1.01, "saving_weights"))
AUGMENT_QUEUE_SECONDS = 5.0
AUGMENT_SECONDS_PER_IMAGE = 6.0
GENERATION_QUEUE_SECONDS = 3.0
GENERATION_SECONDS_PER_IMAGE = 10.0
DATASET_FIRST_SECONDS = 8.0
DATASET_SECONDS_PER_IMAGE = 4.0
REGENERATE_SECONDS = 6.0

TERMINAL = frozenset({"succeeded", "failed", "cancelled", "completed"})
FAILURE_MESSAGES = (
    "CUDA out of memory while training the LoRA",
    "Training diverged: loss became NaN",
    "Worker preempted and the retry budget was exhausted",
)


@dataclass(frozen=True)
class TrainingState:
    """The view of a training job at one instant."""

    status: str
    progress: float
    phase: str
    eta_minutes: float | None
    speed: float | None
    started_at: float | None
    completed_at: float | None
    error: str | None
    logs: list[str] = field(default_factory=list)


def _stamp(seconds: float) -> str:
    s = int(seconds)
    return f"[{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}]"


def training_state(
    kind: str,
    created_at: float,
    now: float,
    time_scale: float,
    cancelled_at: float | None = None,
    fail_at: float | None = None,
    failure_message: str = FAILURE_MESSAGES[0],
) -> TrainingState:
    """State of a LoRA training job (`kind` is `face_lora` or `body_lora`).

    `fail_at` is the training fraction at which the job fails, or None when it succeeds.
    """
    queued, starting, training, steps = TRAINING_PLAN[kind]
    end_real = now if cancelled_at is None else min(now, cancelled_at)
    elapsed = max(0.0, (end_real - created_at) * time_scale)
    t_start = queued
    t_train = queued + starting
    t_fail = None if fail_at is None else t_train + training * fail_at
    t_done = t_train + training if t_fail is None else t_fail

    def real(virtual: float) -> float:
        return created_at + virtual / time_scale

    logs = [f"{_stamp(0)} job queued ({steps} steps)"]
    if elapsed >= t_start:
        logs.append(f"{_stamp(t_start)} starting: provisioning GPU worker")
    if elapsed >= t_train:
        logs.append(f"{_stamp(t_train)} training started")
    speed = steps / training
    trained = min(elapsed, t_done) - t_train
    if trained > 0:
        for step in range(100, int(trained * speed) + 1, 100):
            loss = 0.12 + 0.3 / (1 + step / 150)
            logs.append(f"{_stamp(t_train + step / speed)} step {step}/{steps} loss={loss:.4f}")
    progress = 0.0 if trained <= 0 else round(min(100.0, 100 * trained / training), 1)
    started = real(t_start) if elapsed >= t_start else None

    if elapsed >= t_done:
        if t_fail is not None:
            logs.append(f"{_stamp(t_fail)} ERROR {failure_message}")
            return TrainingState(
                "failed",
                progress,
                "failed",
                None,
                None,
                started,
                real(t_fail),
                failure_message,
                logs,
            )
        logs.append(f"{_stamp(t_done)} weights uploaded; training succeeded")
        return TrainingState(
            "succeeded", 100.0, "completed", 0.0, None, started, real(t_done), None, logs
        )
    remaining_real = (t_done - elapsed) / time_scale
    eta = round(remaining_real / 60, 2)
    if cancelled_at is not None and now >= cancelled_at:
        logs.append(f"{_stamp(elapsed)} cancelled by user")
        return TrainingState(
            "cancelled", progress, "cancelled", None, None, started, cancelled_at, None, logs
        )
    if elapsed < t_start:
        return TrainingState("queued", 0.0, "queued", eta, None, None, None, None, logs)
    if elapsed < t_train:
        return TrainingState("starting", 0.0, "provisioning", eta, None, started, None, None, logs)
    fraction = trained / training
    phase = next(name for limit, name in TRAINING_PHASES if fraction < limit)
    return TrainingState(
        "training", progress, phase, eta, round(speed, 3), started, None, None, logs
    )


@dataclass(frozen=True)
class BatchState:
    """State of a job that produces `total` images one after another."""

    status: str
    completed: int
    total: int
    progress: float
    finished_at: float | None


def batch_state(
    total: int, created_at: float, now: float, time_scale: float, queue: float, per_image: float
) -> BatchState:
    """State of a face augmentation or generation job of `total` images."""
    elapsed = max(0.0, (now - created_at) * time_scale)
    if elapsed < queue:
        return BatchState("queued", 0, total, 0.0, None)
    done = min(total, int((elapsed - queue) / per_image))
    if done >= total:
        finished = created_at + (queue + per_image * total) / time_scale
        return BatchState("completed", total, total, 100.0, finished)
    progress = round(100 * (elapsed - queue) / (per_image * total), 1)
    return BatchState("processing", done, total, progress, None)


def batch_duration(total: int, time_scale: float, queue: float, per_image: float) -> float:
    """Real seconds until a batch job completes."""
    return (queue + per_image * total) / time_scale
