"""Bytes a report keeps but seldom reads, held in an unnamed temporary file.

Each photo's preview (a ~6 KB JPEG of its thumbnail) is two thirds of what a pre-flight
holds per photo, and only a visual report ever reads it. A folder of 10,000 photos would
keep ~50 MB of previews in memory for nothing; spooled, they cost a file on the temporary
disk, deleted as soon as the last report using it is gone (or the process ends). A
small folder's pre-flight keeps each photo's verification pixels there too, packed
(~100-120 KB each, 128 MB at most: see `run.PACKED_UP_TO`). Where the temporary
directory is a tmpfs, the file is in memory after all, outside any process's RSS.

A `SpooledBytes` reads its bytes back on demand; pickled (sent to another process, or by
dask), it travels as the plain bytes, so nothing depends on the file outside its process.
When the temporary file cannot be written, the bytes simply stay in memory.
"""

from __future__ import annotations

import tempfile
import threading
import weakref
from typing import IO


class BytesSpool:
    """An append-only temporary file of byte strings (safe to share between threads)."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._end = 0
        self._lock = threading.Lock()
        self._failed = False

    def keep(self, data: bytes) -> bytes | SpooledBytes:
        """`data` moved to the spool (or itself, when the spool cannot take it)."""
        if not data or self._failed:
            return data
        with self._lock:
            try:
                if self._file is None:
                    # Open as long as the spool lives. The file is closed by a finalizer
                    # that holds it, not by the spool's __del__: when the spool is freed
                    # with a reference cycle (an exception's traceback), the collector
                    # would finalize the open file first and report it left open.
                    self._file = tempfile.TemporaryFile(prefix="animus-prep-")  # noqa: SIM115
                    weakref.finalize(self, self._file.close)
                self._file.seek(self._end)
                self._file.write(data)
            except OSError:
                # No room or no temporary directory: memory still works.
                self._failed = True
                return data
            offset, self._end = self._end, self._end + len(data)
        return SpooledBytes(self, offset, len(data))

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._end

    def read(self, offset: int, length: int) -> bytes:
        with self._lock:
            if self._file is None:
                raise ValueError("nothing was spooled")
            self._file.flush()
            self._file.seek(offset)
            data = self._file.read(length)
        if len(data) != length:
            raise OSError(f"the spool file lost bytes at {offset} (read {len(data)} of {length})")
        return data


class SpooledBytes:
    """Bytes kept in a `BytesSpool`: `bytes(x)` reads them back."""

    __slots__ = ("_length", "_offset", "_spool")

    def __init__(self, spool: BytesSpool, offset: int, length: int) -> None:
        self._spool = spool
        self._offset = offset
        self._length = length

    def __bytes__(self) -> bytes:
        return self._spool.read(self._offset, self._length)

    def __len__(self) -> int:
        return self._length

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SpooledBytes | bytes):
            return bytes(self) == bytes(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(bytes(self))

    def __reduce__(self) -> tuple[type[bytes], tuple[bytes]]:
        # Another process cannot read this one's temporary file: send the bytes.
        return (bytes, (bytes(self),))

    def __repr__(self) -> str:
        return f"<{self._length} spooled bytes>"
