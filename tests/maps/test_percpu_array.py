"""BPF_MAP_TYPE_PERCPU_ARRAY: creation, per-CPU layout, both faces, errnos."""

from __future__ import annotations

import errno

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.helpers.env import Runtime
from ebpy.helpers.maps import HELPERS
from ebpy.maps.percpu_array import PercpuArrayMap
from ebpy.uapi import HelperId, MapCreateFlags, MapType
from tests.maps import create_errno, errno_of, make, u32

P = MapType.PERCPU_ARRAY
ENOTSUPP = 524


def parray(value: int = 4, entries: int = 4, ncpus: int = 2, flags: int = 0) -> PercpuArrayMap:
    m = make(P, 4, value, entries, flags, ncpus=ncpus)
    assert isinstance(m, PercpuArrayMap)
    return m


@pytest.mark.parametrize(
    ("key", "value", "entries", "flags", "err"),
    [
        (4, 4, 4, 0, 0),
        (4, 32768, 1, 0, 0),
        (4, 32761, 1, 0, 0),
        (4, 32769, 1, 0, errno.E2BIG),
        (4, 1 << 31, 1, 0, errno.E2BIG),
        (8, 4, 4, 0, errno.EINVAL),
        (8, 1 << 31, 1, 0, errno.EINVAL),  # EINVAL checks come first
        (4, 0, 4, 0, errno.EINVAL),
        (4, 4, 0, 0, errno.EINVAL),
        (4, 4, 4, MapCreateFlags.NUMA_NODE, errno.EINVAL),
        (4, 4, 4, MapCreateFlags.MMAPABLE, errno.EINVAL),
        (4, 4, 4, MapCreateFlags.INNER_MAP, errno.EINVAL),
        (4, 4, 4, MapCreateFlags.PRESERVE_ELEMS, errno.EINVAL),
        (4, 4, 4, MapCreateFlags.NO_PREALLOC, errno.EINVAL),
        (4, 4, 4, MapCreateFlags.ZERO_SEED, errno.EINVAL),
        (4, 4, 4, MapCreateFlags.RDONLY_PROG, 0),
        (4, 4, 4, MapCreateFlags.RDONLY_PROG | MapCreateFlags.WRONLY_PROG, errno.EINVAL),
        (4, 4, 4, MapCreateFlags.RDONLY | MapCreateFlags.WRONLY, errno.EINVAL),
        (4, 4, 4, 1 << 20, errno.EINVAL),
        (4, 8, 1 << 30, 0, errno.ENOMEM),  # more than ebpy allocates
    ],
)
def test_create(key: int, value: int, entries: int, flags: int, err: int) -> None:
    assert create_errno(P, key, value, entries, flags, ncpus=2) == err


def test_extra_is_einval() -> None:
    assert create_errno(P, 4, 4, 4, extra=1) == errno.EINVAL


@pytest.mark.parametrize(
    ("value", "ncpus", "size"), [(4, 1, 8), (4, 2, 16), (8, 3, 24), (9, 2, 32)]
)
def test_syscall_value_size(value: int, ncpus: int, size: int) -> None:
    m = parray(value=value, ncpus=ncpus)
    assert m.syscall_value_size == size
    assert m.lookup_elem(u32(0)) == bytes(size)
    assert len(m.buf) == 4 * size


def test_layout_is_element_major() -> None:
    m = parray(value=4, ncpus=3)
    # element i at i * 3 * 8, CPU c at + c * 8
    assert [m.prog_lookup(u32(i), cpu=c) for i in (0, 2) for c in range(3)] == [
        0,
        8,
        16,
        48,
        56,
        64,
    ]
    m.update_elem(u32(1), bytes(range(24)))
    assert m.buf[24:48] == bytes(range(24))


def test_padding_round_trips() -> None:
    m = parray(value=4, ncpus=2)
    value = bytes(range(1, 17))
    m.update_elem(u32(0), value)
    assert m.lookup_elem(u32(0)) == value
    assert m.cpu_values(u32(0)) == [bytes([1, 2, 3, 4]), bytes([9, 10, 11, 12])]


@pytest.mark.parametrize(
    ("index", "flags", "err"),
    [
        (0, 0, 0),
        (0, 2, 0),
        (0, 1, errno.EEXIST),
        (0, 3, errno.EINVAL),
        (0, 4, errno.EINVAL),
        (0, 8, errno.EINVAL),
        (4, 0, errno.E2BIG),
        (4, 2, errno.E2BIG),
        (4, 4, errno.EINVAL),
    ],
)
def test_syscall_update(index: int, flags: int, err: int) -> None:
    assert errno_of(parray().update_elem, u32(index), bytes(16), flags) == err


@pytest.mark.parametrize(
    ("index", "flags", "err"),
    [
        (0, 0, 0),
        (0, 2, 0),
        (0, 1, errno.EEXIST),
        (0, 3, errno.EINVAL),
        (0, 4, errno.EINVAL),  # BPF_F_LOCK is checked last from programs
        (4, 4, errno.E2BIG),
        (0, 5, errno.EEXIST),
        (4, 0, errno.E2BIG),
        (0, 8, errno.EINVAL),
    ],
)
def test_prog_update(index: int, flags: int, err: int) -> None:
    m = parray()
    assert m.prog_update(u32(index), b"\x07\x00\x00\x00", flags, cpu=1) == -err
    if not err:
        assert m.cpu_values(u32(index)) == [bytes(4), b"\x07\x00\x00\x00"]


@pytest.mark.parametrize(
    ("op", "args", "err"),
    [
        ("lookup_elem", (u32(4),), errno.ENOENT),
        ("delete_elem", (u32(0),), errno.EINVAL),
        ("lookup_and_delete_elem", (u32(0),), ENOTSUPP),
        ("delete_batch", ([u32(0)],), ENOTSUPP),
        ("update_elem", (u32(0), bytes(8)), errno.EINVAL),  # one CPU's value is not enough
        ("update_elem", (u32(0), None), errno.EINVAL),
        ("lookup_elem", (None,), errno.EINVAL),
        ("lookup_elem", (u32(0), 1), errno.EINVAL),
        ("lookup_elem", (u32(0), 4), errno.EINVAL),
    ],
)
def test_errors(op: str, args: tuple[object, ...], err: int) -> None:
    assert errno_of(getattr(parray(), op), *args) == err


def test_lookup_and_delete_batch_is_enotsupp() -> None:
    assert errno_of(parray().lookup_batch, None, 2, delete=True) == ENOTSUPP


def test_iteration_and_batches() -> None:
    m = parray(entries=3)
    assert list(m) == [u32(0), u32(1), u32(2)]
    assert errno_of(m.get_next_key, u32(2)) == errno.ENOENT
    assert m.get_next_key(u32(9)) == u32(0)
    pairs, pos = m.lookup_batch(None, 2)
    assert len(pairs) == 2 and all(len(v) == 16 for _, v in pairs)
    assert m.lookup_batch(pos, 5)[1] is None


def test_cpu_out_of_range() -> None:
    m = parray(ncpus=2)
    assert errno_of(m.prog_lookup, u32(0), 2) == errno.EINVAL


def test_map_helpers_see_the_running_cpu() -> None:
    m = parray(value=8, ncpus=2)
    impl = {h.id: h.impl for h in HELPERS}
    rt = Runtime(cpu=1, ncpus=2)
    rt.add_map(m)
    key = rt.memory.map_scratch(4)
    rt.memory.write(key, u32(3))
    addr = impl[HelperId.MAP_LOOKUP_ELEM](rt, m.slot << 32, key, 0, 0, 0)
    assert addr == (m.slot << 32) + 3 * 16 + 8
    rt.memory.write(addr, (42).to_bytes(8, "little"))
    assert m.cpu_values(u32(3)) == [bytes(8), (42).to_bytes(8, "little")]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 2), st.binary(min_size=4, max_size=4)),
        max_size=20,
    )
)
def test_program_writes_match_a_model(writes: list[tuple[int, int, bytes]]) -> None:
    m = parray(value=4, entries=4, ncpus=3)
    model = [[bytes(4)] * 3 for _ in range(4)]
    for index, cpu, value in writes:
        err = m.prog_update(u32(index), value, 0, cpu)
        if index < 4:
            assert err == 0
            model[index][cpu] = value
        else:
            assert err == -errno.E2BIG
    assert [m.cpu_values(u32(i)) for i in range(4)] == model
