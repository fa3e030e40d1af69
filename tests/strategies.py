"""Hypothesis strategies for eBPF instructions and programs, shared by the test suites.

``instructions()`` draws every valid instruction kind (each passes
``ebpy.isa.encoding.validate``); ``instructions(kinds=...)`` narrows it to some
of the kinds in ``KINDS``. ``programs()`` draws lists of them. Immediates follow
the ``Instruction`` convention: signed 32-bit, except ``lddw`` (unsigned 64-bit).
This module generates values; it asserts nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from hypothesis import strategies as st

from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import (
    LDDW,
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

S16 = st.integers(-(1 << 15), (1 << 15) - 1)
S32 = st.one_of(
    st.integers(-16, 16),
    st.sampled_from([-(1 << 31), (1 << 31) - 1, 0x7FFF, -0x8000, 0xFFFF]),
    st.integers(-(1 << 31), (1 << 31) - 1),
)
U64 = st.one_of(
    st.integers(0, 64),
    st.sampled_from([(1 << 64) - 1, 1 << 63, (1 << 63) - 1, 0xFFFF_FFFF, 1 << 32]),
    st.integers(0, (1 << 64) - 1),
)
REG = st.integers(0, 10)
OFF = st.one_of(st.integers(-64, 64), S16)

ALU_BINARY = [op for op in AluOp if op not in (AluOp.NEG, AluOp.END)]
CONDITIONS = [op for op in JmpOp if op not in (JmpOp.JA, JmpOp.CALL, JmpOp.EXIT)]
ALU_CLASSES = [Class.ALU, Class.ALU64]
JMP_CLASSES = [Class.JMP, Class.JMP32]
SIZES = list(Size)
SX_SIZES = [Size.B, Size.H, Size.W]
PKT_SIZES = [Size.B, Size.H, Size.W]


def _alu_imm() -> st.SearchStrategy[Instruction]:
    return st.builds(
        lambda c, op, d, imm: Instruction(c | op | Source.K, d, 0, 0, imm),
        st.sampled_from(ALU_CLASSES),
        st.sampled_from(ALU_BINARY),
        REG,
        S32,
    )


def _alu_reg() -> st.SearchStrategy[Instruction]:
    return st.builds(
        lambda c, op, d, s: Instruction(c | op | Source.X, d, s),
        st.sampled_from(ALU_CLASSES),
        st.sampled_from(ALU_BINARY),
        REG,
        REG,
    )


def _signed_divmod() -> st.SearchStrategy[Instruction]:
    def make(c: int, op: int, x: bool, d: int, s: int, imm: int) -> Instruction:
        if x:
            return Instruction(c | op | Source.X, d, s, 1, 0)
        return Instruction(c | op | Source.K, d, 0, 1, imm)

    return st.builds(
        make,
        st.sampled_from(ALU_CLASSES),
        st.sampled_from([AluOp.DIV, AluOp.MOD]),
        st.booleans(),
        REG,
        REG,
        S32,
    )


def _neg() -> st.SearchStrategy[Instruction]:
    return st.builds(lambda c, d: Instruction(c | AluOp.NEG, d), st.sampled_from(ALU_CLASSES), REG)


def _movsx() -> st.SearchStrategy[Instruction]:
    return st.one_of(
        st.builds(
            lambda d, s, bits: Instruction(Class.ALU64 | AluOp.MOV | Source.X, d, s, bits),
            REG,
            REG,
            st.sampled_from([8, 16, 32]),
        ),
        st.builds(
            lambda d, s, bits: Instruction(Class.ALU | AluOp.MOV | Source.X, d, s, bits),
            REG,
            REG,
            st.sampled_from([8, 16]),
        ),
    )


def _end() -> st.SearchStrategy[Instruction]:
    return st.builds(
        lambda op, d, bits: Instruction(op, d, 0, 0, bits),
        st.sampled_from(
            [
                Class.ALU | AluOp.END | Endian.TO_LE,
                Class.ALU | AluOp.END | Endian.TO_BE,
                Class.ALU64 | AluOp.END | Endian.TO_LE,
            ]
        ),
        REG,
        st.sampled_from([16, 32, 64]),
    )


def _jmp_imm() -> st.SearchStrategy[Instruction]:
    return st.builds(
        lambda c, op, d, imm, off: Instruction(c | op | Source.K, d, 0, off, imm),
        st.sampled_from(JMP_CLASSES),
        st.sampled_from(CONDITIONS),
        REG,
        S32,
        OFF,
    )


def _jmp_reg() -> st.SearchStrategy[Instruction]:
    return st.builds(
        lambda c, op, d, s, off: Instruction(c | op | Source.X, d, s, off),
        st.sampled_from(JMP_CLASSES),
        st.sampled_from(CONDITIONS),
        REG,
        REG,
        OFF,
    )


def _ja() -> st.SearchStrategy[Instruction]:
    return st.one_of(
        st.builds(lambda off: Instruction(Class.JMP | JmpOp.JA, 0, 0, off), OFF),
        st.builds(lambda imm: Instruction(Class.JMP32 | JmpOp.JA, 0, 0, 0, imm), S32),
    )


def _call() -> st.SearchStrategy[Instruction]:
    call = Class.JMP | JmpOp.CALL
    return st.one_of(
        st.builds(lambda imm: Instruction(call, 0, CallSrc.HELPER, 0, imm), S32),
        st.builds(lambda imm: Instruction(call, 0, CallSrc.PSEUDO_CALL, 0, imm), S32),
        st.builds(lambda imm: Instruction(call, 0, CallSrc.KFUNC, 0, imm), S32),
        st.builds(lambda d: Instruction(call | Source.X, d), REG),
    )


def _exit() -> st.SearchStrategy[Instruction]:
    return st.just(Instruction(Class.JMP | JmpOp.EXIT))


def _ldx() -> st.SearchStrategy[Instruction]:
    return st.one_of(
        st.builds(
            lambda size, d, s, off: Instruction(Class.LDX | Mode.MEM | size, d, s, off),
            st.sampled_from(SIZES),
            REG,
            REG,
            OFF,
        ),
        st.builds(
            lambda size, d, s, off: Instruction(Class.LDX | Mode.MEMSX | size, d, s, off),
            st.sampled_from(SX_SIZES),
            REG,
            REG,
            OFF,
        ),
    )


def _st() -> st.SearchStrategy[Instruction]:
    return st.builds(
        lambda size, d, off, imm: Instruction(Class.ST | Mode.MEM | size, d, 0, off, imm),
        st.sampled_from(SIZES),
        REG,
        OFF,
        S32,
    )


def _stx() -> st.SearchStrategy[Instruction]:
    return st.builds(
        lambda size, d, s, off: Instruction(Class.STX | Mode.MEM | size, d, s, off),
        st.sampled_from(SIZES),
        REG,
        REG,
        OFF,
    )


def _atomic() -> st.SearchStrategy[Instruction]:
    return st.builds(
        lambda size, op, d, s, off: Instruction(Class.STX | Mode.ATOMIC | size, d, s, off, int(op)),
        st.sampled_from([Size.W, Size.DW]),
        st.sampled_from(list(AtomicOp)),
        REG,
        REG,
        OFF,
    )


_NO_HIGH = (PseudoSrc.MAP_FD, PseudoSrc.MAP_IDX, PseudoSrc.FUNC)


def _lddw() -> st.SearchStrategy[Instruction]:
    """Map-fd, map-index and function references keep the upper half zero, as the kernel requires."""
    return st.builds(
        lambda d, src, imm: Instruction(
            LDDW, d, int(src), 0, imm & 0xFFFF_FFFF if src in _NO_HIGH else imm
        ),
        REG,
        st.sampled_from(list(PseudoSrc)),
        U64,
    )


def _packet() -> st.SearchStrategy[Instruction]:
    return st.one_of(
        st.builds(
            lambda size, imm: Instruction(Class.LD | Mode.ABS | size, 0, 0, 0, imm),
            st.sampled_from(PKT_SIZES),
            S32,
        ),
        st.builds(
            lambda size, s, imm: Instruction(Class.LD | Mode.IND | size, 0, s, 0, imm),
            st.sampled_from(PKT_SIZES),
            REG,
            S32,
        ),
    )


KINDS: dict[str, Callable[[], st.SearchStrategy[Instruction]]] = {
    "alu_imm": _alu_imm,
    "alu_reg": _alu_reg,
    "signed_divmod": _signed_divmod,
    "neg": _neg,
    "movsx": _movsx,
    "end": _end,
    "jmp_imm": _jmp_imm,
    "jmp_reg": _jmp_reg,
    "ja": _ja,
    "call": _call,
    "exit": _exit,
    "ldx": _ldx,
    "st": _st,
    "stx": _stx,
    "atomic": _atomic,
    "lddw": _lddw,
    "packet": _packet,
}
"""Every instruction kind by name; each value makes a strategy."""


def instructions(kinds: Iterable[str] | None = None) -> st.SearchStrategy[Instruction]:
    """Valid instructions of the given kinds (default: all of ``KINDS``)."""
    names = list(KINDS) if kinds is None else list(kinds)
    return st.one_of([KINDS[name]() for name in names])


def programs(
    min_size: int = 1, max_size: int = 20, kinds: Iterable[str] | None = None
) -> st.SearchStrategy[list[Instruction]]:
    """Lists of valid instructions (jump offsets are arbitrary, not inside the program)."""
    return st.lists(instructions(kinds), min_size=min_size, max_size=max_size)
