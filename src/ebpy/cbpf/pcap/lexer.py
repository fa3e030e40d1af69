"""The tokens of the pcap-filter language, cut as libpcap 1.10's scanner cuts them.

libpcap's scanner is a flex program: at each position the longest match of any
rule wins, and among matches of equal length the rule listed first. This module
keeps that behaviour with one table of rules in libpcap's order (keywords,
operators, ``$``-ARCnet ids, MAC addresses, numbers, dotted IPv4, IPv6, bogus
MAC addresses, the named numbers ``tcp-syn``/``icmp-echo``/..., names, and
``\\``-escaped names). So ``10.0.0.1`` is a dotted address, ``0x800`` a number,
``tcp-syn`` the number 2, ``tcpdump`` a name, ``\\tcp`` the name ``tcp`` (not the
keyword), ``1-1023`` a name (a port range), ``aabb.ccdd.eeff`` a MAC address.

Numbers are decimal, hexadecimal (``0x``) or octal (leading ``0``) and must
fit in 32 bits. Every token knows its 1-based column. This module does not
parse (``ebpy.cbpf.pcap.parser``) and does not decide what a name means.

>>> [(t.kind.name, t.text) for t in tokenize("tcp port 80")][:3]
[('KEYWORD', 'tcp'), ('KEYWORD', 'port'), ('NUM', '80')]
>>> tokenize("tcp[tcpflags] & tcp-syn != 0")[2].value, tokenize("tcp-syn")[0].value
(13, 2)
>>> [t.kind.name for t in tokenize("fe80::1 1:2:3:4:5:6 1.2.3.4 \\\\ip")][:4]
['HID6', 'EID', 'HID', 'ID']
"""

from __future__ import annotations

import enum
import re
import socket
from dataclasses import dataclass

from ebpy.errors import FilterSyntaxError

__all__ = ["KEYWORDS", "NAMED_NUMBERS", "Kind", "Token", "tokenize"]


class Kind(enum.Enum):
    """What a token is."""

    KEYWORD = "keyword"  # text is the keyword as written; ``word`` its canonical name
    OP = "operator"  # text is the operator; ``&&``/``||``/``!`` are keywords
    NUM = "number"  # value is the number
    ID = "name"  # a host, port, protocol or network name (``\\`` removed)
    HID = "IPv4 address"  # 1 to 4 dotted numbers
    HID6 = "IPv6 address"
    EID = "MAC address"
    AID = "ARCnet address"
    END = "end of expression"


KEYWORDS: dict[str, str] = {}
"""Every keyword of libpcap 1.10's scanner: spelling -> canonical name."""


def _kw(canonical: str, *spellings: str) -> None:
    for spelling in spellings or (canonical,):
        KEYWORDS[spelling] = canonical


for _name in [
    "dst",
    "src",
    "arp",
    "rarp",
    "ip",
    "sctp",
    "tcp",
    "udp",
    "icmp",
    "igmp",
    "igrp",
    "pim",
    "vrrp",
    "carp",
    "radio",
    "ip6",
    "icmp6",
    "ah",
    "esp",
    "atalk",
    "aarp",
    "decnet",
    "lat",
    "sca",
    "moprc",
    "mopdl",
    "iso",
    "isis",
    "l1",
    "l2",
    "iih",
    "lsp",
    "snp",
    "csnp",
    "psnp",
    "clnp",
    "stp",
    "ipx",
    "netbeui",
    "host",
    "net",
    "port",
    "portrange",
    "proto",
    "protochain",
    "gateway",
    "type",
    "subtype",
    "ra",
    "ta",
    "less",
    "greater",
    "broadcast",
    "multicast",
    "inbound",
    "outbound",
    "ifindex",
    "vlan",
    "mpls",
    "pppoed",
    "pppoes",
    "geneve",
    "lane",
    "llc",
    "metac",
    "bcc",
    "oam",
    "oamf4",
    "oamf4ec",
    "oamf4sc",
    "sc",
    "ilmic",
    "vpi",
    "vci",
    "connectmsg",
    "metaconnect",
    "reason",
    "action",
    "fisu",
    "lssu",
    "msu",
    "hfisu",
    "hlssu",
    "hmsu",
    "sio",
    "opc",
    "dpc",
    "sls",
    "hsio",
    "hopc",
    "hdpc",
    "hsls",
]:
    _kw(_name)
_kw("link", "link", "ether", "ppp", "slip", "fddi", "tr", "wlan")
_kw("esis", "esis", "es-is")
_kw("isis", "isis", "is-is")
_kw("mask", "mask")
_kw("dir", "direction", "dir")
_kw("addr1", "address1", "addr1")
_kw("addr2", "address2", "addr2")
_kw("addr3", "address3", "addr3")
_kw("addr4", "address4", "addr4")
_kw("byte", "byte")
_kw("and", "and", "&&")
_kw("or", "or", "||")
_kw("not", "not", "!")
_kw("len", "len", "length")
_kw("ifname", "on", "ifname")
_kw("rset", "rset", "ruleset")
_kw("rnr", "rnr", "rulenum")
_kw("srnr", "srnr", "subrulenum")
_kw("lssu", "lsu")

NAMED_NUMBERS: dict[str, int] = {
    "icmptype": 0,
    "icmpcode": 1,
    "icmp-echoreply": 0,
    "icmp-unreach": 3,
    "icmp-sourcequench": 4,
    "icmp-redirect": 5,
    "icmp-echo": 8,
    "icmp-routeradvert": 9,
    "icmp-routersolicit": 10,
    "icmp-timxceed": 11,
    "icmp-paramprob": 12,
    "icmp-tstamp": 13,
    "icmp-tstampreply": 14,
    "icmp-ireq": 15,
    "icmp-ireqreply": 16,
    "icmp-maskreq": 17,
    "icmp-maskreply": 18,
    "icmp6type": 0,
    "icmp6code": 1,
    "icmp6-destinationunreach": 1,
    "icmp6-packettoobig": 2,
    "icmp6-timeexceeded": 3,
    "icmp6-parameterproblem": 4,
    "icmp6-echo": 128,
    "icmp6-echoreply": 129,
    "icmp6-multicastlistenerquery": 130,
    "icmp6-multicastlistenerreportv1": 131,
    "icmp6-multicastlistenerdone": 132,
    "icmp6-routersolicit": 133,
    "icmp6-routeradvert": 134,
    "icmp6-neighborsolicit": 135,
    "icmp6-neighboradvert": 136,
    "icmp6-redirect": 137,
    "icmp6-routerrenum": 138,
    "icmp6-nodeinformationquery": 139,
    "icmp6-nodeinformationresponse": 140,
    "icmp6-ineighbordiscoverysolicit": 141,
    "icmp6-ineighbordiscoveryadvert": 142,
    "icmp6-multicastlistenerreportv2": 143,
    "icmp6-homeagentdiscoveryrequest": 144,
    "icmp6-homeagentdiscoveryreply": 145,
    "icmp6-mobileprefixsolicit": 146,
    "icmp6-mobileprefixadvert": 147,
    "icmp6-certpathsolicit": 148,
    "icmp6-certpathadvert": 149,
    "icmp6-multicastrouteradvert": 151,
    "icmp6-multicastroutersolicit": 152,
    "icmp6-multicastrouterterm": 153,
    "tcpflags": 13,
    "tcp-fin": 0x01,
    "tcp-syn": 0x02,
    "tcp-rst": 0x04,
    "tcp-push": 0x08,
    "tcp-ack": 0x10,
    "tcp-urg": 0x20,
    "tcp-ece": 0x40,
    "tcp-cwr": 0x80,
}
"""Words the scanner turns into numbers (header offsets, ICMP types, TCP flags)."""


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, text, 1-based column, and value (numbers) or word (keywords)."""

    kind: Kind
    text: str
    column: int
    value: int = 0
    word: str = ""

    def is_kw(self, *words: str) -> bool:
        """True when this token is one of the keywords ``words`` (canonical names)."""
        return self.kind is Kind.KEYWORD and self.word in words

    def is_op(self, *ops: str) -> bool:
        """True when this token is one of the operators ``ops``."""
        return self.kind is Kind.OP and self.text in ops


# --- the scanner's rules, in libpcap's order ------------------------------------

_HEX = "[0-9A-Fa-f]"
_B = f"{_HEX}{_HEX}?"
_B2 = f"{_HEX}{{4}}"
_W = f"{_HEX}{{1,4}}"
_NUMS = (r"0[xX][0-9A-Fa-f]+", r"[0-9]+")
_N = "(?:" + "|".join(_NUMS) + ")"


def _v6_patterns() -> list[str]:
    """libpcap's IPv6 address forms: 8 groups, ``::`` with up to 7, and IPv4 tails."""
    v4 = rf"{_N}\.{_N}\.{_N}\.{_N}"

    def groups(n: int, trailing_colon: bool = False) -> str:
        if n == 0:
            return ""
        body = ":".join([_W] * n)
        return body + (":" if trailing_colon else "")

    forms = [groups(8), groups(6, True) + v4]
    for total in range(8):
        for left in range(total + 1):
            forms.append(groups(left) + "::" + groups(total - left))
    for total in range(6):
        for left in range(total + 1):
            forms.append(groups(left) + "::" + groups(total - left, True) + v4)
    return forms


_RULES: list[tuple[str, list[re.Pattern[str]]]] = [
    (
        "op",
        [re.compile(p) for p in (r">=|<=|!=|==|<<|>>", r"[+\-*/%:\[\]!<>()&|^=]")],
    ),
    ("aid", [re.compile(rf"\${_B}")]),
    (
        "mac",
        [
            re.compile(p)
            for p in (
                ":".join([_B] * 6),
                r"\-".join([_B] * 6),
                r"\.".join([_B] * 6),
                r"\.".join([_B2] * 3),
                _B2 * 3,
            )
        ],
    ),
    ("num", [re.compile(p) for p in _NUMS]),
    ("hid", [re.compile(rf"{_N}(?:\.{_N}){{{n}}}") for n in (3, 2, 1)]),
    ("hid6", [re.compile(p) for p in _v6_patterns()]),
    ("bogus_mac", [re.compile(rf"{_B}:+(?:{_B}:+)+")]),
    ("id", [re.compile(r"[A-Za-z0-9](?:[-_.A-Za-z0-9]*[.A-Za-z0-9])?")]),
    ("escaped", [re.compile(r"\\[^ !()\n\t]+")]),
]
_WORDS = (("&&", "and"), ("||", "or"))


def _longest(patterns: list[re.Pattern[str]], expr: str, pos: int) -> int:
    best = 0
    for pattern in patterns:
        m = pattern.match(expr, pos)
        if m and m.end() - pos > best:
            best = m.end() - pos
    return best


def _stou(text: str, column: int, expr: str) -> int:
    """A number as libpcap's scanner reads it (hex, octal or decimal, 32 bits)."""
    if text[:2] in ("0x", "0X"):
        base, digits = 16, text[2:]
    elif text.startswith("0"):
        base, digits = 8, text[1:]
    else:
        base, digits = 10, text
    if base == 8 and any(c in "89" for c in digits):
        raise FilterSyntaxError(f"number {text} contains non-octal digit", column, text, expr)
    value = int(digits, base) if digits else 0
    if value > 0xFFFF_FFFF:
        raise FilterSyntaxError(f"number {text} overflows 32 bits", column, text, expr)
    return value


def _match(expr: str, pos: int) -> tuple[str, int]:
    """The rule that wins at ``pos`` and the length of its match (0 if none)."""
    for text, _ in _WORDS:
        if expr.startswith(text, pos):
            return "word", len(text)
    best_rule, best = "", 0
    for rule, patterns in _RULES:
        n = _longest(patterns, expr, pos)
        if n > best:
            best_rule, best = rule, n
    if best_rule == "id":
        word = expr[pos : pos + best]
        if word in KEYWORDS:
            return "word", best
        if word in NAMED_NUMBERS:
            return "named", best
    return best_rule, best


def tokenize(expr: str) -> list[Token]:
    """The tokens of ``expr``, ending with an ``END`` token.

    Raises ``FilterSyntaxError`` (with the column) at a character no rule
    takes, a bad number, or a malformed IPv6 or MAC address.
    """
    tokens: list[Token] = []
    pos = 0
    while True:
        while pos < len(expr) and expr[pos] in " \t\r\n":
            pos += 1
        if pos >= len(expr):
            tokens.append(Token(Kind.END, "", len(expr) + 1))
            return tokens
        rule, n = _match(expr, pos)
        column = pos + 1
        if not n:
            raise FilterSyntaxError("unexpected character", column, expr[pos], expr)
        text = expr[pos : pos + n]
        pos += n
        tokens.append(_make(rule, text, column, expr))


def _make(rule: str, text: str, column: int, expr: str) -> Token:
    if rule == "word":
        word = dict(_WORDS).get(text) or KEYWORDS[text]
        return Token(Kind.KEYWORD, text, column, word=word)
    if rule == "named":
        return Token(Kind.NUM, text, column, NAMED_NUMBERS[text])
    if rule == "op":
        if text == "!":
            return Token(Kind.KEYWORD, text, column, word="not")
        return Token(Kind.OP, "=" if text == "==" else text, column)
    if rule == "num":
        return Token(Kind.NUM, text, column, _stou(text, column, expr))
    if rule == "hid6":
        try:
            socket.inet_pton(socket.AF_INET6, text)
        except OSError:
            raise FilterSyntaxError(f"bogus IPv6 address {text}", column, text, expr) from None
        return Token(Kind.HID6, text, column)
    if rule == "bogus_mac":
        raise FilterSyntaxError(f"bogus ethernet address {text}", column, text, expr)
    if rule == "escaped":
        return Token(Kind.ID, text[1:], column)
    kind = {"aid": Kind.AID, "mac": Kind.EID, "hid": Kind.HID, "id": Kind.ID}[rule]
    return Token(kind, text, column)
