"""Bytes <-> ``Instruction``: the only module that knows the 8-byte wire format.

Each slot is ``opcode:u8, dst:4 | src:4 (little-endian nibbles), off:s16, imm:s32``
in little-endian byte order. ``lddw`` spans two slots; the second carries the
upper 32 bits of the immediate and must otherwise be zero.

``decode(strict=True)`` also checks every field the instruction set reserves
(as the kernel's verifier and RFC 9669 do): unknown opcodes, non-zero unused
fields, bad registers. ``validate`` gives that check for one instruction. This
module does not parse or print text.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable

from ebpy.errors import DecodeError, EncodeError
from ebpy.isa._intmath import M32, M64, fits_either, fits_signed, s32
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import (
    LDDW,
    AluOp,
    AtomicOp,
    CallSrc,
    Class,
    JmpOp,
    Mode,
    PseudoSrc,
    Size,
    Source,
)

SLOT = struct.Struct("<BBhI")
MAX_REG = 10

_ATOMIC_OPS = frozenset(int(a) for a in AtomicOp)
_PSEUDO = frozenset(int(p) for p in PseudoSrc)
_CALL_SRC = frozenset(int(c) for c in CallSrc)
_PSEUDO_NO_HIGH = frozenset({PseudoSrc.MAP_FD, PseudoSrc.MAP_IDX, PseudoSrc.FUNC})


def _check_regs(insn: Instruction) -> None:
    if not 0 <= insn.dst <= 15 or not 0 <= insn.src <= 15:
        raise EncodeError("register", insn.dst if not 0 <= insn.dst <= 15 else insn.src)


def encode_one(insn: Instruction) -> bytes:
    """Encode one instruction (16 bytes for ``lddw``, else 8).

    >>> from ebpy.isa.builder import EXIT
    >>> encode_one(EXIT()).hex()
    '9500000000000000'
    """
    _check_regs(insn)
    if not 0 <= insn.op <= 0xFF:
        raise EncodeError("opcode", insn.op)
    if not fits_signed(insn.off, 16):
        raise EncodeError("offset", insn.off)
    regs = (insn.src << 4) | insn.dst
    if insn.op == LDDW:
        if not fits_either(insn.imm, 64):
            raise EncodeError("imm64", insn.imm)
        imm = insn.imm & M64
        return SLOT.pack(insn.op, regs, insn.off, imm & M32) + SLOT.pack(0, 0, 0, imm >> 32)
    if not fits_either(insn.imm, 32):
        raise EncodeError("imm", insn.imm)
    return SLOT.pack(insn.op, regs, insn.off, insn.imm & M32)


def encode(insns: Iterable[Instruction]) -> bytes:
    """Encode a program to bytecode."""
    return b"".join(encode_one(i) for i in insns)


def decode(data: bytes, *, strict: bool = True) -> list[Instruction]:
    """Decode bytecode into instructions.

    With ``strict`` every instruction must pass ``validate``; without, only the
    framing is checked (length, the second slot of ``lddw``).

    >>> decode(bytes.fromhex("b70000002a0000009500000000000000"))[0].imm
    42
    """
    if len(data) % 8:
        raise DecodeError(f"length {len(data)} is not a multiple of 8")
    out: list[Instruction] = []
    n = len(data) // 8
    pc = 0
    while pc < n:
        op, regs, off, imm = SLOT.unpack_from(data, pc * 8)
        dst, src = regs & 0x0F, regs >> 4
        if op == LDDW:
            if pc + 1 >= n:
                raise DecodeError("lddw is missing its second slot", pc, data[pc * 8 :])
            op2, regs2, off2, imm2 = SLOT.unpack_from(data, pc * 8 + 8)
            if strict and (op2 or regs2 or off2):
                raise DecodeError(
                    "second slot of lddw has non-zero reserved fields",
                    pc,
                    data[pc * 8 : pc * 8 + 16],
                )
            insn = Instruction(op, dst, src, off, imm | (imm2 << 32))
        else:
            insn = Instruction(op, dst, src, off, s32(imm))
        if strict:
            reason = validate(insn)
            if reason:
                raise DecodeError(reason, pc, data[pc * 8 : pc * 8 + 8 * insn.width])
        out.append(insn)
        pc += insn.width
    return out


def validate(insn: Instruction) -> str | None:
    """Why ``insn`` is not a valid instruction, or None when it is.

    >>> from ebpy.isa.instruction import Instruction
    >>> validate(Instruction(0x95, dst=1))
    'exit uses reserved fields'
    """
    if insn.dst > MAX_REG or (insn.src > MAX_REG and not insn.is_lddw):
        return f"invalid register r{max(insn.dst, insn.src)}"
    check = _CLASS_CHECKS[insn.op & 0x07]
    return check(insn)


def _zero(insn: Instruction, *fields: str) -> bool:
    return all(getattr(insn, f) == 0 for f in fields)


def _check_alu(insn: Instruction) -> str | None:
    op = insn.op & 0xF0
    is64 = insn.op & 0x07 == Class.ALU64
    if op not in AluOp._value2member_map_:
        return f"unknown ALU operation {op:#x}"
    name = AluOp(op).name.lower()
    x = insn.op & 0x08 == Source.X
    if op == AluOp.NEG:
        return None if not x and _zero(insn, "src", "off", "imm") else "neg uses reserved fields"
    if op == AluOp.END:
        if is64 and x:
            return "unknown byte swap opcode"
        if insn.imm not in (16, 32, 64) or not _zero(insn, "src", "off"):
            return "byte swap uses reserved fields or a bad width"
        return None
    if op == AluOp.MOV and x:
        allowed = (0, 8, 16, 32) if is64 else (0, 8, 16)
        ok = insn.imm == 0 and insn.off in allowed
        return None if ok else "mov uses reserved fields"
    allowed_off = (0, 1) if op in (AluOp.DIV, AluOp.MOD) else (0,)
    if insn.off not in allowed_off:
        return f"{name} uses reserved off field"
    if x and insn.imm != 0:
        return f"{name} uses reserved imm field"
    if not x and insn.src != 0:
        return f"{name} uses reserved src field"
    return None


def _check_jmp(insn: Instruction) -> str | None:
    op = insn.op & 0xF0
    is32 = insn.op & 0x07 == Class.JMP32
    x = insn.op & 0x08 == Source.X
    if op not in JmpOp._value2member_map_:
        return f"unknown jump operation {op:#x}"
    if op == JmpOp.JA:
        if x:
            return "ja with register source"
        if is32:
            return None if _zero(insn, "dst", "src", "off") else "gotol uses reserved fields"
        return None if _zero(insn, "dst", "src", "imm") else "ja uses reserved fields"
    if op == JmpOp.CALL:
        if is32:
            return "call in JMP32 class"
        if x:
            return None if _zero(insn, "src", "off", "imm") else "callx uses reserved fields"
        if insn.src not in _CALL_SRC:
            return f"call with unknown src {insn.src}"
        if insn.src == CallSrc.KFUNC:  # off: index of the module's BTF fd, or 0
            return None if insn.dst == 0 and insn.off >= 0 else "kfunc call uses reserved fields"
        return None if _zero(insn, "dst", "off") else "call uses reserved fields"
    if op == JmpOp.EXIT:
        ok = not is32 and not x and _zero(insn, "dst", "src", "off", "imm")
        return None if ok else "exit uses reserved fields"
    if x and insn.imm != 0:
        return "conditional jump uses reserved imm field"
    if not x and insn.src != 0:
        return "conditional jump uses reserved src field"
    return None


def _check_ld(insn: Instruction) -> str | None:
    mode = insn.op & 0xE0
    size = insn.op & 0x18
    if insn.op == LDDW:
        if insn.src not in _PSEUDO:
            return f"lddw with unknown pseudo source {insn.src}"
        if insn.src in _PSEUDO_NO_HIGH and insn.imm >> 32:
            return "lddw of a map or function reference with a non-zero upper half"
        return None if insn.off == 0 else "lddw uses reserved off field"
    if mode == Mode.ABS and size != Size.DW:
        return None if _zero(insn, "dst", "src", "off") else "ld_abs uses reserved fields"
    if mode == Mode.IND and size != Size.DW:
        return None if _zero(insn, "dst", "off") else "ld_ind uses reserved fields"
    return f"unknown load opcode {insn.op:#04x}"


def _check_ldx(insn: Instruction) -> str | None:
    mode = insn.op & 0xE0
    if mode == Mode.MEMSX and insn.op & 0x18 == Size.DW:
        return "sign-extending load of 8 bytes"
    if mode not in (Mode.MEM, Mode.MEMSX):
        return f"unknown ldx opcode {insn.op:#04x}"
    return None if insn.imm == 0 else "ldx uses reserved imm field"


def _check_st(insn: Instruction) -> str | None:
    if insn.op & 0xE0 != Mode.MEM:
        return f"unknown st opcode {insn.op:#04x}"
    return None if insn.src == 0 else "st uses reserved src field"


def _check_stx(insn: Instruction) -> str | None:
    mode = insn.op & 0xE0
    if mode == Mode.MEM:
        return None if insn.imm == 0 else "stx uses reserved imm field"
    if mode == Mode.ATOMIC:
        if insn.op & 0x18 not in (Size.W, Size.DW):
            return "atomic operation on 1 or 2 bytes"
        return None if insn.imm in _ATOMIC_OPS else f"unknown atomic operation {insn.imm:#x}"
    return f"unknown stx opcode {insn.op:#04x}"


_CLASS_CHECKS: dict[int, Callable[[Instruction], str | None]] = {
    Class.ALU: _check_alu,
    Class.ALU64: _check_alu,
    Class.JMP: _check_jmp,
    Class.JMP32: _check_jmp,
    Class.LD: _check_ld,
    Class.LDX: _check_ldx,
    Class.ST: _check_st,
    Class.STX: _check_stx,
}
