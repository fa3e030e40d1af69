"""BPF_MAP_TYPE_PERCPU_HASH: a hash table whose every element holds one value per CPU.

The table is ``ebpy.maps._hashtable``; this module adds the per-CPU values
(``PerCpuValues``, which ``lru_percpu_hash`` reuses). Not the per-CPU array
(``percpu_array``).

Layout of ``buf``: one slot per element of ``ncpus * round8(value_size)`` bytes,
CPU ``c``'s value at ``c * round8(value_size)`` inside the slot, so that a slot
is byte for byte the value ``bpf(2)`` copies in and out (``ncpus`` values, each
padded to 8 bytes; the padding bytes written from user space are kept and read
back, as the kernel's ``copy_map_value_long`` does).

Two faces, as in the kernel:

* the syscall face reads and writes all CPUs' values at once
  (``syscall_value_size == ncpus * round8(value_size)``);
* a program sees and writes only the value of the CPU it runs on
  (``prog_lookup(key, cpu)`` gives that value's offset, ``prog_update(key, value,
  flags, cpu)`` takes one ``value_size`` value). A program creating an element
  sets its own CPU's value and zeroes the other CPUs' (the kernel's
  ``pcpu_init_value``); updating an existing element leaves the others alone.

Per-CPU values cannot hold a spin lock: ``BPF_F_LOCK`` is EINVAL, and so is
``BPF_F_NUMA_NODE`` at creation; a value above 32 KiB (``round8``) is E2BIG.
The rest (flags, E2BIG when full, ENOENT, EEXIST, iteration) is the hash map's.

>>> from ebpy.spec import MapSpec
>>> from ebpy.uapi import MapType
>>> m = PercpuHashMap(MapSpec(MapType.PERCPU_HASH, 4, 4, 8), ncpus=2)
>>> m.syscall_value_size
16
>>> m.prog_update(bytes(4), b"\\x07\\x00\\x00\\x00", 0, cpu=1)
0
>>> m.lookup_elem(bytes(4)).hex()
'00000000000000000700000000000000'
>>> m.prog_lookup(bytes(4), cpu=1)  # CPU 1's value: 8 bytes into slot 0
8
"""

from __future__ import annotations

from ebpy.maps._hashtable import HashTable
from ebpy.maps.base import register
from ebpy.uapi import MapType


class PerCpuValues(HashTable):
    """The per-CPU value hooks of a hash table (see the module docstring)."""

    percpu = True

    def _write(self, off: int, value: bytes, fresh: bool, cpu: int | None) -> None:
        buf = self.buf
        if cpu is None:  # the syscall face: every CPU's value, padding included
            buf[off : off + self.slot_size] = value
            return
        if fresh:  # a program made the element: the other CPUs start zeroed
            buf[off : off + self.slot_size] = bytes(self.slot_size)
        at = off + cpu * self.stride
        buf[at : at + self.value_size] = value

    def _read(self, off: int) -> bytes:
        return bytes(self.buf[off : off + self.slot_size])

    def _value_offset(self, off: int, cpu: int) -> int:
        return off + self._cpu(cpu) * self.stride

    def cpu_values(self, key: bytes) -> list[bytes]:
        """The ``ncpus`` values of ``key`` (``value_size`` bytes each, no padding);
        ``MapError`` ENOENT for a missing key."""
        with self.lock:
            raw = self.lookup_elem(key)
        return [raw[c * self.stride : c * self.stride + self.value_size] for c in range(self.ncpus)]


@register
class PercpuHashMap(PerCpuValues):
    """BPF_MAP_TYPE_PERCPU_HASH (see the module docstring)."""

    map_type = MapType.PERCPU_HASH
