"""perf_event_output and the ring buffer helpers, called directly and from programs."""

from __future__ import annotations

import errno
import struct
from typing import Any

import pytest

from ebpy.errors import MapError, MemoryAccessError
from ebpy.helpers.env import Runtime
from ebpy.helpers.events import BPF_F_CTXLEN_MASK, HELPERS
from ebpy.isa._intmath import M64
from ebpy.maps import create_map
from ebpy.maps.perf_event_array import BPF_F_CURRENT_CPU, PerfEventArray
from ebpy.maps.ringbuf import (
    BPF_RB_AVAIL_DATA,
    BPF_RB_CONS_POS,
    BPF_RB_FORCE_WAKEUP,
    BPF_RB_NO_WAKEUP,
    BPF_RB_PROD_POS,
    BPF_RB_RING_SIZE,
    BUSY_BIT,
    RingBuf,
)
from ebpy.memory import Region, RegionKind
from ebpy.spec import MapSpec
from ebpy.uapi import HelperId, MapType

IMPL = {h.id: h.impl for h in HELPERS}


def neg(err: int) -> int:
    return -err & M64


def call(helper: HelperId, rt: Runtime, *args: int) -> int:
    regs = [*args, 0, 0, 0, 0, 0][:5]
    return IMPL[helper](rt, *regs)


def perf_setup(cpu: int = 0) -> tuple[Runtime, PerfEventArray, Region]:
    m = create_map(MapSpec(MapType.PERF_EVENT_ARRAY, 4, 4, 4))
    assert isinstance(m, PerfEventArray)
    rt = Runtime(cpu=cpu, ncpus=4)
    rt.add_map(m)
    data = rt.memory.map(RegionKind.MEMORY, b"0123456789abcdef")
    return rt, m, data


def ring_setup(size: int = 4096) -> tuple[Runtime, RingBuf, Region]:
    rb = create_map(MapSpec(MapType.RINGBUF, 0, 0, size))
    assert isinstance(rb, RingBuf)
    rt = Runtime()
    rt.add_map(rb)
    data = rt.memory.map(RegionKind.MEMORY, b"0123456789abcdef")
    return rt, rb, data


def test_ids_and_protos() -> None:
    names = {h.id: h.name for h in HELPERS}
    assert names == {
        HelperId.PERF_EVENT_OUTPUT: "perf_event_output",
        HelperId.RINGBUF_OUTPUT: "ringbuf_output",
        HelperId.RINGBUF_RESERVE: "ringbuf_reserve",
        HelperId.RINGBUF_SUBMIT: "ringbuf_submit",
        HelperId.RINGBUF_DISCARD: "ringbuf_discard",
        HelperId.RINGBUF_QUERY: "ringbuf_query",
    }
    assert all(h.proto is not None for h in HELPERS)
    assert [h.proto.nargs for h in HELPERS if h.proto] == [5, 4, 3, 2, 2, 2]


# -- perf_event_output ----------------------------------------------------------------------


def test_perf_event_output_current_cpu() -> None:
    rt, m, data = perf_setup(cpu=2)
    r0 = call(HelperId.PERF_EVENT_OUTPUT, rt, 0, m.slot << 32, BPF_F_CURRENT_CPU, data.base, 5)
    assert r0 == 0
    assert m.read() == [(2, b"01234" + bytes(7))]


@pytest.mark.parametrize(
    ("flags", "cpu", "err"),
    [
        (0, 0, 0),
        (3, 3, 0),
        (4, 0, errno.E2BIG),
        (1, 0, errno.EOPNOTSUPP),
        (1 << 32, 0, errno.EINVAL),  # CTXLEN bits: no packet in this run
        (1 << 52, 0, errno.EINVAL),
    ],
)
def test_perf_event_output_errnos(flags: int, cpu: int, err: int) -> None:
    rt, m, data = perf_setup(cpu)
    r0 = call(HelperId.PERF_EVENT_OUTPUT, rt, 0, m.slot << 32, flags, data.base, 4)
    assert r0 == (neg(err) if err else 0)


def test_perf_event_output_closed_and_not_a_perf_map() -> None:
    rt, m, data = perf_setup()
    m.close(0)
    assert call(HelperId.PERF_EVENT_OUTPUT, rt, 0, m.slot << 32, 0, data.base, 4) == neg(
        errno.ENOENT
    )
    other = create_map(MapSpec(MapType.ARRAY, 4, 4, 1))
    rt.add_map(other)
    assert call(HelperId.PERF_EVENT_OUTPUT, rt, 0, other.slot << 32, 0, data.base, 4) == neg(
        errno.EINVAL
    )


class FakePacketState:
    """A run state whose context has data/data_end pointers, as skb and xdp ones do."""

    def __init__(self, rt: Runtime, packet: bytes) -> None:
        self.region = rt.memory.map(RegionKind.PACKET, packet)

    def get_pointer(self, name: str) -> int:
        return {"data": self.region.base, "data_end": self.region.end}[name]


@pytest.mark.parametrize(("ctxlen", "err"), [(0, 0), (3, 0), (6, 0), (7, errno.EFAULT)])
def test_perf_event_output_appends_packet_bytes(ctxlen: int, err: int) -> None:
    rt, m, data = perf_setup()
    rt.state = FakePacketState(rt, b"PACKET")
    flags = ctxlen << 32 | BPF_F_CURRENT_CPU
    assert flags & BPF_F_CTXLEN_MASK == ctxlen << 32
    r0 = call(HelperId.PERF_EVENT_OUTPUT, rt, 0, m.slot << 32, flags, data.base, 2)
    assert r0 == (neg(err) if err else 0)
    if not err:
        ((_, got),) = m.read()
        assert got[: 2 + ctxlen] == b"01" + b"PACKET"[:ctxlen]


def test_perf_event_output_size_zero_and_bad_memory() -> None:
    rt, m, data = perf_setup()
    assert call(HelperId.PERF_EVENT_OUTPUT, rt, 0, m.slot << 32, 0, 0, 0) == 0
    assert m.read() == [(0, bytes(4))]
    with pytest.raises(MemoryAccessError):
        call(HelperId.PERF_EVENT_OUTPUT, rt, 0, m.slot << 32, 0, data.base, 17)


# -- ring buffer helpers -------------------------------------------------------------------------


def test_ringbuf_output_and_query() -> None:
    rt, rb, data = ring_setup()
    mp = rb.slot << 32
    assert call(HelperId.RINGBUF_OUTPUT, rt, mp, data.base, 5, 0) == 0
    assert call(HelperId.RINGBUF_QUERY, rt, mp, BPF_RB_AVAIL_DATA) == 16
    assert call(HelperId.RINGBUF_QUERY, rt, mp, BPF_RB_RING_SIZE) == 4096
    assert call(HelperId.RINGBUF_QUERY, rt, mp, BPF_RB_PROD_POS) == 16
    assert call(HelperId.RINGBUF_QUERY, rt, mp, BPF_RB_CONS_POS) == 0
    assert call(HelperId.RINGBUF_QUERY, rt, mp, 99) == 0
    assert rb.consume() == [b"01234"]
    assert call(HelperId.RINGBUF_QUERY, rt, mp, BPF_RB_CONS_POS) == 16


@pytest.mark.parametrize(
    ("flags", "size", "want"),
    [
        (0, 4, 0),
        (BPF_RB_NO_WAKEUP, 4, 0),
        (BPF_RB_FORCE_WAKEUP, 4, 0),
        (4, 4, errno.EINVAL),
        (0, 4089, errno.EAGAIN),
    ],
)
def test_ringbuf_output_errnos(flags: int, size: int, want: int) -> None:
    rt, rb, _ = ring_setup()
    big = rt.memory.map(RegionKind.MEMORY, bytes(size))
    r0 = call(HelperId.RINGBUF_OUTPUT, rt, rb.slot << 32, big.base, size, flags)
    assert r0 == (neg(want) if want else 0)


def test_ringbuf_helpers_on_other_maps() -> None:
    rt, _, data = ring_setup()
    other = create_map(MapSpec(MapType.ARRAY, 4, 4, 1))
    rt.add_map(other)
    mp = other.slot << 32
    assert call(HelperId.RINGBUF_OUTPUT, rt, mp, data.base, 4, 0) == neg(errno.EINVAL)
    assert call(HelperId.RINGBUF_RESERVE, rt, mp, 4, 0) == 0
    assert call(HelperId.RINGBUF_QUERY, rt, mp, 0) == 0
    with pytest.raises(MapError) as info:
        call(HelperId.RINGBUF_SUBMIT, rt, mp + 8, 0)
    assert info.value.errno == errno.EINVAL


def test_reserve_submit_in_place() -> None:
    rt, rb, _ = ring_setup()
    mp = rb.slot << 32
    ptr = call(HelperId.RINGBUF_RESERVE, rt, mp, 12, 0)
    assert ptr == (rb.slot << 32) + 8
    rt.memory.write(ptr, b"hello, world")
    assert rb.header(0)[0] == 12 | BUSY_BIT
    assert call(HelperId.RINGBUF_SUBMIT, rt, ptr, 0) == 0
    assert rb.consume() == [b"hello, world"]
    with pytest.raises(MapError) as info:
        call(HelperId.RINGBUF_SUBMIT, rt, ptr, 0)  # not twice
    assert info.value.errno == errno.EINVAL


def test_reserve_discard_and_flags() -> None:
    rt, rb, _ = ring_setup()
    mp = rb.slot << 32
    assert call(HelperId.RINGBUF_RESERVE, rt, mp, 8, 1) == 0  # flags must be 0
    assert call(HelperId.RINGBUF_RESERVE, rt, mp, 4088, 0) == 0  # no room
    ptr = call(HelperId.RINGBUF_RESERVE, rt, mp, 8, 0)
    assert call(HelperId.RINGBUF_DISCARD, rt, ptr, BPF_RB_FORCE_WAKEUP) == 0
    assert rb.wakeups == 1
    assert rb.consume() == []
    assert rb.query(BPF_RB_CONS_POS) == 16


def test_reserved_record_that_wraps_is_writable_in_one_piece() -> None:
    rt, rb, _ = ring_setup()
    rb.output(bytes(4072))
    rb.consume()
    ptr = call(HelperId.RINGBUF_RESERVE, rt, rb.slot << 32, 64, 0)
    assert ptr & 0xFFFF_FFFF == 4088
    payload = bytes(range(64))
    rt.memory.write(ptr, payload)  # crosses the end of the ring
    call(HelperId.RINGBUF_SUBMIT, rt, ptr, 0)
    assert rb.consume() == [payload]


# -- from programs --------------------------------------------------------------------------------


def _vm(text: str, maps: list[Any], prog_type: str | None = None) -> Any:
    vm_mod = pytest.importorskip("ebpy.vm")
    from ebpy.isa.asm import assemble

    try:
        return vm_mod.Vm(assemble(text), maps=maps, prog_type=prog_type)
    except TypeError:
        pytest.skip("this Vm takes no maps yet")


RINGBUF_PROG = """
    r6 = r1
    *(u64 *)(r10 - 8) = 0
    r1 = 0x6f6c6c6568 ll
    *(u64 *)(r10 - 16) = r1
    r1 = map[idx:0]
    r2 = r10
    r2 += -16
    r3 = 5
    r4 = 0
    call 130
    r7 = r0
    r1 = map[idx:0]
    r2 = 16
    r3 = 0
    call 131
    if r0 == 0 goto out
    r1 = 0x2a
    *(u64 *)(r0 + 0) = r1
    *(u64 *)(r0 + 8) = r1
    r1 = r0
    r2 = 0
    call 132
    r1 = map[idx:0]
    r2 = 3
    r3 = 0
    call 131
    if r0 == 0 goto out
    r1 = r0
    r2 = 0
    call 133
out:
    r1 = map[idx:0]
    r2 = 3
    call 134
    exit
"""


def test_ringbuf_from_a_program() -> None:
    rb = create_map(MapSpec(MapType.RINGBUF, 0, 0, 4096))
    assert isinstance(rb, RingBuf)
    vm = _vm(RINGBUF_PROG, [rb])
    assert vm.run() == 16 + 24 + 16  # BPF_RB_PROD_POS
    assert rb.consume() == [b"hello", struct.pack("<QQ", 0x2A, 0x2A)]


PERF_PROG = """
    *(u64 *)(r10 - 8) = 0
    r2 = 0x41424344
    *(u32 *)(r10 - 8) = r2
    r4 = r10
    r4 += -8
    r2 = map[idx:0]
    r3 = 0xffffffff ll
    r5 = 4
    call 25
    exit
"""


def test_perf_event_output_from_a_program() -> None:
    m = create_map(MapSpec(MapType.PERF_EVENT_ARRAY, 4, 4, 2))
    assert isinstance(m, PerfEventArray)
    vm = _vm(PERF_PROG, [m])
    rt = vm.new_runtime(cpu=1)
    assert vm.run(runtime=rt) == 0
    assert m.read() == [(1, b"DCBA")]
    m.close(1)
    assert vm.run(runtime=vm.new_runtime(cpu=1)) == neg(errno.ENOENT)
