"""Open a capture of either format, and write one, by name.

``open_capture(source)`` looks at the first four bytes: a classic pcap magic
(either byte order, micro- or nanoseconds) gives a ``PcapReader``, the pcapng
section-header type a ``PcapngReader``; anything else is an
``UnknownFormatError``. Both readers stream: iterate them for ``Packet``\\ s,
read ``offset`` for progress, close them (or use ``with``). ``open_writer``
makes a ``PcapWriter`` or ``PcapngWriter``. This module parses nothing itself.

>>> import io
>>> buf = io.BytesIO()
>>> write_packets(buf, [Packet(1_500_000_000, b"\\x00" * 14, 14)])
1
>>> [(p.ts_ns, len(p.data)) for p in read_packets(buf.getvalue())]
[(1500000000, 14)]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

from ebpy.pcap.classic import MAGICS, PcapReader, PcapWriter
from ebpy.pcap.packet import LinkType, Packet, PcapError, TruncatedError, UnknownFormatError
from ebpy.pcap.pcapng import SHB_MAGIC, PcapngReader, PcapngWriter
from ebpy.pcap.stream import Source, Stream

CaptureReader = PcapReader | PcapngReader
CaptureWriter = PcapWriter | PcapngWriter

_READERS: dict[str, Callable[[Stream], CaptureReader]] = {
    "pcap": PcapReader,
    "pcapng": PcapngReader,
}
FORMATS = tuple(_READERS)
"""The formats read and written: ``pcap`` and ``pcapng``."""


def detect_format(head: bytes) -> str | None:
    """``"pcap"``, ``"pcapng"`` or None for the first bytes of a file.

    >>> detect_format(bytes.fromhex("d4c3b2a1")), detect_format(b"\\n\\r\\r\\n")
    ('pcap', 'pcapng')
    """
    if head[:4] in MAGICS:
        return "pcap"
    if head[:4] == SHB_MAGIC:
        return "pcapng"
    return None


def open_capture(source: Source) -> CaptureReader:
    """A streaming reader for the pcap or pcapng file ``source`` (path, bytes or binary file)."""
    stream = Stream(source)
    head = stream.peek(4)
    fmt = detect_format(head)
    if fmt is None:
        stream.close()
        err: PcapError = (
            TruncatedError("file header", 0, 4, len(head))
            if len(head) < 4
            else UnknownFormatError(head)
        )
        raise err.with_path(stream.path)
    return _READERS[fmt](stream)


def iter_packets(source: Source) -> Iterator[Packet]:
    """Every packet of ``source``, read as iterated; the file is closed at the end."""
    with open_capture(source) as reader:
        yield from reader


def read_packets(source: Source) -> list[Packet]:
    """Every packet of ``source`` as a list."""
    return list(iter_packets(source))


def open_writer(
    target: str | os.PathLike[str] | BinaryIO,
    fmt: str = "pcap",
    *,
    linktype: int = LinkType.ETHERNET,
    nanosecond: bool = False,
) -> CaptureWriter:
    """A writer of format ``fmt`` (``pcap``: one link type; ``pcapng``: any).

    Both are ready for ``write_frame`` of ``linktype`` packets (a pcapng writer
    declares interface 0 of that type) and ``write`` of ``Packet``\\ s.
    """
    if fmt == "pcap":
        return PcapWriter(target, linktype, nanosecond=nanosecond)
    if fmt == "pcapng":
        writer = PcapngWriter(target, nanosecond=nanosecond)
        writer.add_interface(linktype)
        return writer
    raise PcapError(f"unknown capture format {fmt!r} (known: {', '.join(FORMATS)})", 0)


def write_packets(
    target: str | os.PathLike[str] | BinaryIO,
    packets: Iterable[Packet],
    fmt: str = "pcap",
    *,
    nanosecond: bool = False,
) -> int:
    """Write ``packets`` to ``target``; returns how many. A pcap file takes the
    link type of the first packet (Ethernet when there is none)."""
    it = iter(packets)
    first = next(it, None)
    linktype = first.linktype if first is not None else LinkType.ETHERNET
    with open_writer(target, fmt, linktype=linktype, nanosecond=nanosecond) as writer:
        if first is not None:
            writer.write(first)
        for packet in it:
            writer.write(packet)
        return writer.count
