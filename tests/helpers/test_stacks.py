"""get_stackid and get_stack: stacks supplied through ``Runtime.extra``, the kernel's errnos."""

from __future__ import annotations

import errno
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.helpers.env import Runtime
from ebpy.helpers.stacks import HELPERS, stack_bytes
from ebpy.isa._intmath import M64
from ebpy.maps import create_map
from ebpy.maps.stack_trace import (
    BPF_F_FAST_STACK_CMP,
    BPF_F_REUSE_STACKID,
    BPF_F_USER_BUILD_ID,
    BPF_F_USER_STACK,
    BUILD_ID_STATUS_IP,
    StackTraceMap,
)
from ebpy.memory import Region, RegionKind
from ebpy.spec import MapSpec
from ebpy.uapi import HelperId, MapType

IMPL = {h.id: h.impl for h in HELPERS}
KSTACK = [0xFFFF_FFFF_8100_0010, 0xFFFF_FFFF_8100_0020, 0xFFFF_FFFF_8100_0030]
USTACK = [0x5555_0000_1000, 0x5555_0000_2000]


def neg(err: int) -> int:
    return -err & M64


def runtime(stack: list[int] | None = KSTACK, user: list[int] | None = USTACK) -> Runtime:
    rt = Runtime()
    if stack is not None:
        rt.extra["stack"] = stack
    if user is not None:
        rt.extra["user_stack"] = user
    return rt


def stackid(rt: Runtime, m: Any, flags: int) -> int:
    return IMPL[HelperId.GET_STACKID](rt, 0, m.slot << 32, flags, 0, 0)


def get_stack(rt: Runtime, size: int, flags: int, fill: int = 0xEE) -> tuple[int, bytes, Region]:
    buf = rt.memory.map(RegionKind.MEMORY, bytes([fill]) * max(size, 1))
    r0 = IMPL[HelperId.GET_STACK](rt, 0, buf.base, size, flags, 0)
    return r0, bytes(buf.buf[:size]), buf


def stack_map(value_size: int = 8 * 8, max_entries: int = 16) -> StackTraceMap:
    m = create_map(MapSpec(MapType.STACK_TRACE, 4, value_size, max_entries))
    assert isinstance(m, StackTraceMap)
    return m


def test_ids_and_protos() -> None:
    assert {h.id: h.name for h in HELPERS} == {
        HelperId.GET_STACKID: "get_stackid",
        HelperId.GET_STACK: "get_stack",
    }
    assert [h.proto.nargs for h in HELPERS if h.proto] == [3, 4]
    assert all(h.proto is not None and h.proto.gpl_only for h in HELPERS)


# -- get_stackid ---------------------------------------------------------------------------


def test_get_stackid_kernel_and_user() -> None:
    m = stack_map(max_entries=1024)
    rt = runtime()
    rt.add_map(m)
    kid = stackid(rt, m, 0)
    uid = stackid(rt, m, BPF_F_USER_STACK)
    sid = stackid(rt, m, 1)
    assert m.stacks() == {kid: KSTACK, uid: USTACK, sid: KSTACK[1:]}
    assert stackid(rt, m, BPF_F_FAST_STACK_CMP) == kid
    assert stackid(rt, m, BPF_F_REUSE_STACKID) == kid


@pytest.mark.parametrize(
    ("flags", "stack", "err"),
    [
        (0, None, errno.EFAULT),  # no stack supplied
        (0, [], errno.EFAULT),
        (3, KSTACK, errno.EFAULT),  # skipping all of it
        (BPF_F_USER_BUILD_ID, KSTACK, errno.EINVAL),
        (1 << 11 | BPF_F_USER_STACK, KSTACK, errno.EINVAL),
        (1 << 20, KSTACK, errno.EINVAL),
    ],
)
def test_get_stackid_errnos(flags: int, stack: list[int] | None, err: int) -> None:
    m = stack_map()
    rt = runtime(stack)
    rt.add_map(m)
    assert stackid(rt, m, flags) == neg(err)


def test_get_stackid_on_another_map_is_einval() -> None:
    rt = runtime()
    other = create_map(MapSpec(MapType.ARRAY, 4, 8, 1))
    rt.add_map(other)
    assert stackid(rt, other, 0) == neg(errno.EINVAL)


# -- get_stack -------------------------------------------------------------------------------


def test_get_stack_copies_and_zero_fills() -> None:
    r0, data, _ = get_stack(runtime(), 48, 0)
    assert r0 == 24
    assert data == struct.pack("<3Q", *KSTACK) + bytes(24)


def test_get_stack_truncates_to_the_buffer() -> None:
    r0, data, _ = get_stack(runtime(), 16, 1)
    assert r0 == 16
    assert data == struct.pack("<2Q", *KSTACK[1:])


def test_get_stack_user() -> None:
    r0, data, _ = get_stack(runtime(), 16, BPF_F_USER_STACK)
    assert (r0, data) == (16, struct.pack("<2Q", *USTACK))


def test_get_stack_user_build_id() -> None:
    r0, data, _ = get_stack(runtime(), 96, BPF_F_USER_STACK | BPF_F_USER_BUILD_ID)
    assert r0 == 64
    entries = [struct.unpack_from("<i20sQ", data, off) for off in (0, 32)]
    assert entries == [(BUILD_ID_STATUS_IP, bytes(20), ip) for ip in USTACK]
    assert data[64:] == bytes(32)


@pytest.mark.parametrize(
    ("size", "flags", "err"),
    [
        (12, 0, errno.EINVAL),  # not a multiple of 8
        (40, BPF_F_USER_STACK | BPF_F_USER_BUILD_ID, errno.EINVAL),  # not of 32
        (32, BPF_F_USER_BUILD_ID, errno.EINVAL),  # build ids of a kernel stack
        (32, BPF_F_FAST_STACK_CMP, errno.EINVAL),  # a get_stackid flag
        (32, 4, errno.EFAULT),  # skip more than there is
    ],
)
def test_get_stack_errors_clear_the_buffer(size: int, flags: int, err: int) -> None:
    r0, data, _ = get_stack(runtime(), size, flags)
    assert r0 == neg(err)
    assert data == bytes(size)


def test_get_stack_edges() -> None:
    assert get_stack(runtime(), 32, 3)[0] == 0  # skip exactly everything: nothing, no error
    assert get_stack(runtime(None), 32, 0)[:2] == (0, bytes(32))
    rt = runtime()
    assert IMPL[HelperId.GET_STACK](rt, 0, 0, 0, 0, 0) == 0  # size 0 touches nothing


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(1, M64), max_size=140),
    st.integers(0, 20),
    st.integers(0, 300),
)
def test_get_stack_model(stack: list[int], n: int, skip: int) -> None:
    skip &= 0xFF
    got = stack_bytes(stack, 8 * n, skip)
    trace = stack[: min(n + skip, 127)]
    if len(trace) < skip:
        assert got == -errno.EFAULT
    else:
        ips = trace[skip:][:n]
        assert got == struct.pack(f"<{len(ips)}Q", *ips)


# -- from a program -------------------------------------------------------------------------------


STACK_PROG = """
    r6 = r1
    r1 = r6
    r2 = map[idx:0]
    r3 = 0
    call 27
    r7 = r0
    r1 = r6
    r2 = r10
    r2 += -32
    r3 = 32
    r4 = 1
    call 67
    r0 <<= 32
    r0 |= r7
    exit
"""


def test_from_a_program() -> None:
    vm_mod = pytest.importorskip("ebpy.vm")
    from ebpy.isa.asm import assemble

    m = stack_map()
    try:
        vm = vm_mod.Vm(assemble(STACK_PROG), maps=[m])
    except TypeError:
        pytest.skip("this Vm takes no maps yet")
    rt = vm.new_runtime()
    rt.extra["stack"] = KSTACK
    r0 = vm.run(runtime=rt)
    sid = r0 & 0xFFFF_FFFF
    assert m.stacks()[sid] == KSTACK
    assert r0 >> 32 == 16  # get_stack copied two frames after skipping one
