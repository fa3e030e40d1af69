"""``BPF_MAP_TYPE_ARRAY``: fixed slots indexed by a u32 key, zero-filled, never deleted.

Layout of ``buf``: ``max_entries`` elements of ``round8(value_size)`` bytes, element
``i`` at ``i * stride`` (as the kernel's ``struct bpf_array`` keeps ``value[]``).
Global data sections (``.data``, ``.rodata``, ``.bss``) are one-element arrays;
``BPF_F_RDONLY_PROG`` makes the values read-only for programs. The flags are
those the kernel takes for this type (``BPF_F_PRESERVE_ELEMS`` is for perf event
arrays only). Arrays have ``BPF_MAP_LOOKUP_BATCH`` and ``BPF_MAP_UPDATE_BATCH`` but
no lookup-and-delete and no delete batch (``ENOTSUPP``, 524); a delete is
``EINVAL``. Not the per-CPU array (``percpu_array``).

>>> from ebpy.spec import MapSpec
>>> from ebpy.uapi import MapType
>>> m = ArrayMap(MapSpec(MapType.ARRAY, 4, 8, 2))
>>> m[(1).to_bytes(4, "little")] = bytes(range(8))
>>> m.lookup_elem((1).to_bytes(4, "little")).hex()
'0001020304050607'
>>> len(m)
2
"""

from __future__ import annotations

import errno

from ebpy.maps.base import ACCESS_MASK, EXIST, F_LOCK, NOEXIST, Map, register, round8
from ebpy.uapi import MapCreateFlags, MapType

MAX_ARRAY_VALUE = 1 << 20
"""Largest value_size we accept (the kernel's limit is KMALLOC_MAX_SIZE)."""


@register
class ArrayMap(Map):
    map_type = MapType.ARRAY
    create_flags = ACCESS_MASK | int(
        MapCreateFlags.NUMA_NODE | MapCreateFlags.MMAPABLE | MapCreateFlags.INNER_MAP
    )
    batch_ops = frozenset({"lookup", "update"})

    def _validate(self) -> None:
        super()._validate()
        if self.key_size != 4:
            self._fail("create", errno.EINVAL, "array maps have 4-byte keys")
        if self.value_size > MAX_ARRAY_VALUE:
            self._fail("create", errno.E2BIG, "value_size too large")
        self.stride = round8(self.value_size)
        self.buf = bytearray(self.stride * self.max_entries)

    def _index(self, key: bytes) -> int | None:
        i = int.from_bytes(key, "little")
        return i if i < self.max_entries else None

    def _lookup(self, key: bytes) -> bytes:
        i = self._index(key)
        if i is None:
            raise self._error("lookup", errno.ENOENT)
        off = i * self.stride
        return bytes(self.buf[off : off + self.value_size])

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        if flags & ~F_LOCK > EXIST:
            self._fail("update", errno.EINVAL, f"bad flags {flags:#x}")
        i = self._index(key)
        if i is None:
            self._fail("update", errno.E2BIG, "index out of range")
            return
        if flags & NOEXIST:
            self._fail("update", errno.EEXIST, "array elements always exist")
        self._check_spin("update", flags)
        off = i * self.stride
        self.buf[off : off + self.value_size] = value

    def _delete(self, key: bytes) -> None:
        self._fail("delete", errno.EINVAL, "array elements cannot be deleted")

    def _next_key(self, key: bytes | None) -> bytes:
        i = -1 if key is None else int.from_bytes(key, "little")
        if i >= self.max_entries:
            i = -1
        if i + 1 >= self.max_entries:
            raise self._error("get_next_key", errno.ENOENT)
        return (i + 1).to_bytes(4, "little")

    def _count(self) -> int:
        return self.max_entries

    def prog_lookup(self, key: bytes, cpu: int = 0) -> int | None:
        i = self._index(key)
        return None if i is None else i * self.stride
