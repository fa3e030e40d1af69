"""Build instructions from the opcode enums, jump by label, and link.

>>> from ebpy.isa.builder import ALU64, JMP, EXIT, Label, link, R0, R1
>>> prog = link([
...     ALU64.MOV.imm(R0, 0),
...     JMP.JEQ.imm(R1, 0, "out"),
...     ALU64.ADD.imm(R0, 22),
...     Label("out"),
...     EXIT(),
... ])
>>> [str(i) for i in prog]
['r0 = 0', 'if r1 == 0 goto +1', 'r0 += 22', 'exit']

Jumps and local calls may name a ``str`` label as their target; ``link``
replaces it by the displacement in slots. This module builds values; it does
not read text (``asm``) or bytes (``encoding``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ebpy.errors import LinkError
from ebpy.isa._intmath import fits_signed
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import (
    LDDW as _LDDW_OP,
)
from ebpy.isa.opcodes import (
    AluOp,
    AtomicOp,
    CallSrc,
    Class,
    Endian,
    JmpOp,
    Mode,
    PseudoSrc,
    Size,
    Source,
)

R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 = range(11)
FP = R10

Target = int | str


@dataclass(frozen=True, slots=True)
class Label:
    """A position in a program being built; jumps may name it."""

    name: str


class _AluOpBuilder:
    def __init__(self, cls: Class, op: AluOp) -> None:
        self.cls, self.op = cls, op

    def imm(self, dst: int, imm: int) -> Instruction:
        return Instruction(self.cls | self.op | Source.K, dst, 0, 0, imm)

    def reg(self, dst: int, src: int) -> Instruction:
        return Instruction(self.cls | self.op | Source.X, dst, src, 0, 0)

    def __call__(self, dst: int) -> Instruction:
        """Unary form, for ``NEG``."""
        return Instruction(self.cls | self.op, dst)


class _SignedAluOpBuilder(_AluOpBuilder):
    """``SDIV``/``SMOD``: ``DIV``/``MOD`` with ``off = 1``."""

    def imm(self, dst: int, imm: int) -> Instruction:
        return super().imm(dst, imm).replace(off=1)

    def reg(self, dst: int, src: int) -> Instruction:
        return super().reg(dst, src).replace(off=1)


class _Alu:
    """``ALU64.ADD.imm(R1, 2)``, ``ALU.MOV.reg(R0, R1)``, ``ALU64.NEG(R1)``."""

    def __init__(self, cls: Class) -> None:
        self.cls = cls
        for op in AluOp:
            if op is not AluOp.END:
                setattr(self, op.name, _AluOpBuilder(cls, op))
        self.SDIV = _SignedAluOpBuilder(cls, AluOp.DIV)
        self.SMOD = _SignedAluOpBuilder(cls, AluOp.MOD)

    def __getattr__(self, name: str) -> _AluOpBuilder:  # for mypy: ops set in __init__
        raise AttributeError(name)

    def MOVSX(self, dst: int, src: int, bits: int) -> Instruction:
        """Sign-extending move of the low ``bits`` (8, 16 or 32) of ``src``."""
        return Instruction(self.cls | AluOp.MOV | Source.X, dst, src, bits, 0)

    def END(self, dst: int, bits: int, endian: Endian = Endian.TO_LE) -> Instruction:
        """``le16/be32/...`` on ALU; unconditional ``bswap`` on ALU64."""
        return Instruction(self.cls | AluOp.END | endian, dst, 0, 0, bits)


class _JmpOpBuilder:
    def __init__(self, cls: Class, op: JmpOp) -> None:
        self.cls, self.op = cls, op

    def imm(self, dst: int, imm: int, target: Target) -> Instruction:
        return _with_target(Instruction(self.cls | self.op | Source.K, dst, 0, 0, imm), target)

    def reg(self, dst: int, src: int, target: Target) -> Instruction:
        return _with_target(Instruction(self.cls | self.op | Source.X, dst, src, 0, 0), target)


class _Jmp:
    """``JMP.JEQ.imm(R1, 0, "out")``, ``JMP32.JGT.reg(R1, R2, +3)``, ``JMP.JA("top")``."""

    def __init__(self, cls: Class) -> None:
        self.cls = cls
        for op in JmpOp:
            if op not in (JmpOp.JA, JmpOp.CALL, JmpOp.EXIT):
                setattr(self, op.name, _JmpOpBuilder(cls, op))

    def __getattr__(self, name: str) -> _JmpOpBuilder:
        raise AttributeError(name)

    def JA(self, target: Target) -> Instruction:
        """Unconditional jump: ``off`` in JMP, 32-bit ``imm`` (``gotol``) in JMP32."""
        return _with_target(Instruction(self.cls | JmpOp.JA), target)


def _with_target(insn: Instruction, target: Target) -> Instruction:
    if isinstance(target, str):
        return insn.replace(meta=target)
    return insn.with_jump_offset(target)


ALU = _Alu(Class.ALU)
ALU64 = _Alu(Class.ALU64)
JMP = _Jmp(Class.JMP)
JMP32 = _Jmp(Class.JMP32)


def EXIT() -> Instruction:
    return Instruction(Class.JMP | JmpOp.EXIT)


def CALL(helper_id: int) -> Instruction:
    """Call a helper by id."""
    return Instruction(Class.JMP | JmpOp.CALL, 0, 0, 0, helper_id)


def CALL_LOCAL(target: Target) -> Instruction:
    """bpf-to-bpf call of a function at a label or displacement."""
    return _with_target(Instruction(Class.JMP | JmpOp.CALL, 0, int(CallSrc.PSEUDO_CALL)), target)


def CALL_KFUNC(btf_id: int, module_fd: int = 0) -> Instruction:
    return Instruction(Class.JMP | JmpOp.CALL, 0, int(CallSrc.KFUNC), module_fd, btf_id)


def CALLX(reg: int) -> Instruction:
    """Indirect call through a register."""
    return Instruction(Class.JMP | JmpOp.CALL | Source.X, reg)


def LDX(size: Size, dst: int, src: int, off: int) -> Instruction:
    return Instruction(Class.LDX | Mode.MEM | size, dst, src, off)


def LDXSX(size: Size, dst: int, src: int, off: int) -> Instruction:
    return Instruction(Class.LDX | Mode.MEMSX | size, dst, src, off)


def ST(size: Size, dst: int, off: int, imm: int) -> Instruction:
    return Instruction(Class.ST | Mode.MEM | size, dst, 0, off, imm)


def STX(size: Size, dst: int, src: int, off: int) -> Instruction:
    return Instruction(Class.STX | Mode.MEM | size, dst, src, off)


def ATOMIC(size: Size, op: AtomicOp, dst: int, src: int, off: int) -> Instruction:
    return Instruction(Class.STX | Mode.ATOMIC | size, dst, src, off, int(op))


def LDDW(dst: int, imm: int, src: PseudoSrc = PseudoSrc.IMM) -> Instruction:
    """64-bit immediate load (two slots)."""
    return Instruction(_LDDW_OP, dst, int(src), 0, imm & 0xFFFF_FFFF_FFFF_FFFF)


def LD_MAP_FD(dst: int, fd: int) -> Instruction:
    return LDDW(dst, fd, PseudoSrc.MAP_FD)


def LD_MAP_VALUE(dst: int, fd: int, offset: int) -> Instruction:
    return LDDW(dst, (offset << 32) | (fd & 0xFFFF_FFFF), PseudoSrc.MAP_VALUE)


def LD_ABS(size: Size, imm: int) -> Instruction:
    return Instruction(Class.LD | Mode.ABS | size, 0, 0, 0, imm)


def LD_IND(size: Size, src: int, imm: int) -> Instruction:
    return Instruction(Class.LD | Mode.IND | size, 0, src, 0, imm)


def link(items: Iterable[Instruction | Label]) -> list[Instruction]:
    """Resolve label targets into slot displacements and drop the labels.

    Raises ``LinkError`` for an unknown or duplicate label, or a displacement
    that does not fit its field.
    """
    insns: list[Instruction] = []
    labels: dict[str, int] = {}
    pc = 0
    for item in items:
        if isinstance(item, Label):
            if item.name in labels:
                raise LinkError("duplicate label", item.name)
            labels[item.name] = pc
            continue
        insns.append(item)
        pc += item.width
    out: list[Instruction] = []
    pc = 0
    for insn in insns:
        target = insn.meta
        if isinstance(target, str) and (insn.is_branch or insn.is_local_call):
            if target not in labels:
                raise LinkError("unknown label", target, pc)
            delta = labels[target] - (pc + 1)
            wide = insn.is_local_call or insn.op == Class.JMP32 | JmpOp.JA
            if not fits_signed(delta, 32 if wide else 16):
                raise LinkError("jump out of range", target, pc)
            insn = insn.with_jump_offset(delta)
        out.append(insn)
        pc += insn.width
    return out
