"""BPF_MAP_TYPE_PERCPU_ARRAY: fixed elements indexed by a u32 key, one value per CPU.

Like the array map (``ebpy.maps.array``) every element exists from the start,
zero-filled, and none can be deleted; unlike it every element holds ``ncpus``
values. Not the plain array and not the per-CPU hash.

Layout of ``buf``: element-major. Element ``i`` is a block of ``ncpus *
round8(value_size)`` bytes at ``i * ncpus * round8(value_size)``; CPU ``c``'s value
is at ``c * round8(value_size)`` in the block. A block is byte for byte what
``bpf(2)`` copies in and out for the element (padding included: the kernel copies
``round8(value_size)`` bytes per CPU both ways, so padding written from user
space is read back).

Semantics (Linux 6.1, checked against the running kernel):

* create: key_size 4, value_size and max_entries > 0, only the access flags
  (``BPF_F_RDONLY``/``WRONLY``/``RDONLY_PROG``/``WRONLY_PROG``), else EINVAL
  (``BPF_F_NUMA_NODE``, ``BPF_F_MMAPABLE``, ``BPF_F_INNER_MAP`` and
  ``BPF_F_NO_PREALLOC`` included); ``round8(value_size)`` above 32 KiB is E2BIG;
* syscall update: flags above ``BPF_EXIST`` (``BPF_F_LOCK`` included) EINVAL, an
  index out of range E2BIG, ``BPF_NOEXIST`` EEXIST (elements always exist); the
  value is all CPUs' values at once;
* program update (``bpf_map_update_elem``): the same, in the kernel's order (bad
  flags, E2BIG, EEXIST, then EINVAL for ``BPF_F_LOCK``), writing the value of the
  running CPU only; ``bpf_map_lookup_elem`` gives that CPU's value;
* lookup out of range ENOENT; delete EINVAL; lookup_and_delete and the delete
  batch ENOTSUPP (524); get_next_key as the array's (a key out of range or None
  gives index 0, ENOENT after the last).

Creating a map whose buffer would exceed 1 GiB gives ENOMEM here (the kernel
would try to allocate it).

>>> from ebpy.spec import MapSpec
>>> from ebpy.uapi import MapType
>>> m = PercpuArrayMap(MapSpec(MapType.PERCPU_ARRAY, 4, 4, 2), ncpus=2)
>>> m.prog_lookup((1).to_bytes(4, "little"), cpu=1)  # element 1, CPU 1
24
>>> m.prog_update(bytes(4), b"\\x05\\x00\\x00\\x00", 0, cpu=1)
0
>>> m.lookup_elem(bytes(4)).hex()
'00000000000000000500000000000000'
"""

from __future__ import annotations

import errno
from collections.abc import Iterable

from ebpy.maps._hashtable import PCPU_MIN_UNIT_SIZE, CoreMap
from ebpy.maps.base import ACCESS_MASK, EXIST, F_LOCK, NOEXIST, register, round8
from ebpy.uapi import MapType


@register
class PercpuArrayMap(CoreMap):
    """BPF_MAP_TYPE_PERCPU_ARRAY (see the module docstring)."""

    map_type = MapType.PERCPU_ARRAY
    percpu = True
    create_flags = ACCESS_MASK  # no BPF_F_NUMA_NODE for per-CPU memory

    def _validate(self) -> None:
        self._check_create()
        if self.key_size != 4 or not self.value_size or not self.max_entries:
            self._fail("create", errno.EINVAL, "4-byte keys, value_size and max_entries > 0")
        if round8(self.value_size) > PCPU_MIN_UNIT_SIZE:
            self._fail("create", errno.E2BIG, "per-CPU value too large")
        self.stride = round8(self.value_size)
        """Bytes of one CPU's value."""
        self.block = self.stride * self.ncpus
        """Bytes of one element (all CPUs)."""
        self._alloc_check(self.block * self.max_entries)
        self.buf.extend(bytes(self.block * self.max_entries))

    def _index(self, key: bytes) -> int | None:
        i = int.from_bytes(key, "little")
        return i if i < self.max_entries else None

    # -- Map hooks ----------------------------------------------------------------
    def _lookup(self, key: bytes) -> bytes:
        i = self._index(key)
        if i is None:
            raise self._error("lookup", errno.ENOENT)
        return bytes(self.buf[i * self.block : (i + 1) * self.block])

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        if not isinstance(flags, int) or not 0 <= flags <= EXIST:
            self._fail("update", errno.EINVAL, f"bad flags {flags!r}")
        i = self._index(key)
        if i is None:
            self._fail("update", errno.E2BIG, "index out of range")
            return
        if flags == NOEXIST:
            self._fail("update", errno.EEXIST, "array elements always exist")
        self.buf[i * self.block : (i + 1) * self.block] = value

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

    def delete_batch(self, keys: Iterable[bytes]) -> int:
        """``BPF_MAP_DELETE_BATCH``: arrays have none (ENOTSUPP)."""
        with self.lock:
            raise self._no_batch("delete_batch", write=True)

    def lookup_batch(
        self, start: bytes | None, count: int, *, delete: bool = False
    ) -> tuple[list[tuple[bytes, bytes]], bytes | None]:
        """``BPF_MAP_LOOKUP_BATCH``; there is no lookup-and-delete batch (ENOTSUPP)."""
        with self.lock:
            if delete:
                raise self._no_batch("lookup_and_delete_batch", read=True, write=True)
            return super().lookup_batch(start, count)

    # -- the program face ---------------------------------------------------------
    def prog_lookup(self, key: bytes, cpu: int = 0) -> int | None:
        """``bpf_map_lookup_elem``: the offset of ``cpu``'s value, None out of range."""
        i = self._index(bytes(key))
        return None if i is None else i * self.block + self._cpu(cpu) * self.stride

    def prog_update(self, key: bytes, value: bytes, flags: int, cpu: int = 0) -> int:
        """``bpf_map_update_elem`` from a program on ``cpu``: 0 or ``-errno``."""
        if not isinstance(flags, int) or flags < 0 or flags & ~F_LOCK > EXIST:
            return -errno.EINVAL
        i = self._index(bytes(key))
        if i is None:
            return -errno.E2BIG
        if flags & NOEXIST:
            return -errno.EEXIST
        if flags & F_LOCK or len(value) != self.value_size:
            return -errno.EINVAL
        at = i * self.block + self._cpu(cpu) * self.stride
        with self.lock:
            self.buf[at : at + self.value_size] = value
        return 0

    def cpu_values(self, key: bytes) -> list[bytes]:
        """The ``ncpus`` values of element ``key`` (``value_size`` bytes each)."""
        raw = self.lookup_elem(key)
        return [raw[c * self.stride : c * self.stride + self.value_size] for c in range(self.ncpus)]
