"""Classic pcap files (libpcap's savefile format): a streaming reader and a writer.

The file is a 24-byte global header (magic, version, time zone, accuracy,
snap length, link type) followed by records of a 16-byte header (seconds,
micro- or nanoseconds, captured length, original length) and the captured
bytes. The magic number gives both the byte order and the timestamp unit:
``a1b2c3d4`` microseconds, ``a1b23c4d`` nanoseconds, read in either byte
order. The modified format of Alexey Kuznetzov (``a1b2cd34``, 8 more bytes per
record) is read too. The link-type word may carry an FCS length in its top
bits (``fcs_len``); the packet bytes are returned as stored.

Like libpcap, a record longer than 262,144 bytes (or the file's snap length
if that is larger) is an error; records longer than the snap length are kept
whole. This module does not know pcapng (``ebpy.pcap.pcapng``) nor which
format a file is in (``ebpy.pcap.reader``).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

from ebpy.pcap.packet import Interface, LinkType, Packet, PcapError
from ebpy.pcap.stream import OutputFile, Source, Stream, StreamReader

MAX_SNAPLEN = 262_144
"""libpcap's largest snap length; records above it (and the snap length) are corrupt."""

_HARD_LIMIT = 1 << 24
_HEADER_SIZE = 24
_NS_PER_S = 1_000_000_000


class _Magic(NamedTuple):
    order: str  # "<" or ">"
    nanosecond: bool
    modified: bool


MAGICS: dict[bytes, _Magic] = {
    bytes.fromhex("d4c3b2a1"): _Magic("<", False, False),
    bytes.fromhex("a1b2c3d4"): _Magic(">", False, False),
    bytes.fromhex("4d3cb2a1"): _Magic("<", True, False),
    bytes.fromhex("a1b23c4d"): _Magic(">", True, False),
    bytes.fromhex("34cdb2a1"): _Magic("<", False, True),
    bytes.fromhex("a1b2cd34"): _Magic(">", False, True),
}
"""The first four bytes of a classic pcap file, as stored, and what they mean."""


class PcapReader(StreamReader):
    """Packets of a classic pcap file, read as they are iterated.

    The header is read on construction: ``byte_order`` (``"little"``/``"big"``),
    ``nanosecond``, ``version``, ``snaplen``, ``linktype``, ``fcs_len`` (bytes,
    or None), ``thiszone``. Iterating yields ``Packet``s once; ``offset`` is the
    file offset reached.
    """

    format = "pcap"

    def __init__(self, source: Source | Stream) -> None:
        super().__init__(source)
        try:
            self._read_header()
        except PcapError as exc:
            self._stream.close()
            raise exc.with_path(self._stream.path) from None

    def _read_header(self) -> None:
        s = self._stream
        head = s.take(_HEADER_SIZE, "pcap file header")
        magic = MAGICS.get(head[:4])
        if magic is None:
            raise PcapError(f"not a classic pcap file (magic {head[:4].hex()})", 0)
        order, self.nanosecond, self.modified = magic
        self.byte_order = "little" if order == "<" else "big"
        _, major, minor, self.thiszone, _sigfigs, snaplen, network = struct.unpack(
            order + "IHHiIII", head
        )
        if major < 2:
            raise PcapError(f"archaic pcap version {major}.{minor}", 4)
        self.version = (major, minor)
        self.snaplen = snaplen
        self.linktype = network & 0xFFFF
        self.fcs_len: int | None = ((network >> 28) & 0xF) * 2 if network & 0x04000000 else None
        self._limit = max(MAX_SNAPLEN, min(snaplen, _HARD_LIMIT))
        self._record = struct.Struct(order + ("IIIIIHBB" if self.modified else "IIII"))
        unit = "ns" if self.nanosecond else "us"
        self.interfaces = [Interface(self.linktype, snaplen, "", unit)]

    def _packets(self) -> Iterator[Packet]:
        s = self._stream
        unpack = self._record.unpack_from
        rsize = self._record.size
        mult = 1 if self.nanosecond else 1000
        linktype = self.linktype
        limit = self._limit
        new = tuple.__new__
        cls = Packet
        fill = s.fill
        while True:
            buf = s.buf
            pos = s.pos
            if pos + rsize > len(buf):
                if not fill(rsize, "record header"):
                    return
                buf = s.buf
                pos = s.pos
            sec, frac, incl, orig = unpack(buf, pos)[:4]
            if incl > limit:
                raise PcapError(
                    f"record captured length {incl} exceeds the maximum of {limit}", s.base + pos
                )
            end = pos + rsize + incl
            if end > len(buf):
                fill(rsize + incl, "record")
                buf = s.buf
                pos = s.pos
                end = pos + rsize + incl
            s.pos = end
            yield new(
                cls, (sec * _NS_PER_S + frac * mult, buf[pos + rsize : end], orig, linktype, 0)
            )


class PcapWriter(OutputFile):
    """Writes a classic pcap file: one link type, micro- or nanosecond timestamps.

    ``target`` is a path or a binary file; the header is written at once.
    ``write(packet)`` appends a ``Packet`` (its link type must be the file's);
    ``write_frame(data, ts_ns, orig_len)`` appends raw bytes.
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | BinaryIO,
        linktype: int = LinkType.ETHERNET,
        *,
        snaplen: int = MAX_SNAPLEN,
        nanosecond: bool = False,
        big_endian: bool = False,
    ) -> None:
        super().__init__(target)
        self.linktype = linktype
        self.snaplen = snaplen
        self.nanosecond = nanosecond
        order = ">" if big_endian else "<"
        self._record = struct.Struct(order + "IIII")
        self._div = 1 if nanosecond else 1000
        magic = 0xA1B23C4D if nanosecond else 0xA1B2C3D4
        header = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)
        self._put(header)

    def write_frame(self, data: bytes, ts_ns: int = 0, orig_len: int | None = None) -> None:
        """Append one record of ``data`` captured at ``ts_ns``."""
        sec, rest = divmod(ts_ns, _NS_PER_S)
        if not 0 <= sec <= 0xFFFFFFFF:
            raise PcapError(f"timestamp {ts_ns} ns does not fit a pcap record", self.offset)
        if len(data) > _HARD_LIMIT:
            raise PcapError(f"packet of {len(data)} bytes is too large", self.offset)
        wire = len(data) if orig_len is None else max(orig_len, len(data))
        self._put(self._record.pack(sec, rest // self._div, len(data), wire & 0xFFFFFFFF) + data)
        self.count += 1

    def write(self, packet: Packet) -> None:
        """Append ``packet``; ``PcapError`` if its link type is not the file's."""
        if packet.linktype != self.linktype:
            raise PcapError(
                f"packet of link type {packet.linktype} in a file of link type {self.linktype}",
                self.offset,
            )
        self.write_frame(packet.data, packet.ts_ns, packet.orig_len)
