"""Global data and externs: ``.data``/``.bss``/``.rodata`` maps, ``__kconfig`` and ``__ksym``.

libbpf turns each non-empty global-data section (``.data``, ``.bss``,
``.rodata`` and their ``.*`` variants such as ``.rodata.str1.1``) into a
one-entry array map holding the section, named after the object
(``internal_map_name``), with ``.rodata`` read-only for programs and frozen.
Undefined symbols are externs: those BTF places in the ``.kconfig`` DATASEC
get slots in a ``.kconfig`` map (filled from the kernel config at load
time), those in ``.ksyms`` are kernel variables and functions resolved at
load. ``fixup_btf`` gives the DATASECs the sizes and variable offsets clang
leaves as zeros, as libbpf does before it uses BTF.

This module decides names, sizes and offsets; it reads no kernel config.

>>> internal_map_name("globals", ".data"), internal_map_name("a_long_object_name", ".rodata")
('globals.data', 'a_long_o.rodata')
>>> internal_map_name("x", ".rodata.str1.1")
'.rodata.str1.1'
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from ebpy.btf.types import Array, Btf, Datasec, Enum, Func, Int, Linkage, Type, Var, VarSecinfo
from ebpy.elf.image import (
    SHN_UNDEF,
    SHT_NOBITS,
    SHT_PROGBITS,
    STB_GLOBAL,
    STB_WEAK,
    STT_NOTYPE,
    STT_OBJECT,
    STV_HIDDEN,
    STV_INTERNAL,
    ElfImage,
    ElfSymbol,
    Section,
)
from ebpy.elf.maps import MapDef
from ebpy.errors import ElfError
from ebpy.spec import KconfigExtern, MapFlavor, MapSpec
from ebpy.uapi import MapCreateFlags, MapType

OBJ_NAME_LEN = 16  # BPF_OBJ_NAME_LEN, with the NUL
KCONFIG_SECTION = ".kconfig"
KSYMS_SECTION = ".ksyms"
_NOT_NAME = re.compile(r"[^A-Za-z0-9_.]")


def object_name(path: str) -> str:
    """libbpf's object name: the file's base name up to its first dot, 15 chars.

    >>> object_name("/tmp/xdp_prog.bpf.o")
    'xdp_prog'
    """
    base = os.path.basename(path)[: OBJ_NAME_LEN - 1]
    return base.split(".", 1)[0]


def internal_map_name(obj: str, section: str) -> str:
    """The name libbpf gives the map of global-data section ``section``."""
    suffix = min(max(len(section), 7), OBJ_NAME_LEN - 1)
    # ".rodata.foo"-style sections are named as they are, without the object
    prefix = 0 if "." in section[1:] else min(OBJ_NAME_LEN - 1 - suffix, len(obj))
    return _NOT_NAME.sub("_", obj[:prefix] + section[:suffix])


class DataKind:
    """Which global-data family a section belongs to."""

    DATA = ".data"
    RODATA = ".rodata"
    BSS = ".bss"


def data_kind(sec: Section) -> str | None:
    """``.data``, ``.rodata`` or ``.bss`` when ``sec`` is global data, else None."""
    if sec.is_exec:
        return None
    families: tuple[str, ...] = ()
    if sec.type == SHT_PROGBITS:
        families = (DataKind.DATA, DataKind.RODATA)
    elif sec.type == SHT_NOBITS:
        families = (DataKind.BSS,)
    for family in families:
        if sec.name == family or sec.name.startswith(family + "."):
            return family
    return None


def _datasec_id(btf: Btf | None, name: str) -> int:
    if btf is None:
        return 0
    found = [t for t in btf.find(name) if isinstance(t, Datasec)]
    return found[0].id if found else 0


def data_maps(image: ElfImage, btf: Btf | None, obj: str) -> list[MapDef]:
    """One array map per non-empty global-data section, in section order."""
    out = []
    for sec in image.sections:
        kind = data_kind(sec)
        if kind is None or not sec.size:
            continue
        rodata = kind == DataKind.RODATA
        flags = MapCreateFlags.MMAPABLE | (MapCreateFlags.RDONLY_PROG if rodata else 0)
        spec = MapSpec(
            MapType.ARRAY,
            4,
            sec.size,
            1,
            int(flags),
            name=internal_map_name(obj, sec.name),
            btf_value_type_id=_datasec_id(btf, sec.name),
            data=bytes(sec.size) if sec.nobits else sec.data,
            frozen=rodata,
            section=sec.name,
            flavor=MapFlavor.DATA,
        )
        out.append(MapDef(spec, sec.index, 0, sec.size))
    return out


# -- externs ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Extern:
    """An undefined symbol and what BTF says it is."""

    name: str
    section: str
    """``.kconfig`` or ``.ksyms``."""
    btf_id: int
    weak: bool
    is_func: bool


def _is_extern(sym: ElfSymbol) -> bool:
    return (
        sym.shndx == SHN_UNDEF
        and sym.bind in (STB_GLOBAL, STB_WEAK)
        and sym.type == STT_NOTYPE
        and bool(sym.name)
    )


def find_externs(image: ElfImage, btf: Btf | None) -> dict[str, Extern]:
    """Every extern of the object, by name, with its BTF section."""
    syms = [s for s in image.symbols if _is_extern(s)]
    if not syms:
        return {}
    if btf is None:
        raise ElfError(f"extern {syms[0].name!r} needs BTF, and the object has none", ".symtab")
    owner: dict[int, str] = {}
    for t in btf:
        if isinstance(t, Datasec):
            for v in t.vars:
                owner.setdefault(v.type_id, t.name)
    out = {}
    for sym in syms:
        decl = [
            t
            for t in btf.find(sym.name)
            if isinstance(t, Var | Func) and t.linkage == Linkage.EXTERN
        ]
        if not decl:
            raise ElfError(f"extern {sym.name!r} has no extern VAR or FUNC in BTF", ".BTF")
        t = decl[0]
        section = owner.get(t.id, "")
        if isinstance(t, Func) and not section:
            section = KSYMS_SECTION  # clang may leave kfunc declarations out of .ksyms
        if section not in (KCONFIG_SECTION, KSYMS_SECTION):
            raise ElfError(f"extern {sym.name!r} is in no .kconfig or .ksyms DATASEC", ".BTF")
        out[sym.name] = Extern(sym.name, section, t.id, sym.bind == STB_WEAK, isinstance(t, Func))
    return out


def _kcfg_type(btf: Btf, type_id: int) -> tuple[str, bool, int, int] | None:
    """(kind, signed, size, alignment) of a kconfig value type, None when unsupported."""
    t = btf.resolve(type_id)
    if isinstance(t, Int):
        if t.encoding & Int.BOOL:
            return ("bool", False, 1, 1) if t.size == 1 else None
        if t.size == 1:
            return "char", t.signed, 1, 1
        if t.size not in (2, 4, 8):
            return None
        return "int", t.signed, t.size, t.size
    if isinstance(t, Enum):
        if t.size != 4 or t.name != "libbpf_tristate":
            return None
        return "tristate", False, 4, 4
    if isinstance(t, Array) and t.nelems:
        elem = _kcfg_type(btf, t.type_id)
        if elem is None or elem[0] != "char":
            return None
        return "char_array", False, t.nelems, 1
    return None


def kconfig_layout(btf: Btf | None, externs: dict[str, Extern]) -> tuple[KconfigExtern, ...]:
    """The ``.kconfig`` externs with their offsets, in libbpf's order.

    Larger alignments first, then smaller sizes, then names; each at the next
    offset its alignment allows.
    """
    found = []
    for ext in externs.values():
        if ext.section != KCONFIG_SECTION:
            continue
        assert btf is not None
        var = btf[ext.btf_id]
        if not isinstance(var, Var):
            raise ElfError(f"kconfig extern {ext.name!r} is not a variable", ".BTF")
        info = _kcfg_type(btf, var.type_id)
        if info is None:
            raise ElfError(f"kconfig extern {ext.name!r} has an unsupported type", ".BTF")
        found.append((ext, info))
    found.sort(key=lambda e: (-e[1][3], e[1][2], e[0].name))
    out = []
    off = 0
    for ext, (kind, signed, size, align) in found:
        off = (off + align - 1) // align * align
        out.append(KconfigExtern(ext.name, off, size, kind, signed, ext.weak, ext.btf_id))
        off += size
    return tuple(out)


def kconfig_map(btf: Btf | None, kconfig: Sequence[KconfigExtern], obj: str) -> MapSpec | None:
    """The ``.kconfig`` array map holding ``kconfig`` (None when there are none)."""
    if not kconfig:
        return None
    size = kconfig[-1].offset + kconfig[-1].size
    flags = MapCreateFlags.MMAPABLE | MapCreateFlags.RDONLY_PROG
    return MapSpec(
        MapType.ARRAY,
        4,
        size,
        1,
        int(flags),
        name=internal_map_name(obj, KCONFIG_SECTION),
        btf_value_type_id=_datasec_id(btf, KCONFIG_SECTION),
        data=bytes(size),
        frozen=True,
        section=KCONFIG_SECTION,
        flavor=MapFlavor.KCONFIG,
    )


# -- BTF fix-up ---------------------------------------------------------------------


def fixup_btf(btf: Btf, image: ElfImage, kconfig: Sequence[KconfigExtern]) -> Btf:
    """``btf`` with DATASEC sizes and variable offsets filled in from the ELF.

    clang writes DATASECs with size 0 and variables at offset 0 (the real
    values are relocations into ``.BTF``); libbpf takes the size from the
    section and each global variable's offset from its symbol, marks hidden
    variables static, and lays out ``.kconfig`` as its map. Variables without
    a symbol keep what they have. The types keep their ids.
    """
    sizes = {s.name: s.size for s in image.sections if s.index}
    globals_by_name = {
        s.name: s
        for s in image.symbols
        if s.type == STT_OBJECT and s.bind in (STB_GLOBAL, STB_WEAK) and s.defined
    }
    kcfg = {k.name: k for k in kconfig}
    types: list[Type] = list(btf.types)
    start = btf.start_id
    changed = False

    def var_of(type_id: int) -> Var | None:
        index = type_id - start
        t = types[index] if 0 <= index < len(types) else None
        return t if isinstance(t, Var) else None

    def set_var(v: Var, linkage: int) -> None:
        types[v.id - start] = replace(v, linkage=linkage)

    for i, t in enumerate(btf.types):
        if not isinstance(t, Datasec):
            continue
        size, new_vars = t.size, []
        if t.name == KCONFIG_SECTION:
            if kconfig:
                size = kconfig[-1].offset + kconfig[-1].size
            for v in t.vars:
                var, k = var_of(v.type_id), None
                if var is not None and (k := kcfg.get(var.name)) is not None:
                    set_var(var, Linkage.GLOBAL)
                new_vars.append(replace(v, offset=k.offset) if k is not None else v)
        elif t.name == KSYMS_SECTION:
            new_vars = list(t.vars)
        else:
            fix_offsets = t.size == 0 and sizes.get(t.name, 0) > 0
            if fix_offsets:
                size = sizes[t.name]
            for v in t.vars:
                new_vars.append(
                    _fix_var(v, var_of(v.type_id), globals_by_name, fix_offsets, set_var)
                )
        new_vars.sort(key=lambda v: v.offset)
        new = replace(t, size=size, vars=tuple(new_vars))
        if new != t:
            types[i] = new
            changed = True
    if not changed and types == list(btf.types):
        return btf
    return Btf(types, strings=btf.strings, base=btf.base)


def _fix_var(
    v: VarSecinfo,
    var: Var | None,
    syms: dict[str, ElfSymbol],
    fix_offsets: bool,
    set_var: Callable[[Var, int], None],
) -> VarSecinfo:
    if var is None or var.linkage in (Linkage.STATIC, Linkage.EXTERN):
        return v
    sym = syms.get(var.name)
    if sym is None:
        return v
    if sym.visibility in (STV_HIDDEN, STV_INTERNAL):
        set_var(var, Linkage.STATIC)
    return replace(v, offset=sym.value) if fix_offsets else v
