"""Legacy LD_ABS/LD_IND: offsets from skb->data, SKF_NET_OFF and SKF_LL_OFF, out of bounds."""

from __future__ import annotations

import pytest

from ebpy.isa.builder import ALU64, EXIT, LD_ABS, R0, R1, R6
from ebpy.isa.opcodes import Size
from ebpy.vm import Vm

SKF_NET_OFF = -0x100000
SKF_LL_OFF = -0x200000

FRAME = (
    bytes.fromhex("ffffffffffff0200000000010800")
    + bytes.fromhex("4500001c000100004011f9cd0a0000010a000002")
    + bytes(8)
)


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (9, 0x11),  # socket filters see skb->data at the network header: IP protocol
        (SKF_NET_OFF + 9, 0x11),
        (SKF_LL_OFF + 12, 0x08),  # the ethertype's first byte, from the MAC header
        (SKF_LL_OFF + 0, 0xFF),
        (4000, 0),  # past the end: the program ends with r0 = 0
        (SKF_LL_OFF - 1, 0),
    ],
)
def test_socket_filter_ld_abs(offset: int, expected: int) -> None:
    prog = [ALU64.MOV.reg(R6, R1), LD_ABS(Size.B, offset), EXIT()]
    assert Vm(prog, prog_type="socket_filter").test_run(FRAME).retval == expected


def test_plain_memory_ld_abs_negative_offset_ends_with_zero() -> None:
    prog = [ALU64.MOV.imm(R0, 7), LD_ABS(Size.B, -1), EXIT()]
    assert Vm(prog).run(b"abc") == 0
