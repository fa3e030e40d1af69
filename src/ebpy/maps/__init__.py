"""Userspace maps with the kernel's semantics, one module per map type.

``create_map(spec)`` makes the map ``spec`` describes; ``MAP_TYPES`` lists the
types implemented. Not the kernel's maps (``ebpy.kernel``) and not the helpers
that programs call to reach maps (``ebpy.helpers``).

>>> from ebpy.uapi import MapType
>>> m = create_map(MapSpec(MapType.ARRAY, 4, 4, 1, name="one"))
>>> m.lookup_elem(bytes(4))
b'\\x00\\x00\\x00\\x00'
"""

from __future__ import annotations

import errno
import importlib

from ebpy.errors import MapError
from ebpy.maps.base import MAP_TYPES, Map, register
from ebpy.spec import MapSpec

_MODULES = (
    "array",
    "percpu_array",
    "hash",
    "percpu_hash",
    "lru_hash",
    "lru_percpu_hash",
    "lpm_trie",
    "prog_array",
    "perf_event_array",
    "ringbuf",
    "queue_stack",
    "stack_trace",
    "map_in_map",
    "bloom_filter",
)


def _load_all() -> None:
    for name in _MODULES:
        try:
            importlib.import_module(f"ebpy.maps.{name}")
        except ModuleNotFoundError as exc:  # a map type not written yet
            if exc.name != f"ebpy.maps.{name}":
                raise


_load_all()


def create_map(spec: MapSpec, *, ncpus: int = 1) -> Map:
    """A new userspace map for ``spec``; ``MapError`` (EINVAL) for an unknown type."""
    cls = MAP_TYPES.get(spec.type)
    if cls is None:
        raise MapError("create", errno.EINVAL, spec.name, f"map type {spec.type.name} unsupported")
    return cls(spec, ncpus=ncpus)


__all__ = ["MAP_TYPES", "Map", "MapSpec", "create_map", "register"]
