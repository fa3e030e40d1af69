"""Protocol primitives: ``tcp``, ``ip6``, ``arp`` ..., ``ip proto N``, ``ether proto N``
and ``protochain``, compiled as libpcap 1.10 compiles them.

* A protocol on its own (``abbrev``) is a link-layer type test (``ip``,
  ``arp``, ``stp`` ...) or a protocol-number test over IPv4 and/or IPv6
  (``tcp`` is ``ip proto 6 or ip6 proto 6``, ``icmp`` only IPv4).
* ``ip proto N`` tests IPv4's protocol byte; ``ip6 proto N`` tests the next
  header of the fixed header, or of a fragment header right after it.
* ``protochain N`` walks the IPv6 extension headers and AH in a loop (the only
  backward jumps libpcap emits; it turns the optimizer off), with libpcap's
  quirk of restarting the walk of AH headers at ``(len + 2) * 4``.
* ``ipfrag`` is the "first or only fragment" test the port and transport-layer
  loads put before their loads.

This module does no parsing and no name lookup beyond the protocol tables of
``ebpy.cbpf.pcap.names``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from ebpy.cbpf.isa import (
    BPF_ABS,
    BPF_ADD,
    BPF_ALU,
    BPF_B,
    BPF_H,
    BPF_IMM,
    BPF_IND,
    BPF_JA,
    BPF_JEQ,
    BPF_JMP,
    BPF_JSET,
    BPF_K,
    BPF_LD,
    BPF_LDX,
    BPF_MEM,
    BPF_MISC,
    BPF_MSH,
    BPF_MUL,
    BPF_ST,
    BPF_TAX,
    BPF_TXA,
    BPF_X,
)
from ebpy.cbpf.pcap.ast import Proto
from ebpy.cbpf.pcap.blocks import Block, Stmt, gen_and, gen_not, gen_or
from ebpy.cbpf.pcap.gencode import Gen, OffRel, jmp
from ebpy.cbpf.pcap.names import ether_protocol, ip_protocol, llc_sap

__all__ = ["abbrev", "ipfrag", "lookup_proto", "proto", "protochain"]

ETHERTYPE_IP = 0x0800
ETHERTYPE_IPV6 = 0x86DD
IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_FRAGMENT = 0, 43, 44
IPPROTO_AH, IPPROTO_NONE, IPPROTO_DSTOPTS = 51, 59, 60
LLCSAP_ISONS = 0xFE

_LINK_ABBREVS = {
    Proto.IP: ETHERTYPE_IP,
    Proto.ARP: 0x0806,
    Proto.RARP: 0x8035,
    Proto.ATALK: 0x809B,
    Proto.AARP: 0x80F3,
    Proto.DECNET: 0x6003,
    Proto.SCA: 0x6007,
    Proto.LAT: 0x6004,
    Proto.MOPDL: 0x6001,
    Proto.MOPRC: 0x6002,
    Proto.IPV6: ETHERTYPE_IPV6,
    Proto.ISO: LLCSAP_ISONS,
    Proto.STP: 0x42,
    Proto.IPX: 0xE0,
    Proto.NETBEUI: 0xF0,
}
"""Protocols that are a link-layer type: EtherType or LLC SAP."""

_NUMBER_ABBREVS = {
    Proto.SCTP: (132, Proto.DEFAULT),
    Proto.TCP: (6, Proto.DEFAULT),
    Proto.UDP: (17, Proto.DEFAULT),
    Proto.ICMP: (1, Proto.IP),
    Proto.IGMP: (2, Proto.IP),
    Proto.IGRP: (9, Proto.IP),
    Proto.PIM: (103, Proto.DEFAULT),
    Proto.VRRP: (112, Proto.IP),
    Proto.CARP: (112, Proto.IP),
    Proto.ICMPV6: (58, Proto.IPV6),
    Proto.AH: (51, Proto.DEFAULT),
    Proto.ESP: (50, Proto.DEFAULT),
    Proto.ESIS: (0x82, Proto.ISO),
    Proto.ISIS: (0x83, Proto.ISO),
    Proto.CLNP: (0x81, Proto.ISO),
}
"""Protocols that are a protocol number inside another: (number, carried in)."""


def abbrev(gen: Gen, which: Proto) -> Block:
    """A protocol keyword on its own (libpcap's ``gen_proto_abbrev``)."""
    if which in _LINK_ABBREVS:
        return gen.linktype(_LINK_ABBREVS[which])
    if which in _NUMBER_ABBREVS:
        number, carrier = _NUMBER_ABBREVS[which]
        return proto(gen, number, carrier)
    if which is Proto.LINK:
        gen.error("link layer applied in wrong context")
    gen.error(f"'{which.value}' is not a valid protocol type")


def _ip_proto(gen: Gen, v: int) -> Block:
    b0 = gen.linktype(ETHERTYPE_IP)
    b1 = gen.cmp(OffRel.LINKPL, 9, BPF_B, v)
    gen_and(b0, b1)
    return b1


def _ip6_proto(gen: Gen, v: int) -> Block:
    b0 = gen.linktype(ETHERTYPE_IPV6)
    b2 = gen.cmp(OffRel.LINKPL, 6, BPF_B, IPPROTO_FRAGMENT)
    b1 = gen.cmp(OffRel.LINKPL, 40, BPF_B, v)
    gen_and(b2, b1)
    b2 = gen.cmp(OffRel.LINKPL, 6, BPF_B, v)
    gen_or(b2, b1)
    gen_and(b0, b1)
    return b1


def _iso_proto(gen: Gen, v: int) -> Block:
    b0 = gen.linktype(LLCSAP_ISONS)
    b1 = gen.cmp(OffRel.LINKPL_NOSNAP, 0, BPF_B, v)
    gen_and(b0, b1)
    return b1


def _default_proto(gen: Gen, v: int) -> Block:
    b0 = _ip_proto(gen, v)
    b1 = _ip6_proto(gen, v)
    gen_or(b0, b1)
    return b1


_PROTO: dict[Proto, Callable[[Gen, int], Block]] = {
    Proto.DEFAULT: _default_proto,
    Proto.LINK: lambda gen, v: gen.linktype(v),
    Proto.IP: _ip_proto,
    Proto.IPV6: _ip6_proto,
    Proto.ISO: _iso_proto,
}


def proto(gen: Gen, v: int, which: Proto) -> Block:
    """``[which] proto v`` (libpcap's ``gen_proto``)."""
    if which in _PROTO:
        return _PROTO[which](gen, v)
    if which in (Proto.ARP, Proto.RARP):
        gen.error(f"{which.value} does not encapsulate another protocol")
    gen.error(f"'{which.value} proto' is bogus")


def lookup_proto(gen: Gen, name: str, which: Proto) -> int:
    """The number a protocol name stands for under the qualifier ``which``."""
    if which in (Proto.DEFAULT, Proto.IP, Proto.IPV6):
        v = ip_protocol(name)
        if v is None:
            gen.error(f"unknown ip proto '{name}'")
        return v
    if which is Proto.LINK:
        v = ether_protocol(name)
        if v is None:
            v = llc_sap(name)
        if v is None:
            gen.error(f"unknown ether proto '{name}'")
        return v
    if which is Proto.ISO:
        iso = {"esis": 0x82, "isis": 0x83, "clnp": 0x81}
        if name not in iso:
            gen.error(f"unknown osi proto '{name}'")
        return iso[name]
    gen.error(f"unknown protocol: {name}")


def ipfrag(gen: Gen) -> Block:
    """The IPv4 fragment offset is 0: the first (or only) fragment."""
    b = Block(jmp(BPF_JSET), 0x1FFF, gen.load(OffRel.LINKPL, 6, BPF_H))
    gen_not(b)
    return b


def _jeq(k: int) -> Stmt:
    return Stmt(BPF_JMP | BPF_JEQ | BPF_K, k)


def protochain(gen: Gen, v: int, which: Proto) -> Block:
    """``[ip|ip6] protochain v``: follow the header chain looking for ``v``."""
    reg = gen.alloc_reg()
    if which is Proto.DEFAULT:
        b0 = protochain(gen, v, Proto.IP)
        b = protochain(gen, v, Proto.IPV6)
        gen_or(b0, b)
        return b
    if which not in (Proto.IP, Proto.IPV6):
        gen.error("bad protocol applied for 'protochain'")
    if gen.off_linkpl.variable:
        gen.error("'protochain' not supported with variable length headers")
    gen.no_optimize = True
    nl = gen.off_linkpl.constant + gen.off_nl
    s: list[Stmt] = []
    if which is Proto.IP:
        b0 = gen.linktype(ETHERTYPE_IP)
        s += [Stmt(BPF_LD | BPF_ABS | BPF_B, nl + 9), Stmt(BPF_LDX | BPF_MSH | BPF_B, nl)]
    else:
        b0 = gen.linktype(ETHERTYPE_IPV6)
        s += [Stmt(BPF_LD | BPF_ABS | BPF_B, nl + 6), Stmt(BPF_LDX | BPF_IMM, 40)]
    again = len(s)
    found, none = _jeq(v), _jeq(IPPROTO_NONE)
    s += [found, none]
    found.jf = none
    end = Stmt(BPF_ALU | BPF_ADD | BPF_K, 0)
    ahcheck = _jeq(IPPROTO_AH)
    if which is Proto.IPV6:
        tests = [_jeq(k) for k in (IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING)]
        tests.append(_jeq(IPPROTO_FRAGMENT))
        none.jf = tests[0]
        for test, following in itertools.pairwise(tests):
            test.jf = following
        tests[-1].jf = ahcheck
        s += tests
        advance = [
            Stmt(BPF_LD | BPF_IND | BPF_B, nl),  # A = next header
            Stmt(BPF_ST, reg),
            Stmt(BPF_LD | BPF_IND | BPF_B, nl + 1),  # header length in 8-byte units
            Stmt(BPF_ALU | BPF_ADD | BPF_K, 1),
            Stmt(BPF_ALU | BPF_MUL | BPF_K, 8),
            Stmt(BPF_ALU | BPF_ADD | BPF_X),
            Stmt(BPF_MISC | BPF_TAX),
            Stmt(BPF_LD | BPF_MEM, reg),
        ]
        for t in tests:
            t.jt = advance[0]
        s += advance
        s.append(Stmt(BPF_JMP | BPF_JA, again - len(s) - 1))
    else:
        nop = Stmt(BPF_ALU | BPF_ADD | BPF_K, 0)
        none.jf = nop
        s.append(nop)
    s.append(ahcheck)
    ah = [
        Stmt(BPF_MISC | BPF_TXA),
        Stmt(BPF_LD | BPF_IND | BPF_B, nl),  # A = next header
        Stmt(BPF_ST, reg),
        Stmt(BPF_MISC | BPF_TXA),
        Stmt(BPF_ALU | BPF_ADD | BPF_K, 1),
        Stmt(BPF_MISC | BPF_TAX),
        Stmt(BPF_LD | BPF_IND | BPF_B, nl),  # payload length in 4-byte units, minus 2
        Stmt(BPF_ALU | BPF_ADD | BPF_K, 2),
        Stmt(BPF_ALU | BPF_MUL | BPF_K, 4),
        Stmt(BPF_MISC | BPF_TAX),
        Stmt(BPF_LD | BPF_MEM, reg),
    ]
    ahcheck.jt, ahcheck.jf = ah[0], end
    s += ah
    s.append(Stmt(BPF_JMP | BPF_JA, again - len(s) - 1))
    s.append(end)
    none.jt = end
    found.jt = end
    b = Block(jmp(BPF_JEQ), v, s)
    gen.free_reg(reg)
    gen_and(b0, b)
    return b
