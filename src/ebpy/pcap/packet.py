"""The packet record, link types, capture errors, and the step from a link layer to Ethernet.

``Packet`` is what every reader yields and every writer takes: timestamp in
nanoseconds, the captured bytes, the original length on the wire, the link
type, and the interface it came from. ``PcapError`` and its subclasses are the
only errors the readers and writers raise; each carries the byte ``offset`` in
the file where the bad structure starts.

``to_ethernet`` turns a packet of a supported link type (Ethernet, raw IP,
Linux cooked SLL and SLL2, BSD loopback) into an Ethernet frame, the input
XDP and TC programs expect. This module does not read or write files.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable
from typing import NamedTuple

from ebpy.errors import InputError


class PcapError(InputError):
    """A capture file that cannot be read (or a packet that cannot be written).

    ``offset`` is the byte offset in the file where the bad structure starts;
    ``path`` names the file when known; ``reason`` says what is wrong.
    """

    def __init__(self, reason: str, offset: int = 0, path: str = "") -> None:
        self.reason = reason
        self.offset = offset
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__(f"{where}offset {offset}: {reason}")

    def with_path(self, path: str) -> PcapError:
        """The same error naming ``path`` (readers learn the path late)."""
        self.path = path
        where = f"{path}: " if path else ""
        self.message = f"{where}offset {self.offset}: {self.reason}"
        self.args = (self.message,)
        return self


class TruncatedError(PcapError):
    """The file ends inside a header, record or block: ``needed`` bytes, ``available`` there."""

    def __init__(self, what: str, offset: int, needed: int, available: int) -> None:
        self.what = what
        self.needed = needed
        self.available = available
        super().__init__(f"truncated {what}: needed {needed} bytes, only {available} left", offset)


class UnknownFormatError(PcapError):
    """The file starts with neither a pcap nor a pcapng magic number."""

    def __init__(self, magic: bytes) -> None:
        self.magic = magic
        super().__init__(f"not a pcap or pcapng file (magic {magic.hex() or 'missing'})", 0)


class LinkTypeError(PcapError):
    """A packet whose link type cannot be turned into what was asked (an Ethernet frame)."""

    def __init__(self, linktype: int, offset: int = 0, reason: str = "") -> None:
        self.linktype = linktype
        name = link_type_name(linktype)
        why = f": {reason}" if reason else ""
        super().__init__(f"link type {name} ({linktype}) not supported{why}", offset)


class LinkType(enum.IntEnum):
    """The LINKTYPE_ values of the pcap and pcapng formats that ebpy knows by name."""

    NULL = 0
    ETHERNET = 1
    RAW = 101
    LOOP = 108
    LINUX_SLL = 113
    IPV4 = 228
    IPV6 = 229
    LINUX_SLL2 = 276


def link_type_name(linktype: int) -> str:
    """``ETHERNET`` for 1; the number as text for a type without a name here."""
    try:
        return LinkType(linktype).name
    except ValueError:
        return str(linktype)


class Packet(NamedTuple):
    """One captured packet.

    ``ts_ns``: timestamp in nanoseconds since the epoch; ``data``: the captured
    bytes; ``orig_len``: the length on the wire (``>= len(data)`` when the
    capture was cut at the snap length); ``linktype``: a LINKTYPE_ value;
    ``interface``: index of the interface in the file (0 for classic pcap).
    """

    ts_ns: int
    data: bytes
    orig_len: int
    linktype: int = LinkType.ETHERNET
    interface: int = 0

    @property
    def truncated(self) -> bool:
        return self.orig_len > len(self.data)


class Interface(NamedTuple):
    """A capture interface: its link type, snap length, name, and timestamp unit.

    Classic pcap files have one; pcapng files one per Interface Description Block.
    ``ts_unit`` is the timestamp resolution as a string (``"us"``, ``"ns"``, ``"10^-4"``).
    """

    linktype: int
    snaplen: int
    name: str = ""
    ts_unit: str = "us"


ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
ETH_HLEN = 14
_ZERO_MACS = bytes(12)
_ETH_IP = _ZERO_MACS + b"\x08\x00"
_ETH_IP6 = _ZERO_MACS + b"\x86\xdd"
_SLL = struct.Struct(">HHH8sH")
_SLL2 = struct.Struct(">HHIHBB8s")
_ARPHRD_ETHER = 1
_ARPHRD_LOOPBACK = 772
_AF_INET = 2
_AF_INET6 = frozenset({10, 24, 28, 30})  # Linux, NetBSD/OpenBSD, FreeBSD, macOS


def _raw_ip(data: bytes, linktype: int) -> bytes:
    version = data[0] >> 4 if data else 0
    if version == 4:
        return _ETH_IP + data
    if version == 6:
        return _ETH_IP6 + data
    raise LinkTypeError(linktype, reason=f"IP version {version}")


def _ipv4(data: bytes, linktype: int) -> bytes:
    return _ETH_IP + data


def _ipv6(data: bytes, linktype: int) -> bytes:
    return _ETH_IP6 + data


def _ethernet(data: bytes, linktype: int) -> bytes:
    return data


def _cooked(hatype: int, halen: int, addr: bytes, proto: int, payload: bytes) -> bytes:
    """An Ethernet frame for a cooked header: the sender's address as the source."""
    src = addr[:6] if hatype in (_ARPHRD_ETHER, _ARPHRD_LOOPBACK) and halen == 6 else bytes(6)
    if proto < 0x0600:  # 802.3 frame: the field is a length
        proto = min(len(payload), 1500)
    return bytes(6) + src + proto.to_bytes(2, "big") + payload


def _sll(data: bytes, linktype: int) -> bytes:
    if len(data) < _SLL.size:
        raise LinkTypeError(linktype, reason="packet shorter than the SLL header")
    _pkttype, hatype, halen, addr, proto = _SLL.unpack_from(data)
    return _cooked(hatype, halen, addr, proto, data[_SLL.size :])


def _sll2(data: bytes, linktype: int) -> bytes:
    if len(data) < _SLL2.size:
        raise LinkTypeError(linktype, reason="packet shorter than the SLL2 header")
    proto, _res, _ifindex, hatype, _pkttype, halen, addr = _SLL2.unpack_from(data)
    return _cooked(hatype, halen, addr, proto, data[_SLL2.size :])


def _loopback(data: bytes, linktype: int) -> bytes:
    if len(data) < 4:
        raise LinkTypeError(linktype, reason="packet shorter than the loopback header")
    big = linktype == LinkType.LOOP
    family = int.from_bytes(data[:4], "big" if big else "little")
    if family > 0xFFFF:  # written on a host of the other byte order
        family = int.from_bytes(data[:4], "little" if big else "big")
    if family == _AF_INET:
        return _ETH_IP + data[4:]
    if family in _AF_INET6:
        return _ETH_IP6 + data[4:]
    raise LinkTypeError(linktype, reason=f"address family {family}")


_TO_ETHERNET: dict[int, Callable[[bytes, int], bytes]] = {
    LinkType.ETHERNET: _ethernet,
    LinkType.RAW: _raw_ip,
    LinkType.IPV4: _ipv4,
    LinkType.IPV6: _ipv6,
    LinkType.LINUX_SLL: _sll,
    LinkType.LINUX_SLL2: _sll2,
    LinkType.NULL: _loopback,
    LinkType.LOOP: _loopback,
}

ETHERNET_CONVERTIBLE = frozenset(int(t) for t in _TO_ETHERNET)
"""Link types ``to_ethernet`` accepts."""


def to_ethernet(data: bytes, linktype: int) -> bytes:
    """``data`` of link type ``linktype`` as an Ethernet frame.

    Raw IP gets an Ethernet header with zero addresses; cooked captures keep
    the sender's address as the source. ``LinkTypeError`` for other types.

    >>> to_ethernet(bytes([0x45]) + bytes(19), LinkType.RAW)[12:15].hex()
    '080045'
    """
    convert = _TO_ETHERNET.get(linktype)
    if convert is None:
        raise LinkTypeError(linktype)
    return convert(data, linktype)


__all__ = [
    "ETHERNET_CONVERTIBLE",
    "ETH_HLEN",
    "Interface",
    "LinkType",
    "LinkTypeError",
    "Packet",
    "PcapError",
    "TruncatedError",
    "UnknownFormatError",
    "link_type_name",
    "to_ethernet",
]
