"""Frozen descriptions of what an object needs: maps, programs, whole objects.

A ``MapSpec`` says what map to make (type, key and value sizes, entries,
flags, name, inner map, initial contents); a ``ProgramSpec`` is one program
ready to load (type, attach point, linked instructions, BTF line and function
info, CO-RE relocations still to apply, the maps it names); an ``ObjectSpec``
is everything an ELF object holds. They are the same on every machine and for
every backend: ``ebpy.elf`` builds them from a file, the userspace maps and the
kernel backend make maps and programs from them. This module creates nothing
and checks nothing beyond field types: each map type validates its own spec
the way the kernel does, and only a backend's load depends on the environment.

>>> from ebpy.uapi import MapType
>>> MapSpec(MapType.HASH, 4, 8, 16, name="counts").describe()
'hash counts key 4 value 8 max_entries 16'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum

from ebpy.btf.ext import BtfExt, CoreRelo, FuncInfo, LineInfo
from ebpy.btf.types import Btf
from ebpy.errors import ElfError
from ebpy.isa.instruction import Instruction
from ebpy.uapi import MapType, ProgType

NEWER_MAP_TYPES = {"CGRP_STORAGE": 32, "ARENA": 33}
"""``enum bpf_map_type`` values past the generated uapi (this kernel's BTF)."""


class MapFlavor(Enum):
    """Where a map definition came from: it decides what ``pinning`` means."""

    PLAIN = "plain"
    """Made by a caller (API, command line): no ELF definition."""
    BTF = "btf"
    """A BTF-defined map of the ``.maps`` section (libbpf); ``pinning`` 1 = by name."""
    LEGACY = "legacy"
    """``struct bpf_map_def`` in the ``maps`` section (libbpf before 1.0)."""
    IPROUTE2 = "iproute2"
    """iproute2's ``struct bpf_elf_map``; ``pinning`` 1 object, 2 global namespace."""
    DATA = "data"
    """Global data: ``.data``, ``.bss``, ``.rodata`` and their ``.*`` sections."""
    KCONFIG = "kconfig"
    """The values of ``__kconfig`` externs, filled in at load time."""


@dataclass(frozen=True, slots=True)
class MapSpec:
    """What a map is: as ``BPF_MAP_CREATE`` takes it, plus what to put in it.

    ``inner`` is the template of the maps an array/hash of maps holds.
    ``extra`` is the type-specific ``map_extra`` (bloom filter: hash count).
    ``data`` is the initial value of key 0 of a global-data array; ``values``
    the initial slots of a prog array or map-in-map as ``(index, name)``
    pairs, naming a program or a map of the same object. ``frozen`` maps
    (``.rodata``, ``.kconfig``) are frozen after their contents are written.
    ``section`` is the ELF section of the definition, ``flavor`` its kind.
    ``raw_type`` is the kernel's number of a map type ``ebpy.uapi`` does not
    name yet (``NEWER_MAP_TYPES``); ``type`` is ``UNSPEC`` then.
    """

    type: MapType
    key_size: int
    value_size: int
    max_entries: int
    flags: int = 0
    name: str = ""
    inner: MapSpec | None = None
    extra: int = 0
    numa_node: int = 0
    pinning: int = 0
    btf_key_type_id: int = 0
    btf_value_type_id: int = 0
    data: bytes = b""
    values: tuple[tuple[int, str], ...] = ()
    frozen: bool = False
    section: str = ""
    flavor: MapFlavor = MapFlavor.PLAIN
    raw_type: int = 0

    @property
    def type_value(self) -> int:
        """The map type as the kernel numbers it."""
        return self.raw_type or int(self.type)

    @property
    def type_name(self) -> str:
        """``hash``, ``cgrp_storage`` ..."""
        if self.raw_type:
            names = {v: k for k, v in NEWER_MAP_TYPES.items()}
            return names.get(self.raw_type, f"type{self.raw_type}").lower()
        return self.type.name.lower()

    def renamed(self, name: str) -> MapSpec:
        return replace(self, name=name)

    def describe(self) -> str:
        """One line, bpftool style."""
        kind = self.type_name
        name = f" {self.name}" if self.name else ""
        return (
            f"{kind}{name} key {self.key_size} value {self.value_size} "
            f"max_entries {self.max_entries}"
        )


@dataclass(frozen=True, slots=True)
class ExternRef:
    """An instruction that needs a kernel symbol resolved at load time.

    ``insn`` is the instruction's index in ``ProgramSpec.instructions``; ``kind``
    is ``"ksym"`` (an ``lddw`` of a ``__ksym`` variable, ``src`` BTF_ID) or
    ``"kfunc"`` (a call of a kernel function, ``src`` KFUNC_CALL).
    """

    insn: int
    name: str
    kind: str
    weak: bool = False


@dataclass(frozen=True, slots=True)
class KconfigExtern:
    """A ``__kconfig`` extern: where its value lives in the ``.kconfig`` map.

    ``kind`` is ``bool``, ``tristate``, ``char``, ``int`` or ``char_array``;
    ``size`` and ``offset`` are in bytes; ``btf_id`` is its BTF VAR.
    """

    name: str
    offset: int
    size: int
    kind: str
    signed: bool = False
    weak: bool = False
    btf_id: int = 0


@dataclass(frozen=True, slots=True)
class Symbol:
    """An ELF symbol: ``type`` and ``bind`` as ELF names them (``FUNC``, ``GLOBAL``)."""

    name: str
    section: str
    value: int
    size: int
    type: str
    bind: str
    visibility: str = "DEFAULT"


@dataclass(frozen=True, slots=True)
class ProgramSpec:
    """A program ready to load: its main function with every subprogram it calls.

    ``prog_type`` and ``expected_attach_type`` are ``ProgType``/``AttachType``
    members where ``ebpy.uapi`` names them, else this kernel's numbers (newer
    conventions such as netfilter or tcx); ``prog_type`` is ``UNSPEC`` for a
    section that follows no known convention, and ``expected_attach_type``
    None where the convention gives none. ``convention`` is the matched
    ``SEC()`` prefix (``kretprobe``, ``tp_btf``) and ``attach_to`` what follows
    it (a function, ``category/event`` ...). ``flags`` are ``BPF_PROG_LOAD``
    flags (sleepable, XDP frags). ``func_info``, ``line_info`` and
    ``core_relos`` have byte offsets into ``instructions``. ``maps`` names the
    maps the program refers to, in order of first use; ``externs`` lists the
    instructions that need kernel symbols. ``functions`` gives the name and
    first instruction index of the main function (0) and each linked
    subprogram.
    """

    name: str
    section: str
    prog_type: int
    expected_attach_type: int | None
    attach_to: str
    instructions: tuple[Instruction, ...]
    license: str = ""
    kernel_version: int = 0
    convention: str = ""
    flags: int = 0
    func_info: tuple[FuncInfo, ...] = ()
    line_info: tuple[LineInfo, ...] = ()
    core_relos: tuple[CoreRelo, ...] = ()
    maps: tuple[str, ...] = ()
    externs: tuple[ExternRef, ...] = ()
    functions: tuple[tuple[str, int], ...] = ()

    @property
    def known_type(self) -> bool:
        """False when the section follows no convention (the type is unknown)."""
        return self.prog_type != ProgType.UNSPEC

    def require_type(self) -> int:
        """The program type, or an ``ElfError`` when the section does not tell it.

        A backend calls this when it loads the program: an object may hold
        programs of unknown sections as long as they are not loaded.
        """
        if not self.known_type:
            raise ElfError(
                f"program {self.name!r}: section {self.section!r} follows no known "
                "SEC() convention, so its program type is unknown",
                self.section,
            )
        return self.prog_type


@dataclass(frozen=True)
class ObjectSpec:
    """Everything a BPF ELF object holds, as libbpf opens it (before any load).

    ``programs`` are by name in file order, ``maps`` by name in libbpf's
    order (BTF or legacy definitions, then global data, then ``.kconfig``):
    a map's position there is the index an ``lddw`` names. ``name`` is
    libbpf's object name (the file name up to its first dot).
    """

    path: str
    name: str
    programs: Mapping[str, ProgramSpec]
    maps: Mapping[str, MapSpec]
    btf: Btf | None = None
    btf_ext: BtfExt | None = None
    license: str = ""
    kernel_version: int = 0
    kconfig: tuple[KconfigExtern, ...] = ()
    symbols: tuple[Symbol, ...] = field(default=(), repr=False)

    def map_index(self, name: str) -> int:
        """The index of map ``name``: what its ``lddw`` instructions carry."""
        for i, key in enumerate(self.maps):
            if key == name:
                return i
        raise ElfError(f"no map named {name!r}")

    def map_list(self) -> list[MapSpec]:
        """The maps in index order."""
        return list(self.maps.values())

    def program(self, name: str | None = None, section: str | None = None) -> ProgramSpec:
        """One program, by name or by section (the first of that section).

        Without either: the only program, or the first one. Unknown names and
        sections raise ``ElfError`` listing what there is.
        """
        if name is not None:
            prog = self.programs.get(name)
            if prog is None or (section is not None and prog.section != section):
                known = ", ".join(self.programs) or "none"
                raise ElfError(f"no program {name!r} (programs: {known})", section or "")
            return prog
        progs = list(self.programs.values())
        if section is not None:
            progs = [p for p in progs if p.section == section]
            if not progs:
                known = ", ".join(dict.fromkeys(p.section for p in self.programs.values()))
                raise ElfError(f"no program in section {section!r} (sections: {known})", section)
        if not progs:
            raise ElfError("the object has no programs")
        return progs[0]

    def in_section(self, section: str) -> list[ProgramSpec]:
        """The programs of one section, in file order."""
        return [p for p in self.programs.values() if p.section == section]
