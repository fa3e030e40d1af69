"""One-line packet summaries, as ``tcpdump -n -r FILE`` prints them.

``Summarizer(linktype)`` turns ``Packet``\\ s into lines::

    12:00:00.000001 IP 10.0.0.1.1234 > 192.168.1.1.80: Flags [S], seq 1, win 65535, length 0

with the timestamp in local time (``timestamps="local"``), as seconds since
the epoch (``"epoch"``, tcpdump's ``-tt``) or left out (``"none"``, ``-t``),
and with ``link_header=True`` the Ethernet header first (tcpdump's ``-e``).
Addresses, ports and protocols are always printed as numbers (tcpdump's
``-n``): nothing is ever resolved. A packet captured short of what its
headers need ends in `` [|proto]`` as in tcpdump; unknown payloads are
printed as tcpdump's hex-and-ASCII dump lines, so a "line" can hold
newlines. The summarizer keeps state across the packets of a capture (TCP
sequence numbers are printed relative to the start of each conversation), so
use one per capture.

The protocols: Ethernet, 802.1Q/QinQ, MPLS, LLC (STP, SNAP), ARP/RARP, IPv4
and IPv6 (with extension headers and fragments), TCP, UDP (DNS, NTP,
BOOTP/DHCP), SCTP, ICMP, ICMPv6, IGMP; the decoding lives in the
``ebpy.pcap.dissect*`` modules. Link types: Ethernet, raw IP (``RAW``,
``IPV4``, ``IPV6``), Linux cooked (``LINUX_SLL``, ``LINUX_SLL2``: tcpdump also
prints the name of the interface an SLL2 packet came in on, as it is called on
the machine reading the file; ebpy does not) and BSD loopback. This module does not read files (``ebpy.pcap.open_capture`` does).

>>> from ebpy.pcap.synth import Synth
>>> from ebpy.pcap import Packet
>>> s = Summarizer(timestamps="epoch")
>>> s.line(Packet(1_700_000_000_000_001_000, Synth(1).frame("arp"), 60))
'1700000000.000001 ARP, Request who-has 192.168.1.4 tell 10.0.0.5, length 46'
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable, Iterator

from ebpy.pcap import dissect_icmp, dissect_ip, dissect_link, dissect_tcp, dissect_udp
from ebpy.pcap.dissect import Dissection, Done, EtherType, Registry, Truncated, mac
from ebpy.pcap.dissect_link import ETHERTYPE_NAMES
from ebpy.pcap.packet import LinkType, Packet

__all__ = ["LINK_PRINTERS", "Summarizer", "TimestampFormat", "format_timestamp", "summarize"]


class TimestampFormat(enum.Enum):
    """How a summary line starts: ``local`` (default), ``epoch`` (``-tt``), ``none`` (``-t``)."""

    LOCAL = "local"
    EPOCH = "epoch"
    NONE = "none"


def format_timestamp(ts_ns: int, fmt: TimestampFormat | str = TimestampFormat.LOCAL) -> str:
    """The timestamp as tcpdump prints it, to the microsecond (truncated, not rounded).

    >>> format_timestamp(1_700_000_000_123_456_789, "epoch")
    '1700000000.123456'
    """
    fmt = TimestampFormat(fmt)
    sec, usec = divmod(ts_ns // 1000, 1_000_000)
    if fmt is TimestampFormat.EPOCH:
        return f"{sec}.{usec:06d}"
    if fmt is TimestampFormat.NONE:
        return ""
    tm = time.localtime(sec)
    return f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}.{usec:06d}"


def _registry() -> Registry:
    registry = Registry()
    for module in (dissect_link, dissect_ip, dissect_tcp, dissect_udp, dissect_icmp):
        registry.update(module.REGISTRY)
    return registry


REGISTRY = _registry()
"""Every dissector, by Ethernet type, IP protocol and port."""


def _raw_ip(d: Dissection, off: int, length: int) -> None:
    if d.link_header:
        d.put("ip: ")
    version = d.u8(off) >> 4 if d.has(off, 1) else 4
    d.ethertype(EtherType.IPV6 if version == 6 else EtherType.IPV4, off, length)


def _ipv4_only(d: Dissection, off: int, length: int) -> None:
    if d.link_header:
        d.put("ip: ")
    d.ethertype(EtherType.IPV4, off, length)


def _ipv6_only(d: Dissection, off: int, length: int) -> None:
    if d.link_header:
        d.put("ip: ")
    d.ethertype(EtherType.IPV6, off, length)


_SLL_PKTTYPES = {0: "In", 1: "B", 2: "M", 3: "P", 4: "Out"}


def _cooked(
    header: int, proto_at: int, pkttype_at: int, halen_at: int, addr_at: int
) -> Callable[[Dissection, int, int], None]:
    """Linux cooked captures (SLL and SLL2): the packet type, the sender's address
    and the protocol with ``-e``; then the protocol's summary."""

    def printer(d: Dissection, off: int, length: int) -> None:
        d.proto = "sll"
        d.need(off, header)
        proto = d.u16(off + proto_at)
        if d.link_header:
            pkttype = _SLL_PKTTYPES.get(
                d.u16(off + pkttype_at) if header == 16 else d.u8(off + pkttype_at), "?"
            )
            halen = d.u8(off + halen_at) if header == 20 else d.u16(off + halen_at)
            address = mac(d.raw(off + addr_at, min(halen, 8))) + " " if halen else ""
            name = ETHERTYPE_NAMES.get(proto, "Unknown")
            d.put(f"{pkttype:>3} {address}ethertype {name} (0x{proto:04x}), length {length}: ")
        if not d.ethertype(proto, off + header, length - header):
            d.put(f"ethertype 0x{proto:04x}, length {length}")

    return printer


_FAMILIES = {2: "IPv4", 10: "IPv6", 24: "IPv6", 28: "IPv6", 30: "IPv6"}


def _loopback(d: Dissection, off: int, length: int) -> None:
    d.proto = "null"
    d.need(off, 4)
    family = int.from_bytes(d.raw(off, 4), "little")
    if family > 0xFFFF:
        family = int.from_bytes(d.raw(off, 4), "big")
    if d.link_header:
        d.put(f"AF {_FAMILIES.get(family, 'Unknown')} ({family}), length {length}: ")
    if family == 2:
        d.ethertype(EtherType.IPV4, off + 4, length - 4)
    elif family in (10, 24, 28, 30):
        d.ethertype(EtherType.IPV6, off + 4, length - 4)
    else:
        d.put(f"AF {family} ({length})")


LINK_PRINTERS: dict[int, Callable[[Dissection, int, int], None]] = {
    LinkType.ETHERNET: dissect_link.ethernet,
    LinkType.RAW: _raw_ip,
    12: _raw_ip,
    14: _raw_ip,
    LinkType.IPV4: _ipv4_only,
    LinkType.IPV6: _ipv6_only,
    LinkType.LINUX_SLL: _cooked(16, 14, 0, 4, 6),
    LinkType.LINUX_SLL2: _cooked(20, 0, 10, 11, 12),
    LinkType.NULL: _loopback,
    LinkType.LOOP: _loopback,
}
"""The printer of each link type summaries know."""


class Summarizer:
    """Summary lines for the packets of one capture (see the module docstring)."""

    def __init__(
        self,
        linktype: int = LinkType.ETHERNET,
        *,
        link_header: bool = False,
        timestamps: TimestampFormat | str = TimestampFormat.LOCAL,
    ) -> None:
        self.linktype = linktype
        self.link_header = link_header
        self.timestamps = TimestampFormat(timestamps)
        self._state: dict[str, object] = {}

    def body(self, data: bytes, wire_len: int | None = None, linktype: int | None = None) -> str:
        """The summary of one packet without its timestamp."""
        kind = self.linktype if linktype is None else linktype
        printer = LINK_PRINTERS.get(kind)
        if printer is None:
            return f"[link type {kind} not decoded] length {len(data)}"
        d = Dissection(data, REGISTRY, self._state, link_header=self.link_header)
        length = len(data) if wire_len is None else max(wire_len, len(data))
        try:
            printer(d, 0, length)
        except Truncated:
            d.put(f" [|{d.proto}]")
        except Done:
            pass
        return d.text()

    def line(self, packet: Packet) -> str:
        """The whole summary line of ``packet``, timestamp first."""
        body = self.body(packet.data, packet.orig_len, packet.linktype)
        if self.timestamps is TimestampFormat.NONE:
            return body
        return f"{format_timestamp(packet.ts_ns, self.timestamps)} {body}"


def summarize(
    packets: Iterable[Packet],
    *,
    link_header: bool = False,
    timestamps: TimestampFormat | str = TimestampFormat.LOCAL,
) -> Iterator[str]:
    """Summary lines of ``packets`` (one capture), in order."""
    summarizer: Summarizer | None = None
    for packet in packets:
        if summarizer is None:
            summarizer = Summarizer(packet.linktype, link_header=link_header, timestamps=timestamps)
        yield summarizer.line(packet)
