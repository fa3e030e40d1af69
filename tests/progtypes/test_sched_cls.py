"""tc classifiers: ``__sk_buff`` rules for tc, direct packet access, the L2 test run."""

from __future__ import annotations

import errno
import struct

import pytest
from hypothesis import given, settings

from ebpy.errors import ContextAccessError
from ebpy.errors import TestRunError as RunError
from ebpy.isa.asm import assemble
from ebpy.progtypes import prog_type_info
from ebpy.progtypes._skb import OFFSET, SKB_SIZE
from ebpy.uapi import HelperId, ProgType, TcAction
from ebpy.vm import Vm
from tests.progtypes.packets import packets, tcp4, udp6

INFO = prog_type_info("sched_cls")
PKT = tcp4(b"payload")

SWAP_MACS = """
    r2 = *(u32 *)(r1 +76)
    r3 = *(u32 *)(r1 +80)
    r4 = r2
    r4 += 14
    if r4 > r3 goto out
    r5 = *(u32 *)(r2 +0)
    r6 = *(u16 *)(r2 +4)
    r7 = *(u32 *)(r2 +6)
    r8 = *(u16 *)(r2 +10)
    *(u32 *)(r2 +0) = r7
    *(u16 *)(r2 +4) = r8
    *(u32 *)(r2 +6) = r5
    *(u16 *)(r2 +10) = r6
    r0 = 0
    exit
out:
    r0 = 2
    exit
"""


def run(text: str, data: bytes | None = PKT, ctx: bytes | None = None, kind: str = "sched_cls"):  # type: ignore[no-untyped-def]
    return Vm(assemble(text), prog_type=kind).test_run(data, ctx)


def u32_at(buf: bytes, name: str) -> int:
    value: int = struct.unpack_from("<I", buf, OFFSET[name])[0]
    return value


def test_registered() -> None:
    assert INFO.prog_type == ProgType.SCHED_CLS
    assert prog_type_info("tc") is INFO and prog_type_info("classifier") is INFO
    for helper in (HelperId.SKB_STORE_BYTES, HelperId.L4_CSUM_REPLACE, HelperId.REDIRECT):
        assert helper in INFO.helpers
    assert HelperId.XDP_ADJUST_HEAD not in INFO.helpers


@pytest.mark.parametrize(
    ("off", "size", "write", "performed"),
    [
        (8, 4, True, (8, 4)),  # mark
        (32, 4, True, (32, 4)),  # priority
        (44, 4, True, (44, 2)),  # tc_index: kept as 16 bits
        (72, 4, True, (72, 2)),  # tc_classid
        (12, 4, True, (12, 2)),  # queue_mapping
        (48, 8, True, (48, 8)),  # cb
        (152, 8, True, (152, 8)),  # tstamp
        (180, 1, False, (180, 1)),  # tstamp_type
        (184, 8, False, (184, 8)),  # hwtstamp
        (160, 4, False, (160, 4)),  # wire_len
        (0, 2, False, (0, 2)),
    ],
)
def test_allowed_access(off: int, size: int, write: bool, performed: tuple[int, int]) -> None:
    assert INFO.access(off, size, write) == performed


@pytest.mark.parametrize("name", ["data", "data_end", "data_meta"])
def test_pointer_fields_read_their_shadow(name: str) -> None:
    assert INFO.access(OFFSET[name], 4, False) == (INFO.shadow_offset(name), 8)


@pytest.mark.parametrize(
    ("off", "size", "write"),
    [
        (88, 4, False),  # family
        (136, 4, False),  # local_port
        (0, 4, True),  # len
        (68, 4, True),  # hash
        (16, 4, True),  # protocol
        (152, 4, False),  # tstamp as 4 bytes
        (8, 2, True),  # narrow write
        (76, 2, False),  # narrow pointer read
        (76, 8, False),
        (76, 4, True),
        (180, 1, True),
        (180, 4, False),
        (184, 8, True),
        (144, 8, False),
    ],
)
def test_denied_access(off: int, size: int, write: bool) -> None:
    with pytest.raises(ContextAccessError):
        INFO.access(off, size, write)


def test_whole_frame_in_view() -> None:
    res = run("r0 = *(u32 *)(r1 +0)\nexit")
    assert res.retval == len(PKT)
    assert res.data_out == PKT
    assert run("r0 = *(u16 *)skb[12]\nexit").retval == 0x0800


def test_direct_packet_access_rewrites() -> None:
    res = run(SWAP_MACS)
    assert res.retval == 0
    assert res.data_out == PKT[6:12] + PKT[0:6] + PKT[12:]


def test_data_end_bounds_fail_cleanly_on_short_packets() -> None:
    res = run(SWAP_MACS.replace("r4 += 14", "r4 += 200"))
    assert res.retval == 2 and res.data_out == PKT


def test_tc_index_keeps_16_bits() -> None:
    text = "r2 = 0x12345\n*(u32 *)(r1 +44) = r2\nr0 = *(u32 *)(r1 +44)\nexit"
    assert run(text).retval == 0x2345


def test_ctx_out_copies_what_the_kernel_copies() -> None:
    text = """
        r2 = 0x55
        *(u32 *)(r1 +8) = r2
        *(u32 *)(r1 +32) = r2
        *(u32 *)(r1 +64) = r2
        r3 = 0x1122334455 ll
        *(u64 *)(r1 +152) = r3
        *(u32 *)(r1 +44) = r2
        r0 = 0
        exit
    """
    ctx = bytearray(SKB_SIZE)
    struct.pack_into("<I", ctx, OFFSET["gso_size"], 1400)
    res = run(text, PKT, bytes(ctx))
    out = res.ctx_out
    assert out is not None
    assert u32_at(out, "mark") == 0x55 and u32_at(out, "priority") == 0x55
    assert struct.unpack_from("<5I", out, OFFSET["cb"]) == (0, 0, 0, 0, 0x55)
    assert struct.unpack_from("<Q", out, OFFSET["tstamp"])[0] == 0x1122334455
    assert u32_at(out, "tc_index") == 0  # not copied back
    assert u32_at(out, "ifindex") == 1
    assert u32_at(out, "wire_len") == len(PKT)
    assert u32_at(out, "gso_size") == 1400  # as given
    assert u32_at(out, "len") == 0


def test_wire_len_without_ctx_is_zero() -> None:
    assert run("r0 = *(u32 *)(r1 +160)\nexit").retval == 0
    assert run("r0 = *(u32 *)(r1 +160)\nexit", PKT, b"").retval == len(PKT)


def test_ifindex_from_ctx() -> None:
    ctx = bytearray(SKB_SIZE)
    struct.pack_into("<I", ctx, OFFSET["ifindex"], 7)
    res = run("r0 = *(u32 *)(r1 +40)\nexit", PKT, bytes(ctx))
    assert res.retval == 7 and res.ctx_out is not None and u32_at(res.ctx_out, "ifindex") == 7


def test_ipv6_and_socket_fields_denied() -> None:
    assert run("r0 = *(u32 *)(r1 +16)\nexit", udp6()).retval == 0xDD86
    with pytest.raises(ContextAccessError):
        Vm(assemble("r0 = *(u32 *)(r1 +88)\nexit"), prog_type="sched_cls")


def test_verdicts() -> None:
    assert INFO.verdict_name(int(TcAction.SHOT)) == "TC_ACT_SHOT"
    assert INFO.verdict_name(7) == "TC_ACT_REDIRECT"
    assert INFO.verdict_name(0xFFFFFFFF) == "TC_ACT_UNSPEC"
    assert INFO.verdict_name(99) == "99"


def test_short_data_refused() -> None:
    with pytest.raises(RunError) as exc:
        run("r0 = 0\nexit", bytes(10))
    assert exc.value.errno == errno.EINVAL


@settings(max_examples=60, deadline=None)
@given(packets(max_size=300))
def test_swap_macs_on_any_packet(frame: bytes) -> None:
    try:
        res = run(SWAP_MACS, frame)
    except RunError as exc:
        assert exc.errno == errno.EINVAL
        return
    assert res.data_out == frame[6:12] + frame[0:6] + frame[12:]
