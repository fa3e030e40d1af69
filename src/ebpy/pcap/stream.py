"""Big-chunk reading of a capture with the absolute byte offset kept at hand.

A ``Stream`` holds the bytes read so far that are not consumed yet (``buf``
from ``pos`` on) and the file offset of ``buf[0]`` (``base``). Readers parse
straight out of ``buf`` with ``struct.Struct.unpack_from`` and call ``fill``
only when a record runs past the end of what is buffered, so a file is read
in a few large ``read`` calls, never one per packet. ``fill`` raises
``TruncatedError`` (with the offset) when the file ends inside a structure.

``StreamReader`` and ``OutputFile`` are the common bases of the format readers
and writers (the stream or output file, the offset, closing, ``with``).

This module knows no capture format; it does not parse anything.
"""

from __future__ import annotations

import contextlib
import io
import os
from abc import abstractmethod
from collections.abc import Iterator
from typing import BinaryIO

from ebpy.closing import Closing
from ebpy.pcap.packet import Packet, PcapError, TruncatedError

CHUNK = 1 << 20
"""Bytes asked of the file per read."""

Source = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO
"""What readers accept: a path, the file's bytes, or an open binary file."""


class Stream:
    """Unconsumed bytes of a capture and where they sit in the file."""

    __slots__ = ("_file", "_owned", "base", "buf", "path", "pos")

    def __init__(self, source: Source) -> None:
        self.path = ""
        self._owned = False
        self.buf = b""
        self.pos = 0
        self.base = 0
        if isinstance(source, bytes | bytearray | memoryview):
            self.buf = bytes(source)
            self._file: BinaryIO | None = None
        elif isinstance(source, str | os.PathLike):
            self.path = os.fsdecode(source)
            try:
                self._file = open(self.path, "rb", buffering=0)  # noqa: SIM115 (closed by close())
            except OSError as exc:
                raise PcapError(exc.strerror or str(exc), 0, self.path) from exc
            self._owned = True
        else:
            self._file = source
            self.path = str(getattr(source, "name", "") or "")

    @property
    def offset(self) -> int:
        """File offset of the next unconsumed byte."""
        return self.base + self.pos

    def available(self) -> int:
        return len(self.buf) - self.pos

    def fill(self, n: int, what: str) -> bool:
        """Make at least ``n`` bytes available from ``pos``.

        Returns False at a clean end of file (nothing left at all); raises
        ``TruncatedError`` when the file ends after some but fewer than ``n`` bytes.
        """
        avail = len(self.buf) - self.pos
        if avail >= n:
            return True
        parts = [self.buf[self.pos :]] if avail else []
        self.base += self.pos
        self.pos = 0
        while avail < n and self._file is not None:
            try:
                chunk = self._file.read(max(CHUNK, n - avail))
            except OSError as exc:
                raise PcapError(exc.strerror or str(exc), self.base + avail, self.path) from exc
            if not chunk:
                break
            parts.append(chunk)
            avail += len(chunk)
        self.buf = b"".join(parts)
        if avail >= n:
            return True
        if avail == 0:
            return False
        raise TruncatedError(what, self.base, n, avail)

    def take(self, n: int, what: str) -> bytes:
        """The next ``n`` bytes, consumed; ``TruncatedError`` if the file has fewer."""
        if not self.fill(n, what):
            raise TruncatedError(what, self.offset, n, 0)
        start = self.pos
        self.pos = start + n
        return self.buf[start : self.pos]

    def peek(self, n: int) -> bytes:
        """Up to ``n`` next bytes, not consumed (fewer at the end of the file)."""
        with contextlib.suppress(TruncatedError):
            self.fill(n, "")
        return self.buf[self.pos : self.pos + n]

    def close(self) -> None:
        if self._owned and self._file is not None:
            self._file.close()
        self._file = None


def open_output(target: str | os.PathLike[str] | BinaryIO) -> tuple[BinaryIO, bool]:
    """A binary file to write to, and whether the caller owns (must close) it."""
    if isinstance(target, str | os.PathLike):
        path = os.fsdecode(target)
        try:
            return open(path, "wb"), True
        except OSError as exc:
            raise PcapError(exc.strerror or str(exc), 0, path) from exc
    if isinstance(target, io.TextIOBase):
        raise PcapError("output must be a binary file", 0)
    return target, False


class StreamReader(Closing):
    """Base of the capture readers: a ``Stream`` iterated once into ``Packet``s.

    Subclasses parse in ``_packets``; an error raised there gets the file's path.
    """

    def __init__(self, source: Source | Stream) -> None:
        self._stream = source if isinstance(source, Stream) else Stream(source)

    @property
    def path(self) -> str:
        """The file's path ("" when read from bytes or an unnamed file)."""
        return self._stream.path

    @property
    def offset(self) -> int:
        """File offset of the next record (block)."""
        return self._stream.offset

    def __iter__(self) -> Iterator[Packet]:
        try:
            yield from self._packets()
        except PcapError as exc:
            raise exc.with_path(self._stream.path) from None

    @abstractmethod
    def _packets(self) -> Iterator[Packet]:
        """The packets of the file, parsed (each format's reader)."""

    def close(self) -> None:
        self._stream.close()


class OutputFile(Closing):
    """Base of the capture writers: the output file, bytes written (``offset``), closing."""

    def __init__(self, target: str | os.PathLike[str] | BinaryIO) -> None:
        self._file, self._owned = open_output(target)
        self.offset = 0
        self.count = 0

    def _put(self, data: bytes) -> None:
        try:
            self._file.write(data)
        except OSError as exc:
            raise PcapError(exc.strerror or str(exc), self.offset) from exc
        self.offset += len(data)

    def close(self) -> None:
        """Close the file (flush it only, when the caller gave an open file)."""
        try:
            if self._owned:
                self._file.close()
            else:
                self._file.flush()
        except OSError as exc:
            raise PcapError(exc.strerror or str(exc), self.offset) from exc
