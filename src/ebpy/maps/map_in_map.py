"""``BPF_MAP_TYPE_ARRAY_OF_MAPS`` and ``BPF_MAP_TYPE_HASH_OF_MAPS``: maps whose values are maps.

``spec.inner`` is the template every inner map must match (the kernel takes it
from ``inner_map_fd``); without one, creation is ``EINVAL``, and so is a
template that is itself a map of maps. Values are 4 bytes. On the syscall face
a value is a map "fd": here a map's ``id`` (``ebpy.maps.base.map_by_id``, a
process-wide registry of weak references to every userspace map). An id that
names no live map is ``EBADF``; a map that does not match the template is
``EINVAL``. Matching is ``bpf_map_meta_equal``: same type, key size, value size
and flags; plain arrays must also have the same ``max_entries`` unless the
template carries ``BPF_F_INNER_MAP`` (other types may differ in size). A prog
array cannot be an inner map (``ENOTSUPP``, 524). A syscall lookup gives the
inner map's id.

The outer map keeps its inner maps alive (strong references), as the kernel
holds a reference on each. The array of maps is an fd array
(``prog_array.FdArrayMap``: ``BPF_ANY`` only, ``E2BIG`` past the end, delete
``ENOENT`` on an empty slot); the hash of maps is a hash table (``BPF_NOEXIST``
and ``BPF_EXIST`` apply, ``E2BIG`` when full, keys iterate in insertion order).
The hash of maps has every batch command, the array of maps the lookup and update
batches (the others are ``ENOTSUPP``).

Programs cannot read a value: ``bpf_map_lookup_elem`` on an outer map gives the
inner map's pointer, so ``prog_lookup`` is None and the helper asks
``prog_lookup_map``. Not the inner map types themselves.

>>> from ebpy.maps import create_map
>>> from ebpy.spec import MapSpec
>>> tmpl = MapSpec(MapType.ARRAY, 4, 8, 2)
>>> outer = create_map(MapSpec(MapType.ARRAY_OF_MAPS, 4, 4, 4, inner=tmpl))
>>> inner = create_map(tmpl)
>>> outer.update_elem(bytes(4), inner.id.to_bytes(4, "little"))
>>> outer.prog_lookup_map(bytes(4)) is inner
True
"""

from __future__ import annotations

import errno
from collections.abc import Iterator

from ebpy.maps.base import (
    ACCESS_MASK,
    ALL_BATCHES,
    ENOTSUPP,
    EXIST,
    F_LOCK,
    MAP_TYPES,
    NOEXIST,
    Map,
    map_by_id,
    register,
)
from ebpy.maps.prog_array import FdArrayMap, u32
from ebpy.spec import MapSpec
from ebpy.uapi import MapCreateFlags, MapType

MAP_IN_MAP_TYPES = frozenset({MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS})
NOT_INNER_TYPES = frozenset({MapType.PROG_ARRAY})
"""Types that cannot be inner maps (no ``map_meta_equal`` in the kernel)."""

HASH_OF_MAPS_CREATE_FLAGS = ACCESS_MASK | int(
    MapCreateFlags.NO_PREALLOC | MapCreateFlags.NUMA_NODE | MapCreateFlags.ZERO_SEED
)
"""``HTAB_CREATE_FLAG_MASK`` without ``BPF_F_NO_COMMON_LRU`` (not an LRU map)."""


def check_template(owner: Map, inner: MapSpec | None) -> MapSpec:
    """The inner-map template of ``owner``, checked as ``bpf_map_meta_alloc`` does."""
    if inner is None:
        raise owner._error("create", errno.EINVAL, "a map of maps needs an inner map")
    if inner.type in MAP_IN_MAP_TYPES or inner.inner is not None:
        raise owner._error("create", errno.EINVAL, "maps of maps do not nest")
    if inner.type in NOT_INNER_TYPES:
        raise owner._error("create", ENOTSUPP, f"{inner.type.name} cannot be an inner map")
    if inner.type not in MAP_TYPES:
        raise owner._error("create", errno.EINVAL, f"no map type {inner.type.name} here")
    return inner


def meta_equal(template: MapSpec, m: Map) -> bool:
    """``map_meta_equal``: may ``m`` be stored in a map whose template is ``template``?"""
    same = (
        m.map_type == template.type
        and m.key_size == template.key_size
        and m.value_size == template.value_size
        and m.flags == template.flags
    )
    if not same:
        return False
    if template.type == MapType.ARRAY and not template.flags & MapCreateFlags.INNER_MAP:
        return m.max_entries == template.max_entries
    return True


def resolve_map(owner: Map, template: MapSpec, fd: int) -> Map:
    """The map ``fd`` (an id) names, checked against ``template`` (``bpf_map_fd_get_ptr``)."""
    m = map_by_id(fd)
    if m is None:
        raise owner._error("update", errno.EBADF, f"no map with id {fd}")
    if not meta_equal(template, m):
        raise owner._error("update", errno.EINVAL, f"map {m.id} does not match the inner map")
    return m


@register
class ArrayOfMaps(FdArrayMap):
    """An array whose slots hold maps."""

    map_type = MapType.ARRAY_OF_MAPS
    # the kernel's generic lookup and update batches work on arrays of maps
    batch_ops = frozenset({"lookup", "update"})

    def lookup_batch(
        self, start: bytes | None, count: int, *, delete: bool = False
    ) -> tuple[list[tuple[bytes, bytes]], bytes | None]:
        """``BPF_MAP_LOOKUP_BATCH``: the filled slots from index ``start`` on (ids as
        values), and where to go on (None at the end); no ``..._AND_DELETE_BATCH``."""
        first = 0 if start is None else u32(start)
        with self.lock:
            if delete:
                raise self._no_batch("lookup_and_delete_batch", read=True, write=True)
            self._check_read("lookup_batch")
            if count <= 0:
                raise self._error("lookup_batch", errno.EINVAL, "count must be > 0")
            filled = sorted(i for i in self.slots if i >= first)
            out = [(i.to_bytes(4, "little"), self._lookup(i.to_bytes(4, "little"))) for i in filled]
        if len(out) <= count:
            return out, None
        return out[:count], out[count][0]

    def _validate(self) -> None:
        super()._validate()
        self.inner = check_template(self, self.spec.inner)

    def _get_ptr(self, index: int, fd: int) -> object:
        return resolve_map(self, self.inner, fd)

    def _sys_lookup(self, obj: object) -> int:
        return obj.id if isinstance(obj, Map) else 0

    def prog_lookup_map(self, key: bytes) -> Map | None:
        """What ``bpf_map_lookup_elem`` finds: the inner map at ``key``, or None."""
        obj = self.get_slot(u32(key))
        return obj if isinstance(obj, Map) else None

    def get_map(self, index: int) -> Map | None:
        """The inner map at ``index`` (a Python convenience)."""
        obj = self.get_slot(index)
        return obj if isinstance(obj, Map) else None

    def set_map(self, index: int, inner: Map | None) -> None:
        """Store ``inner`` at ``index`` (None empties it), with the syscall's checks."""
        if not 0 <= index <= 0xFFFF_FFFF:
            self._fail("update", errno.E2BIG, "index out of range")
        key = index.to_bytes(4, "little")
        if inner is None:
            self.delete_elem(key)
        else:
            self.update_elem(key, inner.id.to_bytes(4, "little"))


@register
class HashOfMaps(Map):
    """A hash table whose values are maps."""

    map_type = MapType.HASH_OF_MAPS
    value_writable = False
    create_flags = HASH_OF_MAPS_CREATE_FLAGS
    batch_ops = ALL_BATCHES

    def _validate(self) -> None:
        super()._validate()
        if self.value_size != 4:
            self._fail("create", errno.EINVAL, "maps of maps hold 4-byte fds")
        self.inner = check_template(self, self.spec.inner)
        self.entries: dict[bytes, Map] = {}

    def _lookup(self, key: bytes) -> bytes:
        m = self.entries.get(key)
        if m is None:
            raise self._error("lookup", errno.ENOENT)
        return m.id.to_bytes(4, "little")

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        # the kernel resolves the fd (EBADF, EINVAL) before it checks the flags
        m = resolve_map(self, self.inner, u32(value))
        if flags & ~F_LOCK > EXIST or flags & F_LOCK:
            self._fail("update", errno.EINVAL, f"bad flags {flags:#x}")
        present = key in self.entries
        if flags == NOEXIST and present:
            self._fail("update", errno.EEXIST)
        if flags == EXIST and not present:
            self._fail("update", errno.ENOENT)
        if not present and len(self.entries) >= self.max_entries:
            self._fail("update", errno.E2BIG, "map is full")
        self.entries[key] = m

    def _delete(self, key: bytes) -> None:
        if self.entries.pop(key, None) is None:
            self._fail("delete", errno.ENOENT)

    def _next_key(self, key: bytes | None) -> bytes:
        keys = list(self.entries)
        if not keys:
            raise self._error("get_next_key", errno.ENOENT)
        if key is None or key not in self.entries:
            return keys[0]
        i = keys.index(key)
        if i + 1 >= len(keys):
            raise self._error("get_next_key", errno.ENOENT)
        return keys[i + 1]

    def _lookup_and_delete(self, key: bytes | None) -> bytes:
        raise self._error("lookup_and_delete", ENOTSUPP)

    def _count(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[bytes]:
        with self.lock:
            keys = list(self.entries)
        yield from keys

    # -- the program face -------------------------------------------------------------
    def prog_lookup(self, key: bytes, cpu: int = 0) -> int | None:
        return None

    def prog_lookup_map(self, key: bytes) -> Map | None:
        """What ``bpf_map_lookup_elem`` finds: the inner map under ``key``, or None."""
        with self.lock:
            return self.entries.get(bytes(key))

    def prog_update(self, key: bytes, value: bytes, flags: int, cpu: int = 0) -> int:
        return -errno.EINVAL  # the verifier allows only lookups on maps of maps

    def prog_delete(self, key: bytes) -> int:
        return -errno.EINVAL

    def prog_keys(self, cpu: int = 0) -> list[bytes]:
        return []

    # -- Python face ------------------------------------------------------------------
    def get_map(self, key: bytes) -> Map | None:
        """The inner map under ``key`` (a Python convenience)."""
        return self.prog_lookup_map(key)

    def set_map(self, key: bytes, inner: Map, flags: int = 0) -> None:
        """Store ``inner`` under ``key`` with the syscall's checks."""
        self.update_elem(key, inner.id.to_bytes(4, "little"), flags)


__all__ = [
    "ArrayOfMaps",
    "HashOfMaps",
    "check_template",
    "map_by_id",
    "meta_equal",
    "resolve_map",
]
