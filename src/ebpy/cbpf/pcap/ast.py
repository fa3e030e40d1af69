"""The syntax tree of a pcap-filter expression, and its qualifiers.

A primitive's qualifiers (``tcp dst port 80``) are a ``Qual``: a protocol
(``Proto``), a direction (``Dir``) and an address kind (``Addr``), each
``DEFAULT`` when not written, or ``UNDEF`` where libpcap's grammar gives no
qualifier at all (an id after ``tcp and``). The parser resolves libpcap's
reuse of the last qualifiers (``host a and b``), so every ``Ident`` carries the
qualifiers it is compiled with.

Boolean nodes: ``And``, ``Or``, ``Not``, ``Ident`` (an address, number or
name with its qualifiers), ``Abbrev`` (``tcp``, ``ip6`` ...), ``Relation``
(``arith relop arith``) and the other primitives (``Broadcast``, ``Multicast``,
``Length``, ``Vlan``, ``Mpls``, ``Direction``, ``ByteOp``). Arithmetic nodes:
``Num``, ``PacketLen``, ``Load`` (``proto[index:size]``), ``Binary`` and
``Negate``. Every node keeps the token it came from, for error messages. The
tree is data only: no code generation here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ebpy.cbpf.pcap.lexer import Token

__all__ = [
    "QERR",
    "Abbrev",
    "Addr",
    "And",
    "Arith",
    "Binary",
    "Broadcast",
    "ByteOp",
    "Dir",
    "Direction",
    "Expr",
    "IdKind",
    "Ident",
    "Length",
    "Load",
    "Mpls",
    "Multicast",
    "Negate",
    "Not",
    "Num",
    "Or",
    "PacketLen",
    "Proto",
    "Qual",
    "Relation",
    "Vlan",
]


class Proto(enum.Enum):
    """Protocol qualifiers (libpcap's ``Q_*`` protocol values)."""

    DEFAULT = "default"
    LINK = "link"
    IP = "ip"
    ARP = "arp"
    RARP = "rarp"
    SCTP = "sctp"
    TCP = "tcp"
    UDP = "udp"
    ICMP = "icmp"
    IGMP = "igmp"
    IGRP = "igrp"
    ATALK = "atalk"
    DECNET = "decnet"
    LAT = "lat"
    SCA = "sca"
    MOPRC = "moprc"
    MOPDL = "mopdl"
    IPV6 = "ip6"
    ICMPV6 = "icmp6"
    AH = "ah"
    ESP = "esp"
    PIM = "pim"
    VRRP = "vrrp"
    CARP = "carp"
    AARP = "aarp"
    ISO = "iso"
    ESIS = "esis"
    ISIS = "isis"
    CLNP = "clnp"
    STP = "stp"
    IPX = "ipx"
    NETBEUI = "netbeui"
    RADIO = "radio"
    UNDEF = "undef"


PNAMES = {p.value: p for p in Proto if p not in (Proto.DEFAULT, Proto.UNDEF)}
"""Keyword -> protocol qualifier (``link`` covers ``ether``, ``ppp`` ...)."""


class Dir(enum.Enum):
    """Direction qualifiers."""

    DEFAULT = "default"
    SRC = "src"
    DST = "dst"
    OR = "src or dst"
    AND = "src and dst"
    UNDEF = "undef"


class Addr(enum.Enum):
    """Address-kind qualifiers."""

    DEFAULT = "default"
    HOST = "host"
    NET = "net"
    PORT = "port"
    PORTRANGE = "portrange"
    GATEWAY = "gateway"
    PROTO = "proto"
    PROTOCHAIN = "protochain"
    UNDEF = "undef"


@dataclass(frozen=True, slots=True)
class Qual:
    """The qualifiers of a primitive."""

    proto: Proto = Proto.DEFAULT
    dir: Dir = Dir.DEFAULT
    addr: Addr = Addr.DEFAULT


QERR = Qual(Proto.UNDEF, Dir.UNDEF, Addr.UNDEF)
"""No qualifiers at all: an id here is a syntax error (``tcp and 80``)."""


class IdKind(enum.Enum):
    """The forms an id takes."""

    NUM = "number"  # value
    NAME = "name"  # text
    HOST4 = "IPv4 address"  # text (1 to 4 dotted numbers)
    NET4_LEN = "IPv4 network/len"  # text, value = length
    NET4_MASK = "IPv4 network mask"  # text, mask = mask text
    HOST6 = "IPv6 address"  # text
    NET6_LEN = "IPv6 network/len"  # text, value = length
    MAC = "MAC address"  # text
    ARCNET = "ARCnet address"  # text


@dataclass(frozen=True, slots=True)
class Ident:
    """An id with the qualifiers it is compiled with."""

    tok: Token
    kind: IdKind
    qual: Qual
    text: str = ""
    value: int = 0
    mask: str = ""


@dataclass(frozen=True, slots=True)
class And:
    tok: Token
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Or:
    tok: Token
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Not:
    tok: Token
    operand: Expr


@dataclass(frozen=True, slots=True)
class Abbrev:
    """A protocol on its own: ``tcp``, ``ip6``, ``arp`` ..."""

    tok: Token
    proto: Proto


@dataclass(frozen=True, slots=True)
class Broadcast:
    tok: Token
    proto: Proto


@dataclass(frozen=True, slots=True)
class Multicast:
    tok: Token
    proto: Proto


@dataclass(frozen=True, slots=True)
class Length:
    """``less N`` (``greater=False``) or ``greater N``."""

    tok: Token
    greater: bool
    value: int


@dataclass(frozen=True, slots=True)
class Vlan:
    tok: Token
    vid: int | None


@dataclass(frozen=True, slots=True)
class Mpls:
    tok: Token
    label: int | None


@dataclass(frozen=True, slots=True)
class Direction:
    """``inbound`` or ``outbound``."""

    tok: Token
    outbound: bool


@dataclass(frozen=True, slots=True)
class ByteOp:
    """``byte IDX OP VAL`` (OP one of ``= < > & |``)."""

    tok: Token
    op: str
    index: int
    value: int


@dataclass(frozen=True, slots=True)
class Num:
    tok: Token
    value: int


@dataclass(frozen=True, slots=True)
class PacketLen:
    tok: Token


@dataclass(frozen=True, slots=True)
class Load:
    """``proto[index]`` or ``proto[index:size]``."""

    tok: Token
    proto: Proto
    index: Arith
    size: int


@dataclass(frozen=True, slots=True)
class Binary:
    """``left op right``; op is one of ``+ - * / % & | ^ << >>``."""

    tok: Token
    op: str
    left: Arith
    right: Arith


@dataclass(frozen=True, slots=True)
class Negate:
    tok: Token
    operand: Arith


@dataclass(frozen=True, slots=True)
class Relation:
    """``left op right``; op is one of ``> >= = <= < !=``."""

    tok: Token
    op: str
    left: Arith
    right: Arith


Arith = Num | PacketLen | Load | Binary | Negate
Expr = (
    And
    | Or
    | Not
    | Ident
    | Abbrev
    | Broadcast
    | Multicast
    | Length
    | Vlan
    | Mpls
    | Direction
    | ByteOp
    | Relation
)
