"""The `animus-prep` console script: the command, with Ctrl-C heard from the first moment.

Loading the command's modules (NumPy, OpenCV, the image stack) takes a noticeable
fraction of a second; a Ctrl-C in that window would otherwise end in Python's traceback
of the import under way. Only the standard library is loaded before the guard.
"""

from __future__ import annotations

import sys


def main() -> int:
    """Load and run the command; an interrupt while loading stops it like one after."""
    try:
        from .cli import main as command
    except KeyboardInterrupt:
        sys.stderr.write("\nanimus-prep: interrupted\n")
        return 130
    return command()
