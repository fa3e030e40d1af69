"""Maps living in the running kernel, driven through the raw bpf(2) map commands.

``KernelMap`` mirrors the syscall face of the userspace maps (``ebpy.maps.Map``):
the same method names (after the ``BPF_MAP_*`` commands), the same bytes in and
out, the same ``MapError(op, errno, map)`` when an operation fails, so that tests
can run one sequence of operations against both and compare. Example (as root)::

    with KernelMap.create(MapSpec(MapType.HASH, 4, 8, 16, name="counts")) as m:
        m.update_elem(bytes(4), bytes(8))
        m.lookup_elem(bytes(4))         # b'\\x00' * 8
        m.get_next_key(None)            # the first key
        m.info().id                     # the kernel's map id

Conventions, as the kernel has them:

* per-CPU maps (``PERCPU_HASH``, ``PERCPU_ARRAY``, ``LRU_PERCPU_HASH``) take and give
  ``possible_cpus()`` values, each padded to 8 bytes;
* maps without keys (queue, stack, bloom filter, ringbuf) get a NULL key pointer;
  their key is ``None`` (or ``b""``) here. A bloom filter's lookup tests a value:
  pass it as ``value=``;
* fd-holding maps (``PROG_ARRAY``, ``ARRAY_OF_MAPS``, ``HASH_OF_MAPS``,
  ``PERF_EVENT_ARRAY`` ...) take an fd as the value: an ``int``, or any object with
  an ``fd`` attribute (``KernelProgram``, ``KernelMap``); lookups give back the id
  of the object stored (a u32), as the kernel does.

``EPERM``/``ENOSYS`` from ``BPF_MAP_CREATE`` (no privilege, no bpf(2)) raise
``NotSupportedError``; a spec the kernel refuses raises ``MapError('create', ...)``.
``info()`` raises ``KernelError``. A key or value of the wrong length is refused
here with ``EINVAL`` before the kernel reads past a buffer.

This module is not the userspace maps and does not load programs; struct
layouts live in ``_syscall``.
"""

from __future__ import annotations

import ctypes
import errno as _errno
import sys
from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Protocol

from ebpy.errors import KernelError, MapError
from ebpy.kernel._syscall import (
    OBJ_NAME_LEN,
    BpfMapInfo,
    FdOwner,
    MapBatchAttr,
    MapCreateAttr,
    MapElemAttr,
    ObjInfoAttr,
    addressof,
    bpf_errno,
    cmd_name,
    error_for,
)
from ebpy.kernel.features import possible_cpus
from ebpy.spec import MapSpec
from ebpy.uapi import BpfCmd, MapType

__all__ = ["PERCPU_MAP_TYPES", "KernelMap", "MapInfo"]

#: Map types whose syscall-side values hold one value per possible CPU.
PERCPU_MAP_TYPES = frozenset(
    {
        MapType.PERCPU_HASH,
        MapType.PERCPU_ARRAY,
        MapType.LRU_PERCPU_HASH,
        MapType.PERCPU_CGROUP_STORAGE,
    }
)

#: Map-in-map types: ``BPF_MAP_CREATE`` wants an inner map fd as a template.
MAP_IN_MAP_TYPES = frozenset({MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS})

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")

_U32_MAX = 0xFFFFFFFF


class HasFd(Protocol):
    """Anything that owns a bpf fd (``KernelProgram``, ``KernelMap``)."""

    @property
    def fd(self) -> int: ...


Value = bytes | bytearray | memoryview | int | HasFd


@dataclass(frozen=True, slots=True)
class MapInfo:
    """What ``BPF_OBJ_GET_INFO_BY_FD`` tells of a map (``struct bpf_map_info``).

    ``type`` is a ``MapType`` when ebpy knows the number, else the plain int.
    """

    type: MapType | int
    id: int
    key_size: int
    value_size: int
    max_entries: int
    flags: int
    name: str
    ifindex: int
    btf_id: int
    btf_key_type_id: int
    btf_value_type_id: int
    map_extra: int


def kernel_name(name: str) -> bytes:
    """``name`` as ``BPF_MAP_CREATE`` accepts it: [A-Za-z0-9_.] only, at most 15 bytes."""
    safe = "".join(c if c in _NAME_CHARS else "_" for c in name)
    return safe.encode("ascii")[: OBJ_NAME_LEN - 1]


def _buffer(data: bytes) -> ctypes.Array[ctypes.c_char] | None:
    """A C copy of ``data`` (None for no bytes, so the kernel gets a NULL pointer)."""
    return ctypes.create_string_buffer(data, len(data)) if data else None


def _room(size: int) -> ctypes.Array[ctypes.c_char] | None:
    return ctypes.create_string_buffer(size) if size else None


def _raw(buf: ctypes.Array[ctypes.c_char] | None, size: int) -> bytes:
    return b"" if buf is None else buf.raw[:size]


class KernelMap(FdOwner, MutableMapping[bytes, bytes]):
    """One kernel map, owning its fd; the syscall face of ``ebpy.maps.Map``."""

    def __init__(self, fd: int, spec: MapSpec, *, ncpus: int | None = None) -> None:
        """Wrap an existing map fd described by ``spec``; the object owns (closes) it."""
        super().__init__(fd)
        self.spec = spec
        self.name = spec.name
        self.map_type = spec.type
        self.key_size = spec.key_size
        self.value_size = spec.value_size
        self.max_entries = spec.max_entries
        self.flags = spec.flags
        self.ncpus = possible_cpus() if ncpus is None else ncpus

    # -- creating ---------------------------------------------------------------
    @classmethod
    def create(
        cls, spec: MapSpec, inner_fd: int | None = None, *, btf_fd: int | None = None
    ) -> KernelMap:
        """``BPF_MAP_CREATE`` for ``spec``.

        A map-in-map needs an inner map as template: ``inner_fd``, or else one made
        (and closed again) from ``spec.inner``. With ``btf_fd`` (a loaded BTF), the
        map names its key and value types (``spec.btf_key_type_id`` ...) in it.
        """
        if spec.type in MAP_IN_MAP_TYPES and inner_fd is None and spec.inner is not None:
            with cls.create(spec.inner) as inner:
                return cls.create(spec, inner.fd, btf_fd=btf_fd)
        attr = MapCreateAttr()
        if btf_fd is not None:
            attr.btf_fd = btf_fd
            attr.btf_key_type_id = spec.btf_key_type_id
            attr.btf_value_type_id = spec.btf_value_type_id
        try:
            attr.map_type = spec.type_value
            attr.key_size = spec.key_size
            attr.value_size = spec.value_size
            attr.max_entries = spec.max_entries
            attr.map_flags = spec.flags
            attr.inner_map_fd = inner_fd or 0
            attr.map_extra = spec.extra
        except (TypeError, OverflowError):
            raise MapError("create", _errno.EINVAL, spec.name, "field out of range") from None
        for field in ("key_size", "value_size", "max_entries", "map_flags", "map_extra"):
            if getattr(attr, field) != getattr(spec, _SPEC_FIELD.get(field, field)):
                raise MapError("create", _errno.EINVAL, spec.name, f"{field} out of range")
        attr.map_name = kernel_name(spec.name)
        ret = bpf_errno(BpfCmd.MAP_CREATE, attr)
        if ret < 0:
            if -ret in (_errno.EPERM, _errno.ENOSYS):
                raise error_for(BpfCmd.MAP_CREATE, -ret)
            raise MapError("create", -ret, spec.name)
        return cls(ret, spec)

    @classmethod
    def from_fd(cls, fd: int) -> KernelMap:
        """Wrap an existing map fd, reading its spec with ``BPF_OBJ_GET_INFO_BY_FD``."""
        info = _map_info(fd)
        kind = info.type if isinstance(info.type, MapType) else MapType.UNSPEC
        spec = MapSpec(
            kind,
            info.key_size,
            info.value_size,
            info.max_entries,
            info.flags,
            info.name,
            extra=info.map_extra,
        )
        return cls(fd, spec)

    KIND = "map"

    def _describe(self) -> str:
        return self.spec.describe()

    # so that two maps with equal contents are still two maps
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other

    # -- sizes and checks -------------------------------------------------------
    @property
    def syscall_value_size(self) -> int:
        """Bytes of a value on the syscall side (all CPUs' values for per-CPU maps)."""
        if self.map_type in PERCPU_MAP_TYPES:
            return ((self.value_size + 7) & ~7) * self.ncpus
        return self.value_size

    def _map_fd(self, op: str) -> int:
        if self.closed:
            raise MapError(op, _errno.EBADF, self.name, "the map was closed")
        return self._fd

    def _key(self, op: str, key: bytes | bytearray | memoryview | None) -> bytes:
        data = b"" if key is None else self._bytes(op, key, "key")
        if len(data) != self.key_size:
            raise MapError(
                op, _errno.EINVAL, self.name, f"key of {len(data)} bytes, map wants {self.key_size}"
            )
        return data

    def _bytes(self, op: str, data: object, what: str) -> bytes:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise MapError(op, _errno.EINVAL, self.name, f"a {what} must be bytes")
        return bytes(data)

    def _value(self, op: str, value: Value) -> bytes:
        if isinstance(value, int):
            data = _fd_bytes(op, value, self.name)
        elif isinstance(value, bytes | bytearray | memoryview):
            data = bytes(value)
        else:
            fd = getattr(value, "fd", None)
            if not isinstance(fd, int):
                raise MapError(op, _errno.EINVAL, self.name, "a value must be bytes or an fd")
            data = _fd_bytes(op, fd, self.name)
        want = self.syscall_value_size
        if len(data) != want:
            raise MapError(
                op, _errno.EINVAL, self.name, f"value of {len(data)} bytes, map wants {want}"
            )
        return data

    def _set_flags(self, op: str, attr: ctypes.Structure, field: str, flags: int) -> None:
        """Store ``flags`` in ``attr.<field>`` (a u64); ``MapError(EINVAL)`` if it does not fit."""
        try:
            setattr(attr, field, flags)
        except TypeError:
            raise MapError(op, _errno.EINVAL, self.name, "flags must be an int") from None
        if getattr(attr, field) != flags:
            raise MapError(op, _errno.EINVAL, self.name, f"bad flags {flags:#x}")

    def _elem(
        self,
        op: str,
        cmd: BpfCmd,
        key: bytes,
        value: ctypes.Array[ctypes.c_char] | None,
        flags: int = 0,
    ) -> int:
        """One ``BPF_MAP_*_ELEM``-shaped command; ``MapError`` on failure."""
        attr = MapElemAttr()
        attr.map_fd = self._map_fd(op)
        kbuf = _buffer(key)
        attr.key = addressof(kbuf)
        attr.value = addressof(value)
        self._set_flags(op, attr, "flags", flags)
        ret = bpf_errno(cmd, attr)  # kbuf and value stay alive until here
        if ret < 0:
            raise MapError(op, -ret, self.name)
        return ret

    # -- the syscall face ---------------------------------------------------------
    def lookup_elem(
        self, key: bytes | None, flags: int = 0, *, value: bytes | None = None
    ) -> bytes:
        """``BPF_MAP_LOOKUP_ELEM``: the value, or ``MapError`` (ENOENT ...).

        For a bloom filter, ``value`` is the value to test (the kernel reads it
        from the value buffer); a hit returns it, a miss raises ENOENT.
        """
        k = self._key("lookup", key)
        size = self.syscall_value_size
        vbuf = _room(size) if value is None else _buffer(self._value("lookup", value))
        self._elem("lookup", BpfCmd.MAP_LOOKUP_ELEM, k, vbuf, flags)
        return _raw(vbuf, size)

    def update_elem(self, key: bytes | None, value: Value, flags: int = 0) -> None:
        """``BPF_MAP_UPDATE_ELEM`` with ``BPF_ANY``/``BPF_NOEXIST``/``BPF_EXIST``
        (queue/stack/bloom: a push, with ``key`` None)."""
        k = self._key("update", key)
        vbuf = _buffer(self._value("update", value))
        self._elem("update", BpfCmd.MAP_UPDATE_ELEM, k, vbuf, flags)

    def delete_elem(self, key: bytes | None) -> None:
        """``BPF_MAP_DELETE_ELEM``."""
        self._elem("delete", BpfCmd.MAP_DELETE_ELEM, self._key("delete", key), None)

    def get_next_key(self, key: bytes | None = None) -> bytes:
        """``BPF_MAP_GET_NEXT_KEY``: the key after ``key``; the first key when ``key``
        is None (or missing, for most maps); ``MapError`` ENOENT after the last."""
        k = None if key is None else self._key("get_next_key", key)
        nbuf = _room(self.key_size)
        attr = MapElemAttr()
        attr.map_fd = self._map_fd("get_next_key")
        kbuf = None if k is None else _buffer(k)
        attr.key = addressof(kbuf)
        attr.value = addressof(nbuf)
        ret = bpf_errno(BpfCmd.MAP_GET_NEXT_KEY, attr)
        if ret < 0:
            raise MapError("get_next_key", -ret, self.name)
        return _raw(nbuf, self.key_size)

    def lookup_and_delete_elem(self, key: bytes | None = None, flags: int = 0) -> bytes:
        """``BPF_MAP_LOOKUP_AND_DELETE_ELEM`` (queue/stack pop when ``key`` is None)."""
        k = self._key("lookup_and_delete", key)
        size = self.syscall_value_size
        vbuf = _room(size)
        self._elem("lookup_and_delete", BpfCmd.MAP_LOOKUP_AND_DELETE_ELEM, k, vbuf, flags)
        return _raw(vbuf, size)

    def freeze(self) -> None:
        """``BPF_MAP_FREEZE``: the syscall side may no longer write; programs still may."""
        attr = MapElemAttr()
        attr.map_fd = self._map_fd("freeze")
        ret = bpf_errno(BpfCmd.MAP_FREEZE, attr)
        if ret < 0:
            raise MapError("freeze", -ret, self.name)

    # -- batches ----------------------------------------------------------------
    @property
    def _batch_token_size(self) -> int:
        # Hash maps keep a u32 bucket index, the others a key: room for either.
        return max(self.key_size, 8)

    def lookup_batch(
        self, start: bytes | None, count: int, *, delete: bool = False
    ) -> tuple[list[tuple[bytes, bytes]], bytes | None]:
        """``BPF_MAP_LOOKUP_BATCH`` (``LOOKUP_AND_DELETE_BATCH`` with ``delete``).

        Up to ``count`` (key, value) pairs from the opaque position ``start`` (None at
        the beginning); returns the pairs and the position to continue from, None
        once the kernel said the walk is over (ENOENT). ``count`` 0 does nothing
        (as in the kernel) and returns ``start``.
        """
        op = "lookup_and_delete_batch" if delete else "lookup_batch"
        cmd = BpfCmd.MAP_LOOKUP_AND_DELETE_BATCH if delete else BpfCmd.MAP_LOOKUP_BATCH
        if not isinstance(count, int) or not 0 <= count <= _U32_MAX:
            raise MapError(op, _errno.EINVAL, self.name, f"bad count {count!r}")
        pos = None if start is None else self._bytes(op, start, "batch position")
        tsize = max(self._batch_token_size, len(pos or b""))
        inb = None if pos is None else ctypes.create_string_buffer(pos, tsize)
        outb = ctypes.create_string_buffer(tsize)
        keys = _room(count * self.key_size)
        values = _room(count * self.syscall_value_size)
        attr = MapBatchAttr()
        attr.map_fd = self._map_fd(op)
        attr.in_batch = addressof(inb)
        attr.out_batch = addressof(outb)
        attr.keys = addressof(keys)
        attr.values = addressof(values)
        attr.count = count
        ret = bpf_errno(cmd, attr, frozenset())
        if ret < 0 and -ret != _errno.ENOENT:
            raise MapError(op, -ret, self.name)
        done = min(attr.count, count)
        ks, vs = self.key_size, self.syscall_value_size
        kraw, vraw = _raw(keys, count * ks), _raw(values, count * vs)
        pairs = [(kraw[i * ks : (i + 1) * ks], vraw[i * vs : (i + 1) * vs]) for i in range(done)]
        if ret < 0:
            return pairs, None
        if done == 0:
            return pairs, start
        return pairs, outb.raw

    def update_batch(self, items: Iterable[tuple[bytes, Value]], flags: int = 0) -> int:
        """``BPF_MAP_UPDATE_BATCH``: update each pair with ``flags``; returns how many.

        The kernel stops at the first failing element; that raises ``MapError``.
        """
        try:
            given = [(k, v) for k, v in items]
        except (TypeError, ValueError):
            raise MapError(
                "update_batch", _errno.EINVAL, self.name, "items are not pairs"
            ) from None
        pairs = [(self._key("update_batch", k), self._value("update_batch", v)) for k, v in given]
        keys = _buffer(b"".join(k for k, _ in pairs))
        values = _buffer(b"".join(v for _, v in pairs))
        return self._write_batch(
            "update_batch", BpfCmd.MAP_UPDATE_BATCH, len(pairs), keys, values, flags
        )

    def delete_batch(self, keys: Iterable[bytes]) -> int:
        """``BPF_MAP_DELETE_BATCH``: delete each key; returns how many.

        The kernel stops at the first failing key (ENOENT for a missing one); that
        raises ``MapError``.
        """
        try:
            given = list(keys)
        except TypeError:
            raise MapError(
                "delete_batch", _errno.EINVAL, self.name, "keys are not a list"
            ) from None
        ks = [self._key("delete_batch", k) for k in given]
        return self._write_batch(
            "delete_batch", BpfCmd.MAP_DELETE_BATCH, len(ks), _buffer(b"".join(ks)), None, 0
        )

    def _write_batch(
        self,
        op: str,
        cmd: BpfCmd,
        count: int,
        keys: ctypes.Array[ctypes.c_char] | None,
        values: ctypes.Array[ctypes.c_char] | None,
        flags: int,
    ) -> int:
        attr = MapBatchAttr()
        attr.map_fd = self._map_fd(op)
        attr.keys = addressof(keys)
        attr.values = addressof(values)
        attr.count = count
        self._set_flags(op, attr, "elem_flags", flags)
        ret = bpf_errno(cmd, attr, frozenset())
        if ret < 0:
            raise MapError(op, -ret, self.name)
        return int(attr.count)

    # -- information ------------------------------------------------------------
    def info(self) -> MapInfo:
        """``BPF_OBJ_GET_INFO_BY_FD``: what the kernel says this map is."""
        return _map_info(self.fd)

    @property
    def id(self) -> int:
        """The kernel's id of this map."""
        return self.info().id

    # -- MutableMapping over bytes ------------------------------------------------
    def __getitem__(self, key: bytes) -> bytes:
        try:
            return self.lookup_elem(key)
        except MapError as exc:
            if exc.errno == _errno.ENOENT:
                raise KeyError(key) from None
            raise

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.update_elem(key, value)

    def __delitem__(self, key: bytes) -> None:
        try:
            self.delete_elem(key)
        except MapError as exc:
            if exc.errno == _errno.ENOENT:
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
        return sum(1 for _ in self)


_SPEC_FIELD = {"map_flags": "flags", "map_extra": "extra"}


def _fd_bytes(op: str, fd: int, name: str) -> bytes:
    if not 0 <= fd <= _U32_MAX:
        raise MapError(op, _errno.EBADF, name, f"bad fd {fd}")
    return fd.to_bytes(4, sys.byteorder)


def _map_info(fd: int) -> MapInfo:
    info = BpfMapInfo()
    attr = ObjInfoAttr()
    attr.bpf_fd = fd
    attr.info_len = ctypes.sizeof(info)
    attr.info = ctypes.addressof(info)
    ret = bpf_errno(BpfCmd.OBJ_GET_INFO_BY_FD, attr)
    if ret < 0:
        raise KernelError(cmd_name(BpfCmd.OBJ_GET_INFO_BY_FD), -ret)
    try:
        kind: MapType | int = MapType(info.type)
    except ValueError:
        kind = int(info.type)
    return MapInfo(
        type=kind,
        id=info.id,
        key_size=info.key_size,
        value_size=info.value_size,
        max_entries=info.max_entries,
        flags=info.map_flags,
        name=info.name.decode("ascii", "replace"),
        ifindex=info.ifindex,
        btf_id=info.btf_id,
        btf_key_type_id=info.btf_key_type_id,
        btf_value_type_id=info.btf_value_type_id,
        map_extra=info.map_extra,
    )
