"""Tests of the userspace maps (``ebpy.maps``), one module per map type.

The small helpers below are shared by the test modules of the core map types.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ebpy.errors import MapError
from ebpy.maps import Map, create_map
from ebpy.spec import MapSpec
from ebpy.uapi import MapType


def errno_of(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> int:
    """The errno of the ``MapError`` ``fn(*args)`` raises; 0 when it succeeds."""
    try:
        fn(*args, **kwargs)
    except MapError as exc:
        return exc.errno
    return 0


def u32(i: int) -> bytes:
    return i.to_bytes(4, "little")


def u64(i: int) -> bytes:
    return i.to_bytes(8, "little")


def make(
    kind: MapType,
    key: int = 4,
    value: int = 8,
    entries: int = 8,
    flags: int = 0,
    *,
    extra: int = 0,
    ncpus: int = 1,
) -> Map:
    """A userspace map of ``kind`` (``MapError`` when the spec is refused)."""
    return create_map(MapSpec(kind, key, value, entries, flags, extra=extra), ncpus=ncpus)


def create_errno(
    kind: MapType, key: int, value: int, entries: int, flags: int = 0, **kw: Any
) -> int:
    """The errno creating the map gives (0 when it is created)."""
    return errno_of(make, kind, key, value, entries, flags, **kw)
