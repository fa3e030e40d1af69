"""BPF_MAP_TYPE_PERF_EVENT_ARRAY: consumers, record layout, lost records, the errnos."""

from __future__ import annotations

import errno

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.errors import MapError
from ebpy.maps import create_map
from ebpy.maps.perf_event_array import (
    ANY_CPU,
    BPF_F_CURRENT_CPU,
    LOST_RECORD_SIZE,
    PerfEventArray,
    sample_size,
)
from ebpy.maps.prog_array import ENOTSUPP
from ebpy.spec import MapSpec
from ebpy.uapi import MapCreateFlags, MapType


def K(i: int) -> bytes:
    return i.to_bytes(4, "little")


def make(max_entries: int = 4, flags: int = 0) -> PerfEventArray:
    m = create_map(MapSpec(MapType.PERF_EVENT_ARRAY, 4, 4, max_entries, flags))
    assert isinstance(m, PerfEventArray)
    return m


def errno_of(fn: object, *args: object) -> int:
    try:
        fn(*args)  # type: ignore[operator]
    except MapError as e:
        return e.errno
    return 0


@pytest.mark.parametrize(
    ("key", "value", "flags", "err"),
    [
        (4, 4, 0, 0),
        (4, 8, 0, errno.EINVAL),
        (8, 4, 0, errno.EINVAL),
        (4, 4, MapCreateFlags.PRESERVE_ELEMS, 0),
        (4, 4, MapCreateFlags.RDONLY_PROG, errno.EINVAL),
        (4, 4, MapCreateFlags.MMAPABLE, errno.EINVAL),
        (4, 4, MapCreateFlags.INNER_MAP, errno.EINVAL),
    ],
)
def test_create(key: int, value: int, flags: int, err: int) -> None:
    spec = MapSpec(MapType.PERF_EVENT_ARRAY, key, value, 4, flags)
    assert errno_of(create_map, spec) == err


@pytest.mark.parametrize(("n", "size"), [(0, 16), (1, 16), (4, 16), (5, 24), (12, 24), (13, 32)])
def test_sample_size_counts_header_and_padding(n: int, size: int) -> None:
    assert sample_size(n) == size


@pytest.mark.parametrize(("n", "padded"), [(0, 4), (1, 4), (4, 4), (5, 12), (12, 12), (13, 20)])
def test_consumer_gets_padded_raw_data(n: int, padded: int) -> None:
    m = make()
    data = bytes(range(1, n + 1))
    assert m.output(0, data, cpu=0) == 0
    ((cpu, got),) = m.read()
    assert cpu == 0
    assert got == data + bytes(padded - n)


def test_current_cpu_selects_the_running_cpu() -> None:
    m = make()
    assert m.output(BPF_F_CURRENT_CPU, b"a", cpu=2) == 0
    assert m.output(BPF_F_CURRENT_CPU, b"b", cpu=0) == 0
    assert m.pending(2) == 1
    assert [(c, d[:1]) for c, d in m.read()] == [(0, b"b"), (2, b"a")]
    assert m.read() == []


@pytest.mark.parametrize(
    ("index", "cpu", "err"),
    [
        (4, 0, errno.E2BIG),
        (BPF_F_CURRENT_CPU, 4, errno.E2BIG),
        (1, 0, errno.EOPNOTSUPP),  # slot 1's ring is bound to CPU 1
        (1, 1, 0),
        (0xFFFF_FFFE, 0, errno.E2BIG),
    ],
)
def test_output_errnos(index: int, cpu: int, err: int) -> None:
    assert make().output(index, b"x", cpu=cpu) == -err


def test_closed_slot_is_enoent() -> None:
    m = make()
    m.close(2)
    assert not m.is_open(2)
    assert m.output(2, b"x", cpu=2) == -errno.ENOENT
    m.open(2)
    assert m.output(2, b"x", cpu=2) == 0
    m.close_all()
    assert m.output(0, b"x", cpu=0) == -errno.ENOENT
    assert len(m) == 0
    m.open_all()
    assert m.output(0, b"x", cpu=0) == 0
    assert len(m) == 4


def test_open_binding_to_another_or_any_cpu() -> None:
    m = make()
    m.open(0, cpu=3)
    assert m.output(0, b"x", cpu=0) == -errno.EOPNOTSUPP
    assert m.output(0, b"x", cpu=3) == 0
    m.open(1, cpu=ANY_CPU)
    assert m.output(1, b"x", cpu=0) == 0
    assert m.output(1, b"y", cpu=3) == 0
    assert [d[:1] for _, d in m.records(1)] == [b"x", b"y"]


@pytest.mark.parametrize("size", [0, 100, 4095, 6000, 12288])
def test_open_checks_ring_size(size: int) -> None:
    m = make()
    assert errno_of(lambda: m.open(0, buffer_size=size)) == errno.EINVAL
    assert errno_of(lambda: m.open_all(buffer_size=size)) == errno.EINVAL


def test_open_out_of_range() -> None:
    assert errno_of(make().open, 4) == errno.E2BIG


def test_full_ring_loses_records_and_reports_them() -> None:
    m = make(1)
    m.open(0, buffer_size=4096)
    # 16-byte samples: one byte of the ring always stays free, so 255 fit
    results = [m.output(0, b"abcd", cpu=0) for _ in range(257)]
    assert results.count(0) == 255
    assert results[255:] == [-errno.ENOSPC, -errno.ENOSPC]
    assert m.lost(0) == 2
    assert m.pending(0) == 255
    # one sample read frees 16 bytes, not enough for a PERF_RECORD_LOST and a sample
    next(m.records(0))
    assert m.output(0, b"abcd", cpu=0) == -errno.ENOSPC
    assert m.lost(0) == 3
    # 3 read: 48 free - 1 >= 16 + 24
    for _ in range(2):
        next(m.records(0))
    assert m.output(0, b"abcd", cpu=0) == 0
    assert m.lost(0) == 3
    assert len(m.read()) == 253
    assert m.slots[0].used == 0  # type: ignore[attr-defined]


def test_record_bigger_than_u16_header_is_e2big() -> None:
    m = make(1)
    m.open(0, buffer_size=1 << 20)
    assert m.output(0, bytes(0xFFFF), cpu=0) == -errno.E2BIG
    assert m.output(0, bytes(65517), cpu=0) == -errno.E2BIG
    assert m.output(0, bytes(65516), cpu=0) == 0


def test_syscall_face() -> None:
    m = make()
    assert errno_of(m.lookup_elem, K(0)) == ENOTSUPP
    assert errno_of(m.lookup_elem, K(9)) == ENOTSUPP
    m.delete_elem(K(1))
    assert errno_of(m.delete_elem, K(1)) == errno.ENOENT
    assert errno_of(m.delete_elem, K(9)) == errno.E2BIG
    assert m.output(1, b"x", cpu=1) == -errno.ENOENT
    m.update_elem(K(1), K(1234))  # no perf fds here: any value opens the slot
    assert m.output(1, b"x", cpu=1) == 0
    assert errno_of(m.update_elem, K(1), K(0), 1) == errno.EINVAL
    assert errno_of(m.update_elem, K(4), K(0)) == errno.E2BIG
    assert errno_of(m.lookup_and_delete_elem, K(0)) == ENOTSUPP
    assert errno_of(m.lookup_batch, None, 4) == ENOTSUPP
    assert m.get_next_key(None) == K(0)
    assert list(m) == [K(0), K(1), K(2), K(3)]
    m.close(3)
    assert list(m) == [K(0), K(1), K(2)]
    assert len(m) == 3


def test_program_face() -> None:
    m = make()
    assert not m.value_writable
    assert m.prog_lookup(K(0)) is None
    assert m.prog_update(K(0), K(0), 0) == -errno.EINVAL


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 600), st.none()), max_size=80))
def test_ring_accounting(ops: list[int | None]) -> None:
    """Writes (sizes) and reads (None): the ring never holds more than it can, every
    write either lands or is counted lost, and reads give the samples back in order."""
    m = make(1)
    m.open(0, buffer_size=4096)
    written: list[bytes] = []
    attempts = 0
    got: list[bytes] = []
    for op in ops:
        if op is None:
            if m.pending(0):
                got.append(next(m.records(0))[1])
            continue
        attempts += 1
        data = bytes([attempts & 0xFF]) * op
        if m.output(0, data, cpu=0) == 0:
            written.append(data)
        ring = m.slots[0]
        assert 0 <= ring.used <= 4095  # type: ignore[attr-defined]
    got += [d for _, d in m.records(0)]
    assert len(written) + m.lost(0) == attempts
    assert [g[: len(w)] for g, w in zip(got, written, strict=True)] == written
    assert m.slots[0].used == 0  # type: ignore[attr-defined]
    assert LOST_RECORD_SIZE == 24
