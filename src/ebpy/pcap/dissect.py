"""The machinery under the packet summaries: a cursor over captured bytes, and registries.

A ``Dissection`` holds one packet's captured bytes, the printed pieces so far,
and the end of what may be read (tcpdump's "snapshot end", which a protocol
can pull in to the length its header declares). Reading past that end raises
``Truncated``; the summary then ends with `` [|proto]``, naming the protocol
being printed, as tcpdump does. Dissectors are plain functions
``(d, offset, length)`` (``length`` is what the enclosing header says remains
on the wire) looked up by Ethernet type, IP protocol and port in the
``Registry`` that ``ebpy.pcap.summary`` fills from the ``dissect_*`` modules.

Also here: the formatting of addresses (IPv4, IPv6 as ``inet_ntop`` writes
it, MAC) and tcpdump's hex-and-ASCII dump. This module prints no packet by
itself and knows no protocol.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "Dissection",
    "Dissector",
    "Done",
    "EtherType",
    "IpContext",
    "IpProto",
    "Registry",
    "Truncated",
    "hex_ascii_lines",
    "hex_lines",
    "ip4",
    "ip6",
    "mac",
]


class Truncated(Exception):
    """Raised when a dissector reads past the captured (or declared) end."""


class Done(Exception):
    """Raised when a dissector has printed the end of the line itself (a truncation
    mark followed by more text, as tcpdump prints in a few places)."""


class EtherType(enum.IntEnum):
    """Ethernet types the summaries decode."""

    IPV4 = 0x0800
    ARP = 0x0806
    RARP = 0x8035
    VLAN = 0x8100
    IPV6 = 0x86DD
    MPLS = 0x8847
    MPLS_MULTI = 0x8848
    QINQ = 0x88A8
    QINQ_OLD = 0x9100


class IpProto(enum.IntEnum):
    """IP protocol numbers the summaries decode."""

    HOPOPTS = 0
    ICMP = 1
    IGMP = 2
    TCP = 6
    UDP = 17
    ROUTING = 43
    FRAGMENT = 44
    ICMPV6 = 58
    NONE = 59
    DSTOPTS = 60
    SCTP = 132


Dissector = Callable[["Dissection", int, int], None]
"""``(dissection, offset, length)``: print the header at ``offset`` of ``length`` wire bytes."""


@dataclass
class Registry:
    """Dissectors by Ethernet type, IP protocol, and TCP/UDP port."""

    ethertypes: dict[int, Dissector] = field(default_factory=dict)
    ip_protos: dict[int, Dissector] = field(default_factory=dict)
    tcp_ports: dict[int, Dissector] = field(default_factory=dict)
    udp_ports: dict[int, Dissector] = field(default_factory=dict)

    def update(self, other: Registry) -> None:
        """Add every entry of ``other`` (later registrations win)."""
        self.ethertypes.update(other.ethertypes)
        self.ip_protos.update(other.ip_protos)
        self.tcp_ports.update(other.tcp_ports)
        self.udp_ports.update(other.udp_ports)


@dataclass(frozen=True)
class IpContext:
    """The IP header a transport header sits in: addresses as text and as bytes, and
    whether the transport header follows the IP header directly (no extension header
    between), in which case TCP and UDP print the addresses with the ports; and
    whether the packet is a fragment (UDP then does not complain of a short length)."""

    src: str
    dst: str
    src_raw: bytes
    dst_raw: bytes
    direct: bool
    fragmented: bool = False


class Dissection:
    """One packet being printed: its bytes, the readable end, the output so far.

    ``link_header`` is tcpdump's ``-e``; ``state`` is shared across the packets
    of one capture (TCP sequence-number bases); ``registry`` finds the next
    dissector; ``ip`` is the innermost IP header seen.
    """

    __slots__ = (
        "_ends",
        "data",
        "end",
        "ip",
        "link_header",
        "out",
        "proto",
        "registry",
        "state",
    )

    def __init__(
        self,
        data: bytes,
        registry: Registry,
        state: dict[str, object],
        *,
        link_header: bool = False,
    ) -> None:
        self.data = data
        self.end = len(data)
        self._ends: list[int] = []
        self.out: list[str] = []
        self.proto = ""
        self.registry = registry
        self.state = state
        self.link_header = link_header
        self.ip: IpContext | None = None

    # -- output ----------------------------------------------------------------------
    def put(self, text: str) -> None:
        self.out.append(text)

    def text(self) -> str:
        return "".join(self.out)

    # -- reading ---------------------------------------------------------------------
    def need(self, off: int, size: int) -> None:
        """Raise ``Truncated`` unless ``size`` bytes at ``off`` are readable."""
        if off < 0 or off + size > self.end:
            raise Truncated

    def has(self, off: int, size: int) -> bool:
        return off >= 0 and off + size <= self.end

    def u8(self, off: int) -> int:
        if off >= self.end:
            raise Truncated
        return self.data[off]

    def u16(self, off: int) -> int:
        if off + 2 > self.end:
            raise Truncated
        return int.from_bytes(self.data[off : off + 2], "big")

    def u32(self, off: int) -> int:
        if off + 4 > self.end:
            raise Truncated
        return int.from_bytes(self.data[off : off + 4], "big")

    def raw(self, off: int, size: int) -> bytes:
        if off + size > self.end:
            raise Truncated
        return self.data[off : off + size]

    def available(self, off: int) -> int:
        """Readable bytes from ``off`` on."""
        return max(0, self.end - off)

    def push_end(self, end: int) -> None:
        """Read no further than ``end`` (when it is nearer) until ``pop_end``."""
        self._ends.append(self.end)
        self.end = min(self.end, end)

    def pop_end(self) -> None:
        self.end = self._ends.pop()

    # -- dispatch --------------------------------------------------------------------
    def ethertype(self, ethertype: int, off: int, length: int) -> bool:
        """Print the payload of ``ethertype``; False when it is not known."""
        dissector = self.registry.ethertypes.get(ethertype)
        if dissector is None:
            return False
        dissector(self, off, length)
        return True

    def ip_proto(self, proto: int, off: int, length: int) -> bool:
        dissector = self.registry.ip_protos.get(proto)
        if dissector is None:
            return False
        dissector(self, off, length)
        return True


def ip4(raw: bytes) -> str:
    """Dotted-quad text of 4 address bytes."""
    return f"{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}"


def ip6(raw: bytes) -> str:
    """IPv6 address text as ``inet_ntop`` writes it (``::`` for the longest zero run,
    and ``::ffff:1.2.3.4`` for IPv4-mapped addresses).

    >>> ip6(bytes(15) + b"\\x01"), ip6(bytes.fromhex("20010db8000000000000000000000001"))
    ('::1', '2001:db8::1')
    >>> ip6(bytes(10) + b"\\xff\\xff\\x0a\\0\\0\\1"), ip6(bytes(12) + b"\\x0a\\0\\0\\1")
    ('::ffff:10.0.0.1', '::10.0.0.1')
    """
    if raw[:10] == bytes(10):
        if raw[10:12] == b"\xff\xff":
            return "::ffff:" + ip4(raw[12:])
        if raw[10:12] == b"\0\0" and raw[12:14] != b"\0\0":  # six zero words: IPv4-compatible
            return "::" + ip4(raw[12:])
    return ipaddress.IPv6Address(raw).compressed


def mac(raw: bytes) -> str:
    """``aa:bb:cc:dd:ee:ff``."""
    return ":".join(f"{b:02x}" for b in raw)


_PRINTABLE = bytes(c if 0x20 < c < 0x7F else 0x2E for c in range(256))


def hex_ascii_lines(data: bytes, indent: str = "\n\t") -> str:
    """tcpdump's ``-X``-style dump: ``0x0000:  4500 0054 ...  E..T`` lines, each
    after ``indent``.

    >>> hex_ascii_lines(b"AB \\x00")
    '\\n\\t0x0000:  4142 2000                                AB..'
    """
    out = []
    for start in range(0, len(data), 16):
        chunk = data[start : start + 16]
        groups = " ".join(chunk[i : i + 2].hex() for i in range(0, len(chunk), 2))
        text = chunk.translate(_PRINTABLE).decode("ascii")
        out.append(f"{indent}0x{start:04x}:  {groups:<39}  {text}")
    return "".join(out)


def hex_lines(data: bytes, indent: str = "\n\t") -> str:
    """tcpdump's hex-only dump (of data it does not decode inside a known protocol):
    ``0x0000:  c800 0cfd 0000`` lines, each after ``indent``.

    >>> hex_lines(b"AB\\x00")
    '\\n\\t0x0000:  4142 00'
    """
    out = []
    for start in range(0, len(data), 16):
        chunk = data[start : start + 16]
        groups = " ".join(chunk[i : i + 2].hex() for i in range(0, len(chunk), 2))
        out.append(f"{indent}0x{start:04x}:  {groups}")
    return "".join(out)
