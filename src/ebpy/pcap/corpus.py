"""The test corpus: a seeded, varied capture of Ethernet traffic for filter and summary tests.

``corpus_records(n, seed)`` yields ``(Kind, Packet)`` pairs; the same seed
always gives the same packets. The kinds (``Kind``) cover what a pcap filter
and a tcpdump-like printer meet: IPv4 (options, first/middle/last fragments,
DF, ToS and TTL values, broadcast and multicast destinations), IPv6 with
hop-by-hop, routing, fragment and destination-options headers, TCP (every
flag byte, options, conversations with advancing sequence numbers), UDP (DNS,
DHCP, NTP and other ports), SCTP, ICMP and ICMPv6 (echo, errors quoting a
header, neighbour discovery, MLD), IGMP v1-v3, ARP and RARP, 802.1Q VLANs and
QinQ stacks (``0x8100``/``0x88a8``/``0x9100`` outer tags) around IPv4, IPv6 or
ARP, MPLS stacks, 802.3 length frames with LLC (STP, SNAP, other SAPs),
frames shorter than an Ethernet or IP header, and frames cut short of their
wire length (as a small snap length leaves them). ``write_corpus`` writes a
classic pcap (microsecond timestamps, snap length 262144).

Frames are built with ``ebpy.pcap.synth``; payloads of the protocols tcpdump
decodes by port come from ``ebpy.pcap.corpus_payloads``, ICMP, ICMPv6, IGMP
and SCTP messages from ``ebpy.pcap.corpus_control``. This module decodes
nothing and knows nothing of filters.

>>> recs = list(corpus_records(50, seed=3))
>>> len(recs), recs == list(corpus_records(50, seed=3))
(50, True)
"""

from __future__ import annotations

import enum
import itertools
import os
import random
import struct
from collections.abc import Callable, Iterator
from typing import BinaryIO

from ebpy.pcap import corpus_control as ctl
from ebpy.pcap import corpus_payloads as pl
from ebpy.pcap import synth as s
from ebpy.pcap.packet import LinkType, Packet
from ebpy.pcap.reader import write_packets

__all__ = [
    "DEFAULT_SEED",
    "KIND_WEIGHTS",
    "Kind",
    "corpus_packets",
    "corpus_records",
    "write_corpus",
]

DEFAULT_SEED = 20_240_605
START_NS = 1_717_171_717 * 10**9


class Kind(enum.Enum):
    """What a corpus frame carries (the generator's own label, for per-kind reports)."""

    TCP4 = "tcp4"
    TCP6 = "tcp6"
    UDP4 = "udp4"
    UDP6 = "udp6"
    DNS = "dns"
    DHCP = "dhcp"
    NTP = "ntp"
    SCTP = "sctp"
    ICMP4 = "icmp4"
    ICMP6 = "icmp6"
    IGMP = "igmp"
    ARP = "arp"
    RARP = "rarp"
    IP4_OPTIONS = "ip4_options"
    IP4_FRAGMENT = "ip4_fragment"
    IP6_EXTENSION = "ip6_extension"
    VLAN = "vlan"
    QINQ = "qinq"
    MPLS = "mpls"
    LLC = "llc"
    SHORT = "short"
    OTHER_ETHERTYPE = "other_ethertype"


KIND_WEIGHTS: dict[Kind, float] = {
    Kind.TCP4: 24, Kind.TCP6: 9, Kind.UDP4: 7, Kind.UDP6: 4, Kind.DNS: 6, Kind.DHCP: 1.5,
    Kind.NTP: 2, Kind.SCTP: 2, Kind.ICMP4: 5, Kind.ICMP6: 4, Kind.IGMP: 1.5, Kind.ARP: 4,
    Kind.RARP: 0.7, Kind.IP4_OPTIONS: 3, Kind.IP4_FRAGMENT: 4, Kind.IP6_EXTENSION: 4,
    Kind.VLAN: 5, Kind.QINQ: 3, Kind.MPLS: 3, Kind.LLC: 2, Kind.SHORT: 1.5,
    Kind.OTHER_ETHERTYPE: 0.8,
}  # fmt: skip
"""How often each kind is drawn (relative weights)."""

TRUNCATE_FRACTION = 0.06
"""Share of frames (of at least 15 bytes) whose capture stops before their wire end."""

ETH_P_RARP = 0x8035
ETH_P_MPLS = 0x8847
ETH_P_MPLS_MC = 0x8848
ETH_P_QINQ = 0x88A8
ETH_P_QINQ_OLD = 0x9100
IPPROTO_IGMP = 2
IPPROTO_SCTP = 132

_MCAST4, _MCAST6, _LINK6 = ctl.MCAST4, ctl.MCAST6, ctl.LINK6


_UDP_AVOID = pl.UDP_DISSECTED_PORTS | pl.UDP_HEURISTIC_PORTS
_TCP_AVOID = pl.TCP_QUIET_PORTS | frozenset(pl.TCP_TEXT_PORTS)


class _Flow:
    """A TCP conversation whose sequence numbers advance packet by packet."""

    __slots__ = ("ack", "dport", "dst", "seq", "sport", "src")

    def __init__(self, src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int) -> None:
        self.src, self.dst, self.sport, self.dport, self.seq, self.ack = (
            src, dst, sport, dport, seq, ack)  # fmt: skip


class CorpusGenerator:
    """Draws corpus frames of every ``Kind`` from ``random.Random(seed)``."""

    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        self.rng = random.Random(seed)
        self._flows4: list[_Flow] = []
        self._flows6: list[_Flow] = []
        self._makers: dict[Kind, Callable[[], bytes]] = {
            kind: getattr(self, "_" + kind.value) for kind in Kind
        }

    def frame(self, kind: Kind) -> bytes:
        """One frame of ``kind``."""
        return self._makers[kind]()

    def records(self, n: int) -> Iterator[tuple[Kind, Packet]]:
        """``n`` timestamped packets, some of them cut short of their wire length."""
        rng = self.rng
        kinds = list(KIND_WEIGHTS)
        cumulative = list(itertools.accumulate(KIND_WEIGHTS[k] for k in kinds))
        ts = START_NS
        for _ in range(n):  # one draw per packet: a shorter corpus is a prefix of a longer one
            kind = rng.choices(kinds, cum_weights=cumulative)[0]
            frame = self.frame(kind)
            data = frame
            if len(frame) > 14 and kind is not Kind.SHORT and rng.random() < TRUNCATE_FRACTION:
                data = frame[: rng.randrange(14, len(frame))]
            yield kind, Packet(ts, data, len(frame), LinkType.ETHERNET, 0)
            ts += rng.choice((1, 7, 150, 1000, 25_000, 400_000, 2_000_000)) * 1000

    # -- addresses, ports ------------------------------------------------------------
    def _macs(self) -> tuple[bytes, bytes]:
        """(destination, source): now and then a broadcast or multicast destination."""
        r = self.rng.random()
        src = self.rng.choice(s.MACS)
        if r < 0.05:
            return s.BROADCAST, src
        if r < 0.09:
            return bytes.fromhex("01005e") + self.rng.randbytes(3), src
        dst = self.rng.choice(s.MACS)
        return (dst if dst != src else s.MACS[-1]), src

    def _v4_pair(self) -> tuple[bytes, bytes]:
        rng = self.rng
        src = s.HOSTS4[0] if rng.random() < 0.25 else rng.choice(s.HOSTS4)
        r = rng.random()
        if r < 0.03:
            dst = b"\xff\xff\xff\xff"
        elif r < 0.06:
            dst = rng.choice(_MCAST4)
        elif r < 0.1:
            dst = bytes((10, 0, 0, 255))
        else:
            dst = rng.choice(s.SERVERS4)
        return (src, dst) if rng.random() < 0.6 else (dst if dst[0] < 224 else src, src)

    def _v6_pair(self) -> tuple[bytes, bytes]:
        rng = self.rng
        src = rng.choice(s.HOSTS6 + _LINK6)
        dst = rng.choice(_MCAST6) if rng.random() < 0.08 else rng.choice(s.SERVERS6)
        return (src, dst) if rng.random() < 0.6 or dst[0] == 0xFF else (dst, src)

    def _port(self, avoid: frozenset[int] = frozenset()) -> int:
        rng = self.rng
        while True:
            r = rng.random()
            if r < 0.45:
                port = rng.choice(pl.WELL_KNOWN_PORTS)
            elif r < 0.6:
                port = rng.randrange(1, 1024)
            elif r < 0.8:
                port = rng.randrange(1024, 49152)
            else:
                port = rng.randrange(49152, 65536)
            if port not in avoid:
                return port

    def _payload(self, most: int = 120) -> bytes:
        return ctl.random_payload(self.rng, most)

    # -- transport -------------------------------------------------------------------
    def _tcp_options(self) -> bytes:
        rng = self.rng
        pieces = {
            "mss": struct.pack("!BBH", 2, 4, rng.choice((536, 1360, 1460, 8960))),
            "ws": bytes((1, 3, 3, rng.randrange(0, 15))),
            "sackok": b"\x01\x01\x04\x02",
            "ts": b"\x01\x01\x08\x0a" + rng.randbytes(8),
            "sack": b"\x01\x01\x05\x0a" + rng.randbytes(8),
            "nops": b"\x01\x01\x01\x01",
            "eol": b"\x00\x00\x00\x00",
            "unknown": bytes((rng.choice((9, 14, 15, 76, 200)), 4)) + rng.randbytes(2),
        }
        names = rng.sample(list(pieces), rng.randrange(1, 4))
        return b"".join(pieces[n] for n in names)[:40]

    def _tcp_segment(self, flow: _Flow) -> bytes:
        rng = self.rng
        r = rng.random()
        if r < 0.25:
            flags = rng.getrandbits(8)  # every flag combination shows up
        else:
            flags = rng.choice((s.TCP_SYN, s.TCP_SYN | s.TCP_ACK, s.TCP_ACK, s.TCP_ACK | s.TCP_PSH,
                                s.TCP_FIN | s.TCP_ACK, s.TCP_RST, s.TCP_RST | s.TCP_ACK))  # fmt: skip
        proto = pl.TCP_TEXT_PORTS.get(flow.dport) or pl.TCP_TEXT_PORTS.get(flow.sport)
        quiet = flow.dport in pl.TCP_QUIET_PORTS or flow.sport in pl.TCP_QUIET_PORTS
        if quiet or flags & s.TCP_SYN or rng.random() < 0.3:
            payload = b""
        elif proto is not None:
            payload = pl.text_payload(rng, proto)
        else:
            payload = self._payload(400)
        options = self._tcp_options() if flags & s.TCP_SYN or rng.random() < 0.3 else b""
        urgent = rng.getrandbits(16) if flags & 0x20 else 0
        segment = s.tcp(flow.src, flow.dst, flow.sport, flow.dport, payload, seq=flow.seq,
                        ack=flow.ack, flags=flags, window=rng.choice((0, 512, 29200, 65535)),
                        options=options, urgent=urgent)  # fmt: skip
        flow.seq = (flow.seq + len(payload) + (1 if flags & 3 else 0)) & 0xFFFFFFFF
        return segment

    def _flow(self, flows: list[_Flow], pair: Callable[[], tuple[bytes, bytes]]) -> _Flow:
        rng = self.rng
        if flows and rng.random() < 0.7:
            flow = rng.choice(flows)
            if rng.random() < 0.5:  # the other direction of the conversation
                flow = _Flow(flow.dst, flow.src, flow.dport, flow.sport, flow.ack, flow.seq)
            return flow
        src, dst = pair()
        flow = _Flow(src, dst, rng.randrange(1024, 65536), self._port(),
                     rng.getrandbits(32), rng.getrandbits(32))  # fmt: skip
        if rng.random() < 0.5:
            flow.sport, flow.dport = flow.dport, flow.sport
        flows.append(flow)
        if len(flows) > 300:
            flows.pop(0)
        return flow

    def _ip4(
        self,
        proto: int,
        body: bytes,
        src: bytes,
        dst: bytes,
        *,
        options: bytes = b"",
        frag: int | None = None,
    ) -> bytes:
        rng = self.rng
        ttl = rng.choice((1, 2, 32, 63, 64, 64, 128, 255))
        tos = rng.choice((0, 0, 0, 0x10, 0x28, 0xB8, 0x02, 0x03))
        df = 0x4000 if rng.random() < 0.6 else 0
        return s.ipv4(src, dst, proto, body, ttl=ttl, tos=tos, ident=rng.getrandbits(16),
                      frag=df if frag is None else frag, options=options)  # fmt: skip

    def _tcp4_packet(self) -> bytes:
        flow = self._flow(self._flows4, self._v4_pair)
        return self._ip4(s.IPPROTO_TCP, self._tcp_segment(flow), flow.src, flow.dst)

    def _tcp6_packet(self) -> bytes:
        flow = self._flow(self._flows6, self._v6_pair)
        return s.ipv6(flow.src, flow.dst, s.IPPROTO_TCP, self._tcp_segment(flow),
                      hop_limit=self.rng.choice((1, 64, 255)), flow=self.rng.getrandbits(20))  # fmt: skip

    def _udp_body(self, src: bytes, dst: bytes) -> bytes:
        sport = self._port(_UDP_AVOID)
        dport = self._port(_UDP_AVOID)
        return s.udp(src, dst, sport, dport, self._payload(300))

    def _udp4_packet(self) -> bytes:
        src, dst = self._v4_pair()
        return self._ip4(s.IPPROTO_UDP, self._udp_body(src, dst), src, dst)

    def _udp6_packet(self) -> bytes:
        src, dst = self._v6_pair()
        return s.ipv6(src, dst, s.IPPROTO_UDP, self._udp_body(src, dst))

    def _eth(self, ethertype: int, payload: bytes) -> bytes:
        return s.ethernet(*self._macs(), ethertype, payload)

    def _l3(self) -> tuple[int, bytes]:
        """An IPv4 or IPv6 packet of a common kind, with its ethertype."""
        rng = self.rng
        r = rng.random()
        if r < 0.35:
            return s.ETH_P_IP, self._tcp4_packet()
        if r < 0.6:
            return s.ETH_P_IP, self._udp4_packet()
        if r < 0.7:
            return s.ETH_P_IP, self._icmp4_packet()
        if r < 0.85:
            return s.ETH_P_IPV6, self._tcp6_packet()
        return s.ETH_P_IPV6, self._udp6_packet()

    # -- the kinds -------------------------------------------------------------------
    def _tcp4(self) -> bytes:
        return self._eth(s.ETH_P_IP, self._tcp4_packet())

    def _tcp6(self) -> bytes:
        return self._eth(s.ETH_P_IPV6, self._tcp6_packet())

    def _udp4(self) -> bytes:
        return self._eth(s.ETH_P_IP, self._udp4_packet())

    def _udp6(self) -> bytes:
        return self._eth(s.ETH_P_IPV6, self._udp6_packet())

    def _dns(self) -> bytes:
        rng = self.rng
        response = rng.random() < 0.5
        client = rng.randrange(1024, 65536)
        sport, dport = (53, client) if response else (client, 53)
        message = pl.dns_message(rng, response=response)
        if rng.random() < 0.75:
            src, dst = rng.choice(s.HOSTS4), rng.choice(s.SERVERS4)
            src, dst = (dst, src) if response else (src, dst)
            body = s.udp(src, dst, sport, dport, message)
            return self._eth(s.ETH_P_IP, self._ip4(s.IPPROTO_UDP, body, src, dst))
        src6, dst6 = rng.choice(s.HOSTS6), rng.choice(s.SERVERS6)
        src6, dst6 = (dst6, src6) if response else (src6, dst6)
        packet = s.ipv6(src6, dst6, s.IPPROTO_UDP, s.udp(src6, dst6, sport, dport, message))
        return self._eth(s.ETH_P_IPV6, packet)

    def _dhcp(self) -> bytes:
        rng = self.rng
        client_mac = rng.choice(s.MACS)
        if rng.random() < 0.5:
            zero, bcast = bytes(4), b"\xff" * 4
            body = s.udp(zero, bcast, 68, 67, pl.dhcp_message(rng, reply=False, chaddr=client_mac))
            packet = s.ipv4(zero, bcast, s.IPPROTO_UDP, body, ttl=64, frag=0)
            return s.ethernet(s.BROADCAST, client_mac, s.ETH_P_IP, packet)
        server, yiaddr = bytes((192, 168, 1, 1)), rng.choice(s.HOSTS4)
        message = pl.dhcp_message(rng, reply=True, chaddr=client_mac, yiaddr=yiaddr)
        packet = s.ipv4(server, yiaddr, s.IPPROTO_UDP, s.udp(server, yiaddr, 67, 68, message))
        return s.ethernet(client_mac, s.MACS[0], s.ETH_P_IP, packet)

    def _ntp(self) -> bytes:
        rng = self.rng
        server = rng.random() < 0.5
        client = rng.choice((123, rng.randrange(1024, 65536)))
        sport, dport = (123, client) if server else (client, 123)
        src, dst = rng.choice(s.HOSTS4), rng.choice(s.SERVERS4)
        src, dst = (dst, src) if server else (src, dst)
        body = s.udp(src, dst, sport, dport, pl.ntp_message(rng, server=server))
        return self._eth(s.ETH_P_IP, self._ip4(s.IPPROTO_UDP, body, src, dst))

    def _sctp(self) -> bytes:
        packet = ctl.sctp_packet(self.rng)
        if self.rng.random() < 0.7:
            src, dst = self._v4_pair()
            return self._eth(s.ETH_P_IP, self._ip4(IPPROTO_SCTP, packet, src, dst))
        src6, dst6 = self._v6_pair()
        return self._eth(s.ETH_P_IPV6, s.ipv6(src6, dst6, IPPROTO_SCTP, packet))

    def _icmp4_packet(self) -> bytes:
        body = ctl.icmp4_message(self.rng)
        src, dst = self._v4_pair()
        return self._ip4(s.IPPROTO_ICMP, body, src, dst)

    def _icmp4(self) -> bytes:
        return self._eth(s.ETH_P_IP, self._icmp4_packet())

    def _icmp6(self) -> bytes:
        src, dst = self._v6_pair()
        body = ctl.icmp6_message(self.rng, src, dst)
        packet = s.ipv6(src, dst, s.IPPROTO_ICMPV6, body, hop_limit=self.rng.choice((255, 64, 1)))
        return self._eth(s.ETH_P_IPV6, packet)

    def _igmp(self) -> bytes:
        rng = self.rng
        body = ctl.igmp_message(rng)
        src = rng.choice(s.HOSTS4)
        dst = bytes((224, 0, 0, 1)) if body[0] == 0x11 else bytes((224, 0, 0, 22))
        packet = s.ipv4(src, dst, IPPROTO_IGMP, body, ttl=1, options=b"\x94\x04\x00\x00")
        return s.ethernet(bytes.fromhex("01005e000001"), rng.choice(s.MACS), s.ETH_P_IP, packet)

    def _arp_body(self) -> bytes:
        rng = self.rng
        sha, tha = rng.choice(s.MACS), rng.choice(s.MACS)
        spa, tpa = rng.choice(s.HOSTS4), rng.choice(s.SERVERS4)
        if rng.random() < 0.5:
            return s.arp(1, sha, spa, bytes(6), tpa)
        return s.arp(2, sha, spa, tha, tpa)

    def _arp(self) -> bytes:
        body = self._arp_body()
        dst = s.BROADCAST if body[7] == 1 else body[18:24]
        return s.ethernet(dst, body[8:14], s.ETH_P_ARP, body)

    def _rarp(self) -> bytes:
        rng = self.rng
        mac = rng.choice(s.MACS)
        if rng.random() < 0.5:
            return s.ethernet(s.BROADCAST, mac, ETH_P_RARP, s.arp(3, mac, bytes(4), mac, bytes(4)))
        server = s.MACS[0]
        body = s.arp(4, server, bytes((192, 168, 1, 1)), mac, rng.choice(s.HOSTS4))
        return s.ethernet(mac, server, ETH_P_RARP, body)

    def _ip4_options(self) -> bytes:
        rng = self.rng
        options = rng.choice((
            b"\x01\x01\x01\x01",  # NOPs
            b"\x94\x04\x00\x00",  # router alert
            b"\x07\x07\x04" + bytes(4) + b"\x00",  # record route, one slot
            b"\x44\x0c\x05\x00" + bytes(8),  # timestamp
            b"\x83\x07\x04" + bytes((192, 168, 1, 9)) + b"\x00",  # loose source route
            b"\x00\x00\x00\x00",  # end of list
        ))  # fmt: skip
        src, dst = self._v4_pair()
        if rng.random() < 0.5:
            body, proto = self._udp_body(src, dst), s.IPPROTO_UDP
        else:
            flow = _Flow(src, dst, rng.randrange(1024, 65536), self._port(), 1, 1)
            body, proto = self._tcp_segment(flow), s.IPPROTO_TCP
        return self._eth(s.ETH_P_IP, self._ip4(proto, body, src, dst, options=options))

    def _ip4_fragment(self) -> bytes:
        rng = self.rng
        src, dst = self._v4_pair()
        proto = rng.choice((s.IPPROTO_UDP, s.IPPROTO_UDP, s.IPPROTO_TCP, s.IPPROTO_ICMP))
        r = rng.random()
        if r < 0.4:  # first: a whole transport header, more-fragments set
            big = rng.randbytes(rng.randrange(100, 1400))
            if proto == s.IPPROTO_UDP:
                full = s.udp(src, dst, self._port(_UDP_AVOID), self._port(_UDP_AVOID), big)
            elif proto == s.IPPROTO_TCP:
                full = s.tcp(src, dst, self._port(_TCP_AVOID), self._port(_TCP_AVOID), big,
                             seq=rng.getrandbits(32), ack=rng.getrandbits(32), flags=0x18)  # fmt: skip
            else:
                full = s.icmp_echo(rng.getrandbits(16), rng.getrandbits(16), big)
            cut = 8 * rng.randrange(3, max(4, len(full) // 16))
            body, frag = full[:cut], 0x2000
        else:
            body = rng.randbytes(8 * rng.randrange(1, 40))
            offset = rng.randrange(1, 0x1FFF)
            frag = offset | (0x2000 if r < 0.7 else 0)
        return self._eth(s.ETH_P_IP, self._ip4(proto, body, src, dst, frag=frag))

    def _ip6_extension(self) -> bytes:
        rng = self.rng
        src, dst = self._v6_pair()
        proto = rng.choice((s.IPPROTO_UDP, s.IPPROTO_TCP, s.IPPROTO_ICMPV6))
        if proto == s.IPPROTO_UDP:
            upper = self._udp_body(src, dst)
        elif proto == s.IPPROTO_TCP:
            flow = _Flow(src, dst, rng.randrange(1024, 65536), self._port(), 7, 9)
            upper = self._tcp_segment(flow)
        else:
            upper = s.icmpv6_echo(src, dst, rng.getrandbits(16), rng.getrandbits(16), b"ping")
        chain = rng.sample(("hbh", "dst", "rt", "frag"), rng.randrange(1, 4))
        if "hbh" in chain:  # hop-by-hop must come first
            chain.remove("hbh")
            chain.insert(0, "hbh")
        codes = {"hbh": 0, "dst": 60, "rt": 43, "frag": 44}
        out = upper
        nxt = proto
        for name in reversed(chain):
            if name == "frag":
                offset = 0 if rng.random() < 0.6 else rng.randrange(1, 500)
                if offset:  # a later fragment: no upper-layer header in it
                    out = rng.randbytes(8 * rng.randrange(1, 20))
                out = s.ipv6_frag(nxt, offset, rng.random() < 0.7, rng.getrandbits(32)) + out
            elif name == "rt":
                n = rng.randrange(1, 3)
                addrs = b"".join(rng.choice(s.SERVERS6) for _ in range(n))
                head = struct.pack("!BBBB", nxt, 2 * n, rng.choice((0, 2)) if n == 1 else 0, n)
                out = head + bytes(4) + addrs + out
            else:
                opts = rng.choice((b"", b"\x05\x02\x00\x00", b"\xc9\x10" + bytes(16), b"\x01\x00"))
                out = s.ipv6_ext(nxt, opts) + out
            nxt = codes[name]
        return self._eth(s.ETH_P_IPV6, s.ipv6(src, dst, nxt, out))

    def _vlan(self) -> bytes:
        rng = self.rng
        r = rng.random()
        if r < 0.15:
            ethertype, payload = s.ETH_P_ARP, self._arp_body()
        else:
            ethertype, payload = self._l3()
        tci = rng.randrange(0, 8) << 13 | rng.choice(
            (0, 1, 5, 100, 1000, 4094, rng.randrange(4096))
        )
        return s.ethernet(*self._macs(), ethertype, payload, tags=((s.ETH_P_8021Q, tci),))

    def _qinq(self) -> bytes:
        rng = self.rng
        ethertype, payload = (s.ETH_P_ARP, self._arp_body()) if rng.random() < 0.1 else self._l3()
        outer = rng.choice((ETH_P_QINQ, ETH_P_QINQ_OLD, s.ETH_P_8021Q))
        tags = [(outer, rng.randrange(1, 4095)), (s.ETH_P_8021Q, rng.randrange(1, 4095))]
        if rng.random() < 0.15:
            tags.append((s.ETH_P_8021Q, rng.randrange(1, 4095)))
        return s.ethernet(*self._macs(), ethertype, payload, tags=tuple(tags))

    def _mpls(self) -> bytes:
        rng = self.rng
        depth = rng.choice((1, 1, 2, 3))
        labels = tuple((rng.choice((16, 100, 1000, 20000, 0xFFFFF, rng.randrange(16, 0xFFFFF))),
                        rng.randrange(0, 8), rng.choice((1, 63, 64, 255))) for _ in range(depth))  # fmt: skip
        if rng.random() < 0.7:
            payload = self._tcp4_packet() if rng.random() < 0.5 else self._udp4_packet()
        else:
            payload = self._tcp6_packet() if rng.random() < 0.5 else self._udp6_packet()
        ethertype = ETH_P_MPLS if rng.random() < 0.85 else ETH_P_MPLS_MC
        return self._eth(ethertype, s.mpls(labels, payload))

    def _llc(self) -> bytes:
        rng = self.rng
        r = rng.random()
        if r < 0.5:
            payload = b"\x42\x42\x03" + pl.stp_config_bpdu(rng)
            dst = bytes.fromhex("0180c2000000")
        elif r < 0.8:
            _, packet = (s.ETH_P_IP, self._udp4_packet())
            payload = b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + packet
            dst = rng.choice(s.MACS)
        else:
            sap = rng.choice((0x10, 0x20, 0x80, 0x30))
            payload = bytes((sap, sap, 0x03)) + rng.randbytes(rng.randrange(3, 60))
            dst = rng.choice(s.MACS)
        frame = dst + rng.choice(s.MACS) + struct.pack("!H", len(payload)) + payload
        return frame + bytes(max(0, 60 - len(frame)))

    def _short(self) -> bytes:
        rng = self.rng
        if rng.random() < 0.4:
            return rng.randbytes(rng.randrange(1, 14))  # shorter than an Ethernet header
        head = rng.choice(s.MACS) + rng.choice(s.MACS)
        ethertype = rng.choice((s.ETH_P_IP, s.ETH_P_IP, s.ETH_P_IPV6, s.ETH_P_ARP))
        packet = {s.ETH_P_IP: self._tcp4_packet, s.ETH_P_IPV6: self._udp6_packet,
                  s.ETH_P_ARP: self._arp_body}[ethertype]()  # fmt: skip
        limit = 20 if ethertype == s.ETH_P_IP else 40 if ethertype == s.ETH_P_IPV6 else 28
        return head + struct.pack("!H", ethertype) + packet[: rng.randrange(0, limit)]

    def _other_ethertype(self) -> bytes:
        rng = self.rng
        ethertype = rng.choice((0x88B5, 0x88B6, 0x1234, 0x4321, 0x6000, 0x0842))
        return self._eth(ethertype, rng.randbytes(rng.randrange(20, 80)))


def corpus_records(n: int = 20_000, seed: int = DEFAULT_SEED) -> Iterator[tuple[Kind, Packet]]:
    """``n`` ``(kind, packet)`` pairs of the corpus drawn with ``seed``."""
    return CorpusGenerator(seed).records(n)


def corpus_packets(n: int = 20_000, seed: int = DEFAULT_SEED) -> Iterator[Packet]:
    """The ``n`` packets of the corpus drawn with ``seed``."""
    for _, packet in corpus_records(n, seed):
        yield packet


def write_corpus(
    target: str | os.PathLike[str] | BinaryIO, n: int = 20_000, seed: int = DEFAULT_SEED
) -> int:
    """Write the corpus as a classic pcap (microsecond timestamps); returns ``n``."""
    return write_packets(target, corpus_packets(n, seed))
