"""Bad expressions: ``FilterSyntaxError`` with the column and text of the token at fault."""

from __future__ import annotations

import pytest

from ebpy.cbpf.pcap import compile_filter
from ebpy.errors import FilterSyntaxError, InputError

CASES = [
    # (expression, column, token, words of the reason)
    ("tcp and", 8, "", "syntax error"),
    ("(tcp", 5, "", "')'"),
    ("tcp udp", 5, "udp", "syntax error"),
    ("ip proto tcp", 10, "tcp", "syntax error"),
    ("host foo", 6, "foo", "not resolved"),
    ("host 10.0.0.1 and foo", 19, "foo", "not resolved"),
    ("net mynet", 5, "mynet", "not resolved"),
    ("ether host gw", 12, "gw", "not resolved"),
    ("gateway 1.2.3.4", 9, "1.2.3.4", "requires a name"),
    ("port 70000", 6, "70000", "illegal port number"),
    ("portrange 1-70000", 11, "1-70000", "illegal port number"),
    ("port nosuchservice", 6, "nosuchservice", "unknown port"),
    ("udp port ssh", 10, "ssh", "port 'ssh' is tcp"),
    ("tcp port ntp", 10, "ntp", "port 'ntp' is udp"),
    ("icmp port 80", 11, "80", "illegal qualifier of 'port'"),
    ("ip proto \\nosuch", 10, "nosuch", "unknown ip proto"),
    ("ether proto \\nosuch", 13, "nosuch", "unknown ether proto"),
    ("tcp src 80", 9, "80", "'tcp' modifier applied to host"),
    ("ip6 host 10.0.0.1", 10, "10.0.0.1", "'ip6' modifier applied to ip host"),
    ("ip host fd00::1", 9, "fd00::1", "'ip' modifier applied to ip6 host"),
    ("port 10.0.0.1", 6, "10.0.0.1", "'port' modifier applied to ip host"),
    ("net 10.0.0.1/8", 5, "10.0.0.1", "non-network bits"),
    ("net 10.0.0.0/33", 5, "10.0.0.0", "mask length"),
    ("host 10.0.0.0/8", 6, "10.0.0.0", "Mask syntax for networks only"),
    ("net fd00::1/8", 5, "fd00::1", "non-network bits"),
    ("host fd00::/8", 6, "fd00::", "Mask syntax for networks only"),
    ("ip host 1:2:3:4:5:6", 9, "1:2:3:4:5:6", "non-ether"),
    ("ether host 10", 12, "10", "illegal link layer address"),
    ("tcp proto 6", 11, "6", "'tcp proto' is bogus"),
    ("arp proto 6", 11, "6", "does not encapsulate"),
    ("udp protochain 6", 16, "6", "bad protocol applied for 'protochain'"),
    ("vlan 5000", 1, "vlan", "greater than maximum"),
    ("mpls 2000000", 1, "mpls", "greater than maximum"),
    ("mpls and vlan", 10, "vlan", "no VLAN match after MPLS"),
    ("mpls and arp", 10, "arp", "unsupported protocol over mpls"),
    ("ip[8] / 0 > 1", 7, "/", "division by zero"),
    ("ip[8] % 0 > 1", 7, "%", "modulus by zero"),
    ("ip[8] << 32 > 1", 7, "<<", "shift by more than 31 bits"),
    ("tcp[0:3] = 1", 1, "tcp", "data size must be 1, 2, or 4"),
    ("ether[0] = 09", 12, "09", "non-octal digit"),
    ("ether[0] = 0x100000000", 12, "0x100000000", "overflows 32 bits"),
    ("link[0] = 1 and ip ~ 2", 20, "~", "unexpected character"),
    ("ifindex 3", 1, "ifindex", "unsupported keyword"),
    ("type mgt", 1, "type", "unsupported keyword"),
    ("tcp and 80", 9, "80", "syntax error in filter expression"),
    ("link", 1, "link", "link layer applied in wrong context"),
    ("ether host $0a", 12, "$0a", "ARCnet"),
]


@pytest.mark.parametrize(("expr", "column", "token", "words"), CASES, ids=[c[0] for c in CASES])
def test_error_points_at_token(expr: str, column: int, token: str, words: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        compile_filter(expr, optimize=False)
    err = info.value
    assert (err.column, err.token, err.expr) == (column, token, expr)
    assert words in err.reason
    assert isinstance(err, InputError)
    assert expr[column - 1 : column - 1 + len(token)] == token or err.token in expr


@pytest.mark.parametrize(
    ("expr", "linktype", "words"),
    [
        ("ether host 02:00:00:00:00:01", 101, "ethernet addresses supported only"),
        ("broadcast", 113, "not a broadcast link"),
        ("multicast", 0, "multicast filters supported only"),
        ("vlan", 101, "no VLAN support for Raw IP"),
        ("mpls", 113, "no MPLS support for Linux cooked v1"),
        ("ether host foo", 101, "link-level host name"),
    ],
)
def test_link_type_errors(expr: str, linktype: int, words: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        compile_filter(expr, linktype=linktype)
    assert words in info.value.reason


def test_unknown_link_type_is_an_error_of_the_whole() -> None:
    with pytest.raises(FilterSyntaxError) as info:
        compile_filter("ip", linktype=147)
    assert (info.value.column, info.value.token, info.value.expr) == (0, "", "ip")


def test_rejects_everything() -> None:
    with pytest.raises(FilterSyntaxError) as info:
        compile_filter("tcp and udp")
    assert (info.value.reason, info.value.column) == ("expression rejects all packets", 0)
    assert compile_filter("tcp and udp", optimize=False)  # unoptimized, libpcap compiles it


def test_snaplen_zero() -> None:
    with pytest.raises(FilterSyntaxError):
        compile_filter("ip", snaplen=0)


def test_netmask_unknown() -> None:
    with pytest.raises(FilterSyntaxError) as info:
        compile_filter("ip broadcast", netmask=0xFFFFFFFF)
    assert "netmask not known" in info.value.reason


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    expr = "(" * 3000 + "tcp" + ")" * 3000
    with pytest.raises(FilterSyntaxError):
        compile_filter(expr)


def test_message_names_column_and_token() -> None:
    with pytest.raises(FilterSyntaxError) as info:
        compile_filter("host foo")
    assert str(info.value).startswith("column 6: ")
    assert "'foo'" in str(info.value)
