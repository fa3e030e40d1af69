"""From a syntax tree to classic BPF: walk the tree in libpcap's order and glue the blocks.

``compile_filter`` is the whole compiler: parse, generate code for each node
in the order libpcap's parser reduces them (left to right, operands before
operators, so ``vlan``/``mpls`` offsets and scratch registers come out the
same), finish with ``ret #snaplen``/``ret #0``, optionally optimize, and lay
the blocks out. One handler per node type (``_HANDLERS``); ids dispatch on
their form and address qualifier (``_IDENTS``, ``_NUMERIC``, ``_NAMED``).

Errors are ``FilterSyntaxError`` with the column and text of the token at
fault. Names that need a resolver (host, network, Ethernet host names,
``gateway``) are refused: ebpy does not resolve names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ebpy.cbpf.isa import BPF_K, BPF_RET, Insn
from ebpy.cbpf.pcap import addresses, arith, encap, ports, protocols
from ebpy.cbpf.pcap.ast import (
    Abbrev,
    Addr,
    And,
    Binary,
    Broadcast,
    ByteOp,
    Direction,
    Expr,
    Ident,
    IdKind,
    Length,
    Load,
    Mpls,
    Multicast,
    Negate,
    Not,
    Num,
    Or,
    PacketLen,
    Proto,
    Relation,
    Vlan,
)
from ebpy.cbpf.pcap.blocks import Block, finish, gen_and, gen_not, gen_or, linearize
from ebpy.cbpf.pcap.gencode import Gen
from ebpy.cbpf.pcap.parser import parse
from ebpy.errors import FilterSyntaxError

__all__ = ["compile_filter", "generate"]


def _no_names(gen: Gen, what: str, name: str) -> Block:
    gen.error(f"{what} names are not resolved by ebpy: '{name}' (use an address)")


# --- ids ------------------------------------------------------------------------------


def _ncode(gen: Gen, node: Ident, text: str | None) -> Block:
    """A number or a dotted IPv4 address under its qualifiers (libpcap's ``gen_ncode``)."""
    q = node.qual
    if text is None:
        v, vlen = node.value, 32
    elif q.proto is Proto.DECNET:
        dn = addresses.atodn(text)
        if dn is None:
            gen.error(f"malformed decnet address '{text}'")
        v, vlen = dn, 32
    else:
        parts = addresses.atoin_parts(text)
        if parts is None:
            gen.error(f"invalid IPv4 address '{text}'")
        v, vlen = parts
    if q.addr in (Addr.DEFAULT, Addr.HOST, Addr.NET):
        if q.proto is Proto.DECNET:
            return addresses.decnet_host(gen, v, q.dir)
        if q.proto is Proto.LINK:
            gen.error("illegal link layer address")
        mask = 0xFFFF_FFFF
        if text is None and q.addr is Addr.NET:
            while v and not v & 0xFF00_0000:
                v, mask = v << 8, (mask << 8) & 0xFFFF_FFFF
        else:
            v, mask = (v << (32 - vlen)) & 0xFFFF_FFFF, (mask << (32 - vlen)) & 0xFFFF_FFFF
        return addresses.host4(gen, v, mask, q)
    return _NUMERIC[q.addr](gen, node, v)


_NUMERIC: dict[Addr, Callable[[Gen, Ident, int], Block]] = {
    Addr.PORT: lambda gen, node, v: ports.port_number(gen, v, node.qual),
    Addr.PORTRANGE: lambda gen, node, v: ports.portrange_number(gen, v, node.qual),
    Addr.GATEWAY: lambda gen, node, v: gen.error("'gateway' requires a name"),
    Addr.PROTO: lambda gen, node, v: protocols.proto(gen, v, node.qual.proto),
    Addr.PROTOCHAIN: lambda gen, node, v: protocols.protochain(gen, v, node.qual.proto),
    Addr.UNDEF: lambda gen, node, v: gen.error("syntax error in filter expression"),
}


def _name_proto(gen: Gen, node: Ident) -> Block:
    v = protocols.lookup_proto(gen, node.text, node.qual.proto)
    return protocols.proto(gen, v, node.qual.proto)


def _name_chain(gen: Gen, node: Ident) -> Block:
    v = protocols.lookup_proto(gen, node.text, node.qual.proto)
    return protocols.protochain(gen, v, node.qual.proto)


def _name_host(gen: Gen, node: Ident) -> Block:
    if node.qual.proto is Proto.LINK:
        if not gen.link.ethernet:
            gen.error(
                "only ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel supports "
                "link-level host name"
            )
        return _no_names(gen, "Ethernet host", node.text)
    return _no_names(gen, "host", node.text)


_NAMED: dict[Addr, Callable[[Gen, Ident], Block]] = {
    Addr.DEFAULT: _name_host,
    Addr.HOST: _name_host,
    Addr.NET: lambda gen, node: _no_names(gen, "network", node.text),
    Addr.GATEWAY: lambda gen, node: _no_names(gen, "gateway host", node.text),
    Addr.PORT: lambda gen, node: ports.port_name(gen, node.text, node.qual),
    Addr.PORTRANGE: lambda gen, node: ports.portrange_name(gen, node.text, node.qual),
    Addr.PROTO: _name_proto,
    Addr.PROTOCHAIN: _name_chain,
    Addr.UNDEF: lambda gen, node: gen.error("syntax error in filter expression"),
}


def _host4(gen: Gen, node: Ident) -> Block:
    if node.qual.addr in (Addr.PORT, Addr.PORTRANGE, Addr.PROTO, Addr.PROTOCHAIN):
        gen.error(f"'{node.qual.addr.value}' modifier applied to ip host")
    return _ncode(gen, node, node.text)


def _arcnet(gen: Gen, node: Ident) -> Block:
    gen.error("ARCnet addresses are not supported")


_IDENTS: dict[IdKind, Callable[[Gen, Ident], Block]] = {
    IdKind.NUM: lambda gen, node: _ncode(gen, node, None),
    IdKind.NAME: lambda gen, node: _NAMED[node.qual.addr](gen, node),
    IdKind.HOST4: _host4,
    IdKind.NET4_LEN: lambda gen, n: addresses.net4_masked(gen, n.text, None, n.value, n.qual),
    IdKind.NET4_MASK: lambda gen, n: addresses.net4_masked(gen, n.text, n.mask, 0, n.qual),
    IdKind.HOST6: lambda gen, n: addresses.net6(gen, n.text, 128, n.qual),
    IdKind.NET6_LEN: lambda gen, n: addresses.net6(gen, n.text, n.value, n.qual),
    IdKind.MAC: lambda gen, n: addresses.ether_host(gen, n.text, n.qual),
    IdKind.ARCNET: _arcnet,
}


# --- arithmetic -----------------------------------------------------------------------


def _load(gen: Gen, node: Load) -> arith.Arth:
    index = _arith(gen, node.index)
    gen.tok = node.tok
    return arith.load(gen, node.proto, index, node.size)


def _binary_arith(gen: Gen, node: Binary) -> arith.Arth:
    a0 = _arith(gen, node.left)
    a1 = _arith(gen, node.right)
    gen.tok = node.tok
    return arith.arth(gen, node.op, a0, a1)


_ARITH: dict[type, Callable[[Gen, Any], arith.Arth]] = {
    Num: lambda gen, node: arith.loadi(gen, node.value),
    PacketLen: lambda gen, node: arith.loadlen(gen),
    Load: _load,
    Binary: _binary_arith,
    Negate: lambda gen, node: arith.neg(gen, _arith(gen, node.operand)),
}


def _arith(gen: Gen, node: Any) -> arith.Arth:
    return _ARITH[type(node)](gen, node)


def _relation(gen: Gen, node: Relation) -> Block:
    a0 = _arith(gen, node.left)
    a1 = _arith(gen, node.right)
    gen.tok = node.tok
    return arith.relation(gen, node.op, a0, a1)


# --- boolean structure ------------------------------------------------------------------


def _not(gen: Gen, node: Not) -> Block:
    b = generate(gen, node.operand)
    gen_not(b)
    return b


def _binary(gen: Gen, node: And | Or) -> Block:
    """A left-leaning chain of ``and``/``or`` without recursing down its spine."""
    spine: list[And | Or] = []
    left: Expr = node
    while isinstance(left, (And, Or)):
        spine.append(left)
        left = left.left
    b = generate(gen, left)
    for op in reversed(spine):
        right = generate(gen, op.right)
        (gen_and if isinstance(op, And) else gen_or)(b, right)
        b = right
    return b


_HANDLERS: dict[type, Callable[[Gen, Any], Block]] = {
    And: _binary,
    Or: _binary,
    Not: _not,
    Ident: lambda gen, node: _IDENTS[node.kind](gen, node),
    Abbrev: lambda gen, node: protocols.abbrev(gen, node.proto),
    Relation: _relation,
    Broadcast: lambda gen, node: addresses.broadcast(gen, node.proto),
    Multicast: lambda gen, node: addresses.multicast(gen, node.proto),
    Length: lambda gen, node: encap.length(gen, node.greater, node.value),
    Vlan: lambda gen, node: encap.vlan(gen, node.vid),
    Mpls: lambda gen, node: encap.mpls(gen, node.label),
    Direction: lambda gen, node: encap.direction(gen, node.outbound),
    ByteOp: lambda gen, node: encap.byteop(gen, node.op, node.index, node.value),
}


def generate(gen: Gen, node: Expr) -> Block:
    """The block of ``node`` (its representative: exits not yet patched)."""
    gen.tok = node.tok
    return _HANDLERS[type(node)](gen, node)


def compile_filter(
    expr: str,
    *,
    linktype: int = 1,
    snaplen: int = 262144,
    optimize: bool = True,
    netmask: int = 0,
    linux_vlan: bool = False,
    strict_truncation: bool = False,
    savefile: bool = False,
) -> list[Insn]:
    """Compile a pcap-filter expression as libpcap 1.10 (``tcpdump -d`` / ``-O -d``) does.

    ``linktype`` is a capture-file link type (1 Ethernet, 101/12/14 raw IP,
    113/276 Linux cooked v1/v2, 0 BSD loopback, 108 OpenBSD loopback, 228/229
    raw IPv4/IPv6); ``netmask`` is used by ``ip broadcast``. With ``linux_vlan``
    the program is for a live Linux socket, where the kernel may keep the outer
    VLAN tag out of the data (libpcap's code for live captures, ``tcpdump -i
    IFACE -d``); without, it is for capture files (``tcpdump -d``). The
    optimizer, as libpcap's, may change the verdict on a truncated packet;
    with ``strict_truncation`` it keeps every verdict of the unoptimized
    program. With ``savefile`` the program is for packets read from a capture
    file, which carry no Linux packet type: ``inbound``/``outbound`` on a link
    type without a direction field are refused, as libpcap refuses them when
    reading savefiles. Raises ``FilterSyntaxError``.

    >>> from ebpy.cbpf.text import dump
    >>> dump(compile_filter("ip6"), 1).splitlines()
    ['(000) ldh      [12]', '(001) jeq      #0x86dd          jt 2\\tjf 3', '(002) ret      #262144', '(003) ret      #0']
    >>> len(compile_filter("tcp port 80", optimize=False)), len(compile_filter("tcp port 80"))
    (22, 20)
    """
    from ebpy.cbpf.pcap.optimize import optimize_graph

    try:
        tree = parse(expr)
        gen = Gen(linktype, snaplen, netmask, expr, linux_vlan, savefile)
        if snaplen <= 0:
            raise FilterSyntaxError("snaplen of 0 rejects all packets", expr=expr)
        if tree is None:
            root = Block(BPF_RET | BPF_K, snaplen)
        else:
            b = generate(gen, tree)
            encap.vlan_prologue(gen, b.head)
            root = finish(b, snaplen)
        if optimize and not gen.no_optimize:
            root = optimize_graph(root, strict_truncation=strict_truncation)
            if root.code == BPF_RET | BPF_K and root.k == 0:
                raise FilterSyntaxError("expression rejects all packets", expr=expr)
        return linearize(root)
    except RecursionError:
        raise FilterSyntaxError("expression nested too deeply", expr=expr) from None
