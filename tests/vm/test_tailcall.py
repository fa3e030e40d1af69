"""bpf_tail_call: jumps into prog_array programs, at most 33 times per run."""

from __future__ import annotations

import struct

from ebpy.isa.asm import assemble
from ebpy.maps import MapSpec, create_map
from ebpy.uapi import MapType
from ebpy.vm import Vm

SELF_CALL = """
    r6 = r1
    r1 = 0
    *(u32 *)(r10 -4) = r1
    r2 = r10
    r2 += -4
    r1 = map[idx:1]
    call 1
    if r0 == 0 goto out
    r1 = 1
    lock *(u64 *)(r0 +0) += r1
    r1 = r6
    r2 = map[idx:0]
    r3 = 0
    call 12
out:
    r0 = 7
    exit
"""


def _maps():  # type: ignore[no-untyped-def]
    progs = create_map(MapSpec(MapType.PROG_ARRAY, 4, 4, 2, name="jmp"))
    counter = create_map(MapSpec(MapType.ARRAY, 4, 8, 1, name="count"))
    return progs, counter


def test_self_tail_call_runs_34_times() -> None:
    progs, counter = _maps()
    vm = Vm(assemble(SELF_CALL), prog_type="socket_filter", maps=[progs, counter])
    progs.set_program(0, vm)
    res = vm.test_run(bytes(64))
    assert res.retval == 7
    assert struct.unpack("<Q", counter[bytes(4)])[0] == 34  # the first run and 33 tail calls


def test_empty_slot_falls_through() -> None:
    progs, counter = _maps()
    vm = Vm(assemble(SELF_CALL), prog_type="socket_filter", maps=[progs, counter])
    assert vm.test_run(bytes(64)).retval == 7
    assert struct.unpack("<Q", counter[bytes(4)])[0] == 1


def test_tail_call_replaces_the_program() -> None:
    progs, _ = _maps()
    target = Vm(assemble("r0 = 42\nexit"), prog_type="socket_filter")
    caller = Vm(
        assemble("r2 = map[idx:0]\nr3 = 1\ncall 12\nr0 = 1\nexit"),
        prog_type="socket_filter",
        maps=[progs],
    )
    progs.set_program(1, target)
    assert caller.test_run(bytes(64)).retval == 42
    del progs[(1).to_bytes(4, "little")]
    assert caller.test_run(bytes(64)).retval == 1
