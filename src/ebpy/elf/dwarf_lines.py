"""The DWARF line information of an object, looked up as llvm's symbolizer does.

``read_dwarf_lines(image)`` reads every compile unit of ``.debug_info``
and the line program each one points to in ``.debug_line``, and gives a
``DwarfLines`` whose ``locate(section, address)`` answers what
``llvm-objdump -S`` (LLVM 14) asks its symbolizer for an instruction: the
path of the source file and the line, or ``INVALID``. The steps are llvm's:

- the relocations of the debug sections are applied first, with llvm's
  resolvers (``S + A`` for BPF's ``R_BPF_64_ABS64``/``ABS32``, the addend
  being what the field holds), and each relocated ``DW_LNE_set_address``
  remembers the ELF section of its symbol;
- the compile unit of an address comes from ``.debug_aranges`` and else the
  ranges of the unit DIEs (``DW_AT_low_pc``/``high_pc`` or ``DW_AT_ranges``),
  by address alone: in an object every section starts at 0;
- the row comes from ``ebpy.elf.line_table`` (sequences of the address's
  section, the last row at or below the address);
- the path is ``comp_dir / include_directory / file_name`` joined as llvm's
  ``sys::path::append`` joins them, with no clean-up: ``clang -g`` with a
  comp_dir of ``.`` gives ``././prog.c``, which is opened relative to the
  current directory. Absolute names and directories stand alone.

pyelftools reads the unit DIEs, range lists and line program headers (the
constructor of ``DWARFInfo`` is given the relocated sections); the opcodes
are decoded in ``ebpy.elf.line_table`` because the section of an address
comes from where its operand lies. Every failure of pyelftools on a
malformed object becomes an ``ElfError``. This module does not read source
files or print anything (``ebpy.elf.source_lines``).
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ebpy.elf.image import SHN_LORESERVE, ElfImage, Section
from ebpy.elf.line_table import UNDEF_SECTION, LineTable, ProgramHeader, decode_program
from ebpy.errors import ElfError

BAD_PATH = "<invalid>"
ET_REL = 1
SHF_COMPRESSED = 0x800
ELFCOMPRESS_ZLIB = 1
_U64 = (1 << 64) - 1
_U32 = (1 << 32) - 1

# (e_machine, relocation type) -> (field width, value from S, the field, the addend)
Resolver = Callable[[int, int, int], int]
_RESOLVERS: dict[tuple[int, int], tuple[int, Resolver]] = {
    (247, 2): (8, lambda s, loc, a: s + loc),  # R_BPF_64_ABS64
    (247, 3): (4, lambda s, loc, a: (s + loc) & _U32),  # R_BPF_64_ABS32
    (62, 1): (8, lambda s, loc, a: s + a),  # R_X86_64_64
    (62, 10): (4, lambda s, loc, a: (s + a) & _U32),  # R_X86_64_32
    (62, 11): (4, lambda s, loc, a: (s + a) & _U32),  # R_X86_64_32S
    (183, 257): (8, lambda s, loc, a: s + a),  # R_AARCH64_ABS64
    (183, 258): (4, lambda s, loc, a: (s + a) & _U32),  # R_AARCH64_ABS32
}

# pyelftools' DWARFInfo keyword for each section it reads.
_SECTIONS = {
    ".debug_info": "debug_info_sec",
    ".debug_abbrev": "debug_abbrev_sec",
    ".debug_aranges": "debug_aranges_sec",
    ".debug_str": "debug_str_sec",
    ".debug_line": "debug_line_sec",
    ".debug_addr": "debug_addr_sec",
    ".debug_str_offsets": "debug_str_offsets_sec",
    ".debug_line_str": "debug_line_str_sec",
    ".debug_rnglists": "debug_rnglists_sec",
    ".debug_ranges": "debug_ranges_sec",
    ".debug_loclists": "debug_loclists_sec",
    ".debug_loc": "debug_loc_sec",
}
_UNUSED = (
    "debug_frame_sec",
    "eh_frame_sec",
    "debug_pubtypes_sec",
    "debug_pubnames_sec",
    "debug_sup_sec",
    "gnu_debugaltlink_sec",
    "debug_types_sec",
)
_ADDRESS_FORMS = {"DW_FORM_addr", "DW_FORM_addrx", "DW_FORM_addrx1", "DW_FORM_addrx2"}
_ADDRESS_FORMS |= {"DW_FORM_addrx3", "DW_FORM_addrx4", "DW_FORM_GNU_addr_index"}
_CONSTANT_FORMS = {"DW_FORM_data1", "DW_FORM_data2", "DW_FORM_data4", "DW_FORM_data8"}
_CONSTANT_FORMS |= {"DW_FORM_udata"}


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where an instruction comes from: llvm's ``DILineInfo`` as ``-S`` uses it.

    ``path`` is ``BAD_PATH`` and ``line`` 0 when nothing is known;
    ``source`` is the file's text when the object embeds it
    (``DW_LNCT_LLVM_source``).
    """

    path: str
    line: int
    column: int = 0
    source: bytes | None = None


INVALID = SourceLocation(BAD_PATH, 0)


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A file of a line program's header: name, directory index, embedded text."""

    name: bytes | None
    dir_index: int
    source: bytes | None = None


@dataclass(frozen=True)
class Unit:
    """A compile unit: where it lies in ``.debug_info``, its directory, its line table."""

    offset: int
    end: int
    comp_dir: bytes
    version: int = 5
    include_dirs: tuple[bytes | None, ...] = ()
    files: tuple[FileEntry, ...] = ()
    table: LineTable | None = None

    def file_path(self, index: int) -> tuple[str, bytes | None] | None:
        """The path of file ``index`` as llvm makes an absolute one, and its text."""
        files = list(self.files)
        if self.table is not None:
            files += [FileEntry(f.name, f.dir_index) for f in self.table.defined_files]
        if self.version >= 5:
            entry = files[index] if 0 <= index < len(files) else None
        else:
            entry = files[index - 1] if 1 <= index <= len(files) else None
        if entry is None or entry.name is None:
            return None
        name = entry.name
        if _is_absolute(name):
            return os.fsdecode(name), entry.source
        dirs, at = self.include_dirs, entry.dir_index
        if self.version < 5:
            at -= 1
        include = (dirs[at] or b"") if 0 <= at < len(dirs) else b""
        path = b""
        if self.comp_dir and not _is_absolute(include):
            path = _append(path, self.comp_dir)
        path = _append(_append(path, include), name)
        return os.fsdecode(path), entry.source


def _is_absolute(path: bytes) -> bool:
    """Absolute for POSIX (``/x``) or for Windows (``C:\\x``, ``\\\\host\\x``)."""
    if path.startswith(b"/"):
        return True
    if len(path) >= 3 and path[1:2] == b":" and path[2:3] in (b"\\", b"/"):
        return path[:1].isalpha()
    return (
        len(path) > 2 and path[:2] in (b"\\\\", b"//", b"\\/", b"/\\") and path[2:3] not in b"\\/"
    )


def _append(path: bytes, component: bytes) -> bytes:
    """``llvm::sys::path::append`` (POSIX): one ``/`` between parts, nothing cleaned."""
    if not component:
        return path
    if path.endswith(b"/"):
        return path + component.lstrip(b"/")
    root_name = component.startswith(b"//") and component[2:3] not in (b"", b"/")
    if not component.startswith(b"/") and path and not root_name:
        path += b"/"
    return path + component


def _section_data(sec: Section, little: bool) -> bytes:
    if not sec.flags & SHF_COMPRESSED:
        return sec.data
    if len(sec.data) < 24:
        raise ElfError("compressed section without its header", sec.name, 0)
    ctype, _, size, _ = struct.unpack("<IIQQ" if little else ">IIQQ", sec.data[:24])
    if ctype != ELFCOMPRESS_ZLIB:
        raise ElfError(f"unsupported compression type {ctype}", sec.name, 0)
    try:
        data = zlib.decompress(sec.data[24:])
    except zlib.error as exc:
        raise ElfError(f"bad zlib data: {exc}", sec.name, 24) from exc
    if len(data) != size:
        raise ElfError(f"decompressed to {len(data)} bytes, not {size}", sec.name, 0)
    return data


def relocated(image: ElfImage, sec: Section) -> tuple[bytes, dict[int, int]]:
    """The contents of debug section ``sec`` with its relocations applied as llvm does.

    Also returns, for each relocated field, the ELF section index of its
    symbol (``UNDEF_SECTION`` for absolute or undefined symbols). Relocation
    types llvm cannot resolve in debug info are left out, as llvm leaves them.
    """
    data = bytearray(_section_data(sec, image.little_endian))
    order: Literal["little", "big"] = "little" if image.little_endian else "big"
    where: dict[int, int] = {}
    for _, rel in image.relocs_for(sec.index):
        known = _RESOLVERS.get((image.machine, rel.type))
        if known is None or rel.offset in where:
            continue
        width, resolve = known
        if rel.offset + width > len(data):
            continue
        sym = image.symbols[rel.sym] if 0 < rel.sym < len(image.symbols) else None
        value, index = 0, UNDEF_SECTION
        if sym is not None:
            value = sym.value
            if 0 < sym.shndx < min(SHN_LORESERVE, len(image.sections)):
                index = sym.shndx
                if image.e_type == ET_REL:
                    value += image.sections[sym.shndx].addr
        loc = int.from_bytes(data[rel.offset : rel.offset + width], order)
        result = resolve(value, loc, rel.addend or 0) & ((1 << (8 * width)) - 1)
        data[rel.offset : rel.offset + width] = result.to_bytes(width, order)
        where[rel.offset] = index
    return bytes(data), where


class DwarfLines:
    """The compile units of an object and the address ranges that lead to each."""

    def __init__(self, units: list[Unit], ranges: list[tuple[int, int, int]]) -> None:
        self.units = units
        self._aranges = _construct_aranges(ranges)
        self._highs = [high for _, high, _ in self._aranges]

    def unit_at(self, address: int) -> Unit | None:
        """The unit llvm picks for ``address`` (``DWARFDebugAranges::findAddress``)."""
        at = bisect_right(self._highs, address)
        if at == len(self._aranges) or self._aranges[at][0] > address:
            return None
        offset = self._aranges[at][2]
        return next((u for u in self.units if u.offset <= offset < u.end), None)

    def locate(self, section: int, address: int) -> SourceLocation:
        """File and line of the instruction at ``address`` in ELF section ``section``."""
        unit = self.unit_at(address)
        if unit is None or unit.table is None:
            return INVALID
        row = unit.table.lookup(section, address)
        if row is None:
            return INVALID
        found = unit.file_path(row.file)
        if found is None:
            return INVALID
        return SourceLocation(found[0], row.line, row.column, found[1])


def _construct_aranges(ranges: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """llvm's ``DWARFDebugAranges::construct``: disjoint ranges, each with one unit."""
    ends = sorted(
        [(low, True, cu) for low, high, cu in ranges if low < high]
        + [(high, False, cu) for low, high, cu in ranges if low < high],
        key=lambda e: e[0],
    )
    out: list[tuple[int, int, int]] = []
    valid: list[int] = []
    prev = None
    for address, start, cu in ends:
        if prev is not None and prev < address and valid:
            if out and out[-1][1] == prev and out[-1][2] in valid:
                out[-1] = (out[-1][0], address, out[-1][2])
            else:
                out.append((prev, address, min(valid)))
        if start:
            valid.append(cu)
        else:
            valid.remove(cu)
        prev = address
    return out


def _dwarf_info(image: ElfImage) -> tuple[Any, dict[str, tuple[bytes, dict[int, int]]]]:
    from elftools.dwarf.dwarfinfo import DebugSectionDescriptor, DwarfConfig, DWARFInfo

    found: dict[str, tuple[bytes, dict[int, int]]] = {}
    for sec in image.sections:
        if sec.name in _SECTIONS and sec.name not in found and sec.size:
            found[sec.name] = relocated(image, sec)
    kwargs: dict[str, Any] = dict.fromkeys((*_SECTIONS.values(), *_UNUSED))
    for name, (data, _) in found.items():
        kwargs[_SECTIONS[name]] = DebugSectionDescriptor(io.BytesIO(data), name, None, len(data), 0)
    config = DwarfConfig(image.little_endian, "BPF", 8)
    return DWARFInfo(config=config, **kwargs), found


def _attr(die: Any, name: str) -> Any:
    return die.attributes.get(name)


def _unit_ranges(dwarf: Any, cu: Any, top: Any) -> list[tuple[int, int]]:
    """``DWARFDie::getAddressRanges`` of a unit DIE."""
    low, high = _attr(top, "DW_AT_low_pc"), _attr(top, "DW_AT_high_pc")
    tombstone = _U64 if cu["address_size"] == 8 else (1 << (8 * cu["address_size"])) - 1
    if (
        low is not None
        and low.form in _ADDRESS_FORMS
        and high is not None
        and low.value != tombstone
    ):
        if high.form in _ADDRESS_FORMS:
            return [(low.value, high.value)]
        if high.form in _CONSTANT_FORMS:
            return [(low.value, (low.value + high.value) & _U64)]
    ranges = _attr(top, "DW_AT_ranges")
    if ranges is None:
        return []
    lists = dwarf.range_lists()
    if lists is None:
        raise ElfError("DW_AT_ranges without a range list section", ".debug_info", cu.cu_offset)
    base_attr = low if low is not None else _attr(top, "DW_AT_entry_pc")
    base = base_attr.value if base_attr is not None and base_attr.form in _ADDRESS_FORMS else None
    v5 = cu["version"] >= 5
    out = []
    for entry in lists.get_range_list_at_offset(ranges.value, cu=cu):
        if not hasattr(entry, "begin_offset"):
            base = entry.base_address
            continue
        begin, end = entry.begin_offset, entry.end_offset
        if not entry.is_absolute and base is not None:
            if v5 and base == tombstone:
                continue
            begin, end = (begin + base) & _U64, (end + base) & _U64
        if v5 and begin == tombstone:
            continue
        out.append((begin, end))
    return out


def _line_unit(dwarf: Any, cu: Any, top: Any, line: tuple[bytes, dict[int, int]]) -> Unit:
    comp = _attr(top, "DW_AT_comp_dir")
    comp_dir = comp.value if comp is not None and isinstance(comp.value, bytes) else b""
    end = cu.cu_offset + cu.size
    program = dwarf.line_program_for_CU(cu)
    if program is None:
        return Unit(cu.cu_offset, end, comp_dir)
    h = program.header
    version = h["version"]
    if version >= 5:
        dirs = tuple(_text(d.get("DW_LNCT_path")) for d in h.get("directories") or ())
        files = tuple(
            FileEntry(
                _text(f.get("DW_LNCT_path")),
                int(f.get("DW_LNCT_directory_index") or 0),
                _text(f.get("DW_LNCT_LLVM_source")),
            )
            for f in h.get("file_names") or ()
        )
    else:
        dirs = tuple(_text(d) for d in h.get("include_directory") or ())
        files = tuple(FileEntry(_text(f.name), int(f.dir_index)) for f in h.get("file_entry") or ())
    data, where = line
    offset = _attr(top, "DW_AT_stmt_list").value
    wide = data[offset : offset + 4] == b"\xff\xff\xff\xff"
    header_length_at = offset + (12 if wide else 4) + 2 + (2 if version >= 5 else 0)
    start = header_length_at + (8 if wide else 4) + h["header_length"]
    header = ProgramHeader(
        version,
        h["minimum_instruction_length"],
        h["default_is_stmt"],
        h["line_base"],
        h["line_range"],
        h["opcode_base"],
        tuple(h["standard_opcode_lengths"]),
    )
    little = dwarf.config.little_endian
    table = decode_program(data, start, program.program_end_offset, header, where, little=little)
    return Unit(cu.cu_offset, end, comp_dir, version, dirs, files, table)


def _text(value: object) -> bytes | None:
    return value if isinstance(value, bytes) else None


def read_dwarf_lines(image: ElfImage) -> DwarfLines | None:
    """The line information of ``image``; None when it has no ``.debug_info``/``.debug_line``."""
    names = {s.name for s in image.sections if s.size}
    if not {".debug_info", ".debug_line"} <= names:
        return None
    try:
        dwarf, found = _dwarf_info(image)
        units: list[Unit] = []
        ranges: list[tuple[int, int, int]] = []
        parsed: set[int] = set()
        aranges = dwarf.get_aranges()
        for entry in aranges.entries if aranges is not None else ():
            ranges.append((entry.begin_addr, entry.begin_addr + entry.length, entry.info_offset))
            parsed.add(entry.info_offset)
        for cu in dwarf.iter_CUs():
            top = cu.get_top_DIE()
            units.append(_line_unit(dwarf, cu, top, found[".debug_line"]))
            if cu.cu_offset not in parsed:
                ranges += [(lo, hi, cu.cu_offset) for lo, hi in _unit_ranges(dwarf, cu, top)]
    except ElfError:
        raise
    except Exception as exc:  # pyelftools raises many kinds on malformed input
        raise ElfError(f"malformed DWARF: {type(exc).__name__}: {exc}", ".debug_info") from exc
    return DwarfLines(units, ranges)


__all__ = [
    "BAD_PATH",
    "INVALID",
    "DwarfLines",
    "FileEntry",
    "SourceLocation",
    "Unit",
    "read_dwarf_lines",
    "relocated",
]
