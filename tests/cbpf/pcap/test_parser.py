"""The pcap-filter grammar: precedence, qualifier reuse, and what libpcap accepts."""

from __future__ import annotations

import pytest

from ebpy.cbpf.pcap.ast import (
    QERR,
    Addr,
    And,
    Binary,
    Dir,
    Ident,
    IdKind,
    Load,
    Negate,
    Not,
    Or,
    Proto,
    Qual,
    Relation,
)
from ebpy.cbpf.pcap.parser import parse
from ebpy.errors import FilterSyntaxError


def shape(node: object) -> object:
    """A compact picture of a tree: ids by text, operators as tuples."""
    if isinstance(node, And | Or):
        return (type(node).__name__.lower(), shape(node.left), shape(node.right))
    if isinstance(node, Not):
        return ("not", shape(node.operand))
    if isinstance(node, Ident):
        return node.text
    if isinstance(node, Relation):
        return (node.op, shape(node.left), shape(node.right))
    if isinstance(node, Binary):
        return (node.op, shape(node.left), shape(node.right))
    if isinstance(node, Negate):
        return ("-", shape(node.operand))
    if isinstance(node, Load):
        return f"{node.proto.value}[{shape(node.index)}:{node.size}]"
    return getattr(node, "value", type(node).__name__)


def test_empty() -> None:
    assert parse("") is None
    assert parse("   ") is None


@pytest.mark.parametrize(
    ("expr", "want"),
    [
        ("host 1.2.3.4 or 1.2.3.5 and 1.2.3.6", ("and", ("or", "1.2.3.4", "1.2.3.5"), "1.2.3.6")),
        ("host 1.2.3.4 and 1.2.3.5 or 1.2.3.6", ("or", ("and", "1.2.3.4", "1.2.3.5"), "1.2.3.6")),
        ("not host 1.2.3.4 and 1.2.3.5", ("and", ("not", "1.2.3.4"), "1.2.3.5")),
        ("host 1.2.3.4 and not 1.2.3.5", ("and", "1.2.3.4", ("not", "1.2.3.5"))),
        ("host (1.2.3.4 or 1.2.3.5)", ("or", "1.2.3.4", "1.2.3.5")),
        ("len + 1 * 2 = 3", ("=", ("+", "PacketLen", ("*", 1, 2)), 3)),
        ("len * 1 + 2 = 3", ("=", ("+", ("*", "PacketLen", 1), 2), 3)),
        ("len - 1 - 2 = 3", ("=", ("-", ("-", "PacketLen", 1), 2), 3)),
        ("len | 1 & 2 = 3", ("=", ("|", "PacketLen", ("&", 1, 2)), 3)),
        ("len << 1 + 2 = 3", ("=", ("<<", "PacketLen", ("+", 1, 2)), 3)),
        ("-len + 1 = 3", ("=", ("+", ("-", "PacketLen"), 1), 3)),
        # '^' and '%' have no precedence in libpcap's grammar: yacc shifts
        ("len ^ 1 & 2 = 3", ("=", ("^", "PacketLen", ("&", 1, 2)), 3)),
        ("len & 1 ^ 2 = 3", ("=", ("&", "PacketLen", ("^", 1, 2)), 3)),
        ("len % 1 * 2 = 3", ("=", ("%", "PacketLen", ("*", 1, 2)), 3)),
        ("len * 1 % 2 = 3", ("=", ("*", "PacketLen", ("%", 1, 2)), 3)),
        ("-len % 2 = 3", ("=", ("-", ("%", "PacketLen", 2)), 3)),
        ("ip[2:2] > 576", (">", "ip[2:2]", 576)),
        ("tcp[tcp[12] >> 4] != 0", ("!=", "tcp[('>>', 'tcp[12:1]', 4):1]", 0)),
        ("(ip[0]) = 1", ("=", "ip[0:1]", 1)),
    ],
)
def test_shapes(expr: str, want: object) -> None:
    assert shape(parse(expr)) == want


def idents(expr: str) -> list[tuple[str, Qual]]:
    out: list[tuple[str, Qual]] = []

    def walk(node: object) -> None:
        if isinstance(node, And | Or):
            walk(node.left)
            walk(node.right)
        elif isinstance(node, Not):
            walk(node.operand)
        elif isinstance(node, Ident):
            out.append((node.text, node.qual))

    walk(parse(expr))
    return out


def test_qualifiers_are_reused() -> None:
    net_src = Qual(Proto.DEFAULT, Dir.SRC, Addr.NET)
    assert idents("src net 10 and not 11") == [("10", net_src), ("11", net_src)]
    port = Qual(Proto.TCP, Dir.DST, Addr.PORT)
    assert idents("tcp dst port 80 or 443") == [("80", port), ("443", port)]
    host = Qual(addr=Addr.HOST)
    # a parenthesised expression passes on the qualifiers from before it
    assert [i for i, _ in idents("host 1.2.3.4 and (tcp) and 1.2.3.5")] == ["1.2.3.4", "1.2.3.5"]
    assert idents("host 1.2.3.4 and (tcp) and 1.2.3.5")[1][1] == host
    # after a protocol or a comparison there are none
    assert idents("tcp and 80") == [("80", QERR)]


@pytest.mark.parametrize(
    ("expr", "kind", "qual"),
    [
        ("ether src 1:2:3:4:5:6", IdKind.MAC, Qual(Proto.LINK, Dir.SRC)),
        ("net 10.0.0.0/8", IdKind.NET4_LEN, Qual(addr=Addr.NET)),
        ("net 10.0.0.0 mask 255.0.0.0", IdKind.NET4_MASK, Qual(addr=Addr.NET)),
        ("ip6 src or dst net fd00::/8", IdKind.NET6_LEN, Qual(Proto.IPV6, Dir.OR, Addr.NET)),
        ("dst and src host ::1", IdKind.HOST6, Qual(dir=Dir.AND, addr=Addr.HOST)),
        ("ip proto \\tcp", IdKind.NAME, Qual(Proto.IP, addr=Addr.PROTO)),
        ("ip6 protochain 6", IdKind.NUM, Qual(Proto.IPV6, addr=Addr.PROTOCHAIN)),
        ("udp src portrange 1-1023", IdKind.NAME, Qual(Proto.UDP, Dir.SRC, Addr.PORTRANGE)),
        ("src 10.0.0.1", IdKind.HOST4, Qual(dir=Dir.SRC)),
    ],
)
def test_ids(expr: str, kind: IdKind, qual: Qual) -> None:
    node = parse(expr)
    assert isinstance(node, Ident)
    assert (node.kind, node.qual) == (kind, qual)


@pytest.mark.parametrize(
    "expr",
    [
        "10.0.0.1",  # an id needs qualifiers before it
        "ssh",
        "80",
        "ip proto tcp",  # 'tcp' is a keyword: \\tcp
        "ether proto ip",
        "net 10/8",  # a prefix needs a dotted address
        "udp 53",
        "src or 10.0.0.1",
        "host 10.0.0.1 and",
        "(tcp",
        "tcp)",
        "len >",
        "less (10)",  # less takes a number, not an expression
        "vlan (tcp)",
        "((80))",
        "ip[1:]",
        "not",
        "tcp udp",
    ],
)
def test_syntax_errors(expr: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse(expr)
    assert info.value.expr == expr
    assert 1 <= info.value.column <= len(expr) + 1
