"""BPF_MAP_TYPE_LRU_PERCPU_HASH: an LRU hash table with one value per CPU.

It is the LRU hash map (``ebpy.maps.lru_hash``: eviction of the least recently
used element when full, never E2BIG, always preallocated, no ``BPF_F_LOCK``)
with the values of the per-CPU hash map (``ebpy.maps.percpu_hash``: the syscall
face reads and writes ``ncpus`` values padded to 8 bytes, a program sees the
value of the CPU it runs on, a program creating an element zeroes the other
CPUs' values). Nothing of its own beyond the combination; not the plain LRU or
per-CPU hash maps.

Layout of ``buf``: one slot of ``ncpus * round8(value_size)`` bytes per element,
CPU ``c``'s value at ``c * round8(value_size)`` inside it; slots from a free
list, ``buf`` grown in place.

>>> from ebpy.spec import MapSpec
>>> from ebpy.uapi import MapType
>>> m = LruPercpuHashMap(MapSpec(MapType.LRU_PERCPU_HASH, 1, 2, 1), ncpus=2)
>>> m.update_elem(b"a", bytes(range(16)))
>>> m.prog_update(b"b", b"\\xff\\xff", 0, cpu=0)  # full: "a" is evicted
0
>>> list(m), m.cpu_values(b"b")
([b'b'], [b'\\xff\\xff', b'\\x00\\x00'])
"""

from __future__ import annotations

from ebpy.maps.base import register
from ebpy.maps.lru_hash import LruOrder
from ebpy.maps.percpu_hash import PerCpuValues
from ebpy.uapi import MapType


@register
class LruPercpuHashMap(LruOrder, PerCpuValues):
    """BPF_MAP_TYPE_LRU_PERCPU_HASH (see the module docstring)."""

    map_type = MapType.LRU_PERCPU_HASH
