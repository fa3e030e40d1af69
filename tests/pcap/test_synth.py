"""The packet generator: determinism, well-formed headers, correct checksums (ours and tcpdump's)."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.pcap import read_packets
from ebpy.pcap.synth import (
    HOSTS4,
    KINDS,
    Synth,
    checksum,
    icmp_echo,
    ipv4,
    synth_packets,
    udp,
    write_synth_pcap,
)
from tests.pcap import TCPDUMP, tcpdump_count, tcpdump_lines


def ref_sum(data: bytes) -> int:
    """One's-complement sum of big-endian 16-bit words, folded: the test's own reference."""
    if len(data) % 2:
        data += b"\0"
    total = 0
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
        total = (total & 0xFFFF) + (total >> 16)
    return total


def verify(frame: bytes) -> str:
    """Check one frame's lengths and checksums; return what it carries (``tcp4`` ...)."""
    assert len(frame) >= 60
    ethertype = struct.unpack_from("!H", frame, 12)[0]
    off = 14
    tagged = ethertype == 0x8100
    if tagged:
        assert 1 <= struct.unpack_from("!H", frame, 14)[0] & 0xFFF < 4095
        ethertype = struct.unpack_from("!H", frame, 16)[0]
        off = 18
    prefix = "vlan_" if tagged else ""
    if ethertype == 0x0806:
        htype, ptype, hlen, plen, op = struct.unpack_from("!HHBBH", frame, off)
        assert (htype, ptype, hlen, plen) == (1, 0x0800, 6, 4) and op in (1, 2)
        assert frame[off + 8 : off + 14] == frame[6:12]  # sender is the frame's source
        return prefix + "arp"
    if ethertype == 0x0800:
        ip = frame[off:]
        assert ip[0] == 0x45
        total = struct.unpack_from("!H", ip, 2)[0]
        assert ref_sum(ip[:20]) == 0xFFFF  # header checksum
        proto, src, dst = ip[9], ip[12:16], ip[16:20]
        l4 = ip[20:total]
        pseudo = src + dst + struct.pack("!BBH", 0, proto, len(l4))
        version = "4"
    else:
        assert ethertype == 0x86DD
        ip = frame[off:]
        assert ip[0] >> 4 == 6
        plen, proto = struct.unpack_from("!HB", ip, 4)
        src, dst = ip[8:24], ip[24:40]
        l4 = ip[40 : 40 + plen]
        assert len(l4) == plen
        pseudo = src + dst + struct.pack("!I3xB", plen, proto)
        version = "6"
    if proto == 1:
        assert ref_sum(l4) == 0xFFFF
        return prefix + "icmp4"
    assert ref_sum(pseudo + l4) == 0xFFFF, "transport checksum"
    if proto == 17:
        assert struct.unpack_from("!H", l4, 4)[0] == len(l4)
    names = {6: "tcp", 17: "udp", 58: "icmp"}
    return prefix + names[proto] + version


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from(KINDS))
def test_every_kind_is_well_formed(seed: int, kind: str) -> None:
    assert verify(Synth(seed).frame(kind)) == kind


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32))
def test_frames_are_well_formed(seed: int) -> None:
    kinds = {verify(f) for f in Synth(seed).frames(200)}
    assert len(kinds) >= 6


def test_same_seed_same_frames_other_seed_other_frames() -> None:
    assert list(Synth(7).frames(100)) == list(Synth(7).frames(100))
    assert list(Synth(7).frames(100)) != list(Synth(8).frames(100))
    a, b = list(synth_packets(10, seed=1)), list(synth_packets(10, seed=1))
    assert a == b
    assert [p.ts_ns for p in a] == [1_700_000_000 * 10**9 + 1000 * i for i in range(10)]


def test_kind_mix_and_a_busy_source() -> None:
    frames = list(Synth(0).frames(2000))
    seen = [verify(f) for f in frames]
    assert set(seen) == set(KINDS)
    busy = sum(1 for f in frames if f[12:14] == b"\x08\x00" and f[26:30] == HOSTS4[0])
    assert busy > 200


@pytest.mark.parametrize("kind", KINDS)
def test_frames_of_one_kind(kind: str) -> None:
    assert {verify(f) for f in Synth(3).frames(20, (kind,))} == {kind}


def test_known_checksums() -> None:
    header = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    assert checksum(header) == 0xB861
    assert checksum(bytes.fromhex("45000073000040004011b861c0a80001c0a800c7")) == 0
    assert checksum(b"") == 0xFFFF
    assert checksum(b"\x01") == 0xFEFF


def test_builders() -> None:
    packet = ipv4(b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02", 1, icmp_echo(1, 2, b"hi"))
    assert len(packet) == 20 + 8 + 2 and checksum(packet[:20]) == 0
    assert checksum(packet[20:]) == 0
    # a UDP checksum that computes to 0 is sent as ffff: the pseudo-header (17 + 8),
    # the length (8) and this source port add up to ffff
    datagram = udp(bytes(4), bytes(4), 0xFFFF - 33, 0, b"")
    assert datagram[6:8] == b"\xff\xff"


def test_write_synth_pcap(tmp_path: Path) -> None:
    path = tmp_path / "s.pcapng"
    assert write_synth_pcap(path, 500, seed=4, fmt="pcapng", nanosecond=True) == 500
    packets = read_packets(path)
    assert [p.data for p in packets] == [p.data for p in synth_packets(500, seed=4)]


BAD = re.compile(r"bad (udp |icmp6? |tcp )?cksum|incorrect|\[bad ")


@pytest.mark.skipif(TCPDUMP is None, reason="tcpdump not installed")
def test_tcpdump_finds_every_checksum_correct(tmp_path: Path) -> None:
    path = tmp_path / "s.pcap"
    write_synth_pcap(path, 1500, seed=11)
    assert tcpdump_count(str(path)) == 1500
    text = "\n".join(tcpdump_lines(str(path), "-vv"))
    assert not BAD.search(text)
    good = len(re.findall(r"\(correct\)|sum ok", text))
    transport = sum(
        1 for f in Synth(11).frames(1500) if verify(f).removeprefix("vlan_")[:3] in ("tcp", "udp")
    )
    assert good >= transport
