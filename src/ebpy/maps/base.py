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

ANY = MapUpdateFlags.ANY
NOEXIST = MapUpdateFlags.NOEXIST
EXIST = MapUpdateFlags.EXIST
F_LOCK = MapUpdateFlags.F_LOCK

_ids = itertools.count(1)
_slots = itertools.count(MAP_SLOT_BASE)
_id_lock = threading.Lock()


def round8(n: int) -> int:
    """``n`` rounded up to a multiple of 8 (per-CPU value stride, array element size)."""
    return (n + 7) & ~7


class Map(MutableMapping[bytes, bytes]):
    """A userspace map with kernel semantics. Subclasses set ``map_type``.

    Subclasses implement the ``_``-prefixed hooks; the public methods take the
    lock, check sizes and flags common to all maps, and call them.
    """

    map_type: ClassVar[MapType]
    #: The kernel lets programs write values in place (not stack_trace, not ringbuf ...).
    value_writable: ClassVar[bool] = True

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

    # -- hooks a map type implements -------------------------------------------
    def _validate(self) -> None:
        """Check the spec as ``BPF_MAP_CREATE`` does; raise ``MapError('create', ...)``."""
        if self.key_size <= 0 or self.value_size <= 0 or self.max_entries <= 0:
            self._fail("create", errno.EINVAL, "key, value and max_entries must be > 0")

    def _lookup(self, key: bytes) -> bytes:
        raise self._error("lookup", errno.EINVAL)

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        raise self._error("update", errno.EINVAL)

    def _delete(self, key: bytes) -> None:
        raise self._error("delete", errno.EINVAL)

    def _next_key(self, key: bytes | None) -> bytes:
        raise self._error("get_next_key", errno.EINVAL)

    def _lookup_and_delete(self, key: bytes | None) -> bytes:
        raise self._error("lookup_and_delete", errno.EINVAL)

    def _count(self) -> int:
        n = 0
        key: bytes | None = None
        while True:
            try:
                key = self._next_key(key)
            except MapError:
                return n
            n += 1

    # -- errors -------------------------------------------------------------
    def _error(self, op: str, err: int, reason: str = "") -> MapError:
        return MapError(op, err, self.name, reason)

    def _fail(self, op: str, err: int, reason: str = "") -> None:
        raise self._error(op, err, reason)

    def _check_key(self, op: str, key: bytes) -> bytes:
        key = bytes(key)
        if len(key) != self.key_size:
            self._fail(op, errno.EINVAL, f"key of {len(key)} bytes, map wants {self.key_size}")
        return key

    @property
    def syscall_value_size(self) -> int:
        """Bytes of a value on the syscall side (all CPUs' values for per-CPU maps)."""
        return self.value_size

    def _check_value(self, op: str, value: bytes) -> bytes:
        value = bytes(value)
        want = self.syscall_value_size
        if len(value) != want:
            self._fail(op, errno.EINVAL, f"value of {len(value)} bytes, map wants {want}")
        return value

    def _check_flags(self, op: str, flags: int, allowed: int = NOEXIST | EXIST) -> None:
        if flags & ~allowed or (flags & NOEXIST and flags & EXIST):
            self._fail(op, errno.EINVAL, f"bad flags {flags:#x}")

    # -- the syscall face -----------------------------------------------------
    def lookup_elem(self, key: bytes, flags: int = 0) -> bytes:
        """``BPF_MAP_LOOKUP_ELEM``: the value, or ``MapError`` (ENOENT ...)."""
        with self.lock:
            if self.flags & MapCreateFlags.WRONLY:
                self._fail("lookup", errno.EPERM, "map is write-only")
            return self._lookup(self._check_key("lookup", key))

    def update_elem(self, key: bytes, value: bytes, flags: int = ANY) -> None:
        """``BPF_MAP_UPDATE_ELEM`` with ``BPF_ANY``/``BPF_NOEXIST``/``BPF_EXIST``."""
        with self.lock:
            if self.frozen or self.flags & MapCreateFlags.RDONLY:
                self._fail("update", errno.EPERM, "map is frozen or read-only")
            self._update(self._check_key("update", key), self._check_value("update", value), flags)

    def delete_elem(self, key: bytes) -> None:
        """``BPF_MAP_DELETE_ELEM``."""
        with self.lock:
            if self.frozen or self.flags & MapCreateFlags.RDONLY:
                self._fail("delete", errno.EPERM, "map is frozen or read-only")
            self._delete(self._check_key("delete", key))

    def get_next_key(self, key: bytes | None = None) -> bytes:
        """``BPF_MAP_GET_NEXT_KEY``: the key after ``key``; the first key when ``key``
        is ``None`` or missing; ``MapError`` ENOENT after the last."""
        with self.lock:
            if key is not None:
                key = self._check_key("get_next_key", key)
            return self._next_key(key)

    def lookup_and_delete_elem(self, key: bytes | None = None, flags: int = 0) -> bytes:
        """``BPF_MAP_LOOKUP_AND_DELETE_ELEM`` (queue/stack pop when ``key`` is None)."""
        with self.lock:
            if self.frozen or self.flags & MapCreateFlags.RDONLY:
                self._fail("lookup_and_delete", errno.EPERM, "map is frozen or read-only")
            if key is not None:
                key = self._check_key("lookup_and_delete", key)
            return self._lookup_and_delete(key)

    def freeze(self) -> None:
        """``BPF_MAP_FREEZE``: the syscall side may no longer write; programs still may."""
        with self.lock:
            if self.frozen:
                self._fail("freeze", errno.EBUSY, "already frozen")
            self.frozen = True

    # -- batches (BPF_MAP_*_BATCH) ----------------------------------------------
    def lookup_batch(
        self, start: bytes | None, count: int, *, delete: bool = False
    ) -> tuple[list[tuple[bytes, bytes]], bytes | None]:
        """Up to ``count`` (key, value) pairs from ``start`` (an opaque position, None
        at the beginning); returns the pairs and the next position (None at the end).

        ENOENT comes as an empty list with ``None``; with ``delete`` the pairs are
        removed (``BPF_MAP_LOOKUP_AND_DELETE_BATCH``).
        """
        if count <= 0:
            raise self._error("lookup_batch", errno.EINVAL, "count must be > 0")
        with self.lock:
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
        """Update each pair in turn; stops at the first error (raised) like the kernel.

        Returns how many were done.
        """
        done = 0
        with self.lock:
            for key, value in items:
                self.update_elem(key, value, flags)
                done += 1
        return done

    def delete_batch(self, keys: Iterable[bytes]) -> int:
        """Delete each key in turn; stops at the first error (raised)."""
        done = 0
        with self.lock:
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
                self._check_flags("update", flags, NOEXIST | EXIST | F_LOCK)
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
