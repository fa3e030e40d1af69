"""parse_btf_ext: func_info, line_info and CO-RE records of the committed objects and of
hand-built sections, in both byte orders, and every malformed-header case.

Oracles for the objects: each func_info entry must sit at the ELF symbol of its
function, and each line_info text must be the line of the C source it names.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from ebpy.btf.ext import (
    BtfExt,
    CoreRelo,
    CoreReloKind,
    FuncInfo,
    LineInfo,
    parse_btf_ext,
)
from ebpy.btf.types import Btf, Func, Kind
from ebpy.elf.btf_sections import load_object_btf, read_btf_sections
from ebpy.errors import BtfError
from tests.btf.rawbtf import ext_subsection, raw_ext

TESTDATA = Path(__file__).resolve().parents[1] / "testdata"
OBJECTS = sorted(TESTDATA.glob("*/*.o"))
KINDS_LE = TESTDATA / "btf" / "kinds.o"
KINDS_BE = TESTDATA / "btf" / "kinds_eb.o"
ORDERS = ["<", ">"]


def _load(obj: Path) -> tuple[Btf, BtfExt]:
    btf, ext = load_object_btf(obj.read_bytes())
    if btf is None or ext is None:
        pytest.skip("object without .BTF/.BTF.ext")
    return btf, ext


def _func_symbols(obj: Path) -> dict[tuple[str, str], int]:
    """(section name, function name) -> offset, from the ELF symbol table."""
    elf = ELFFile(io.BytesIO(obj.read_bytes()))
    out = {}
    symtab = elf.get_section_by_name(".symtab")
    assert isinstance(symtab, SymbolTableSection)
    for sym in symtab.iter_symbols():
        if sym["st_info"]["type"] == "STT_FUNC" and isinstance(sym["st_shndx"], int):
            section = elf.get_section(sym["st_shndx"]).name
            out[(section, sym.name)] = sym["st_value"]
    return out


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_func_info_sits_at_the_function_symbols(obj: Path) -> None:
    btf, ext = _load(obj)
    symbols = _func_symbols(obj)
    assert ext.func_info
    for section, infos in ext.func_info.items():
        offsets = [fi.insn_off for fi in infos]
        assert offsets == sorted(offsets) and offsets[0] == 0
        for fi in infos:
            func = btf[fi.type_id]
            assert isinstance(func, Func)
            assert symbols[(section, func.name)] == fi.insn_off


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_line_info_quotes_the_source(obj: Path) -> None:
    _, ext = _load(obj)
    checked = 0
    for section, lines in ext.line_info.items():
        assert section in ext.func_info
        for li in lines:
            assert li.insn_off % 8 == 0 and li.line >= 0 and li.column >= 0
            source = TESTDATA / li.file
            if li.line == 0:  # code the compiler made up (line 0, no text)
                assert li.text == ""
                continue
            if not source.exists():
                continue
            text = source.read_text().split("\n")
            assert text[li.line - 1] == li.text
            checked += 1
    assert checked or not any(
        TESTDATA.joinpath(li.file).exists() for v in ext.line_info.values() for li in v
    )


def _named(btf: Btf, relo: CoreRelo) -> tuple[str, str, str]:
    return relo.kind.short, btf[relo.type_id].name, relo.access


def test_core_relocations_of_kinds_o() -> None:
    btf, ext = _load(KINDS_LE)
    assert list(ext.core_relos) == ["xdp"]
    got = [_named(btf, r) for r in ext.core_relos["xdp"]]
    assert got == [
        ("byte_off", "task", "0:1:0"),  # t->sched.prio
        ("byte_off", "task", "0:1:1"),  # field_info(t->sched.flags, BYTE_OFFSET)
        ("byte_sz", "task", "0:1:1"),
        ("field_exists", "task", "0:2:2"),  # t->comm[2]
        ("signed", "task", "0:1:1"),
        ("lshift_u64", "task", "0:1:1"),
        ("rshift_u64", "task", "0:1:1"),
        ("local_type_id", "task", "0"),
        ("target_type_id", "task", "0"),
        ("type_exists", "task", "0"),
        ("type_size", "task", "0"),
        ("enumval_exists", "color", "1"),  # GREEN
        ("enumval_value", "color", "2"),  # BLUE
    ]
    assert ext.core_relo_rec_size == 16
    assert ext.func_info_rec_size == 8 and ext.line_info_rec_size == 16


def test_both_byte_orders_of_kinds() -> None:
    _, ext_le = _load(KINDS_LE)
    _, ext_be = _load(KINDS_BE)
    assert ext_le.core_relos == ext_be.core_relos
    assert {k: [fi.type_id for fi in v] for k, v in ext_le.func_info.items()} == {
        k: [fi.type_id for fi in v] for k, v in ext_be.func_info.items()
    }
    assert {(li.line, li.text) for v in ext_le.line_info.values() for li in v} == {
        (li.line, li.text) for v in ext_be.line_info.values() for li in v
    }


def test_strings_as_bytes_or_btf() -> None:
    btf, ext = _load(KINDS_LE)
    _, raw_ext_bytes = read_btf_sections(KINDS_LE.read_bytes())
    assert raw_ext_bytes is not None
    assert parse_btf_ext(raw_ext_bytes, btf.strings) == ext


# -- hand-built sections ----------------------------------------------------------------

STRINGS = b"\0prog\0file.c\0x = 1;\0" + b"0:1\0"
PROG, FILE, TEXT, ACCESS = 1, 6, 13, 20


def _full(order: str, **overrides: int) -> bytes:
    return raw_ext(
        order,
        func_info=ext_subsection(order, 8, [(PROG, [(0, 3), (16, 4)])]),
        line_info=ext_subsection(order, 16, [(PROG, [(0, FILE, TEXT, 7 << 10 | 5)])]),
        core_relo=ext_subsection(order, 16, [(PROG, [(8, 2, ACCESS, 0)])]),
        **overrides,
    )


@pytest.mark.parametrize("order", ORDERS)
def test_hand_built(order: str) -> None:
    ext = parse_btf_ext(_full(order), STRINGS)
    assert ext.func_info == {"prog": (FuncInfo(0, 3), FuncInfo(16, 4))}
    assert ext.line_info == {"prog": (LineInfo(0, "file.c", "x = 1;", 7, 5),)}
    assert ext.core_relos == {"prog": (CoreRelo(8, 2, "0:1", CoreReloKind.FIELD_BYTE_OFFSET),)}


def test_without_core_relo_header_fields() -> None:
    data = raw_ext(
        func_info=ext_subsection("<", 8, [(PROG, [(0, 3)])]), line_info=b"", core_relo=None
    )
    ext = parse_btf_ext(data, STRINGS)
    assert ext.func_info == {"prog": (FuncInfo(0, 3),)} and ext.line_info == {}
    assert ext.core_relos == {}


def test_larger_records_are_read_by_their_prefix() -> None:
    data = raw_ext(func_info=ext_subsection("<", 12, [(PROG, [(8, 3, 99)])]))
    ext = parse_btf_ext(data, STRINGS)
    assert ext.func_info == {"prog": (FuncInfo(8, 3),)} and ext.func_info_rec_size == 12


def test_sections_repeat() -> None:
    fi = ext_subsection("<", 8, [(PROG, [(0, 3)]), (PROG, [(8, 4)])])
    ext = parse_btf_ext(raw_ext(func_info=fi), STRINGS)
    assert ext.func_info == {"prog": (FuncInfo(0, 3), FuncInfo(8, 4))}


def _with(offset: int, fmt: str, value: int) -> Callable[[bytes], bytes]:
    def mutate(data: bytes) -> bytes:
        out = bytearray(data)
        struct.pack_into(fmt, out, offset, value)
        return bytes(out)

    return mutate


FI_START = 32  # func_info starts right after the 32-byte header
# name -> (mutation of _full("<"), expected offset)
BAD: dict[str, tuple[Callable[[bytes], bytes], int]] = {
    "empty": (lambda d: b"", 0),
    "short": (lambda d: d[:7], 0),
    "bad magic": (_with(0, "<H", 0x1234), 0),
    "version": (_with(2, "<B", 2), 2),
    "flags": (_with(3, "<B", 1), 3),
    "hdr_len small": (_with(4, "<I", 20), 4),
    "hdr_len past the end": (_with(4, "<I", 10_000), 4),
    "func_info unaligned": (_with(8, "<I", 2), 8),
    "func_info past the end": (_with(12, "<I", 10_000), 8),
    "func_info off past the end": (_with(8, "<I", 0xFFFFFFF0), 8),
    "record size too small": (_with(FI_START, "<I", 4), FI_START),
    "record size unaligned": (_with(FI_START, "<I", 10), FI_START),
    "no record size": (_with(12, "<I", 2), FI_START),
    "zero records": (_with(FI_START + 8, "<I", 0), FI_START + 8),
    "too many records": (_with(FI_START + 8, "<I", 3), FI_START + 8),
    "section name past the strings": (_with(FI_START + 4, "<I", 999), FI_START + 4),
    "section header truncated": (_with(12, "<I", 4 + 8 + 16 + 4), FI_START + 4 + 8 + 16),
    "line file past the strings": (_with(FI_START + 28 + 12 + 4, "<I", 999), FI_START + 28 + 12),
    "relo access past the strings": (
        _with(FI_START + 28 + 28 + 12 + 8, "<I", 999),
        FI_START + 28 + 28 + 12,
    ),
    "relo kind unknown": (_with(FI_START + 28 + 28 + 12 + 12, "<I", 13), FI_START + 28 + 28 + 12),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_ext(case: str) -> None:
    mutate, offset = BAD[case]
    data = mutate(_full("<"))
    with pytest.raises(BtfError) as info:
        parse_btf_ext(data, STRINGS)
    assert info.value.section == ".BTF.ext"
    assert info.value.offset == offset


def test_names_resolve_through_split_strings() -> None:
    from ebpy.btf.parse import parse_btf
    from tests.btf.rawbtf import RawBtf

    base_raw = RawBtf()
    base_raw.add(Kind.INT, "int", third=4, trailing=[32])
    base = parse_btf(base_raw.data())
    top = RawBtf(first_id=2, str_start=len(base.strings))
    prog = top.name("prog")
    top.add(Kind.PTR, third=1)
    split = parse_btf(top.data(), base=base)
    data = raw_ext(func_info=ext_subsection("<", 8, [(prog, [(0, 2)])]))
    assert parse_btf_ext(data, split).func_info == {"prog": (FuncInfo(0, 2),)}
