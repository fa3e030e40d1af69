"""Instruction forms shared by both syntaxes or written like function calls.

``parse_call`` reads every ``call`` form (``call 1``, ``call bpf_map_lookup_elem``,
``call bpf_map_lookup_elem#1``, ``call pc+3``, ``call local f``, ``call helper 1``,
``call runtime 7``, ``call kernel-function#7``, ``call %r2``, ``callx r2``'s
operand); ``ATOMIC_CALLS`` the atomics in function syntax (``atomic_fetch_add``,
``xchg_64``, ``cmpxchg32_32`` and bpftool's ``atomic64_*`` spellings); and
``PSEUDO_VALUES`` bpftool's 64-bit loads (``map[id:5]``, ``map[id:5][0]+8``,
``map[idx:2]+8``, ``subprog[+3]``, ``btf_id[7]``, with ``[hi:N]`` for an upper
half bpftool would not show). Used by ``asm_llvm`` and ``asm_conformance``.
"""

from __future__ import annotations

from collections.abc import Callable

from ebpy.isa._asm_lex import (
    Cursor,
    LineError,
    Parsed,
    Token,
    bare_memory,
    cast,
    creg,
    fit_signed,
    memory,
    number32,
    reg,
    same_reg,
    signed_number,
    target,
)
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import (
    FETCH,
    LDDW,
    AtomicOp,
    CallSrc,
    Class,
    JmpOp,
    Mode,
    PseudoSrc,
    Size,
    Source,
)

FETCH_NAMES: dict[str, AtomicOp] = {
    "add": AtomicOp.FETCH_ADD,
    "or": AtomicOp.FETCH_OR,
    "and": AtomicOp.FETCH_AND,
    "xor": AtomicOp.FETCH_XOR,
}

CALL = Class.JMP | JmpOp.CALL


def parse_call(cur: Cursor) -> Parsed:
    """Every ``call`` form of both syntaxes (after the word ``call``)."""
    tok = cur.peek()
    if tok is None:
        raise LineError("expected a call target, found end of line", cur.col())
    nxt = cur.peek(1)
    if tok.kind == "creg" or tok.is_reg:
        number = creg(cur) if tok.kind == "creg" else reg(cur, "r")[0]
        cur.done()
        return Parsed(Instruction(CALL | Source.X, number))
    if tok.kind == "ident" and tok.text == "pc" and cur.peek_text(1) in ("+", "-"):
        cur.pos += 1
        value, _, col = signed_number(cur, "a call offset")
        cur.done()
        delta = fit_signed(value, 32, "call offset", col)
        return Parsed(Instruction(CALL, 0, CallSrc.PSEUDO_CALL, 0, delta))
    if tok.kind == "ident" and tok.text in ("local", "helper", "runtime") and nxt is not None:
        cur.pos += 1
        if tok.text == "local":
            delta, label, col = target(cur, 32)
            cur.done()
            insn = Instruction(CALL, 0, CallSrc.PSEUDO_CALL, 0, delta)
            return Parsed(insn, label, col) if label is not None else Parsed(insn)
        src = CallSrc.HELPER if tok.text == "helper" else CallSrc.KFUNC
        if src == CallSrc.HELPER and cur.peek_text().startswith("%"):
            number = creg(cur)
            cur.done()
            return Parsed(Instruction(CALL | Source.X, number))
        imm = number32(cur)
        cur.done()
        return Parsed(Instruction(CALL, 0, src, 0, imm))
    if tok.kind == "ident" and tok.text == "kernel" and nxt is not None and nxt.text == "-":
        cur.pos += 1
        cur.expect("-")
        cur.expect("function")
        cur.expect("#")
        imm = number32(cur)
        cur.done()
        return Parsed(Instruction(CALL, 0, CallSrc.KFUNC, 0, imm))
    if tok.kind == "ident" and nxt is not None and nxt.text == "#":
        cur.pos += 2
        imm = number32(cur)
        cur.done()
        return Parsed(Instruction(CALL, 0, CallSrc.HELPER, 0, imm))
    if tok.kind == "ident":
        cur.pos += 1
        cur.done()
        return Parsed(Instruction(CALL, 0, CallSrc.PSEUDO_CALL), tok.text, tok.col, call_name=True)
    imm = number32(cur)
    cur.done()
    return Parsed(Instruction(CALL, 0, CallSrc.HELPER, 0, imm))


def _fetch(op: AtomicOp, wide: bool | None) -> Callable[[Cursor, int, str, Token], Parsed]:
    """``rS = atomic_fetch_add((u64 *)(rD + off), rS)`` and bpftool's ``atomic64_`` form."""

    def parse(cur: Cursor, dst: int, width: str, first: Token) -> Parsed:
        cur.expect("(")
        size, signed, col = cast(cur)
        _check_atomic_size(size, signed, wide, width, col)
        mem_reg, off = memory(cur)
        cur.expect(",")
        same_reg(cur, dst, width)
        cur.expect(")")
        cur.done()
        return Parsed(Instruction(Class.STX | Mode.ATOMIC | size, mem_reg, dst, off, op))

    return parse


def _check_atomic_size(size: Size, signed: bool, wide: bool | None, width: str, col: int) -> None:
    if signed or size not in (Size.W, Size.DW):
        raise LineError("atomic operations work on u32 or u64", col)
    if wide is not None and wide != (size == Size.DW):
        raise LineError("the type does not match the operation's width", col)
    if size == Size.DW and width != "r":
        raise LineError("a 64-bit atomic operation needs r-registers", col)


def _atomic_operand(
    cur: Cursor, wide: bool, width: str, first: Token, bpftool: bool
) -> tuple[int, int]:
    """The ``(`` and memory operand of xchg/cmpxchg: ``((u64 *)(rD +off)`` or ``(rD + off``."""
    cur.expect("(")
    if bpftool:
        got, signed, col = cast(cur)
        _check_atomic_size(got, signed, wide, width, col)
        return memory(cur)
    if wide and width != "r":
        raise LineError("a 64-bit atomic operation needs r-registers", first.col)
    return bare_memory(cur)


def _xchg(wide: bool, bpftool: bool) -> Callable[[Cursor, int, str, Token], Parsed]:
    """``rS = xchg_64(rD + off, rS)`` (llvm) or ``rS = atomic64_xchg((u64 *)(rD +off), rS)``."""

    def parse(cur: Cursor, dst: int, width: str, first: Token) -> Parsed:
        size = Size.DW if wide else Size.W
        mem_reg, off = _atomic_operand(cur, wide, width, first, bpftool)
        cur.expect(",")
        same_reg(cur, dst, width)
        cur.expect(")")
        cur.done()
        return Parsed(Instruction(Class.STX | Mode.ATOMIC | size, mem_reg, dst, off, AtomicOp.XCHG))

    return parse


def _cmpxchg(wide: bool, bpftool: bool) -> Callable[[Cursor, int, str, Token], Parsed]:
    """``r0 = cmpxchg_64(rD + off, r0, rS)``; bpftool: ``atomic64_cmpxchg((u64 *)..., r0, rS)``."""

    def parse(cur: Cursor, dst: int, width: str, first: Token) -> Parsed:
        if dst != 0:
            raise LineError("compare-and-exchange writes r0", first.col)
        size = Size.DW if wide else Size.W
        mem_reg, off = _atomic_operand(cur, wide, width, first, bpftool)
        cur.expect(",")
        same_reg(cur, 0, width)
        cur.expect(",")
        src, _ = reg(cur, width)
        cur.expect(")")
        cur.done()
        return Parsed(
            Instruction(Class.STX | Mode.ATOMIC | size, mem_reg, src, off, AtomicOp.CMPXCHG)
        )

    return parse


ATOMIC_CALLS: dict[str, Callable[[Cursor, int, str, Token], Parsed]] = {
    "xchg_64": _xchg(True, False),
    "xchg32_32": _xchg(False, False),
    "atomic64_xchg": _xchg(True, True),
    "atomic_xchg": _xchg(False, True),
    "cmpxchg_64": _cmpxchg(True, False),
    "cmpxchg32_32": _cmpxchg(False, False),
    "atomic64_cmpxchg": _cmpxchg(True, True),
    "atomic_cmpxchg": _cmpxchg(False, True),
}
for _name, _op in FETCH_NAMES.items():
    ATOMIC_CALLS[f"atomic_fetch_{_name}"] = _fetch(_op, None)
    ATOMIC_CALLS[f"atomic64_fetch_{_name}"] = _fetch(_op, True)
assert all(op & FETCH for op in FETCH_NAMES.values())


# -- bpftool's pseudo 64-bit loads: map[id:5], map[idx:2]+8, subprog[+3], btf_id[7] --


def _u32(cur: Cursor) -> int:
    value, _, col = signed_number(cur, "a number")
    if not 0 <= value < (1 << 32):
        raise LineError(f"{value} does not fit 32 bits unsigned", col)
    return value


def _hi_suffix(cur: Cursor) -> int:
    """bpftool-style ``[hi:N]`` for the upper half that the short form leaves out."""
    if not cur.accept("["):
        return 0
    cur.expect("hi")
    cur.expect(":")
    value = _u32(cur)
    cur.expect("]")
    return value


def _map(cur: Cursor, dst: int) -> Parsed:
    cur.expect("[")
    key = cur.next("'id' or 'idx'")
    if key.text not in ("id", "idx"):
        raise LineError("expected 'id' or 'idx'", key.col)
    cur.expect(":")
    lo = _u32(cur)
    cur.expect("]")
    if key.text == "id" and cur.peek_text() == "[" and cur.peek_text(1) == "0":
        cur.pos += 2
        cur.expect("]")
        cur.expect("+")
        hi, src = _u32(cur), PseudoSrc.MAP_VALUE
    elif key.text == "idx" and cur.accept("+"):
        hi, src = _u32(cur), PseudoSrc.MAP_IDX_VALUE
    else:
        hi = _hi_suffix(cur)
        src = PseudoSrc.MAP_FD if key.text == "id" else PseudoSrc.MAP_IDX
    cur.done()
    return Parsed(Instruction(LDDW, dst, src, 0, (hi << 32) | lo))


def _btf_id(cur: Cursor, dst: int) -> Parsed:
    cur.expect("[")
    lo = _u32(cur)
    cur.expect("]")
    hi = _hi_suffix(cur)
    cur.done()
    return Parsed(Instruction(LDDW, dst, PseudoSrc.BTF_ID, 0, (hi << 32) | lo))


def _subprog(cur: Cursor, dst: int) -> Parsed:
    cur.expect("[")
    value, _, col = signed_number(cur, "an offset")
    lo = fit_signed(value, 32, "offset", col) & 0xFFFF_FFFF
    cur.expect("]")
    hi = _hi_suffix(cur)
    cur.done()
    return Parsed(Instruction(LDDW, dst, PseudoSrc.FUNC, 0, (hi << 32) | lo))


PSEUDO_VALUES: dict[str, Callable[[Cursor, int], Parsed]] = {
    "map": _map,
    "btf_id": _btf_id,
    "subprog": _subprog,
}
