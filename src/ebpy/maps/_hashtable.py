"""Shared machinery of the hash maps (and of the other keyed map types of this package).

* ``CoreMap``: a ``Map`` (whose syscall face already makes every ``bpf(2)``
  input check; see ``ebpy.maps.base``) with what the map types that own a flat
  table add: the allocation limit (``ENOMEM`` past ``MAX_BUFFER``) and the
  running-CPU check of per-CPU values.
* ``SlotAllocator``: fixed-size slots over a map's flat ``buf``, a LIFO free list,
  ``buf`` grown in place (never rebound) as slots are needed, so that a value's
  offset stays fixed while its element lives.
* ``HashTable``: the table of BPF_MAP_TYPE_HASH and its variants, with hooks the
  variant modules fill in (``hash``: spin locks; ``percpu_hash``: per-CPU values;
  ``lru_hash``: eviction; ``lru_percpu_hash``: both).

Layout of a hash table's ``buf``: slot ``s`` at ``s * slot_size``; each variant
documents what a slot holds. Keys live in a dict (key -> entry), never in ``buf``.
Iteration (``get_next_key``) follows insertion order through a linked list of the
keys: stable and complete while no element is added; a missing key restarts at
the first key, as in the kernel. Deleting frees the slot at once: a program still
holding the old value pointer sees the next element to take the slot, as with
the kernel's RCU-delayed reuse of preallocated elements.

Deviation from the kernel: an update of an existing element writes the value in
place (the kernel swaps in a fresh element, so a program still holding the old
value pointer writes to the old element there and to the live one here). This
module registers no map type.
"""

from __future__ import annotations

import errno
from typing import ClassVar

from ebpy.errors import MapError
from ebpy.maps.base import ACCESS_MASK, ENOTSUPP, EXIST, F_LOCK, NOEXIST, U32_MAX, Map, round8
from ebpy.uapi import MapCreateFlags

KMALLOC_MAX_SIZE = 1 << 22
"""Largest kmalloc on x86-64 (4 MiB): bounds key and value sizes."""

PCPU_MIN_UNIT_SIZE = 32 << 10
"""Largest per-CPU value (``round8(value_size)``) the kernel allocates."""

HTAB_ELEM_SIZE = 48
"""``sizeof(struct htab_elem)``: the key and value of a hash element share a kmalloc."""

MAX_BUFFER = 1 << 30
"""Largest buffer we allocate for a map at once; beyond it creation gives ENOMEM."""

HTAB_CREATE_FLAG_MASK = (
    int(
        MapCreateFlags.NO_PREALLOC
        | MapCreateFlags.NO_COMMON_LRU
        | MapCreateFlags.NUMA_NODE
        | MapCreateFlags.ZERO_SEED
    )
    | ACCESS_MASK
)
"""``HTAB_CREATE_FLAG_MASK`` (``BPF_F_NO_COMMON_LRU`` only for LRU maps)."""

PREALLOC_BYTES = 1 << 16
"""Tables whose whole buffer is at most this big get all their slots at creation."""


class CoreMap(Map):
    """A ``Map`` that owns a flat table: allocation limit, per-CPU value checks."""

    def _alloc_check(self, nbytes: int) -> None:
        if nbytes > MAX_BUFFER:
            self._fail("create", errno.ENOMEM, f"{nbytes} bytes is more than ebpy allocates")

    def _cpu(self, cpu: int) -> int:
        if not 0 <= cpu < self.ncpus:
            self._fail("prog", errno.EINVAL, f"cpu {cpu} of a map made for {self.ncpus}")
        return cpu


class SlotAllocator:
    """Slots of ``slot_size`` bytes over ``buf``, at most ``limit`` of them.

    Freed slots are reused last-freed first. ``buf`` grows in place, doubling, as
    slots are handed out; small tables (``PREALLOC_BYTES``) get every slot at once.
    """

    def __init__(self, buf: bytearray, slot_size: int, limit: int) -> None:
        self.buf = buf
        self.slot_size = slot_size
        self.limit = limit
        self.used = 0
        self._free: list[int] = []
        self._made = 0
        if slot_size * limit <= PREALLOC_BYTES:
            self._grow(limit)

    def _grow(self, count: int) -> None:
        start = self._made
        try:
            self.buf.extend(bytes(count * self.slot_size))
        except BufferError:  # someone holds a memoryview of buf: it cannot move
            raise MapError("update", errno.ENOMEM, "", "map buffer is pinned") from None
        self._made += count
        self._free.extend(range(self._made - 1, start - 1, -1))

    def alloc(self) -> int | None:
        """A free slot (its bytes are whatever its last element left), or None when
        ``limit`` slots are in use."""
        if not self._free:
            if self._made >= self.limit:
                return None
            want = max(self._made, PREALLOC_BYTES // self.slot_size, 1)
            self._grow(min(want, self.limit - self._made))
        self.used += 1
        return self._free.pop()

    def free(self, slot: int) -> None:
        self.used -= 1
        self._free.append(slot)

    def offset(self, slot: int) -> int:
        return slot * self.slot_size


class _Entry:
    """One element: its slot and its neighbours in iteration order."""

    __slots__ = ("next", "prev", "slot")

    def __init__(self, slot: int, prev: bytes | None) -> None:
        self.slot = slot
        self.prev = prev
        self.next: bytes | None = None


class HashTable(CoreMap):
    """The table of BPF_MAP_TYPE_HASH and its variants.

    Variants change it through hooks: ``_check_update_flags`` (which flags an
    update takes), ``_write``/``_read``/``_value_offset`` (where a value lives in
    its slot: ``percpu_hash``), ``_evict`` (what a full table does: ``lru_hash``),
    ``_touch``/``_linked``/``_unlinked`` (LRU bookkeeping).
    """

    lru: ClassVar[bool] = False
    create_flags = HTAB_CREATE_FLAG_MASK

    def _validate(self) -> None:
        self._check_create()
        flags = self.flags
        own_lru = flags & MapCreateFlags.NO_COMMON_LRU
        if own_lru and not self.lru:
            self._fail("create", errno.EINVAL, "BPF_F_NO_COMMON_LRU is for LRU maps")
        if self.lru and flags & MapCreateFlags.NO_PREALLOC:
            self._fail("create", ENOTSUPP, "LRU maps are always preallocated")
        if flags & MapCreateFlags.NUMA_NODE and (self.percpu or own_lru):
            self._fail("create", errno.EINVAL, "no NUMA node for per-CPU memory")
        if not (self.key_size and self.value_size and self.max_entries):
            self._fail("create", errno.EINVAL, "key, value and max_entries must be > 0")
        if self.key_size + self.value_size >= KMALLOC_MAX_SIZE - HTAB_ELEM_SIZE:
            self._fail("create", errno.E2BIG, "key and value too large")
        if self.percpu and round8(self.value_size) > PCPU_MIN_UNIT_SIZE:
            self._fail("create", errno.E2BIG, "per-CPU value too large")
        buckets = 1 << (self.max_entries - 1).bit_length()
        if buckets > U32_MAX // 16:  # sizeof(struct bucket) is 16
            self._fail("create", errno.E2BIG, "too many entries")
        self.stride = round8(self.value_size)
        """Bytes of one value in ``buf`` (one CPU's value of a per-CPU map)."""
        self.slot_size = self.stride * (self.ncpus if self.percpu else 1)
        """Bytes of one element in ``buf``."""
        self.slots = SlotAllocator(self.buf, self.slot_size, self.max_entries)
        self._entries: dict[bytes, _Entry] = {}
        self._head: bytes | None = None
        self._tail: bytes | None = None

    # -- hooks of the variants --------------------------------------------------
    def _check_update_flags(self, op: str, flags: int) -> None:
        """EINVAL for flags an update does not take (here: anything above BPF_EXIST)."""
        if not isinstance(flags, int) or not 0 <= flags <= EXIST:
            self._fail(op, errno.EINVAL, f"bad flags {flags!r}")

    def _write(self, off: int, value: bytes, fresh: bool, cpu: int | None) -> None:
        """Store ``value`` in the slot at ``off`` (``fresh``: the element is new)."""
        self.buf[off : off + self.value_size] = value

    def _read(self, off: int) -> bytes:
        """The syscall-side value of the slot at ``off``."""
        return bytes(self.buf[off : off + self.value_size])

    def _value_offset(self, off: int, cpu: int) -> int:
        """Where the value a program on ``cpu`` sees lives, for the slot at ``off``."""
        return off

    def _evict(self, op: str) -> None:
        """Make room in a full table, or raise (E2BIG here)."""
        raise self._error(op, errno.E2BIG, "map is full")

    def _touch(self, key: bytes) -> None:
        """``key`` was used (an LRU moves it to the most recent end)."""

    def _linked(self, key: bytes) -> None:
        """``key`` was added."""

    def _unlinked(self, key: bytes) -> None:
        """``key`` was removed."""

    # -- the table --------------------------------------------------------------
    def _insert(self, op: str, key: bytes) -> _Entry:
        slot = self.slots.alloc()
        if slot is None:
            self._evict(op)
            slot = self.slots.alloc()
            if slot is None:
                raise self._error(op, errno.ENOMEM, "no free element")
        entry = _Entry(slot, self._tail)
        if self._tail is None:
            self._head = key
        else:
            self._entries[self._tail].next = key
        self._tail = key
        self._entries[key] = entry
        self._linked(key)
        return entry

    def _remove(self, key: bytes) -> None:
        entry = self._entries.pop(key)
        if entry.prev is None:
            self._head = entry.next
        else:
            self._entries[entry.prev].next = entry.next
        if entry.next is None:
            self._tail = entry.prev
        else:
            self._entries[entry.next].prev = entry.prev
        self._unlinked(key)
        self.slots.free(entry.slot)

    def _find(self, op: str, key: bytes) -> _Entry:
        entry = self._entries.get(key)
        if entry is None:
            raise self._error(op, errno.ENOENT)
        return entry

    def _store(self, op: str, key: bytes, value: bytes, flags: int, cpu: int | None) -> None:
        """Update ``key``: ``value`` is the syscall value (``cpu`` None) or one CPU's."""
        self._check_update_flags(op, flags)
        entry = self._entries.get(key)
        mode = flags & ~F_LOCK
        if entry is not None and mode == NOEXIST:
            self._fail(op, errno.EEXIST)
        if entry is None and mode == EXIST:
            self._fail(op, errno.ENOENT)
        fresh = entry is None
        if entry is None:
            entry = self._insert(op, key)
        else:
            self._touch(key)
        self._write(self.slots.offset(entry.slot), value, fresh, cpu)

    # -- Map hooks ----------------------------------------------------------------
    def _lookup(self, key: bytes) -> bytes:
        return self._read(self.slots.offset(self._find("lookup", key).slot))

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        self._store("update", key, value, flags, None)

    def _delete(self, key: bytes) -> None:
        self._find("delete", key)
        self._remove(key)

    def _next_key(self, key: bytes | None) -> bytes:
        entry = None if key is None else self._entries.get(key)
        nxt = self._head if entry is None else entry.next
        if nxt is None:
            raise self._error("get_next_key", errno.ENOENT)
        return nxt

    def _lookup_and_delete(self, key: bytes | None) -> bytes:
        if key is None:
            raise self._error("lookup_and_delete", errno.EINVAL, "a hash map needs a key")
        value = self._lookup(key)
        self._remove(key)
        return value

    def _count(self) -> int:
        return len(self._entries)

    # -- the program face ---------------------------------------------------------
    def prog_lookup(self, key: bytes, cpu: int = 0) -> int | None:
        """``bpf_map_lookup_elem``: the offset of the value this CPU sees, or None."""
        key = bytes(key)
        with self.lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._touch(key)
            return self._value_offset(self.slots.offset(entry.slot), cpu)

    def prog_update(self, key: bytes, value: bytes, flags: int, cpu: int = 0) -> int:
        """``bpf_map_update_elem``: ``value`` is one CPU's value; 0 or ``-errno``."""
        key, value = bytes(key), bytes(value)
        if len(key) != self.key_size or len(value) != self.value_size:
            return -errno.EINVAL
        try:
            with self.lock:
                self._store("update", key, value, flags, self._cpu(cpu) if self.percpu else None)
        except MapError as exc:
            return -exc.errno
        return 0
