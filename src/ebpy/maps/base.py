"""The base of every userspace map, and the registry of map types.

A ``Map`` has two faces, as a kernel map has:

* the syscall face (``lookup_elem``, ``update_elem``, ``delete_elem``, ``get_next_key``,
  ``lookup_and_delete_elem``, the batch operations, ``freeze``), named after the
  ``BPF_MAP_*`` commands, which raises
  ``MapError`` with the errno ``bpf(2)`` would give, and on which the
  ``MutableMapping`` face over bytes is built (``m[key] = value``); values of
  per-CPU maps there are ``ncpus`` values, each padded to 8 bytes, as the kernel
  copies them;
* the program face (``prog_lookup`` ... ``prog_peek``), which the helpers call:
  it returns what the helper returns (an offset into the map's buffer or
  ``None``; ``0`` or ``-errno``) and sees one CPU's value of a per-CPU map.

Data lives in one flat ``bytearray``, ``buf``, which the VM maps at the map's own
address-space slot (``slot``), so a value pointer handed to a program is
``slot << 32 | offset`` and programs read and write values in place. Each map
type documents its layout. Every public operation holds the map's lock, so a map
is safe to share between Python threads (the kernel's are shared between CPUs).

This module holds no map type (each has its own module) and knows nothing of
the VM or the helpers.
"""

from __future__ import annotations

import errno
import itertools
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import ClassVar, TypeVar

from ebpy.errors import MapError
from ebpy.memory import MAP_SLOT_BASE
from ebpy.spec import MapSpec
from ebpy.uapi import MapCreateFlags, MapType, MapUpdateFlags

# Flags as plain ints: ``~`` of an IntFlag keeps only its defined bits.
ANY = int(MapUpdateFlags.ANY)
NOEXIST = int(MapUpdateFlags.NOEXIST)
EXIST = int(MapUpdateFlags.EXIST)
F_LOCK = int(MapUpdateFlags.F_LOCK)
RDONLY = int(MapCreateFlags.RDONLY)
WRONLY = int(MapCreateFlags.WRONLY)
RDONLY_PROG = int(MapCreateFlags.RDONLY_PROG)
WRONLY_PROG = int(MapCreateFlags.WRONLY_PROG)
ACCESS_MASK = RDONLY | WRONLY | RDONLY_PROG | WRONLY_PROG
"""``BPF_F_ACCESS_MASK``: the read/write permission flags."""

ENOTSUPP = 524
"""The kernel-internal errno bpf(2) returns for an operation a map type lacks."""

U32_MAX = (1 << 32) - 1
U64_MAX = (1 << 64) - 1

ALL_BATCHES = frozenset({"lookup", "lookup_and_delete", "update", "delete"})
"""The batch commands of the kernel's generic batch code (``BATCH_OPS(htab)``)."""

_ids = itertools.count(1)
_slots = itertools.count(MAP_SLOT_BASE)
_id_lock = threading.Lock()


def round8(n: int) -> int:
    """``n`` rounded up to a multiple of 8 (per-CPU value stride, array element size)."""
    return (n + 7) & ~7


def as_bytes(data: object) -> bytes | None:
    """``data`` as bytes when it is bytes-like (bytes, bytearray, memoryview), else None."""
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    return None


class Map(MutableMapping[bytes, bytes]):
    """A userspace map with kernel semantics. Subclasses set ``map_type``.

    Subclasses implement the ``_``-prefixed hooks; the public methods take the
    lock, make the checks of ``bpf(2)`` common to all maps, and call them. Keys
    and values that are not bytes-like, or of the wrong size, give ``EINVAL``
    first (as ``KernelMap`` checks them before calling the kernel); then come the
    kernel's checks in its order: flags, permissions (``EPERM`` for reads of a
    write-only map, writes to a read-only or frozen map, a second freeze),
    ``BPF_F_LOCK`` (``EINVAL`` without a spin lock), the operation.
    """

    map_type: ClassVar[MapType]
    #: The kernel lets programs write values in place (not stack_trace, not ringbuf ...).
    value_writable: ClassVar[bool] = True
    #: The ``map_flags`` this type accepts (its ``map_alloc_check``'s mask).
    create_flags: ClassVar[int] = ACCESS_MASK
    #: The type takes ``map_extra`` (only the bloom filter does).
    extra_ok: ClassVar[bool] = False
    #: The batch commands this type has; the others are ``ENOTSUPP``.
    batch_ops: ClassVar[frozenset[str]] = ALL_BATCHES
    #: Values are per CPU: ``ncpus`` padded values on the syscall side.
    percpu: ClassVar[bool] = False

    spin_lock_offset: int | None = None
    """Offset of a ``struct bpf_spin_lock`` in the value, which ``BPF_F_LOCK`` needs
    (BTF would tell; until then whoever knows sets it)."""

    def __init__(self, spec: MapSpec, *, ncpus: int = 1) -> None:
        if ncpus < 1:
            raise MapError("create", errno.EINVAL, spec.name, "ncpus must be at least 1")
        self.spec = spec
        self.ncpus = ncpus
        self.name = spec.name
        self.key_size = spec.key_size
        self.value_size = spec.value_size
        self.max_entries = spec.max_entries
        self.flags = spec.flags
        self.frozen = False
        self.lock = threading.RLock()
        with _id_lock:
            self.id = next(_ids)
            self.slot = next(_slots)
        self.buf = bytearray()
        """The flat data buffer programs reach at ``slot << 32``."""
        self._validate()
        _live_maps[self.id] = self

    # -- creation -----------------------------------------------------------------
    def _validate(self) -> None:
        """Check the spec as ``BPF_MAP_CREATE`` does; raise ``MapError('create', ...)``.

        Here: ``_check_create`` and sizes > 0. Types with other size rules override
        it and call ``_check_create`` themselves.
        """
        self._check_create()
        if not (self.key_size and self.value_size and self.max_entries):
            self._fail("create", errno.EINVAL, "key, value and max_entries must be > 0")

    def _check_create(self) -> None:
        """What ``BPF_MAP_CREATE`` checks of every type, ``create_flags`` included."""
        self._check_common(extra_ok=self.extra_ok)
        self._check_flag_mask(self.create_flags)

    def _check_common(self, *, extra_ok: bool = False) -> None:
        """u32 fields, ``map_extra`` (EINVAL unless ``extra_ok``), not RDONLY with WRONLY."""
        for field in ("key_size", "value_size", "max_entries", "flags"):
            value = getattr(self, field)
            if not isinstance(value, int) or not 0 <= value <= U32_MAX:
                self._fail("create", errno.EINVAL, f"{field} {value!r} is not a u32")
        extra = self.spec.extra
        if not isinstance(extra, int) or not 0 <= extra <= U64_MAX:
            self._fail("create", errno.EINVAL, "map_extra is not a u64")
        if extra and not extra_ok:
            self._fail("create", errno.EINVAL, "map_extra is for bloom filters only")
        self.flags = flags = int(self.flags)
        if flags & RDONLY and flags & WRONLY:
            self._fail("create", errno.EINVAL, "BPF_F_RDONLY with BPF_F_WRONLY")

    def _check_flag_mask(self, mask: int) -> None:
        """``map_flags`` outside ``mask``, or programs both read- and write-only: EINVAL."""
        flags = self.flags
        both = RDONLY_PROG | WRONLY_PROG
        if flags & ~int(mask) or flags & both == both:
            self._fail("create", errno.EINVAL, f"bad map_flags {flags:#x}")

    @property
    def prog_writable(self) -> bool:
        """Programs may write values in place (not with ``BPF_F_RDONLY_PROG``)."""
        return not self.flags & RDONLY_PROG

    # -- hooks a map type implements -------------------------------------------
    def _lookup(self, key: bytes) -> bytes:
        raise self._error("lookup", errno.EINVAL)

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        raise self._error("update", errno.EINVAL)

    def _delete(self, key: bytes) -> None:
        raise self._error("delete", errno.EINVAL)

    def _next_key(self, key: bytes | None) -> bytes:
        raise self._error("get_next_key", errno.EINVAL)

    def _lookup_and_delete(self, key: bytes | None) -> bytes:
        raise self._error("lookup_and_delete", ENOTSUPP, "not supported by this map type")

    def _count(self) -> int:
        n = 0
        key: bytes | None = None
        while True:
            try:
                key = self._next_key(key)
            except MapError:
                return n
            n += 1

    # -- errors and checks ----------------------------------------------------------
    def _error(self, op: str, err: int, reason: str = "") -> MapError:
        return MapError(op, err, self.name, reason)

    def _fail(self, op: str, err: int, reason: str = "") -> None:
        raise self._error(op, err, reason)

    @property
    def syscall_value_size(self) -> int:
        """Bytes of a value on the syscall side (all CPUs' values for per-CPU maps)."""
        if self.percpu:
            return round8(self.value_size) * self.ncpus
        return self.value_size

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
        if self.flags & WRONLY:
            self._fail(op, errno.EPERM, "map is write-only")

    def _check_write(self, op: str) -> None:
        if self.frozen or self.flags & RDONLY:
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

    # -- the syscall face -----------------------------------------------------
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
        """``BPF_MAP_GET_NEXT_KEY``: the key after ``key``; the first key when ``key``
        is ``None`` or missing; ``MapError`` ENOENT after the last, EPERM on a
        write-only map."""
        with self.lock:
            data = None if key is None else self._check_key("get_next_key", key)
            self._check_read("get_next_key")
            return self._next_key(data)

    def lookup_and_delete_elem(self, key: bytes | None = None, flags: int = 0) -> bytes:
        """``BPF_MAP_LOOKUP_AND_DELETE_ELEM`` (queue/stack pop when ``key`` is None):
        needs read and write permission; ENOTSUPP where the type lacks it."""
        op = "lookup_and_delete"
        with self.lock:
            data = None if key is None else self._check_key(op, key)
            flags = self._check_flag_bits(op, flags)
            self._check_read(op)
            self._check_write(op)
            self._check_spin(op, flags)
            return self._lookup_and_delete(data)

    def freeze(self) -> None:
        """``BPF_MAP_FREEZE``: the syscall side may no longer write; programs still may.
        A second freeze gives EPERM (a frozen map has lost write access)."""
        with self.lock:
            self._check_write("freeze")
            self.frozen = True

    # -- batches (BPF_MAP_*_BATCH) ----------------------------------------------
    def _batch_perms(self, op: str, *, read: bool, write: bool) -> None:
        if read:
            self._check_read(op)
        if write:
            self._check_write(op)

    def _no_batch(self, op: str, *, read: bool = False, write: bool = False) -> MapError:
        """The error of a batch command this map type lacks (after the permissions)."""
        self._batch_perms(op, read=read, write=write)
        return self._error(op, ENOTSUPP, "no such batch operation on this map type")

    def lookup_batch(
        self, start: bytes | None, count: int, *, delete: bool = False
    ) -> tuple[list[tuple[bytes, bytes]], bytes | None]:
        """Up to ``count`` (key, value) pairs from ``start`` (an opaque position, None
        at the beginning); returns the pairs and the next position (None at the end).

        ENOENT comes as an empty list with ``None``; with ``delete`` the pairs are
        removed (``BPF_MAP_LOOKUP_AND_DELETE_BATCH``). EPERM without permission.
        """
        op = "lookup_and_delete_batch" if delete else "lookup_batch"
        with self.lock:
            if ("lookup_and_delete" if delete else "lookup") not in self.batch_ops:
                raise self._no_batch(op, read=True, write=delete)
            self._batch_perms(op, read=True, write=delete)
            if count <= 0:
                raise self._error(op, errno.EINVAL, "count must be > 0")
            out: list[tuple[bytes, bytes]] = []
            key = start
            if key is None:
                key = self._first_key()
            while key is not None and len(out) < count:
                try:
                    nxt: bytes | None = self._next_key(key)
                except MapError:
                    nxt = None
                out.append((key, self._lookup(key)))
                key = nxt
            if delete:
                for k, _ in out:
                    self._delete(k)
            return out, key

    def _first_key(self) -> bytes | None:
        try:
            return self._next_key(None)
        except MapError:
            return None

    def update_batch(self, items: Iterable[tuple[bytes, bytes]], flags: int = ANY) -> int:
        """``BPF_MAP_UPDATE_BATCH``: update each pair in turn; stops at the first error
        (raised) like the kernel. Only ``BPF_F_LOCK`` is a valid flag there.

        Returns how many were done.
        """
        done = 0
        with self.lock:
            if "update" not in self.batch_ops:
                raise self._no_batch("update_batch", write=True)
            self._batch_perms("update_batch", read=False, write=True)
            self._check_spin("update_batch", self._check_flag_bits("update_batch", flags))
            for key, value in items:
                self.update_elem(key, value, flags)
                done += 1
        return done

    def delete_batch(self, keys: Iterable[bytes]) -> int:
        """``BPF_MAP_DELETE_BATCH``: delete each key in turn; stops at the first error
        (raised); EPERM on a frozen map, even for no keys."""
        done = 0
        with self.lock:
            if "delete" not in self.batch_ops:
                raise self._no_batch("delete_batch", write=True)
            self._batch_perms("delete_batch", read=False, write=True)
            for key in keys:
                self.delete_elem(key)
                done += 1
        return done

    # -- the program face (helpers call these; ``cpu`` is the running CPU) -----
    def prog_lookup(self, key: bytes, cpu: int = 0) -> int | None:
        """``bpf_map_lookup_elem``: the offset of the value in ``buf``, or None."""
        return None

    def prog_update(self, key: bytes, value: bytes, flags: int, cpu: int = 0) -> int:
        """``bpf_map_update_elem``: 0 or ``-errno``. ``value`` is one CPU's value."""
        try:
            with self.lock:
                if not isinstance(flags, int) or flags < 0 or flags & ~F_LOCK > EXIST:
                    self._fail("update", errno.EINVAL, f"bad flags {flags!r}")
                self._update(key, value, flags)
        except MapError as exc:
            return -exc.errno
        return 0

    def prog_delete(self, key: bytes) -> int:
        """``bpf_map_delete_elem``: 0 or ``-errno``."""
        try:
            with self.lock:
                self._delete(key)
        except MapError as exc:
            return -exc.errno
        return 0

    def prog_push(self, value: bytes, flags: int) -> int:
        """``bpf_map_push_elem``: 0 or ``-errno`` (queue, stack, bloom filter)."""
        return -errno.EINVAL

    def prog_pop(self, cpu: int = 0) -> bytes | int:
        """``bpf_map_pop_elem``: the value, or ``-errno``."""
        return -errno.EINVAL

    def prog_peek(self, value: bytes, cpu: int = 0) -> bytes | int:
        """``bpf_map_peek_elem``: the head value, or ``-errno``. A bloom filter tests
        ``value`` (what the program passed) and gives 0 or ``-ENOENT``."""
        return -errno.EINVAL

    def prog_keys(self, cpu: int = 0) -> list[bytes]:
        """The keys ``bpf_for_each_map_elem`` visits, in order."""
        with self.lock:
            keys = []
            key = self._first_key()
            while key is not None:
                keys.append(key)
                try:
                    key = self._next_key(key)
                except MapError:
                    key = None
            return keys

    # -- MutableMapping over bytes ----------------------------------------------
    def __getitem__(self, key: bytes) -> bytes:
        try:
            return self.lookup_elem(key)
        except MapError as exc:
            if exc.errno == errno.ENOENT:
                raise KeyError(key) from None
            raise

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.update_elem(key, value, ANY)

    def __delitem__(self, key: bytes) -> None:
        try:
            self.delete_elem(key)
        except MapError as exc:
            if exc.errno == errno.ENOENT:
                raise KeyError(key) from None
            raise

    def __iter__(self) -> Iterator[bytes]:
        key: bytes | None = None
        while True:
            try:
                key = self.get_next_key(key)
            except MapError:
                return
            yield key

    def __len__(self) -> int:
        with self.lock:
            return self._count()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self.id} {self.spec.describe()}>"

    # so that two maps with equal contents are still two maps
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other


_live_maps: weakref.WeakValueDictionary[int, Map] = weakref.WeakValueDictionary()


def map_by_id(map_id: int) -> Map | None:
    """The live map whose ``id`` is ``map_id`` (a map "fd" for map-in-map values), or None."""
    return _live_maps.get(map_id)


M = TypeVar("M", bound=type[Map])

MAP_TYPES: dict[MapType, type[Map]] = {}
"""Map classes by type; each map module registers itself with ``register``."""


def register(cls: M) -> M:
    """Class decorator: make ``cls`` the implementation of ``cls.map_type``."""
    if cls.map_type in MAP_TYPES:
        raise ValueError(f"map type {cls.map_type.name} registered twice")
    MAP_TYPES[cls.map_type] = cls
    return cls


MapFactory = Callable[[MapSpec], Map]
