"""``ebpy.maps.typed.TypedMap``: ints, ctypes scalars and structures, per-CPU lists, errors."""

from __future__ import annotations

import ctypes
import errno

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.errors import MapError
from ebpy.maps.typed import TypedMap, is_percpu
from ebpy.uapi import MapType
from tests.maps import errno_of, make, u32, u64


class Flow(ctypes.Structure):
    _fields_ = [("saddr", ctypes.c_uint32), ("daddr", ctypes.c_uint32), ("port", ctypes.c_uint16)]


class Stats(ctypes.Structure):
    _fields_ = [("packets", ctypes.c_uint64), ("bytes", ctypes.c_uint64)]


def test_scalars() -> None:
    m = make(MapType.HASH, 4, 8, 8)
    t = TypedMap(m, key=ctypes.c_uint32, value=ctypes.c_uint64)
    t[1] = 5
    t[2] = (1 << 64) - 1
    assert m[u32(1)] == u64(5)
    assert dict(t) == {1: 5, 2: (1 << 64) - 1}
    assert len(t) == 2 and 1 in t and 3 not in t
    del t[1]
    with pytest.raises(KeyError):
        t[1]
    with pytest.raises(KeyError):
        del t[1]


def test_signed_and_float() -> None:
    t = TypedMap(make(MapType.ARRAY, 4, 8, 2), key=ctypes.c_uint32, value=ctypes.c_int64)
    t[0] = -3
    assert t[0] == -3 and t[1] == 0
    d = TypedMap(make(MapType.ARRAY, 4, 8, 1), key=4, value=ctypes.c_double)
    d[0] = 1.5
    assert d[0] == 1.5


def test_structures() -> None:
    m = make(MapType.HASH, ctypes.sizeof(Flow), ctypes.sizeof(Stats), 8)
    t = TypedMap(m, key=Flow, value=Stats)
    t[Flow(1, 2, 80)] = Stats(3, 400)
    got = t[Flow(1, 2, 80)]
    assert isinstance(got, Stats) and (got.packets, got.bytes) == (3, 400)
    got.packets = 99  # a copy: the map is not changed
    assert t[Flow(1, 2, 80)].packets == 3
    (key,) = list(t)
    assert (key.saddr, key.daddr, key.port) == (1, 2, 80)
    t[bytes(Flow(4, 5, 6))] = bytes(16)  # raw bytes are accepted too
    assert t[Flow(4, 5, 6)].bytes == 0


def test_int_sizes_and_raw_bytes() -> None:
    m = make(MapType.HASH, 2, 3, 4)
    t = TypedMap(m, key=2, value=3)
    t[0x0102] = 0x030405
    assert m[b"\x02\x01"] == b"\x05\x04\x03"
    raw = TypedMap(m)
    assert raw[b"\x02\x01"] == b"\x05\x04\x03"


def test_percpu_lists() -> None:
    m = make(MapType.PERCPU_HASH, 4, 4, 4, ncpus=3)
    assert is_percpu(m)
    t = TypedMap(m, key=ctypes.c_uint32, value=ctypes.c_uint32)
    t[1] = [1, 2, 3]
    assert m[u32(1)] == b"".join(u32(i) + bytes(4) for i in (1, 2, 3))
    assert t[1] == [1, 2, 3]
    t[2] = 7  # one value: every CPU
    assert t[2] == [7, 7, 7]
    assert m.prog_update(u32(2), u32(8), 0, 1) == 0
    assert t[2] == [7, 8, 7]
    a = TypedMap(make(MapType.PERCPU_ARRAY, 4, 8, 2, ncpus=2), key=4, value=8)
    assert a[1] == [0, 0]


def test_update_elem_with_flags() -> None:
    t = TypedMap(make(MapType.HASH, 4, 4, 4), key=4, value=4)
    t.update_elem(1, 1, 1)
    assert errno_of(t.update_elem, 1, 2, 1) == errno.EEXIST


@pytest.mark.parametrize(
    ("key", "value"),
    [(ctypes.c_uint64, None), (None, ctypes.c_uint32), (8, None), ("int", None), (True, None)],
)
def test_bad_types(key: object, value: object) -> None:
    m = make(MapType.HASH, 4, 8, 4)
    with pytest.raises(MapError) as e:
        TypedMap(m, key=key, value=value)  # type: ignore[arg-type]
    assert e.value.errno == errno.EINVAL and e.value.op == "typed"


@pytest.mark.parametrize(
    "action",
    [
        lambda t: t.__setitem__(-1, 1),
        lambda t: t.__setitem__(1 << 40, 1),
        lambda t: t.__setitem__(1, "x"),
        lambda t: t.__setitem__(1, b"123"),
        lambda t: t.__getitem__(1.5),
        lambda t: t.__setitem__(1, [1, 2]),  # not a per-CPU map: no list
    ],
)
def test_bad_values(action: object) -> None:
    t = TypedMap(make(MapType.HASH, 4, 8, 4), key=4, value=ctypes.c_uint64)
    assert errno_of(action, t) == errno.EINVAL  # type: ignore[arg-type]


def test_bad_percpu_list() -> None:
    t = TypedMap(make(MapType.PERCPU_HASH, 4, 4, 4, ncpus=2), key=4, value=4)
    assert errno_of(t.__setitem__, 1, [1, 2, 3]) == errno.EINVAL


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.integers(0, (1 << 32) - 1), st.integers(0, (1 << 64) - 1), max_size=16))
def test_round_trip(data: dict[int, int]) -> None:
    t = TypedMap(make(MapType.HASH, 4, 8, 16), key=ctypes.c_uint32, value=ctypes.c_uint64)
    t.update(data)
    assert dict(t) == data
