"""Synthetic test packets: Ethernet, 802.1Q VLAN, ARP, IPv4, IPv6, TCP, UDP, ICMP, ICMPv6.

The builders (``ethernet``, ``ipv4``, ``tcp`` ...) each make one header with
correct lengths and checksums (the IPv4 header checksum, and the TCP, UDP and
ICMPv6 checksums over the IPv4 or IPv6 pseudo-header). ``Synth(seed)`` draws
whole frames of the kinds in ``KINDS`` from a ``random.Random(seed)``, so the
same seed always gives the same frames; ``synth_packets`` and
``write_synth_pcap`` turn them into timestamped ``Packet``\\ s and capture files
for tests and benchmarks.

Addresses come from small pools (``HOSTS4``, ``HOSTS6``, ``SERVERS4`` ...) so a
capture has repeated flows and a known source to filter on. Frames shorter
than 60 bytes are padded with zeros, as on the wire. This is a generator of
well-formed traffic, not a protocol decoder or a fuzzer.

>>> frame = Synth(1).frame("udp4")
>>> frame[12:14].hex(), checksum(frame[14:34])
('0800', 0)
"""

from __future__ import annotations

import array
import os
import random
import struct
import sys
from collections.abc import Callable, Iterator
from typing import BinaryIO, TypeVar

from ebpy.pcap.packet import LinkType, Packet
from ebpy.pcap.reader import write_packets

ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_8021Q = 0x8100
ETH_P_IPV6 = 0x86DD
IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ICMPV6 = 58
ETH_ZLEN = 60
"""Shortest Ethernet frame without its FCS; shorter frames are padded."""

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10

BROADCAST = b"\xff" * 6
HOSTS4 = tuple(bytes((10, 0, 0, i)) for i in range(1, 17))
"""Client IPv4 addresses; ``HOSTS4[0]`` (10.0.0.1) is the busiest."""
SERVERS4 = tuple(bytes((192, 168, 1, i)) for i in range(1, 9))
HOSTS6 = tuple(
    bytes.fromhex("fd000000000000000000000000000000")[:15] + bytes((i,)) for i in range(1, 17)
)
SERVERS6 = tuple(
    bytes.fromhex("20010db8000000000000000000000000")[:15] + bytes((i,)) for i in range(1, 9)
)
MACS = tuple(bytes((0x02, 0, 0, 0, 0, i)) for i in range(1, 17))
PORTS = (22, 53, 80, 123, 443, 8080)
KINDS = ("tcp4", "udp4", "icmp4", "tcp6", "udp6", "icmp6", "arp", "vlan_tcp4", "vlan_udp6")
"""Frame kinds ``Synth.frame`` makes."""
WEIGHTS = (30, 20, 5, 15, 10, 4, 4, 7, 5)
"""How often ``Synth.frames`` draws each kind (same order as ``KINDS``)."""

_SWAP = sys.byteorder == "little"
T = TypeVar("T")


def _ones_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    words = array.array("H", data)
    if _SWAP:
        words.byteswap()
    return sum(words)


def checksum(data: bytes, initial: int = 0) -> int:
    """The Internet checksum (RFC 1071) of ``data``, plus ``initial`` (a partial sum).

    Over data that holds a correct checksum the result is 0.
    """
    total = _ones_sum(data) + initial
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _pseudo(src: bytes, dst: bytes, proto: int, length: int) -> int:
    """The partial sum of the IPv4 or IPv6 pseudo-header."""
    if len(src) == 4:
        return _ones_sum(src + dst + struct.pack("!BBH", 0, proto, length))
    return _ones_sum(src + dst + struct.pack("!I3xB", length, proto))


def ethernet(
    dst: bytes,
    src: bytes,
    ethertype: int,
    payload: bytes,
    vlan: int | None = None,
    *,
    tags: tuple[tuple[int, int], ...] = (),
) -> bytes:
    """An Ethernet frame; with ``vlan`` (a VLAN id) an 802.1Q tag goes before the type.

    ``tags`` are further ``(tpid, tci)`` tags (QinQ: outermost first), after ``vlan``'s.
    """
    tag = b"" if vlan is None else struct.pack("!HH", ETH_P_8021Q, vlan & 0x0FFF)
    tag += b"".join(struct.pack("!HH", tpid, tci) for tpid, tci in tags)
    frame = dst + src + tag + struct.pack("!H", ethertype) + payload
    return frame + bytes(ETH_ZLEN - len(frame)) if len(frame) < ETH_ZLEN else frame


def ipv4(
    src: bytes,
    dst: bytes,
    proto: int,
    payload: bytes,
    *,
    ttl: int = 64,
    ident: int = 0,
    tos: int = 0,
    frag: int = 0x4000,
    options: bytes = b"",
    total_length: int | None = None,
) -> bytes:
    """An IPv4 packet with its header checksum.

    ``frag`` is the flags and fragment-offset word (default: don't-fragment set);
    ``options`` (padded to 4 bytes) follow the 20-byte header; ``total_length``
    overrides the length field (default: header and payload).
    """
    options += bytes(-len(options) % 4)
    hlen = 20 + len(options)
    length = hlen + len(payload) if total_length is None else total_length
    head = struct.pack(
        "!BBHHHBBH4s4s", 0x40 | hlen // 4, tos, length, ident, frag, ttl, proto, 0, src, dst
    )
    head += options
    return head[:10] + struct.pack("!H", checksum(head)) + head[12:] + payload


def ipv6(
    src: bytes, dst: bytes, next_header: int, payload: bytes, *, hop_limit: int = 64, flow: int = 0
) -> bytes:
    """An IPv6 packet with no extension headers."""
    first = (6 << 28) | (flow & 0xFFFFF)
    return (
        struct.pack("!IHBB16s16s", first, len(payload), next_header, hop_limit, src, dst) + payload
    )


def tcp(
    src_ip: bytes,
    dst_ip: bytes,
    sport: int,
    dport: int,
    payload: bytes = b"",
    *,
    seq: int = 0,
    ack: int = 0,
    flags: int = TCP_SYN,
    window: int = 65535,
    options: bytes = b"",
    urgent: int = 0,
) -> bytes:
    """A TCP segment with its checksum over the IPv4/IPv6 pseudo-header.

    ``options`` (padded with end-of-list bytes to 4) follow the 20-byte header;
    ``flags`` is the whole flags byte (CWR and ECE included).
    """
    options += bytes(-len(options) % 4)
    offset = (20 + len(options)) // 4
    head = struct.pack(
        "!HHIIBBHHH", sport, dport, seq, ack, offset << 4, flags & 0xFF, window, 0, urgent
    )
    head += options
    cs = checksum(head + payload, _pseudo(src_ip, dst_ip, IPPROTO_TCP, len(head) + len(payload)))
    return head[:16] + struct.pack("!H", cs) + head[18:] + payload


def udp(src_ip: bytes, dst_ip: bytes, sport: int, dport: int, payload: bytes = b"") -> bytes:
    """A UDP datagram with its checksum (a computed 0 is sent as ``ffff``)."""
    length = 8 + len(payload)
    head = struct.pack("!HHHH", sport, dport, length, 0)
    cs = checksum(head + payload, _pseudo(src_ip, dst_ip, IPPROTO_UDP, length)) or 0xFFFF
    return head[:6] + struct.pack("!H", cs) + payload


def icmp_echo(ident: int, seq: int, payload: bytes = b"", *, reply: bool = False) -> bytes:
    """An ICMP echo request (or reply) with its checksum."""
    head = struct.pack("!BBHHH", 0 if reply else 8, 0, 0, ident, seq)
    return head[:2] + struct.pack("!H", checksum(head + payload)) + head[4:] + payload


def icmpv6_echo(
    src_ip: bytes, dst_ip: bytes, ident: int, seq: int, payload: bytes = b"", *, reply: bool = False
) -> bytes:
    """An ICMPv6 echo request (or reply) with its pseudo-header checksum."""
    head = struct.pack("!BBHHH", 129 if reply else 128, 0, 0, ident, seq)
    body = head + payload
    cs = checksum(body, _pseudo(src_ip, dst_ip, IPPROTO_ICMPV6, len(body)))
    return head[:2] + struct.pack("!H", cs) + head[4:] + payload


def arp(op: int, sha: bytes, spa: bytes, tha: bytes, tpa: bytes) -> bytes:
    """An ARP packet for Ethernet/IPv4 (op 1 request, 2 reply; RARP: 3 request, 4 reply)."""
    return struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, op, sha, spa, tha, tpa)


def icmp(icmp_type: int, code: int, rest: bytes = bytes(4), payload: bytes = b"") -> bytes:
    """Any ICMP message: type, code, the 4-byte rest of the header, then ``payload``."""
    head = struct.pack("!BBH", icmp_type, code, 0) + rest[:4].ljust(4, b"\0")
    return head[:2] + struct.pack("!H", checksum(head + payload)) + head[4:] + payload


def icmpv6(src_ip: bytes, dst_ip: bytes, icmp_type: int, code: int, body: bytes = b"") -> bytes:
    """Any ICMPv6 message (``body`` is everything after the checksum), with its checksum."""
    head = struct.pack("!BBH", icmp_type, code, 0)
    cs = checksum(head + body, _pseudo(src_ip, dst_ip, IPPROTO_ICMPV6, 4 + len(body)))
    return head[:2] + struct.pack("!H", cs) + body


def igmp(igmp_type: int, max_resp: int, group: bytes, extra: bytes = b"") -> bytes:
    """An IGMP message (v1/v2 layout; v3 queries and reports put their rest in ``extra``)."""
    head = struct.pack("!BBH4s", igmp_type, max_resp, 0, group) + extra
    return head[:2] + struct.pack("!H", checksum(head)) + head[4:]


def _crc32c_table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_CRC32C = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), the SCTP checksum.

    >>> hex(crc32c(b"123456789"))
    '0xe3069283'
    """
    crc = 0xFFFFFFFF
    table = _CRC32C
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def sctp_chunk(chunk_type: int, flags: int, value: bytes) -> bytes:
    """One SCTP chunk (type, flags, length, value), padded to 4 bytes."""
    chunk = struct.pack("!BBH", chunk_type, flags, 4 + len(value)) + value
    return chunk + bytes(-len(chunk) % 4)


def sctp(sport: int, dport: int, vtag: int, chunks: bytes) -> bytes:
    """An SCTP packet: common header with its CRC-32C checksum, then ``chunks``."""
    head = struct.pack("!HHII", sport, dport, vtag, 0)
    cs = crc32c(head + chunks)
    return head[:8] + struct.pack("<I", cs) + chunks


def mpls(labels: tuple[tuple[int, int, int], ...], payload: bytes) -> bytes:
    """An MPLS label stack of ``(label, tc, ttl)`` entries (bottom-of-stack set on the
    last) in front of ``payload``."""
    out = b""
    for i, (label, tc, ttl) in enumerate(labels):
        bottom = 1 if i == len(labels) - 1 else 0
        out += struct.pack("!I", (label & 0xFFFFF) << 12 | (tc & 7) << 9 | bottom << 8 | ttl & 0xFF)
    return out + payload


def ipv6_ext(next_header: int, body: bytes) -> bytes:
    """An IPv6 extension header of the hop-by-hop/destination-options/routing layout:
    next header, length in 8-byte units past the first 8, then ``body`` padded with
    PadN options to a multiple of 8."""
    pad = -(len(body) + 2) % 8
    if pad == 1:
        body += b"\0"  # Pad1
    elif pad:
        body += bytes((1, pad - 2)) + bytes(pad - 2)  # PadN
    return struct.pack("!BB", next_header, (len(body) + 2) // 8 - 1) + body


def ipv6_frag(next_header: int, offset: int, more: bool, ident: int) -> bytes:
    """An IPv6 fragment header (offset in 8-byte units)."""
    return struct.pack("!BBHI", next_header, 0, (offset & 0x1FFF) << 3 | int(more), ident)


class Synth:
    """Draws frames from a seeded random generator: the same seed, the same frames."""

    def __init__(self, seed: int = 0, *, max_payload: int = 64) -> None:
        self.rng = random.Random(seed)
        self._random = self.rng.random  # uniform floats: far cheaper than choice/randrange
        self.max_payload = max_payload
        self._makers: dict[str, Callable[[], bytes]] = {
            kind: getattr(self, "_" + kind) for kind in KINDS
        }

    def frame(self, kind: str) -> bytes:
        """One frame of ``kind`` (one of ``KINDS``)."""
        return self._makers[kind]()

    def frames(self, n: int, kinds: tuple[str, ...] = KINDS) -> Iterator[bytes]:
        """``n`` frames, kinds drawn with ``WEIGHTS`` (or evenly among ``kinds`` given)."""
        weights = WEIGHTS if kinds == KINDS else None
        makers = [self._makers[k] for k in kinds]
        choices = self.rng.choices(range(len(makers)), weights, k=n)
        for i in choices:
            yield makers[i]()

    # -- pieces ---------------------------------------------------------------
    def _below(self, n: int) -> int:
        return int(self._random() * n)

    def _pick(self, items: tuple[T, ...]) -> T:
        return items[int(self._random() * len(items))]

    def _payload(self) -> bytes:
        return self.rng.randbytes(self._below(self.max_payload + 1))

    def _macs(self) -> tuple[bytes, bytes]:
        a = self._below(len(MACS))
        b = (a + 1 + self._below(len(MACS) - 1)) % len(MACS)
        return MACS[a], MACS[b]

    def _host4(self) -> bytes:
        # a skewed pick: 10.0.0.1 sends about a quarter of the traffic
        return HOSTS4[0] if self._random() < 0.25 else self._pick(HOSTS4)

    def _ports(self) -> tuple[int, int]:
        return 1024 + self._below(65536 - 1024), self._pick(PORTS)

    def _l4(self, proto: int, src: bytes, dst: bytes) -> bytes:
        sport, dport = self._ports()
        rng = self.rng
        if proto == IPPROTO_TCP:
            flags = self._pick((TCP_SYN, TCP_ACK, TCP_ACK | TCP_PSH, TCP_FIN | TCP_ACK, TCP_RST))
            return tcp(src, dst, sport, dport, self._payload(), seq=rng.getrandbits(32),
                       ack=rng.getrandbits(32), flags=flags)  # fmt: skip
        return udp(src, dst, sport, dport, self._payload())

    def _v4(self, proto: int, vlan: int | None = None) -> bytes:
        src, dst = self._host4(), self._pick(SERVERS4)
        body = self._l4(proto, src, dst)
        packet = ipv4(src, dst, proto, body, ttl=self._pick((64, 128, 255)),
                      ident=self.rng.getrandbits(16))  # fmt: skip
        return ethernet(*self._macs(), ETH_P_IP, packet, vlan)

    def _v6(self, proto: int, vlan: int | None = None) -> bytes:
        src, dst = self._pick(HOSTS6), self._pick(SERVERS6)
        packet = ipv6(src, dst, proto, self._l4(proto, src, dst), flow=self.rng.getrandbits(20))
        return ethernet(*self._macs(), ETH_P_IPV6, packet, vlan)

    # -- the kinds ------------------------------------------------------------
    def _tcp4(self) -> bytes:
        return self._v4(IPPROTO_TCP)

    def _udp4(self) -> bytes:
        return self._v4(IPPROTO_UDP)

    def _vlan_tcp4(self) -> bytes:
        return self._v4(IPPROTO_TCP, 1 + self._below(4094))

    def _tcp6(self) -> bytes:
        return self._v6(IPPROTO_TCP)

    def _udp6(self) -> bytes:
        return self._v6(IPPROTO_UDP)

    def _vlan_udp6(self) -> bytes:
        return self._v6(IPPROTO_UDP, 1 + self._below(4094))

    def _icmp4(self) -> bytes:
        rng = self.rng
        src, dst = self._host4(), self._pick(SERVERS4)
        body = icmp_echo(
            rng.getrandbits(16), rng.getrandbits(16), self._payload(), reply=self._random() < 0.5
        )
        return ethernet(
            *self._macs(), ETH_P_IP, ipv4(src, dst, IPPROTO_ICMP, body, ident=rng.getrandbits(16))
        )

    def _icmp6(self) -> bytes:
        rng = self.rng
        src, dst = self._pick(HOSTS6), self._pick(SERVERS6)
        body = icmpv6_echo(src, dst, rng.getrandbits(16), rng.getrandbits(16), self._payload())
        return ethernet(*self._macs(), ETH_P_IPV6, ipv6(src, dst, IPPROTO_ICMPV6, body))

    def _arp(self) -> bytes:
        sha, tha = self._macs()
        spa, tpa = self._host4(), self._pick(SERVERS4)
        if self._random() < 0.5:
            return ethernet(BROADCAST, sha, ETH_P_ARP, arp(1, sha, spa, bytes(6), tpa))
        return ethernet(tha, sha, ETH_P_ARP, arp(2, sha, spa, tha, tpa))


def synth_packets(
    n: int, seed: int = 0, *, start_ns: int = 1_700_000_000 * 10**9, interval_ns: int = 1000
) -> Iterator[Packet]:
    """``n`` Ethernet ``Packet``\\ s from ``Synth(seed)``, ``interval_ns`` apart."""
    for i, frame in enumerate(Synth(seed).frames(n)):
        yield Packet(start_ns + i * interval_ns, frame, len(frame), LinkType.ETHERNET, 0)


def write_synth_pcap(
    target: str | os.PathLike[str] | BinaryIO,
    n: int,
    seed: int = 0,
    *,
    fmt: str = "pcap",
    nanosecond: bool = False,
) -> int:
    """Write ``n`` synthetic packets to a pcap (or pcapng) file; returns ``n``."""
    return write_packets(target, synth_packets(n, seed), fmt, nanosecond=nanosecond)
