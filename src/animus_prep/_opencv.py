"""OpenCV, imported the first time one of its names is used.

OpenCV holds ~37 MB resident once imported. A pre-flight's parent process only discovers
files and assembles the report from the small results its workers send back: it never
touches pixels, so it need not hold OpenCV at all. The modules that work on pixels take
`cv2` from here; the real module is imported on first use (in the worker processes, or
in a process that analyses files itself), and each name is looked up there only once.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any


class DeferredModule:
    """A module's names, looked up (and the module imported) on first use."""

    def __init__(self, name: str) -> None:
        self._deferred_name = name

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        value = getattr(importlib.import_module(self._deferred_name), attr)
        # Module names do not change: later uses are a plain attribute lookup.
        setattr(self, attr, value)
        return value

    def __repr__(self) -> str:
        return f"<deferred module {self._deferred_name!r}>"


if TYPE_CHECKING:
    import cv2 as cv2
else:
    cv2 = DeferredModule("cv2")

__all__ = ["DeferredModule", "cv2"]
