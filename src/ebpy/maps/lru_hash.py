"""BPF_MAP_TYPE_LRU_HASH: a hash table that evicts its least recently used element.

The table is ``ebpy.maps._hashtable``; this module adds the recency order
(``LruOrder``, which ``lru_percpu_hash`` reuses). Not the per-CPU variant.

Layout of ``buf``: as the hash map's (``ebpy.maps.hash``): one slot of
``round8(value_size)`` bytes per element, grown in place, an element's value at
a fixed offset while it lives.

What differs from BPF_MAP_TYPE_HASH:

* a new key in a full map evicts the least recently used element instead of
  failing with E2BIG, so neither the syscall side nor programs ever get E2BIG;
* uses are: creating or updating an element (syscall or program) and a lookup
  from a program (``bpf_map_lookup_elem`` sets the kernel's reference bit); a
  syscall lookup is not a use, nor is ``get_next_key`` (but the visits of
  ``bpf_for_each_map_elem`` are here: the helper reaches values through
  ``prog_lookup``; the kernel's are not);
* update flags are ``BPF_ANY``/``BPF_NOEXIST``/``BPF_EXIST`` only (LRU values have
  no spin lock: ``BPF_F_LOCK`` is EINVAL);
* create: LRU maps are always preallocated: ``BPF_F_NO_PREALLOC`` gives ENOTSUPP
  (524, checked before the sizes); ``BPF_F_NO_COMMON_LRU`` (per-CPU LRU lists) is
  accepted and changes nothing here; with it ``BPF_F_NUMA_NODE`` is EINVAL.

Deviation: our LRU is exact and evicts one element, only when the map is full.
The kernel's is approximate: it hands out free elements through per-CPU lists,
evicts unreferenced elements in batches (up to 128 at a time) and so may evict
before the map is full, and an update of an existing key takes a fresh element
(which may evict another one). Tests that compare with the kernel must not
depend on which element goes.

>>> from ebpy.spec import MapSpec
>>> from ebpy.uapi import MapType
>>> m = LruHashMap(MapSpec(MapType.LRU_HASH, 1, 1, 2))
>>> m[b"a"] = b"1"
>>> m[b"b"] = b"2"
>>> m.prog_lookup(b"a") is not None  # a program uses "a": "b" is now the oldest
True
>>> m[b"c"] = b"3"
>>> sorted(m)
[b'a', b'c']
"""

from __future__ import annotations

from collections import OrderedDict

from ebpy.maps._hashtable import HashTable
from ebpy.maps.base import register
from ebpy.uapi import MapType


class LruOrder(HashTable):
    """The recency order of an LRU hash table (see the module docstring)."""

    lru = True

    def _validate(self) -> None:
        self._recent: OrderedDict[bytes, None] = OrderedDict()
        """Keys, least recently used first."""
        super()._validate()

    def _evict(self, op: str) -> None:
        victim = next(iter(self._recent))
        self._remove(victim)

    def _touch(self, key: bytes) -> None:
        self._recent.move_to_end(key)

    def _linked(self, key: bytes) -> None:
        self._recent[key] = None

    def _unlinked(self, key: bytes) -> None:
        del self._recent[key]

    def recency(self) -> list[bytes]:
        """The keys, least recently used first (the next to be evicted first)."""
        with self.lock:
            return list(self._recent)


@register
class LruHashMap(LruOrder):
    """BPF_MAP_TYPE_LRU_HASH (see the module docstring)."""

    map_type = MapType.LRU_HASH
