"""Address primitives: ``host``, ``net`` (IPv4 and IPv6), ``ether host`` and
link/IP ``broadcast``/``multicast``, compiled as libpcap 1.10 compiles them.

* An IPv4 host or net without a protocol matches IPv4 source/destination and
  the sender/target addresses of ARP and RARP (only IPv4 inside MPLS).
* Short numbers are promoted as libpcap does: ``net 10`` is 10.0.0.0/8,
  ``net 192.168`` is 192.168.0.0/16, while ``host 10`` is the address 0.0.0.10.
* IPv6 addresses are compared a 32-bit word at a time, last word first.
* Ethernet addresses are compared a word, then a half word, from the end.
* DECnet hosts (``decnet host 10.5``, area.node) are looked for in the four
  DECnet routing header layouts, as libpcap does on a little-endian host.

Names are refused: ebpy does not resolve host, network or Ethernet names.
Ports live in ``ebpy.cbpf.pcap.ports``; this module only dispatches to them.
"""

from __future__ import annotations

import re
import socket

from ebpy.cbpf.isa import BPF_B, BPF_H, BPF_JSET, BPF_W
from ebpy.cbpf.pcap.ast import Addr, Dir, Proto, Qual
from ebpy.cbpf.pcap.blocks import Block, gen_and, gen_or
from ebpy.cbpf.pcap.gencode import Gen, OffRel, jmp

__all__ = [
    "atodn",
    "atoin_parts",
    "broadcast",
    "decnet_host",
    "ether_aton",
    "ether_host",
    "host4",
    "host6",
    "multicast",
    "net4_masked",
    "net6",
]

ETHERTYPE_IP, ETHERTYPE_ARP, ETHERTYPE_REVARP, ETHERTYPE_IPV6 = 0x0800, 0x0806, 0x8035, 0x86DD
ETHERTYPE_DN = 0x6003
PCAP_NETMASK_UNKNOWN = 0xFFFF_FFFF

# protocol -> (EtherType, source offset, destination offset) of an IPv4 address
_HOST4 = {
    Proto.IP: (ETHERTYPE_IP, 12, 16),
    Proto.ARP: (ETHERTYPE_ARP, 14, 24),
    Proto.RARP: (ETHERTYPE_REVARP, 14, 24),
}


def atoin_parts(text: str) -> tuple[int, int] | None:
    """``(value, length in bits)`` of 1 to 4 dotted numbers, as libpcap reads them."""
    value = length = 0
    for part in text.split("."):
        n = 0
        for c in part:
            if n > 25:
                return None
            n = n * 10 + ord(c) - ord("0")
        if n > 255:
            return None
        value = (value << 8 | n) & 0xFFFF_FFFF
        length += 8
    return value, length


def _hostop(
    gen: Gen, addr: int, mask: int, d: Dir, ll_proto: int, src_off: int, dst_off: int
) -> Block:
    if d in (Dir.AND, Dir.OR, Dir.DEFAULT):
        b0 = _hostop(gen, addr, mask, Dir.SRC, ll_proto, src_off, dst_off)
        b1 = _hostop(gen, addr, mask, Dir.DST, ll_proto, src_off, dst_off)
        (gen_and if d is Dir.AND else gen_or)(b0, b1)
        return b1
    offset = src_off if d is Dir.SRC else dst_off
    b0 = gen.linktype(ll_proto)
    b1 = gen.mcmp(OffRel.LINKPL, offset, BPF_W, addr, mask)
    gen_and(b0, b1)
    return b1


def _typestr(addr: Addr) -> str:
    return "net" if addr is Addr.NET else "host"


def host4(gen: Gen, addr: int, mask: int, q: Qual) -> Block:
    """An IPv4 host or network under the qualifiers ``q`` (libpcap's ``gen_host``)."""
    if q.proto is Proto.DEFAULT:
        b0 = host4(gen, addr, mask, Qual(Proto.IP, q.dir, q.addr))
        if gen.label_stack_depth == 0:
            b1 = host4(gen, addr, mask, Qual(Proto.ARP, q.dir, q.addr))
            gen_or(b0, b1)
            b0 = host4(gen, addr, mask, Qual(Proto.RARP, q.dir, q.addr))
            gen_or(b1, b0)
        return b0
    if q.proto in _HOST4:
        ll_proto, src_off, dst_off = _HOST4[q.proto]
        return _hostop(gen, addr, mask, q.dir, ll_proto, src_off, dst_off)
    if q.proto is Proto.DECNET:
        return decnet_host(gen, addr, q.dir)  # as libpcap: the mask is not used
    if q.proto is Proto.LINK:
        gen.error(f"link-layer modifier applied to {_typestr(q.addr)}")
    if q.proto is Proto.IPV6:
        gen.error("'ip6' modifier applied to ip host")
    gen.error(f"'{q.proto.value}' modifier applied to {_typestr(q.addr)}")


def net4_masked(gen: Gen, text: str, mask_text: str | None, masklen: int, q: Qual) -> Block:
    """``net A/len`` or ``net A mask M`` (libpcap's ``gen_mcode``)."""
    parts = atoin_parts(text)
    if parts is None:
        gen.error(f"invalid IPv4 address '{text}'")
    n = (parts[0] << (32 - parts[1])) & 0xFFFF_FFFF
    if mask_text is not None:
        mparts = atoin_parts(mask_text)
        if mparts is None:
            gen.error(f"invalid IPv4 address '{mask_text}'")
        m = (mparts[0] << (32 - mparts[1])) & 0xFFFF_FFFF
        if n & ~m:
            gen.error(f'non-network bits set in "{text} mask {mask_text}"')
    else:
        if masklen > 32:
            gen.error("mask length must be <= 32")
        m = 0 if masklen == 0 else (0xFFFF_FFFF << (32 - masklen)) & 0xFFFF_FFFF
        if n & ~m:
            gen.error(f'non-network bits set in "{text}/{masklen}"')
    if q.addr is not Addr.NET:
        gen.error("Mask syntax for networks only")
    return host4(gen, n, m, q)


def _hostop6(gen: Gen, addr: bytes, mask: bytes, d: Dir, src_off: int, dst_off: int) -> Block:
    if d in (Dir.AND, Dir.OR, Dir.DEFAULT):
        b0 = _hostop6(gen, addr, mask, Dir.SRC, src_off, dst_off)
        b1 = _hostop6(gen, addr, mask, Dir.DST, src_off, dst_off)
        (gen_and if d is Dir.AND else gen_or)(b0, b1)
        return b1
    offset = src_off if d is Dir.SRC else dst_off

    def word(i: int) -> Block:
        a = int.from_bytes(addr[4 * i : 4 * i + 4])
        m = int.from_bytes(mask[4 * i : 4 * i + 4])
        return gen.mcmp(OffRel.LINKPL, offset + 4 * i, BPF_W, a, m)

    b1 = word(3)
    for i in (2, 1, 0):
        gen_and(word(i), b1)
    gen_and(gen.linktype(ETHERTYPE_IPV6), b1)
    return b1


def net6(gen: Gen, text: str, masklen: int, q: Qual) -> Block:
    """An IPv6 host (``masklen`` 128) or network (libpcap's ``gen_mcode6``)."""
    try:
        addr = socket.inet_pton(socket.AF_INET6, text)
    except OSError:
        gen.error(f"invalid ip6 address {text}")
    if masklen > 128:
        gen.error("mask length must be <= 128")
    bits = (1 << 128) - (1 << (128 - masklen)) if masklen else 0
    mask = bits.to_bytes(16)
    if int.from_bytes(addr) & ~bits:
        gen.error(f'non-network bits set in "{text}/{masklen}"')
    if q.addr in (Addr.DEFAULT, Addr.HOST):
        if masklen != 128:
            gen.error("Mask syntax for networks only")
    elif q.addr is not Addr.NET:
        gen.error("invalid qualifier against IPv6 address")
    return host6(gen, addr, mask, q)


def host6(gen: Gen, addr: bytes, mask: bytes, q: Qual) -> Block:
    """An IPv6 host or network under ``q`` (libpcap's ``gen_host6``)."""
    if q.proto in (Proto.DEFAULT, Proto.IPV6):
        return _hostop6(gen, addr, mask, q.dir, 8, 24)
    if q.proto is Proto.LINK:
        gen.error(f"link-layer modifier applied to ip6 {_typestr(q.addr)}")
    gen.error(f"'{q.proto.value}' modifier applied to ip6 {_typestr(q.addr)}")


def ether_aton(text: str) -> bytes:
    """libpcap's ``pcap_ether_aton``: one or two hex digits per byte, any separators."""
    out = bytearray()
    i = 1 if text[:1] in (":", ".", "-") else 0
    while i < len(text):
        d = int(text[i], 16)
        i += 1
        if i < len(text) and text[i] in "0123456789abcdefABCDEF":
            d = d << 4 | int(text[i], 16)
            i += 1
        out.append(d)
        if i < len(text) and text[i] in ":.-":
            i += 1
    return bytes(out[:6]).ljust(6, b"\0")


def _ehostop(gen: Gen, eaddr: bytes, d: Dir) -> Block:
    if d in (Dir.AND, Dir.OR, Dir.DEFAULT):
        b0 = _ehostop(gen, eaddr, Dir.SRC)
        b1 = _ehostop(gen, eaddr, Dir.DST)
        (gen_and if d is Dir.AND else gen_or)(b0, b1)
        return b1
    return gen.bcmp(OffRel.LINKHDR, 6 if d is Dir.SRC else 0, eaddr)


def ether_host(gen: Gen, text: str, q: Qual) -> Block:
    """``ether [src|dst] host MAC`` (libpcap's ``gen_ecode``)."""
    if q.addr not in (Addr.HOST, Addr.DEFAULT) or q.proto is not Proto.LINK:
        gen.error("ethernet address used in non-ether expression")
    if not gen.link.ethernet:
        gen.error(
            "ethernet addresses supported only on ethernet/FDDI/token ring/802.11/"
            "ATM LANE/Fibre Channel"
        )
    return _ehostop(gen, ether_aton(text), q.dir)


def atodn(text: str) -> int | None:
    """libpcap's ``__pcap_atodn``: a DECnet ``area.node`` address, or None."""
    m = re.match(r"\s*([+-]?\d+)\.([+-]?\d+)", text)
    if m is None:
        return None
    area, node = int(m.group(1)), int(m.group(2))
    return ((area << 10) & 0xFC00) | (node & 0x3FF)


def decnet_host(gen: Gen, addr: int, d: Dir) -> Block:
    """A DECnet host: short and long routing headers, with and without padding."""
    if d in (Dir.AND, Dir.OR, Dir.DEFAULT):
        b0 = decnet_host(gen, addr, Dir.SRC)
        b1 = decnet_host(gen, addr, Dir.DST)
        (gen_and if d is Dir.AND else gen_or)(b0, b1)
        return b1
    offset_sh, offset_lh = (3, 15) if d is Dir.SRC else (1, 7)
    # libpcap compares with ntohs() of the values: byte-swapped on a little-endian host
    swapped = int.from_bytes((addr & 0xFFFF).to_bytes(2, "little"))
    b0 = gen.linktype(ETHERTYPE_DN)
    tmp = gen.mcmp(OffRel.LINKPL, 2, BPF_H, 0x8106, 0xFF07)  # pad 1, long header
    b1 = gen.cmp(OffRel.LINKPL, 2 + 1 + offset_lh, BPF_H, swapped)
    gen_and(tmp, b1)
    tmp = gen.mcmp(OffRel.LINKPL, 2, BPF_B, 0x06, 0x07)  # pad 0, long header
    b2 = gen.cmp(OffRel.LINKPL, 2 + offset_lh, BPF_H, swapped)
    gen_and(tmp, b2)
    gen_or(b2, b1)
    tmp = gen.mcmp(OffRel.LINKPL, 2, BPF_H, 0x8102, 0xFF07)  # pad 1, short header
    b2 = gen.cmp(OffRel.LINKPL, 2 + 1 + offset_sh, BPF_H, swapped)
    gen_and(tmp, b2)
    gen_or(b2, b1)
    tmp = gen.mcmp(OffRel.LINKPL, 2, BPF_B, 0x02, 0x07)  # pad 0, short header
    b2 = gen.cmp(OffRel.LINKPL, 2 + offset_sh, BPF_H, swapped)
    gen_and(tmp, b2)
    gen_or(b2, b1)
    gen_and(b0, b1)
    return b1


def broadcast(gen: Gen, which: Proto) -> Block:
    """``[ether|ip] broadcast``."""
    if which in (Proto.DEFAULT, Proto.LINK):
        if not gen.link.ethernet:
            gen.error("not a broadcast link")
        return _ehostop(gen, b"\xff" * 6, Dir.DST)
    if which is Proto.IP:
        if gen.netmask == PCAP_NETMASK_UNKNOWN:
            gen.error("netmask not known, so 'ip broadcast' not supported")
        b0 = gen.linktype(ETHERTYPE_IP)
        hostmask = ~gen.netmask & 0xFFFF_FFFF
        b1 = gen.mcmp(OffRel.LINKPL, 16, BPF_W, 0, hostmask)
        b2 = gen.mcmp(OffRel.LINKPL, 16, BPF_W, hostmask, hostmask)
        gen_or(b1, b2)
        gen_and(b0, b2)
        return b2
    gen.error("only link-layer/IP broadcast filters supported")


def multicast(gen: Gen, which: Proto) -> Block:
    """``[ether|ip|ip6] multicast``."""
    if which in (Proto.DEFAULT, Proto.LINK):
        if gen.link.ethernet:
            return Block(jmp(BPF_JSET), 1, gen.load(OffRel.LINKHDR, 0, BPF_B))
    elif which is Proto.IP:
        b0 = gen.linktype(ETHERTYPE_IP)
        b1 = gen.cmp_ge(OffRel.LINKPL, 16, BPF_B, 224)
        gen_and(b0, b1)
        return b1
    elif which is Proto.IPV6:
        b0 = gen.linktype(ETHERTYPE_IPV6)
        b1 = gen.cmp(OffRel.LINKPL, 24, BPF_B, 255)
        gen_and(b0, b1)
        return b1
    gen.error(
        "link-layer multicast filters supported only on ethernet/FDDI/token ring/"
        "ARCNET/802.11/ATM LANE/Fibre Channel"
    )
