"""The one eBPF ``Instruction`` type: a frozen record of opcode, registers, offset and immediate.

A 64-bit immediate load (``lddw``) is a single ``Instruction`` of ``width`` 2
whose ``imm`` holds the whole 64-bit value (unsigned); every other instruction
has width 1 and a signed 32-bit ``imm``. ``off`` is signed 16-bit. ``meta``
carries side information (a label still to be linked, a relocation, a source
line) and takes no part in equality or encoding.

This module does not encode bytes (``encoding``), parse text (``asm``) or print
(``disasm``; ``str(insn)`` calls it for llvm syntax).

>>> from ebpy.isa.builder import ALU64, R0
>>> str(ALU64.MOV.imm(R0, 42))
'r0 = 42'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ebpy.isa.opcodes import (
    LDDW,
    AluOp,
    AtomicOp,
    Class,
    JmpOp,
    Mode,
    Size,
    Source,
)


@dataclass(frozen=True, slots=True)
class Instruction:
    """One eBPF instruction (two slots for ``lddw``)."""

    op: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0
    meta: Any = field(default=None, compare=False, hash=False, repr=False)

    # -- fields of the opcode -------------------------------------------------
    @property
    def cls(self) -> Class:
        return Class(self.op & 0x07)

    @property
    def width(self) -> int:
        """Slots taken: 2 for ``lddw``, else 1."""
        return 2 if self.op == LDDW else 1

    @property
    def is_lddw(self) -> bool:
        return self.op == LDDW

    @property
    def is_alu(self) -> bool:
        return self.op & 0x07 in (Class.ALU, Class.ALU64)

    @property
    def is_jmp(self) -> bool:
        return self.op & 0x07 in (Class.JMP, Class.JMP32)

    @property
    def source(self) -> Source:
        return Source(self.op & 0x08)

    @property
    def alu_op(self) -> AluOp:
        return AluOp(self.op & 0xF0)

    @property
    def jmp_op(self) -> JmpOp:
        return JmpOp(self.op & 0xF0)

    @property
    def size(self) -> Size:
        return Size(self.op & 0x18)

    @property
    def mode(self) -> Mode:
        return Mode(self.op & 0xE0)

    @property
    def atomic_op(self) -> AtomicOp:
        return AtomicOp(self.imm)

    @property
    def is_call(self) -> bool:
        return self.op & 0xF7 == Class.JMP | JmpOp.CALL

    @property
    def is_exit(self) -> bool:
        return self.op == Class.JMP | JmpOp.EXIT

    @property
    def is_branch(self) -> bool:
        """A jump that names a target inside the program (not call or exit)."""
        return self.is_jmp and self.op & 0xF0 not in (JmpOp.CALL, JmpOp.EXIT)

    @property
    def is_unconditional(self) -> bool:
        return self.is_jmp and self.op & 0xF0 == JmpOp.JA

    @property
    def is_local_call(self) -> bool:
        return self.op == Class.JMP | JmpOp.CALL and self.src == 1

    @property
    def jump_offset(self) -> int:
        """The branch displacement in slots (``imm`` for ``gotol``, else ``off``)."""
        if self.op == Class.JMP32 | JmpOp.JA:
            return self.imm
        return self.off

    def with_jump_offset(self, delta: int) -> Instruction:
        """The same branch (or local call) with a new displacement."""
        if self.is_local_call or self.op == Class.JMP32 | JmpOp.JA:
            return replace(self, imm=delta, meta=None)
        return replace(self, off=delta, meta=None)

    def replace(self, **changes: Any) -> Instruction:
        return replace(self, **changes)

    def __str__(self) -> str:
        from ebpy.isa.disasm import format_llvm

        return format_llvm(self)


Program = Sequence[Instruction]


def slot_starts(insns: Iterable[Instruction]) -> list[int]:
    """The slot index at which each instruction starts.

    >>> from ebpy.isa.builder import LDDW, EXIT, R0
    >>> slot_starts([LDDW(R0, 1), EXIT()])
    [0, 2]
    """
    out: list[int] = []
    pc = 0
    for insn in insns:
        out.append(pc)
        pc += insn.width
    return out


def slot_count(insns: Iterable[Instruction]) -> int:
    """Total slots (8-byte words) a program takes."""
    return sum(i.width for i in insns)
