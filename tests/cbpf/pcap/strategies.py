"""Hypothesis strategies for pcap-filter expressions.

``expressions()`` draws expressions from the grammar: primitives with and
without qualifiers, bare ids that reuse the qualifiers before them
(``host a or b``), ``not``, parentheses, ``and``/``or`` (both spellings) and
comparisons of arithmetic over header loads, ``len`` and numbers with every
operator. Most are valid, some are not (a division by a literal zero, a
qualifier that does not fit its id, a port over 65535): both kinds are
wanted. ``token_soup()`` draws any sequence of the language's tokens. No
host names are drawn: libpcap would try to resolve them. This module
generates strings; it asserts nothing.
"""

from __future__ import annotations

from hypothesis import strategies as st

PROTOS = ["ip", "ip6", "arp", "rarp", "tcp", "udp", "sctp", "icmp", "icmp6", "igmp", "ah", "esp"]
PROTOS += ["pim", "vrrp", "stp", "ipx", "netbeui", "iso", "atalk", "aarp", "decnet", "ether"]
V4 = ["10.0.0.1", "10.0.0.2", "192.168.1.1", "10", "192.168", "10.0.0.0/8", "172.16.0.0/12"]
V4 += ["192.168.1.0 mask 255.255.255.0", "0", "167772161", "255.255.255.255"]
V6 = ["fd00::1", "2001:db8::1", "::1", "fe80::/10", "2001:db8::/32", "::ffff:10.0.0.1"]
MACS = ["02:00:00:00:00:01", "ff:ff:ff:ff:ff:ff", "0200.0000.0003", "02-00-00-00-00-02"]
PORTS = ["80", "443", "53", "22", "0x50", "http", "domain", "ssh", "ntp", "1-1023", "8000-8080"]
NUMBERS = ["0", "1", "2", "6", "8", "13", "17", "58", "100", "1500", "0x800", "0xff", "070"]
NUMBERS += ["tcpflags", "tcp-syn", "tcp-ack", "icmp-echo", "icmptype", "4294967295", "65536"]
DIRS = ["", "src ", "dst ", "src or dst ", "src and dst "]
LOADS = ["ether", "ip", "ip6", "tcp", "udp", "icmp", "icmp6", "arp", "link", "sctp", "igmp"]
OPS = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"]
RELOPS = [">", ">=", "=", "==", "<", "<=", "!="]
JOINS = [" and ", " or ", " && ", " || "]


def _ids() -> st.SearchStrategy[str]:
    return st.sampled_from(V4 + V6 + MACS + PORTS + NUMBERS)


@st.composite
def _qualified(draw: st.DrawFn) -> str:
    proto = draw(st.sampled_from(["", *(p + " " for p in PROTOS)]))
    kind = draw(st.sampled_from(["host", "net", "port", "portrange", "proto", "protochain", ""]))
    direction = (
        draw(st.sampled_from(DIRS)) if kind in ("host", "net", "port", "portrange", "") else ""
    )
    if kind == "" and direction == "":
        kind = "host"
    ident = draw(_ids())
    if kind in ("proto", "protochain") and draw(st.booleans()):
        ident = "\\" + draw(st.sampled_from(["tcp", "udp", "icmp", "ip", "arp", "ospf", "gre"]))
    return f"{proto}{direction}{kind} {ident}".replace("  ", " ").strip()


def _simple() -> st.SearchStrategy[str]:
    others = [
        "broadcast", "multicast", "ether broadcast", "ether multicast", "ip broadcast",
        "ip multicast", "ip6 multicast", "vlan", "vlan 100", "vlan 10", "mpls", "mpls 100",
        "less 100", "greater 60", "byte 3 = 1", "byte 2 < 8", "ether proto \\ip",
        "ip proto 6", "ip6 proto 17", "ip protochain 6", "ip6 protochain 17",
    ]  # fmt: skip
    return st.one_of(st.sampled_from(PROTOS[:-1] + others), _qualified())


def _arith() -> st.SearchStrategy[str]:
    leaves = st.one_of(
        st.sampled_from([*NUMBERS, "len"]),
        st.builds(
            lambda p, i, size: f"{p}[{i}{size}]",
            st.sampled_from(LOADS),
            st.sampled_from(["0", "2", "6", "9", "12", "13", "20", "40"]),
            st.sampled_from(["", ":1", ":2", ":4", ":3"]),
        ),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.builds(lambda a, op, b: f"{a} {op} {b}", inner, st.sampled_from(OPS), inner),
            inner.map(lambda a: f"-{a}"),
            inner.map(lambda a: f"({a})"),
            st.builds(lambda p, a: f"{p}[{a}]", st.sampled_from(LOADS), inner),
        ),
        max_leaves=4,
    )


def _relation() -> st.SearchStrategy[str]:
    return st.builds(lambda a, op, b: f"{a} {op} {b}", _arith(), st.sampled_from(RELOPS), _arith())


def expressions() -> st.SearchStrategy[str]:
    """Expressions of the pcap-filter language, mostly valid."""
    atoms = st.one_of(_simple(), _simple(), _relation())
    return st.recursive(
        atoms,
        lambda inner: st.one_of(
            st.builds(lambda a, j, b: a + j + b, inner, st.sampled_from(JOINS), inner),
            st.builds(lambda a, j, i: a + j + i, inner, st.sampled_from(JOINS), _ids()),
            st.builds(lambda a, j, i: f"{a}{j}not {i}", inner, st.sampled_from(JOINS), _ids()),
            inner.map(lambda a: f"not {a}"),
            inner.map(lambda a: f"!{a}"),
            inner.map(lambda a: f"({a})"),
        ),
        max_leaves=6,
    )


TOKENS = [
    *PROTOS, "host", "net", "port", "portrange", "proto", "protochain", "src", "dst", "gateway",
    "and", "or", "not", "&&", "||", "!", "(", ")", "[", "]", ":", "+", "-", "*", "/", "%", "&",
    "|", "^", "<<", ">>", ">", "<", ">=", "<=", "=", "==", "!=", "len", "less", "greater",
    "broadcast", "multicast", "vlan", "mpls", "mask", "/", "byte", "\\tcp", "\\ip", "type",
    *V4[:4], *V6[:3], *MACS[:2], *NUMBERS, "1-1023", "http", "$0a", "1:2:3",
]  # fmt: skip
"""Tokens for ``token_soup`` (no names in host position: only service and escaped names)."""


def token_soup() -> st.SearchStrategy[str]:
    """Any sequence of the language's tokens, joined by one or no space."""
    return st.lists(
        st.tuples(st.sampled_from(TOKENS), st.sampled_from([" ", " ", ""])), max_size=12
    ).map(lambda parts: "".join(t + sep for t, sep in parts).strip())
