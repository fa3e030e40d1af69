"""An ELF object read into plain frozen records: sections, symbols, relocations.

This is the one place that touches pyelftools (the ELF header, and its
structs for the section headers) and the raw tables of symbols and relocations; it checks the
framing as it goes (section contents inside the file, table sizes, symbol and
section indexes, string offsets), so that everything downstream works on
sound records. Every problem is an ``ElfError`` with the section and file or
table offset; pyelftools' own exceptions never leak. This module knows
nothing of BPF conventions (programs, maps): that is ``ebpy.elf.loader``'s.

>>> read_image(b"nope")
Traceback (most recent call last):
ebpy.errors.ElfError: not an ELF file (offset 0x0)
"""

from __future__ import annotations

import io
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

from ebpy.errors import ElfError

EM_BPF = 247
ELF_MAGIC = b"\x7fELF"

SHT_NULL, SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_RELA = 0, 1, 2, 3, 4
SHT_NOBITS, SHT_REL = 8, 9
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 0x1, 0x2, 0x4
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION, STT_FILE = 0, 1, 2, 3, 4
STT_COMMON, STT_TLS, STT_GNU_IFUNC = 5, 6, 10
STB_LOCAL, STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE = 0, 1, 2, 10
STV_DEFAULT, STV_INTERNAL, STV_HIDDEN, STV_PROTECTED = 0, 1, 2, 3
SHN_UNDEF, SHN_LORESERVE, SHN_ABS, SHN_COMMON, SHN_XINDEX = 0, 0xFF00, 0xFFF1, 0xFFF2, 0xFFFF

R_BPF_NONE, R_BPF_64_64, R_BPF_64_ABS64, R_BPF_64_ABS32 = 0, 1, 2, 3
R_BPF_64_NODYLD32, R_BPF_64_32 = 4, 10
RELOC_NAMES = {
    R_BPF_NONE: "R_BPF_NONE",
    R_BPF_64_64: "R_BPF_64_64",
    R_BPF_64_ABS64: "R_BPF_64_ABS64",
    R_BPF_64_ABS32: "R_BPF_64_ABS32",
    R_BPF_64_NODYLD32: "R_BPF_64_NODYLD32",
    R_BPF_64_32: "R_BPF_64_32",
}

TYPE_NAMES = {0: "NOTYPE", 1: "OBJECT", 2: "FUNC", 3: "SECTION", 4: "FILE", 5: "COMMON", 6: "TLS"}
BIND_NAMES = {0: "LOCAL", 1: "GLOBAL", 2: "WEAK"}
VISIBILITY_NAMES = {0: "DEFAULT", 1: "INTERNAL", 2: "HIDDEN", 3: "PROTECTED"}

_SYM_SIZE = 24
_REL_SIZE = 16
_RELA_SIZE = 24


@dataclass(frozen=True, slots=True)
class Section:
    """A section header and its contents (empty for ``SHT_NOBITS``)."""

    index: int
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int
    data: bytes = field(repr=False)

    @property
    def is_exec(self) -> bool:
        return bool(self.flags & SHF_EXECINSTR)

    @property
    def is_alloc(self) -> bool:
        return bool(self.flags & SHF_ALLOC)

    @property
    def nobits(self) -> bool:
        return self.type == SHT_NOBITS


@dataclass(frozen=True, slots=True)
class ElfSymbol:
    """An entry of ``.symtab`` at ``index`` (``other`` is the raw ``st_other``)."""

    index: int
    name: str
    value: int
    size: int
    type: int
    bind: int
    other: int
    shndx: int

    @property
    def visibility(self) -> int:
        return self.other & 0x3

    @property
    def defined(self) -> bool:
        """In a real section (not undefined, absolute or common)."""
        return SHN_UNDEF < self.shndx < SHN_LORESERVE


@dataclass(frozen=True, slots=True)
class Reloc:
    """A relocation entry: ``addend`` is None in ``SHT_REL`` sections."""

    offset: int
    type: int
    sym: int
    addend: int | None = None


@dataclass(frozen=True, slots=True)
class RelSection:
    """A relocation section, the section it applies to and its entries."""

    section: Section
    target: int
    relocs: tuple[Reloc, ...]


@dataclass(frozen=True)
class ElfImage:
    """A whole object file: sections by index, symbols by index (0 is the null one)."""

    sections: tuple[Section, ...]
    symbols: tuple[ElfSymbol, ...]
    rel_sections: tuple[RelSection, ...]
    machine: int
    e_type: int
    little_endian: bool

    def section_named(self, name: str) -> Section | None:
        """The first section called ``name``."""
        for sec in self.sections:
            if sec.name == name:
                return sec
        return None

    def section_name(self, index: int) -> str:
        if 0 <= index < len(self.sections):
            return self.sections[index].name
        return ""

    def relocs_for(self, index: int) -> list[tuple[RelSection, Reloc]]:
        """The relocations that apply to section ``index``, in file order."""
        return [(rs, r) for rs in self.rel_sections if rs.target == index for r in rs.relocs]


def _num(value: object, names: Mapping[str, int]) -> int:
    """A pyelftools field as a number (it gives names for the values it knows)."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value in names:
        return names[value]
    raise ElfError(f"unexpected header value {value!r}")


def _string(table: Section, offset: int, what: str, where: int) -> str:
    if offset >= len(table.data) and not (offset == 0 and not table.data):
        raise ElfError(f"{what} name offset {offset} is outside {table.name}", table.name, where)
    end = table.data.find(b"\0", offset)
    if end < 0:
        end = len(table.data)
    return table.data[offset:end].decode("utf-8", "replace")


def _headers(data: bytes) -> tuple[dict[str, int], list[dict[str, object]], list[str]]:
    """ELF header fields, section headers and section names, through pyelftools' structs."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.enums import ENUM_E_MACHINE, ENUM_E_TYPE, ENUM_SH_TYPE_BASE

    elf = ELFFile(io.BytesIO(data))
    header = {
        "machine": _num(elf["e_machine"], ENUM_E_MACHINE),
        "type": _num(elf["e_type"], ENUM_E_TYPE),
        "shnum": elf.num_sections(),
    }
    shoff, entsize = elf["e_shoff"], elf["e_shentsize"]
    shdr = elf.structs.Elf_Shdr
    if header["shnum"] and entsize < shdr.sizeof():
        raise ElfError(f"section header size {entsize} is too small", offset=0x3A)
    headers: list[dict[str, object]] = []
    for i in range(header["shnum"]):
        at = shoff + i * entsize
        if at + shdr.sizeof() > len(data):
            raise ElfError(f"section header {i} lies past the end of the file", offset=at)
        h = dict(shdr.parse(data[at : at + shdr.sizeof()]))
        h["sh_type"] = _num(h["sh_type"], ENUM_SH_TYPE_BASE)
        headers.append(h)
    names = [""] * len(headers)
    if headers:
        index = elf.get_shstrndx()
        if not 0 <= index < len(headers):
            raise ElfError(f"section name table index {index} does not exist", offset=0x3E)
        start, size = headers[index]["sh_offset"], headers[index]["sh_size"]
        assert isinstance(start, int) and isinstance(size, int)
        if start + size > len(data):
            raise ElfError("the section name table lies past the end of the file", offset=start)
        table = data[start : start + size]
        for i, h in enumerate(headers):
            off = h["sh_name"]
            assert isinstance(off, int)
            if off and off >= len(table):
                raise ElfError(
                    f"section {i} has a name offset outside the name table",
                    offset=shoff + i * entsize,
                )
            end = table.find(b"\0", off)
            names[i] = table[off : end if end >= 0 else len(table)].decode("utf-8", "replace")
    return header, headers, names


def read_image(data: bytes) -> ElfImage:
    """Read and check the framing of an ELF object.

    Only 64-bit objects are read (every BPF object is one); the machine is
    not checked here (``ebpy.elf.loader`` wants ``EM_BPF``, the views do not).
    """
    if data[:4] != ELF_MAGIC:
        raise ElfError("not an ELF file", offset=0)
    if len(data) < 64:
        raise ElfError(f"truncated ELF header ({len(data)} bytes)", offset=0)
    if data[4] != 2:
        raise ElfError(f"not a 64-bit ELF object (class {data[4]})", offset=4)
    if data[5] not in (1, 2):
        raise ElfError(f"unknown ELF byte order {data[5]}", offset=5)
    try:
        header, raw_headers, names = _headers(data)
    except ElfError:
        raise
    except Exception as exc:  # pyelftools raises many kinds on malformed input
        raise ElfError(f"malformed ELF headers: {type(exc).__name__}: {exc}") from exc
    little = data[5] == 1
    sections = tuple(_section(data, i, h, names[i]) for i, h in enumerate(raw_headers))
    symbols, symtab = _symbols(sections, little)
    rels = tuple(
        _rel_section(sections, sec, len(symbols), little)
        for sec in sections
        if sec.type in (SHT_REL, SHT_RELA)
    )
    del symtab
    return ElfImage(sections, symbols, rels, header["machine"], header["type"], little)


def _section(data: bytes, index: int, h: dict[str, object], name: str) -> Section:
    fields = {k: v for k, v in h.items() if isinstance(v, int)}
    stype, offset, size = fields["sh_type"], fields["sh_offset"], fields["sh_size"]
    contents = b""
    if stype not in (SHT_NOBITS, SHT_NULL) and size:
        if offset + size > len(data):
            raise ElfError(
                f"contents ({size} bytes at {offset:#x}) run past the end of the file "
                f"({len(data)} bytes)",
                name,
                offset,
            )
        contents = data[offset : offset + size]
    return Section(
        index,
        name,
        stype,
        fields["sh_flags"],
        fields["sh_addr"],
        offset,
        size,
        fields["sh_link"],
        fields["sh_info"],
        fields["sh_addralign"],
        fields["sh_entsize"],
        contents,
    )


def _symbols(
    sections: tuple[Section, ...], little: bool
) -> tuple[tuple[ElfSymbol, ...], Section | None]:
    symtabs = [s for s in sections if s.type == SHT_SYMTAB]
    if not symtabs:
        return (), None
    symtab = symtabs[0]
    if len(symtab.data) % _SYM_SIZE:
        raise ElfError(
            f"size {symtab.size} is not a multiple of {_SYM_SIZE}", symtab.name, symtab.offset
        )
    if not 0 < symtab.link < len(sections) or sections[symtab.link].type != SHT_STRTAB:
        raise ElfError(f"string table index {symtab.link} is not a string table", symtab.name)
    strtab = sections[symtab.link]
    fmt = struct.Struct("<IBBHQQ" if little else ">IBBHQQ")
    out = []
    for i, (st_name, info, other, shndx, value, size) in enumerate(fmt.iter_unpack(symtab.data)):
        where = i * _SYM_SIZE
        if shndx == SHN_XINDEX:
            raise ElfError("extended section indexes are not supported", symtab.name, where)
        if SHN_UNDEF < shndx < SHN_LORESERVE and shndx >= len(sections):
            raise ElfError(
                f"symbol {i} names section {shndx}, which does not exist", symtab.name, where
            )
        stype = info & 0xF
        if stype == STT_SECTION and not st_name and SHN_UNDEF < shndx < SHN_LORESERVE:
            name = ""
        else:
            name = _string(strtab, st_name, "symbol", where)
        out.append(ElfSymbol(i, name, value, size, stype, info >> 4, other, shndx))
    return tuple(out), symtab


def _rel_section(
    sections: tuple[Section, ...], sec: Section, nsyms: int, little: bool
) -> RelSection:
    rela = sec.type == SHT_RELA
    size = _RELA_SIZE if rela else _REL_SIZE
    if len(sec.data) % size:
        raise ElfError(f"size {sec.size} is not a multiple of {size}", sec.name, sec.offset)
    if not 0 <= sec.info < len(sections):
        raise ElfError(f"applies to section {sec.info}, which does not exist", sec.name)
    order = "<" if little else ">"
    fmt = struct.Struct(order + ("QQq" if rela else "QQ"))
    relocs = []
    for i, entry in enumerate(fmt.iter_unpack(sec.data)):
        offset, info = entry[0], entry[1]
        sym = info >> 32
        if sym >= max(nsyms, 1):
            raise ElfError(
                f"relocation {i} names symbol {sym}, which does not exist", sec.name, i * size
            )
        relocs.append(Reloc(offset, info & 0xFFFFFFFF, sym, entry[2] if rela else None))
    return RelSection(sec, sec.info, tuple(relocs))
