"""Read one line of the bpf_conformance assembly syntax (``mov %r0, 1``).

Mnemonics as the suite's assembler knows them: ALU ops with an optional
``32``/``64`` suffix (``add``, ``sdiv32``, ``neg``, ``movsx864`` ...),
``le16``/``be32``, ``swap64``/``bswap64`` (ALU64 byte swap), loads and stores
(``ldxw %r0, [%r1+4]``, ``ldxsb``, ``stw [%r1+2], 5``, ``stxdw [%r10-8], %r0``),
``lddw``, the packet loads ``ldabsw 4`` / ``ldindb %r1, 2``, jumps
(``jsgt %r1, %r2, +3``, ``jne32 %r0, 1, label``, ``ja``, ``ja32``), ``call``
(``call 5``, ``call local f``, ``call %r2``), ``exit`` and the atomics
(``lock add [%r1+0], %r2``, ``lock fetch xor32 ...``, ``lock xchg``,
``lock cmpxchg``). Immediates follow the suite's ranges: decimal 32-bit
values in [-2^31, 2^31-1], hex in [-2^31, 2^32-1]; offsets fit s16.
This module parses the tokens of one instruction; ``asm`` does the rest.
"""

from __future__ import annotations

from collections.abc import Callable

from ebpy.isa._asm_forms import parse_call
from ebpy.isa._asm_lex import (
    Cursor,
    LineError,
    Parsed,
    Token,
    creg,
    fit_signed,
    imm32,
    imm64,
    signed_number,
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
    Size,
    Source,
)

Handler = Callable[[Cursor, Token], Parsed]

SIZE_SUFFIX = {"b": Size.B, "h": Size.H, "w": Size.W, "dw": Size.DW}
BINARY_ALU: dict[str, tuple[AluOp, int]] = {
    "add": (AluOp.ADD, 0),
    "sub": (AluOp.SUB, 0),
    "mul": (AluOp.MUL, 0),
    "div": (AluOp.DIV, 0),
    "sdiv": (AluOp.DIV, 1),
    "or": (AluOp.OR, 0),
    "and": (AluOp.AND, 0),
    "lsh": (AluOp.LSH, 0),
    "rsh": (AluOp.RSH, 0),
    "mod": (AluOp.MOD, 0),
    "smod": (AluOp.MOD, 1),
    "xor": (AluOp.XOR, 0),
    "mov": (AluOp.MOV, 0),
    "arsh": (AluOp.ARSH, 0),
}
CONDITIONS: dict[str, JmpOp] = {
    "jeq": JmpOp.JEQ,
    "jgt": JmpOp.JGT,
    "jge": JmpOp.JGE,
    "jset": JmpOp.JSET,
    "jne": JmpOp.JNE,
    "jsgt": JmpOp.JSGT,
    "jsge": JmpOp.JSGE,
    "jlt": JmpOp.JLT,
    "jle": JmpOp.JLE,
    "jslt": JmpOp.JSLT,
    "jsle": JmpOp.JSLE,
}
LOCK_OPS: dict[str, AtomicOp] = {
    "add": AtomicOp.ADD,
    "or": AtomicOp.OR,
    "and": AtomicOp.AND,
    "xor": AtomicOp.XOR,
}


# -- operands --------------------------------------------------------------------


def _comma(cur: Cursor) -> None:
    if cur.at_end():
        raise LineError("too few operands", cur.col())
    cur.expect(",")


def _memory(cur: Cursor) -> tuple[int, int]:
    """``[%rN+off]``, ``[%rN-off]`` or ``[%rN]``."""
    if cur.peek_text() != "[":
        raise LineError("expected a memory operand such as [%r1+4]", cur.col())
    cur.pos += 1
    number = creg(cur)
    off = 0
    if cur.peek_text() in ("+", "-"):
        value, _, col = signed_number(cur, "an offset")
        off = fit_signed(value, 16, "offset", col)
    cur.expect("]")
    return number, off


def _imm(cur: Cursor) -> int:
    value, is_hex, col = signed_number(cur, "an immediate")
    return imm32(value, is_hex, col)


def _reg_or_imm(cur: Cursor) -> tuple[bool, int]:
    if cur.peek_text().startswith("%"):
        return True, creg(cur)
    return False, _imm(cur)


def _target(cur: Cursor, bits: int) -> tuple[int, str | None, int]:
    """``+N`` / ``-N`` or a label (the suite has no unsigned offsets)."""
    tok = cur.peek()
    if tok is not None and tok.text in ("+", "-"):
        value, _, col = signed_number(cur, "a jump offset")
        return fit_signed(value, bits, "jump offset", col), None, col
    if tok is not None and tok.kind == "ident":
        cur.pos += 1
        return 0, tok.text, tok.col
    found = "end of line" if tok is None else repr(tok.text)
    raise LineError(f"expected a label or an offset such as +3, found {found}", cur.col())


def _branch(cur: Cursor, insn: Instruction, bits: int) -> Parsed:
    delta, label, col = _target(cur, bits)
    _end(cur)
    if label is not None:
        return Parsed(insn, label, col)
    return Parsed(insn.with_jump_offset(delta))


def _end(cur: Cursor) -> None:
    tok = cur.peek()
    if tok is not None:
        reason = "too many operands" if tok.text == "," else f"unexpected {tok.text!r}"
        raise LineError(reason, tok.col)


# -- handlers ---------------------------------------------------------------------


def _alu(cls: Class, op: AluOp, off: int) -> Handler:
    def parse(cur: Cursor, first: Token) -> Parsed:
        dst = creg(cur)
        _comma(cur)
        is_reg, value = _reg_or_imm(cur)
        _end(cur)
        if is_reg:
            return Parsed(Instruction(cls | op | Source.X, dst, value, off))
        return Parsed(Instruction(cls | op | Source.K, dst, 0, off, value))

    return parse


def _unary(op: int, imm: int = 0, off: int = 0, src_reg: bool = False) -> Handler:
    """``neg %r0``, ``be16 %r0`` and ``movsx864 %r0, %r1``."""

    def parse(cur: Cursor, first: Token) -> Parsed:
        dst = creg(cur)
        src = 0
        if src_reg:
            _comma(cur)
            src = creg(cur)
        _end(cur)
        return Parsed(Instruction(op, dst, src, off, imm))

    return parse


def _ldx(op: int) -> Handler:
    def parse(cur: Cursor, first: Token) -> Parsed:
        dst = creg(cur)
        _comma(cur)
        src, off = _memory(cur)
        _end(cur)
        return Parsed(Instruction(op, dst, src, off))

    return parse


def _st(op: int) -> Handler:
    def parse(cur: Cursor, first: Token) -> Parsed:
        dst, off = _memory(cur)
        _comma(cur)
        imm = _imm(cur)
        _end(cur)
        return Parsed(Instruction(op, dst, 0, off, imm))

    return parse


def _stx(op: int) -> Handler:
    def parse(cur: Cursor, first: Token) -> Parsed:
        dst, off = _memory(cur)
        _comma(cur)
        src = creg(cur)
        _end(cur)
        return Parsed(Instruction(op, dst, src, off))

    return parse


def _lddw(cur: Cursor, first: Token) -> Parsed:
    dst = creg(cur)
    _comma(cur)
    value, _, col = signed_number(cur, "an immediate")
    _end(cur)
    return Parsed(Instruction(LDDW, dst, 0, 0, imm64(value, col)))


def _ldabs(op: int) -> Handler:
    def parse(cur: Cursor, first: Token) -> Parsed:
        imm = _imm(cur)
        _end(cur)
        return Parsed(Instruction(op, 0, 0, 0, imm))

    return parse


def _ldind(op: int) -> Handler:
    def parse(cur: Cursor, first: Token) -> Parsed:
        src = creg(cur)
        _comma(cur)
        imm = _imm(cur)
        _end(cur)
        return Parsed(Instruction(op, 0, src, 0, imm))

    return parse


def _cond(cls: Class, op: JmpOp) -> Handler:
    def parse(cur: Cursor, first: Token) -> Parsed:
        dst = creg(cur)
        _comma(cur)
        is_reg, value = _reg_or_imm(cur)
        _comma(cur)
        if is_reg:
            insn = Instruction(cls | op | Source.X, dst, value)
        else:
            insn = Instruction(cls | op | Source.K, dst, 0, 0, value)
        return _branch(cur, insn, 16)

    return parse


def _ja(cur: Cursor, first: Token) -> Parsed:
    if first.text == "ja32":
        return _branch(cur, Instruction(Class.JMP32 | JmpOp.JA), 32)
    return _branch(cur, Instruction(Class.JMP | JmpOp.JA), 16)


def _exit(cur: Cursor, first: Token) -> Parsed:
    _end(cur)
    return Parsed(Instruction(Class.JMP | JmpOp.EXIT))


def _call(cur: Cursor, first: Token) -> Parsed:
    return parse_call(cur)


def _lock(cur: Cursor, first: Token) -> Parsed:
    if cur.at_end():
        raise LineError("lock needs an operation and two operands", cur.col())
    fetch = cur.accept("fetch") is not None
    tok = cur.next("an atomic operation")
    name = tok.text
    wide = not name.endswith("32")
    base = name if wide else name[:-2]
    if base.endswith("64"):
        base = base[:-2]
    if base in LOCK_OPS:
        imm = LOCK_OPS[base] | (AtomicOp.FETCH_ADD if fetch else 0)
    elif base in ("xchg", "cmpxchg") and not fetch:
        imm = AtomicOp.XCHG if base == "xchg" else AtomicOp.CMPXCHG
    else:
        raise LineError(f"unknown atomic operation {name!r}", tok.col)
    if cur.at_end():
        raise LineError("lock needs a memory operand and a register", cur.col())
    dst, off = _memory(cur)
    _comma(cur)
    src = creg(cur)
    _end(cur)
    size = Size.DW if wide else Size.W
    return Parsed(Instruction(Class.STX | Mode.ATOMIC | size, dst, src, off, imm))


def _table() -> dict[str, Handler]:
    table: dict[str, Handler] = {}
    for name, (op, off) in BINARY_ALU.items():
        table[name] = table[name + "64"] = _alu(Class.ALU64, op, off)
        table[name + "32"] = _alu(Class.ALU, op, off)
    table["neg"] = table["neg64"] = _unary(Class.ALU64 | AluOp.NEG)
    table["neg32"] = _unary(Class.ALU | AluOp.NEG)
    for bits in (8, 16, 32):
        mov = AluOp.MOV | Source.X
        table[f"movsx{bits}64"] = _unary(Class.ALU64 | mov, off=bits, src_reg=True)
        if bits != 32:
            table[f"movsx{bits}32"] = _unary(Class.ALU | mov, off=bits, src_reg=True)
    for bits in (16, 32, 64):
        end = AluOp.END
        table[f"le{bits}"] = _unary(Class.ALU | end | Endian.TO_LE, imm=bits)
        table[f"be{bits}"] = _unary(Class.ALU | end | Endian.TO_BE, imm=bits)
        table[f"swap{bits}"] = table[f"bswap{bits}"] = _unary(Class.ALU64 | end, imm=bits)
    for suffix, size in SIZE_SUFFIX.items():
        table["ldx" + suffix] = _ldx(Class.LDX | Mode.MEM | size)
        table["st" + suffix] = _st(Class.ST | Mode.MEM | size)
        table["stx" + suffix] = _stx(Class.STX | Mode.MEM | size)
        if size != Size.DW:
            table["ldxs" + suffix] = _ldx(Class.LDX | Mode.MEMSX | size)
            table["ldabs" + suffix] = _ldabs(Class.LD | Mode.ABS | size)
            table["ldind" + suffix] = _ldind(Class.LD | Mode.IND | size)
    table["lddw"] = _lddw
    for name, cond in CONDITIONS.items():
        table[name] = _cond(Class.JMP, cond)
        table[name + "32"] = _cond(Class.JMP32, cond)
    table["ja"] = table["ja32"] = _ja
    table["exit"] = _exit
    table["call"] = _call
    table["lock"] = _lock
    return table


MNEMONICS: dict[str, Handler] = _table()
"""Every conformance mnemonic and its parser."""


def is_conformance(cur: Cursor) -> bool:
    """Whether a line is in the conformance syntax (judged from its first tokens)."""
    first = cur.peek()
    if first is None or first.kind != "ident" or first.text not in MNEMONICS:
        return False
    if first.text == "lock":
        return cur.peek_text(1) != "*"
    # ``call`` and ``exit`` read the same in both syntaxes; asm_llvm takes every call form
    return first.text not in ("call", "exit")


def parse_conformance(cur: Cursor) -> Parsed:
    """One instruction in the conformance syntax."""
    first = cur.next("a mnemonic")
    handler = MNEMONICS.get(first.text)
    if handler is None:
        raise LineError(f"unknown mnemonic {first.text!r}", first.col)
    return handler(cur, first)
