"""Map definitions in an object: BTF-defined ``.maps`` and the legacy ``maps`` section.

``btf_maps`` reads libbpf's BTF-defined maps: each variable of the ``.maps``
DATASEC is a struct whose members encode the map by their types
(``__uint(name, N)`` is a pointer to an array of N elements, ``__type(key, T)``
a pointer to T, ``__array(values, ...)`` a zero-sized array of pointers to the
inner map's definition or to a function prototype). ``legacy_maps`` reads the
``maps`` section: ``struct bpf_map_def`` (libbpf before 1.0, 20 bytes) or
iproute2's ``struct bpf_elf_map`` (with ``id``, ``pinning``, ``inner_id`` and
``inner_idx``), one layout per entry size (``LAYOUTS``). ``map_slot_relocs``
reads the ``.rel.maps`` entries that fill the ``values`` of prog arrays and
maps of maps.

This module reads definitions; it does not create maps, and the loader
decides the order of maps in the object.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import Enum

from ebpy.btf.types import Array, Btf, Datasec, FuncProto, Ptr, Struct, Var
from ebpy.elf.image import STB_GLOBAL, STT_NOTYPE, STT_OBJECT, STT_SECTION, ElfImage, Section
from ebpy.errors import BtfError, ElfError
from ebpy.spec import NEWER_MAP_TYPES, MapFlavor, MapSpec
from ebpy.uapi import MapType

BTF_MAPS_SECTION = ".maps"
LEGACY_MAPS_SECTION = "maps"
_MAP_IN_MAP = (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS)
_PTR_SIZE = 8


@dataclass(frozen=True, slots=True)
class MapDef:
    """A map and where its definition lies: ``section`` index, ``offset``, ``size``."""

    spec: MapSpec
    section: int
    offset: int
    size: int
    legacy_id: int = 0
    """iproute2's ``id`` (what ``inner_id`` and tail-call sections refer to)."""
    inner_id: int = 0
    inner_idx: int = 0
    values_offset: int = -1
    """Offset of the ``values`` member in a BTF definition (-1: none)."""


def map_type(value: int, name: str, section: str, offset: int | None = None) -> tuple[MapType, int]:
    """``value`` as (``MapType``, raw number for newer types), or an ``ElfError``."""
    if value in MapType._value2member_map_:
        return MapType(value), 0
    if value in NEWER_MAP_TYPES.values():
        return MapType.UNSPEC, value
    raise ElfError(f"map {name!r}: unknown map type {value}", section, offset)


# -- BTF-defined maps ---------------------------------------------------------------


def _fail(name: str, reason: str, offset: int | None = None) -> ElfError:
    return ElfError(f"map {name!r}: {reason}", BTF_MAPS_SECTION, offset)


def _uint_field(btf: Btf, type_id: int, map_name: str, field: str) -> int:
    """The N of ``__uint(field, N)``: a pointer to an array of N elements."""
    ptr = btf.skip_modifiers(type_id)
    if not isinstance(ptr, Ptr):
        raise _fail(map_name, f"attribute {field!r} is a {ptr.kind.name}, not a pointer")
    arr = btf.skip_modifiers(ptr.type_id)
    if not isinstance(arr, Array):
        raise _fail(map_name, f"attribute {field!r} points to a {arr.kind.name}, not an array")
    return arr.nelems


def _typed_field(btf: Btf, type_id: int, map_name: str, field: str) -> tuple[int, int]:
    """``__type(field, T)``: (T's type id, its size)."""
    ptr = btf.skip_modifiers(type_id)
    if not isinstance(ptr, Ptr):
        raise _fail(map_name, f"{field} spec is a {ptr.kind.name}, not a pointer")
    try:
        size = btf.size_of(ptr.type_id)
    except BtfError as exc:
        raise _fail(map_name, f"cannot tell the {field} size: {exc.reason}") from exc
    return ptr.type_id, size


@dataclass
class _Def:
    """A map definition being read (libbpf's ``btf_map_def``)."""

    name: str
    type: int | None = None
    key_size: int | None = None
    value_size: int | None = None
    key_type_id: int = 0
    value_type_id: int = 0
    max_entries: int = 0
    flags: int = 0
    numa_node: int = 0
    pinning: int = 0
    extra: int = 0
    inner: MapSpec | None = None
    has_values: bool = False

    def set_size(self, which: str, size: int) -> None:
        old = getattr(self, which)
        if old is not None and old != size:
            raise _fail(self.name, f"conflicting {which.replace('_', ' ')} {old} != {size}")
        setattr(self, which, size)


_PLAIN_UINTS = {
    "max_entries": "max_entries",
    "map_flags": "flags",
    "numa_node": "numa_node",
    "map_extra": "extra",
}


def parse_map_def(btf: Btf, def_type: Struct, name: str, *, inner: bool = False) -> MapSpec:
    """The ``MapSpec`` a BTF map definition struct describes (libbpf's rules)."""
    d = _Def(name)
    members = def_type.members
    for i, m in enumerate(members):
        if not m.name:
            raise _fail(name, f"member {i} has no name")
        if m.name == "type":
            d.type = _uint_field(btf, m.type_id, name, m.name)
        elif m.name in _PLAIN_UINTS:
            setattr(d, _PLAIN_UINTS[m.name], _uint_field(btf, m.type_id, name, m.name))
        elif m.name == "pinning":
            if inner:
                raise _fail(name, "an inner map cannot be pinned")
            d.pinning = _uint_field(btf, m.type_id, name, m.name)
            if d.pinning not in (0, 1):
                raise _fail(name, f"invalid pinning value {d.pinning}")
        elif m.name in ("key_size", "value_size"):
            d.set_size(m.name, _uint_field(btf, m.type_id, name, m.name))
        elif m.name in ("key", "value"):
            type_id, size = _typed_field(btf, m.type_id, name, m.name)
            d.set_size(f"{m.name}_size", size)
            setattr(d, f"{m.name}_type_id", type_id)
        elif m.name == "values":
            _values_field(btf, d, m.type_id, inner=inner, last=i == len(members) - 1)
        else:
            raise _fail(name, f"unknown field {m.name!r}")
    if d.type is None:
        raise _fail(name, "map type is not given")
    mtype, raw = map_type(d.type, name, BTF_MAPS_SECTION)
    return MapSpec(
        mtype,
        d.key_size or 0,
        d.value_size or 0,
        d.max_entries,
        d.flags,
        name=name,
        inner=d.inner,
        extra=d.extra,
        numa_node=d.numa_node,
        pinning=d.pinning,
        btf_key_type_id=d.key_type_id,
        btf_value_type_id=d.value_type_id,
        section=BTF_MAPS_SECTION,
        flavor=MapFlavor.BTF,
        raw_type=raw,
    )


def _values_field(btf: Btf, d: _Def, type_id: int, *, inner: bool, last: bool) -> None:
    """``__array(values, T)``: the inner map template, or a prog array's prototype."""
    if inner:
        raise _fail(d.name, "inner maps of inner maps are not supported")
    if not last:
        raise _fail(d.name, "'values' must be the last member")
    in_map = d.type in _MAP_IN_MAP
    if not in_map and d.type != MapType.PROG_ARRAY:
        raise _fail(d.name, "'values' needs a map of maps or a prog array")
    d.set_size("value_size", 4)
    arr = btf[type_id]
    if not isinstance(arr, Array) or arr.nelems:
        raise _fail(d.name, "'values' is not a zero-sized array")
    ptr = btf.skip_modifiers(arr.type_id)
    if not isinstance(ptr, Ptr):
        raise _fail(d.name, f"'values' holds {ptr.kind.name}, not pointers")
    target = btf.skip_modifiers(ptr.type_id)
    d.has_values = True
    if not in_map:
        if not isinstance(target, FuncProto):
            raise _fail(d.name, f"prog array values point to {target.kind.name}, not functions")
        return
    if not isinstance(target, Struct):
        raise _fail(d.name, f"inner map definition is a {target.kind.name}, not a struct")
    d.inner = parse_map_def(btf, target, f"{d.name}.inner", inner=True)


def btf_maps(image: ElfImage, btf: Btf | None) -> list[MapDef]:
    """The maps of the ``.maps`` section, in offset order (BTF must be fixed up)."""
    sec = image.section_named(BTF_MAPS_SECTION)
    if sec is None:
        return []
    if btf is None:
        raise ElfError("BTF-defined maps need the .BTF section", BTF_MAPS_SECTION)
    found = btf.find(BTF_MAPS_SECTION)
    datasecs = [t for t in found if isinstance(t, Datasec)]
    if not datasecs:
        raise ElfError("no DATASEC .maps in .BTF", BTF_MAPS_SECTION)
    symbols = {s.name: s for s in image.symbols if s.shndx == sec.index and s.type != STT_SECTION}
    out = []
    for vsi in sorted(datasecs[0].vars, key=lambda v: v.offset):
        var = btf[vsi.type_id]
        if not isinstance(var, Var):
            raise ElfError(f"DATASEC member [{vsi.type_id}] is not a VAR", BTF_MAPS_SECTION)
        def_type = btf.resolve(var.type_id)
        if not isinstance(def_type, Struct):
            raise _fail(var.name, f"definition is a {def_type.kind.name}, not a struct")
        sym = symbols.get(var.name)
        if sym is None or sym.value != vsi.offset:
            raise _fail(var.name, "no symbol at its offset in .maps", vsi.offset)
        if vsi.offset + vsi.size > sec.size or vsi.size < def_type.size:
            raise _fail(var.name, "definition lies outside the .maps section", vsi.offset)
        spec = parse_map_def(btf, def_type, var.name)
        last = def_type.members[-1] if def_type.members else None
        values_at = last.bit_offset // 8 if last is not None and last.name == "values" else -1
        out.append(MapDef(spec, sec.index, vsi.offset, vsi.size, values_offset=values_at))
    return out


# -- the legacy "maps" section --------------------------------------------------------


class Layout(Enum):
    """The legacy map definition structs, told apart by their size."""

    BPF_MAP_DEF = "bpf_map_def"
    """libbpf's ``{type, key_size, value_size, max_entries, map_flags}`` (<= 20 bytes)."""
    BPF_ELF_MAP = "bpf_elf_map"
    """iproute2's: the above and ``id, pinning, inner_id, inner_idx`` (<= 36 bytes)."""


def _words(raw: bytes, count: int) -> tuple[int, ...]:
    padded = raw[: count * 4].ljust(count * 4, b"\0")
    return struct.unpack(f"<{count}I", padded)


def _bpf_map_def(name: str, raw: bytes, where: int) -> MapDef:
    mtype, key, value, entries, flags = _words(raw, 5)
    known, number = map_type(mtype, name, LEGACY_MAPS_SECTION, where)
    spec = MapSpec(
        known,
        key,
        value,
        entries,
        flags,
        name=name,
        section=LEGACY_MAPS_SECTION,
        flavor=MapFlavor.LEGACY,
        raw_type=number,
    )
    return MapDef(spec, 0, where, len(raw))


def _bpf_elf_map(name: str, raw: bytes, where: int) -> MapDef:
    if len(raw) > 36 and any(raw[36:]):
        raise ElfError(
            f"map {name!r}: unknown non-zero fields past 36 bytes", LEGACY_MAPS_SECTION, where
        )
    mtype, key, value, entries, flags, map_id, pinning, inner_id, inner_idx = _words(raw, 9)
    known, number = map_type(mtype, name, LEGACY_MAPS_SECTION, where)
    spec = MapSpec(
        known,
        key,
        value,
        entries,
        flags,
        name=name,
        pinning=pinning,
        section=LEGACY_MAPS_SECTION,
        flavor=MapFlavor.IPROUTE2,
        raw_type=number,
    )
    return MapDef(spec, 0, where, len(raw), map_id, inner_id, inner_idx)


LAYOUTS: dict[Layout, Callable[[str, bytes, int], MapDef]] = {
    Layout.BPF_MAP_DEF: _bpf_map_def,
    Layout.BPF_ELF_MAP: _bpf_elf_map,
}


def layout_for(size: int) -> Layout:
    """Which struct an entry of ``size`` bytes is."""
    return Layout.BPF_MAP_DEF if size <= 20 else Layout.BPF_ELF_MAP


def legacy_maps(image: ElfImage) -> list[MapDef]:
    """The maps of the ``maps`` section, in offset order, iproute2 links resolved."""
    sec = image.section_named(LEGACY_MAPS_SECTION)
    if sec is None:
        return []
    syms = sorted(
        (
            s
            for s in image.symbols
            if s.shndx == sec.index and s.bind == STB_GLOBAL and s.type in (STT_NOTYPE, STT_OBJECT)
        ),
        key=lambda s: s.value,
    )
    if not syms:
        return []
    if not sec.size or sec.size % len(syms):
        raise ElfError(
            f"cannot tell the definition size: {len(syms)} maps in {sec.size} bytes",
            sec.name,
        )
    size = sec.size // len(syms)
    if size < 4 or size % 4:
        raise ElfError(f"map definitions of {size} bytes are not supported", sec.name)
    data = sec.data if not sec.nobits else bytes(sec.size)
    parse = LAYOUTS[layout_for(size)]
    defs = []
    for s in syms:
        if s.value + size > sec.size:
            raise ElfError(f"map {s.name!r} lies outside the section", sec.name, s.value)
        d = parse(s.name, data[s.value : s.value + size], s.value)
        defs.append(replace(d, section=sec.index))
    return _link_iproute2(defs, sec)


def _link_iproute2(defs: list[MapDef], sec: Section) -> list[MapDef]:
    """iproute2 maps of maps: ``inner_id`` names the template map by its ``id``,
    and each map with an ``id`` and an ``inner_idx`` goes in that slot."""
    by_id = {d.legacy_id: d for d in defs if d.legacy_id}
    out = []
    for d in defs:
        if d.spec.flavor != MapFlavor.IPROUTE2 or d.spec.type not in _MAP_IN_MAP:
            out.append(d)
            continue
        if not d.inner_id:
            out.append(d)
            continue
        template = by_id.get(d.inner_id)
        if template is None:
            raise ElfError(f"map {d.spec.name!r}: no map has id {d.inner_id}", sec.name, d.offset)
        slots = tuple(
            sorted(
                (m.inner_idx, m.spec.name)
                for m in defs
                if m.legacy_id == d.inner_id and not m.inner_id and m.inner_idx != 0xFFFFFFFF
            )
        )
        spec = replace(d.spec, inner=template.spec.renamed(f"{d.spec.name}.inner"), values=slots)
        out.append(replace(d, spec=spec))
    return out


# -- initial slots (.rel.maps) --------------------------------------------------------


def map_slot_relocs(
    image: ElfImage,
    defs: Sequence[MapDef],
    program_at: Callable[[int, int], str | None],
) -> dict[str, tuple[tuple[int, str], ...]]:
    """The initial ``values`` of BTF-defined maps, by map name.

    ``program_at(section, offset)`` names the program starting there (or None).
    """
    sec = image.section_named(BTF_MAPS_SECTION)
    if sec is None:
        return {}
    own = [d for d in defs if d.section == sec.index]
    by_name = {d.spec.name: d for d in defs}
    slots: dict[str, dict[int, str]] = {}
    for rs, rel in image.relocs_for(sec.index):
        sym = image.symbols[rel.sym]
        where = rel.offset
        d = next((d for d in own if d.offset <= where and where + 8 <= d.offset + d.size), None)
        if d is None:
            raise ElfError(
                f"relocation at {where:#x} is in no map definition", rs.section.name, where
            )
        spec = d.spec
        if spec.type == MapType.HASH_OF_MAPS and spec.key_size != 4:
            raise ElfError(
                f"map {spec.name!r}: a hash of maps with initial values needs 4-byte keys",
                rs.section.name,
                where,
            )
        if spec.type in _MAP_IN_MAP:
            target = sym.name if sym.shndx == sec.index and sym.name in by_name else None
            what = "map"
        elif spec.type == MapType.PROG_ARRAY:
            target = program_at(sym.shndx, sym.value) if sym.defined else None
            what = "program"
        else:
            raise ElfError(
                f"map {spec.name!r}: a {spec.type.name} has no initial values",
                rs.section.name,
                where,
            )
        if target is None:
            raise ElfError(
                f"map {spec.name!r}: {sym.name or '?'!r} is not a {what} of this object",
                rs.section.name,
                where,
            )
        slot = _values_slot(d, where, rs.section.name)
        slots.setdefault(spec.name, {})[slot] = target
    return {name: tuple(sorted(v.items())) for name, v in slots.items()}


def _values_slot(d: MapDef, where: int, section: str) -> int:
    """Which slot of ``values`` a relocation at ``where`` fills."""
    moff = where - d.offset - d.values_offset
    if d.values_offset < 0 or moff < 0 or moff % _PTR_SIZE:
        raise ElfError(
            f"map {d.spec.name!r}: relocation at {where:#x} is not a slot of 'values'",
            section,
            where,
        )
    return moff // _PTR_SIZE
