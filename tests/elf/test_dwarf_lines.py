"""The DWARF line reader and llvm-objdump's source printer, piece by piece.

``ebpy.elf.line_table`` on hand-written line programs (one opcode at a
time, and llvm's lookup rules), the rows decoded from every corpus object
against ``llvm-dwarfdump --debug-line`` when it is installed, file paths as
llvm joins them, relocations, ``SourcePrinter``'s rules for repeating and
skipping lines, and a fuzz: mutated DWARF gives only ``BpfError``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebpy.elf.dwarf_lines import (
    BAD_PATH,
    INVALID,
    FileEntry,
    SourceLocation,
    Unit,
    read_dwarf_lines,
    relocated,
)
from ebpy.elf.image import read_image
from ebpy.elf.line_table import UNDEF_SECTION, ProgramHeader, decode_program
from ebpy.elf.source_lines import SourcePrinter, split_lines
from ebpy.errors import BpfError, ElfError
from tests.elf.corpus import LITTLE_OBJECTS, TESTDATA, ident
from tests.elf.rawelf import RawElf

HEADER = ProgramHeader(5, 8, 1, -5, 14, 13, (0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1))
DWARF_OBJECTS = [p for p in LITTLE_OBJECTS if b".debug_line" in p.read_bytes()]


def _uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _sleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        done = (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40)
        out.append(byte | (0 if done else 0x80))
        if done:
            return bytes(out)


def set_address(address: int) -> bytes:
    return bytes([0, 9, 2]) + address.to_bytes(8, "little")


END = bytes([0, 1, 1])
COPY = bytes([1])


def advance_pc(n: int) -> bytes:
    return bytes([2]) + _uleb(n)


def advance_line(n: int) -> bytes:
    return bytes([3]) + _sleb(n)


def special(line: int, ops: int) -> bytes:
    return bytes([HEADER.opcode_base + (line - HEADER.line_base) + 14 * ops])


def _table(*parts: bytes, header: ProgramHeader = HEADER, relocs: dict[int, int] | None = None):
    prog = b"".join(parts)
    return decode_program(prog, 0, len(prog), header, relocs)


def test_rows_of_special_and_standard_opcodes() -> None:
    table = _table(
        set_address(0),
        COPY,
        special(2, 1),
        advance_line(-3),
        bytes([5]) + _uleb(7),  # set_column
        bytes([6]),  # negate_stmt
        COPY,
        bytes([8]),  # const_add_pc: (255 - 13) // 14 = 17 operations
        bytes([9, 3, 0]),  # fixed_advance_pc 3 bytes
        bytes([4]) + _uleb(2),  # set_file
        COPY,
        advance_pc(1),
        END,
    )
    got = [(r.address, r.line, r.column, r.file, r.is_stmt, r.end_sequence) for r in table.rows]
    assert got == [
        (0, 1, 0, 1, True, False),
        (8, 3, 0, 1, True, False),
        (8, 0, 7, 1, False, False),
        (8 + 17 * 8 + 3, 0, 7, 2, False, False),
        (8 + 17 * 8 + 3 + 8, 0, 7, 2, False, True),
    ]
    assert [(s.low, s.high, s.first, s.last) for s in table.sequences] == [(0, 155, 0, 5)]


def test_the_last_row_at_an_address_wins() -> None:
    """A function's first address has its opening line and then its first statement."""
    table = _table(
        set_address(0), advance_line(21), COPY, special(2, 0), special(1, 2), advance_pc(1), END
    )
    assert table.lookup(UNDEF_SECTION, 0).line == 24
    assert table.lookup(UNDEF_SECTION, 8).line == 24
    assert table.lookup(UNDEF_SECTION, 16).line == 25
    assert table.lookup(UNDEF_SECTION, 24) is None  # the end of the sequence


def test_sequences_belong_to_the_section_of_their_address() -> None:
    prog = set_address(0) + COPY + advance_pc(2) + END + set_address(0) + special(5, 0)
    prog += advance_pc(1) + END
    second = len(set_address(0) + COPY + advance_pc(2) + END) + 3
    table = decode_program(prog, 0, len(prog), HEADER, {3: 4, second: 7})
    assert table.lookup(4, 8).line == 1
    assert table.lookup(7, 0).line == 6
    assert table.lookup(7, 8) is None
    assert table.lookup(5, 0) is None
    assert table.lookup(UNDEF_SECTION, 0) is None


def test_unrelocated_sequences_answer_every_section() -> None:
    table = _table(set_address(16), COPY, advance_pc(1), END)
    assert table.lookup(3, 16).line == 1
    assert table.lookup(UNDEF_SECTION, 16).line == 1
    assert table.lookup(3, 8) is None


def test_empty_and_unterminated_sequences_are_dropped() -> None:
    table = _table(set_address(8), COPY, END, set_address(32), COPY, advance_pc(1))
    assert table.sequences == ()
    assert table.lookup(UNDEF_SECTION, 8) is None
    assert table.lookup(UNDEF_SECTION, 32) is None
    assert len(table.rows) == 3


def test_unknown_opcodes_are_skipped() -> None:
    header = ProgramHeader(4, 8, 1, -5, 14, 15, (*HEADER.standard_opcode_lengths, 2, 0))
    table = _table(
        set_address(0),
        bytes([13]) + _uleb(300) + _uleb(5),  # unknown standard opcode, two operands
        bytes([14]),
        bytes([0, 4, 0x80, 1, 2, 3]),  # unknown extended opcode, length 4
        bytes([0, 2, 4, 9]),  # set_discriminator 9
        COPY,
        advance_pc(1),
        END,
        header=header,
    )
    assert [(r.address, r.line, r.discriminator) for r in table.rows] == [(0, 1, 9), (8, 1, 0)]


def test_define_file_and_zero_line_range() -> None:
    header = ProgramHeader(3, 8, 1, -5, 0, 13, HEADER.standard_opcode_lengths)
    table = _table(
        set_address(0), bytes([0, 8, 3]) + b"a.c\0" + bytes([0, 0, 0]), COPY, header=header
    )
    assert [(f.name, f.dir_index) for f in table.defined_files] == [(b"a.c", 0)]
    table = _table(set_address(0), bytes([20]), END, header=header)  # special: no advance
    assert [(r.address, r.line) for r in table.rows] == [(0, 1), (0, 1)]


def test_lines_wrap_at_32_bits() -> None:
    table = _table(set_address(0), advance_line(-2), COPY)
    assert table.rows[0].line == 2**32 - 1


@pytest.mark.parametrize(
    "program",
    [bytes([2]), bytes([2, 0x80]), set_address(0)[:-2], bytes([0, 20, 2, 1]), bytes([9, 1])],
)
def test_truncated_programs(program: bytes) -> None:
    with pytest.raises(ElfError) as exc:
        decode_program(program, 0, len(program), HEADER)
    assert exc.value.section == ".debug_line"


def test_program_outside_its_section() -> None:
    with pytest.raises(ElfError):
        decode_program(b"\x01", 0, 5, HEADER)


# -- paths ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "comp_dir", "dirs", "entry", "want"),
    [
        (5, b".", (b".",), (b"prog.c", 0), "././prog.c"),
        (5, b"/src", (b"/src", b"include"), (b"x.h", 1), "/src/include/x.h"),
        (5, b"/src", (b"/src", b"/usr/include"), (b"x.h", 1), "/usr/include/x.h"),
        (5, b"/src/", (b"/src", b"inc"), (b"a.c", 1), "/src/inc/a.c"),
        (5, b"/src", (b"/src",), (b"/abs/a.c", 0), "/abs/a.c"),
        (5, b"", (b"d",), (b"a.c", 0), "d/a.c"),
        (5, b"/src", (), (b"a.c", 3), "/src/a.c"),
        (4, b"/src", (b"inc",), (b"a.h", 1), "/src/inc/a.h"),
        (4, b"/src", (b"inc",), (b"a.c", 0), "/src/a.c"),
        (5, b"c:\\w", (b"c:\\w",), (b"a.c", 0), "c:\\w/a.c"),
    ],
)
def test_file_paths(
    version: int, comp_dir: bytes, dirs: tuple[bytes, ...], entry: tuple[bytes, int], want: str
) -> None:
    unit = Unit(0, 1, comp_dir, version, dirs, (FileEntry(*entry),))
    assert unit.file_path(0 if version >= 5 else 1) == (want, None)


def test_file_indexes_out_of_range() -> None:
    assert Unit(0, 1, b".", 5, (b".",), (FileEntry(b"a.c", 0),)).file_path(1) is None
    assert Unit(0, 1, b".", 4, (), (FileEntry(b"a.c", 0),)).file_path(0) is None
    assert Unit(0, 1, b".", 5, (b".",), (FileEntry(None, 0),)).file_path(0) is None


# -- objects ------------------------------------------------------------------------


def test_set_address_carries_the_section_of_its_symbol() -> None:
    image = read_image((TESTDATA / "bpf" / "bpf2bpf.o").read_bytes())
    line = image.section_named(".debug_line")
    assert line is not None
    _, where = relocated(image, line)
    code = {s.index for s in image.sections if s.is_exec}
    assert code <= set(where.values()) | {UNDEF_SECTION}
    assert {image.section_name(i) for i in where.values() if i in code} == {".text", "xdp", "tc"}


def test_object_without_dwarf() -> None:
    data = (TESTDATA / "bpf" / "bpf2bpf.o").read_bytes().replace(b".debug_line\0", b".nodbg_line\0")
    assert read_dwarf_lines(read_image(data)) is None


def test_locations_of_an_object() -> None:
    image = read_image((TESTDATA / "bpf" / "bpf2bpf.o").read_bytes())
    lines = read_dwarf_lines(image)
    assert lines is not None
    xdp = image.section_named("xdp")
    assert xdp is not None
    first = lines.locate(xdp.index, 0)
    assert (first.path, first.line) == ("././bpf2bpf.c", 84)
    assert lines.locate(xdp.index, 0x10000) == INVALID


_DUMP_ROW = re.compile(r"^0x([0-9a-f]{16})\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*(.*)$")


@pytest.mark.skipif(
    shutil.which("llvm-dwarfdump") is None, reason="llvm-dwarfdump is not installed"
)
@pytest.mark.parametrize("path", DWARF_OBJECTS, ids=ident)
def test_rows_as_llvm_dwarfdump_decodes_them(path: Path) -> None:
    dump = subprocess.run(
        ["llvm-dwarfdump", "--debug-line", str(path)], capture_output=True, text=True, check=True
    ).stdout
    theirs = []
    for line in dump.splitlines():
        m = _DUMP_ROW.match(line)
        if m:
            flags = m.group(7).split()
            theirs.append(
                (int(m.group(1), 16), *(int(m.group(i)) for i in (2, 3, 4)), "is_stmt" in flags)
            )
            theirs[-1] += ("end_sequence" in flags,)
    lines = read_dwarf_lines(read_image(path.read_bytes()))
    assert lines is not None
    ours = [
        (r.address, r.line, r.column, r.file, r.is_stmt, r.end_sequence)
        for unit in lines.units
        if unit.table is not None
        for r in unit.table.rows
    ]
    assert ours == theirs


# -- the printer ------------------------------------------------------------------


class _Lines:
    """A stand-in for DwarfLines: one location per instruction offset."""

    def __init__(self, locations: list[SourceLocation]) -> None:
        self.locations = locations

    def locate(self, section: int, address: int) -> SourceLocation:
        return self.locations[address // 8]


def _printer(locations: list[SourceLocation], files: dict[str, bytes], **kw: object):
    image = read_image((TESTDATA / "bpf" / "bpf2bpf.o").read_bytes())
    warnings: list[str] = []
    printer = SourcePrinter(image, warn=warnings.append, read_file=files.get, **kw)  # type: ignore[arg-type]
    printer.dwarf = _Lines(locations)  # type: ignore[assignment]
    sec = image.section_named(".text")
    assert sec is not None
    return [printer.before(sec, 8 * i) for i in range(len(locations))], warnings


def test_printer_repeats_lines_after_line_zero_and_misses() -> None:
    a, b = "a.c", "b.c"
    locs = [
        SourceLocation(a, 1),
        SourceLocation(a, 1),
        SourceLocation(a, 0),
        SourceLocation(a, 1),
        INVALID,
        SourceLocation(a, 1),
        SourceLocation(b, 1),
        SourceLocation(a, 2),
        SourceLocation(b, 1),
        SourceLocation(a, 9),
        SourceLocation(a, 9),
        SourceLocation("e.c", 2, source=b"x\n\ty\n"),
        SourceLocation(BAD_PATH, 3),
    ]
    out, warnings = _printer(locs, {a: b"one\r\n\ttwo\n", b: b"bee"})
    want = ["; one\n", "", "", "; one\n", "", "; one\n", "; bee\n", "; \ttwo\n", "; bee\n"]
    assert out == [*want, "", "", "; \ty\n", ""]
    exceeds = "debug info line number 9 exceeds the number of lines in a.c"
    assert warnings == [exceeds]


def test_printer_warns_once_per_missing_file() -> None:
    locs = [SourceLocation("gone.c", 1), SourceLocation("gone.c", 2), SourceLocation("gone.c", 3)]
    out, warnings = _printer(locs, {})
    assert out == ["", "", ""]
    assert warnings == ["failed to find source gone.c"]


def test_printer_falls_back_to_btf_text() -> None:
    locs = [SourceLocation("././bpf2bpf.c", 31), SourceLocation("././bpf2bpf.c", 28)]
    out, warnings = _printer(locs, {}, btf_fallback=True)
    assert out == ["; \th ^= rotl(b, 13);\n", ""]  # BTF has no line for "{"
    assert warnings == ["failed to find source ././bpf2bpf.c"]


def test_split_lines_keeps_bytes() -> None:
    assert split_lines(b"\xff\tx\r\r\n") == [b"\xff\tx\r"]
    assert split_lines(b"") == []


# -- fuzz -------------------------------------------------------------------------

_BPF2BPF = (TESTDATA / "bpf" / "bpf2bpf.o").read_bytes()
_RAW = RawElf(_BPF2BPF)
_DEBUG = [
    (s.offset, s.size)
    for s in _RAW.sections
    if s.size and (s.name.startswith(".debug") or s.name.startswith(".rel.debug"))
]


def _print_all(data: bytes) -> None:
    try:
        image = read_image(data)
        printer = SourcePrinter(image, read_file=lambda path: b"x\n" * 50)
        for sec in image.sections:
            if sec.is_exec:
                for offset in range(0, sec.size, 8):
                    printer.before(sec, offset)
    except BpfError:
        pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_debug_sections(draw: st.DataObject) -> None:
    start, size = draw.draw(st.sampled_from(_DEBUG))
    out = bytearray(_BPF2BPF)
    for _ in range(draw.draw(st.integers(1, 6))):
        at = start + draw.draw(st.integers(0, max(0, size - 1)))
        width = draw.draw(st.sampled_from([1, 2, 4]))
        out[at : at + width] = draw.draw(st.binary(min_size=width, max_size=width))
    _print_all(bytes(out))


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=200),
    st.integers(0, 255),
    st.integers(-128, 127),
    st.integers(0, 255),
    st.integers(0, 255),
)
def test_fuzz_line_programs(
    program: bytes, min_inst: int, line_base: int, line_range: int, opcode_base: int
) -> None:
    header = ProgramHeader(4, min_inst, 1, line_base, line_range, opcode_base, (1,) * 12)
    try:
        table = decode_program(program, 0, len(program), header)
    except ElfError:
        return
    for seq in table.sequences:
        assert table.lookup(seq.section, seq.low) is not None
