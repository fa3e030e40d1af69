"""The link types the filter compiler knows: where their headers are and how
to test the protocol they carry.

One ``LinkInfo`` per link type (a registry keyed by ``Dlt``): the offsets of
the type field and of the payload, libpcap's description (for errors), what
the link supports (Ethernet addresses, broadcast, VLAN and MPLS) and its
protocol test, ``linktype(gen, ll_proto)``:

* ``EN10MB``: the EtherType at 12 (LLC SAPs and SNAP for 802.3 frames);
* ``RAW`` (capture-file link types 101, 12 and 14): the IP version nibble;
  ``IPV4``/``IPV6`` (228/229): always or never;
* ``LINUX_SLL``: the protocol field of the cooked header (4 means 802.2
  LLC, 1 raw 802.3); ``LINUX_SLL2``: the protocol field, compared as it is;
* ``NULL`` and ``LOOP``: the 4-byte address family (host byte order for
  ``NULL``, read as a little-endian machine writes it; network order for
  ``LOOP``), all three BSD values for IPv6 (as libpcap does for capture
  files; a live Linux capture would compare with Linux's 10 only).

This module generates no code beyond those tests (``ebpy.cbpf.pcap.gencode``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ebpy.cbpf.isa import BPF_B, BPF_H, BPF_W
from ebpy.cbpf.pcap.blocks import Block, gen_and, gen_or
from ebpy.errors import FilterSyntaxError

if TYPE_CHECKING:
    from ebpy.cbpf.pcap.gencode import Gen

__all__ = ["LINKTYPES", "Dlt", "LinkInfo", "OffRel", "link_info"]

ETHERTYPE_IP = 0x0800
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_IPX = 0x8137
ETHERTYPE_ATALK = 0x809B
ETHERTYPE_AARP = 0x80F3
ETHERMTU = 1500
SLL_P_802_3 = 0x0001
SLL_P_802_2 = 0x0004
AF_INET = 2
AF_INET6_BSD = (24, 28, 30)  # NetBSD/OpenBSD, FreeBSD, Darwin


class OffRel(enum.Enum):
    """What an offset in the packet is relative to."""

    PACKET = "packet"
    LINKHDR = "link-layer header"
    LLC = "802.2 LLC header"
    PREVMPLSHDR = "previous MPLS label"
    LINKTYPE = "link-layer type field"
    LINKPL = "network-layer header"
    LINKPL_NOSNAP = "network-layer header without SNAP"
    TRAN_IPV4 = "transport header after IPv4"
    TRAN_IPV6 = "transport header after IPv6"


class Dlt(enum.IntEnum):
    """libpcap's data-link types the compiler supports (Linux numbering)."""

    NULL = 0
    EN10MB = 1
    RAW = 12
    LOOP = 108
    LINUX_SLL = 113
    IPV4 = 228
    IPV6 = 229
    LINUX_SLL2 = 276


_FROM_LINKTYPE = {
    0: Dlt.NULL,
    1: Dlt.EN10MB,
    12: Dlt.RAW,
    14: Dlt.RAW,
    101: Dlt.RAW,
    108: Dlt.LOOP,
    113: Dlt.LINUX_SLL,
    228: Dlt.IPV4,
    229: Dlt.IPV6,
    276: Dlt.LINUX_SLL2,
}
"""Capture-file link type (``LINKTYPE_*``) -> data-link type."""


@dataclass(frozen=True)
class LinkInfo:
    """What the compiler knows of one link type."""

    dlt: Dlt
    description: str
    off_linktype: int
    off_linkpl: int
    off_nl: int
    off_nl_nosnap: int
    linktype: Callable[[Gen, int], Block]
    ethernet: bool = False  # Ethernet addresses, broadcast, multicast, VLAN, MPLS
    direction: tuple[int, int] | None = None  # inbound: (offset, size) of the packet type


def _ether(gen: Gen, ll_proto: int) -> Block:
    return gen.ether_linktype(ll_proto)


def _raw(gen: Gen, ll_proto: int) -> Block:
    versions = {ETHERTYPE_IP: 0x40, ETHERTYPE_IPV6: 0x60}
    if ll_proto in versions:
        return gen.mcmp(OffRel.LINKHDR, 0, BPF_B, versions[ll_proto], 0xF0)
    return gen.false()


def _only(proto: int) -> Callable[[Gen, int], Block]:
    def test(gen: Gen, ll_proto: int) -> Block:
        return gen.true() if ll_proto == proto else gen.false()

    return test


def _sll(gen: Gen, ll_proto: int) -> Block:
    """The protocol field of a Linux cooked header (libpcap's ``gen_linux_sll_linktype``)."""

    def proto_is(value: int) -> Block:
        return gen.cmp(OffRel.LINKTYPE, 0, BPF_H, value)

    if ll_proto in (0xFE, 0x06, 0xF0):
        b0 = proto_is(SLL_P_802_2)
        b1 = gen.cmp(OffRel.LLC, 0, BPF_H, (ll_proto << 8) | ll_proto)
        gen_and(b0, b1)
        return b1
    if ll_proto == 0xE0:
        b0 = gen.cmp(OffRel.LLC, 0, BPF_B, 0xE0)
        b1 = gen.snap(0x000000, ETHERTYPE_IPX)
        gen_or(b0, b1)
        gen_and(proto_is(SLL_P_802_2), b1)
        gen_or(proto_is(SLL_P_802_3), b1)
        gen_or(proto_is(ETHERTYPE_IPX), b1)
        return b1
    if ll_proto in (ETHERTYPE_ATALK, ETHERTYPE_AARP):
        b0 = proto_is(SLL_P_802_2)
        if ll_proto == ETHERTYPE_ATALK:
            b1 = gen.snap(0x080007, ETHERTYPE_ATALK)
        else:
            b1 = gen.snap(0x000000, ETHERTYPE_AARP)
        gen_and(b0, b1)
        gen_or(proto_is(ll_proto), b1)
        return b1
    if ll_proto <= ETHERMTU:
        b0 = proto_is(SLL_P_802_2)
        b1 = gen.cmp(OffRel.LINKHDR, gen.off_linkpl.constant, BPF_B, ll_proto)
        gen_and(b0, b1)
        return b1
    return proto_is(ll_proto)


def _plain(gen: Gen, ll_proto: int) -> Block:
    """The protocol field as it is (libpcap 1.10 does no LLC tests for Linux cooked v2)."""
    return gen.cmp(OffRel.LINKTYPE, 0, BPF_H, ll_proto)


def _family(host_order: bool) -> Callable[[Gen, int], Block]:
    def value(af: int) -> int:
        return int.from_bytes(af.to_bytes(4, "little")) if host_order else af

    def family(gen: Gen, ll_proto: int) -> Block:
        def af_is(af: int) -> Block:
            return gen.cmp(OffRel.LINKHDR, 0, BPF_W, value(af))

        if ll_proto == ETHERTYPE_IP:
            return af_is(AF_INET)
        if ll_proto == ETHERTYPE_IPV6:
            b0 = af_is(AF_INET6_BSD[0])
            b1 = af_is(AF_INET6_BSD[1])
            gen_or(b0, b1)
            gen_or(af_is(AF_INET6_BSD[2]), b1)
            return b1
        return gen.false()

    return family


LINKTYPES: dict[Dlt, LinkInfo] = {
    Dlt.EN10MB: LinkInfo(Dlt.EN10MB, "Ethernet", 12, 14, 0, 3, _ether, ethernet=True),
    Dlt.RAW: LinkInfo(Dlt.RAW, "Raw IP", -1, 0, 0, 0, _raw),
    Dlt.IPV4: LinkInfo(Dlt.IPV4, "Raw IPv4", -1, 0, 0, 0, _only(ETHERTYPE_IP)),
    Dlt.IPV6: LinkInfo(Dlt.IPV6, "Raw IPv6", -1, 0, 0, 0, _only(ETHERTYPE_IPV6)),
    Dlt.LINUX_SLL: LinkInfo(
        Dlt.LINUX_SLL, "Linux cooked v1", 14, 16, 0, 0, _sll, direction=(0, BPF_H)
    ),
    Dlt.LINUX_SLL2: LinkInfo(
        Dlt.LINUX_SLL2, "Linux cooked v2", 0, 20, 0, 0, _plain, direction=(10, BPF_B)
    ),
    Dlt.NULL: LinkInfo(Dlt.NULL, "BSD loopback", 0, 4, 0, 0, _family(host_order=True)),
    Dlt.LOOP: LinkInfo(Dlt.LOOP, "OpenBSD loopback", 0, 4, 0, 0, _family(host_order=False)),
}


def link_info(linktype: int) -> LinkInfo:
    """The entry of a capture-file link type (``LINKTYPE_*``) or data-link type number."""
    dlt = _FROM_LINKTYPE.get(linktype)
    if dlt is None:
        raise FilterSyntaxError(f"link type {linktype} is not supported by the filter compiler")
    return LINKTYPES[dlt]
