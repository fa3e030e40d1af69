"""Shared machinery of the hash maps (and of the other map types of this package).

* ``CoreMap``: a ``Map`` with the input checks of ``bpf(2)`` that the map types
  written on it share: keys and values that are not bytes-like, or of the wrong
  size, give ``EINVAL`` (never a ``TypeError``) before anything else (as
  ``KernelMap`` checks them before calling the kernel); then the kernel's order:
  flags (``BPF_F_LOCK`` only where the value has a spin lock), permissions
  (``EPERM`` for reads of a write-only map, writes to a read-only or frozen map,
  a second freeze), the operation. Batch commands check their permissions and
  flags as the kernel's generic batch code does. ``map_extra`` is refused
  (EINVAL) where the type has no use for it. It also defines the ints every
  module here uses for update flags (``ANY``, ``NOEXIST``, ``EXIST``, ``F_LOCK``:
  ``~`` of the uapi IntFlags would drop unknown bits) and ``ENOTSUPP`` (524).
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
from collections.abc import Iterable
from typing import ClassVar

from ebpy.errors import MapError
from ebpy.maps.base import Map, round8
from ebpy.uapi import MapCreateFlags, MapUpdateFlags

ENOTSUPP = 524
"""The kernel-internal errno bpf(2) returns for an operation a map type lacks."""

KMALLOC_MAX_SIZE = 1 << 22
"""Largest kmalloc on x86-64 (4 MiB): bounds key and value sizes."""

PCPU_MIN_UNIT_SIZE = 32 << 10
"""Largest per-CPU value (``round8(value_size)``) the kernel allocates."""

HTAB_ELEM_SIZE = 48
"""``sizeof(struct htab_elem)``: the key and value of a hash element share a kmalloc."""

MAX_BUFFER = 1 << 30
"""Largest buffer we allocate for a map at once; beyond it creation gives ENOMEM."""

U32_MAX = (1 << 32) - 1
U64_MAX = (1 << 64) - 1

# Update flags as plain ints: ``~`` of an IntFlag keeps only its defined bits.
ANY = int(MapUpdateFlags.ANY)
NOEXIST = int(MapUpdateFlags.NOEXIST)
EXIST = int(MapUpdateFlags.EXIST)
F_LOCK = int(MapUpdateFlags.F_LOCK)
_RDONLY = int(MapCreateFlags.RDONLY)
_WRONLY = int(MapCreateFlags.WRONLY)
_RDONLY_PROG = int(MapCreateFlags.RDONLY_PROG)

_ACCESS = (
    MapCreateFlags.RDONLY
    | MapCreateFlags.WRONLY
    | MapCreateFlags.RDONLY_PROG
    | MapCreateFlags.WRONLY_PROG
)
ACCESS_MASK = int(_ACCESS)
"""``BPF_F_ACCESS_MASK``: the read/write permission flags every map type accepts."""

HTAB_CREATE_FLAG_MASK = int(
    MapCreateFlags.NO_PREALLOC
    | MapCreateFlags.NO_COMMON_LRU
    | MapCreateFlags.NUMA_NODE
    | MapCreateFlags.ZERO_SEED
    | ACCESS_MASK
)

PREALLOC_BYTES = 1 << 16
"""Tables whose whole buffer is at most this big get all their slots at creation."""


def as_bytes(data: object) -> bytes | None:
    """``data`` as bytes when it is bytes-like (bytes, bytearray, memoryview), else None."""
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    return None


class CoreMap(Map):
    """A ``Map`` with the shared ``bpf(2)`` input checks (see the module docstring)."""

    percpu: ClassVar[bool] = False
    """Values are per CPU: ``ncpus`` padded values on the syscall side."""

    spin_lock_offset: int | None = None
    """Offset of a ``struct bpf_spin_lock`` in the value, which ``BPF_F_LOCK`` needs
    (BTF would tell; until then whoever knows sets it). Only plain hash maps use it."""

    # -- creation ---------------------------------------------------------------
    def _check_common(self, *, extra_ok: bool = False) -> None:
        """What ``BPF_MAP_CREATE`` checks before the type's own checks."""
        for field in ("key_size", "value_size", "max_entries", "flags"):
            value = getattr(self, field)
            if not isinstance(value, int) or not 0 <= value <= U32_MAX:
                self._fail("create", errno.EINVAL, f"{field} {value!r} is not a u32")
        extra = self.spec.extra
        if not isinstance(extra, int) or not 0 <= extra < 1 << 64:
            self._fail("create", errno.EINVAL, "map_extra is not a u64")
        if extra and not extra_ok:
            self._fail("create", errno.EINVAL, "map_extra is for bloom filters only")
        self.flags = flags = int(self.flags)
        if flags & MapCreateFlags.RDONLY and flags & MapCreateFlags.WRONLY:
            self._fail("create", errno.EINVAL, "BPF_F_RDONLY with BPF_F_WRONLY")

    def _check_flag_mask(self, mask: int) -> None:
        """``map_flags`` outside ``mask``, or programs both read- and write-only: EINVAL."""
        flags = self.flags
        both = MapCreateFlags.RDONLY_PROG | MapCreateFlags.WRONLY_PROG
        if flags & ~int(mask) or flags & both == both:
            self._fail("create", errno.EINVAL, f"bad map_flags {flags:#x}")

    def _alloc_check(self, nbytes: int) -> None:
        if nbytes > MAX_BUFFER:
            self._fail("create", errno.ENOMEM, f"{nbytes} bytes is more than ebpy allocates")

    @property
    def prog_writable(self) -> bool:
        """Programs may write values in place (not with ``BPF_F_RDONLY_PROG``)."""
        return not self.flags & _RDONLY_PROG

    @property
    def syscall_value_size(self) -> int:
        """Bytes of a value on the syscall side (all CPUs' values for per-CPU maps)."""
        if self.percpu:
            return round8(self.value_size) * self.ncpus
        return self.value_size

    def _cpu(self, cpu: int) -> int:
        if not 0 <= cpu < self.ncpus:
            self._fail("prog", errno.EINVAL, f"cpu {cpu} of a map made for {self.ncpus}")
        return cpu

    # -- checks of the syscall face ---------------------------------------------
    def _check_key(self, op: str, key: object) -> bytes:
        data = b"" if key is None else as_bytes(key)
        if data is None:
            self._fail(op, errno.EINVAL, f"a key must be bytes, not {type(key).__name__}")
            return b""
        if len(data) != self.key_size:
            self._fail(op, errno.EINVAL, f"key of {len(data)} bytes, map wants {self.key_size}")
        return data

    def _check_value(self, op: str, value: object) -> bytes:
        data = as_bytes(value)
        if data is None:
            self._fail(op, errno.EINVAL, f"a value must be bytes, not {type(value).__name__}")
            return b""
        want = self.syscall_value_size
        if len(data) != want:
            self._fail(op, errno.EINVAL, f"value of {len(data)} bytes, map wants {want}")
        return data

    def _check_read(self, op: str) -> None:
        if self.flags & _WRONLY:
            self._fail(op, errno.EPERM, "map is write-only")

    def _check_write(self, op: str) -> None:
        if self.frozen or self.flags & _RDONLY:
            self._fail(op, errno.EPERM, "map is frozen or read-only")

    def _check_flag_bits(self, op: str, flags: object, allowed: int = F_LOCK) -> int:
        """EINVAL for flags that are not an int or have bits outside ``allowed``."""
        if not isinstance(flags, int) or flags < 0 or int(flags) & ~allowed:
            self._fail(op, errno.EINVAL, f"bad flags {flags!r}")
            return 0
        return int(flags)

    def _check_spin(self, op: str, flags: int) -> None:
        if flags & F_LOCK and self.spin_lock_offset is None:
            self._fail(op, errno.EINVAL, "BPF_F_LOCK without a bpf_spin_lock in the value")

    # -- the syscall face ---------------------------------------------------------
    # Keys and values of the wrong size are refused first (as ``KernelMap`` does
    # before calling bpf(2)); then the checks come in the kernel's order.
    def lookup_elem(self, key: bytes | None, flags: int = 0) -> bytes:
        """``BPF_MAP_LOOKUP_ELEM``: the value, or ``MapError`` (ENOENT ...)."""
        with self.lock:
            data = self._check_key("lookup", key)
            flags = self._check_flag_bits("lookup", flags)
            self._check_read("lookup")
            self._check_spin("lookup", flags)
            return self._lookup(data)

    def update_elem(self, key: bytes | None, value: bytes, flags: int = ANY) -> None:
        """``BPF_MAP_UPDATE_ELEM`` with ``BPF_ANY``/``BPF_NOEXIST``/``BPF_EXIST``."""
        with self.lock:
            data = self._check_key("update", key)
            val = self._check_value("update", value)
            flags = self._check_flag_bits("update", flags, U64_MAX)
            self._check_write("update")
            self._check_spin("update", flags)
            self._update(data, val, flags)

    def delete_elem(self, key: bytes | None) -> None:
        """``BPF_MAP_DELETE_ELEM``."""
        with self.lock:
            data = self._check_key("delete", key)
            self._check_write("delete")
            self._delete(data)

    def get_next_key(self, key: bytes | None = None) -> bytes:
        """``BPF_MAP_GET_NEXT_KEY``; EPERM on a write-only map."""
        with self.lock:
            data = None if key is None else self._check_key("get_next_key", key)
            self._check_read("get_next_key")
            return self._next_key(data)

    def lookup_and_delete_elem(self, key: bytes | None = None, flags: int = 0) -> bytes:
        """``BPF_MAP_LOOKUP_AND_DELETE_ELEM``: needs read and write permission."""
        op = "lookup_and_delete"
        with self.lock:
            data = None if key is None else self._check_key(op, key)
            flags = self._check_flag_bits(op, flags)
            self._check_read(op)
            self._check_write(op)
            self._check_spin(op, flags)
            return self._lookup_and_delete(data)

    def _lookup_and_delete(self, key: bytes | None) -> bytes:
        raise self._error("lookup_and_delete", ENOTSUPP, "not supported by this map type")

    def freeze(self) -> None:
        """``BPF_MAP_FREEZE``; a second freeze gives EPERM, as from the kernel."""
        with self.lock:
            self._check_write("freeze")
            self.frozen = True

    # -- batches --------------------------------------------------------------------
    def _batch_perms(self, op: str, *, read: bool, write: bool) -> None:
        if read:
            self._check_read(op)
        if write:
            self._check_write(op)

    def lookup_batch(
        self, start: bytes | None, count: int, *, delete: bool = False
    ) -> tuple[list[tuple[bytes, bytes]], bytes | None]:
        """``BPF_MAP_LOOKUP_BATCH`` (see ``Map.lookup_batch``); EPERM without permission."""
        op = "lookup_and_delete_batch" if delete else "lookup_batch"
        with self.lock:
            self._batch_perms(op, read=True, write=delete)
            return super().lookup_batch(start, count, delete=delete)

    def update_batch(self, items: Iterable[tuple[bytes, bytes]], flags: int = ANY) -> int:
        """``BPF_MAP_UPDATE_BATCH``: only ``BPF_F_LOCK`` is a valid flag there."""
        with self.lock:
            self._batch_perms("update_batch", read=False, write=True)
            self._check_spin("update_batch", self._check_flag_bits("update_batch", flags))
            return super().update_batch(items, flags)

    def delete_batch(self, keys: Iterable[bytes]) -> int:
        """``BPF_MAP_DELETE_BATCH``: EPERM on a frozen map, even for no keys."""
        with self.lock:
            self._batch_perms("delete_batch", read=False, write=True)
            return super().delete_batch(keys)

    def _no_batch(self, op: str, *, read: bool = False, write: bool = False) -> MapError:
        """The error of a batch command this map type lacks (after the permissions)."""
        self._batch_perms(op, read=read, write=write)
        return self._error(op, ENOTSUPP, "no such batch operation on this map type")


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

    def _validate(self) -> None:
        self._check_common()
        self._check_flag_mask(HTAB_CREATE_FLAG_MASK)
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
