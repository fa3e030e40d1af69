"""Classic BPF: the instruction, its opcode fields, and ``struct sock_filter`` bytes.

A classic instruction is ``struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }``
(8 bytes, host byte order). ``code`` packs a class (low 3 bits), and by class
a size and addressing mode (loads), an operation and a source (ALU, jumps), or
a return source. Linux adds "ancillary" loads at negative offsets from
``SKF_AD_OFF`` (protocol, ifindex, VLAN tag ...) and the ``SKF_NET_OFF`` /
``SKF_LL_OFF`` bases.

This module is the data model and byte encoding only. Text formats, the
assembler, the interpreter, the validator and the translation to eBPF live in
their own modules of ``ebpy.cbpf``.

>>> i = Insn(BPF_LD | BPF_H | BPF_ABS, 0, 0, 12)
>>> i.cls == BPF_LD, i.size == BPF_H, i.mode == BPF_ABS
(True, True, True)
>>> decode(encode([i])) == [i]
True
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ebpy.errors import DecodeError

__all__ = [
    "BPF_MAXINSNS",
    "BPF_MEMWORDS",
    "COND_JUMPS",
    "SKF_AD",
    "Insn",
    "ancillary",
    "decode",
    "encode",
    "is_cond_jump",
    "jump",
    "stmt",
]

# classes
BPF_LD, BPF_LDX, BPF_ST, BPF_STX, BPF_ALU, BPF_JMP, BPF_RET, BPF_MISC = range(8)
# load sizes
BPF_W, BPF_H, BPF_B = 0x00, 0x08, 0x10
# addressing modes
BPF_IMM, BPF_ABS, BPF_IND, BPF_MEM, BPF_LEN, BPF_MSH = 0x00, 0x20, 0x40, 0x60, 0x80, 0xA0
# ALU operations
BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND, BPF_LSH, BPF_RSH = (
    0x00,
    0x10,
    0x20,
    0x30,
    0x40,
    0x50,
    0x60,
    0x70,
)
BPF_NEG, BPF_MOD, BPF_XOR = 0x80, 0x90, 0xA0
# jumps
BPF_JA, BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET = 0x00, 0x10, 0x20, 0x30, 0x40
# sources
BPF_K, BPF_X = 0x00, 0x08
# return sources
BPF_A = 0x10
# misc
BPF_TAX, BPF_TXA = 0x00, 0x80

BPF_MAXINSNS = 4096
BPF_MEMWORDS = 16

SKF_AD_OFF = -0x1000
SKF_NET_OFF = -0x100000
SKF_LL_OFF = -0x200000

SKF_AD = {
    "protocol": 0,
    "pkttype": 4,
    "ifindex": 8,
    "nlattr": 12,
    "nlattr_nest": 16,
    "mark": 20,
    "queue": 24,
    "hatype": 28,
    "rxhash": 32,
    "cpu": 36,
    "alu_xor_x": 40,
    "vlan_tci": 44,
    "vlan_tag_present": 48,
    "pay_offset": 52,
    "random": 56,
    "vlan_tpid": 60,
}
"""Linux ancillary loads: name -> offset from ``SKF_AD_OFF`` (``SKF_AD_MAX`` is 64)."""
SKF_AD_MAX = 64

_FORMAT = struct.Struct("<HBBI")


@dataclass(frozen=True, slots=True)
class Insn:
    """One classic instruction: ``code``, jump offsets ``jt``/``jf``, operand ``k`` (u32)."""

    code: int
    jt: int = 0
    jf: int = 0
    k: int = 0

    @property
    def cls(self) -> int:
        return self.code & 0x07

    @property
    def size(self) -> int:
        return self.code & 0x18

    @property
    def mode(self) -> int:
        return self.code & 0xE0

    @property
    def op(self) -> int:
        return self.code & 0xF0

    @property
    def src(self) -> int:
        return self.code & 0x08

    @property
    def rval(self) -> int:
        return self.code & 0x18

    @property
    def miscop(self) -> int:
        return self.code & 0xF8

    @property
    def k_signed(self) -> int:
        """``k`` as a signed 32-bit number (ancillary and negative offsets)."""
        return self.k - (1 << 32) if self.k & 0x8000_0000 else self.k


def stmt(code: int, k: int = 0) -> Insn:
    """``BPF_STMT(code, k)``; ``k`` may be negative (it is stored as u32)."""
    return Insn(code, 0, 0, k & 0xFFFF_FFFF)


def jump(code: int, k: int, jt: int, jf: int) -> Insn:
    """``BPF_JUMP(code, k, jt, jf)``."""
    return Insn(code, jt, jf, k & 0xFFFF_FFFF)


def encode(insns: Iterable[Insn]) -> bytes:
    """``struct sock_filter`` array bytes (little-endian, as on x86-64)."""
    return b"".join(_FORMAT.pack(i.code, i.jt, i.jf, i.k) for i in insns)


def decode(data: bytes | bytearray | memoryview) -> list[Insn]:
    """Instructions from ``struct sock_filter`` bytes; ``DecodeError`` on a ragged length."""
    data = bytes(data)
    if len(data) % 8:
        raise DecodeError(f"{len(data)} bytes is not a whole number of 8-byte instructions")
    return [Insn(*fields) for fields in _FORMAT.iter_unpack(data)]


def program_from_tuples(rows: Sequence[tuple[int, int, int, int]]) -> list[Insn]:
    """Instructions from ``(code, jt, jf, k)`` rows, as ``tcpdump -dd`` prints them."""
    return [Insn(code & 0xFFFF, jt & 0xFF, jf & 0xFF, k & 0xFFFF_FFFF) for code, jt, jf, k in rows]


SKF_AD_NAMES = {off: name for name, off in SKF_AD.items()}
"""Linux ancillary loads: offset from ``SKF_AD_OFF`` -> name (the keys of ``SKF_AD``)."""

COND_JUMPS = frozenset(
    BPF_JMP | op | src for op in (BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET) for src in (BPF_K, BPF_X)
)
"""The eight conditional jump codes (``jeq``/``jgt``/``jge``/``jset``, ``#k`` or ``x``)."""


def is_cond_jump(code: int) -> bool:
    """True for a conditional jump code (one of ``COND_JUMPS``).

    >>> is_cond_jump(BPF_JMP | BPF_JEQ | BPF_K), is_cond_jump(BPF_JMP | BPF_JA)
    (True, False)
    """
    return code in COND_JUMPS


def ancillary(k: int) -> str | None:
    """The name of the Linux ancillary load at ``k`` (a u32 offset), or None.

    >>> ancillary(SKF_AD_OFF + 0 & 0xFFFF_FFFF), ancillary(12), ancillary(SKF_AD_OFF + 2 & 0xFFFF_FFFF)
    ('protocol', None, None)
    """
    off = (k & 0xFFFF_FFFF) - (SKF_AD_OFF & 0xFFFF_FFFF)
    return SKF_AD_NAMES.get(off) if 0 <= off < SKF_AD_MAX else None
