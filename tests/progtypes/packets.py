"""Packets for the packet program-type tests: builders and hypothesis strategies.

``ether(...)``, ``ipv4(...)``, ``ipv6(...)``, ``tcp(...)``, ``udp(...)``, ``icmp(...)``
build headers with correct lengths and checksums; ``packets()`` draws whole
frames (Ethernet, optionally VLAN-tagged, carrying IPv4/IPv6 with TCP/UDP/ICMP,
ARP or junk), including truncated ones. This module builds bytes; it asserts
nothing.
"""

from __future__ import annotations

import struct

from hypothesis import strategies as st

ETH_P_IP, ETH_P_IPV6, ETH_P_ARP, ETH_P_8021Q = 0x0800, 0x86DD, 0x0806, 0x8100
MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def checksum(data: bytes) -> int:
    """The Internet checksum of ``data`` (as a big-endian 16-bit value)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ether(proto: int, dst: bytes = MAC_B, src: bytes = MAC_A, vlan: int | None = None) -> bytes:
    """An Ethernet header (with an 802.1Q tag when ``vlan`` is given)."""
    if vlan is None:
        return dst + src + struct.pack("!H", proto)
    return dst + src + struct.pack("!HHH", ETH_P_8021Q, vlan, proto)


def ipv4(
    payload: bytes, proto: int, src: str = "10.0.0.1", dst: str = "10.0.0.2", ttl: int = 64
) -> bytes:
    """An IPv4 header with a correct checksum, then ``payload``."""
    s = bytes(int(x) for x in src.split("."))
    d = bytes(int(x) for x in dst.split("."))
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, ttl, proto, 0, s, d)
    return hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:] + payload


def ipv6(payload: bytes, proto: int, src: bytes | None = None, dst: bytes | None = None) -> bytes:
    """An IPv6 header, then ``payload``."""
    s = src or bytes.fromhex("20010db8000000000000000000000001")
    d = dst or bytes.fromhex("20010db8000000000000000000000002")
    return struct.pack("!IHBB", 0x60000000, len(payload), proto, 64) + s + d + payload


def _l4_sum(pseudo: bytes, segment: bytes) -> int:
    return checksum(pseudo + segment)


def tcp(sport: int = 1234, dport: int = 80, payload: bytes = b"", v6: bool = False) -> bytes:
    """A TCP segment (checksum over the default addresses of ``ipv4``/``ipv6``)."""
    seg = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, 0x02, 65535, 0, 0) + payload
    return _with_l4_sum(seg, 6, 16, v6)


def udp(sport: int = 1234, dport: int = 53, payload: bytes = b"", v6: bool = False) -> bytes:
    """A UDP datagram (checksum over the default addresses)."""
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return _with_l4_sum(seg, 17, 6, v6)


def icmp(kind: int = 8, payload: bytes = b"") -> bytes:
    """An ICMP message (echo request by default)."""
    msg = struct.pack("!BBHHH", kind, 0, 0, 1, 1) + payload
    return msg[:2] + struct.pack("!H", checksum(msg)) + msg[4:]


def _with_l4_sum(seg: bytes, proto: int, at: int, v6: bool) -> bytes:
    if v6:
        src = bytes.fromhex("20010db8000000000000000000000001")
        dst = bytes.fromhex("20010db8000000000000000000000002")
        pseudo = src + dst + struct.pack("!IxxxB", len(seg), proto)
    else:
        pseudo = bytes([10, 0, 0, 1, 10, 0, 0, 2]) + struct.pack("!xBH", proto, len(seg))
    return seg[:at] + struct.pack("!H", _l4_sum(pseudo, seg)) + seg[at + 2 :]


def tcp4(payload: bytes = b"", **kw: int) -> bytes:
    """Ethernet + IPv4 + TCP."""
    return ether(ETH_P_IP) + ipv4(tcp(payload=payload, **kw), 6)


def udp4(payload: bytes = b"", **kw: int) -> bytes:
    """Ethernet + IPv4 + UDP."""
    return ether(ETH_P_IP) + ipv4(udp(payload=payload, **kw), 17)


def udp6(payload: bytes = b"", **kw: int) -> bytes:
    """Ethernet + IPv6 + UDP."""
    return ether(ETH_P_IPV6) + ipv6(udp(payload=payload, v6=True, **kw), 17)


# -- hypothesis ---------------------------------------------------------------------
_payloads = st.binary(min_size=0, max_size=64)
_ports = st.integers(0, 65535)


@st.composite
def l4(draw: st.DrawFn, v6: bool) -> tuple[int, bytes]:
    kind = draw(st.sampled_from(["tcp", "udp", "icmp", "raw"]))
    payload = draw(_payloads)
    if kind == "tcp":
        return 6, tcp(draw(_ports), draw(_ports), payload, v6)
    if kind == "udp":
        return 17, udp(draw(_ports), draw(_ports), payload, v6)
    if kind == "icmp":
        return (58 if v6 else 1), icmp(draw(st.sampled_from([0, 8, 3])), payload)
    return draw(st.integers(0, 255)), payload


@st.composite
def packets(draw: st.DrawFn, min_size: int = 14, max_size: int = 400, vlan: bool = True) -> bytes:
    """Ethernet frames: IPv4/IPv6 with TCP/UDP/ICMP, ARP or junk; some VLAN-tagged,
    some cut short (never below ``min_size`` nor above ``max_size`` bytes)."""
    net = draw(st.sampled_from(["ipv4", "ipv4", "ipv6", "ipv6", "arp", "junk"]))
    dst = draw(st.sampled_from([MAC_B, bytes(6), b"\xff" * 6, bytes.fromhex("01005e000001")]))
    tag = draw(st.none() | st.integers(0, 0xFFFF)) if vlan else None
    if net == "ipv4":
        proto, seg = draw(l4(False))
        frame = ether(ETH_P_IP, dst, vlan=tag) + ipv4(seg, proto, ttl=draw(st.integers(0, 255)))
    elif net == "ipv6":
        proto, seg = draw(l4(True))
        frame = ether(ETH_P_IPV6, dst, vlan=tag) + ipv6(seg, proto)
    elif net == "arp":
        frame = ether(ETH_P_ARP, dst, vlan=tag) + draw(st.binary(min_size=28, max_size=28))
    else:
        frame = ether(draw(st.integers(0, 0xFFFF)), dst, vlan=tag) + draw(_payloads)
    if draw(st.integers(0, 4)) == 0:
        frame = frame[: draw(st.integers(min_size, max(min_size, len(frame))))]
    frame = frame + bytes(max(0, min_size - len(frame)))
    return frame[:max_size]
