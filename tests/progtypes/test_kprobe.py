"""BPF_PROG_TYPE_KPROBE: pt_regs layout, the PtRegs builder, context rules, test runs."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.errors import ContextAccessError, InputError
from ebpy.errors import TestRunError as RunError
from ebpy.isa.asm import assemble
from ebpy.progtypes import prog_type_info
from ebpy.progtypes.kprobe import (
    KPROBE_HELPERS,
    PARM_REGS,
    PT_REGS_NAMES,
    PT_REGS_SIZE,
    TRACING_HELPERS,
    KprobeInfo,
    PtRegs,
)
from ebpy.uapi import HelperId, ProgType
from ebpy.vm import Vm
from tests.progtypes import check_access

PTRACE_H = Path("/usr/include/x86_64-linux-gnu/asm/ptrace.h")
U64 = (1 << 64) - 1


# -- layout -------------------------------------------------------------------------------
OFFSETS = {"r15": 0, "bp": 32, "r9": 64, "r8": 72, "ax": 80, "cx": 88, "dx": 96, "si": 104}
OFFSETS |= {"di": 112, "orig_ax": 120, "ip": 128, "flags": 144, "sp": 152, "ss": 160}


@pytest.mark.parametrize(("name", "offset"), sorted(OFFSETS.items()))
def test_register_offsets(name: str, offset: int) -> None:
    assert PT_REGS_NAMES.index(name) * 8 == offset
    assert KprobeInfo().field(name).offset == offset


def test_size() -> None:
    assert PT_REGS_SIZE == 168 == len(PtRegs().pack()) == prog_type_info("kprobe").ctx_size


@pytest.mark.skipif(not PTRACE_H.exists(), reason="no x86-64 asm/ptrace.h")
def test_layout_matches_the_uapi_header() -> None:
    text = PTRACE_H.read_text().split("#else /* __i386__ */", 1)[1]
    body = text[text.index("struct pt_regs {") : text.index("};")]
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    names = re.findall(r"unsigned long (\w+);", body)
    short = {"rbp": "bp", "rbx": "bx", "rax": "ax", "rcx": "cx", "rdx": "dx", "rsi": "si"}
    short |= {"rdi": "di", "orig_rax": "orig_ax", "rip": "ip", "eflags": "flags", "rsp": "sp"}
    assert tuple(short.get(n, n) for n in names) == PT_REGS_NAMES


# -- PtRegs -------------------------------------------------------------------------------
def test_call_puts_arguments_in_the_abi_registers() -> None:
    regs = PtRegs.call(1, 2, 3, 4, 5, 6, ret=-1, ip=0xFFFF_FFFF_8100_0000)
    assert [regs[r] for r in PARM_REGS] == [1, 2, 3, 4, 5, 6]
    assert [regs.parm(n) for n in range(1, 7)] == [1, 2, 3, 4, 5, 6]
    assert regs.rc == U64 and regs["ip"] == 0xFFFF_FFFF_8100_0000
    raw = regs.pack()
    assert struct.unpack_from("<Q", raw, 112)[0] == 1  # di
    assert struct.unpack_from("<Q", raw, 64)[0] == 6  # r9
    assert struct.unpack_from("<Q", raw, 80)[0] == U64  # ax


@pytest.mark.parametrize(
    "make",
    [
        lambda: PtRegs.call(*range(7)),
        lambda: PtRegs.call(rip=1),
        lambda: PtRegs.call(1 << 64),
        lambda: PtRegs.call(-(1 << 63) - 1),
        lambda: PtRegs.call("1"),
        lambda: PtRegs().parm(0),
        lambda: PtRegs().parm(7),
        lambda: PtRegs()["eax"],
        lambda: PtRegs.unpack(bytes(169)),
    ],
)
def test_builder_errors(make: object) -> None:
    with pytest.raises(InputError):
        make()  # type: ignore[operator]


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.sampled_from(PT_REGS_NAMES), st.integers(0, U64)))
def test_pack_unpack_roundtrip(values: dict[str, int]) -> None:
    regs = PtRegs.call(**values)
    again = PtRegs.unpack(regs.pack())
    assert again.as_dict() == regs.as_dict()
    assert all(again[n] == values.get(n, 0) for n in PT_REGS_NAMES)


def test_unpack_short_input_is_zero_extended() -> None:
    assert PtRegs.unpack(struct.pack("<Q", 9)).as_dict()["r15"] == 9


# -- the program type ---------------------------------------------------------------------
def test_registered() -> None:
    info = prog_type_info("kprobe")
    assert isinstance(info, KprobeInfo) and prog_type_info(ProgType.KPROBE) is info
    assert info.helpers == KPROBE_HELPERS and TRACING_HELPERS < KPROBE_HELPERS


@pytest.mark.parametrize(
    ("helper", "allowed"),
    [
        (HelperId.PROBE_READ_KERNEL, True),
        (HelperId.PROBE_READ, True),
        (HelperId.GET_CURRENT_PID_TGID, True),
        (HelperId.TRACE_PRINTK, True),
        (HelperId.OVERRIDE_RETURN, True),
        (HelperId.GET_FUNC_IP, True),
        (HelperId.LOOP, True),
        (HelperId.MAP_LOOKUP_ELEM, True),
        (HelperId.SPIN_LOCK, False),
        (HelperId.SKB_LOAD_BYTES, False),
        (HelperId.XDP_ADJUST_HEAD, False),
        (HelperId.REDIRECT, False),
    ],
)
def test_helpers(helper: HelperId, allowed: bool) -> None:
    assert (helper in prog_type_info("kprobe").helpers) is allowed


@pytest.mark.parametrize(
    ("offset", "size", "write", "ok"),
    [
        (0, 8, False, True),
        (112, 8, False, True),
        (112, 4, False, True),
        (116, 4, False, True),
        (113, 1, False, True),
        (114, 2, False, True),
        (160, 8, False, True),
        (164, 4, False, True),
        (113, 2, False, False),  # misaligned
        (108, 8, False, False),
        (168, 8, False, False),
        (168, 1, False, False),
        (-8, 8, False, False),
        (112, 8, True, False),
        (0, 1, True, False),
    ],
)
def test_access(offset: int, size: int, write: bool, ok: bool) -> None:
    check_access("kprobe", offset, size, write, ok)


# -- test runs ----------------------------------------------------------------------------
ADD_PARMS = assemble("r0 = *(u64 *)(r1 +112)\nr2 = *(u64 *)(r1 +104)\nr0 += r2\nexit")


@settings(max_examples=30, deadline=None)
@given(st.integers(0, U64), st.integers(0, U64))
def test_run_reads_arguments(a: int, b: int) -> None:
    res = Vm(ADD_PARMS, prog_type="kprobe").test_run(ctx_in=PtRegs.call(a, b).pack())
    assert res.retval == (a + b) & 0xFFFF_FFFF
    assert res.ctx_out == PtRegs.call(a, b).pack()


def test_run_reads_narrow_and_return_value() -> None:
    prog = assemble("r0 = *(u16 *)(r1 +82)\nexit")  # bytes 2-3 of ax
    res = Vm(prog, prog_type="kprobe").test_run(ctx_in=PtRegs.call(ret=0x12345678).pack())
    assert res.retval == 0x1234


def test_short_ctx_in_is_zero_padded_and_long_refused() -> None:
    vm = Vm(assemble("r0 = *(u64 *)(r1 +160)\nexit"), prog_type="kprobe")
    assert vm.test_run(ctx_in=b"\x01").retval == 0
    with pytest.raises(RunError) as err:
        vm.test_run(ctx_in=bytes(PT_REGS_SIZE + 8))
    assert err.value.errno == 22


def test_store_to_context_is_refused_at_load() -> None:
    with pytest.raises(ContextAccessError) as err:
        Vm(assemble("r2 = 0\n*(u64 *)(r1 +80) = r2\nr0 = 0\nexit"), prog_type="kprobe")
    assert err.value.write and err.value.offset == 80
