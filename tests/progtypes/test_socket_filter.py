"""Socket filters: ``__sk_buff`` access rules, the skb test run from the network header."""

from __future__ import annotations

import errno
import struct

import pytest
from hypothesis import given, settings

from ebpy.errors import ContextAccessError
from ebpy.errors import TestRunError as RunError
from ebpy.isa.asm import assemble
from ebpy.memory import AddressSpace
from ebpy.progtypes import prog_type_info
from ebpy.progtypes._skb import OFFSET, SKB_SIZE
from ebpy.progtypes.socket_filter import kept_length
from ebpy.uapi import HelperId, ProgType
from ebpy.vm import Vm
from tests.progtypes.packets import ETH_P_IP, ether, ipv4, packets, tcp4, udp, udp6

INFO = prog_type_info("socket_filter")
PKT = tcp4(b"hello")


def run(text: str, data: bytes | None = PKT, ctx: bytes | None = None):  # type: ignore[no-untyped-def]
    return Vm(assemble(text), prog_type="socket_filter").test_run(data, ctx)


def ctx_with(**fields: int) -> bytes:
    buf = bytearray(SKB_SIZE)
    for name, value in fields.items():
        fmt = "<Q" if name in ("tstamp", "hwtstamp") else "<I"
        struct.pack_into(fmt, buf, OFFSET[name], value)
    return bytes(buf)


def test_registered() -> None:
    assert INFO.prog_type == ProgType.SOCKET_FILTER
    assert prog_type_info(ProgType.SOCKET_FILTER) is INFO
    assert prog_type_info("socket") is INFO
    assert HelperId.SKB_LOAD_BYTES in INFO.helpers
    assert HelperId.SKB_STORE_BYTES not in INFO.helpers
    assert HelperId.MAP_LOOKUP_ELEM in INFO.helpers


@pytest.mark.parametrize(
    ("off", "size", "write"),
    [
        (0, 4, False),  # len
        (0, 1, False),
        (2, 2, False),
        (16, 4, False),  # protocol
        (48, 4, True),  # cb[0]
        (48, 8, True),
        (56, 8, False),
        (67, 1, True),
        (68, 4, False),  # hash
        (164, 4, False),  # gso_segs
        (176, 2, False),  # gso_size
    ],
)
def test_allowed_access(off: int, size: int, write: bool) -> None:
    assert INFO.access(off, size, write) == (off, size)


def test_sk_reads_its_shadow_slot() -> None:
    assert INFO.access(168, 8, False) == (INFO.shadow_offset("sk"), 8)


@pytest.mark.parametrize(
    ("off", "size", "write"),
    [
        (76, 4, False),  # data
        (80, 4, False),  # data_end
        (140, 4, False),  # data_meta
        (72, 4, False),  # tc_classid
        (88, 4, False),  # family
        (92, 4, False),  # remote_ip4
        (152, 8, False),  # tstamp
        (160, 4, False),  # wire_len
        (184, 8, False),  # hwtstamp
        (144, 8, False),  # flow_keys
        (180, 1, False),  # tstamp_type
        (181, 1, False),  # padding
        (8, 4, True),  # mark is read-only here
        (0, 8, False),  # 8-byte read of a u32
        (1, 2, False),  # misaligned
        (64, 8, False),  # past cb[4]
        (44, 4, True),  # tc_index
        (192, 4, False),
        (-4, 4, False),
        (168, 4, False),  # sk as 4 bytes
    ],
)
def test_denied_access(off: int, size: int, write: bool) -> None:
    with pytest.raises(ContextAccessError) as exc:
        INFO.access(off, size, write)
    assert (exc.value.offset, exc.value.size, exc.value.write) == (off, size, write)
    assert exc.value.prog_type == "socket_filter"


def test_denied_access_at_vm_construction() -> None:
    with pytest.raises(ContextAccessError) as exc:
        Vm(assemble("r2 = *(u32 *)(r1 +76)\nr0 = 0\nexit"), prog_type="socket_filter")
    assert exc.value.offset == 76 and exc.value.pc == 0
    with pytest.raises(ContextAccessError) as exc:
        Vm(assemble("r2 = 1\n*(u32 *)(r1 +8) = r2\nr0 = 0\nexit"), prog_type="socket_filter")
    assert exc.value.write and exc.value.offset == 8


def test_len_and_data_out() -> None:
    res = run("r0 = *(u32 *)(r1 +0)\nexit")
    assert res.retval == len(PKT) - 14
    assert res.data_out == bytes(14) + PKT[14:]
    assert res.ctx_out is None


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("protocol", 0x0008),  # htons(ETH_P_IP) as the kernel keeps it
        ("pkt_type", 3),  # PACKET_OTHERHOST: not loopback's (zero) address
        ("ifindex", 1),
        ("ingress_ifindex", 0),
        ("vlan_present", 0),
        ("hash", 0),
        ("mark", 0),
    ],
)
def test_fields_seen_by_program(field: str, expected: int) -> None:
    assert run(f"r0 = *(u32 *)(r1 +{OFFSET[field]})\nexit").retval == expected


@pytest.mark.parametrize(
    ("dst", "pkt_type"),
    [(bytes(6), 0), (b"\xff" * 6, 2), (bytes.fromhex("01005e000001"), 2), (b"\x02" + bytes(5), 3)],
)
def test_pkt_type(dst: bytes, pkt_type: int) -> None:
    frame = ether(ETH_P_IP, dst) + ipv4(udp(), 17)
    assert run("r0 = *(u32 *)(r1 +4)\nexit", frame).retval == pkt_type


def test_ld_abs_reads_from_the_network_header() -> None:
    assert run("r0 = *(u8 *)skb[0]\nexit").retval == 0x45
    assert run("r0 = *(u8 *)skb[9]\nexit").retval == 6  # TCP
    assert run("r0 = *(u16 *)skb[2]\nexit").retval == len(PKT) - 14
    assert run("r0 = *(u32 *)skb[1000]\nexit").retval == 0  # out of range: ends with 0


def test_ld_abs_bytes_negative_offsets() -> None:
    state = INFO.prepare(AddressSpace(), PKT, None)
    assert state.ld_abs_bytes(0, 1) == b"\x45"
    assert state.ld_abs_bytes(-0x100000, 1) == b"\x45"  # SKF_NET_OFF
    assert state.ld_abs_bytes(-0x200000 + 12, 2) == b"\x08\x00"  # SKF_LL_OFF: ethertype
    assert state.ld_abs_bytes(-0x200001, 1) is None
    assert state.ld_abs_bytes(len(PKT) - 14, 1) is None


def test_cb_round_trip_through_ctx() -> None:
    text = "r2 = *(u32 *)(r1 +48)\nr2 += 1\n*(u32 *)(r1 +52) = r2\nr0 = 0\nexit"
    ctx = ctx_with(cb=41, mark=7, priority=3)
    res = run(text, PKT, ctx)
    assert res.ctx_out is not None and len(res.ctx_out) == SKB_SIZE
    cb0, cb1 = struct.unpack_from("<II", res.ctx_out, OFFSET["cb"])
    assert (cb0, cb1) == (41, 42)
    out = struct.unpack_from("<I", res.ctx_out, OFFSET["mark"])[0]
    assert out == 7
    assert struct.unpack_from("<I", res.ctx_out, OFFSET["ifindex"])[0] == 1
    assert struct.unpack_from("<I", res.ctx_out, OFFSET["wire_len"])[0] == len(PKT) - 14


def test_ctx_in_fields_visible() -> None:
    ctx = ctx_with(mark=0xABC, priority=9, ingress_ifindex=5)
    assert run("r0 = *(u32 *)(r1 +8)\nexit", PKT, ctx).retval == 0xABC
    assert run("r0 = *(u32 *)(r1 +32)\nexit", PKT, ctx).retval == 9
    assert run("r0 = *(u32 *)(r1 +36)\nexit", PKT, ctx).retval == 5


@pytest.mark.parametrize(
    ("data", "ctx", "err"),
    [
        (bytes(13), None, errno.EINVAL),
        (None, None, errno.EINVAL),
        (bytes(3713), None, errno.EINVAL),
        (ether(ETH_P_IP) + bytes(19), None, errno.EINVAL),  # IPv4 header cut short
        (ether(0x86DD) + bytes(39), None, errno.EINVAL),
        (PKT, ctx_with(len=1), errno.EINVAL),
        (PKT, ctx_with(hash=1), errno.EINVAL),
        (PKT, ctx_with(wire_len=3), errno.EINVAL),  # shorter than the packet
        (PKT, ctx_with(wire_len=65537), errno.EINVAL),
        (PKT, ctx_with(gso_segs=65536), errno.EINVAL),
        (PKT, bytes(SKB_SIZE) + b"\x01", errno.E2BIG),
    ],
)
def test_test_run_errors(data: bytes | None, ctx: bytes | None, err: int) -> None:
    with pytest.raises(RunError) as exc:
        run("r0 = 0\nexit", data, ctx)
    assert exc.value.errno == err


@pytest.mark.parametrize("data", [bytes(14), bytes(3712), ether(0x0806) + bytes(28)])
def test_edge_sizes_accepted(data: bytes) -> None:
    res = run("r0 = *(u32 *)(r1 +0)\nexit", data, b"")
    assert res.retval == len(data) - 14
    assert res.ctx_out is not None and len(res.ctx_out) == SKB_SIZE


def test_longer_ctx_with_zero_tail_is_fine() -> None:
    res = run("r0 = 1\nexit", PKT, bytes(SKB_SIZE + 16))
    assert res.ctx_out is not None and len(res.ctx_out) == SKB_SIZE


def test_verdicts() -> None:
    assert INFO.verdict_name(0) == "drop"
    assert INFO.verdict_name(0xFFFFFFFF) == "keep 4294967295 bytes"
    assert kept_length(0xFFFFFFFF, 60) == 60
    assert kept_length(10, 60) == 10


def test_ipv6_protocol() -> None:
    assert run("r0 = *(u32 *)(r1 +16)\nexit", udp6()).retval == 0xDD86


@settings(max_examples=60, deadline=None)
@given(packets(max_size=200))
def test_any_packet(frame: bytes) -> None:
    try:
        res = run("r0 = *(u32 *)(r1 +0)\nexit", frame)
    except RunError as exc:
        assert exc.errno == errno.EINVAL
        return
    assert res.retval == len(frame) - 14
    assert res.data_out == bytes(14) + frame[14:]
