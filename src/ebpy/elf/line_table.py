"""A DWARF line table: the rows of a line number program and llvm's lookup in them.

``decode_program`` runs the state machine of DWARF 2-5 (section 6.2) over
the opcodes of one line number program and returns a ``LineTable``: every
row the program appends, and its sequences (the runs of rows closed by
``DW_LNE_end_sequence``). The rules are the ones llvm's ``DWARFDebugLine``
follows (LLVM 14), so that ``LineTable.lookup`` answers what
``llvm-objdump`` and ``llvm-symbolizer`` answer:

- an address carries the ELF section its ``DW_LNE_set_address`` operand was
  relocated against (``UNDEF_SECTION`` when it had no relocation), and an
  address is found only in a sequence of its own section, or else in one
  without a section;
- the row of an address is the last row of its sequence at or below it
  (of several rows at one address, the last: a function's opening line
  gives way to the first line of its body);
- an unknown standard opcode is skipped by its operand count, an extended
  one by its length; ``line_range`` 0 advances nothing; line numbers wrap
  at 32 bits and addresses at 64;
- a sequence whose end is not above its start is dropped, and so are rows
  after the last ``DW_LNE_end_sequence``.

It is not a reader of the program's header (``ebpy.elf.dwarf_lines`` gets
that from pyelftools) and knows nothing of files or source text.
Truncated programs raise ``ElfError`` where llvm would warn and stop.

>>> # set_address 0x10, copy, special opcode (line +1, address +8), end_sequence
>>> prog = bytes([0, 9, 2, 16, 0, 0, 0, 0, 0, 0, 0, 1, 13 + 6 + 14, 0, 1, 1])
>>> table = decode_program(prog, 0, len(prog), ProgramHeader(5, 8, 1, -5, 14, 13, (0,) * 12))
>>> [(r.address, r.line) for r in table.rows]
[(16, 1), (24, 2), (24, 2)]
>>> table.lookup(UNDEF_SECTION, 20).line, table.lookup(3, 23).line, table.lookup(3, 24)
(1, 1, None)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from ebpy.errors import ElfError

UNDEF_SECTION = (1 << 64) - 1
_U64 = (1 << 64) - 1
_U32 = (1 << 32) - 1

DW_LNS_COPY, DW_LNS_ADVANCE_PC, DW_LNS_ADVANCE_LINE, DW_LNS_SET_FILE = 1, 2, 3, 4
DW_LNS_SET_COLUMN, DW_LNS_NEGATE_STMT, DW_LNS_SET_BASIC_BLOCK = 5, 6, 7
DW_LNS_CONST_ADD_PC, DW_LNS_FIXED_ADVANCE_PC, DW_LNS_SET_PROLOGUE_END = 8, 9, 10
DW_LNS_SET_EPILOGUE_BEGIN, DW_LNS_SET_ISA = 11, 12
DW_LNE_END_SEQUENCE, DW_LNE_SET_ADDRESS, DW_LNE_DEFINE_FILE, DW_LNE_SET_DISCRIMINATOR = 1, 2, 3, 4


@dataclass(frozen=True, slots=True)
class ProgramHeader:
    """The header fields the opcodes of a line program depend on."""

    version: int
    min_inst_length: int
    default_is_stmt: int
    line_base: int
    line_range: int
    opcode_base: int
    standard_opcode_lengths: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class LineRow:
    """One row of the line table (the registers of the state machine)."""

    address: int
    section: int = UNDEF_SECTION
    line: int = 1
    column: int = 0
    file: int = 1
    isa: int = 0
    discriminator: int = 0
    is_stmt: bool = True
    basic_block: bool = False
    end_sequence: bool = False
    prologue_end: bool = False
    epilogue_begin: bool = False


@dataclass(frozen=True, slots=True)
class LineSequence:
    """Rows ``first .. last-1`` of a table, covering ``[low, high)`` of ``section``."""

    section: int
    low: int
    high: int
    first: int
    last: int


@dataclass(frozen=True, slots=True)
class DefinedFile:
    """A file named by ``DW_LNE_define_file`` (DWARF 2-4)."""

    name: bytes
    dir_index: int


def _upper_bound(count: int, below: Callable[[int], bool]) -> int:
    """libstdc++'s ``upper_bound``: the first index ``i`` with ``below(i)`` false.

    ``below(i)`` is "element ``i`` is not greater than the value"; the probing
    order is the C++ library's, so unsorted input gives llvm's answer too.
    """
    first, length = 0, count
    while length > 0:
        half = length >> 1
        if below(first + half):
            first += half + 1
            length -= half + 1
        else:
            length = half
    return first


@dataclass(frozen=True)
class LineTable:
    """The rows and sequences of one line program, and the files it defined."""

    rows: tuple[LineRow, ...]
    sequences: tuple[LineSequence, ...]
    defined_files: tuple[DefinedFile, ...] = ()

    def lookup(self, section: int, address: int) -> LineRow | None:
        """The row that describes ``address`` of ELF section ``section`` (llvm's rule)."""
        row = self._lookup(section, address)
        if row is None and section != UNDEF_SECTION:
            row = self._lookup(UNDEF_SECTION, address)
        return row

    def _lookup(self, section: int, address: int) -> LineRow | None:
        seqs = self.sequences
        at = _upper_bound(
            len(seqs), lambda i: (seqs[i].section, seqs[i].high) <= (section, address)
        )
        if at == len(seqs):
            return None
        seq = seqs[at]
        if seq.section != section or not seq.low <= address < seq.high:
            return None
        rows = self.rows
        start, stop = seq.first + 1, seq.last - 1
        key = (section, address)
        found = _upper_bound(
            max(stop - start, 0),
            lambda i: (rows[start + i].section, rows[start + i].address) <= key,
        )
        return rows[start + found - 1]


class _Reader:
    """Little- or big-endian reads from a program, ``ElfError`` past its end."""

    def __init__(self, data: bytes, pos: int, end: int, little: bool) -> None:
        self.data, self.pos, self.end, self.little = data, pos, end, little

    def _take(self, size: int) -> bytes:
        if self.pos + size > self.end:
            raise ElfError("line number program runs past its end", ".debug_line", self.pos)
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def u8(self) -> int:
        return self._take(1)[0]

    def uint(self, size: int) -> int:
        return int.from_bytes(self._take(size), "little" if self.little else "big")

    def uleb(self) -> int:
        value = shift = 0
        while True:
            byte = self.u8()
            if shift < 64:
                value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value & _U64

    def sleb(self) -> int:
        value = shift = 0
        while True:
            byte = self.u8()
            if shift < 64:
                value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        if byte & 0x40 and shift < 64:
            value -= 1 << shift
        value &= _U64
        return value - (1 << 64) if value >> 63 else value

    def cstring(self) -> bytes:
        stop = self.data.find(b"\0", self.pos, self.end)
        if stop < 0:
            raise ElfError("unterminated string in a line program", ".debug_line", self.pos)
        text = self.data[self.pos : stop]
        self.pos = stop + 1
        return text


class _Machine:
    """The state machine: registers, rows appended so far, the open sequence."""

    def __init__(self, header: ProgramHeader) -> None:
        self.header = header
        self.rows: list[LineRow] = []
        self.sequences: list[LineSequence] = []
        self.files: list[DefinedFile] = []
        self.row = self._fresh()
        self.seq_start: int | None = None

    def _fresh(self) -> LineRow:
        return LineRow(address=0, is_stmt=bool(self.header.default_is_stmt))

    def advance(self, operations: int) -> None:
        step = operations * self.header.min_inst_length
        self.row = replace(self.row, address=(self.row.address + step) & _U64)

    def adjusted(self, opcode: int) -> tuple[int, int]:
        """(operation advance, adjusted opcode) of a special opcode, as llvm computes them."""
        adjusted = (opcode - self.header.opcode_base) & 0xFF
        line_range = self.header.line_range
        return (adjusted // line_range if line_range else 0), adjusted

    def append(self) -> None:
        index = len(self.rows)
        if self.seq_start is None:
            self.seq_start = index
        row = self.row
        self.rows.append(row)
        if row.end_sequence:
            low = self.rows[self.seq_start].address
            if low < row.address:
                seq = LineSequence(row.section, low, row.address, self.seq_start, index + 1)
                self.sequences.append(seq)
            self.seq_start = None
            self.row = self._fresh()
        else:
            self.row = replace(
                row, discriminator=0, basic_block=False, prologue_end=False, epilogue_begin=False
            )


def _standard(m: _Machine, r: _Reader, opcode: int) -> None:
    row = m.row
    if opcode == DW_LNS_COPY:
        m.append()
    elif opcode == DW_LNS_ADVANCE_PC:
        m.advance(r.uleb())
    elif opcode == DW_LNS_ADVANCE_LINE:
        m.row = replace(row, line=(row.line + r.sleb()) & _U32)
    elif opcode == DW_LNS_SET_FILE:
        m.row = replace(row, file=r.uleb())
    elif opcode == DW_LNS_SET_COLUMN:
        m.row = replace(row, column=r.uleb() & 0xFFFF)
    elif opcode == DW_LNS_NEGATE_STMT:
        m.row = replace(row, is_stmt=not row.is_stmt)
    elif opcode == DW_LNS_SET_BASIC_BLOCK:
        m.row = replace(row, basic_block=True)
    elif opcode == DW_LNS_CONST_ADD_PC:
        m.advance(m.adjusted(255)[0])
    elif opcode == DW_LNS_FIXED_ADVANCE_PC:
        m.row = replace(row, address=(row.address + r.uint(2)) & _U64)
    elif opcode == DW_LNS_SET_PROLOGUE_END:
        m.row = replace(row, prologue_end=True)
    elif opcode == DW_LNS_SET_EPILOGUE_BEGIN:
        m.row = replace(row, epilogue_begin=True)
    elif opcode == DW_LNS_SET_ISA:
        m.row = replace(row, isa=r.uleb() & 0xFF)
    else:
        lengths = m.header.standard_opcode_lengths
        for _ in range(lengths[opcode - 1] if opcode - 1 < len(lengths) else 0):
            r.uleb()


def _extended(m: _Machine, r: _Reader, relocated: Mapping[int, int]) -> None:
    length = r.uleb()
    start = r.pos
    if length == 0:
        return
    sub = r.u8()
    if sub == DW_LNE_END_SEQUENCE:
        m.row = replace(m.row, end_sequence=True)
        m.append()
    elif sub == DW_LNE_SET_ADDRESS:
        size = length - 1
        if size in (1, 2, 4, 8):
            section = relocated.get(r.pos, UNDEF_SECTION)
            m.row = replace(m.row, address=r.uint(size), section=section)
    elif sub == DW_LNE_DEFINE_FILE:
        name = r.cstring()
        dir_index = r.uleb()
        r.uleb(), r.uleb()  # modification time, length
        m.files.append(DefinedFile(name, dir_index))
    elif sub == DW_LNE_SET_DISCRIMINATOR:
        m.row = replace(m.row, discriminator=r.uleb() & _U32)
    if start + length > r.end:
        raise ElfError("extended opcode runs past the line program", ".debug_line", start)
    r.pos = start + length


def decode_program(
    data: bytes,
    start: int,
    end: int,
    header: ProgramHeader,
    relocated: Mapping[int, int] | None = None,
    *,
    little: bool = True,
) -> LineTable:
    """Run the opcodes in ``data[start:end]`` and build the table.

    ``relocated`` maps offsets of ``data`` where a relocation applied (the
    values in ``data`` already resolved) to the ELF section index of the
    relocation's symbol.
    """
    if not 0 <= start <= end <= len(data):
        raise ElfError("line number program outside its section", ".debug_line", start)
    m = _Machine(header)
    r = _Reader(data, start, end, little)
    relocs = relocated or {}
    while r.pos < end:
        opcode = r.u8()
        if opcode == 0:
            _extended(m, r, relocs)
        elif opcode < header.opcode_base:
            _standard(m, r, opcode)
        else:
            advance, adjusted = m.adjusted(opcode)
            m.advance(advance)
            if header.line_range:
                step = header.line_base + adjusted % header.line_range
                m.row = replace(m.row, line=(m.row.line + step) & _U32)
            m.append()
    sequences = sorted(m.sequences, key=lambda s: (s.section, s.low))
    return LineTable(tuple(m.rows), tuple(sequences), tuple(m.files))


__all__ = [
    "UNDEF_SECTION",
    "DefinedFile",
    "LineRow",
    "LineSequence",
    "LineTable",
    "ProgramHeader",
    "decode_program",
]
