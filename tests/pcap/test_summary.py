"""Packet summaries: hand-made packets with the lines tcpdump 4.99 prints for them, the
timestamp forms, per-capture state, other link types, and robustness (no input raises).

The expected lines are what ``tcpdump -n -tt -r`` printed for the same bytes
(facts about its output format); ``test_summary_vs_tcpdump.py`` holds the
printer against tcpdump itself on the whole corpus.
"""

from __future__ import annotations

import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.pcap import LinkType, Packet
from ebpy.pcap import synth as s
from ebpy.pcap.corpus import corpus_records
from ebpy.pcap.summary import Summarizer, TimestampFormat, format_timestamp, summarize

T0 = 1_700_000_000 * 10**9
A, B = bytes((10, 0, 0, 1)), bytes((192, 168, 1, 1))
A6, B6 = s.HOSTS6[0], s.SERVERS6[0]
M1, M2 = s.MACS[0], s.MACS[1]
SYN_OPTIONS = bytes.fromhex("020405b4010303070402080a0000000100000000")


def body(frame: bytes, *, wire: int | None = None, link_header: bool = False) -> str:
    return Summarizer(link_header=link_header).body(frame, wire)


def eth4(proto: int, payload: bytes, **kw: int) -> bytes:
    return s.ethernet(M2, M1, s.ETH_P_IP, s.ipv4(A, B, proto, payload, **kw))


def tcp4(sport: int, dport: int, payload: bytes = b"", **kw: int | bytes) -> bytes:
    return eth4(s.IPPROTO_TCP, s.tcp(A, B, sport, dport, payload, **kw))  # type: ignore[arg-type]


def test_timestamps() -> None:
    ts = 1_700_000_000_123_456_789
    assert format_timestamp(ts, "epoch") == "1700000000.123456"
    assert format_timestamp(ts, TimestampFormat.NONE) == ""
    assert len(format_timestamp(ts)) == len("22:13:20.123456")
    assert format_timestamp(ts).endswith(".123456")
    packet = Packet(ts, s.Synth(1).frame("arp"), 60)
    assert Summarizer(timestamps="none").line(packet).startswith("ARP, ")
    assert Summarizer(timestamps="epoch").line(packet).startswith("1700000000.123456 ARP, ")


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (
            tcp4(1234, 80, flags=s.TCP_SYN, seq=100, options=SYN_OPTIONS),
            "IP 10.0.0.1.1234 > 192.168.1.1.80: Flags [S], seq 100, win 65535, options "
            "[mss 1460,nop,wscale 7,sackOK,TS val 1 ecr 0], length 0",
        ),
        (
            tcp4(1234, 81, b"\x01\x02random", flags=0xFF, seq=101, ack=501, urgent=5),
            "IP 10.0.0.1.1234 > 192.168.1.1.81: Flags [FSRP.UEW], seq 101:109, ack 501, "
            "win 65535, urg 5, length 8",
        ),
        (
            tcp4(1234, 80, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", flags=0x18, seq=101, ack=501),
            "IP 10.0.0.1.1234 > 192.168.1.1.80: Flags [P.], seq 101:128, ack 501, win 65535, "
            "length 27: HTTP: GET / HTTP/1.1",
        ),
        (
            tcp4(1234, 22, b"SSH-2.0-OpenSSH\r\n", flags=0x18, seq=101, ack=501),
            "IP 10.0.0.1.1234 > 192.168.1.1.22: Flags [P.], seq 101:118, ack 501, win 65535, "
            "length 17: SSH: SSH-2.0-OpenSSH",
        ),
        (
            eth4(s.IPPROTO_UDP, s.udp(A, B, 1000, 2000, b"abc")),
            "IP 10.0.0.1.1000 > 192.168.1.1.2000: UDP, length 3",
        ),
        (
            eth4(s.IPPROTO_ICMP, s.icmp_echo(1, 2, b"abc")),
            "IP 10.0.0.1 > 192.168.1.1: ICMP echo request, id 1, seq 2, length 11",
        ),
        (
            eth4(
                s.IPPROTO_ICMP, s.icmp(3, 3, bytes(4), s.ipv4(B, A, 17, s.udp(B, A, 5353, 53))[:28])
            ),
            "IP 10.0.0.1 > 192.168.1.1: ICMP 10.0.0.1 udp port 53 unreachable, length 36",
        ),
        (
            eth4(2, s.igmp(0x16, 0, bytes((239, 1, 1, 1)))),
            "IP 10.0.0.1 > 192.168.1.1: igmp v2 report 239.1.1.1",
        ),
        (
            s.ethernet(s.BROADCAST, M1, s.ETH_P_ARP, s.arp(1, M1, A, bytes(6), B)),
            "ARP, Request who-has 192.168.1.1 tell 10.0.0.1, length 46",
        ),
        (
            s.ethernet(M1, M2, s.ETH_P_ARP, s.arp(2, M2, B, M1, A)),
            "ARP, Reply 192.168.1.1 is-at 02:00:00:00:00:02, length 46",
        ),
        (
            s.ethernet(
                M2, M1, s.ETH_P_IPV6, s.ipv6(A6, B6, 58, s.icmpv6_echo(A6, B6, 1, 2, b"abc"))
            ),
            "IP6 fd00::1 > 2001:db8::1: ICMP6, echo request, id 1, seq 2, length 11",
        ),
        (
            s.ethernet(
                M2, M1, s.ETH_P_IPV6, s.ipv6(A6, B6, 0, s.ipv6_ext(17, b"") + s.udp(A6, B6, 1, 2))
            ),
            "IP6 fd00::1 > 2001:db8::1: HBH 1 > 2: UDP, length 0",
        ),
        (
            s.ethernet(
                M2,
                M1,
                0x8847,
                s.mpls(((100, 1, 64), (200, 2, 63)), s.ipv4(A, B, 17, s.udp(A, B, 1, 2))),
            ),
            "MPLS (label 100, tc 1, ttl 64) (label 200, tc 2, [S], ttl 63) "
            "IP 10.0.0.1.1 > 192.168.1.1.2: UDP, length 0",
        ),
        (bytes(10), " [|ether]"),
        (
            s.ethernet(M2, M1, 0x1234, b"AB"),
            "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype Unknown (0x1234), length 60: "
            "\n\t0x0000:  4142 0000 0000 0000 0000 0000 0000 0000  AB.............."
            "\n\t0x0010:  0000 0000 0000 0000 0000 0000 0000 0000  ................"
            "\n\t0x0020:  0000 0000 0000 0000 0000 0000 0000       ..............",
        ),
    ],
)
def test_one_liners(frame: bytes, expected: str) -> None:
    assert body(frame) == expected


def test_link_header() -> None:
    frame = s.ethernet(
        M2, M1, s.ETH_P_IP, s.ipv4(A, B, 17, s.udp(A, B, 1000, 2000, b"abc")), vlan=5
    )
    assert body(frame, link_header=True) == (
        "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype 802.1Q (0x8100), length 60: "
        "vlan 5, p 0, ethertype IPv4 (0x0800), 10.0.0.1.1000 > 192.168.1.1.2000: UDP, length 3"
    )
    assert body(frame) == "IP 10.0.0.1.1000 > 192.168.1.1.2000: UDP, length 3"


def test_truncation_marks() -> None:
    frame = tcp4(1234, 5555, b"x" * 40, flags=0x18, seq=5, ack=6, options=SYN_OPTIONS)
    assert body(frame[: 14 + 20 + 2], wire=len(frame)) == "IP 10.0.0.1 > 192.168.1.1: [|tcp]"
    assert body(frame[: 14 + 20 + 10], wire=len(frame)) == (
        "IP 10.0.0.1.1234 > 192.168.1.1.5555:  [|tcp]"
    )
    assert body(frame[: 14 + 20 + 24], wire=len(frame)) == (
        "IP 10.0.0.1.1234 > 192.168.1.1.5555: Flags [P.], seq 5:45, ack 6, win 65535, "
        "options [mss 1460, [|tcp]"
    )
    assert body(frame[: 14 + 10], wire=len(frame)) == "IP  [|ip]"
    assert body(frame[:14], wire=len(frame)) == " [|ip]"


def test_relative_sequence_numbers_per_capture() -> None:
    first = tcp4(1234, 5555, flags=s.TCP_ACK, seq=1000, ack=2000)
    second = tcp4(1234, 5555, b"data", flags=s.TCP_ACK | s.TCP_PSH, seq=1000, ack=2000)
    summarizer = Summarizer(timestamps="none")
    assert "ack 2000" in summarizer.line(Packet(T0, first, len(first)))
    assert "seq 0:4, ack 1" in summarizer.line(Packet(T0, second, len(second)))
    # a new summarizer (another capture) starts over
    assert "seq 1000:1004, ack 2000" in Summarizer().body(second)


def test_summarize_takes_the_first_packets_link_type() -> None:
    ip = s.ipv4(A, B, 17, s.udp(A, B, 1, 2))
    packets = [Packet(T0, ip, len(ip), LinkType.RAW), Packet(T0 + 1000, ip, len(ip), LinkType.RAW)]
    lines = list(summarize(packets, timestamps="epoch"))
    assert lines == [
        f"1700000000.00000{i} IP 10.0.0.1.1 > 192.168.1.1.2: UDP, length 0" for i in (0, 1)
    ]


@pytest.mark.parametrize(
    ("linktype", "data", "plain", "with_header"),
    [
        (LinkType.RAW, s.ipv4(A, B, 17, s.udp(A, B, 1, 2)), "IP 10.0.0.1.1 > 192.168.1.1.2: UDP, length 0",
         "ip: 10.0.0.1.1 > 192.168.1.1.2: UDP, length 0"),
        (LinkType.IPV6, s.ipv6(A6, B6, 17, s.udp(A6, B6, 1, 2)), "IP6 fd00::1.1 > 2001:db8::1.2: UDP, length 0",
         "ip: fd00::1.1 > 2001:db8::1.2: UDP, length 0"),
        (LinkType.LINUX_SLL, struct.pack(">HHH8sH", 0, 1, 6, M1 + b"\0\0", 0x0800) + s.ipv4(A, B, 17, s.udp(A, B, 1, 2)),
         "IP 10.0.0.1.1 > 192.168.1.1.2: UDP, length 0",
         " In 02:00:00:00:00:01 ethertype IPv4 (0x0800), length 44: 10.0.0.1.1 > 192.168.1.1.2: UDP, length 0"),
        (LinkType.NULL, struct.pack("<I", 2) + s.ipv4(A, B, 17, s.udp(A, B, 1, 2)),
         "IP 10.0.0.1.1 > 192.168.1.1.2: UDP, length 0",
         "AF IPv4 (2), length 32: 10.0.0.1.1 > 192.168.1.1.2: UDP, length 0"),
    ],
)  # fmt: skip
def test_other_link_types(linktype: int, data: bytes, plain: str, with_header: str) -> None:
    assert Summarizer(linktype).body(data) == plain
    assert Summarizer(linktype, link_header=True).body(data) == with_header


def test_unknown_link_type() -> None:
    assert Summarizer(147).body(b"abc") == "[link type 147 not decoded] length 3"


@settings(max_examples=400, deadline=None)
@given(
    st.binary(max_size=200), st.booleans(), st.sampled_from([1, 101, 113, 276, 0, 108, 228, 229])
)
def test_any_bytes_give_a_line(data: bytes, link_header: bool, linktype: int) -> None:
    line = Summarizer(linktype, link_header=link_header).body(data, len(data) + 10)
    assert isinstance(line, str)


def test_mutated_corpus_frames_give_a_line() -> None:
    """Corpus frames with a few bytes changed (malformed headers of every kind)."""
    rng = random.Random(7)
    summarizer = Summarizer()
    headed = Summarizer(link_header=True)
    for _, packet in corpus_records(3000):
        for _ in range(5):
            data = bytearray(packet.data)
            for _ in range(rng.randrange(1, 4)):
                data[rng.randrange(len(data))] = rng.getrandbits(8)
            mutated = Packet(
                packet.ts_ns, bytes(data[: rng.randrange(1, len(data) + 1)]), packet.orig_len
            )
            assert isinstance(summarizer.line(mutated), str)
            assert isinstance(headed.line(mutated), str)
