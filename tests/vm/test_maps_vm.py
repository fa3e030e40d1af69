"""Programs reach maps through lddw and the map helpers, and write values in place."""

from __future__ import annotations

import errno
import struct

import pytest

from ebpy.errors import InvalidInstructionError
from ebpy.isa.asm import assemble
from ebpy.maps import MapSpec, create_map
from ebpy.uapi import MapType
from ebpy.vm import Vm

COUNT = """
    r1 = 3
    *(u32 *)(r10 -4) = r1
    r2 = r10
    r2 += -4
    r1 = map[idx:0]
    call 1
    if r0 == 0 goto miss
    r1 = 1
    lock *(u64 *)(r0 +0) += r1
    r0 = *(u64 *)(r0 +0)
    exit
miss:
    r0 = 99
    exit
"""


def _array(n: int = 4, value: int = 8):  # type: ignore[no-untyped-def]
    return create_map(MapSpec(MapType.ARRAY, 4, value, n, name="arr"))


def test_lookup_and_in_place_update() -> None:
    m = _array()
    vm = Vm(assemble(COUNT), maps=[m])
    assert [vm.run() for _ in range(3)] == [1, 2, 3]
    assert struct.unpack("<Q", m[struct.pack("<I", 3)])[0] == 3


def test_lookup_out_of_range_gives_null() -> None:
    m = _array(n=2)
    assert Vm(assemble(COUNT), maps=[m]).run() == 99


def test_map_by_id_and_value_address() -> None:
    m = _array(n=1, value=16)
    m[bytes(4)] = struct.pack("<QQ", 5, 7)
    prog = assemble(f"r1 = map[id:{m.id}][0]+8\nr0 = *(u64 *)(r1 +0)\nexit")
    assert Vm(prog, maps=[m]).run() == 7


def test_update_helper_returns_errno() -> None:
    m = _array(n=2)
    text = """
        r1 = 0
        *(u64 *)(r10 -16) = r1
        r1 = 5
        *(u32 *)(r10 -4) = r1
        r2 = r10
        r2 += -4
        r3 = r10
        r3 += -16
        r1 = map[idx:0]
        r4 = 0
        call 2
        exit
    """
    assert Vm(assemble(text), maps=[m]).run() == -errno.E2BIG & (1 << 64) - 1


def test_missing_map_is_a_load_time_error() -> None:
    with pytest.raises(InvalidInstructionError):
        Vm(assemble("r1 = map[idx:1]\nr0 = 0\nexit"), maps=[_array()])


def test_for_each_map_elem_calls_back() -> None:
    m = _array(n=4)
    for i in range(4):
        m[struct.pack("<I", i)] = struct.pack("<Q", 10 * i)
    text = """
        r1 = 0
        *(u64 *)(r10 -8) = r1
        r1 = map[idx:0]
        r2 = subprog[+7]
        r3 = r10
        r3 += -8
        r4 = 0
        call 164
        r0 = *(u64 *)(r10 -8)
        exit
        r5 = *(u64 *)(r3 +0)
        r6 = *(u64 *)(r4 +0)
        r5 += r6
        *(u64 *)(r4 +0) = r5
        r0 = 0
        exit
    """
    assert Vm(assemble(text), maps=[m]).run() == 60
