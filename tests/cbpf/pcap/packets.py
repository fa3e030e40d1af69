"""Test packets for the pcap-filter compiler, for every link type it supports.

``packets(linktype)`` gives ``(data, wirelen)`` pairs: a slice of the shared
Ethernet corpus (``ebpy.pcap.corpus``), hand-made frames aimed at the
expressions of ``expressions*.txt`` (their addresses, ports, VLAN ids, MPLS
labels, IPv6 extension and AH chains for ``protochain``, LLC/SNAP frames,
ARP/RARP, broadcast and multicast, ICMP types, TCP flags, an HTTP GET), each
also cut short at a few lengths and with a few bytes flipped. For the other
link types the IP, IPv6 and ARP payloads of those frames are put behind that
link type's header (raw, Linux cooked v1/v2 with both packet directions, BSD
loopback in host and network byte order). ``live_packets()`` gives the
Ethernet ones as a live Linux socket sees them (``SkbInfo`` metadata, the
outer VLAN tag in it or not). Everything is seeded: the same packets every
run. This module builds packets; it asserts nothing.
"""

from __future__ import annotations

import functools
import random
import struct

from ebpy.cbpf.interp import SkbInfo
from ebpy.pcap import synth as s
from ebpy.pcap.corpus import corpus_records

Packet = tuple[bytes, int]

CORPUS_SLICE = 1800
SEED = 5

H4 = [bytes((10, 0, 0, i)) for i in (1, 2, 3)] + [bytes((192, 168, 1, 1)), bytes((172, 16, 5, 4))]
H4 += [bytes((0, 0, 0, 10)), bytes((10, 1, 7, 7))]
H6 = [
    bytes.fromhex("fd000000000000000000000000000001"),
    bytes.fromhex("fd000000000000000000000000000002"),
    bytes.fromhex("20010db8000000000000000000000001"),
    bytes.fromhex("20010db8000000000000000000000008"),
    bytes.fromhex("20010db8000000010000000000000005"),
    bytes.fromhex("fe800000000000000000000000000001"),
    bytes.fromhex("00000000000000000000000000000001"),
    bytes.fromhex("00000000000000000000ffff0a000001"),
    bytes.fromhex("00010002000300040005000600070008"),
]
MACS = [bytes((2, 0, 0, 0, 0, i)) for i in (1, 2, 3, 4, 5)] + [bytes((1, 2, 3, 4, 5, 6))]
PORTS = [80, 443, 53, 22, 123, 8080, 9, 20, 21, 1023, 1024, 8000, 65535, 0, 5]


def _tcp_payloads(rng: random.Random) -> list[bytes]:
    return [b"", b"GET / HTTP/1.0\r\n", rng.randbytes(rng.randrange(1, 40))]


def _ip4_with_options(src: bytes, dst: bytes, proto: int, payload: bytes, frag: int) -> bytes:
    opts = b"\x94\x04\x00\x00"  # router alert
    head = struct.pack("!BBHHHBBH4s4s", 0x46, 0, 24 + len(payload), 7, frag, 64, proto, 0, src, dst)
    return head[:10] + struct.pack("!H", s.checksum(head + opts)) + head[12:] + opts + payload


def _ip4(src: bytes, dst: bytes, proto: int, payload: bytes, frag: int = 0x4000) -> bytes:
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 9, frag, 64, proto, 0, src, dst)
    return head[:10] + struct.pack("!H", s.checksum(head)) + head[12:] + payload


def _ah(next_header: int, words: int) -> bytes:
    """An AH header: next header, payload length in 4-byte words minus 2."""
    return struct.pack("!BBH", next_header, words, 0) + bytes(4 * words + 4)


AIMED4 = [
    (H4[0], H4[1], 6, 1234, 80),
    (H4[1], H4[0], 6, 80, 1234),
    (H4[3], H4[0], 6, 5555, 80),
    (H4[6], H4[5], 132, 9, 9),
    (H4[5], H4[3], 6, 1024, 22),
    (H4[0], H4[3], 17, 5353, 53),
    (H4[0], H4[3], 17, 4000, 4001),
]
"""(source, destination, protocol, source port, destination port) of IPv4 packets
that some expressions look for."""


def _ports(proto: int, src: bytes, dst: bytes, sport: int, dport: int) -> bytes:
    if proto == 6:
        return s.tcp(src, dst, sport, dport, b"GET /")
    if proto == 17:
        return s.udp(src, dst, sport, dport, b"\x12\x34\x56\x78")
    return s.sctp(sport, dport, 1, s.sctp_chunk(1, 0, bytes(16)))


def _l4(rng: random.Random, proto: int, src: bytes, dst: bytes) -> bytes:
    sport, dport = rng.choice(PORTS), rng.choice(PORTS)
    if proto == 6:
        flags = rng.choice((0x02, 0x12, 0x10, 0x18, 0x01, 0x04, 0x11, 0xE0, 0x29, 0))
        return s.tcp(src, dst, sport, dport, rng.choice(_tcp_payloads(rng)), flags=flags)
    if proto == 17:
        return s.udp(src, dst, sport, dport, rng.randbytes(rng.choice((0, 4, 12))))
    if proto == 132:
        return s.sctp(sport, dport, 1, s.sctp_chunk(1, 0, bytes(16)))
    if proto == 1:
        return s.icmp(rng.choice((0, 3, 8, 11, 5)), rng.choice((0, 1)), payload=bytes(8))
    if proto == 58:
        return s.icmpv6(src, dst, rng.choice((128, 129, 135, 136, 1)), 0, bytes(20))
    if proto == 2:
        return s.igmp(0x11, 10, bytes((224, 0, 0, 1)))
    return rng.randbytes(rng.randrange(0, 24))


def _network(rng: random.Random) -> list[tuple[int, bytes]]:
    """(EtherType, payload) pairs: IPv4, IPv6, ARP, RARP aimed at the expressions."""
    out: list[tuple[int, bytes]] = []
    for _ in range(70):
        src, dst = rng.choice(H4), rng.choice([*H4, b"\xff" * 4, bytes(4), bytes((224, 0, 0, 5))])
        proto = rng.choice((6, 17, 132, 1, 2, 47, 89, 50, 51, 103, 112, 9))
        body = _l4(rng, proto, src, dst)
        frag = rng.choice((0x4000, 0x4000, 0x2000, 0x0010, 0x2005))
        if rng.random() < 0.25:
            out.append((0x0800, _ip4_with_options(src, dst, proto, body, frag)))
        else:
            out.append((0x0800, _ip4(src, dst, proto, body, frag)))
    for _ in range(50):
        src, dst = rng.choice(H6), rng.choice([*H6, bytes.fromhex("ff02" + "00" * 13 + "01")])
        proto = rng.choice((6, 17, 132, 58, 89, 0))
        body = _l4(rng, proto, src, dst)
        chain = rng.choice(((), (0,), (44,), (0, 60), (43,), (44, 51), (60, 44), (51,)))
        nh = proto
        for ext in reversed(chain):
            if ext == 44:
                body = s.ipv6_frag(nh, rng.choice((0, 0, 3)), rng.random() < 0.5, 1) + body
            elif ext == 51:
                body = _ah(nh, 1) + body
            else:
                body = s.ipv6_ext(nh, bytes(4)) + body
            nh = ext
        out.append((0x86DD, s.ipv6(src, dst, nh, body)))
    for src, dst, proto, sport, dport in AIMED4:
        out.append((0x0800, _ip4(src, dst, proto, _ports(proto, src, dst, sport, dport))))
    for proto, sport, dport in ((6, 80, 1234), (17, 5353, 53), (132, 9, 9), (6, 1024, 22)):
        src, dst = H6[2], H6[0]
        out.append((0x86DD, s.ipv6(src, dst, proto, _ports(proto, src, dst, sport, dport))))
    for ah_words in (1, 2, 4):
        for nh in (6, 17, 51):
            tail = _ah(6, ah_words) if nh == 51 else b""
            body = _ah(nh, ah_words) + tail + s.tcp(H4[0], H4[1], 80, 1234)
            out.append((0x0800, _ip4(H4[0], H4[1], 51, body)))
    for op in (1, 2):
        out.append((0x0806, s.arp(op, MACS[0], H4[0], MACS[1], rng.choice(H4))))
        out.append((0x8035, s.arp(op + 2, MACS[1], rng.choice(H4), MACS[0], H4[0])))
    return out


def _llc_frames(rng: random.Random) -> list[bytes]:
    """802.3 frames with LLC: STP, NetBEUI, ISO (ES-IS/IS-IS/CLNP), IPX (raw, 802.2, SNAP),
    AppleTalk/AARP over SNAP, other SAPs."""
    bodies = [
        b"\x42\x42\x03" + bytes(35),
        b"\xf0\xf0\x03" + bytes(20),
        *(b"\xfe\xfe\x03" + bytes((nlpid,)) + bytes(20) for nlpid in (0x81, 0x82, 0x83)),
        b"\xe0\xe0\x03" + bytes(30),
        b"\xff\xff" + bytes(30),
        b"\xaa\xaa\x03\x00\x00\x00\x81\x37" + bytes(30),
        b"\xaa\xaa\x03\x08\x00\x07\x80\x9b" + bytes(30),
        b"\xaa\xaa\x03\x00\x00\x00\x80\xf3" + bytes(30),
        b"\x64\x64\x03" + bytes(20),
        b"\x06\x06\x03" + bytes(20),
    ]
    frames = []
    for body in bodies:
        frames.append(rng.choice(MACS) + rng.choice(MACS) + struct.pack("!H", len(body)) + body)
    for ethertype in (0x809B, 0x80F3, 0x8137, 0x6003, 0x6004, 0x6007, 0x6001, 0x6002, 0x9000):
        frames.append(MACS[0] + MACS[1] + struct.pack("!H", ethertype) + bytes(46))
    return frames


def _vlan(tpid: int, vid: int) -> bytes:
    return struct.pack("!HH", tpid, vid | 0x2000)


def _ethernet(rng: random.Random) -> list[bytes]:
    """Frames aimed at the EN10MB expressions."""
    frames = []
    network = _network(rng)
    for ethertype, payload in network:
        dst = rng.choice([*MACS, b"\xff" * 6, bytes.fromhex("01005e000001")])
        frames.append(dst + rng.choice(MACS) + struct.pack("!H", ethertype) + payload)
    for _ in range(80):
        ethertype, payload = rng.choice(network)
        tags = b"".join(
            _vlan(rng.choice((0x8100, 0x88A8, 0x9100)), rng.choice((100, 10, 20, 4095, 7)))
            for _ in range(rng.choice((1, 1, 2, 3)))
        )
        frames.append(MACS[0] + MACS[1] + tags + struct.pack("!H", ethertype) + payload)
    for _ in range(60):
        ethertype, payload = rng.choice([p for p in network if p[0] != 0x0806])
        labels = tuple(
            (rng.choice((100, 16, 3, 1048575, 5)), 0, 64) for _ in range(rng.choice((1, 1, 2, 3)))
        )
        frames.append(MACS[2] + MACS[3] + b"\x88\x47" + s.mpls(labels, payload))
    dns = _ip4(H4[0], H4[3], 17, _ports(17, H4[0], H4[3], 5353, 53))
    v6 = s.ipv6(H6[2], H6[0], 6, _ports(6, H6[2], H6[0], 80, 1234))
    frames.append(MACS[0] + MACS[1] + _vlan(0x8100, 100) + b"\x08\x00" + dns)
    frames.append(MACS[0] + MACS[1] + b"\x88\x47" + s.mpls(((1048575, 0, 9),), v6))
    icmp6 = s.ipv6(H6[0], H6[2], 58, s.icmpv6(H6[0], H6[2], 128, 0, bytes(8)))
    arp = s.arp(1, MACS[0], H4[0], bytes(6), H4[1])
    for tags, ethertype, payload in (
        (_vlan(0x8100, 100), b"\x86\xdd", icmp6),
        (_vlan(0x88A8, 7), b"\x08\x06", arp),
        (_vlan(0x88A8, 7) + _vlan(0x8100, 5), b"\x08\x00", dns),
        (_vlan(0x8100, 10), b"\x88\x47", s.mpls(((16, 0, 9),), dns)),
    ):
        frames.append(MACS[0] + MACS[1] + tags + ethertype + payload)
    frames += _llc_frames(rng)
    big = _ip4(H4[0], H4[3], 6, s.tcp(H4[0], H4[3], 80, 443, bytes(1400)))
    frames.append(MACS[0] + MACS[1] + b"\x08\x00" + big)
    return frames


def _variants(rng: random.Random, frames: list[bytes]) -> list[Packet]:
    """Each frame whole, cut short at a few lengths, and with a few bytes changed."""
    out: list[Packet] = []
    for frame in frames:
        out.append((frame, len(frame)))
        for _ in range(2):
            cut = rng.randrange(0, len(frame) + 1)
            out.append((frame[:cut], len(frame)))
        if not frame:
            continue
        mutated = bytearray(frame)
        for _ in range(rng.choice((1, 2))):
            i = rng.randrange(len(mutated))
            mutated[i] = rng.choice(
                (0, 0xFF, 0x2C, 0x06, 0x11, 0x3A, 0x45, 0x60, rng.randrange(256))
            )
        out.append((bytes(mutated), len(mutated)))
    return out


def _sll(pkttype: int, protocol: int, payload: bytes) -> bytes:
    return struct.pack("!HHH8sH", pkttype, 1, 6, MACS[0] + b"\0\0", protocol) + payload


def _sll2(pkttype: int, protocol: int, payload: bytes) -> bytes:
    return struct.pack("!HHIHBB8s", protocol, 0, 2, 1, pkttype, 6, MACS[0] + b"\0\0") + payload


def _links(rng: random.Random, linktype: int) -> list[bytes]:
    """Frames of a non-Ethernet link type."""
    network = _network(rng)
    frames: list[bytes] = []
    for ethertype, payload in network:
        if linktype in (12, 14, 101):
            frames.append(payload)
        elif linktype in (113, 276):
            make = _sll if linktype == 113 else _sll2
            frames.append(make(rng.choice((0, 4, 4, 1)), ethertype, payload))
        else:
            family = (
                2 if ethertype == 0x0800 else rng.choice((24, 28, 30)) if ethertype == 0x86DD else 7
            )
            order = "<I" if linktype == 0 else ">I"
            frames.append(struct.pack(order, family) + payload)
    if linktype in (113, 276):
        make = _sll if linktype == 113 else _sll2
        for body in _llc_frames(rng):
            frames.append(make(0, 4, body[14:]))
            frames.append(make(4, 1, body[14:]))
        frames.append(make(0, 0x8137, bytes(30)))
    frames += [rng.randbytes(rng.randrange(0, 60)) for _ in range(10)]
    return frames


@functools.cache
def packets(linktype: int = 1) -> tuple[Packet, ...]:
    """The test packets of a link type (capture-file numbering)."""
    rng = random.Random(SEED * 1000 + linktype)
    if linktype == 1:
        frames = _ethernet(rng)
        corpus = [(p.data, p.orig_len) for _, p in corpus_records(CORPUS_SLICE, seed=SEED)]
        return tuple(corpus + _variants(rng, frames))
    return tuple(_variants(rng, _links(rng, linktype)))


VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)


@functools.cache
def live_packets() -> dict[SkbInfo, tuple[Packet, ...]]:
    """Ethernet packets as a live Linux socket sees them, grouped by their metadata.

    A frame with an outer VLAN tag comes twice: with the tag taken out of the
    data into the metadata (as the kernel does when the device strips it),
    and as it is (a device that does not). Directions alternate between
    incoming and outgoing (``pkttype`` 0 and 4).
    """
    rng = random.Random(SEED)
    groups: dict[SkbInfo, list[Packet]] = {}
    for data, wirelen in packets(1):
        pkttype = rng.choice((0, 4))
        groups.setdefault(SkbInfo(pkttype=pkttype), []).append((data, wirelen))
        if len(data) >= 18 and int.from_bytes(data[12:14]) in VLAN_TPIDS:
            meta = SkbInfo(
                pkttype=pkttype,
                vlan_present=True,
                vlan_tci=int.from_bytes(data[14:16]),
                vlan_proto=int.from_bytes(data[12:14]),
            )
            groups.setdefault(meta, []).append((data[:12] + data[16:], wirelen - 4))
    return {info: tuple(group) for info, group in groups.items()}
