"""The eBPF opcode byte and its fields, as enums (RFC 9669 and the Linux kernel).

An opcode byte is ``class | ...``: for ALU/JMP classes ``op | source | class``,
for loads and stores ``mode | size | class``. Atomic operations keep their
operation in ``imm``. This module names the fields; it does not encode whole
instructions (``encoding``) or print them (``disasm``).

The values come from ``ebpy.uapi`` (generated from linux/bpf.h) where the
installed header has them; a few newer ones (``MEMSX``, signed div/mod via
``off``) are facts from RFC 9669 not yet in Debian's 6.1 header.
"""

from __future__ import annotations

from enum import IntEnum


class Class(IntEnum):
    """Instruction class: the low three bits of the opcode."""

    LD = 0x00
    LDX = 0x01
    ST = 0x02
    STX = 0x03
    ALU = 0x04
    JMP = 0x05
    JMP32 = 0x06
    ALU64 = 0x07


class Size(IntEnum):
    """Access size of a load or store (bits 3-4)."""

    W = 0x00
    H = 0x08
    B = 0x10
    DW = 0x18

    @property
    def nbytes(self) -> int:
        return SIZE_BYTES[self]

    @property
    def ctype(self) -> str:
        """The C type name used in llvm syntax: ``u8`` .. ``u64``."""
        return f"u{8 * SIZE_BYTES[self]}"

    @classmethod
    def from_bytes(cls, n: int) -> Size:  # type: ignore[override]  # shadows int.from_bytes
        """The size of an access of ``n`` bytes (1, 2, 4 or 8)."""
        return _SIZE_OF_BYTES[n]


SIZE_BYTES = {Size.B: 1, Size.H: 2, Size.W: 4, Size.DW: 8}
_SIZE_OF_BYTES = {v: k for k, v in SIZE_BYTES.items()}


class Mode(IntEnum):
    """Addressing mode of a load or store (bits 5-7)."""

    IMM = 0x00
    ABS = 0x20
    IND = 0x40
    MEM = 0x60
    MEMSX = 0x80
    ATOMIC = 0xC0


class Source(IntEnum):
    """Operand source for ALU and JMP: ``K`` = imm, ``X`` = src register."""

    K = 0x00
    X = 0x08


class AluOp(IntEnum):
    """ALU operation (bits 4-7)."""

    ADD = 0x00
    SUB = 0x10
    MUL = 0x20
    DIV = 0x30
    OR = 0x40
    AND = 0x50
    LSH = 0x60
    RSH = 0x70
    NEG = 0x80
    MOD = 0x90
    XOR = 0xA0
    MOV = 0xB0
    ARSH = 0xC0
    END = 0xD0


class JmpOp(IntEnum):
    """Jump operation (bits 4-7)."""

    JA = 0x00
    JEQ = 0x10
    JGT = 0x20
    JGE = 0x30
    JSET = 0x40
    JNE = 0x50
    JSGT = 0x60
    JSGE = 0x70
    CALL = 0x80
    EXIT = 0x90
    JLT = 0xA0
    JLE = 0xB0
    JSLT = 0xC0
    JSLE = 0xD0


class AtomicOp(IntEnum):
    """Atomic operation, kept in ``imm`` of an ``STX | ATOMIC`` instruction."""

    ADD = 0x00
    OR = 0x40
    AND = 0x50
    XOR = 0xA0
    FETCH_ADD = 0x01
    FETCH_OR = 0x41
    FETCH_AND = 0x51
    FETCH_XOR = 0xA1
    XCHG = 0xE1
    CMPXCHG = 0xF1


FETCH = 0x01


class PseudoSrc(IntEnum):
    """``src`` of a 64-bit immediate load (``lddw``): what ``imm`` means."""

    IMM = 0
    MAP_FD = 1
    MAP_VALUE = 2
    BTF_ID = 3
    FUNC = 4
    MAP_IDX = 5
    MAP_IDX_VALUE = 6


class CallSrc(IntEnum):
    """``src`` of a call: helper by id, bpf-to-bpf call, or kfunc by BTF id."""

    HELPER = 0
    PSEUDO_CALL = 1
    KFUNC = 2


class Endian(IntEnum):
    """Source bit of ``END``: convert to little or big endian (``BPF_ALU64`` = bswap)."""

    TO_LE = 0x00
    TO_BE = 0x08


def opcode_class(op: int) -> Class:
    """The class of an opcode byte.

    >>> opcode_class(0x95).name
    'JMP'
    """
    return Class(op & 0x07)


LDDW = Class.LD | Mode.IMM | Size.DW
"""The opcode of the two-slot 64-bit immediate load (0x18)."""

ALU_CLASSES = frozenset({Class.ALU, Class.ALU64})
JMP_CLASSES = frozenset({Class.JMP, Class.JMP32})
