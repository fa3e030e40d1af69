"""Port primitives: ``port``, ``portrange`` with their protocol and direction
qualifiers, compiled as libpcap 1.10 compiles them.

A port matches TCP, UDP and SCTP (or the one protocol qualified, or that a
service name is defined for) over IPv6 and then IPv4. Over IPv4 the test
first checks that the packet is the first (or only) fragment, and reads the
port past the IPv4 header (``ldxb 4*([14]&0xf)`` then ``ldh [x + 14]``); over
IPv6 only the next header of the fixed header is looked at. Port names come
from the built-in services table (``ebpy.cbpf.pcap.names``); a range is
``LOW-HIGH`` in numbers or names, in either order.
"""

from __future__ import annotations

from ebpy.cbpf.isa import BPF_B, BPF_H
from ebpy.cbpf.pcap.ast import Dir, Proto, Qual
from ebpy.cbpf.pcap.blocks import Block, gen_and, gen_or
from ebpy.cbpf.pcap.gencode import Gen, OffRel
from ebpy.cbpf.pcap.names import service_port
from ebpy.cbpf.pcap.protocols import ipfrag

__all__ = ["port_name", "port_number", "portrange_name", "portrange_number"]

ETHERTYPE_IP, ETHERTYPE_IPV6 = 0x0800, 0x86DD
IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP = 6, 17, 132
_QUAL_PROTO = {
    Proto.TCP: IPPROTO_TCP,
    Proto.UDP: IPPROTO_UDP,
    Proto.SCTP: IPPROTO_SCTP,
    Proto.DEFAULT: None,
}
_PROTO_NAMES = {IPPROTO_TCP: "tcp", IPPROTO_UDP: "udp", IPPROTO_SCTP: "sctp"}


def _atom(gen: Gen, v6: bool, off: int, lo: int, hi: int | None) -> Block:
    """The port at ``off`` of the transport header equals ``lo`` (or is in ``lo..hi``)."""
    rel = OffRel.TRAN_IPV6 if v6 else OffRel.TRAN_IPV4
    if hi is None:
        return gen.cmp(rel, off, BPF_H, lo)
    lo, hi = min(lo, hi), max(lo, hi)
    b1 = gen.cmp_ge(rel, off, BPF_H, lo)
    b2 = gen.cmp_le(rel, off, BPF_H, hi)
    gen_and(b1, b2)
    return b2


def _op(gen: Gen, v6: bool, ip_proto: int, d: Dir, lo: int, hi: int | None) -> Block:
    """One transport protocol: its protocol test, then the ports in direction ``d``."""
    if v6:
        b0 = gen.cmp(OffRel.LINKPL, 6, BPF_B, ip_proto)
    else:
        tmp = gen.cmp(OffRel.LINKPL, 9, BPF_B, ip_proto)
        b0 = ipfrag(gen)
        gen_and(tmp, b0)
    if d is Dir.SRC:
        b1 = _atom(gen, v6, 0, lo, hi)
    elif d is Dir.DST:
        b1 = _atom(gen, v6, 2, lo, hi)
    else:
        tmp = _atom(gen, v6, 0, lo, hi)
        b1 = _atom(gen, v6, 2, lo, hi)
        (gen_and if d is Dir.AND else gen_or)(tmp, b1)
    gen_and(b0, b1)
    return b1


def _family(gen: Gen, v6: bool, ip_proto: int | None, d: Dir, lo: int, hi: int | None) -> Block:
    b0 = gen.linktype(ETHERTYPE_IPV6 if v6 else ETHERTYPE_IP)
    if ip_proto is not None:
        b1 = _op(gen, v6, ip_proto, d, lo, hi)
    else:
        tmp = _op(gen, v6, IPPROTO_TCP, d, lo, hi)
        b1 = _op(gen, v6, IPPROTO_UDP, d, lo, hi)
        gen_or(tmp, b1)
        gen_or(_op(gen, v6, IPPROTO_SCTP, d, lo, hi), b1)
    gen_and(b0, b1)
    return b1


def _ports(gen: Gen, ip_proto: int | None, d: Dir, lo: int, hi: int | None) -> Block:
    b = _family(gen, False, ip_proto, d, lo, hi)
    gen_or(_family(gen, True, ip_proto, d, lo, hi), b)
    return b


def _qual_proto(gen: Gen, q: Qual, what: str) -> int | None:
    if q.proto not in _QUAL_PROTO:
        gen.error(f"illegal qualifier of '{what}'")
    return _QUAL_PROTO[q.proto]


def _check(gen: Gen, *ports: int) -> None:
    for port in ports:
        if port > 65535:
            gen.error(f"illegal port number {port} > 65535")


def port_number(gen: Gen, port: int, q: Qual) -> Block:
    """``[tcp|udp|sctp] [src|dst] port N``."""
    ip_proto = _qual_proto(gen, q, "port")
    _check(gen, port)
    return _ports(gen, ip_proto, q.dir, port, None)


def portrange_number(gen: Gen, port: int, q: Qual) -> Block:
    """``portrange N``: the range N-N."""
    ip_proto = _qual_proto(gen, q, "portrange")
    _check(gen, port)
    return _ports(gen, ip_proto, q.dir, port, port)


def _name_proto(gen: Gen, q: Qual, found: int | None, what: str, name: str) -> int | None:
    """Reconcile the service's protocol with the qualifier, as libpcap does."""
    wanted = _qual_proto(gen, q, "port")
    if wanted is None:
        return found
    if found is not None and found != wanted:
        gen.error(f"{what} '{name}' is {_PROTO_NAMES[found]}")
    return wanted


def port_name(gen: Gen, name: str, q: Qual) -> Block:
    """``port NAME`` (a service name, or a number written as a name)."""
    _qual_proto(gen, q, "port")
    found = service_port(name)
    if found is None:
        gen.error(f"unknown port '{name}'")
    port, proto = found
    ip_proto = _name_proto(gen, q, proto, "port", name)
    _check(gen, port)
    return _ports(gen, ip_proto, q.dir, port, None)


def _range(name: str) -> tuple[int, int, int | None] | None:
    """libpcap's ``pcap_nametoportrange``: ``LOW-HIGH`` as numbers or service names."""
    first, sep, second = name.partition("-")
    if first.isdigit() and sep and second[:1].isdigit():
        digits = len(second) - len(second.lstrip("0123456789"))
        return int(first), int(second[:digits]), None
    if not sep:
        return None
    lo, hi = service_port(first), service_port(second)
    if lo is None or hi is None:
        return None
    proto = lo[1] if lo[1] == hi[1] else None
    return lo[0], hi[0], proto


def portrange_name(gen: Gen, name: str, q: Qual) -> Block:
    """``portrange LOW-HIGH``."""
    _qual_proto(gen, q, "portrange")
    found = _range(name)
    if found is None:
        gen.error(f"unknown port in range '{name}'")
    lo, hi, proto = found
    ip_proto = _name_proto(gen, q, proto, "port in range", name)
    _check(gen, lo, hi)
    return _ports(gen, ip_proto, q.dir, lo, hi)
