"""BPF_MAP_TYPE_ARRAY (``ebpy.maps.array``): creation, both faces, errnos, iteration.

The errnos are the kernel's (checked in ``tests/kernel/test_maps_probe.py`` and
``tests/kernel/test_maps_differential.py``).
"""

from __future__ import annotations

import errno

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.maps.array import ArrayMap
from ebpy.uapi import MapCreateFlags, MapType
from tests.maps import create_errno, errno_of, make, u32

A = MapType.ARRAY


def array(value: int = 8, entries: int = 4, flags: int = 0) -> ArrayMap:
    m = make(A, 4, value, entries, flags)
    assert isinstance(m, ArrayMap)
    return m


@pytest.mark.parametrize(
    ("key", "value", "entries", "flags", "err"),
    [
        (4, 8, 4, 0, 0),
        (4, 1, 1, 0, 0),
        (8, 8, 4, 0, errno.EINVAL),
        (0, 8, 4, 0, errno.EINVAL),
        (4, 0, 4, 0, errno.EINVAL),
        (4, 8, 0, 0, errno.EINVAL),
        (4, 8, 4, MapCreateFlags.NO_PREALLOC, errno.EINVAL),
        (4, 8, 4, MapCreateFlags.MMAPABLE, 0),
        (4, 8, 4, MapCreateFlags.RDONLY_PROG, 0),
        (4, 8, 4, MapCreateFlags.INNER_MAP, 0),
    ],
)
def test_create(key: int, value: int, entries: int, flags: int, err: int) -> None:
    assert create_errno(A, key, value, entries, flags) == err


def test_elements_exist_zeroed() -> None:
    m = array()
    assert len(m) == 4
    assert all(m[u32(i)] == bytes(8) for i in range(4))
    assert list(m) == [u32(i) for i in range(4)]


@pytest.mark.parametrize(
    ("index", "flags", "err"),
    [
        (0, 0, 0),
        (3, 2, 0),  # BPF_EXIST: elements always exist
        (0, 1, errno.EEXIST),  # BPF_NOEXIST
        (0, 3, errno.EINVAL),
        (4, 0, errno.E2BIG),
        (4, 1, errno.E2BIG),
        (4, 3, errno.EINVAL),  # flags are checked first
    ],
)
def test_update(index: int, flags: int, err: int) -> None:
    m = array()
    assert errno_of(m.update_elem, u32(index), b"\x01" * 8, flags) == err
    if not err:
        assert m[u32(index)] == b"\x01" * 8


@pytest.mark.parametrize(
    ("op", "args", "err"),
    [
        ("lookup_elem", (u32(4),), errno.ENOENT),
        ("lookup_elem", (b"\x00" * 3,), errno.EINVAL),
        ("delete_elem", (u32(0),), errno.EINVAL),
        ("delete_elem", (u32(9),), errno.EINVAL),
        ("update_elem", (u32(0), bytes(7)), errno.EINVAL),
    ],
)
def test_errors(op: str, args: tuple[bytes, ...], err: int) -> None:
    assert errno_of(getattr(array(), op), *args) == err


@pytest.mark.parametrize(
    ("key", "want"),
    [(None, u32(0)), (u32(0), u32(1)), (u32(2), u32(3)), (u32(7), u32(0)), (u32(3), None)],
)
def test_get_next_key(key: bytes | None, want: bytes | None) -> None:
    m = array()
    if want is None:
        assert errno_of(m.get_next_key, key) == errno.ENOENT
    else:
        assert m.get_next_key(key) == want


def test_program_face_writes_in_place() -> None:
    m = array(value=4)
    off = m.prog_lookup(u32(2))
    assert off == 16  # round8(4) per element
    m.buf[off : off + 4] = b"abcd"
    assert m[u32(2)] == b"abcd"
    assert m.prog_lookup(u32(4)) is None
    assert m.prog_update(u32(1), b"wxyz", 0) == 0
    assert m[u32(1)] == b"wxyz"
    assert m.prog_update(u32(1), b"wxyz", 1) == -errno.EEXIST
    assert m.prog_delete(u32(1)) == -errno.EINVAL


def test_rdonly_prog_and_frozen() -> None:
    m = array(flags=MapCreateFlags.RDONLY_PROG)
    assert not m.prog_writable
    m.freeze()
    assert errno_of(m.update_elem, u32(0), bytes(8)) == errno.EPERM
    assert m.prog_update(u32(0), b"\x01" * 8, 0) == 0  # programs may still write


def test_batches() -> None:
    m = array(entries=5)
    assert m.update_batch([(u32(i), bytes([i]) * 8) for i in range(5)]) == 5
    pairs, pos = m.lookup_batch(None, 3)
    assert [k for k, _ in pairs] == [u32(0), u32(1), u32(2)]
    rest, end = m.lookup_batch(pos, 3)
    assert [v for _, v in rest] == [bytes([3]) * 8, bytes([4]) * 8]
    assert end is None


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.binary(min_size=8, max_size=8)), max_size=20))
def test_matches_a_list(writes: list[tuple[int, bytes]]) -> None:
    m = array(entries=6)
    model = [bytes(8)] * 6
    for i, value in writes:
        err = errno_of(m.update_elem, u32(i), value)
        if i < 6:
            assert err == 0
            model[i] = value
        else:
            assert err == errno.E2BIG
    assert [m[u32(i)] for i in range(6)] == model


# -- the checks of the Map base, as the kernel makes them for arrays ----------------


def test_f_lock_is_einval() -> None:
    assert errno_of(array().update_elem, u32(0), bytes(8), 4) == errno.EINVAL
    assert errno_of(array().lookup_elem, u32(0), 4) == errno.EINVAL


@pytest.mark.parametrize("flags", [1, 2, 8, 1 << 40])
def test_lookup_flags_are_einval(flags: int) -> None:
    assert errno_of(array().lookup_elem, u32(0), flags) == errno.EINVAL


@pytest.mark.parametrize("flags", [3, 8, 1 << 40])
def test_unknown_update_flags_are_einval(flags: int) -> None:
    assert errno_of(array().update_elem, u32(0), bytes(8), flags) == errno.EINVAL


def test_lookup_and_delete_is_enotsupp() -> None:
    assert errno_of(array().lookup_and_delete_elem, u32(0)) == 524


def test_delete_batches_are_enotsupp() -> None:
    m = array()
    assert errno_of(m.delete_batch, []) == 524
    assert errno_of(m.lookup_batch, None, 2, delete=True) == 524
    assert errno_of(m.update_batch, [(u32(1), bytes(8))]) == 0
    assert m.lookup_batch(None, 8)[0][1] == (u32(1), bytes(8))


@pytest.mark.parametrize("flags", [1, 2, 8])
def test_update_batch_takes_only_f_lock(flags: int) -> None:
    assert errno_of(array().update_batch, [], flags) == errno.EINVAL


def test_frozen_array_refuses_writes_first() -> None:
    m = array()
    m.freeze()
    assert errno_of(m.freeze) == errno.EPERM
    assert errno_of(m.update_elem, u32(0), bytes(8), 4) == errno.EPERM
    assert errno_of(m.update_batch, []) == errno.EPERM
    assert errno_of(m.delete_batch, []) == errno.EPERM
    assert errno_of(m.lookup_and_delete_elem, u32(0)) == errno.EPERM


def test_write_only_array_refuses_reads() -> None:
    m = array(flags=MapCreateFlags.WRONLY)
    assert errno_of(m.lookup_elem, u32(0)) == errno.EPERM
    assert errno_of(m.get_next_key, None) == errno.EPERM
    assert errno_of(m.lookup_batch, None, 2) == errno.EPERM


@pytest.mark.parametrize("key", [None, "abcd", 7, [0, 0, 0, 0]])
def test_keys_that_are_not_bytes_are_einval(key: object) -> None:
    assert errno_of(array().lookup_elem, key) == errno.EINVAL
    assert errno_of(array().update_elem, key, bytes(8)) == errno.EINVAL


@pytest.mark.parametrize(
    "flags",
    [
        1 << 20,
        MapCreateFlags.RDONLY | MapCreateFlags.WRONLY,
        MapCreateFlags.RDONLY_PROG | MapCreateFlags.WRONLY_PROG,
        MapCreateFlags.PRESERVE_ELEMS,
    ],
)
def test_bad_create_flags(flags: int) -> None:
    assert create_errno(A, 4, 8, 4, flags) == errno.EINVAL


def test_map_extra_is_einval() -> None:
    assert create_errno(A, 4, 8, 4, extra=1) == errno.EINVAL
