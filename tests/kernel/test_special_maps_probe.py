"""The special map types against the running kernel: errnos, ring layouts, stack ids.

Each scenario runs twice: on ebpy's userspace maps and (marked ``kernel``, skipped
without bpf(2)) on real kernel maps through ``KernelMap``; both must give the
errno written next to it. Programs that use the maps (ring buffer records and
their headers, perf event samples, map-in-map lookups, stack ids) run in the VM
and in the kernel, and their outputs are compared.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import mmap
import os
import platform
import struct
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ebpy.errors import BpfError, MapError
from ebpy.isa.asm import assemble
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import PseudoSrc
from ebpy.maps import create_map
from ebpy.maps.base import ANY, EXIST, NOEXIST
from ebpy.maps.perf_event_array import PerfEventArray, sample_size
from ebpy.maps.prog_array import ENOTSUPP, register_program
from ebpy.maps.ringbuf import BUSY_BIT, DISCARD_BIT, RingBuf, record_size
from ebpy.maps.stack_trace import stack_hash
from ebpy.spec import MapSpec
from ebpy.uapi import MapCreateFlags, MapType, ProgType

kernel = pytest.mark.kernel
M32 = 0xFFFF_FFFF
NO_FD = 0x7FFF_FFF0
"""An fd (and a map/program id) that names nothing."""


def K(i: int) -> bytes:
    return i.to_bytes(4, "little")


def errno_of(fn: Callable[[], object]) -> int:
    try:
        fn()
    except MapError as e:
        return e.errno
    return 0


# -- two worlds with one face ---------------------------------------------------------------


class UserWorld:
    """ebpy's userspace maps; programs are registry ids."""

    def __init__(self) -> None:
        self.keep: list[object] = []

    def create(self, spec: MapSpec) -> Any:
        m = create_map(spec)
        self.keep.append(m)  # as an open fd keeps a kernel map alive
        return m

    def prog(self, prog_type: ProgType = ProgType.SOCKET_FILTER) -> bytes:
        class Prog:
            pass

        p = Prog()
        p.prog_type = prog_type  # type: ignore[attr-defined]
        self.keep.append(p)
        return K(register_program(p))

    def fd(self, m: Any) -> bytes:
        return K(m.id)


class KernelWorld:
    """Kernel maps and programs; values are fds."""

    def __init__(self) -> None:
        from ebpy.kernel import KernelMap, KernelProgram

        self.map_cls = KernelMap
        self.prog_cls = KernelProgram
        self.keep: list[Any] = []

    def create(self, spec: MapSpec) -> Any:
        m = self.map_cls.create(spec)
        self.keep.append(m)
        return m

    def prog(self, prog_type: ProgType = ProgType.SOCKET_FILTER) -> bytes:
        p = self.prog_cls.load(assemble("r0 = 0\nexit"), prog_type)
        self.keep.append(p)
        return K(p.fd)

    def fd(self, m: Any) -> bytes:
        return K(m.fd)

    def close(self) -> None:
        for obj in self.keep:
            obj.close()


@pytest.fixture(params=["user", pytest.param("kernel", marks=kernel)])
def world(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "user":
        yield UserWorld()
        return
    w = KernelWorld()
    try:
        yield w
    finally:
        w.close()


Scenario = Callable[[Any], int]
PA = MapSpec(MapType.PROG_ARRAY, 4, 4, 4)
PEA = MapSpec(MapType.PERF_EVENT_ARRAY, 4, 4, 4)
RB = MapSpec(MapType.RINGBUF, 0, 0, 4096)
ST = MapSpec(MapType.STACK_TRACE, 4, 16, 3)
ARR = MapSpec(MapType.ARRAY, 4, 8, 4)
AOM = MapSpec(MapType.ARRAY_OF_MAPS, 4, 4, 4, inner=ARR)
HOM = MapSpec(MapType.HASH_OF_MAPS, 4, 4, 2, inner=ARR)


def create(spec: MapSpec) -> Scenario:
    return lambda w: errno_of(lambda: w.create(spec))


def on(spec: MapSpec, op: Callable[[Any, Any], object]) -> Scenario:
    """Create ``spec`` and run ``op(world, map)``: the errno."""
    return lambda w: errno_of(lambda: op(w, w.create(spec)))


def filled(spec: MapSpec, op: Callable[[Any, Any], object]) -> Scenario:
    """Like ``on`` with slot/key 0 holding a program (prog arrays) or an ARR map."""

    def run(w: Any) -> int:
        m = w.create(spec)
        value = w.prog() if spec.type == MapType.PROG_ARRAY else w.fd(w.create(ARR))
        m.update_elem(K(0), value)
        return errno_of(lambda: op(w, m))

    return run


def insert(spec: MapSpec, inner: MapSpec, flags: int = ANY) -> Scenario:
    """Create a map of maps from ``spec`` and store a new ``inner`` map in it."""
    return on(spec, lambda w, m: m.update_elem(K(0), w.fd(w.create(inner)), flags))


SCENARIOS: dict[str, tuple[Scenario, int]] = {
    # prog array
    "pa value 8": (create(MapSpec(MapType.PROG_ARRAY, 4, 8, 4)), errno.EINVAL),
    "pa key 8": (create(MapSpec(MapType.PROG_ARRAY, 8, 4, 4)), errno.EINVAL),
    "pa rdonly_prog": (create(MapSpec(MapType.PROG_ARRAY, 4, 4, 4, 0x80)), errno.EINVAL),
    "pa mmapable": (create(MapSpec(MapType.PROG_ARRAY, 4, 4, 4, 0x400)), errno.EINVAL),
    "pa preserve": (create(MapSpec(MapType.PROG_ARRAY, 4, 4, 4, 0x800)), errno.EINVAL),
    "pa lookup empty": (on(PA, lambda w, m: m.lookup_elem(K(0))), errno.ENOENT),
    "pa lookup oob": (on(PA, lambda w, m: m.lookup_elem(K(9))), errno.ENOENT),
    "pa lookup filled": (filled(PA, lambda w, m: m.lookup_elem(K(0))), 0),
    "pa noexist": (on(PA, lambda w, m: m.update_elem(K(0), w.prog(), NOEXIST)), errno.EINVAL),
    "pa exist": (on(PA, lambda w, m: m.update_elem(K(0), w.prog(), EXIST)), errno.EINVAL),
    "pa f_lock": (on(PA, lambda w, m: m.update_elem(K(0), w.prog(), 4)), errno.EINVAL),
    "pa update oob": (on(PA, lambda w, m: m.update_elem(K(7), w.prog())), errno.E2BIG),
    "pa bad fd": (on(PA, lambda w, m: m.update_elem(K(0), K(NO_FD))), errno.EBADF),
    "pa other type": (
        filled(PA, lambda w, m: m.update_elem(K(1), w.prog(ProgType.XDP))),
        errno.EINVAL,
    ),
    "pa same type": (filled(PA, lambda w, m: m.update_elem(K(1), w.prog())), 0),
    "pa delete empty": (on(PA, lambda w, m: m.delete_elem(K(1))), errno.ENOENT),
    "pa delete oob": (on(PA, lambda w, m: m.delete_elem(K(8))), errno.E2BIG),
    "pa delete filled": (filled(PA, lambda w, m: m.delete_elem(K(0))), 0),
    "pa next of last": (on(PA, lambda w, m: m.get_next_key(K(3))), errno.ENOENT),
    "pa lookup_and_delete": (on(PA, lambda w, m: m.lookup_and_delete_elem(K(0))), ENOTSUPP),
    "pa lookup_batch": (on(PA, lambda w, m: m.lookup_batch(None, 4)), ENOTSUPP),
    # perf event array
    "pea value 8": (create(MapSpec(MapType.PERF_EVENT_ARRAY, 4, 8, 4)), errno.EINVAL),
    "pea preserve": (create(MapSpec(MapType.PERF_EVENT_ARRAY, 4, 4, 4, 0x800)), 0),
    "pea lookup": (on(PEA, lambda w, m: m.lookup_elem(K(0))), ENOTSUPP),
    "pea lookup oob": (on(PEA, lambda w, m: m.lookup_elem(K(9))), ENOTSUPP),
    "pea noexist": (on(PEA, lambda w, m: m.update_elem(K(0), K(0), NOEXIST)), errno.EINVAL),
    "pea update oob": (on(PEA, lambda w, m: m.update_elem(K(9), K(0))), errno.E2BIG),
    "pea delete oob": (on(PEA, lambda w, m: m.delete_elem(K(9))), errno.E2BIG),
    "pea lookup_and_delete": (on(PEA, lambda w, m: m.lookup_and_delete_elem(K(0))), ENOTSUPP),
    "pea lookup_batch": (on(PEA, lambda w, m: m.lookup_batch(None, 4)), ENOTSUPP),
    # ring buffer
    "rb 4096": (create(RB), 0),
    "rb 8192": (create(MapSpec(MapType.RINGBUF, 0, 0, 8192)), 0),
    "rb 12288": (create(MapSpec(MapType.RINGBUF, 0, 0, 12288)), errno.EINVAL),
    "rb 2048": (create(MapSpec(MapType.RINGBUF, 0, 0, 2048)), errno.EINVAL),
    "rb 0": (create(MapSpec(MapType.RINGBUF, 0, 0, 0)), errno.EINVAL),
    "rb key 4": (create(MapSpec(MapType.RINGBUF, 4, 0, 4096)), errno.EINVAL),
    "rb value 4": (create(MapSpec(MapType.RINGBUF, 0, 4, 4096)), errno.EINVAL),
    "rb rdonly": (create(MapSpec(MapType.RINGBUF, 0, 0, 4096, 0x08)), errno.EINVAL),
    "rb numa": (create(MapSpec(MapType.RINGBUF, 0, 0, 4096, 0x04)), 0),
    "rb lookup": (on(RB, lambda w, m: m.lookup_elem(b"")), ENOTSUPP),
    "rb update": (on(RB, lambda w, m: m.update_elem(b"", b"")), ENOTSUPP),
    "rb delete": (on(RB, lambda w, m: m.delete_elem(b"")), ENOTSUPP),
    "rb next": (on(RB, lambda w, m: m.get_next_key(None)), ENOTSUPP),
    "rb lookup_and_delete": (on(RB, lambda w, m: m.lookup_and_delete_elem(b"")), ENOTSUPP),
    # stack trace
    "st value 12": (create(MapSpec(MapType.STACK_TRACE, 4, 12, 1)), errno.EINVAL),
    "st value 1016": (create(MapSpec(MapType.STACK_TRACE, 4, 1016, 1)), 0),
    "st value 1024": (create(MapSpec(MapType.STACK_TRACE, 4, 1024, 1)), errno.EINVAL),
    "st key 8": (create(MapSpec(MapType.STACK_TRACE, 8, 8, 1)), errno.EINVAL),
    "st build id 40": (create(MapSpec(MapType.STACK_TRACE, 4, 40, 1, 0x20)), errno.EINVAL),
    "st build id 4064": (create(MapSpec(MapType.STACK_TRACE, 4, 4064, 1, 0x20)), 0),
    "st no_prealloc": (create(MapSpec(MapType.STACK_TRACE, 4, 8, 1, 0x01)), errno.EINVAL),
    "st rdonly": (create(MapSpec(MapType.STACK_TRACE, 4, 8, 1, 0x08)), 0),
    "st lookup": (on(ST, lambda w, m: m.lookup_elem(K(0))), errno.ENOENT),
    "st lookup oob": (on(ST, lambda w, m: m.lookup_elem(K(4))), errno.ENOENT),
    "st update": (on(ST, lambda w, m: m.update_elem(K(0), bytes(16))), errno.EINVAL),
    "st delete": (on(ST, lambda w, m: m.delete_elem(K(3))), errno.ENOENT),
    "st delete oob": (on(ST, lambda w, m: m.delete_elem(K(4))), errno.E2BIG),
    "st next": (on(ST, lambda w, m: m.get_next_key(None)), errno.ENOENT),
    "st lookup_batch": (on(ST, lambda w, m: m.lookup_batch(None, 4)), ENOTSUPP),
    # maps of maps
    "aom value 8": (create(MapSpec(MapType.ARRAY_OF_MAPS, 4, 8, 4, inner=ARR)), errno.EINVAL),
    "aom inner_map flag": (
        create(MapSpec(MapType.ARRAY_OF_MAPS, 4, 4, 4, 0x1000, inner=ARR)),
        errno.EINVAL,
    ),
    "aom nested": (create(MapSpec(MapType.ARRAY_OF_MAPS, 4, 4, 4, inner=AOM)), errno.EINVAL),
    "aom prog array inner": (create(MapSpec(MapType.ARRAY_OF_MAPS, 4, 4, 4, inner=PA)), ENOTSUPP),
    "aom ringbuf inner": (create(MapSpec(MapType.ARRAY_OF_MAPS, 4, 4, 4, inner=RB)), 0),
    "aom stack inner": (create(MapSpec(MapType.ARRAY_OF_MAPS, 4, 4, 4, inner=ST)), 0),
    "aom lookup empty": (on(AOM, lambda w, m: m.lookup_elem(K(0))), errno.ENOENT),
    "aom insert": (insert(AOM, ARR), 0),
    "aom noexist": (insert(AOM, ARR, NOEXIST), errno.EINVAL),
    "aom max differs": (insert(AOM, MapSpec(MapType.ARRAY, 4, 8, 5)), errno.EINVAL),
    "aom value differs": (insert(AOM, MapSpec(MapType.ARRAY, 4, 16, 4)), errno.EINVAL),
    "aom other type": (insert(AOM, MapSpec(MapType.HASH, 4, 8, 4)), errno.EINVAL),
    "aom inner_map max differs": (
        insert(
            MapSpec(MapType.ARRAY_OF_MAPS, 4, 4, 4, inner=MapSpec(MapType.ARRAY, 4, 8, 4, 0x1000)),
            MapSpec(MapType.ARRAY, 4, 8, 9, 0x1000),
        ),
        0,
    ),
    "aom hash max differs": (
        insert(
            MapSpec(MapType.ARRAY_OF_MAPS, 4, 4, 4, inner=MapSpec(MapType.HASH, 4, 8, 4)),
            MapSpec(MapType.HASH, 4, 8, 40),
        ),
        0,
    ),
    "aom ringbuf size differs": (
        insert(
            MapSpec(MapType.ARRAY_OF_MAPS, 4, 4, 4, inner=RB), MapSpec(MapType.RINGBUF, 0, 0, 8192)
        ),
        0,
    ),
    "aom bad fd": (on(AOM, lambda w, m: m.update_elem(K(0), K(NO_FD))), errno.EBADF),
    "aom self": (on(AOM, lambda w, m: m.update_elem(K(0), w.fd(m))), errno.EINVAL),
    "aom oob": (on(AOM, lambda w, m: m.update_elem(K(9), w.fd(w.create(ARR)))), errno.E2BIG),
    "aom delete": (filled(AOM, lambda w, m: m.delete_elem(K(0))), 0),
    "aom delete empty": (on(AOM, lambda w, m: m.delete_elem(K(1))), errno.ENOENT),
    "aom delete oob": (on(AOM, lambda w, m: m.delete_elem(K(9))), errno.E2BIG),
    "aom lookup_and_delete": (filled(AOM, lambda w, m: m.lookup_and_delete_elem(K(0))), ENOTSUPP),
    "hom value 8": (create(MapSpec(MapType.HASH_OF_MAPS, 4, 8, 4, inner=ARR)), errno.EINVAL),
    "hom key 513": (create(MapSpec(MapType.HASH_OF_MAPS, 513, 4, 4, inner=ARR)), 0),
    "hom no_prealloc": (create(MapSpec(MapType.HASH_OF_MAPS, 4, 4, 4, 1, inner=ARR)), 0),
    "hom mmapable": (
        create(MapSpec(MapType.HASH_OF_MAPS, 4, 4, 4, 0x400, inner=ARR)),
        errno.EINVAL,
    ),
    "hom insert": (insert(HOM, ARR, NOEXIST), 0),
    "hom noexist present": (
        filled(HOM, lambda w, m: m.update_elem(K(0), w.fd(w.create(ARR)), NOEXIST)),
        errno.EEXIST,
    ),
    "hom exist missing": (insert(HOM, ARR, EXIST), errno.ENOENT),
    "hom flags 3": (insert(HOM, ARR, 3), errno.EINVAL),
    "hom flags 3 bad fd": (on(HOM, lambda w, m: m.update_elem(K(0), K(NO_FD), 3)), errno.EBADF),
    "hom max differs": (insert(HOM, MapSpec(MapType.ARRAY, 4, 8, 5)), errno.EINVAL),
    "hom full": (
        filled(
            HOM,
            lambda w, m: [m.update_elem(K(i), w.fd(w.create(ARR))) for i in (1, 2)],
        ),
        errno.E2BIG,
    ),
    "hom lookup missing": (on(HOM, lambda w, m: m.lookup_elem(K(0))), errno.ENOENT),
    "hom delete missing": (on(HOM, lambda w, m: m.delete_elem(K(0))), errno.ENOENT),
    "hom lookup_and_delete": (filled(HOM, lambda w, m: m.lookup_and_delete_elem(K(0))), ENOTSUPP),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(world: Any, name: str) -> None:
    scenario, want = SCENARIOS[name]
    assert scenario(world) == want


def test_lookup_gives_the_stored_objects_id(world: Any) -> None:
    outer = world.create(AOM)
    inner = world.create(ARR)
    outer.update_elem(K(2), world.fd(inner))
    got = int.from_bytes(outer.lookup_elem(K(2)), "little")
    assert got == (inner.info().id if isinstance(world, KernelWorld) else inner.id)


# -- programs in both worlds ----------------------------------------------------------------


def for_kernel(insns: list[Instruction], fds: list[int]) -> list[Instruction]:
    """Turn ``map[idx:N]`` loads into ``BPF_PSEUDO_MAP_FD`` loads of ``fds[N]``."""
    return [
        i.replace(src=PseudoSrc.MAP_FD, imm=fds[i.imm])
        if i.is_lddw and i.src == PseudoSrc.MAP_IDX
        else i
        for i in insns
    ]


def vm_run(text: str, maps: list[Any], **rt: Any) -> int:
    from ebpy.vm import Vm

    vm = Vm(assemble(text), maps=maps)
    result: int = vm.run(bytes(64), runtime=vm.new_runtime(**rt))
    return result


def kernel_runs(
    text: str, maps: list[Any], prog_type: ProgType = ProgType.SOCKET_FILTER, runs: int = 1
) -> list[int]:
    """Load ``text`` once (its maps by fd) and test-run it ``runs`` times: the retvals."""
    from ebpy.kernel import KernelProgram

    insns = for_kernel(assemble(text), [m.fd for m in maps])
    out = []
    with KernelProgram.load(insns, prog_type) as prog:
        for _ in range(runs):
            if prog_type == ProgType.RAW_TRACEPOINT:
                result = prog.test_run(b"", None, repeat=0, data_out_size=0)
            else:
                result = prog.test_run(bytes(64))
            out.append(result.retval)
    return out


def kernel_run(text: str, maps: list[Any], prog_type: ProgType = ProgType.SOCKET_FILTER) -> int:
    return kernel_runs(text, maps, prog_type)[0]


def kmap(spec: MapSpec) -> Any:
    from ebpy.kernel import KernelMap

    return KernelMap.create(spec)


def output_prog(n: int, tag: int) -> str:
    """ringbuf_output of ``n`` (<= 64) bytes, each ``tag + offset``."""
    stores = "\n".join(
        f"r1 = {int.from_bytes(bytes((tag + 8 * k + j) & 0xFF for j in range(8)), 'little')} ll\n"
        f"*(u64 *)(r10 {8 * k - 64:+d}) = r1"
        for k in range(8)
    )
    return f"{stores}\nr1 = map[idx:0]\nr2 = r10\nr2 += -64\nr3 = {n}\nr4 = 0\ncall 130\nexit"


def reserve_prog(n: int, discard: bool) -> str:
    commit = 133 if discard else 132
    return (
        f"r1 = map[idx:0]\nr2 = {n}\nr3 = 0\ncall 131\nif r0 == 0 goto full\n"
        f"r1 = r0\nr2 = 0\ncall {commit}\nr0 = 0\nexit\nfull:\nr0 = 1\nexit"
    )


def ring_records(data: bytes, prod: int, mask: int, start: int = 0) -> list[tuple[int, int, int]]:
    """(position, len field, pg_off) of every record from ``start`` up to ``prod``."""
    out = []
    pos = start
    while pos < prod:
        length, pg_off = struct.unpack_from("<II", data, pos & mask)
        out.append((pos, length, pg_off))
        pos += record_size(length & ~(BUSY_BIT | DISCARD_BIT))
    return out


@kernel
def test_ringbuf_records_match_the_kernel() -> None:
    size = 8192
    steps: list[tuple[str, int, int]] = [
        ("out", 5, 0x10),
        ("out", 64, 0x40),
        ("discard", 3, 0),
        ("submit", 3000, 0),
        ("out", 17, 0x70),
        ("submit", 1500, 0),
        ("out", 1, 0x21),
        ("submit", 3500, 0),  # no room: 8192 - 1 would be exceeded
        ("out", 33, 0x90),
    ]
    ours = create_map(MapSpec(MapType.RINGBUF, 0, 0, size))
    assert isinstance(ours, RingBuf)
    with kmap(MapSpec(MapType.RINGBUF, 0, 0, size)) as theirs:
        for kind, n, tag in steps:
            text = output_prog(n, tag) if kind == "out" else reserve_prog(n, kind == "discard")
            assert vm_run(text, [ours]) & M32 == kernel_run(text, [theirs])
        with _mapped(theirs.fd, mmap.PROT_READ, 4096, 4096 + 2 * size) as view:
            prod = struct.unpack_from("<Q", view, 0)[0]
            data = bytes(view[4096 : 4096 + size])
        assert prod == ours.producer_pos
        ours_data = bytes(ours.buf[:size])
        kernel_recs = ring_records(data, prod, size - 1)
        assert kernel_recs == ring_records(ours_data, prod, size - 1)
        assert {pg for _, _, pg in kernel_recs} == {3, 4}
        for pos, length, _ in kernel_recs:
            n = length & ~DISCARD_BIT
            if n <= 64:  # records written by ringbuf_output: compare their bytes
                off = (pos & (size - 1)) + 8
                assert data[off : off + n] == ours_data[off : off + n]


@kernel
def test_ringbuf_wrap_matches_the_kernel() -> None:
    size = 4096
    ours = create_map(MapSpec(MapType.RINGBUF, 0, 0, size))
    assert isinstance(ours, RingBuf)
    with kmap(MapSpec(MapType.RINGBUF, 0, 0, size)) as theirs:
        for text in (reserve_prog(4000, False), reserve_prog(40, True)):
            assert vm_run(text, [ours]) == kernel_run(text, [theirs])
        ours.consume()
        with _mapped(theirs.fd, mmap.PROT_READ | mmap.PROT_WRITE, 0, 4096) as cons:
            struct.pack_into("<Q", cons, 0, ours.consumer_pos)  # the consumer caught up
        for n, tag in ((64, 0x30), (64, 0x50), (9, 0x60)):
            text = output_prog(n, tag)
            assert vm_run(text, [ours]) == kernel_run(text, [theirs]) == 0
        with _mapped(theirs.fd, mmap.PROT_READ, 4096, 4096 + 2 * size) as view:
            prod = struct.unpack_from("<Q", view, 0)[0]
            # the kernel maps the data twice: read wrapped records straight through
            records = []
            pos = ours.consumer_pos
            while pos < prod:
                off = 4096 + (pos & (size - 1))
                length = struct.unpack_from("<I", view, off)[0]
                records.append(bytes(view[off + 8 : off + 8 + length]))
                pos += record_size(length)
        assert prod == ours.producer_pos
        assert ours.consume() == records
        assert any(
            (p & (size - 1)) + 8 + len(r) > size
            for p, r in zip(_positions(ours, records), records, strict=True)
        )


def _positions(rb: RingBuf, records: list[bytes]) -> list[int]:
    pos = rb.consumer_pos - sum(record_size(len(r)) for r in records)
    out = []
    for r in records:
        out.append(pos)
        pos += record_size(len(r))
    return out


@contextlib.contextmanager
def _mapped(fd: int, prot: int, offset: int, length: int) -> Iterator[mmap.mmap]:
    view = mmap.mmap(fd, length, mmap.MAP_SHARED, prot, offset=offset)
    try:
        yield view
    finally:
        view.close()


PERF_PROG = """
r6 = r1
r1 = 0x0807060504030201 ll
*(u64 *)(r10 - 16) = r1
r1 = 0x100f0e0d0c0b0a09 ll
*(u64 *)(r10 - 8) = r1
r1 = r6
r2 = map[idx:0]
r3 = {flags} ll
r4 = r10
r4 += -16
r5 = {size}
call 25
exit
"""


@kernel
@pytest.mark.parametrize(
    ("flags", "err"),
    [
        (0xFFFF_FFFF, errno.ENOENT),  # BPF_F_CURRENT_CPU, nothing open
        (0, errno.ENOENT),
        (4, errno.E2BIG),
        (0xFFFF_FFFE, errno.E2BIG),
        (1 << 52, errno.EINVAL),
    ],
)
def test_perf_event_output_errnos_match_the_kernel(flags: int, err: int) -> None:
    ours = create_map(PEA)
    assert isinstance(ours, PerfEventArray)
    ours.close_all()
    text = PERF_PROG.format(flags=flags, size=8)
    with kmap(PEA) as theirs:
        assert kernel_run(text, [theirs]) == -err & M32
    assert vm_run(text, [ours]) == -err & 0xFFFF_FFFF_FFFF_FFFF


# perf_event_open(2): a PERF_COUNT_SW_BPF_OUTPUT event per CPU, as libbpf's perf_buffer opens
PERF_EVENT_OPEN = {"x86_64": 298, "aarch64": 241}
PERF_TYPE_SOFTWARE = 1
PERF_COUNT_SW_BPF_OUTPUT = 10
PERF_SAMPLE_RAW = 1 << 10
PERF_RECORD_SAMPLE = 9


def _perf_event_open(cpu: int) -> int:
    nr = PERF_EVENT_OPEN.get(platform.machine())
    if nr is None:
        pytest.skip("perf_event_open number unknown here")
    attr = (ctypes.c_uint8 * 64)()
    struct.pack_into(
        "<IIQQQ", attr, 0, PERF_TYPE_SOFTWARE, 64, PERF_COUNT_SW_BPF_OUTPUT, 1, PERF_SAMPLE_RAW
    )
    struct.pack_into("<I", attr, 48, 1)  # wakeup_events
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    fd = libc.syscall(nr, ctypes.byref(attr), -1, cpu, -1, 8)  # PERF_FLAG_FD_CLOEXEC
    if fd < 0:
        pytest.skip(f"perf_event_open failed: {os.strerror(ctypes.get_errno())}")
    return int(fd)


@kernel
@pytest.mark.parametrize("size", [1, 4, 5, 8, 13, 16])
def test_perf_samples_match_the_kernel(size: int) -> None:
    """The sample a program writes, read from the event's mmap()ed ring; and an
    index whose event lives on another CPU (EOPNOTSUPP) where there are two CPUs."""
    old = os.sched_getaffinity(0)
    cpus = sorted(old)[:2]
    fds = [_perf_event_open(c) for c in cpus]
    spec = MapSpec(MapType.PERF_EVENT_ARRAY, 4, 4, max(cpus) + 1)
    here = PERF_PROG.format(flags=0xFFFF_FFFF, size=size)
    there = PERF_PROG.format(flags=cpus[-1], size=size)
    try:
        ring = mmap.mmap(fds[0], 3 * 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        with kmap(spec) as theirs:
            for c, fd in zip(cpus, fds, strict=True):
                theirs.update_elem(K(c), fd)
            os.sched_setaffinity(0, {cpus[0]})
            assert kernel_run(here, [theirs]) == 0
            kernel_there = kernel_run(there, [theirs])
        head = struct.unpack_from("<Q", ring, 1024)[0]
        rtype, _misc, rsize = struct.unpack_from("<IHH", ring, 4096)
        raw_size = struct.unpack_from("<I", ring, 4096 + 8)[0]
        raw = bytes(ring[4096 + 12 : 4096 + 12 + raw_size])
        ring.close()
    finally:
        os.sched_setaffinity(0, old)
        for fd in fds:
            os.close(fd)
    ours = create_map(spec)
    assert isinstance(ours, PerfEventArray)
    assert vm_run(here, [ours], cpu=cpus[0]) == 0
    ((_, got),) = ours.read()
    assert (rtype, rsize, head) == (PERF_RECORD_SAMPLE, sample_size(size), sample_size(size))
    assert raw == got
    assert vm_run(there, [ours], cpu=cpus[0]) & M32 == kernel_there
    if len(cpus) == 2:
        assert kernel_there == -errno.EOPNOTSUPP & M32


@kernel
def test_perf_ring_capacity_and_lost_records_match_the_kernel() -> None:
    """A one-page ring takes 255 samples of 16 bytes; the first sample that fits after
    losses comes behind a 24-byte PERF_RECORD_LOST."""
    from ebpy.kernel import KernelProgram

    old = os.sched_getaffinity(0)
    cpu = min(old)
    fd = _perf_event_open(cpu)
    spec = MapSpec(MapType.PERF_EVENT_ARRAY, 4, 4, cpu + 1)
    text = PERF_PROG.format(flags=0xFFFF_FFFF, size=4)
    try:
        ring = mmap.mmap(fd, 2 * 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        with kmap(spec) as theirs:
            theirs.update_elem(K(cpu), fd)
            os.sched_setaffinity(0, {cpu})
            insns = for_kernel(assemble(text), [theirs.fd])
            with KernelProgram.load(insns, ProgType.SOCKET_FILTER) as prog:
                full = prog.test_run(bytes(64), repeat=300).retval
                head_full = struct.unpack_from("<Q", ring, 1024)[0]
                struct.pack_into("<Q", ring, 1032, head_full)  # data_tail: all read
                after = prog.test_run(bytes(64)).retval
                head_after = struct.unpack_from("<Q", ring, 1024)[0]
                lost_type = struct.unpack_from("<I", ring, 4096 + (head_full % 4096))[0]
        ring.close()
    finally:
        os.sched_setaffinity(0, old)
        os.close(fd)
    assert (full, head_full) == (-errno.ENOSPC & M32, 255 * 16)
    assert (after, head_after - head_full, lost_type) == (0, 24 + 16, 2)  # PERF_RECORD_LOST
    ours = create_map(spec)
    assert isinstance(ours, PerfEventArray)
    ours.open(cpu, buffer_size=4096)
    results = [vm_run(text, [ours], cpu=cpu) & M32 for _ in range(300)]
    assert results[-1] == full and results.count(0) == 255
    assert ours.lost(cpu) == 45
    assert len(ours.read()) == 255
    assert vm_run(text, [ours], cpu=cpu) == 0
    assert ours.slots[cpu].used == 24 + 16  # type: ignore[attr-defined]


MAP_IN_MAP_PROG = """
*(u32 *)(r10 - 4) = 1
r1 = map[idx:0]
r2 = r10
r2 += -4
call 1
if r0 == 0 goto miss
r1 = r0
*(u32 *)(r10 - 8) = 2
r2 = r10
r2 += -8
call 1
if r0 == 0 goto miss
r0 = *(u64 *)(r0 + 0)
exit
miss:
r0 = 7
exit
"""


@kernel
@pytest.mark.parametrize("kind", [MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS])
def test_map_in_map_lookup_matches_the_kernel(kind: MapType) -> None:
    spec = MapSpec(kind, 4, 4, 4, inner=ARR)
    ours, inner = create_map(spec), create_map(ARR)
    with kmap(spec) as theirs, kmap(ARR) as kinner:
        assert vm_run(MAP_IN_MAP_PROG, [ours]) == kernel_run(MAP_IN_MAP_PROG, [theirs]) == 7
        for m, i, fd in ((ours, inner, inner.id), (theirs, kinner, kinner.fd)):
            i.update_elem(K(2), struct.pack("<Q", 0x1234_5678))
            m.update_elem(K(1), K(fd))
        assert vm_run(MAP_IN_MAP_PROG, [ours]) == kernel_run(MAP_IN_MAP_PROG, [theirs])
        assert kernel_run(MAP_IN_MAP_PROG, [theirs]) == 0x1234_5678


STACKID_PROG = "r2 = map[idx:0]\nr3 = {flags}\ncall 27\nexit"
GET_STACK_PROG = "r2 = r10\nr2 += -64\nr3 = {size}\nr4 = {flags}\ncall 67\nexit"


@kernel
def test_stack_ids_are_the_kernels_jhash() -> None:
    spec = MapSpec(MapType.STACK_TRACE, 4, 8 * 32, 64)
    with kmap(spec) as stacks:
        text = STACKID_PROG.format(flags=0)
        sid, again = kernel_runs(text, [stacks], ProgType.RAW_TRACEPOINT, runs=2)
        assert sid == again < 64
        value = stacks.lookup_elem(K(sid))
    ips = [ip for ip in struct.unpack(f"<{len(value) // 8}Q", value) if ip]
    assert ips and stack_hash(ips) & 63 == sid
    ours = create_map(spec)
    assert vm_run(text, [ours], extra={"stack": ips}) == sid
    assert ours.lookup_elem(K(sid)) == value


@kernel
@pytest.mark.parametrize(
    ("text", "err"),
    [
        (STACKID_PROG.format(flags=1 << 12), errno.EINVAL),
        (STACKID_PROG.format(flags=255), errno.EFAULT),
        (GET_STACK_PROG.format(size=12, flags=0), errno.EINVAL),
        (GET_STACK_PROG.format(size=32, flags=1 << 11), errno.EINVAL),
        (GET_STACK_PROG.format(size=64, flags=255), errno.EFAULT),
    ],
)
def test_stack_helper_errnos_match_the_kernel(text: str, err: int) -> None:
    spec = MapSpec(MapType.STACK_TRACE, 4, 64, 8)
    ours = create_map(spec)
    with kmap(spec) as stacks:
        assert kernel_run(text, [stacks], ProgType.RAW_TRACEPOINT) == -err & M32
    assert vm_run(text, [ours], extra={"stack": [0xFFFF_FFFF_8100_0000] * 8}) & M32 == (-err & M32)


def test_errors_are_bpf_errors() -> None:
    assert issubclass(MapError, BpfError)
    assert MapCreateFlags.INNER_MAP == 0x1000


TAIL_CALLER = "r2 = map[idx:0]\nr3 = {index}\ncall 12\nr0 = 7\nexit"


@kernel
@pytest.mark.parametrize("index", [0, 1, 3, 4])
def test_tail_calls_match_the_kernel(index: int) -> None:
    from ebpy.kernel import KernelProgram
    from ebpy.vm import Vm

    text = TAIL_CALLER.format(index=index)
    target_text = "r0 = 42\nexit"
    ours = create_map(PA)
    target = Vm(assemble(target_text), prog_type="socket_filter")
    ours.update_elem(K(1), K(target.prog_id))
    with kmap(PA) as theirs, KernelProgram.load(assemble(target_text), ProgType.SOCKET_FILTER) as t:
        theirs.update_elem(K(1), t.fd)
        assert vm_run(text, [ours]) == kernel_run(text, [theirs])
