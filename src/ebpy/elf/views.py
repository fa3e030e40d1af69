"""What ``llvm-objdump -h``, ``-t`` and ``-r`` (LLVM 14) print for an ELF object.

Each function returns one block of llvm-objdump's output, byte for byte:
``file_header`` the ``\\n<file>:\\tfile format elf64-bpf\\n`` line,
``section_headers`` the ``Sections:`` table, ``symbol_table`` the
``SYMBOL TABLE:`` listing and ``relocations`` every ``RELOCATION RECORDS
FOR [...]`` block. ``llvm-objdump -h -t -r F`` is their concatenation in
that order (``objdump``). The rules are llvm-objdump's: a 13-column minimum
for section names, the TEXT/DATA/BSS/DEBUG type column, the ``l g u w d
f F O`` flag columns and ``*ABS*``/``*UND*``/``*COM*`` for symbols, section
names for section symbols, ``*ABS*`` for relocations without a symbol and
``+0x``/``-0x`` addends of RELA entries.

``disassembly`` is ``-d``: the existing llvm-style disassembler per code
section, with ``-r`` relocations inline after their instruction and, for
``-S``, source lines before instructions as llvm-objdump prints them: from
the DWARF line table and the source files (``ebpy.elf.source_lines``).
Objects without DWARF get the lines of their ``.BTF.ext`` line info, where
llvm-objdump prints none.

These are views of the file as it is: no BPF conventions, no loading.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

from ebpy.elf.image import (
    RELOC_NAMES,
    SHF_ALLOC,
    SHN_ABS,
    SHN_COMMON,
    SHT_NOBITS,
    SHT_PROGBITS,
    STB_GNU_UNIQUE,
    STB_LOCAL,
    STB_WEAK,
    STT_COMMON,
    STT_FILE,
    STT_FUNC,
    STT_GNU_IFUNC,
    STT_OBJECT,
    STT_SECTION,
    ElfImage,
    ElfSymbol,
    Section,
    read_image,
)
from ebpy.elf.source_lines import SourcePrinter
from ebpy.errors import ElfError

ET_REL = 1
_FORMATS = {247: "elf64-bpf", 62: "elf64-x86-64", 183: "elf64-littleaarch64"}
_VISIBILITY = {0: "", 1: " .internal", 2: " .hidden", 3: " .protected"}


def _image(data: bytes | ElfImage) -> ElfImage:
    return data if isinstance(data, ElfImage) else read_image(data)


def file_format(image: ElfImage) -> str:
    """llvm's name of the object's format (``elf64-bpf``)."""
    return _FORMATS.get(image.machine, "elf64-unknown")


def file_header(data: bytes | ElfImage, path: str) -> str:
    """The line llvm-objdump starts with, and the blank line before it."""
    return f"\n{path}:\tfile format {file_format(_image(data))}\n"


def _section_type(sec: Section) -> str:
    kinds = []
    if sec.is_exec:
        kinds.append("TEXT")
    if sec.type == SHT_PROGBITS and sec.flags & SHF_ALLOC and not sec.is_exec:
        kinds.append("DATA")
    if sec.type == SHT_NOBITS and sec.flags & SHF_ALLOC:
        kinds.append("BSS")
    if sec.name.startswith((".debug", ".zdebug")) or sec.name == ".gdb_index":
        kinds.append("DEBUG")
    return ", ".join(kinds)


def section_headers(data: bytes | ElfImage) -> str:
    """``llvm-objdump -h``'s table (without the file header).

    Names are padded to the longest (13 at least); the type column joins
    TEXT, DATA, BSS and DEBUG as llvm decides them from flags and names.
    """
    image = _image(data)
    width = max([13, *(len(s.name) for s in image.sections)])
    lines = ["", "Sections:", f"Idx {'Name':<{width}} Size     {'VMA':<16} Type"]
    for sec in image.sections:
        lines.append(
            f"{sec.index:3d} {sec.name:<{width}} {sec.size:08x} {sec.addr:016x} "
            f"{_section_type(sec)}"
        )
    return "\n".join(lines) + "\n"


def _symbol_line(image: ElfImage, sym: ElfSymbol) -> str:
    in_section = sym.defined
    absolute = sym.shndx == SHN_ABS
    common = sym.shndx == SHN_COMMON or sym.type == STT_COMMON
    weak = sym.bind == STB_WEAK
    glob = " "
    if (in_section or absolute) and not weak:
        glob = "l" if sym.bind == STB_LOCAL else "g"
    if sym.bind == STB_GNU_UNIQUE:
        glob = "u"
    ifunc = "i" if sym.type == STT_GNU_IFUNC else " "
    debug = "d" if sym.type in (STT_SECTION, STT_FILE) else " "
    kind = {STT_FILE: "f", STT_FUNC: "F", STT_OBJECT: "O", STT_COMMON: "O"}.get(sym.type, " ")
    if absolute:
        where = "*ABS*"
    elif common:
        where = "*COM*"
    elif not in_section:
        where = "*UND*"
    else:
        where = image.sections[sym.shndx].name
    address = sym.value
    if in_section and image.e_type == ET_REL:
        address += image.sections[sym.shndx].addr
    name = sym.name
    if sym.type == STT_SECTION and in_section:
        name = image.sections[sym.shndx].name
    vis = _VISIBILITY.get(sym.other, f" 0x{sym.other:02x}")
    flags = f"{glob}{'w' if weak else ' '}  {ifunc}{debug}{kind}"
    return f"{address:016x} {flags} {where}\t{sym.size:016x}{vis} {name}"


def symbol_table(data: bytes | ElfImage) -> str:
    """``llvm-objdump -t``'s listing (without the file header)."""
    image = _image(data)
    lines = ["", "SYMBOL TABLE:"]
    lines += [_symbol_line(image, s) for s in image.symbols[1:]]
    return "\n".join(lines) + "\n"


def _reloc_value(image: ElfImage, sym_index: int, addend: int | None) -> str:
    if sym_index == 0:
        text = "*ABS*"
    else:
        sym = image.symbols[sym_index]
        if sym.type == STT_SECTION:
            text = image.section_name(sym.shndx) if sym.defined else ""
        else:
            text = sym.name
    if addend:
        text += f"-0x{-addend:x}" if addend < 0 else f"+0x{addend:x}"
    return text


def relocations(data: bytes | ElfImage) -> str:
    """``llvm-objdump -r``'s blocks, one per relocated section (no file header)."""
    image = _image(data)
    if image.e_type != ET_REL:
        return ""
    groups: dict[int, list[str]] = {}
    for rs in image.rel_sections:
        if not rs.relocs:
            continue
        lines = groups.setdefault(rs.target, [])
        for r in rs.relocs:
            name = RELOC_NAMES.get(r.type, "Unknown")
            lines.append(f"{r.offset:016x} {name:<24} {_reloc_value(image, r.sym, r.addend)}")
    out = []
    for target, lines in groups.items():
        out.append(f"\nRELOCATION RECORDS FOR [{image.section_name(target)}]:\n")
        out.append(f"{'OFFSET':<16} {'TYPE':<24} VALUE\n")
        out.extend(line + "\n" for line in lines)
    return "".join(out)


def objdump(
    data: bytes | ElfImage,
    path: str,
    *,
    headers: bool = False,
    symbols: bool = False,
    relocs: bool = False,
    disassemble: bool = False,
    source: bool = False,
    btf_fallback: bool = False,
    warn: Callable[[str], None] | None = None,
) -> str:
    """``llvm-objdump`` with any of ``-h``, ``-t``, ``-r``, ``-d``, ``-S``, in its order.

    ``btf_fallback`` and ``warn`` are ``disassembly``'s, for ``-S``.
    """
    image = _image(data)
    out = [file_header(image, path)]
    if headers:
        out.append(section_headers(image))
    if symbols:
        out.append(symbol_table(image))
    disassemble = disassemble or source
    if relocs and not disassemble:
        out.append(relocations(image))
    if disassemble:
        out.append(
            disassembly(image, relocs=relocs, source=source, btf_fallback=btf_fallback, warn=warn)
        )
    return "".join(out)


def _code_symbols(image: ElfImage, index: int) -> dict[int, str]:
    """The labels llvm-objdump shows in a code section (as ``read_code_sections``)."""
    order = {0: 0, 1: 1, 2: 2}  # NOTYPE, OBJECT, FUNC
    found = sorted(
        (s.value, order.get(s.type, 3), s.name)
        for s in image.symbols
        if s.shndx == index and s.name and s.type not in (STT_SECTION, STT_FILE)
    )
    return {value: name for value, _, name in found}


_INSN_LINE = re.compile(r"^ *(\d+):\t([0-9a-f ]+)\t")


def disassembly(
    data: bytes | ElfImage,
    *,
    relocs: bool = False,
    source: bool = False,
    btf_fallback: bool = False,
    warn: Callable[[str], None] | None = None,
    sections: Collection[str] | None = None,
) -> str:
    """``llvm-objdump -d`` (with ``-r``: relocations inline; ``-S``: source lines).

    ``sections`` keeps only the code sections of those names (all by default).

    Source lines follow ``ebpy.elf.source_lines``: DWARF and the source
    files as llvm-objdump reads them (relative to the current directory),
    ``btf_fallback`` for BTF line text where a file cannot be read, BTF
    line info for objects without DWARF. ``warn`` gets llvm's warnings.
    """
    from ebpy.isa.disasm import objdump_text

    image = _image(data)
    if not image.little_endian:
        raise ElfError("disassembling a big-endian object is not supported", offset=5)
    printer = SourcePrinter(image, btf_fallback=btf_fallback, warn=warn) if source else None
    out = []
    for sec in image.sections:
        if not (sec.is_exec and sec.type == SHT_PROGBITS and sec.size):
            continue
        if sections is not None and sec.name not in sections:
            continue
        syms = {o: n for o, n in _code_symbols(image, sec.index).items() if o < sec.size}
        block = objdump_text(sec.name, syms, sec.data)
        notes: dict[int, list[str]] = {}
        if relocs:
            for _, r in image.relocs_for(sec.index):
                name = RELOC_NAMES.get(r.type, "Unknown")
                value = _reloc_value(image, r.sym, r.addend)
                notes.setdefault(r.offset, []).append(f"\t\t{r.offset:016x}:  {name}\t{value}\n")
        text = []
        for line in block.splitlines(keepends=True):
            m = _INSN_LINE.match(line)
            if m is None:
                text.append(line)
                continue
            start = int(m.group(1)) * 8
            end = start + len(m.group(2).split())
            if printer is not None:
                text.append(printer.before(sec, start))
            text.append(line)
            for offset in sorted(o for o in notes if start <= o < end):
                text.extend(notes[offset])
        out.append("\n" + "".join(text))
    return "".join(out)


__all__ = [
    "disassembly",
    "file_format",
    "file_header",
    "objdump",
    "relocations",
    "section_headers",
    "symbol_table",
]
