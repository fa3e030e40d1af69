"""pcapng files: a streaming reader and a simple writer.

A pcapng file is a sequence of blocks, each ``type, total length, body,
total length`` (32-bit words, body padded to 4 bytes). A Section Header Block
(SHB, type ``0a0d0d0a``, the same in both byte orders) starts each section
and fixes its byte order through its byte-order magic ``1a2b3c4d``. Interface
Description Blocks (IDB) declare the section's interfaces: link type, snap
length and options, of which ``if_tsresol`` (timestamp unit: ``10^-n`` or
``2^-n`` seconds, default microseconds), ``if_tsoffset`` (seconds added) and
``if_name`` are used. Packets come in Enhanced Packet Blocks (EPB), Simple
Packet Blocks (SPB: interface 0, no timestamp, length from the block) and the
obsolete Packet Blocks (OPB, read like EPBs). Every other block (name
resolution, statistics, decryption secrets, custom ...) is skipped.

``Packet.interface`` is the file-wide index of the packet's IDB (in the order
the IDBs appear, counting across sections), so it stays unambiguous in files of
several sections. This module does not know classic pcap.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterator
from typing import BinaryIO, NamedTuple

from ebpy.pcap.packet import Interface, LinkType, Packet, PcapError
from ebpy.pcap.stream import OutputFile, Source, Stream, StreamReader

SHB = 0x0A0D0D0A
IDB = 1
OPB = 2
SPB = 3
EPB = 6
SHB_MAGIC = b"\x0a\x0d\x0d\x0a"
BYTE_ORDER_MAGIC = 0x1A2B3C4D
MAX_BLOCK = 1 << 24
"""Largest block accepted; a larger length is taken as corruption."""

_NS_PER_S = 1_000_000_000
_OPT_IF_NAME = 2
_OPT_IF_TSRESOL = 9
_OPT_IF_TSOFFSET = 14
_MIN_BLOCK = {SHB: 28, IDB: 20, OPB: 32, SPB: 16, EPB: 32}


class _Iface(NamedTuple):
    number: int  # file-wide index
    linktype: int
    snaplen: int
    mul: int
    div: int
    offset_ns: int


def _ts_unit(resol: int) -> tuple[int, str]:
    """Ticks per second and a label for an ``if_tsresol`` byte."""
    exp = resol & 0x7F
    if resol & 0x80:
        return 1 << exp, f"2^-{exp}"
    labels = {0: "s", 3: "ms", 6: "us", 9: "ns"}
    return 10**exp, labels.get(exp, f"10^-{exp}")


class PcapngReader(StreamReader):
    """Packets of a pcapng file, read as they are iterated.

    ``interfaces`` lists every IDB seen so far (``Interface``), ``sections`` counts
    SHBs, ``skipped`` counts blocks of other types; ``offset`` is the file offset reached.
    """

    format = "pcapng"

    def __init__(self, source: Source | Stream) -> None:
        super().__init__(source)
        self.interfaces: list[Interface] = []
        self.sections = 0
        self.skipped = 0
        self._section: list[_Iface] = []
        self._order = "<"
        self._hdr = struct.Struct("<II")
        self._u32 = struct.Struct("<I")
        self._epb = struct.Struct("<IIIII")
        head = self._stream.peek(4)
        if head != SHB_MAGIC:
            self._stream.close()
            raise PcapError(
                f"not a pcapng file (first block type {head.hex()})", 0, self._stream.path
            )
        self._handlers: dict[int, Callable[[bytes, int, int], Packet | None]] = {
            SHB: self._shb,
            IDB: self._idb,
            SPB: self._spb,
            OPB: self._opb,
        }

    @property
    def nanosecond(self) -> bool:
        """Some interface seen so far stamps finer than microseconds."""
        return any(i.ts_unit not in ("s", "ms", "us") for i in self.interfaces)

    def _error(self, reason: str, offset: int) -> PcapError:
        return PcapError(reason, self._stream.base + offset)

    def _packets(self) -> Iterator[Packet]:
        s = self._stream
        handlers = self._handlers
        while True:
            if not s.fill(8, "block header"):
                return
            buf, pos = s.buf, s.pos
            if buf[pos : pos + 4] == SHB_MAGIC:
                s.fill(12, "section header block")
                buf, pos = s.buf, s.pos
                self._set_order(buf, pos)
            btype, blen = self._hdr.unpack_from(buf, pos)
            if blen < _MIN_BLOCK.get(btype, 12) or blen % 4 or blen > MAX_BLOCK:
                raise self._error(f"bad length {blen} for a block of type {btype:#x}", pos)
            s.fill(blen, "block")
            buf, pos = s.buf, s.pos
            if self._u32.unpack_from(buf, pos + blen - 4)[0] != blen:
                raise self._error("block trailer length differs from its header", pos)
            s.pos = pos + blen
            if btype == EPB:
                ifid, hi, lo, caplen, orig = self._epb.unpack_from(buf, pos + 8)
                yield self._stamped(buf, pos, blen, ifid, (hi << 32) | lo, caplen, orig)
                continue
            handler = handlers.get(btype)
            if handler is None:
                self.skipped += 1
                continue
            packet = handler(buf, pos, blen)
            if packet is not None:
                yield packet

    def _set_order(self, buf: bytes, pos: int) -> None:
        bom = buf[pos + 8 : pos + 12]
        if bom == BYTE_ORDER_MAGIC.to_bytes(4, "little"):
            order = "<"
        elif bom == BYTE_ORDER_MAGIC.to_bytes(4, "big"):
            order = ">"
        else:
            raise self._error(f"bad byte-order magic {bom.hex()}", pos + 8)
        if order != self._order:
            self._order = order
            self._hdr = struct.Struct(order + "II")
            self._u32 = struct.Struct(order + "I")
            self._epb = struct.Struct(order + "IIIII")

    def _shb(self, buf: bytes, pos: int, blen: int) -> None:
        major, minor = struct.unpack_from(self._order + "HH", buf, pos + 12)
        if major != 1:
            raise self._error(f"unsupported pcapng version {major}.{minor}", pos + 12)
        self.sections += 1
        self._section = []

    def _options(self, buf: bytes, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        opt = struct.Struct(self._order + "HH")
        while start + 4 <= end:
            code, length = opt.unpack_from(buf, start)
            if code == 0:
                return
            value_end = start + 4 + length
            if value_end > end:
                raise self._error(f"option {code} overruns its block", start)
            yield code, buf[start + 4 : value_end]
            start = value_end + (-length % 4)

    def _idb(self, buf: bytes, pos: int, blen: int) -> None:
        linktype, _reserved, snaplen = struct.unpack_from(self._order + "HHI", buf, pos + 8)
        ticks, unit = 1_000_000, "us"
        offset_ns = 0
        name = ""
        for code, value in self._options(buf, pos + 16, pos + blen - 4):
            if code == _OPT_IF_TSRESOL and value:
                ticks, unit = _ts_unit(value[0])
            elif code == _OPT_IF_TSOFFSET and len(value) == 8:
                offset_ns = struct.unpack(self._order + "q", value)[0] * _NS_PER_S
            elif code == _OPT_IF_NAME:
                name = value.decode("utf-8", "replace")
        mul, div = (_NS_PER_S // ticks, 1) if _NS_PER_S % ticks == 0 else (_NS_PER_S, ticks)
        index = len(self.interfaces)
        self._section.append(_Iface(index, linktype, snaplen, mul, div, offset_ns))
        self.interfaces.append(Interface(linktype, snaplen, name, unit))

    def _spb(self, buf: bytes, pos: int, blen: int) -> Packet:
        if not self._section:
            raise self._error("simple packet block without an interface", pos)
        i = self._section[0]
        (orig,) = struct.unpack_from(self._order + "I", buf, pos + 8)
        caplen = min(orig, blen - 16)
        if i.snaplen:
            caplen = min(caplen, i.snaplen)
        return Packet(i.offset_ns, buf[pos + 12 : pos + 12 + caplen], orig, i.linktype, i.number)

    def _opb(self, buf: bytes, pos: int, blen: int) -> Packet:
        ifid, _drops, hi, lo, caplen, orig = struct.unpack_from(
            self._order + "HHIIII", buf, pos + 8
        )
        return self._stamped(buf, pos, blen, ifid, (hi << 32) | lo, caplen, orig)

    def _stamped(
        self, buf: bytes, pos: int, blen: int, ifid: int, ts: int, caplen: int, orig: int
    ) -> Packet:
        """The packet of an EPB or OPB at ``pos`` (its data 28 bytes in), stamped ``ts``
        in its interface's units."""
        if caplen > blen - 32:
            raise self._error(f"captured length {caplen} overruns its block", pos)
        if ifid >= len(self._section):
            raise self._error(f"packet of undeclared interface {ifid}", pos)
        i = self._section[ifid]
        ts = (ts * i.mul) // i.div + i.offset_ns
        data = buf[pos + 28 : pos + 28 + caplen]
        return tuple.__new__(Packet, (ts, data, orig, i.linktype, i.number))


def _pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


class PcapngWriter(OutputFile):
    """Writes a one-section pcapng file: an SHB, one IDB per interface, EPBs.

    Interfaces are declared with ``add_interface`` or, by ``write``, one per link
    type as packets of new link types arrive. Timestamps are nanoseconds
    (``if_tsresol`` 9) unless ``nanosecond=False`` (the default microseconds).
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | BinaryIO,
        *,
        nanosecond: bool = True,
        big_endian: bool = False,
    ) -> None:
        super().__init__(target)
        self._order = ">" if big_endian else "<"
        self.nanosecond = nanosecond
        self._div = 1 if nanosecond else 1000
        self._by_linktype: dict[int, int] = {}
        self.interfaces: list[Interface] = []
        body = struct.pack(self._order + "IHHq", BYTE_ORDER_MAGIC, 1, 0, -1)
        self._block(SHB, body)

    def _block(self, btype: int, body: bytes) -> None:
        length = 12 + len(body)
        head = struct.pack(self._order + "II", btype, length)
        tail = struct.pack(self._order + "I", length)
        self._put(head + body + tail)

    def add_interface(
        self, linktype: int = LinkType.ETHERNET, snaplen: int = 0, name: str = ""
    ) -> int:
        """Declare an interface; returns its index for ``write_frame``."""
        opts = b""
        order = self._order
        if self.nanosecond:
            opts += struct.pack(order + "HH", _OPT_IF_TSRESOL, 1) + b"\x09\0\0\0"
        if name:
            raw = name.encode()
            opts += struct.pack(order + "HH", _OPT_IF_NAME, len(raw)) + _pad(raw)
        if opts:
            opts += bytes(4)
        self._block(IDB, struct.pack(order + "HHI", linktype, 0, snaplen) + opts)
        self.interfaces.append(
            Interface(linktype, snaplen, name, "ns" if self.nanosecond else "us")
        )
        self._by_linktype.setdefault(linktype, len(self.interfaces) - 1)
        return len(self.interfaces) - 1

    def write_frame(
        self, data: bytes, ts_ns: int = 0, orig_len: int | None = None, interface: int = 0
    ) -> None:
        """Append an EPB of ``data`` on ``interface`` (declared first)."""
        if not 0 <= interface < len(self.interfaces):
            raise PcapError(f"interface {interface} is not declared", self.offset)
        ticks = ts_ns // self._div
        if not 0 <= ticks < 1 << 64:
            raise PcapError(f"timestamp {ts_ns} ns does not fit a pcapng block", self.offset)
        if len(data) > MAX_BLOCK - 64:
            raise PcapError(f"packet of {len(data)} bytes is too large", self.offset)
        wire = len(data) if orig_len is None else max(orig_len, len(data))
        head = struct.pack(
            self._order + "IIIII", interface, ticks >> 32, ticks & 0xFFFFFFFF, len(data), wire
        )
        self._block(EPB, head + _pad(data))
        self.count += 1

    def write(self, packet: Packet) -> None:
        """Append ``packet`` on the first interface of its link type (declared if new)."""
        index = self._by_linktype.get(packet.linktype)
        if index is None:
            index = self.add_interface(packet.linktype)
        self.write_frame(packet.data, packet.ts_ns, packet.orig_len, index)
