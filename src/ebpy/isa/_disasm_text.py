"""The text of one valid instruction in llvm and in bpftool syntax (used by ``disasm``).

Callers check ``encoding.validate`` first; these functions assume a valid
instruction. One printer per instruction class, chosen from a table.

Syntax decisions (llvm style, ``llvm_text``):

* Exactly LLVM 14's ``llvm-objdump -d`` text wherever LLVM 14 prints the
  instruction faithfully: ``r0 = *(u32 *)(r1 + 4)``, ``w0 += w1``,
  ``if r1 s> r2 goto +3``, ``r1 = 4660 ll``, ``r0 = be16 r0``,
  ``lock *(u64 *)(r10 - 8) += r1``, ``r0 = *(u32 *)skb[4]``, ``call 1``,
  ``ld_pseudo\\tr1, 1, 4660`` (a 64-bit load with a pseudo source; LLVM's
  tab included; we print the whole 64-bit value where LLVM prints its low half).
* Newer LLVM's syntax where LLVM 14 prints ``<unknown>`` or the wrong thing:
  ``r0 s/= r1``, ``r0 s%= r1``, ``r0 %= r1``, ``r1 = (s8)r2``, ``w1 = (s16)w2``,
  ``r0 = *(s8 *)(r1 + 2)``, ``*(u32 *)(r1 + 2) = 5``, ``r0 = bswap16 r0``,
  ``gotol +5``, ``callx r2`` (the register from ``dst``), ``if r1 & r2 goto +3``,
  and the 32-bit atomics as LLVM 14 prints them with ``--mattr=+alu32``:
  ``lock *(u32 *)(r1 + 0) |= w2``, ``w2 = atomic_fetch_add((u32 *)(r1 + 0), w2)``,
  ``w2 = xchg32_32(r1 + 0, w2)``, ``w0 = cmpxchg32_32(r1 + 0, w0, w2)``.
  (LLVM 14 without that flag prints a fetch-add on 32 bits as a plain
  ``lock ... += r2``, which is wrong; we print the fetch form.)
* ``r0 = *(u8 *)skb[r2 - 4]``: LLVM never prints the immediate of an indirect
  packet load; we add it when it is not zero.
* Calls: LLVM prints ``call IMM`` whatever the source; with ``lossless`` a
  bpf-to-bpf call prints ``call pc+N`` and a kfunc call
  ``call kernel-function#ID`` (bpftool's forms), so the text reads back.

bpftool style (``bpftool_text``) is the kernel's printer with bpftool's
callbacks: ``r2 = *(u32 *)(r1 +4)``, ``if r1 == 0x0 goto pc+3``,
``call bpf_map_lookup_elem#1``, ``call pc+3``, ``call kernel-function#7``,
``r1 = 0x1234`` (lddw), ``r1 = map[id:5]``, ``r1 = map[id:5][0]+8``,
``r1 = map[idx:2]+8``, ``r1 = subprog[+3]``, the ``atomic64_fetch_add(...)``
family. Where bpftool loses information we add a form: ``r1 = map[idx:2]``
and ``r1 = btf_id[77]`` (bpftool prints a bare number), a ``[hi:N]`` suffix
when the unused upper half of such a load is set, ``callx r2``, and
``r0 = *(u8 *)skb[r2 + 4]`` as the kernel prints it.
"""

from __future__ import annotations

from collections.abc import Callable

from ebpy.isa._intmath import M32, M64, s32, s64
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import (
    FETCH,
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
from ebpy.uapi import HELPER_NAMES

ALU_OPS: dict[int, str] = {
    AluOp.ADD: "+=",
    AluOp.SUB: "-=",
    AluOp.MUL: "*=",
    AluOp.DIV: "/=",
    AluOp.OR: "|=",
    AluOp.AND: "&=",
    AluOp.LSH: "<<=",
    AluOp.RSH: ">>=",
    AluOp.MOD: "%=",
    AluOp.XOR: "^=",
    AluOp.MOV: "=",
    AluOp.ARSH: "s>>=",
}
SIGNED_ALU_OPS: dict[int, str] = {AluOp.DIV: "s/=", AluOp.MOD: "s%="}

JMP_OPS: dict[int, str] = {
    JmpOp.JEQ: "==",
    JmpOp.JGT: ">",
    JmpOp.JGE: ">=",
    JmpOp.JSET: "&",
    JmpOp.JNE: "!=",
    JmpOp.JSGT: "s>",
    JmpOp.JSGE: "s>=",
    JmpOp.JLT: "<",
    JmpOp.JLE: "<=",
    JmpOp.JSLT: "s<",
    JmpOp.JSLE: "s<=",
}

ATOMIC_NAMES: dict[int, str] = {
    AtomicOp.ADD: "add",
    AtomicOp.OR: "or",
    AtomicOp.AND: "and",
    AtomicOp.XOR: "xor",
}
ATOMIC_OPS: dict[int, str] = {
    AtomicOp.ADD: "+=",
    AtomicOp.OR: "|=",
    AtomicOp.AND: "&=",
    AtomicOp.XOR: "^=",
}


def _bits(insn: Instruction) -> int:
    return 8 * Size(insn.op & 0x18).nbytes


def _ctype(insn: Instruction) -> str:
    return f"u{_bits(insn)}"


def helper_name(helper_id: int) -> str | None:
    """The kernel's name of a helper (``bpf_map_lookup_elem``), or None."""
    name = HELPER_NAMES.get(helper_id)
    return None if name is None else "bpf_" + name


# -- llvm ------------------------------------------------------------------------


def _mem(reg: int, off: int) -> str:
    return f"r{reg} + {off}" if off >= 0 else f"r{reg} - {-off}"


def _llvm_alu(insn: Instruction, lossless: bool) -> str:
    p = "w" if insn.op & 0x07 == Class.ALU else "r"
    op = insn.op & 0xF0
    d, s = insn.dst, insn.src
    if op == AluOp.NEG:
        return f"{p}{d} = -{p}{d}"
    if op == AluOp.END:
        if insn.op & 0x07 == Class.ALU64:
            return f"r{d} = bswap{insn.imm} r{d}"
        kind = "be" if insn.op & 0x08 else "le"
        return f"r{d} = {kind}{insn.imm} r{d}"
    if op == AluOp.MOV and insn.op & 0x08 and insn.off:
        return f"{p}{d} = (s{insn.off}){p}{s}"
    sym = SIGNED_ALU_OPS[op] if insn.off == 1 else ALU_OPS[op]
    if insn.op & 0x08 == Source.X:
        return f"{p}{d} {sym} {p}{s}"
    return f"{p}{d} {sym} {insn.imm}"


def _llvm_jmp(insn: Instruction, lossless: bool) -> str:
    op = insn.op & 0xF0
    is32 = insn.op & 0x07 == Class.JMP32
    if op == JmpOp.JA:
        return f"gotol {insn.imm:+d}" if is32 else f"goto {insn.off:+d}"
    if op == JmpOp.CALL:
        if insn.op & 0x08:
            return f"callx r{insn.dst}"
        if lossless and insn.src == CallSrc.PSEUDO_CALL:
            return f"call pc{insn.imm:+d}"
        if lossless and insn.src == CallSrc.KFUNC:
            return f"call kernel-function#{insn.imm}"
        return f"call {insn.imm}"
    if op == JmpOp.EXIT:
        return "exit"
    p = "w" if is32 else "r"
    rhs = f"{p}{insn.src}" if insn.op & 0x08 else str(insn.imm)
    return f"if {p}{insn.dst} {JMP_OPS[op]} {rhs} goto {insn.off:+d}"


def _llvm_ld(insn: Instruction, lossless: bool) -> str:
    mode = insn.op & 0xE0
    if mode == Mode.ABS:
        return f"r0 = *({_ctype(insn)} *)skb[{insn.imm}]"
    if mode == Mode.IND:
        where = f"r{insn.src}" if insn.imm == 0 else _mem(insn.src, insn.imm)
        return f"r0 = *({_ctype(insn)} *)skb[{where}]"
    if insn.src == PseudoSrc.IMM:
        return f"r{insn.dst} = {s64(insn.imm)} ll"
    return f"ld_pseudo\tr{insn.dst}, {insn.src}, {insn.imm}"


def _llvm_ldx(insn: Instruction, lossless: bool) -> str:
    sign = "s" if insn.op & 0xE0 == Mode.MEMSX else "u"
    return f"r{insn.dst} = *({sign}{_bits(insn)} *)({_mem(insn.src, insn.off)})"


def _llvm_st(insn: Instruction, lossless: bool) -> str:
    return f"*({_ctype(insn)} *)({_mem(insn.dst, insn.off)}) = {insn.imm}"


def _llvm_stx(insn: Instruction, lossless: bool) -> str:
    mem = _mem(insn.dst, insn.off)
    s = insn.src
    if insn.op & 0xE0 == Mode.MEM:
        return f"*({_ctype(insn)} *)({mem}) = r{s}"
    wide = insn.op & 0x18 == Size.DW
    p, ct = ("r", "u64") if wide else ("w", "u32")
    imm = insn.imm
    if imm == AtomicOp.XCHG:
        return f"{p}{s} = xchg_64({mem}, {p}{s})" if wide else f"w{s} = xchg32_32({mem}, w{s})"
    if imm == AtomicOp.CMPXCHG:
        if wide:
            return f"r0 = cmpxchg_64({mem}, r0, r{s})"
        return f"w0 = cmpxchg32_32({mem}, w0, w{s})"
    if imm & FETCH:
        return f"{p}{s} = atomic_fetch_{ATOMIC_NAMES[imm & ~FETCH]}(({ct} *)({mem}), {p}{s})"
    if imm == AtomicOp.ADD:
        p = "r"  # LLVM 14 prints the 32-bit lock add with a 64-bit register name
    return f"lock *({ct} *)({mem}) {ATOMIC_OPS[imm]} {p}{s}"


_LLVM: dict[int, Callable[[Instruction, bool], str]] = {
    Class.ALU: _llvm_alu,
    Class.ALU64: _llvm_alu,
    Class.JMP: _llvm_jmp,
    Class.JMP32: _llvm_jmp,
    Class.LD: _llvm_ld,
    Class.LDX: _llvm_ldx,
    Class.ST: _llvm_st,
    Class.STX: _llvm_stx,
}


def _normal(insn: Instruction) -> Instruction:
    """The same instruction with ``imm`` as printed: u64 for ``lddw``, else s32."""
    imm = insn.imm & M64 if insn.op == LDDW else s32(insn.imm)
    return insn if imm == insn.imm else insn.replace(imm=imm)


def llvm_text(insn: Instruction, *, lossless: bool) -> str:
    """LLVM-syntax text of a valid instruction (see the module docstring)."""
    return _LLVM[insn.op & 0x07](_normal(insn), lossless)


# -- bpftool ---------------------------------------------------------------------


def _kmem(reg: int, off: int) -> str:
    return f"r{reg} {off:+d}"


def _bt_alu(insn: Instruction) -> str:
    p = "w" if insn.op & 0x07 == Class.ALU else "r"
    op = insn.op & 0xF0
    d, s = insn.dst, insn.src
    if op == AluOp.END:
        if insn.op & 0x07 == Class.ALU64:
            return f"r{d} = bswap{insn.imm} r{d}"
        return f"r{d} = {'be' if insn.op & 0x08 else 'le'}{insn.imm} r{d}"
    if op == AluOp.NEG:
        return f"{p}{d} = -{p}{d}"
    sym = SIGNED_ALU_OPS[op] if insn.off == 1 and op in SIGNED_ALU_OPS else ALU_OPS[op]
    if insn.op & 0x08 == Source.X:
        cast = f"(s{insn.off})" if op == AluOp.MOV and insn.off else ""
        return f"{p}{d} {sym} {cast}{p}{s}"
    return f"{p}{d} {sym} {insn.imm}"


def _bt_jmp(insn: Instruction) -> str:
    op = insn.op & 0xF0
    is32 = insn.op & 0x07 == Class.JMP32
    if op == JmpOp.CALL:
        if insn.op & 0x08:
            return f"callx r{insn.dst}"
        if insn.src == CallSrc.PSEUDO_CALL:
            return f"call pc{insn.imm:+d}"
        if insn.src == CallSrc.KFUNC:
            return f"call kernel-function#{insn.imm}"
        return f"call {helper_name(insn.imm) or 'unknown'}#{insn.imm}"
    if op == JmpOp.JA:
        return f"gotol pc{insn.imm:+d}" if is32 else f"goto pc{insn.off:+d}"
    if op == JmpOp.EXIT:
        return "exit"
    p = "w" if is32 else "r"
    rhs = f"{p}{insn.src}" if insn.op & 0x08 else f"0x{insn.imm & M32:x}"
    return f"if {p}{insn.dst} {JMP_OPS[op]} {rhs} goto pc{insn.off:+d}"


def _bt_lddw_value(insn: Instruction) -> str:
    lo, hi = insn.imm & M32, insn.imm >> 32
    src = insn.src
    if src == PseudoSrc.IMM:
        return f"0x{insn.imm:x}"
    if src == PseudoSrc.MAP_VALUE:
        return f"map[id:{lo}][0]+{hi}"
    if src == PseudoSrc.MAP_IDX_VALUE:
        return f"map[idx:{lo}]+{hi}"
    text = {
        PseudoSrc.MAP_FD: f"map[id:{lo}]",
        PseudoSrc.MAP_IDX: f"map[idx:{lo}]",
        PseudoSrc.BTF_ID: f"btf_id[{lo}]",
        PseudoSrc.FUNC: f"subprog[{s32(lo):+d}]",
    }[PseudoSrc(src)]
    return f"{text}[hi:{hi}]" if hi else text


def _bt_ld(insn: Instruction) -> str:
    mode = insn.op & 0xE0
    if mode == Mode.ABS:
        return f"r0 = *({_ctype(insn)} *)skb[{insn.imm}]"
    if mode == Mode.IND:
        return f"r0 = *({_ctype(insn)} *)skb[r{insn.src} + {insn.imm}]"
    return f"r{insn.dst} = {_bt_lddw_value(insn)}"


def _bt_ldx(insn: Instruction) -> str:
    sign = "s" if insn.op & 0xE0 == Mode.MEMSX else "u"
    return f"r{insn.dst} = *({sign}{_bits(insn)} *)({_kmem(insn.src, insn.off)})"


def _bt_st(insn: Instruction) -> str:
    return f"*({_ctype(insn)} *)({_kmem(insn.dst, insn.off)}) = {insn.imm}"


def _bt_stx(insn: Instruction) -> str:
    mem = f"({_ctype(insn)} *)({_kmem(insn.dst, insn.off)})"
    s = insn.src
    if insn.op & 0xE0 == Mode.MEM:
        return f"*{mem} = r{s}"
    w = "64" if insn.op & 0x18 == Size.DW else ""
    imm = insn.imm
    if imm == AtomicOp.XCHG:
        return f"r{s} = atomic{w}_xchg({mem}, r{s})"
    if imm == AtomicOp.CMPXCHG:
        return f"r0 = atomic{w}_cmpxchg({mem}, r0, r{s})"
    if imm & FETCH:
        return f"r{s} = atomic{w}_fetch_{ATOMIC_NAMES[imm & ~FETCH]}({mem}, r{s})"
    return f"lock *{mem} {ATOMIC_OPS[imm]} r{s}"


_BPFTOOL: dict[int, Callable[[Instruction], str]] = {
    Class.ALU: _bt_alu,
    Class.ALU64: _bt_alu,
    Class.JMP: _bt_jmp,
    Class.JMP32: _bt_jmp,
    Class.LD: _bt_ld,
    Class.LDX: _bt_ldx,
    Class.ST: _bt_st,
    Class.STX: _bt_stx,
}


def bpftool_text(insn: Instruction) -> str:
    """bpftool-syntax text of a valid instruction, without the ``pc: (op)`` prefix."""
    return _BPFTOOL[insn.op & 0x07](_normal(insn))
