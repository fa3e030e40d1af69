"""The test corpus: deterministic, big enough, and carrying every feature the filter and
summary tests rely on, with correct lengths and checksums.

The checks parse the frames here with ``struct`` (independently of
``ebpy.pcap.summary``), so a generator change that silently drops a feature
(say, IPv4 options, or QinQ with a 0x9100 outer tag) fails here first.
"""

from __future__ import annotations

import struct
from collections import Counter
from pathlib import Path

from ebpy.pcap import read_packets
from ebpy.pcap.corpus import KIND_WEIGHTS, Kind, corpus_records, write_corpus
from ebpy.pcap.synth import checksum
from tests.filter_diff.corpus import CORPUS_SIZE, corpus_path, records


def _ones_complement_ok(data: bytes) -> bool:
    return checksum(data) == 0


def _pseudo(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    if len(src) == 4:
        return src + dst + struct.pack("!BBH", 0, proto, length)
    return src + dst + struct.pack("!I3xB", length, proto)


def _layers(frame: bytes) -> tuple[list[int], int, int]:
    """(Ethernet/VLAN types seen, offset of the network header, its ethertype)."""
    types = [struct.unpack_from("!H", frame, 12)[0]]
    off = 14
    while types[-1] in (0x8100, 0x88A8, 0x9100) and len(frame) >= off + 4:
        types.append(struct.unpack_from("!H", frame, off + 2)[0])
        off += 4
    return types, off, types[-1]


def test_deterministic_and_prefix_stable() -> None:
    a = list(corpus_records(500, seed=9))
    assert a == list(corpus_records(500, seed=9))
    assert a != list(corpus_records(500, seed=10))
    assert list(corpus_records(800, seed=9))[:500] == a  # a shorter corpus is a prefix


def test_file_round_trips() -> None:
    packets = read_packets(corpus_path())
    assert len(packets) == CORPUS_SIZE >= 20_000
    assert packets == [p for _, p in records()]
    assert corpus_path().stat().st_size < 3_000_000


def test_every_kind_is_present_in_proportion() -> None:
    counts = Counter(kind for kind, _ in records())
    assert set(counts) == set(Kind)
    total = sum(KIND_WEIGHTS.values())
    for kind, weight in KIND_WEIGHTS.items():
        expected = CORPUS_SIZE * weight / total
        assert 0.7 * expected < counts[kind] < 1.3 * expected, kind


def test_link_layer_variety() -> None:
    outer, tags, depth, llc, short, cut, bcast, mcast = (
        Counter[int](),
        Counter[int](),
        Counter[int](),
        0,
        Counter[str](),
        0,
        0,
        0,
    )
    mpls_depths = Counter[int]()
    for kind, p in records():
        frame = p.data
        cut += p.truncated
        if len(frame) < 14:
            short["ether"] += 1
            continue
        bcast += frame[:6] == b"\xff" * 6
        mcast += frame[0] & 1 and frame[:6] != b"\xff" * 6
        types, off, ethertype = _layers(frame)
        outer[types[0]] += 1
        if len(types) > 1:
            depth[len(types) - 1] += 1
            tags[types[0]] += 1
        if types[0] <= 1500:
            llc += 1
        if ethertype == 0x0800 and len(frame) - off < 20 and kind is Kind.SHORT:
            short["ip"] += 1
        if ethertype in (0x8847, 0x8848) and not p.truncated:
            n = 1
            while not frame[off + 4 * (n - 1) + 2] & 1:
                n += 1
            mpls_depths[n] += 1
    assert {0x0800, 0x86DD, 0x0806, 0x8035, 0x8100, 0x88A8, 0x9100, 0x8847, 0x8848} <= set(outer)
    assert tags[0x8100] and tags[0x88A8] and tags[0x9100] and depth[2] and depth[3]
    assert llc > 100 and short["ether"] > 20 and short["ip"] > 20
    assert cut > 0.04 * CORPUS_SIZE and bcast > 500 and mcast > 500
    assert mpls_depths[1] and mpls_depths[2] and mpls_depths[3]


def test_ipv4_variety_and_checksums() -> None:
    options, fragments, ttls, toses, dests = (
        0,
        Counter[str](),
        set[int](),
        set[int](),
        Counter[str](),
    )
    checked = 0
    for kind, p in records():
        frame = p.data
        if len(frame) < 14:
            continue
        _, off, ethertype = _layers(frame)
        if ethertype != 0x0800 or len(frame) < off + 20 or kind is Kind.MPLS:
            continue
        ip = frame[off:]
        hlen = (ip[0] & 15) * 4
        total, frag, ttl, proto = struct.unpack_from("!H2xHBB", ip, 2)
        options += hlen > 20
        ttls.add(ttl)
        toses.add(ip[1])
        fragments[
            "df"
            if frag & 0x4000
            else "first"
            if frag == 0x2000
            else "middle"
            if frag & 0x2000 and frag & 0x1FFF
            else "last"
            if frag & 0x1FFF
            else "whole"
        ] += 1
        dests[
            "broadcast"
            if ip[16:20] == b"\xff" * 4
            else "multicast"
            if 224 <= ip[16] < 240
            else "unicast"
        ] += 1
        if len(ip) >= hlen:
            assert _ones_complement_ok(ip[:hlen]), "IPv4 header checksum"
        if not p.truncated and not frag & 0x3FFF and proto in (6, 17) and kind is not Kind.SHORT:
            l4 = ip[hlen:total]
            assert _ones_complement_ok(_pseudo(ip[12:16], ip[16:20], proto, len(l4)) + l4)
            checked += 1
    assert options > 300 and checked > 5000
    assert all(fragments[k] > 100 for k in ("df", "first", "middle", "last", "whole"))
    assert len(ttls) >= 6 and len(toses) >= 6
    assert dests["broadcast"] > 100 and dests["multicast"] > 100


def test_transport_and_application_variety() -> None:
    flags, tcp_options, icmp_types, icmp6_types, igmp_types = (
        set[int](),
        Counter[int](),
        set[int](),
        set[int](),
        set[int](),
    )
    ext_headers, udp_ports, sctp_chunks = Counter[int](), Counter[int](), set[int]()
    for _, p in records():
        frame = p.data
        if len(frame) < 14:
            continue
        _, off, ethertype = _layers(frame)
        if ethertype == 0x0800 and len(frame) >= off + 20:
            ip = frame[off:]
            hlen = (ip[0] & 15) * 4
            proto, frag = ip[9], struct.unpack_from("!H", ip, 6)[0]
            l4 = ip[hlen:]
            if frag & 0x1FFF:
                continue
        elif ethertype == 0x86DD and len(frame) >= off + 40:
            ip = frame[off:]
            proto, l4 = ip[6], ip[40:]
            while proto in (0, 43, 44, 60) and len(l4) >= 8:
                ext_headers[proto] += 1
                if proto == 44 and struct.unpack_from("!H", l4, 2)[0] & 0xFFF8:
                    proto = -1
                    break
                size = 8 if proto == 44 else (l4[1] + 1) * 8
                proto, l4 = l4[0], l4[size:]
        else:
            continue
        if proto == 6 and len(l4) >= 20:
            flags.add(l4[13])
            cur, end = 20, min(len(l4), (l4[12] >> 4) * 4)
            while cur < end and l4[cur] not in (0,):
                tcp_options[l4[cur]] += 1
                cur += 1 if l4[cur] == 1 else max(2, l4[cur + 1] if cur + 1 < end else 2)
        elif proto == 17 and len(l4) >= 8:
            udp_ports.update(struct.unpack_from("!HH", l4))
        elif proto == 1 and l4:
            icmp_types.add(l4[0])
        elif proto == 58 and l4:
            icmp6_types.add(l4[0])
        elif proto == 2 and l4:
            igmp_types.add(l4[0])
        elif proto == 132 and len(l4) >= 13:
            sctp_chunks.add(l4[12])
    assert len(flags) == 256  # every TCP flag combination
    assert {1, 2, 3, 4, 5, 8} <= set(tcp_options)
    assert {0, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 17, 18} <= icmp_types
    assert {1, 2, 3, 4, 128, 129, 130, 131, 132, 133, 134, 135, 136, 143} <= icmp6_types
    assert {0x11, 0x12, 0x16, 0x17, 0x22} <= igmp_types
    assert all(ext_headers[h] > 50 for h in (0, 43, 44, 60))
    assert all(udp_ports[port] > 50 for port in (53, 67, 68, 123))
    assert {0, 1, 2, 3} <= sctp_chunks


def test_writer_matches_records(tmp_path: Path) -> None:
    path = tmp_path / "small.pcap"
    assert write_corpus(path, 300, seed=4) == 300
    assert read_packets(path) == [p for _, p in corpus_records(300, seed=4)]
