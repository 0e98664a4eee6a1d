"""Normalised job states: the API's status strings vary by service, these do not."""

from __future__ import annotations

import enum

__all__ = ["Status", "normalize_status"]


class Status(enum.StrEnum):
    """What a raw status string means for a caller deciding whether to keep waiting."""

    ACTIVE = "active"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        """True once the job can no longer change (succeeded, failed or cancelled)."""
        return self in (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)


_TABLE: dict[str, Status] = {
    **dict.fromkeys(
        (
            "queued",
            "pending",
            "starting",
            "processing",
            "running",
            "training",
            "uploading",
            "generating",
        ),
        Status.ACTIVE,
    ),
    **dict.fromkeys(("completed", "succeeded", "success", "ready", "trained"), Status.SUCCEEDED),
    **dict.fromkeys(("failed", "error", "timeout"), Status.FAILED),
    **dict.fromkeys(("cancelled", "canceled"), Status.CANCELLED),
}


def normalize_status(raw: str | None) -> Status:
    """Map a raw status (any case, surrounding spaces) to a Status; new values are UNKNOWN."""
    if not isinstance(raw, str):
        return Status.UNKNOWN
    return _TABLE.get(raw.strip().lower(), Status.UNKNOWN)
