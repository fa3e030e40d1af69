"""Read one line of kernel/llvm assembly: what llvm-objdump and bpftool print.

Accepts everything ``disasm`` prints in either style and the usual variants:
``r0 = *(u32 *)(r1 + 4)`` or ``(r1 +4)``, ``w1 += 3``, ``r1 = 0x1234 ll``,
``r1 = map[id:5]``, ``if w1 > 3 goto lbl``, ``goto pc+3``, ``call 1``,
``call bpf_map_lookup_elem`` / ``call bpf_map_lookup_elem#1``, ``call pc+3``,
``call local_fn``, ``lock *(u64 *)(r10 - 8) += r1``, ``r0 = atomic_fetch_add(...)``
and bpftool's ``atomic64_...`` spellings. Listing prefixes, comments and labels
are handled by ``asm``; this module turns the tokens of one instruction into a
``Parsed`` record and raises ``LineError`` at the offending token.
"""

from __future__ import annotations

from collections.abc import Callable

from ebpy.isa._asm_forms import ATOMIC_CALLS, PSEUDO_VALUES, parse_call
from ebpy.isa._asm_lex import (
    Cursor,
    LineError,
    Parsed,
    Token,
    cast,
    imm32,
    imm64,
    memory,
    number32,
    reg,
    same_reg,
    signed_number,
    target,
)
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import (
    LDDW,
    AluOp,
    AtomicOp,
    Class,
    Endian,
    JmpOp,
    Mode,
    PseudoSrc,
    Size,
    Source,
)

ALU_SYMBOLS: dict[str, tuple[AluOp, int]] = {
    "+=": (AluOp.ADD, 0),
    "-=": (AluOp.SUB, 0),
    "*=": (AluOp.MUL, 0),
    "/=": (AluOp.DIV, 0),
    "s/=": (AluOp.DIV, 1),
    "|=": (AluOp.OR, 0),
    "&=": (AluOp.AND, 0),
    "<<=": (AluOp.LSH, 0),
    ">>=": (AluOp.RSH, 0),
    "%=": (AluOp.MOD, 0),
    "s%=": (AluOp.MOD, 1),
    "^=": (AluOp.XOR, 0),
    "s>>=": (AluOp.ARSH, 0),
}
JMP_SYMBOLS: dict[str, JmpOp] = {
    "==": JmpOp.JEQ,
    ">": JmpOp.JGT,
    ">=": JmpOp.JGE,
    "&": JmpOp.JSET,
    "!=": JmpOp.JNE,
    "s>": JmpOp.JSGT,
    "s>=": JmpOp.JSGE,
    "<": JmpOp.JLT,
    "<=": JmpOp.JLE,
    "s<": JmpOp.JSLT,
    "s<=": JmpOp.JSLE,
}
LOCK_SYMBOLS: dict[str, AtomicOp] = {
    "+=": AtomicOp.ADD,
    "|=": AtomicOp.OR,
    "&=": AtomicOp.AND,
    "^=": AtomicOp.XOR,
}
END_NAMES: dict[str, tuple[int, int]] = {
    f"{kind}{bits}": (op, bits)
    for bits in (16, 32, 64)
    for kind, op in (
        ("le", Class.ALU | AluOp.END | Endian.TO_LE),
        ("be", Class.ALU | AluOp.END | Endian.TO_BE),
        ("bswap", Class.ALU64 | AluOp.END | Endian.TO_LE),
    )
}


# -- instructions by first token -------------------------------------------------


def _if(cur: Cursor, first: Token, hint: int | None) -> Parsed:
    dst, width = reg(cur)
    tok = cur.next("a comparison")
    if tok.text not in JMP_SYMBOLS:
        raise LineError(f"unknown comparison {tok.text!r}", tok.col)
    cls = Class.JMP32 if width == "w" else Class.JMP
    nxt = cur.peek()
    if nxt is not None and nxt.is_reg:
        src, _ = reg(cur, width)
        insn = Instruction(cls | JMP_SYMBOLS[tok.text] | Source.X, dst, src)
    else:
        insn = Instruction(cls | JMP_SYMBOLS[tok.text] | Source.K, dst, 0, 0, number32(cur))
    cur.expect("goto")
    return _branch(cur, insn, 16)


def _branch(cur: Cursor, insn: Instruction, bits: int) -> Parsed:
    delta, label, col = target(cur, bits)
    cur.done()
    if label is not None:
        return Parsed(insn, label, col)
    return Parsed(insn.with_jump_offset(delta))


def _goto(cur: Cursor, first: Token, hint: int | None) -> Parsed:
    if first.text == "gotol":
        return _branch(cur, Instruction(Class.JMP32 | JmpOp.JA), 32)
    return _branch(cur, Instruction(Class.JMP | JmpOp.JA), 16)


def _exit(cur: Cursor, first: Token, hint: int | None) -> Parsed:
    cur.done()
    return Parsed(Instruction(Class.JMP | JmpOp.EXIT))


def _callx(cur: Cursor, first: Token, hint: int | None) -> Parsed:
    number, _ = reg(cur, "r")
    cur.done()
    return Parsed(Instruction(Class.JMP | JmpOp.CALL | Source.X, number))


def _call(cur: Cursor, first: Token, hint: int | None) -> Parsed:
    return parse_call(cur)


def _lock(cur: Cursor, first: Token, hint: int | None) -> Parsed:
    cur.expect("*")
    size, signed, col = cast(cur)
    if signed or size not in (Size.W, Size.DW):
        raise LineError("atomic operations work on u32 or u64", col)
    dst, off = memory(cur)
    tok = cur.next("an atomic operator such as +=")
    if tok.text not in LOCK_SYMBOLS:
        raise LineError(f"unknown atomic operator {tok.text!r}", tok.col)
    src, _ = reg(cur, "r" if size == Size.DW else None)
    cur.done()
    return Parsed(
        Instruction(Class.STX | Mode.ATOMIC | size, dst, src, off, LOCK_SYMBOLS[tok.text])
    )


def _ld_pseudo(cur: Cursor, first: Token, hint: int | None) -> Parsed:
    dst, _ = reg(cur, "r")
    cur.expect(",")
    src, _, col = signed_number(cur, "a pseudo source")
    if src not in PseudoSrc._value2member_map_:
        raise LineError(f"unknown pseudo source {src}", col)
    cur.expect(",")
    value, _, col = signed_number(cur, "an immediate")
    cur.done()
    return Parsed(Instruction(LDDW, dst, src, 0, imm64(value, col)))


def _store(cur: Cursor, first: Token, hint: int | None) -> Parsed:
    size, signed, col = cast(cur)
    if signed:
        raise LineError("stores take an unsigned type", col)
    dst, off = memory(cur)
    cur.expect("=")
    tok = cur.peek()
    if tok is not None and tok.is_reg:
        src, _ = reg(cur, "r")
        cur.done()
        return Parsed(Instruction(Class.STX | Mode.MEM | size, dst, src, off))
    imm = number32(cur)
    cur.done()
    return Parsed(Instruction(Class.ST | Mode.MEM | size, dst, 0, off, imm))


# -- lines that start with a register --------------------------------------------


def _assign(cur: Cursor, dst: int, width: str, hint: int | None) -> Parsed:
    """``rD = ...``: mov, neg, movsx, loads, byte swaps, atomics, 64-bit loads."""
    cls = Class.ALU if width == "w" else Class.ALU64
    tok = cur.peek()
    if tok is None:
        raise LineError("expected a value after '=', found end of line", cur.col())
    nxt = cur.peek(1)
    if tok.text == "-" and nxt is not None and nxt.is_reg:
        cur.pos += 1
        same_reg(cur, dst, width)
        cur.done()
        return Parsed(Instruction(cls | AluOp.NEG, dst))
    if tok.text == "(" and nxt is not None and nxt.text in ("s8", "s16", "s32"):
        cur.pos += 2
        cur.expect(")")
        src, _ = reg(cur, width)
        cur.done()
        return Parsed(Instruction(cls | AluOp.MOV | Source.X, dst, src, int(nxt.text[1:])))
    if tok.text == "*":
        cur.pos += 1
        return _load(cur, dst, width)
    if tok.is_reg:
        src, _ = reg(cur, width)
        cur.done()
        return Parsed(Instruction(cls | AluOp.MOV | Source.X, dst, src))
    if tok.kind == "ident" and tok.text in END_NAMES:
        cur.pos += 1
        op, bits = END_NAMES[tok.text]
        col = cur.col()
        got, _ = reg(cur)
        if got != dst:
            raise LineError(f"a byte swap works in place: expected r{dst}", col)
        cur.done()
        return Parsed(Instruction(op, dst, 0, 0, bits))
    if tok.kind == "ident" and tok.text in ATOMIC_CALLS:
        cur.pos += 1
        return ATOMIC_CALLS[tok.text](cur, dst, width, tok)
    if tok.kind == "ident" and tok.text in PSEUDO_VALUES:
        if width != "r":
            raise LineError("a 64-bit load needs an r-register", tok.col)
        cur.pos += 1
        return PSEUDO_VALUES[tok.text](cur, dst)
    value, is_hex, col = signed_number(cur, "a register or a number")
    if cur.accept("ll") or hint == LDDW:
        if width != "r":
            raise LineError("a 64-bit load needs an r-register", col)
        cur.done()
        return Parsed(Instruction(LDDW, dst, 0, 0, imm64(value, col)))
    cur.done()
    return Parsed(Instruction(cls | AluOp.MOV | Source.K, dst, 0, 0, imm32(value, is_hex, col)))


def _load(cur: Cursor, dst: int, width: str) -> Parsed:
    size, signed, col = cast(cur)
    tok = cur.peek()
    if tok is not None and tok.text == "skb":
        if signed or size == Size.DW:
            raise LineError("packet loads read u8, u16 or u32", col)
        if dst != 0 or width != "r":
            raise LineError("packet loads write r0", cur.col())
        cur.pos += 1
        cur.expect("[")
        nxt = cur.peek()
        if nxt is not None and nxt.is_reg:
            src, _ = reg(cur, "r")
            imm_col = cur.col()
            imm = 0
            if cur.peek_text() in ("+", "-"):
                value, is_hex, imm_col = signed_number(cur, "an offset")
                imm = imm32(value, is_hex, imm_col)
            cur.expect("]")
            cur.done()
            return Parsed(Instruction(Class.LD | Mode.IND | size, 0, src, 0, imm))
        imm = number32(cur)
        cur.expect("]")
        cur.done()
        return Parsed(Instruction(Class.LD | Mode.ABS | size, 0, 0, 0, imm))
    if width != "r":
        raise LineError("loads write an r-register", col)
    if signed and size == Size.DW:
        raise LineError("no sign-extending 64-bit load", col)
    src, off = memory(cur)
    cur.done()
    mode = Mode.MEMSX if signed else Mode.MEM
    return Parsed(Instruction(Class.LDX | mode | size, dst, src, off))


def _register_line(cur: Cursor, first: Token, hint: int | None) -> Parsed:
    cur.pos -= 1
    dst, width = reg(cur)
    tok = cur.next("an operator such as = or +=")
    if tok.text == "=":
        return _assign(cur, dst, width, hint)
    if tok.text not in ALU_SYMBOLS:
        raise LineError(f"unknown operator {tok.text!r}", tok.col)
    op, off = ALU_SYMBOLS[tok.text]
    cls = Class.ALU if width == "w" else Class.ALU64
    nxt = cur.peek()
    if nxt is not None and nxt.is_reg:
        src, _ = reg(cur, width)
        cur.done()
        return Parsed(Instruction(cls | op | Source.X, dst, src, off))
    imm = number32(cur)
    cur.done()
    return Parsed(Instruction(cls | op | Source.K, dst, 0, off, imm))


STARTERS: dict[str, Callable[[Cursor, Token, int | None], Parsed]] = {
    "if": _if,
    "goto": _goto,
    "gotol": _goto,
    "exit": _exit,
    "call": _call,
    "callx": _callx,
    "lock": _lock,
    "ld_pseudo": _ld_pseudo,
    "*": _store,
}


def parse_llvm(cur: Cursor, hint: int | None = None) -> Parsed:
    """One instruction in kernel/llvm syntax; ``hint`` is a listing's opcode byte."""
    first = cur.next("an instruction")
    if first.is_reg:
        return _register_line(cur, first, hint)
    handler = STARTERS.get(first.text) if first.kind in ("ident", "op") else None
    if handler is None:
        raise LineError(f"unknown instruction or mnemonic {first.text!r}", first.col)
    return handler(cur, first, hint)
