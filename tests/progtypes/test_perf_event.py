"""BPF_PROG_TYPE_PERF_EVENT: struct bpf_perf_event_data, its rules, test runs."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.errors import ContextAccessError, InputError
from ebpy.isa.asm import assemble
from ebpy.progtypes import prog_type_info
from ebpy.progtypes.kprobe import PT_REGS_NAMES, PtRegs
from ebpy.progtypes.perf_event import (
    PERF_EVENT_DATA_SIZE,
    PERF_EVENT_HELPERS,
    PerfEventData,
    PerfEventInfo,
    perf_event_data,
)
from ebpy.uapi import HelperId, ProgType
from ebpy.vm import Vm
from tests.progtypes import check_access

U64 = (1 << 64) - 1


def test_layout() -> None:
    info = prog_type_info("perf_event")
    assert isinstance(info, PerfEventInfo) and info.prog_type == ProgType.PERF_EVENT
    assert PERF_EVENT_DATA_SIZE == info.ctx_size == 184
    assert info.field("sample_period").offset == 168 and info.field("addr").offset == 176
    assert info.field("ip").offset == 128
    raw = perf_event_data(PtRegs.call(ip=7), sample_period=4000, addr=0xDEAD)
    assert struct.unpack_from("<QQ", raw, 168) == (4000, 0xDEAD)
    assert struct.unpack_from("<Q", raw, 128)[0] == 7


def test_helpers() -> None:
    helpers = prog_type_info("perf_event").helpers
    assert helpers == PERF_EVENT_HELPERS
    assert HelperId.PERF_PROG_READ_VALUE in helpers and HelperId.READ_BRANCH_RECORDS in helpers
    assert HelperId.OVERRIDE_RETURN not in helpers and HelperId.SPIN_LOCK not in helpers


@settings(max_examples=50, deadline=None)
@given(
    st.dictionaries(st.sampled_from(PT_REGS_NAMES), st.integers(0, U64)),
    st.integers(0, U64),
    st.integers(0, U64),
)
def test_roundtrip(regs: dict[str, int], period: int, addr: int) -> None:
    data = PerfEventData(PtRegs.call(**regs), period, addr)
    again = PerfEventData.unpack(data.pack())
    assert again.regs.as_dict() == data.regs.as_dict()
    assert (again.sample_period, again.addr) == (period, addr)


@pytest.mark.parametrize(
    "make",
    [
        lambda: perf_event_data(sample_period=-1),
        lambda: perf_event_data(addr=1 << 64),
        lambda: PerfEventData(sample_period=True).pack(),
        lambda: PerfEventData.unpack(bytes(185)),
    ],
)
def test_errors(make: object) -> None:
    with pytest.raises(InputError):
        make()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("offset", "size", "write", "ok"),
    [
        (0, 8, False, True),
        (128, 8, False, True),
        (128, 4, False, False),  # registers are read whole
        (132, 4, False, False),
        (129, 1, False, False),
        (168, 8, False, True),
        (168, 4, False, True),
        (172, 4, False, True),
        (170, 2, False, True),
        (171, 1, False, True),
        (176, 8, False, True),
        (180, 4, False, True),
        (172, 8, False, False),
        (184, 8, False, False),
        (168, 8, True, False),
        (0, 8, True, False),
    ],
)
def test_access(offset: int, size: int, write: bool, ok: bool) -> None:
    check_access("perf_event", offset, size, write, ok)


def test_run() -> None:
    prog = assemble(
        "r0 = *(u32 *)(r1 +168)\nr2 = *(u64 *)(r1 +128)\nr0 += r2\nr2 = *(u8 *)(r1 +176)\n"
        "r0 += r2\nexit"
    )
    ctx = perf_event_data(PtRegs.call(ip=1000), sample_period=200, addr=0x1_0003)
    res = Vm(prog, prog_type="perf_event").test_run(ctx_in=ctx)
    assert res.retval == 1203 and res.ctx_out == ctx


def test_narrow_register_load_refused_at_load() -> None:
    with pytest.raises(ContextAccessError) as err:
        Vm(assemble("r0 = *(u32 *)(r1 +128)\nexit"), prog_type="perf_event")
    assert err.value.size == 4
