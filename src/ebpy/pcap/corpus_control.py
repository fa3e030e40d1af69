"""Control-protocol messages of the test corpus: ICMP, ICMPv6, IGMP, and SCTP packets.

Each ``*_message(rng, ...)`` draws one message of its protocol from a table of
builders with weights (``ICMP4_BUILDERS``, ``ICMP6_BUILDERS``,
``IGMP_BUILDERS``, ``SCTP_CHUNKS``): echo requests and replies, the errors
that quote the start of an IP packet (unreachable, time exceeded, redirect,
parameter problem, packet too big), timestamps, address masks and router
discovery; neighbour discovery and MLD; IGMP v1-v3 queries and reports; SCTP
INIT, DATA, SACK and the small chunks. ``ebpy.pcap.corpus`` puts them in IP
packets and frames. Messages are well formed, with their checksums; this
module parses nothing.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable

from ebpy.pcap import synth as s

__all__ = [
    "ICMP4_BUILDERS",
    "ICMP6_BUILDERS",
    "IGMP_BUILDERS",
    "LINK6",
    "MCAST4",
    "MCAST6",
    "SCTP_CHUNKS",
    "icmp4_message",
    "icmp6_message",
    "igmp_message",
    "random_payload",
    "sctp_packet",
]

MCAST4 = (*(bytes((224, 0, 0, i)) for i in (1, 2, 5, 22, 251)), bytes((239, 1, 2, 3)))
MCAST6 = tuple(bytes.fromhex(h) for h in ("ff020000000000000000000000000001",
                                           "ff020000000000000000000000000016",
                                           "ff0200000000000000000001ff000001"))  # fmt: skip
LINK6 = tuple(bytes.fromhex("fe80000000000000") + bytes((0, 0, 0, 0, 0, 0, 0, i)) for i in (1, 2))


def random_payload(rng: random.Random, most: int = 120) -> bytes:
    """Random bytes: often none, one or eight, otherwise up to ``most``."""
    return rng.randbytes(rng.choice((0, 0, 1, 8, rng.randrange(0, most + 1))))


def _pick(
    rng: random.Random, table: tuple[tuple[float, Callable[..., bytes]], ...]
) -> Callable[..., bytes]:
    return rng.choices([b for _, b in table], [w for w, _ in table])[0]


# -- ICMP -----------------------------------------------------------------------------------
def quoted_ipv4(rng: random.Random) -> bytes:
    """The start of an IPv4 datagram (header and 8 bytes), as an ICMP error quotes it."""
    src, dst = rng.choice(s.SERVERS4), rng.choice(s.HOSTS4)
    if rng.random() < 0.5:
        inner = s.udp(src, dst, rng.randrange(1024, 65536), rng.choice((53, 33434, 161)))
        return s.ipv4(src, dst, s.IPPROTO_UDP, inner + bytes(8))[:28]
    inner = s.tcp(src, dst, rng.randrange(1024, 65536), rng.choice((80, 443, 22)))
    return s.ipv4(src, dst, s.IPPROTO_TCP, inner)[:28]


def _echo(rng: random.Random) -> bytes:
    return s.icmp_echo(rng.getrandbits(16), rng.getrandbits(16), random_payload(rng, 56),
                       reply=rng.random() < 0.5)  # fmt: skip


def _unreachable(rng: random.Random) -> bytes:
    code = rng.randrange(0, 16)
    rest = struct.pack("!HH", 0, rng.choice((576, 1280, 1500))) if code == 4 else bytes(4)
    return s.icmp(3, code, rest, quoted_ipv4(rng))


def _time_exceeded(rng: random.Random) -> bytes:
    return s.icmp(11, rng.randrange(0, 2), bytes(4), quoted_ipv4(rng))


def _redirect(rng: random.Random) -> bytes:
    return s.icmp(5, rng.randrange(0, 4), rng.choice(s.SERVERS4), quoted_ipv4(rng))


def _parameter_problem(rng: random.Random) -> bytes:
    return s.icmp(12, 0, bytes((rng.randrange(0, 28), 0, 0, 0)), quoted_ipv4(rng))


def _source_quench(rng: random.Random) -> bytes:
    return s.icmp(4, 0, bytes(4), quoted_ipv4(rng))


def _timestamp(rng: random.Random) -> bytes:
    stamps = struct.pack("!III", *(rng.randrange(0, 86_400_000) for _ in range(3)))
    return s.icmp(rng.choice((13, 14)), 0, rng.randbytes(4), stamps)


def _address_mask(rng: random.Random) -> bytes:
    mask = rng.choice((b"\xff\xff\xff\x00", b"\xff\xff\x00\x00"))
    return s.icmp(rng.choice((17, 18)), 0, rng.randbytes(4), mask)


def _router_advertisement(rng: random.Random) -> bytes:
    n = rng.randrange(1, 3)
    entries = b"".join(rng.choice(s.SERVERS4) + struct.pack("!I", rng.randrange(0, 10))
                       for _ in range(n))  # fmt: skip
    return s.icmp(9, 0, struct.pack("!BBH", n, 2, rng.choice((45, 600, 1800, 9000))), entries)


def _router_solicitation(rng: random.Random) -> bytes:
    return s.icmp(10, 0)


def _other_icmp(rng: random.Random) -> bytes:
    return s.icmp(rng.choice((15, 16, 30, 40, 42, 200)), 0, bytes(4), random_payload(rng, 16))


ICMP4_BUILDERS: tuple[tuple[float, Callable[[random.Random], bytes]], ...] = (
    (50, _echo), (20, _unreachable), (8, _time_exceeded), (6, _redirect),
    (4, _parameter_problem), (2, _source_quench), (3, _timestamp), (2, _address_mask),
    (2, _router_advertisement), (1, _router_solicitation), (2, _other_icmp),
)  # fmt: skip
"""ICMP message builders and how often each is drawn."""


def icmp4_message(rng: random.Random) -> bytes:
    """One ICMP message (checksummed), drawn from ``ICMP4_BUILDERS``."""
    return _pick(rng, ICMP4_BUILDERS)(rng)


# -- ICMPv6 ---------------------------------------------------------------------------------
def quoted_ipv6(rng: random.Random) -> bytes:
    """The start of an IPv6 packet with a UDP header, as an ICMPv6 error quotes it."""
    src, dst = rng.choice(s.SERVERS6), rng.choice(s.HOSTS6)
    inner = s.udp(src, dst, rng.randrange(1024, 65536), rng.choice((53, 33434)), b"x" * 8)
    return s.ipv6(src, dst, s.IPPROTO_UDP, inner)[:56]


def _echo6(rng: random.Random, src: bytes, dst: bytes) -> bytes:
    return s.icmpv6_echo(src, dst, rng.getrandbits(16), rng.getrandbits(16),
                         random_payload(rng, 56), reply=rng.random() < 0.5)  # fmt: skip


def _neighbour_solicitation(rng: random.Random, src: bytes, dst: bytes) -> bytes:
    target = rng.choice(s.SERVERS6 + LINK6)
    lla = bytes((1, 1)) + rng.choice(s.MACS) if rng.random() < 0.7 else b""
    return s.icmpv6(src, dst, 135, 0, bytes(4) + target + lla)


def _neighbour_advertisement(rng: random.Random, src: bytes, dst: bytes) -> bytes:
    target = rng.choice(s.SERVERS6 + LINK6)
    flags = rng.choice((0x60, 0x40, 0x20, 0xE0))
    body = bytes((flags, 0, 0, 0)) + target + bytes((2, 1)) + rng.choice(s.MACS)
    return s.icmpv6(src, dst, 136, 0, body)


def _router_solicitation6(rng: random.Random, src: bytes, dst: bytes) -> bytes:
    return s.icmpv6(src, dst, 133, 0, bytes(4) + bytes((1, 1)) + rng.choice(s.MACS))


def _router_advertisement6(rng: random.Random, src: bytes, dst: bytes) -> bytes:
    prefix = bytes((3, 4, 64, 0xC0)) + struct.pack("!II", 86400, 14400) + bytes(4)
    prefix += s.SERVERS6[0][:8] + bytes(8)
    body = bytes((64, 0)) + struct.pack("!HII", 1800, 0, 0) + bytes((1, 1)) + rng.choice(s.MACS)
    return s.icmpv6(src, dst, 134, 0, body + prefix)


def _unreachable6(rng: random.Random, src: bytes, dst: bytes) -> bytes:
    return s.icmpv6(src, dst, 1, rng.choice((0, 1, 3, 4)), bytes(4) + quoted_ipv6(rng))


def _too_big(rng: random.Random, src: bytes, dst: bytes) -> bytes:
    return s.icmpv6(src, dst, 2, 0, struct.pack("!I", 1280) + quoted_ipv6(rng))


def _time_exceeded6(rng: random.Random, src: bytes, dst: bytes) -> bytes:
    return s.icmpv6(src, dst, 3, rng.randrange(0, 2), bytes(4) + quoted_ipv6(rng))


def _parameter_problem6(rng: random.Random, src: bytes, dst: bytes) -> bytes:
    body = struct.pack("!I", 6) + quoted_ipv6(rng)
    return s.icmpv6(src, dst, 4, rng.randrange(0, 3), body)


def _mld(rng: random.Random, src: bytes, dst: bytes) -> bytes:
    group = rng.choice(MCAST6)
    kind = rng.choice((130, 131, 132))
    body = struct.pack("!HH", 1000 if kind == 130 else 0, 0) + group
    return s.icmpv6(src, dst, kind, 0, body)


def _mld2_report(rng: random.Random, src: bytes, dst: bytes) -> bytes:
    record = bytes((rng.choice((1, 2, 3, 4)), 0, 0, 0)) + rng.choice(MCAST6)
    return s.icmpv6(src, dst, 143, 0, struct.pack("!HH", 0, 1) + record)


ICMP6_BUILDERS: tuple[tuple[float, Callable[[random.Random, bytes, bytes], bytes]], ...] = (
    (40, _echo6), (10, _neighbour_solicitation), (10, _neighbour_advertisement),
    (5, _router_solicitation6), (5, _router_advertisement6), (10, _unreachable6),
    (4, _too_big), (4, _time_exceeded6), (2, _parameter_problem6), (5, _mld),
    (5, _mld2_report),
)  # fmt: skip
"""ICMPv6 message builders and how often each is drawn."""


def icmp6_message(rng: random.Random, src: bytes, dst: bytes) -> bytes:
    """One ICMPv6 message from ``src`` to ``dst`` (checksummed), from ``ICMP6_BUILDERS``."""
    return _pick(rng, ICMP6_BUILDERS)(rng, src, dst)


# -- IGMP -----------------------------------------------------------------------------------
def _query(rng: random.Random, group: bytes) -> bytes:
    return s.igmp(0x11, rng.choice((0, 100, 50)), rng.choice((bytes(4), group)))


def _query3(rng: random.Random, group: bytes) -> bytes:
    return s.igmp(
        0x11, rng.choice((100, 50, 200)), rng.choice((bytes(4), group)), bytes((2, 125, 0, 0))
    )


def _report2(rng: random.Random, group: bytes) -> bytes:
    return s.igmp(0x16, 0, group)


def _leave(rng: random.Random, group: bytes) -> bytes:
    return s.igmp(0x17, 0, group)


def _report1(rng: random.Random, group: bytes) -> bytes:
    return s.igmp(0x12, 0, group)


def _report3(rng: random.Random, group: bytes) -> bytes:
    n = rng.randrange(1, 4)
    records = b"".join(bytes((rng.randrange(1, 7), 0, 0, 0)) + rng.choice(MCAST4[2:])
                       for _ in range(n))  # fmt: skip
    return s.igmp(0x22, 0, struct.pack("!HH", 0, n), records)


IGMP_BUILDERS: tuple[tuple[float, Callable[[random.Random, bytes], bytes]], ...] = (
    (20, _query),
    (10, _query3),
    (25, _report2),
    (15, _leave),
    (10, _report1),
    (20, _report3),
)
"""IGMP message builders (v1/v2 queries, v3 queries, reports, leaves) and weights."""


def igmp_message(rng: random.Random) -> bytes:
    """One IGMP message about a group of ``MCAST4``, from ``IGMP_BUILDERS``."""
    group = rng.choice(MCAST4[2:])
    return _pick(rng, IGMP_BUILDERS)(rng, group)


# -- SCTP -----------------------------------------------------------------------------------
def _init(rng: random.Random) -> bytes:
    value = struct.pack("!IIHHI", rng.getrandbits(32), 65535, 10, 10, rng.getrandbits(32))
    return s.sctp_chunk(rng.choice((1, 2)), 0, value)


def _data(rng: random.Random) -> bytes:
    data = rng.randbytes(rng.randrange(1, 60))
    head = struct.pack("!IHHI", rng.getrandbits(32), rng.randrange(0, 4), rng.getrandbits(16),
                       rng.choice((0, 46, 51)))  # fmt: skip
    return s.sctp_chunk(0, rng.choice((3, 1, 2, 0, 7)), head + data)


def _sack(rng: random.Random) -> bytes:
    return s.sctp_chunk(3, 0, struct.pack("!IIHH", rng.getrandbits(32), 65535, 0, 0))


def _small_chunks(rng: random.Random) -> bytes:
    kinds = rng.sample((4, 5, 6, 7, 8, 9, 10, 11, 14), 2)
    return b"".join(s.sctp_chunk(t, 0, b"\0\0\0\1" if t in (4, 5, 7, 8) else b"") for t in kinds)


SCTP_CHUNKS: tuple[tuple[float, Callable[[random.Random], bytes]], ...] = (
    (30, _init),
    (30, _data),
    (20, _sack),
    (20, _small_chunks),
)
"""SCTP chunk builders (INIT/INIT ACK, DATA, SACK, two small chunks) and weights."""


def sctp_packet(rng: random.Random) -> bytes:
    """An SCTP packet (common header and chunks, CRC-32C checksummed)."""
    chunks = _pick(rng, SCTP_CHUNKS)(rng)
    return s.sctp(rng.choice((5000, 7777, 8000, 9899)), rng.randrange(7000, 65536),
                  rng.getrandbits(32), chunks)  # fmt: skip
