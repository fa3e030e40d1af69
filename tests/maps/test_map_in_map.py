"""ARRAY_OF_MAPS and HASH_OF_MAPS: templates, map "fds" (ids), the errnos, the lookup helper."""

from __future__ import annotations

import errno
import gc

import pytest

from ebpy.errors import MapError
from ebpy.helpers.env import Runtime
from ebpy.helpers.maps import HELPERS as MAP_HELPERS
from ebpy.maps import MAP_TYPES, create_map
from ebpy.maps.base import ANY, EXIST, F_LOCK, NOEXIST, Map, map_by_id
from ebpy.maps.map_in_map import ArrayOfMaps, HashOfMaps, meta_equal
from ebpy.maps.prog_array import ENOTSUPP
from ebpy.memory import RegionKind
from ebpy.spec import MapSpec
from ebpy.uapi import HelperId, MapCreateFlags, MapType

ARRAY = MapSpec(MapType.ARRAY, 4, 8, 4)
INNER_ARRAY = MapSpec(MapType.ARRAY, 4, 8, 4, MapCreateFlags.INNER_MAP)
HASH = MapSpec(MapType.HASH, 4, 8, 4)
OUTERS = [MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS]


def K(i: int) -> bytes:
    return i.to_bytes(4, "little")


def errno_of(fn: object, *args: object) -> int:
    try:
        fn(*args)  # type: ignore[operator]
    except MapError as e:
        return e.errno
    return 0


def outer(kind: MapType = MapType.ARRAY_OF_MAPS, inner: MapSpec | None = ARRAY, n: int = 4) -> Map:
    return create_map(MapSpec(kind, 4, 4, n, inner=inner))


def fd(m: Map) -> bytes:
    return K(m.id)


# -- creation -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", OUTERS)
@pytest.mark.parametrize(
    ("key", "value", "flags", "inner", "err"),
    [
        (4, 4, 0, ARRAY, 0),
        (4, 4, 0, None, errno.EINVAL),
        (4, 8, 0, ARRAY, errno.EINVAL),
        (4, 4, 0, MapSpec(MapType.ARRAY_OF_MAPS, 4, 4, 1, inner=ARRAY), errno.EINVAL),
        (4, 4, 0, MapSpec(MapType.HASH_OF_MAPS, 4, 4, 1, inner=ARRAY), errno.EINVAL),
        (4, 4, 0, MapSpec(MapType.PROG_ARRAY, 4, 4, 4), ENOTSUPP),
        (4, 4, 0, MapSpec(MapType.PERF_EVENT_ARRAY, 4, 4, 4), 0),
        (4, 4, 0, MapSpec(MapType.RINGBUF, 0, 0, 4096), 0),
        (4, 4, 0, MapSpec(MapType.STACK_TRACE, 4, 8, 4), 0),
        (4, 4, MapCreateFlags.MMAPABLE, ARRAY, errno.EINVAL),
    ],
)
def test_create(
    kind: MapType, key: int, value: int, flags: int, inner: MapSpec | None, err: int
) -> None:
    assert errno_of(create_map, MapSpec(kind, key, value, 4, flags, inner=inner)) == err


@pytest.mark.parametrize(
    ("kind", "key", "flags", "err"),
    [
        (MapType.ARRAY_OF_MAPS, 8, 0, errno.EINVAL),
        (MapType.ARRAY_OF_MAPS, 4, MapCreateFlags.INNER_MAP, errno.EINVAL),
        (MapType.ARRAY_OF_MAPS, 4, MapCreateFlags.RDONLY_PROG, errno.EINVAL),
        (MapType.HASH_OF_MAPS, 8, 0, 0),
        (MapType.HASH_OF_MAPS, 513, 0, 0),
        (MapType.HASH_OF_MAPS, 0, 0, errno.EINVAL),
        (MapType.HASH_OF_MAPS, 4, MapCreateFlags.NO_PREALLOC, 0),
        (MapType.HASH_OF_MAPS, 4, MapCreateFlags.RDONLY_PROG, 0),
        (MapType.HASH_OF_MAPS, 4, MapCreateFlags.NO_COMMON_LRU, errno.EINVAL),
    ],
)
def test_create_per_kind(kind: MapType, key: int, flags: int, err: int) -> None:
    assert errno_of(create_map, MapSpec(kind, key, 4, 4, flags, inner=ARRAY)) == err


# -- what may go in --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "candidate", "ok"),
    [
        (ARRAY, ARRAY, True),
        (ARRAY, MapSpec(MapType.ARRAY, 4, 8, 5), False),  # arrays: same max_entries
        (INNER_ARRAY, MapSpec(MapType.ARRAY, 4, 8, 9, MapCreateFlags.INNER_MAP), True),
        (INNER_ARRAY, ARRAY, False),  # flags must be equal
        (ARRAY, MapSpec(MapType.ARRAY, 4, 16, 4), False),
        (ARRAY, MapSpec(MapType.ARRAY, 4, 8, 4, MapCreateFlags.RDONLY), False),
        (ARRAY, HASH, False),
        (HASH, MapSpec(MapType.HASH, 4, 8, 40), True),  # hashes may differ in size
        (HASH, MapSpec(MapType.HASH, 8, 8, 4), False),
        (
            MapSpec(MapType.RINGBUF, 0, 0, 4096),
            MapSpec(MapType.RINGBUF, 0, 0, 8192),
            True,
        ),
    ],
)
@pytest.mark.parametrize("kind", OUTERS)
def test_inner_must_match_the_template(
    kind: MapType, template: MapSpec, candidate: MapSpec, ok: bool
) -> None:
    o = outer(kind, template)
    m = create_map(candidate)
    assert meta_equal(template, m) == ok
    assert errno_of(o.update_elem, K(0), fd(m)) == (0 if ok else errno.EINVAL)


@pytest.mark.skipif(MapType.PERCPU_ARRAY not in MAP_TYPES, reason="no percpu_array yet")
def test_percpu_arrays_may_differ_in_size() -> None:
    o = outer(inner=MapSpec(MapType.PERCPU_ARRAY, 4, 8, 4))
    inner = create_map(MapSpec(MapType.PERCPU_ARRAY, 4, 8, 5))
    o.update_elem(K(0), fd(inner))


@pytest.mark.parametrize("kind", OUTERS)
def test_a_map_of_maps_cannot_go_in(kind: MapType) -> None:
    o = outer(kind)
    assert errno_of(o.update_elem, K(0), fd(o)) == errno.EINVAL


@pytest.mark.parametrize("kind", OUTERS)
def test_unknown_id_is_ebadf(kind: MapType) -> None:
    o = outer(kind)
    assert errno_of(o.update_elem, K(0), K(0xFFFF_FF00)) == errno.EBADF


def test_registry_is_weak_but_outer_maps_keep_inner_ones() -> None:
    a, b = create_map(ARRAY), create_map(ARRAY)
    a_id, b_id = a.id, b.id
    assert map_by_id(a_id) is a
    o = outer()
    o.update_elem(K(1), fd(a))
    del a, b
    gc.collect()
    assert map_by_id(b_id) is None
    assert map_by_id(a_id) is not None
    assert o.lookup_elem(K(1)) == K(a_id)
    assert errno_of(o.update_elem, K(0), K(b_id)) == errno.EBADF


# -- array of maps ----------------------------------------------------------------------------


def test_array_of_maps_syscall_face() -> None:
    o = outer()
    assert isinstance(o, ArrayOfMaps)
    inner = create_map(ARRAY)
    assert errno_of(o.lookup_elem, K(0)) == errno.ENOENT
    assert errno_of(o.lookup_elem, K(9)) == errno.ENOENT
    assert errno_of(o.update_elem, K(0), fd(inner), NOEXIST) == errno.EINVAL
    assert errno_of(o.update_elem, K(0), fd(inner), EXIST) == errno.EINVAL
    assert errno_of(o.update_elem, K(0), fd(inner), F_LOCK) == errno.EINVAL
    assert errno_of(o.update_elem, K(9), fd(inner)) == errno.E2BIG
    o.update_elem(K(0), fd(inner), ANY)
    assert o.lookup_elem(K(0)) == fd(inner)
    assert o.get_map(0) is inner
    assert errno_of(o.lookup_and_delete_elem, K(0)) == ENOTSUPP
    o.delete_elem(K(0))
    assert errno_of(o.delete_elem, K(0)) == errno.ENOENT
    assert errno_of(o.delete_elem, K(9)) == errno.E2BIG
    assert o.get_next_key(K(1)) == K(2)  # every index, filled or not


def test_array_of_maps_batches_skip_empty_slots() -> None:
    o = outer()
    assert isinstance(o, ArrayOfMaps)
    a, b = create_map(ARRAY), create_map(ARRAY)
    assert o.lookup_batch(None, 4) == ([], None)
    o.set_map(0, a)
    o.set_map(2, b)
    assert o.lookup_batch(None, 8) == ([(K(0), fd(a)), (K(2), fd(b))], None)
    assert o.lookup_batch(None, 1) == ([(K(0), fd(a))], K(2))
    assert o.lookup_batch(K(2), 1) == ([(K(2), fd(b))], None)
    assert errno_of(lambda: o.lookup_batch(None, 4, delete=True)) == ENOTSUPP
    assert errno_of(o.lookup_batch, None, 0) == errno.EINVAL
    assert o.update_batch([(K(3), fd(a))]) == 1
    assert len(o) == 3
    assert dict(o) == {K(0): fd(a), K(2): fd(b), K(3): fd(a)}
    o.set_map(3, None)
    assert errno_of(o.set_map, 4, a) == errno.E2BIG


# -- hash of maps --------------------------------------------------------------------------------


def test_hash_of_maps_syscall_face() -> None:
    o = outer(MapType.HASH_OF_MAPS, n=2)
    assert isinstance(o, HashOfMaps)
    a = create_map(ARRAY)
    assert errno_of(o.lookup_elem, K(0)) == errno.ENOENT
    o.update_elem(K(0), fd(a), NOEXIST)
    assert errno_of(o.update_elem, K(0), fd(a), NOEXIST) == errno.EEXIST
    assert errno_of(o.update_elem, K(5), fd(a), EXIST) == errno.ENOENT
    assert errno_of(o.update_elem, K(5), fd(a), 3) == errno.EINVAL
    assert errno_of(o.update_elem, K(5), K(0xFFFF_FF00), 3) == errno.EBADF  # fd first
    assert errno_of(o.update_elem, K(5), fd(a), F_LOCK) == errno.EINVAL
    o.update_elem(K(1), fd(a))
    assert errno_of(o.update_elem, K(2), fd(a)) == errno.E2BIG
    o.update_elem(K(1), fd(a), EXIST)  # an existing key still updates when full
    assert o.lookup_elem(K(1)) == fd(a)
    assert o.get_next_key(None) == K(0)
    assert o.get_next_key(K(77)) == K(0)
    assert o.get_next_key(K(0)) == K(1)
    assert errno_of(o.get_next_key, K(1)) == errno.ENOENT
    assert errno_of(o.lookup_and_delete_elem, K(0)) == ENOTSUPP
    assert o.lookup_batch(None, 8) == ([(K(0), fd(a)), (K(1), fd(a))], None)
    o.delete_elem(K(0))
    assert errno_of(o.delete_elem, K(0)) == errno.ENOENT
    assert list(o) == [K(1)]
    o.set_map(K(3), a)
    assert o.get_map(K(3)) is a
    assert errno_of(
        create_map(MapSpec(MapType.HASH_OF_MAPS, 4, 4, 1, inner=ARRAY)).get_next_key
    ) == (errno.ENOENT)


# -- the program face -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", OUTERS)
def test_program_face(kind: MapType) -> None:
    o = outer(kind)
    inner = create_map(ARRAY)
    o.update_elem(K(1), fd(inner))
    assert not o.value_writable
    assert o.prog_lookup(K(1)) is None
    assert o.prog_lookup_map(K(1)) is inner  # type: ignore[attr-defined]
    assert o.prog_lookup_map(K(0)) is None  # type: ignore[attr-defined]
    assert o.prog_lookup_map(K(9)) is None  # type: ignore[attr-defined]
    assert o.prog_update(K(1), fd(inner), 0) == -errno.EINVAL
    assert o.prog_delete(K(1)) == -errno.EINVAL
    assert o.prog_keys() == []


@pytest.mark.parametrize("kind", OUTERS)
def test_lookup_helper_gives_the_inner_map_pointer(kind: MapType) -> None:
    lookup = next(h for h in MAP_HELPERS if h.id == HelperId.MAP_LOOKUP_ELEM).impl
    o = outer(kind)
    inner = create_map(ARRAY)
    inner.update_elem(K(2), b"innerval")
    o.update_elem(K(1), fd(inner))
    rt = Runtime()
    rt.add_map(o)
    keys = rt.memory.map(RegionKind.MEMORY, K(1) + K(0) + K(2))
    ptr = lookup(rt, o.slot << 32, keys.base, 0, 0, 0)
    assert ptr == inner.slot << 32
    assert rt.map_at(ptr) is inner
    assert lookup(rt, o.slot << 32, keys.base + 4, 0, 0, 0) == 0
    # the pointer works as a map pointer: look up in the inner map
    value = lookup(rt, ptr, keys.base + 8, 0, 0, 0)
    assert rt.memory.read(value, 8) == b"innerval"
