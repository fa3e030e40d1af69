"""Tokens, number ranges and the parsed-line record shared by the two assembler syntaxes.

The lexer splits one line of text into tokens that remember their 1-based
column, so every error can point at the token that caused it. ``Cursor`` walks
a token list for the recursive-descent parsers in ``asm_llvm``, ``_asm_forms``
and ``asm_conformance``; below it are the number ranges and the operand readers
(registers, ``(r1 + 4)``, ``(u32 *)``, jump targets). This module builds no
instructions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ebpy.isa._intmath import s32
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import Size

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<creg>%[A-Za-z]+[0-9]*)
  | (?P<num>(?:0[xX][0-9A-Fa-f]+|[0-9]+)(?![\w.$]))
  | (?P<op>s>>=|<<=|>>=|s/=|s%=|s>=|s<=|s>|s<|\+=|-=|\*=|/=|%=|\|=|&=|\^=|==|!=|>=|<=
          |[<>=&()\[\]*,+\-:\#])
  | (?P<ident>[A-Za-z_.$][\w.$]*)
    """,
    re.VERBOSE | re.ASCII,
)

REG_RE = re.compile(r"[rw][0-9]+", re.ASCII)
MAX_REG = 10


@dataclass(frozen=True, slots=True)
class Token:
    """One token: ``kind`` is num, op, ident or creg (``%r1``); ``col`` is 1-based."""

    kind: str
    text: str
    col: int

    @property
    def is_reg(self) -> bool:
        """An llvm register name such as ``r1`` or ``w10`` (maybe out of range)."""
        return self.kind == "ident" and REG_RE.fullmatch(self.text) is not None


class LineError(Exception):
    """A parse error inside one line; ``asm`` adds the line number."""

    def __init__(self, reason: str, col: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.col = col


def tokenize(text: str, start: int, end: int) -> list[Token]:
    """Tokens of ``text[start:end]``; columns count from the start of ``text``."""
    out: list[Token] = []
    pos = start
    while pos < end:
        m = _TOKEN.match(text, pos, end)
        if m is None:
            raise LineError(f"unexpected character {text[pos]!r}", pos + 1)
        kind = m.lastgroup
        assert kind is not None
        if kind != "ws":
            out.append(Token(kind, m.group(), pos + 1))
        pos = m.end()
    return out


@dataclass(slots=True)
class Parsed:
    """One assembled line: the instruction plus what ``asm`` must still resolve.

    ``target`` is a label for a branch or local call (``target_col`` locates
    it); ``call_name`` marks ``call NAME``, which may name a label or a helper.
    """

    insn: Instruction
    target: str | None = None
    target_col: int = 0
    call_name: bool = False


class Cursor:
    """Walks the tokens of one line."""

    def __init__(self, tokens: list[Token], end_col: int) -> None:
        self.tokens = tokens
        self.pos = 0
        self.end_col = end_col

    def peek(self, ahead: int = 0) -> Token | None:
        i = self.pos + ahead
        return self.tokens[i] if i < len(self.tokens) else None

    def col(self) -> int:
        """Column of the next token, or just past the end of the line."""
        tok = self.peek()
        return tok.col if tok is not None else self.end_col

    def peek_text(self, ahead: int = 0) -> str:
        """The text of a token ahead, or "" past the end."""
        tok = self.peek(ahead)
        return "" if tok is None else tok.text

    def at_end(self) -> bool:
        return self.pos >= len(self.tokens)

    def next(self, what: str) -> Token:
        tok = self.peek()
        if tok is None:
            raise LineError(f"expected {what}, found end of line", self.end_col)
        self.pos += 1
        return tok

    def accept(self, text: str) -> Token | None:
        tok = self.peek()
        if tok is not None and tok.kind in ("op", "ident") and tok.text == text:
            self.pos += 1
            return tok
        return None

    def expect(self, text: str) -> Token:
        tok = self.peek()
        if tok is None or tok.kind not in ("op", "ident") or tok.text != text:
            found = "end of line" if tok is None else repr(tok.text)
            raise LineError(f"expected {text!r}, found {found}", self.col())
        self.pos += 1
        return tok

    def done(self) -> None:
        tok = self.peek()
        if tok is not None:
            raise LineError(f"unexpected {tok.text!r}", tok.col)


# -- numbers ---------------------------------------------------------------------


def signed_number(cur: Cursor, what: str = "a number") -> tuple[int, bool, int]:
    """An optionally signed number: (value, written in hex, column)."""
    col = cur.col()
    sign = 1
    while True:
        if cur.accept("-"):
            sign = -sign
        elif not cur.accept("+"):
            break
    tok = cur.peek()
    if tok is None or tok.kind != "num":
        found = "end of line" if tok is None else repr(tok.text)
        raise LineError(f"expected {what}, found {found}", cur.col())
    cur.pos += 1
    is_hex = tok.text[:2] in ("0x", "0X")
    return sign * int(tok.text, 16 if is_hex else 10), is_hex, col


def imm32(value: int, is_hex: bool, col: int) -> int:
    """A 32-bit immediate as the conformance suite reads it, as signed.

    Decimal must lie in [-2^31, 2^31-1]; hex in [-2^31, 2^32-1].
    """
    top = (1 << 32) - 1 if is_hex else (1 << 31) - 1
    if not -(1 << 31) <= value <= top:
        raise LineError(f"immediate {value} does not fit 32 bits", col)
    return s32(value)


def imm64(value: int, col: int) -> int:
    """A 64-bit immediate in [-2^63, 2^64-1], as unsigned."""
    if not -(1 << 63) <= value < (1 << 64):
        raise LineError(f"immediate {value} does not fit 64 bits", col)
    return value & ((1 << 64) - 1)


def fit_signed(value: int, bits: int, what: str, col: int) -> int:
    if not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
        raise LineError(f"{what} {value} does not fit {bits} bits", col)
    return value


def check_reg(number: int, col: int) -> int:
    """A register number 0..10, else an error at ``col``."""
    if number > MAX_REG:
        raise LineError(f"invalid register r{number}", col)
    return number


def creg(cur: Cursor) -> int:
    """A conformance-syntax register ``%r0`` .. ``%r10``."""
    tok = cur.peek()
    if tok is None or tok.kind != "creg":
        found = "end of line" if tok is None else repr(tok.text)
        raise LineError(f"expected a register such as %r1, found {found}", cur.col())
    cur.pos += 1
    if tok.text[:2] != "%r" or not tok.text[2:].isdigit() or int(tok.text[2:]) > MAX_REG:
        raise LineError(f"invalid register {tok.text}", tok.col)
    return int(tok.text[2:])


SIZE_NAMES: dict[str, tuple[Size, bool]] = {
    "u8": (Size.B, False),
    "u16": (Size.H, False),
    "u32": (Size.W, False),
    "u64": (Size.DW, False),
    "s8": (Size.B, True),
    "s16": (Size.H, True),
    "s32": (Size.W, True),
}


# -- operands of the llvm syntax -------------------------------------------------


def reg(cur: Cursor, width: str | None = None) -> tuple[int, str]:
    """A register ``rN`` or ``wN``; ``width`` ("r"/"w") demands that spelling."""
    tok = cur.peek()
    if tok is None or not tok.is_reg:
        found = "end of line" if tok is None else repr(tok.text)
        raise LineError(f"expected a register, found {found}", cur.col())
    cur.pos += 1
    number = check_reg(int(tok.text[1:]), tok.col)
    if width is not None and tok.text[0] != width:
        raise LineError(f"expected a {width}-register, found {tok.text}", tok.col)
    return number, tok.text[0]


def same_reg(cur: Cursor, number: int, width: str) -> None:
    col = cur.col()
    got, got_width = reg(cur)
    if got != number or got_width != width:
        raise LineError(f"expected {width}{number} again", col)


def offset(cur: Cursor, what: str = "offset") -> int:
    """An optional ``+ N`` / ``- N`` / ``+N`` / ``-N`` (signed 16-bit)."""
    tok = cur.peek()
    if tok is None or tok.text not in ("+", "-"):
        return 0
    value, _, col = signed_number(cur, "an offset")
    return fit_signed(value, 16, what, col)


def memory(cur: Cursor) -> tuple[int, int]:
    """``(rN + off)`` with its parentheses: (register, offset)."""
    cur.expect("(")
    number, _ = reg(cur, "r")
    off = offset(cur)
    cur.expect(")")
    return number, off


def bare_memory(cur: Cursor) -> tuple[int, int]:
    """``rN + off`` without parentheses (``xchg_64(r1 + 8, r2)``)."""
    number, _ = reg(cur, "r")
    return number, offset(cur)


def cast(cur: Cursor) -> tuple[Size, bool, int]:
    """``(u32 *)``: (size, signed, column of the type)."""
    cur.expect("(")
    tok = cur.next("a type such as u32")
    if tok.text not in SIZE_NAMES:
        raise LineError(f"unknown type {tok.text!r}", tok.col)
    cur.expect("*")
    cur.expect(")")
    size, signed = SIZE_NAMES[tok.text]
    return size, signed, tok.col


def number32(cur: Cursor) -> int:
    value, is_hex, col = signed_number(cur, "a register or a number")
    return imm32(value, is_hex, col)


def target(cur: Cursor, bits: int) -> tuple[int, str | None, int]:
    """A jump target: ``+3``, ``-2``, ``3``, ``pc+3`` or a label."""
    col = cur.col()
    tok = cur.peek()
    if tok is not None and tok.kind == "ident" and tok.text == "pc":
        nxt = cur.peek(1)
        if nxt is not None and nxt.text in ("+", "-"):
            cur.pos += 1
    tok = cur.peek()
    if tok is not None and (tok.kind == "num" or tok.text in ("+", "-")):
        value, _, col = signed_number(cur, "a jump offset")
        return fit_signed(value, bits, "jump offset", col), None, col
    if tok is not None and tok.kind == "ident" and not tok.is_reg:
        cur.pos += 1
        return 0, tok.text, tok.col
    found = "end of line" if tok is None else repr(tok.text)
    raise LineError(f"expected a jump target, found {found}", col)
