"""Linking and code relocations, checked against the ELF file read with pyelftools.

For every program of every object: each function in the linked program is
the function's original bytes (from its symbol), with only the relocated
instructions changed; every call lands on the start of the function the
original relocation (or relative offset) names; every callee is present once,
after the main function; lddw of maps carry the map's index (PSEUDO_MAP_FD),
lddw of global data the data map's index and the symbol's offset plus the
addend (PSEUDO_MAP_VALUE); BTF function and line info moved with the code.
The oracle reads the file through pyelftools directly, not ebpy.elf.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection

from ebpy.isa._intmath import M32, s32
from ebpy.isa.encoding import decode
from ebpy.isa.instruction import slot_starts
from ebpy.isa.opcodes import LDDW, CallSrc, PseudoSrc
from ebpy.spec import MapFlavor, ObjectSpec, ProgramSpec
from tests.elf.corpus import LITTLE_OBJECTS, TESTDATA, ident, load

CALL = 0x85


@dataclass
class Fn:
    name: str
    section: str
    offset: int
    code: bytes


@dataclass
class Rel:
    symbol: str
    sym_type: str
    sym_section: str
    value: int


class Oracle:
    """Functions and code relocations of an object, read with pyelftools."""

    def __init__(self, data: bytes) -> None:
        elf = ELFFile(io.BytesIO(data))
        self.sections = {i: s for i, s in enumerate(elf.iter_sections())}
        symtab = elf.get_section_by_name(".symtab")
        self.symbols = list(symtab.iter_symbols())
        self.functions: dict[tuple[str, int], Fn] = {}
        for sym in self.symbols:
            if sym["st_info"]["type"] == "STT_FUNC":
                sec = self.sections[sym["st_shndx"]]
                code = sec.data()[sym["st_value"] : sym["st_value"] + sym["st_size"]]
                fn = Fn(sym.name, sec.name, sym["st_value"], code)
                self.functions[(sec.name, sym["st_value"])] = fn
        self.relocs: dict[tuple[str, int], Rel] = {}
        for sec in self.sections.values():
            if isinstance(sec, RelocationSection):
                target = self.sections[sec["sh_info"]].name
                for r in sec.iter_relocations():
                    sym = self.symbols[r["r_info_sym"]]
                    shndx = sym["st_shndx"]
                    where = self.sections[shndx].name if isinstance(shndx, int) else str(shndx)
                    self.relocs[(target, r["r_offset"])] = Rel(
                        sym.name, sym["st_info"]["type"], where, sym["st_value"]
                    )

    def by_name(self, name: str) -> Fn:
        return next(f for f in self.functions.values() if f.name == name)


def _function_slots(prog: ProgramSpec) -> list[tuple[str, int, int]]:
    """(name, first slot, slot count) of each function in a linked program."""
    starts = slot_starts(prog.instructions)
    end = starts[-1] + prog.instructions[-1].width
    firsts = [starts[i] for _, i in prog.functions] + [end]
    return [(n, firsts[k], firsts[k + 1] - firsts[k]) for k, (n, _) in enumerate(prog.functions)]


def _programs() -> list[tuple[Path, str]]:
    return [(p, name) for p in LITTLE_OBJECTS for name in load(p).programs]


PROGRAMS = _programs()


def _pid(item: tuple[Path, str]) -> str:
    return f"{ident(item[0])}:{item[1]}"


@pytest.fixture(scope="module")
def oracles() -> dict[Path, Oracle]:
    return {p: Oracle(p.read_bytes()) for p in LITTLE_OBJECTS}


def _expected_callee(oracle: Oracle, fn: Fn, slot: int, imm: int) -> str:
    rel = oracle.relocs.get((fn.section, fn.offset + slot * 8))
    if rel is None:  # relative call inside the function's own section
        return oracle.functions[(fn.section, fn.offset + (slot + imm + 1) * 8)].name
    if rel.sym_type == "STT_FUNC":
        return rel.symbol
    return oracle.functions[(rel.sym_section, rel.value + (imm + 1) * 8)].name


def _check_relocated(obj: ObjectSpec, oracle: Oracle, fn: Fn, slot: int, orig, got) -> None:  # type: ignore[no-untyped-def]
    rel = oracle.relocs.get((fn.section, fn.offset + slot * 8))
    assert rel is not None
    names = list(obj.maps)
    if rel.sym_section in (".maps", "maps"):
        assert got.src == PseudoSrc.MAP_FD
        assert names[got.imm] == rel.symbol or obj.maps[names[got.imm]].name == rel.symbol
    elif rel.sym_section == "SHN_UNDEF":
        kconfig = {k.name: k.offset for k in obj.kconfig}
        if rel.symbol in kconfig:
            spec = obj.maps[names[got.imm & M32]]
            assert spec.flavor == MapFlavor.KCONFIG
            assert got.imm >> 32 == kconfig[rel.symbol]
        elif orig.op == LDDW:
            assert got.src == PseudoSrc.BTF_ID
        else:
            assert got.src == CallSrc.KFUNC
    else:
        spec = obj.maps[names[got.imm & M32]]
        assert got.src == PseudoSrc.MAP_VALUE
        assert spec.section == rel.sym_section
        assert got.imm >> 32 == rel.value + s32(orig.imm & M32)


@pytest.mark.parametrize("item", PROGRAMS, ids=_pid)
def test_program_is_its_functions(item: tuple[Path, str], oracles: dict[Path, Oracle]) -> None:
    path, name = item
    obj, oracle = load(path), oracles[path]
    prog = obj.programs[name]
    layout = _function_slots(prog)
    names = [n for n, _, _ in layout]
    assert len(set(names)) == len(names)
    assert names[0] == name
    starts = slot_starts(prog.instructions)
    at = {slot: i for i, slot in enumerate(starts)}
    first_slot = {n: s for n, s, _ in layout}
    for fname, first, count in layout:
        fn = oracle.by_name(fname) if fname != prog.section else None
        if fn is None:
            continue
        if fname != name:
            assert fn.section == ".text"
        original = decode(fn.code, strict=False)
        assert count * 8 == len(fn.code)
        for orig, slot in zip(original, slot_starts(original), strict=True):
            index = at[first + slot]
            got = prog.instructions[index]
            rel = oracle.relocs.get((fn.section, fn.offset + slot * 8))
            if rel is not None and rel.sym_section == "SHN_UNDEF":
                _check_relocated(obj, oracle, fn, slot, orig, got)
                if (orig.op, got.src) in ((LDDW, PseudoSrc.BTF_ID), (CALL, CallSrc.KFUNC)):
                    assert rel.symbol in [e.name for e in prog.externs if e.insn == index]
            elif orig.op == CALL and orig.src == CallSrc.PSEUDO_CALL:
                callee = _expected_callee(oracle, fn, slot, orig.imm)
                assert first + slot + got.imm + 1 == first_slot[callee]
            elif orig.op == LDDW and rel is not None and rel.sym_section == ".text":
                # a callback address: (symbol + addend) / 8, made PSEUDO_FUNC
                target = rel.value + s32(orig.imm & M32)
                callee = oracle.functions[(".text", target)].name
                assert got.src == PseudoSrc.FUNC
                assert first + slot + s32(got.imm & M32) + 1 == first_slot[callee]
            elif rel is not None:
                _check_relocated(obj, oracle, fn, slot, orig, got)
            else:
                assert got == orig


@pytest.mark.parametrize("item", PROGRAMS, ids=_pid)
def test_btf_records_follow_the_code(item: tuple[Path, str]) -> None:
    path, name = item
    obj = load(path)
    prog = obj.programs[name]
    size = sum(i.width for i in prog.instructions) * 8
    layout = _function_slots(prog)
    if obj.btf_ext is not None and obj.btf_ext.func_info.get(prog.section):
        # one FUNC record at the start of each function, in link order
        assert [r.insn_off for r in prog.func_info] == [s * 8 for _, s, _ in layout]
    for r in (*prog.line_info, *prog.core_relos):
        assert 0 <= r.insn_off < size and r.insn_off % 8 == 0
    offs = [r.insn_off for r in prog.line_info]
    # sorted within each function's copy
    for _, first, count in layout:
        part = [o for o in offs if first * 8 <= o < (first + count) * 8]
        assert part == sorted(part)


def test_static_subprograms_are_copied_per_program() -> None:
    obj = load(TESTDATA / "bpf" / "bpf2bpf.o")
    a, b = obj.programs["xdp_calls"], obj.programs["tc_calls"]
    slots_a = {n: s for n, s, _ in _function_slots(a)}
    slots_b = {n: s for n, s, _ in _function_slots(b)}
    assert {"classify", "mix", "rotl"} <= slots_a.keys() & slots_b.keys()
    assert slots_a["classify"] != slots_b["classify"]


def test_callback_address() -> None:
    obj = load(TESTDATA / "bpf" / "btf_maps.o")
    prog = obj.programs["maps_tp"]
    funcs = [i for i in prog.instructions if i.op == LDDW and i.src == PseudoSrc.FUNC]
    assert len(funcs) == 1
    assert [n for n, _ in prog.functions] == ["maps_tp", "drain_one"]
