"""The functions of an object's executable sections, decoded.

Each ``STT_FUNC`` symbol of an executable section is a function: its bytes
from ``st_value`` for ``st_size``, decoded into ``Instruction`` s. A program
section without function symbols (hand-written assembly, iproute2 style) is
one function named after the section. The checks here are about framing:
alignment, bounds, overlaps, ``lddw`` halves. Which functions are programs
and which are subprograms is the loader's decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ebpy.elf.image import SHT_PROGBITS, STB_LOCAL, STT_FUNC, ElfImage, Section
from ebpy.errors import DecodeError, ElfError
from ebpy.isa.encoding import decode
from ebpy.isa.instruction import Instruction

SLOT = 8
TEXT = ".text"


@dataclass(frozen=True, eq=False)
class Function:
    """A function: ``start`` and ``slots`` count 8-byte slots in its section."""

    name: str
    section: Section
    start: int
    slots: int
    insns: tuple[Instruction, ...]
    local: bool = False
    index_of: dict[int, int] = field(default_factory=dict, repr=False)
    """Slot (from the function's start) -> index in ``insns``."""
    slot_at: tuple[int, ...] = ()
    """Index in ``insns`` -> slot from the function's start."""

    @property
    def offset(self) -> int:
        """Byte offset of the function in its section."""
        return self.start * SLOT

    @property
    def end(self) -> int:
        """Byte offset just past the function."""
        return (self.start + self.slots) * SLOT

    def contains(self, byte_off: int) -> bool:
        return self.offset <= byte_off < self.end


def code_sections(image: ElfImage) -> list[Section]:
    """The executable sections with contents, in section order."""
    return [s for s in image.sections if s.is_exec and s.type == SHT_PROGBITS and s.size]


def _decode(sec: Section, start: int, end: int, name: str) -> Function:
    raw = sec.data[start:end]
    try:
        insns = tuple(decode(raw, strict=False))
    except DecodeError as exc:
        at = start + (exc.pc or 0) * SLOT
        raise ElfError(f"function {name!r}: {exc.reason}", sec.name, at) from exc
    index_of, slot_at, slot = {}, [], 0
    for i, insn in enumerate(insns):
        index_of[slot] = i
        slot_at.append(slot)
        slot += insn.width
    return Function(
        name, sec, start // SLOT, (end - start) // SLOT, insns, False, index_of, tuple(slot_at)
    )


def section_functions(image: ElfImage, sec: Section) -> list[Function]:
    """The functions of one executable section, by offset."""
    if sec.size % SLOT:
        raise ElfError(f"size {sec.size} is not a multiple of {SLOT}", sec.name, sec.offset)
    syms = sorted(
        (s for s in image.symbols if s.shndx == sec.index and s.type == STT_FUNC),
        key=lambda s: (s.value, s.name),
    )
    if not syms:
        return [_decode(sec, 0, sec.size, sec.name)]
    out: list[Function] = []
    prev_end, prev_name = 0, ""
    for s in syms:
        if s.value % SLOT or s.size % SLOT or not s.size:
            raise ElfError(
                f"function {s.name!r} is not whole instructions ({s.size} bytes at {s.value:#x})",
                sec.name,
                s.value,
            )
        if s.value + s.size > sec.size:
            raise ElfError(
                f"function {s.name!r} runs past the end of the section", sec.name, s.value
            )
        if s.value < prev_end:
            raise ElfError(f"function {s.name!r} overlaps {prev_name!r}", sec.name, s.value)
        fn = _decode(sec, s.value, s.value + s.size, s.name)
        out.append(replace(fn, local=s.bind == STB_LOCAL))
        prev_end, prev_name = s.value + s.size, s.name
    return out


def collect_functions(image: ElfImage) -> list[Function]:
    """Every function of every executable section, in section then offset order."""
    out: list[Function] = []
    for sec in code_sections(image):
        out.extend(section_functions(image, sec))
    return out
