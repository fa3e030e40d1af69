"""The pcap-filter scanner: token kinds, numbers, addresses, columns, bad input."""

from __future__ import annotations

import pytest

from ebpy.cbpf.pcap.lexer import KEYWORDS, NAMED_NUMBERS, Kind, tokenize
from ebpy.errors import FilterSyntaxError


def kinds(expr: str) -> list[tuple[str, str]]:
    return [(t.kind.name, t.text) for t in tokenize(expr)[:-1]]


@pytest.mark.parametrize(
    ("expr", "want"),
    [
        ("tcp port 80", [("KEYWORD", "tcp"), ("KEYWORD", "port"), ("NUM", "80")]),
        ("10.0.0.1", [("HID", "10.0.0.1")]),
        ("192.168", [("HID", "192.168")]),
        ("10.0.0.1.", [("ID", "10.0.0.1.")]),
        ("fe80::1", [("HID6", "fe80::1")]),
        ("::", [("HID6", "::")]),
        ("::ffff:1.2.3.4", [("HID6", "::ffff:1.2.3.4")]),
        ("1:2:3:4:5:6:7:8", [("HID6", "1:2:3:4:5:6:7:8")]),
        ("1:2:3:4:5:6", [("EID", "1:2:3:4:5:6")]),
        ("aa-bb-cc-dd-ee-ff", [("EID", "aa-bb-cc-dd-ee-ff")]),
        ("aabb.ccdd.eeff", [("EID", "aabb.ccdd.eeff")]),
        ("aabbccddeeff", [("EID", "aabbccddeeff")]),
        ("1.2.3.4.5.6", [("EID", "1.2.3.4.5.6")]),
        ("$0a", [("AID", "$0a")]),
        ("1-1023", [("ID", "1-1023")]),
        ("tcpdump", [("ID", "tcpdump")]),
        ("\\tcp", [("ID", "tcp")]),
        ("0x1g", [("ID", "0x1g")]),
        ("ip6", [("KEYWORD", "ip6")]),
        ("ipv6", [("ID", "ipv6")]),
        ("a>=b", [("ID", "a"), ("OP", ">="), ("ID", "b")]),
        ("a==b", [("ID", "a"), ("OP", "="), ("ID", "b")]),
        ("x<<2>>1", [("ID", "x"), ("OP", "<<"), ("NUM", "2"), ("OP", ">>"), ("NUM", "1")]),
        ("!a&&b||c", [("KEYWORD", "!"), ("ID", "a"), ("KEYWORD", "&&"), ("ID", "b"),
                      ("KEYWORD", "||"), ("ID", "c")]),
    ],
)  # fmt: skip
def test_tokens(expr: str, want: list[tuple[str, str]]) -> None:
    assert kinds(expr) == want


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", 0), ("10", 10), ("0x1F", 31), ("0X10", 16), ("010", 8), ("4294967295", 0xFFFFFFFF),
     ("0xffffffff", 0xFFFFFFFF), ("tcp-syn", 2), ("tcpflags", 13), ("icmp-echo", 8),
     ("icmp6-echo", 128), ("icmp6-neighborsolicit", 135)],
)  # fmt: skip
def test_numbers(text: str, value: int) -> None:
    (tok,) = tokenize(text)[:-1]
    assert (tok.kind, tok.value) == (Kind.NUM, value)


def test_every_named_number_and_keyword_is_one_token() -> None:
    for word, value in NAMED_NUMBERS.items():
        (tok,) = tokenize(word)[:-1]
        assert (tok.kind, tok.value) == (Kind.NUM, value), word
    for spelling, canonical in KEYWORDS.items():
        (tok,) = tokenize(spelling)[:-1]
        assert (tok.kind, tok.word) == (Kind.KEYWORD, canonical), spelling


def test_keyword_aliases() -> None:
    words = [t.word for t in tokenize("ether link ppp fddi tr wlan length es-is is-is")[:-1]]
    assert words == ["link"] * 6 + ["len", "esis", "isis"]


def test_columns() -> None:
    toks = tokenize("  tcp  and\tport 80")
    assert [t.column for t in toks] == [3, 8, 12, 17, 19]
    assert toks[-1].kind is Kind.END


@pytest.mark.parametrize(
    ("expr", "column", "token"),
    [("tcp # x", 5, "#"), ("port 09", 6, "09"), ("port 0x100000000", 6, "0x100000000"),
     ("host 1:2:3", 6, "1:2:"), ("host 1::2::3", 6, "1::2::"), ("ip @", 4, "@")],
)  # fmt: skip
def test_errors(expr: str, column: int, token: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        tokenize(expr)
    assert (info.value.column, info.value.token, info.value.expr) == (column, token, expr)
