"""Typed views of maps: keys and values as ints or ctypes objects instead of bytes.

``TypedMap(m, key=..., value=...)`` wraps any map with the syscall face of
``ebpy.maps.Map`` (a userspace map, or a ``KernelMap``) in a ``MutableMapping``
that converts on the way in and out. A type is one of:

* a ctypes type: a simple type (``ctypes.c_uint32``, ``c_int64``, ``c_double``
  ...) converts to and from Python ints and floats; a ``Structure``, ``Union`` or
  array type converts to and from instances of it (a copy: changing it does not
  change the map);
* an int ``n``: an unsigned little-endian integer of ``n`` bytes;
* ``None`` (the default): bytes, unchanged.

Bytes are accepted on the way in whatever the type. For per-CPU maps
(``PERCPU_ARRAY``, ``PERCPU_HASH``, ``LRU_PERCPU_HASH``, ``PERCPU_CGROUP_STORAGE``)
a value is a list of ``ncpus`` converted values; setting one value (not a list
or tuple) sets it on every CPU. The map's padding to 8 bytes per CPU is added
and dropped here.

Bad input (a type whose size is not the map's, a value that does not convert)
raises ``MapError`` with EINVAL and op ``"typed"``; a missing key is a
``KeyError`` as for any mapping. This module holds no map and talks to no kernel.

>>> import ctypes
>>> from ebpy.maps import create_map
>>> from ebpy.spec import MapSpec
>>> from ebpy.uapi import MapType
>>> m = TypedMap(create_map(MapSpec(MapType.HASH, 4, 8, 4)), key=ctypes.c_uint32,
...              value=ctypes.c_uint64)
>>> m[1] = 5
>>> m[2] = 7
>>> dict(m)
{1: 5, 2: 7}
>>> p = TypedMap(create_map(MapSpec(MapType.PERCPU_ARRAY, 4, 4, 2), ncpus=2), key=4,
...              value=ctypes.c_int32)
>>> p[0] = -1
>>> p[0], p[1]
([-1, -1], [0, 0])
"""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Iterator, MutableMapping
from typing import Any, Protocol

from ebpy.errors import MapError
from ebpy.maps.base import as_bytes
from ebpy.uapi import MapType

PERCPU_TYPES = frozenset(
    {
        MapType.PERCPU_ARRAY,
        MapType.PERCPU_HASH,
        MapType.LRU_PERCPU_HASH,
        MapType.PERCPU_CGROUP_STORAGE,
    }
)
"""Map types whose syscall-side value holds one value per CPU."""

TypeSpec = type[Any] | int | None
"""What ``key=`` and ``value=`` take: a ctypes type, a byte count, or None."""


class SyscallMap(Protocol):
    """What ``TypedMap`` needs of a map: its sizes and the syscall face."""

    name: str
    key_size: int
    value_size: int
    ncpus: int

    @property
    def spec(self) -> Any: ...

    def lookup_elem(self, key: bytes, flags: int = 0) -> bytes: ...

    def update_elem(self, key: bytes, value: bytes, flags: int = 0) -> None: ...

    def delete_elem(self, key: bytes) -> None: ...

    def get_next_key(self, key: bytes | None = None) -> bytes: ...

    def __len__(self) -> int: ...


class Codec:
    """Converts between bytes of ``size`` and Python objects for one ``TypeSpec``."""

    def __init__(self, spec: TypeSpec, size: int, what: str, name: str) -> None:
        self.spec = spec
        self.size = size
        self.name = name
        if spec is None:
            return
        if isinstance(spec, bool) or not (isinstance(spec, int) or _is_ctype(spec)):
            raise MapError(
                "typed", errno.EINVAL, name, f"{what} type {spec!r} is not a ctypes type"
            )
        have = spec if isinstance(spec, int) else ctypes.sizeof(spec)
        if have != size:
            raise MapError("typed", errno.EINVAL, name, f"{what} is {have} bytes, map has {size}")

    def decode(self, data: bytes) -> Any:
        spec = self.spec
        if spec is None:
            return bytes(data)
        if isinstance(spec, int):
            return int.from_bytes(data, "little")
        obj = spec.from_buffer_copy(data)
        return obj.value if isinstance(obj, ctypes._SimpleCData) else obj

    def encode(self, obj: object) -> bytes:
        raw = as_bytes(obj)
        data = self._convert(obj) if raw is None else raw
        if len(data) != self.size:
            raise MapError("typed", errno.EINVAL, self.name, f"{len(data)} bytes, want {self.size}")
        return data

    def _convert(self, obj: object) -> bytes:
        spec = self.spec
        try:
            if isinstance(spec, int) and not isinstance(obj, bool) and isinstance(obj, int):
                return obj.to_bytes(spec, "little")
            if isinstance(spec, type) and isinstance(obj, spec):
                return bytes(obj)
            if isinstance(spec, type) and issubclass(spec, ctypes._SimpleCData):
                return bytes(spec(obj))
        except (OverflowError, TypeError, ValueError) as exc:
            raise MapError("typed", errno.EINVAL, self.name, f"{obj!r}: {exc}") from None
        raise MapError("typed", errno.EINVAL, self.name, f"cannot convert {obj!r} to {spec!r}")


def _is_ctype(spec: object) -> bool:
    bases = (ctypes._SimpleCData, ctypes.Structure, ctypes.Union, ctypes.Array)
    return isinstance(spec, type) and issubclass(spec, bases)


def is_percpu(m: SyscallMap) -> bool:
    """True for a map whose syscall-side values hold one value per CPU."""
    return getattr(m.spec, "type", None) in PERCPU_TYPES


class TypedMap(MutableMapping[Any, Any]):
    """A typed ``MutableMapping`` view of ``map`` (see the module docstring)."""

    def __init__(self, map: SyscallMap, key: TypeSpec = None, value: TypeSpec = None) -> None:
        self.map = map
        self.percpu = is_percpu(map)
        self.ncpus = map.ncpus if self.percpu else 1
        self.stride = (map.value_size + 7) & ~7 if self.percpu else map.value_size
        self.keys_codec = Codec(key, map.key_size, "key", map.name)
        self.values_codec = Codec(value, map.value_size, "value", map.name)

    # -- conversions ------------------------------------------------------------------
    def encode_key(self, key: object) -> bytes:
        return self.keys_codec.encode(key)

    def decode_value(self, raw: bytes) -> Any:
        """The Python value of a syscall-side value (a list for per-CPU maps)."""
        if not self.percpu:
            return self.values_codec.decode(raw)
        size = self.map.value_size
        return [
            self.values_codec.decode(raw[c * self.stride : c * self.stride + size])
            for c in range(self.ncpus)
        ]

    def encode_value(self, value: object) -> bytes:
        """The syscall-side bytes of ``value`` (all CPUs' for per-CPU maps)."""
        if not self.percpu:
            return self.values_codec.encode(value)
        if isinstance(value, list | tuple):
            if len(value) != self.ncpus:
                raise MapError(
                    "typed", errno.EINVAL, self.map.name, f"{len(value)} values, {self.ncpus} CPUs"
                )
            items = list(value)
        else:
            items = [value] * self.ncpus
        pad = bytes(self.stride - self.map.value_size)
        return b"".join(self.values_codec.encode(v) + pad for v in items)

    # -- MutableMapping -----------------------------------------------------------------
    def __getitem__(self, key: object) -> Any:
        raw = self.encode_key(key)
        try:
            return self.decode_value(self.map.lookup_elem(raw))
        except MapError as exc:
            if exc.errno == errno.ENOENT:
                raise KeyError(key) from None
            raise

    def __setitem__(self, key: object, value: object) -> None:
        self.map.update_elem(self.encode_key(key), self.encode_value(value))

    def update_elem(self, key: object, value: object, flags: int = 0) -> None:
        """``update_elem`` with typed key and value and the update ``flags``."""
        self.map.update_elem(self.encode_key(key), self.encode_value(value), flags)

    def __delitem__(self, key: object) -> None:
        try:
            self.map.delete_elem(self.encode_key(key))
        except MapError as exc:
            if exc.errno == errno.ENOENT:
                raise KeyError(key) from None
            raise

    def __iter__(self) -> Iterator[Any]:
        raw: bytes | None = None
        while True:
            try:
                raw = self.map.get_next_key(raw)
            except MapError:
                return
            yield self.keys_codec.decode(raw)

    def __len__(self) -> int:
        return len(self.map)

    def __repr__(self) -> str:
        return f"TypedMap({self.map!r})"
