"""BPF_PROG_TYPE_RAW_TRACEPOINT: u64 args[] context, its rules, test runs as the kernel's."""

from __future__ import annotations

import errno
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.errors import ContextAccessError, InputError, MemoryAccessError
from ebpy.errors import TestRunError as RunError
from ebpy.isa.asm import assemble
from ebpy.progtypes import prog_type_info
from ebpy.progtypes.raw_tracepoint import (
    MAX_BPF_FUNC_ARGS,
    RAW_TP_HELPERS,
    RAW_TP_PROTOS,
    RawTracepointInfo,
    raw_tp_args,
    raw_tp_ctx,
    unpack_args,
)
from ebpy.uapi import HelperId, ProgType
from ebpy.vm import Vm
from tests.progtypes import check_access

U64 = (1 << 64) - 1


def test_registered() -> None:
    info = prog_type_info("raw_tracepoint")
    assert isinstance(info, RawTracepointInfo) and info.prog_type == ProgType.RAW_TRACEPOINT
    assert info.ctx_size == 96 and info.helpers == RAW_TP_HELPERS
    assert HelperId.GET_STACK in info.helpers and HelperId.OVERRIDE_RETURN not in info.helpers
    assert HelperId.SPIN_LOCK not in info.helpers


# -- building contexts --------------------------------------------------------------------
def test_args() -> None:
    assert raw_tp_args() == b""
    assert raw_tp_args(1, -1) == struct.pack("<QQ", 1, U64)
    assert unpack_args(raw_tp_args(*range(12))) == list(range(12))
    assert unpack_args(bytes(12)) == [0]


@pytest.mark.parametrize(
    ("name", "args", "expect"),
    [
        ("sys_enter", {"id": 257}, [0, 257]),
        ("sys_exit", {"regs": 8, "ret": -2}, [8, U64 - 1]),
        ("sched_switch", {"next": 3}, [0, 0, 3, 0]),
        ("sched_process_exec", {"old_pid": 5}, [0, 5, 0]),
    ],
)
def test_named_args(name: str, args: dict[str, int], expect: list[int]) -> None:
    assert unpack_args(raw_tp_ctx(name, **args)) == expect
    assert len(RAW_TP_PROTOS[name]) == len(expect)


@pytest.mark.parametrize(
    "make",
    [
        lambda: raw_tp_args(*range(13)),
        lambda: raw_tp_args(1 << 64),
        lambda: raw_tp_args(True),
        lambda: raw_tp_args("1"),
        lambda: raw_tp_ctx("nope"),
        lambda: raw_tp_ctx("sys_enter", ret=1),
    ],
)
def test_builder_errors(make: object) -> None:
    with pytest.raises(InputError):
        make()  # type: ignore[operator]


# -- access rules -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("offset", "size", "write", "ok"),
    [
        (0, 8, False, True),
        (88, 8, False, True),
        (96, 8, False, False),
        (4, 4, False, True),  # narrow loads, as the kernel allows them now
        (0, 4, False, True),
        (9, 1, False, True),
        (94, 2, False, True),
        (2, 4, False, False),
        (4, 8, False, False),
        (0, 8, True, False),
        (-8, 8, False, False),
    ],
)
def test_access(offset: int, size: int, write: bool, ok: bool) -> None:
    check_access("raw_tracepoint", offset, size, write, ok)


# -- test runs ----------------------------------------------------------------------------
SUM3 = assemble(
    "r0 = *(u64 *)(r1 +0)\nr2 = *(u64 *)(r1 +8)\nr0 += r2\nr2 = *(u64 *)(r1 +16)\nr0 += r2\nexit"
)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, U64), min_size=3, max_size=MAX_BPF_FUNC_ARGS))
def test_run_sums_args(args: list[int]) -> None:
    res = Vm(SUM3, prog_type="raw_tracepoint").test_run(ctx_in=raw_tp_args(*args))
    assert res.retval == sum(args[:3]) & 0xFFFF_FFFF
    assert res.ctx_out == raw_tp_args(*args) and res.data_out == b""


def test_reading_past_the_given_args_stops_the_program() -> None:
    with pytest.raises(MemoryAccessError):
        Vm(SUM3, prog_type="raw_tracepoint").test_run(ctx_in=raw_tp_args(1, 2))


@pytest.mark.parametrize(
    ("data_in", "ctx_in"),
    [(b"\0" * 14, raw_tp_args(1, 2, 3)), (None, bytes(8 * MAX_BPF_FUNC_ARGS + 8))],
)
def test_run_refuses_what_the_kernel_refuses(data_in: bytes | None, ctx_in: bytes) -> None:
    with pytest.raises(RunError) as err:
        Vm(SUM3, prog_type="raw_tracepoint").test_run(data_in=data_in, ctx_in=ctx_in)
    assert err.value.errno == errno.EINVAL


def test_narrow_loads() -> None:
    prog = assemble("r0 = *(u16 *)(r1 +12)\nexit")
    res = Vm(prog, prog_type="raw_tracepoint").test_run(ctx_in=raw_tp_args(0, 0xABCD_0000_0000))
    assert res.retval == 0xABCD


def test_misaligned_load_refused_at_load() -> None:
    with pytest.raises(ContextAccessError) as err:
        Vm(assemble("r0 = *(u32 *)(r1 +2)\nexit"), prog_type="raw_tracepoint")
    assert err.value.size == 4 and err.value.offset == 2
