"""Relocations of program code, as libbpf reads them.

Each relocation of an executable section names an instruction and a symbol.
What it means depends on both (``classify``), one handler per ``RelocKind``:

* ``CALL``: a ``call`` with ``src`` PSEUDO_CALL to a ``.text`` function
  (``R_BPF_64_32``); the target slot is ``st_value / 8 + imm + 1``;
* ``SUBPROG_ADDR``: an ``lddw`` of a ``.text`` function (a callback address):
  ``src`` becomes PSEUDO_FUNC, the target is ``(st_value + imm) / 8``;
* ``MAP``: an ``lddw`` of a map symbol (``.maps`` or ``maps``): ``src``
  becomes PSEUDO_MAP_FD and ``imm`` the map's index in the object;
* ``DATA``: an ``lddw`` of global data: PSEUDO_MAP_VALUE with the section's
  map index and the offset ``st_value + imm`` as the second half;
* ``EXTERN``: an undefined symbol: a ``.kconfig`` variable becomes a
  PSEUDO_MAP_VALUE into the ``.kconfig`` map, a ``.ksyms`` variable a
  PSEUDO_BTF_ID load and a kernel function a KFUNC_CALL, the last two
  resolved at load time.

Calls are only recorded here (``ResolvedFunction.calls``): ``ebpy.elf.linker``
places the callees. Every other instruction is rewritten. Relocations of
data sections are ignored, as libbpf ignores them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from ebpy.elf.functions import SLOT, TEXT, Function
from ebpy.elf.globals import KCONFIG_SECTION, Extern
from ebpy.elf.image import SHN_UNDEF, STT_SECTION, ElfImage, ElfSymbol, Reloc, Section
from ebpy.elf.maps import MapDef
from ebpy.errors import ElfError
from ebpy.isa._intmath import M32, s32
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import LDDW, CallSrc, Class, JmpOp, PseudoSrc
from ebpy.spec import KconfigExtern, MapFlavor

CALL = Class.JMP | JmpOp.CALL


class RelocKind(Enum):
    """What a code relocation does."""

    CALL = "call"
    SUBPROG_ADDR = "subprog_addr"
    MAP = "map"
    DATA = "data"
    EXTERN = "extern"


@dataclass
class ResolvedFunction:
    """A function with its data relocations applied and its calls noted.

    ``calls`` maps an instruction index to the callee's (section index, slot);
    ``maps`` an index to the map it names; ``externs`` an index to
    (name, kind, weak) for load-time resolution.
    """

    fn: Function
    insns: list[Instruction]
    calls: dict[int, tuple[int, int]] = field(default_factory=dict)
    maps: dict[int, str] = field(default_factory=dict)
    externs: dict[int, tuple[str, str, bool]] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    """What relocations refer to: the object's maps (in index order) and externs."""

    image: ElfImage
    maps: Sequence[MapDef]
    externs: Mapping[str, Extern]
    kconfig: Mapping[str, KconfigExtern]
    kconfig_index: int | None
    text_index: int | None

    def map_at(self, section: int, offset: int) -> tuple[int, MapDef] | None:
        for i, d in enumerate(self.maps):
            if d.section == section and d.offset == offset and d.spec.flavor not in _DATA_FLAVORS:
                return i, d
        return None

    def data_map(self, section: int) -> tuple[int, MapDef] | None:
        for i, d in enumerate(self.maps):
            if d.section == section and d.spec.flavor == MapFlavor.DATA:
                return i, d
        return None


_DATA_FLAVORS = (MapFlavor.DATA, MapFlavor.KCONFIG)


@dataclass(frozen=True)
class _Site:
    """One relocation being applied."""

    ctx: Context
    rf: ResolvedFunction
    index: int
    insn: Instruction
    sym: ElfSymbol
    section: Section
    where: int

    def fail(self, reason: str) -> ElfError:
        name = self.sym.name or self.ctx.image.section_name(self.sym.shndx) or "?"
        return ElfError(
            f"function {self.rf.fn.name!r}: relocation against {name!r}: {reason}",
            self.section.name,
            self.where,
        )

    @property
    def lo_imm(self) -> int:
        """The low 32 bits of the immediate, signed (the addend clang leaves)."""
        return s32(self.insn.imm & M32)


def classify(site: _Site) -> RelocKind:
    """Which kind of relocation this is (libbpf's order of checks)."""
    insn, sym, ctx = site.insn, site.sym, site.ctx
    if sym.shndx == SHN_UNDEF:
        if not sym.name:
            raise site.fail("relocation against the null symbol")
        return RelocKind.EXTERN
    if insn.op == CALL:
        return RelocKind.CALL
    if insn.op != LDDW:
        raise site.fail(f"relocation of an instruction with opcode {insn.op:#04x}")
    if insn.src == PseudoSrc.FUNC or (sym.shndx == ctx.text_index and sym.defined):
        return RelocKind.SUBPROG_ADDR
    if not sym.defined:
        raise site.fail("the symbol is in no section")
    if any(d.section == sym.shndx and d.spec.flavor not in _DATA_FLAVORS for d in ctx.maps):
        return RelocKind.MAP
    if ctx.data_map(sym.shndx) is not None:
        return RelocKind.DATA
    target = ctx.image.section_name(sym.shndx)
    raise site.fail(f"section {target!r} holds no maps or global data")


def _call(site: _Site) -> None:
    if site.insn.src != CallSrc.PSEUDO_CALL:
        raise site.fail("a call relocation on a helper call")
    if site.sym.shndx != site.ctx.text_index:
        target = site.ctx.image.section_name(site.sym.shndx)
        raise site.fail(f"calls must go to {TEXT}, not to {target!r}")
    if site.sym.value % SLOT:
        raise site.fail("the callee is not at an instruction boundary")
    slot = site.sym.value // SLOT + site.insn.imm + 1
    site.rf.calls[site.index] = (site.sym.shndx, slot)


def _subprog_addr(site: _Site) -> None:
    if site.sym.shndx != site.ctx.text_index:
        target = site.ctx.image.section_name(site.sym.shndx)
        raise site.fail(f"callbacks must be in {TEXT}, not in {target!r}")
    byte = site.sym.value + site.lo_imm
    if byte % SLOT:
        raise site.fail("the callback is not at an instruction boundary")
    site.rf.insns[site.index] = site.insn.replace(src=PseudoSrc.FUNC)
    site.rf.calls[site.index] = (site.sym.shndx, byte // SLOT)


def _map(site: _Site) -> None:
    offset = site.sym.value + (site.lo_imm if site.sym.type == STT_SECTION else 0)
    found = site.ctx.map_at(site.sym.shndx, offset)
    if found is None:
        raise site.fail(f"no map definition at offset {offset:#x}")
    index, d = found
    site.rf.insns[site.index] = site.insn.replace(src=PseudoSrc.MAP_FD, imm=index)
    site.rf.maps[site.index] = d.spec.name


def _data(site: _Site) -> None:
    found = site.ctx.data_map(site.sym.shndx)
    assert found is not None
    index, d = found
    offset = site.sym.value + site.lo_imm
    if not 0 <= offset <= M32:
        raise site.fail(f"offset {offset} is outside {d.spec.section}")
    site.rf.insns[site.index] = site.insn.replace(
        src=PseudoSrc.MAP_VALUE, imm=index | (offset << 32)
    )
    site.rf.maps[site.index] = d.spec.name


def _extern(site: _Site) -> None:
    ext = site.ctx.externs.get(site.sym.name)
    if ext is None:
        raise site.fail("an undefined symbol that is not an extern")
    insn, rf = site.insn, site.rf
    if ext.section == KCONFIG_SECTION:
        k = site.ctx.kconfig[ext.name]
        if insn.op != LDDW or site.ctx.kconfig_index is None:
            raise site.fail("a kconfig extern used by something other than lddw")
        rf.insns[site.index] = insn.replace(
            src=PseudoSrc.MAP_VALUE, imm=site.ctx.kconfig_index | (k.offset << 32)
        )
        rf.maps[site.index] = site.ctx.maps[site.ctx.kconfig_index].spec.name
    elif insn.op == CALL and ext.is_func:
        rf.insns[site.index] = insn.replace(src=CallSrc.KFUNC, imm=0, off=0)
        rf.externs[site.index] = (ext.name, "kfunc", ext.weak)
    elif insn.op == LDDW and not ext.is_func:
        rf.insns[site.index] = insn.replace(src=PseudoSrc.BTF_ID, imm=0)
        rf.externs[site.index] = (ext.name, "ksym", ext.weak)
    else:
        raise site.fail(f"kernel symbol {ext.name!r} used by opcode {insn.op:#04x}")


HANDLERS: dict[RelocKind, Callable[[_Site], None]] = {
    RelocKind.CALL: _call,
    RelocKind.SUBPROG_ADDR: _subprog_addr,
    RelocKind.MAP: _map,
    RelocKind.DATA: _data,
    RelocKind.EXTERN: _extern,
}


def _owner(functions: Sequence[Function], byte_off: int) -> Function | None:
    for fn in functions:
        if fn.contains(byte_off):
            return fn
    return None


def resolve_section(
    ctx: Context, sec: Section, functions: Sequence[Function]
) -> dict[Function, ResolvedFunction]:
    """Apply the relocations of one executable section to its functions."""
    out = {fn: ResolvedFunction(fn, list(fn.insns)) for fn in functions}
    for rs, rel in ctx.image.relocs_for(sec.index):
        _apply(ctx, sec, functions, out, rs.section, rel)
    return out


def _apply(
    ctx: Context,
    sec: Section,
    functions: Sequence[Function],
    out: dict[Function, ResolvedFunction],
    rel_sec: Section,
    rel: Reloc,
) -> None:
    if rel.offset % SLOT or rel.offset >= sec.size:
        raise ElfError(
            f"relocation offset {rel.offset:#x} is not an instruction of {sec.name}",
            rel_sec.name,
            rel.offset,
        )
    fn = _owner(functions, rel.offset)
    if fn is None:
        raise ElfError(f"relocation at {rel.offset:#x} is in no function", sec.name, rel.offset)
    index = fn.index_of.get(rel.offset // SLOT - fn.start)
    if index is None:
        raise ElfError("relocation of the second half of an lddw", sec.name, rel.offset)
    rf = out[fn]
    site = _Site(ctx, rf, index, rf.insns[index], ctx.image.symbols[rel.sym], sec, rel.offset)
    HANDLERS[classify(site)](site)
