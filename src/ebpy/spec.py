"""Frozen descriptions of what a program needs: maps now, whole objects later.

A ``MapSpec`` says what map to make (type, key and value sizes, entries,
flags, name, inner map); it is the same on every machine and for every
backend. The userspace maps (``ebpy.maps``) and the kernel backend both make
maps from it. This module creates nothing and checks nothing beyond field
types: each map type validates its own spec the way the kernel does.

>>> from ebpy.uapi import MapType
>>> MapSpec(MapType.HASH, 4, 8, 16, name="counts").describe()
'hash counts key 4 value 8 max_entries 16'
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ebpy.uapi import MapType


@dataclass(frozen=True, slots=True)
class MapSpec:
    """What a map is: as ``BPF_MAP_CREATE`` takes it.

    ``inner`` is the template of the maps an array/hash of maps holds.
    ``extra`` is the type-specific ``map_extra`` (bloom filter: hash count).
    """

    type: MapType
    key_size: int
    value_size: int
    max_entries: int
    flags: int = 0
    name: str = ""
    inner: MapSpec | None = None
    extra: int = 0

    def renamed(self, name: str) -> MapSpec:
        return replace(self, name=name)

    def describe(self) -> str:
        """One line, bpftool style."""
        kind = self.type.name.lower()
        name = f" {self.name}" if self.name else ""
        return (
            f"{kind}{name} key {self.key_size} value {self.value_size} "
            f"max_entries {self.max_entries}"
        )
