"""bpf_spin_lock, bpf_spin_unlock and bpf_loop."""

from __future__ import annotations

import errno
import struct
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.errors import VmError
from ebpy.helpers.env import Runtime
from ebpy.helpers.linux import LINUX_HELPERS
from ebpy.helpers.registry import HelperImpl
from ebpy.helpers.sync import BPF_MAX_LOOPS, locks_held
from ebpy.isa.asm import assemble
from ebpy.maps import MapSpec, create_map
from ebpy.maps.base import Map
from ebpy.memory import RegionKind
from ebpy.uapi import HelperId, MapType
from ebpy.vm import Vm

U64 = (1 << 64) - 1
H = HelperId


def impl(helper: HelperId) -> HelperImpl:
    return LINUX_HELPERS[helper].impl


def array(value_size: int = 16, entries: int = 2) -> Map:
    return create_map(MapSpec(MapType.ARRAY, 4, value_size, entries, name="locks"))


def runtime_with(m: Map) -> tuple[Runtime, int]:
    rt = Runtime()
    rt.add_map(m)
    return rt, rt.map_value_address(m, 0)


def word(rt: Runtime, addr: int) -> int:
    return int.from_bytes(rt.memory.read(addr, 4), "little")


# -- spin locks -----------------------------------------------------------------------------
def test_lock_and_unlock_set_and_clear_the_word() -> None:
    rt, value = runtime_with(array())
    assert impl(H.SPIN_LOCK)(rt, value, 0, 0, 0, 0) == 0
    assert word(rt, value) == 1 and locks_held(rt) == {value}
    assert impl(H.SPIN_UNLOCK)(rt, value, 0, 0, 0, 0) == 0
    assert word(rt, value) == 0 and locks_held(rt) == frozenset()
    assert impl(H.SPIN_LOCK)(rt, value, 0, 0, 0, 0) == 0  # again, after the unlock


def test_taking_a_held_lock_is_a_deadlock() -> None:
    rt, value = runtime_with(array())
    impl(H.SPIN_LOCK)(rt, value, 0, 0, 0, 0)
    with pytest.raises(VmError) as err:
        impl(H.SPIN_LOCK)(rt, value, 0, 0, 0, 0)
    assert type(err.value) is VmError and "deadlock" in err.value.reason


def test_one_lock_at_a_time() -> None:
    rt, value = runtime_with(array())
    impl(H.SPIN_LOCK)(rt, value, 0, 0, 0, 0)
    with pytest.raises(VmError):
        impl(H.SPIN_LOCK)(rt, value + 16, 0, 0, 0, 0)  # the next element's lock


def test_a_lock_left_taken_by_an_earlier_run() -> None:
    m = array()
    rt, value = runtime_with(m)
    impl(H.SPIN_LOCK)(rt, value, 0, 0, 0, 0)
    rt2, value2 = runtime_with(m)
    with pytest.raises(VmError):
        impl(H.SPIN_LOCK)(rt2, value2, 0, 0, 0, 0)


def test_unlocking_a_lock_not_held() -> None:
    rt, value = runtime_with(array())
    with pytest.raises(VmError):
        impl(H.SPIN_UNLOCK)(rt, value, 0, 0, 0, 0)


@pytest.mark.parametrize("where", ["stack_like_memory", "misaligned", "unmapped"])
@pytest.mark.parametrize("helper", [H.SPIN_LOCK, H.SPIN_UNLOCK])
def test_lock_word_must_be_in_a_map_value(where: str, helper: HelperId) -> None:
    rt, value = runtime_with(array())
    addr = {
        "stack_like_memory": rt.memory.map(RegionKind.MEMORY, bytes(8)).base,
        "misaligned": value + 2,
        "unmapped": 0x7000_0000_0000,
    }[where]
    with pytest.raises(VmError):
        impl(helper)(rt, addr, 0, 0, 0, 0)


def test_spin_lock_in_a_program() -> None:
    """Lock, bump a counter next to the lock, unlock: as a BPF program would."""
    m = array()
    prog = assemble(
        """
        r1 = 0
        *(u32 *)(r10 -4) = r1
        r1 = map[idx:0]
        r2 = r10
        r2 += -4
        call 1
        if r0 == 0 goto out
        r6 = r0
        r1 = r6
        call 93
        r1 = *(u64 *)(r6 +8)
        r1 += 1
        *(u64 *)(r6 +8) = r1
        r1 = r6
        call 94
        out:
        r0 = 0
        exit
        """
    )
    vm = Vm(prog, maps=[m])
    for _ in range(3):
        vm.run()
    value = m.lookup_elem(bytes(4))
    assert value is not None
    assert (
        struct.unpack_from("<IQ", value, 0)[0] == 0 and struct.unpack_from("<Q", value, 8)[0] == 3
    )


# -- bpf_loop ------------------------------------------------------------------------------
def loop_runtime(callback: Callable[[int, int], int]) -> tuple[Runtime, list[tuple[int, int]]]:
    calls: list[tuple[int, int]] = []

    def invoke(func: int, r1: int = 0, r2: int = 0, r3: int = 0, r4: int = 0, r5: int = 0) -> int:
        assert func == 0xF00 and (r3, r4, r5) == (0, 0, 0)
        calls.append((r1, r2))
        return callback(r1, r2)

    rt = Runtime()
    rt.extra["invoke"] = invoke
    return rt, calls


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 200), st.integers(0, 250))
def test_loop_counts_and_stops(nr: int, stop_at: int) -> None:
    rt, calls = loop_runtime(lambda i, ctx: int(i == stop_at))
    ret = impl(H.LOOP)(rt, nr, 0xF00, 0xC7C, 0, 0)
    expect = stop_at + 1 if stop_at < nr else nr
    assert ret == expect
    assert calls == [(i, 0xC7C) for i in range(expect)]


def test_loop_nonzero_return_stops() -> None:
    rt, _ = loop_runtime(lambda i, ctx: U64 if i == 2 else 0)
    assert impl(H.LOOP)(rt, 10, 0xF00, 0, 0, 0) == 3


@pytest.mark.parametrize(
    ("nr", "flags", "ret"),
    [
        (5, 1, -errno.EINVAL & U64),
        (BPF_MAX_LOOPS + 1, 0, -errno.E2BIG & U64),
        (U64, 0, -errno.E2BIG & U64),  # u32 0xffffffff
        ((1 << 32) + 2, 0, 2),  # nr_loops is a u32
        (0, 0, 0),
    ],
)
def test_loop_arguments(nr: int, flags: int, ret: int) -> None:
    rt, _ = loop_runtime(lambda i, ctx: 0)
    assert impl(H.LOOP)(rt, nr, 0xF00, 0, flags, 0) == ret


def test_loop_max_is_allowed() -> None:
    rt, _ = loop_runtime(lambda i, ctx: 1)
    assert impl(H.LOOP)(rt, BPF_MAX_LOOPS, 0xF00, 0, 0, 0) == 1


def test_loop_without_a_vm() -> None:
    assert impl(H.LOOP)(Runtime(), 3, 0xF00, 0, 0, 0) == -errno.EINVAL & U64


def test_loop_in_a_program() -> None:
    """Sum 0..9 into a stack slot through the callback's context pointer."""
    prog = assemble(
        """
        r1 = 0
        *(u64 *)(r10 -8) = r1
        r1 = 10
        r2 = subprog[+9]
        r3 = r10
        r3 += -8
        r4 = 0
        call 181
        r1 = *(u64 *)(r10 -8)
        r0 <<= 32
        r0 |= r1
        exit
        r3 = *(u64 *)(r2 +0)
        r3 += r1
        *(u64 *)(r2 +0) = r3
        r0 = 0
        exit
        """
    )
    assert Vm(prog).run() == 10 << 32 | 45
