"""The ``bpf_asm`` language of the Linux kernel (tools/bpf/bpf_asm): assemble and disassemble.

A program is a sequence of instructions, each optionally preceded by a
``label:``; line breaks are only white space. Mnemonics and keywords are
case-insensitive. The forms:

=================  ==========================================================
``ld``/``ldh``/``ldb``  ``[k]``, ``[x + k]`` (or ``[%x + k]``), an extension
                   (``#proto`` ...); ``ld`` also ``#k``, ``#len``, ``M[k]``
``ldi``/``ldxi``   ``#k`` or ``k``
``ldx``            ``#k``, ``#len``, ``M[k]``, ``4*([k]&0xf)``
``ldxb``           ``4*([k]&0xf)``
``st``/``stx``     ``M[k]``
``jmp``/``ja``     ``label``
``jeq jgt jge jset``  ``#k|x, lt[, lf]`` (false falls through when omitted)
``jneq jne jlt jle``  ``#k|x, lf`` (true falls through)
``add sub mul div mod and or xor lsh rsh``  ``#k`` or ``x``
``neg tax txa``    no operand
``ret``            ``#k``, ``a``, ``x``
=================  ==========================================================

``x`` and ``a`` may be written ``%x``/``%a``. Extensions, with or without ``#``:
``len``, ``proto``, ``type``, ``ifidx``, ``nla``, ``nlan``, ``mark``, ``queue``,
``hatype``, ``rxhash``, ``cpu``, ``vlan_tci``, ``vlan_avail`` (``vlan_pr``),
``vlan_tpid``, ``poff``, ``rand``. Numbers are decimal (with a sign), ``0x`` hex,
``0b`` binary or ``0`` octal, and must fit 32 bits. Comments: ``;`` to the end of
the line, ``/* ... */``, and lines starting with ``#``.

Differences from ``bpf_asm``: a duplicate label is an error (``bpf_asm``
takes the first), so is a number that does not fit 32 bits (it truncates),
and ``[x +4]`` (a signed number right after ``x``) is read as ``[x + 4]``.
Text that ``tcpdump -d`` printed (``(000) ldh [12]`` lines) is read too
(``ebpy.cbpf.text.parse_d``). Errors are ``AsmError(reason, line, column, text)``.

``disassemble`` prints a program in this syntax with ``lN:`` labels on jump
targets, so that ``assemble(disassemble(p)) == p`` for every program whose
jumps land inside it and whose unused fields are zero.

>>> prog = assemble("ldh [12]\\njneq #0x800, drop\\nret #-1\\ndrop: ret #0")
>>> print(disassemble(prog), end="")
    ldh [12]
    jeq #0x800, l2, l3
l2: ret #0xffffffff
l3: ret #0
>>> assemble(disassemble(prog)) == prog
True
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ebpy.cbpf.isa import (
    BPF_A,
    BPF_ABS,
    BPF_ADD,
    BPF_ALU,
    BPF_AND,
    BPF_B,
    BPF_DIV,
    BPF_H,
    BPF_IMM,
    BPF_IND,
    BPF_JA,
    BPF_JEQ,
    BPF_JGE,
    BPF_JGT,
    BPF_JMP,
    BPF_JSET,
    BPF_K,
    BPF_LD,
    BPF_LDX,
    BPF_LEN,
    BPF_LSH,
    BPF_MEM,
    BPF_MISC,
    BPF_MOD,
    BPF_MSH,
    BPF_MUL,
    BPF_NEG,
    BPF_OR,
    BPF_RET,
    BPF_RSH,
    BPF_ST,
    BPF_STX,
    BPF_SUB,
    BPF_TAX,
    BPF_TXA,
    BPF_W,
    BPF_X,
    BPF_XOR,
    SKF_AD,
    SKF_AD_OFF,
    Insn,
    ancillary,
)
from ebpy.cbpf.text import parse_d
from ebpy.errors import AsmError, CbpfError
from ebpy.isa._intmath import M32

__all__ = ["EXTENSIONS", "assemble", "disassemble"]

EXTENSIONS = {
    "proto": SKF_AD["protocol"],
    "type": SKF_AD["pkttype"],
    "poff": SKF_AD["pay_offset"],
    "ifidx": SKF_AD["ifindex"],
    "nla": SKF_AD["nlattr"],
    "nlan": SKF_AD["nlattr_nest"],
    "mark": SKF_AD["mark"],
    "queue": SKF_AD["queue"],
    "hatype": SKF_AD["hatype"],
    "rxhash": SKF_AD["rxhash"],
    "cpu": SKF_AD["cpu"],
    "vlan_tci": SKF_AD["vlan_tci"],
    "vlan_pr": SKF_AD["vlan_tag_present"],
    "vlan_avail": SKF_AD["vlan_tag_present"],
    "vlan_tpid": SKF_AD["vlan_tpid"],
    "rand": SKF_AD["random"],
}
"""``bpf_asm`` extension names -> offset from ``SKF_AD_OFF``."""
_EXT_NAME = {off: name for name, off in reversed(EXTENSIONS.items())}

_SIZES = {"ld": BPF_W, "ldh": BPF_H, "ldb": BPF_B}
_CONDS = {"jeq": BPF_JEQ, "jgt": BPF_JGT, "jge": BPF_JGE, "jset": BPF_JSET}
_NEG_CONDS = {"jneq": BPF_JEQ, "jne": BPF_JEQ, "jlt": BPF_JGE, "jle": BPF_JGT}
_ALU = {
    "add": BPF_ADD,
    "sub": BPF_SUB,
    "mul": BPF_MUL,
    "div": BPF_DIV,
    "mod": BPF_MOD,
    "and": BPF_AND,
    "or": BPF_OR,
    "xor": BPF_XOR,
    "lsh": BPF_LSH,
    "rsh": BPF_RSH,
}
_PLAIN = {"neg": BPF_ALU | BPF_NEG, "tax": BPF_MISC | BPF_TAX, "txa": BPF_MISC | BPF_TXA}
_OPS = frozenset(
    {*_SIZES, "ldi", "ldx", "ldxi", "ldxb", "st", "stx", "jmp", "ja", "ret"}
    | {*_CONDS, *_NEG_CONDS, *_ALU, *_PLAIN}
)

# -- lexer -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # op len ext num label x a M, or a punctuation character; "end"
    value: object
    line: int
    column: int


_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n]+)
  | (?P<block>/\*.*?\*/)
  | (?P<comment>;[^\n]*)
  | (?P<num>0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[-+]?[1-9][0-9]*)
  | (?P<hashword>\#[A-Za-z_][A-Za-z0-9_]*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[:,#%\[\]()+*&])
    """,
    re.VERBOSE | re.DOTALL,
)


def _number(text: str) -> int:
    low = text.lower()
    if low.startswith("0x"):
        return int(low[2:], 16)
    if low.startswith("0b"):
        return int(low[2:], 2)
    if low.startswith("0") and len(low) > 1:
        return int(low[1:], 8)
    return int(text, 10)


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")

    def error(self, reason: str, line: int, column: int) -> AsmError:
        src = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return AsmError(reason, line, column, src)

    def tokens(self) -> Iterator[_Tok]:
        """The tokens, read as they are asked for (so the first error in the text wins)."""
        text, pos, line, line_start = self.text, 0, 1, 0
        while pos < len(text):
            col = pos - line_start + 1
            if col == 1 and text[pos] == "#":  # a line starting with '#' is a comment
                end = text.find("\n", pos)
                pos = len(text) if end < 0 else end
                continue
            m = _TOKEN.match(text, pos)
            if m is None:
                if text.startswith("/*", pos):
                    raise self.error("unterminated comment", line, col)
                raise self.error(f"unknown character {text[pos]!r}", line, col)
            kind, raw = m.lastgroup, m.group()
            assert kind is not None
            yield from self._token(kind, raw, line, col) or ()
            newlines = raw.count("\n")
            if newlines:
                line += newlines
                line_start = pos + raw.rindex("\n") + 1
            pos = m.end()
        yield _Tok("end", None, line, pos - line_start + 1)

    def _token(self, kind: str, raw: str, line: int, col: int) -> list[_Tok] | None:
        if kind in ("space", "block", "comment"):
            return None
        if kind == "num":
            value = _number(raw)
            if not -(1 << 31) <= value <= M32:
                raise self.error(f"number {raw} does not fit 32 bits", line, col)
            return [_Tok("num", value & M32, line, col)]
        if kind == "punct":
            return [_Tok(raw, raw, line, col)]
        word = raw.lstrip("#").lower()
        if word == "len":
            return [_Tok("len", None, line, col)]
        if word in EXTENSIONS:
            return [_Tok("ext", EXTENSIONS[word], line, col)]
        if kind == "hashword":  # '#' then something that is not a keyword
            return [_Tok("#", "#", line, col), *(self._token("word", raw[1:], line, col + 1) or [])]
        if word in _OPS:
            return [_Tok("op", word, line, col)]
        if word in ("x", "a"):
            return [_Tok(word, word, line, col)]
        if word == "m":
            return [_Tok("M", "M", line, col)]
        if len(raw) < 2:
            raise self.error(f"unknown character {raw!r}", line, col)
        return [_Tok("label", raw, line, col)]


# -- parser ------------------------------------------------------------------------------


@dataclass
class _Pending:
    """An instruction whose jump labels are still names."""

    code: int
    k: int
    jt: _Tok | None = None
    jf: _Tok | None = None
    ja: _Tok | None = None


class _Parser:
    def __init__(self, lexer: _Lexer) -> None:
        self.lexer = lexer
        self.stream = lexer.tokens()
        self.toks: list[_Tok] = []
        self.pos = 0
        self.labels: dict[str, int] = {}
        self.out: list[_Pending] = []

    # token helpers
    def peek(self, offset: int = 0) -> _Tok:
        while len(self.toks) <= self.pos + offset and (
            not self.toks or self.toks[-1].kind != "end"
        ):
            self.toks.append(next(self.stream))
        return self.toks[min(self.pos + offset, len(self.toks) - 1)]

    def next(self) -> _Tok:
        tok = self.peek()
        self.pos += 1
        return tok

    def error(self, reason: str, tok: _Tok) -> AsmError:
        return self.lexer.error(reason, tok.line, tok.column)

    def expect(self, kind: str, what: str = "") -> _Tok:
        tok = self.next()
        if tok.kind != kind:
            raise self.error(f"expected {what or repr(kind)}", tok)
        return tok

    def accept(self, kind: str) -> bool:
        if self.peek().kind == kind:
            self.pos += 1
            return True
        return False

    def number(self) -> int:
        value = self.expect("num", "a number").value
        assert isinstance(value, int)
        return value

    def reg(self, name: str) -> bool:
        """``x``/``%x`` (or ``a``/``%a``) next?"""
        if self.peek().kind == name:
            self.pos += 1
            return True
        if self.peek().kind == "%" and self.peek(1).kind == name:
            self.pos += 2
            return True
        return False

    # grammar
    def program(self) -> list[Insn]:
        while self.peek().kind != "end":
            while self.peek().kind == "label" and self.peek(1).kind == ":":
                tok = self.next()
                self.next()
                name = str(tok.value)
                if name in self.labels:
                    raise self.error(f"duplicate label {name!r}", tok)
                self.labels[name] = len(self.out)
            op = self.expect("op", "an instruction")
            self.out.append(self.instruction(str(op.value), op))
        return [self.resolve(i, p) for i, p in enumerate(self.out)]

    def instruction(self, op: str, tok: _Tok) -> _Pending:
        if op in _SIZES:
            return self.load(op)
        if op in ("ldi", "ldxi"):
            self.accept("#")
            return _Pending((BPF_LD if op == "ldi" else BPF_LDX) | BPF_IMM, self.number())
        if op == "ldx":
            return self.ldx()
        if op == "ldxb":
            return _Pending(BPF_LDX | BPF_MSH | BPF_B, self.msh())
        if op in ("st", "stx"):
            return _Pending(BPF_ST if op == "st" else BPF_STX, self.mem())
        if op in ("jmp", "ja"):
            return _Pending(BPF_JMP | BPF_JA, 0, ja=self.expect("label", "a label"))
        if op in _CONDS or op in _NEG_CONDS:
            return self.cond(op)
        if op in _ALU:
            src, k = self.source()
            return _Pending(BPF_ALU | _ALU[op] | src, k)
        if op in _PLAIN:
            return _Pending(_PLAIN[op], 0)
        return self.ret()

    def load(self, op: str) -> _Pending:
        size = _SIZES[op]
        tok = self.peek()
        if tok.kind == "ext":
            self.next()
            assert isinstance(tok.value, int)
            return _Pending(BPF_LD | size | BPF_ABS, (SKF_AD_OFF + tok.value) & M32)
        if op == "ld":
            if self.accept("#"):
                return _Pending(BPF_LD | BPF_IMM, self.number())
            if self.accept("len"):
                return _Pending(BPF_LD | BPF_W | BPF_LEN, 0)
            if tok.kind == "M":
                return _Pending(BPF_LD | BPF_MEM, self.mem())
        self.expect("[", "'[', an extension or an immediate")
        if self.reg("x"):
            if self.peek().kind != "num":  # '[x +4]' lexes the sign into the number
                self.expect("+", "'+'")
            k = self.number()
            mode = BPF_IND
        else:
            k = self.number()
            mode = BPF_ABS
        self.expect("]", "']'")
        return _Pending(BPF_LD | size | mode, k)

    def ldx(self) -> _Pending:
        if self.accept("#"):
            return _Pending(BPF_LDX | BPF_IMM, self.number())
        if self.accept("len"):
            return _Pending(BPF_LDX | BPF_W | BPF_LEN, 0)
        if self.peek().kind == "M":
            return _Pending(BPF_LDX | BPF_MEM, self.mem())
        return _Pending(BPF_LDX | BPF_MSH | BPF_B, self.msh())

    def mem(self) -> int:
        self.expect("M", "M[k]")
        self.expect("[", "'['")
        k = self.number()
        self.expect("]", "']'")
        return k

    def msh(self) -> int:
        first = self.peek()
        if self.number() != 4:
            raise self.error("only 4*([k]&0xf) is supported", first)
        self.expect("*", "'*'")
        self.expect("(", "'('")
        self.expect("[", "'['")
        k = self.number()
        self.expect("]", "']'")
        self.expect("&", "'&'")
        mask = self.peek()
        if self.number() != 0xF:
            raise self.error("only 4*([k]&0xf) is supported", mask)
        self.expect(")", "')'")
        return k

    def source(self) -> tuple[int, int]:
        if self.reg("x"):
            return BPF_X, 0
        self.expect("#", "'#k' or 'x'")
        return BPF_K, self.number()

    def cond(self, op: str) -> _Pending:
        src, k = self.source()
        self.expect(",", "','")
        first = self.expect("label", "a label")
        if op in _NEG_CONDS:
            return _Pending(BPF_JMP | _NEG_CONDS[op] | src, k, jf=first)
        second = None
        if self.accept(","):
            second = self.expect("label", "a label")
        return _Pending(BPF_JMP | _CONDS[op] | src, k, jt=first, jf=second)

    def ret(self) -> _Pending:
        if self.reg("a"):
            return _Pending(BPF_RET | BPF_A, 0)
        if self.reg("x"):
            return _Pending(BPF_RET | BPF_X, 0)
        self.expect("#", "'#k', 'a' or 'x'")
        return _Pending(BPF_RET | BPF_K, self.number())

    def target(self, pc: int, tok: _Tok) -> int:
        name = str(tok.value)
        if name not in self.labels:
            raise self.error(f"no such label {name!r}", tok)
        return self.labels[name] - pc - 1

    def resolve(self, pc: int, p: _Pending) -> Insn:
        k, jt, jf = p.k, 0, 0
        if p.ja is not None:
            k = self.target(pc, p.ja) & M32
        for tok, which in ((p.jt, "jt"), (p.jf, "jf")):
            if tok is None:
                continue
            off = self.target(pc, tok)
            if not 0 <= off <= 255:
                raise self.error(f"{which} to {tok.value!r} is out of range ({off})", tok)
            jt, jf = (off, jf) if which == "jt" else (jt, off)
        return Insn(p.code, jt, jf, k)


_D_START = re.compile(r"\s*\(\d+\)\s")


def assemble(text: str) -> list[Insn]:
    """Classic instructions from ``bpf_asm`` text (or ``tcpdump -d`` output).

    >>> [(i.code, i.jt, i.jf, i.k) for i in assemble("ld #len\\nret a")]
    [(128, 0, 0, 0), (22, 0, 0, 0)]
    """
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith((";", "Warning:")):
            if _D_START.match(line):
                return parse_d(text)
            break
    return _Parser(_Lexer(text)).program()


# -- disassembler ------------------------------------------------------------------------


def _num(k: int) -> str:
    return str(k) if k < 0x8000_0000 else f"0x{k:x}"


def _src(insn: Insn) -> str:
    if insn.code & BPF_X:
        return "x"
    hexa = insn.code & 0x07 == BPF_JMP or insn.code & 0xF0 in (BPF_AND, BPF_OR, BPF_XOR)
    return f"#0x{insn.k:x}" if hexa else f"#{_num(insn.k)}"


_LOADS = {BPF_W: "ld", BPF_H: "ldh", BPF_B: "ldb"}
_NAMES = {
    **{BPF_JMP | op | s: n for n, op in _CONDS.items() for s in (BPF_K, BPF_X)},
    **{BPF_ALU | op | s: n for n, op in _ALU.items() for s in (BPF_K, BPF_X)},
}
_FIXED = {
    BPF_LD | BPF_W | BPF_LEN: "ld #len",
    BPF_LDX | BPF_W | BPF_LEN: "ldx #len",
    BPF_RET | BPF_A: "ret a",
    BPF_RET | BPF_X: "ret x",
    BPF_ALU | BPF_NEG: "neg",
    BPF_MISC | BPF_TAX: "tax",
    BPF_MISC | BPF_TXA: "txa",
}


def _operands(pc: int, insn: Insn) -> str:
    code, k = insn.code, insn.k
    if code in _FIXED:
        return _FIXED[code]
    if code & 0x07 == BPF_LD and code & 0xE0 in (BPF_ABS, BPF_IND) and code & 0x18 in _LOADS:
        op = _LOADS[code & 0x18]
        if code & 0xE0 == BPF_IND:
            return f"{op} [x + {_num(k)}]"
        name = _EXT_NAME.get((k - (SKF_AD_OFF & M32)) & M32) if ancillary(k) else None
        return f"{op} #{name}" if name else f"{op} [{_num(k)}]"
    simple = {
        BPF_LD | BPF_IMM: f"ld #{_num(k)}",
        BPF_LDX | BPF_IMM: f"ldx #{_num(k)}",
        BPF_LD | BPF_MEM: f"ld M[{_num(k)}]",
        BPF_LDX | BPF_MEM: f"ldx M[{_num(k)}]",
        BPF_ST: f"st M[{_num(k)}]",
        BPF_STX: f"stx M[{_num(k)}]",
        BPF_LDX | BPF_MSH | BPF_B: f"ldxb 4*([{_num(k)}]&0xf)",
        BPF_RET | BPF_K: f"ret #{_num(k)}",
    }.get(code)
    if simple is not None:
        return simple
    if code in _NAMES:
        return f"{_NAMES[code]} {_src(insn)}"
    raise CbpfError(f"opcode {code:#x} has no bpf_asm syntax", pc)


def disassemble(insns: Sequence[Insn]) -> str:
    """``bpf_asm`` text for ``insns``, with an ``lN:`` label on every jump target.

    ``CbpfError`` for an opcode ``bpf_asm`` cannot write or a jump that leaves
    the program. Unused fields (``jt``/``jf`` of a non-jump ...) are not shown.
    """
    n = len(insns)
    lines: list[tuple[int, str]] = []
    targets: set[int] = set()
    for pc, insn in enumerate(insns):
        if insn.code == BPF_JMP | BPF_JA:
            dests = [(pc + 1 + insn.k) & M32]
        elif insn.code in _NAMES and insn.code & 0x07 == BPF_JMP:
            dests = [pc + 1 + insn.jt, pc + 1 + insn.jf]
        else:
            lines.append((pc, _operands(pc, insn)))
            continue
        for d in dests:
            if d >= n:
                raise CbpfError(f"jump to {d}, past the end of the program", pc)
        targets.update(dests)
        if insn.code == BPF_JMP | BPF_JA:
            lines.append((pc, f"ja l{dests[0]}"))
        else:
            lines.append((pc, f"{_operands(pc, insn)}, l{dests[0]}, l{dests[1]}"))
    width = max((len(f"l{t}:") for t in targets), default=0) + 1
    width = max(width, 4)
    return "".join(
        (f"l{pc}:" if pc in targets else "").ljust(width) + text + "\n" for pc, text in lines
    )
