"""The text forms of classic programs that tcpdump prints: ``-d``, ``-dd`` and ``-ddd``.

``dump(insns, level)`` prints a program as ``tcpdump -d`` (level 1, libpcap's
``bpf_image`` lines), ``-dd`` (level 2, C initializer rows) or ``-ddd`` (level 3,
the count then decimal rows) do, byte for byte as libpcap 1.10 prints them:
``-d`` shows jump targets as absolute instruction numbers, ``ret``/arithmetic
operands as signed decimals, jump and bitwise operands and immediates in hex,
Linux ancillary offsets by libpcap's names (``[proto]``, ``[vlanp]`` ...) and
any code libpcap 1.10 does not print as ``unimp 0x<code>`` (among them
``ldx #pktlen``, which its ``bpf_image`` does not know).

``parse_d``, ``parse_dd`` and ``parse_ddd`` read those forms back (``parse_ddd``
also takes the one-line ``count,code jt jf k,...`` form of ``bpf_asm`` and
iptables' ``xt_bpf``); errors are ``AsmError`` with line and column. ``-d``
keeps everything but the unused fields of an instruction (``jt``/``jf`` of a
non-jump, ``k`` of ``unimp``), so ``parse_d(dump(p, 1)) == p`` for programs
without them. This module does not assemble ``bpf_asm`` syntax (``ebpy.cbpf.asm``).

>>> from ebpy.cbpf.isa import Insn
>>> prog = [Insn(0x28, 0, 0, 12), Insn(0x15, 0, 1, 0x800), Insn(0x6, 0, 0, 262144), Insn(0x6)]
>>> dump(prog, 1).splitlines()[:2]
['(000) ldh      [12]', '(001) jeq      #0x800           jt 2\\tjf 3']
>>> print(dump(prog, 2), end="")
{ 0x28, 0, 0, 0x0000000c },
{ 0x15, 0, 1, 0x00000800 },
{ 0x6, 0, 0, 0x00040000 },
{ 0x6, 0, 0, 0x00000000 },
>>> parse_ddd(dump(prog, 3)) == parse_dd(dump(prog, 2)) == parse_d(dump(prog, 1)) == prog
True
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

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
    SKF_AD_OFF,
    Insn,
)
from ebpy.errors import AsmError
from ebpy.isa._intmath import M32, s32

__all__ = ["PCAP_AD_NAMES", "canonical", "dump", "image", "parse_d", "parse_dd", "parse_ddd"]

PCAP_AD_NAMES = {
    0: "proto",
    4: "type",
    8: "ifidx",
    12: "nla",
    16: "nlan",
    20: "mark",
    24: "queue",
    28: "hatype",
    32: "rxhash",
    36: "cpu",
    40: "xor_x",
    44: "vlan_tci",
    48: "vlanp",
    52: "poff",
    56: "random",
    60: "vlan_tpid",
}
"""How libpcap's ``bpf_image`` names Linux ancillary offsets (offset from ``SKF_AD_OFF``)."""
_AD_BY_PCAP_NAME = {name: off for off, name in PCAP_AD_NAMES.items()}


def _abs(k: int) -> str:
    name = PCAP_AD_NAMES.get((k - (SKF_AD_OFF & M32)) & M32)
    return f"[{name}]" if name is not None else f"[{s32(k)}]"


_FORMAT: dict[str, Callable[[int, int], str]] = {
    "#dec": lambda k, n: f"#{s32(k)}",
    "#hex": lambda k, n: f"#0x{k:x}",
    "[k]": lambda k, n: _abs(k),
    "[x+k]": lambda k, n: f"[x + {s32(k)}]",
    "M[k]": lambda k, n: f"M[{s32(k)}]",
    "msh": lambda k, n: f"4*([{s32(k)}]&0xf)",
    "target": lambda k, n: str(s32(n + 1 + k)),
    "#pktlen": lambda k, n: "#pktlen",
    "x": lambda k, n: "x",
    "": lambda k, n: "",
}
"""How ``bpf_image`` prints each operand shape, from ``k`` and the instruction's index."""

_IMAGE: dict[int, tuple[str, str]] = {
    BPF_RET | BPF_K: ("ret", "#dec"),
    BPF_RET | BPF_A: ("ret", ""),
    BPF_LD | BPF_W | BPF_ABS: ("ld", "[k]"),
    BPF_LD | BPF_H | BPF_ABS: ("ldh", "[k]"),
    BPF_LD | BPF_B | BPF_ABS: ("ldb", "[k]"),
    BPF_LD | BPF_W | BPF_LEN: ("ld", "#pktlen"),
    BPF_LD | BPF_W | BPF_IND: ("ld", "[x+k]"),
    BPF_LD | BPF_H | BPF_IND: ("ldh", "[x+k]"),
    BPF_LD | BPF_B | BPF_IND: ("ldb", "[x+k]"),
    BPF_LD | BPF_IMM: ("ld", "#hex"),
    BPF_LDX | BPF_IMM: ("ldx", "#hex"),
    BPF_LDX | BPF_MSH | BPF_B: ("ldxb", "msh"),
    BPF_LD | BPF_MEM: ("ld", "M[k]"),
    BPF_LDX | BPF_MEM: ("ldx", "M[k]"),
    BPF_ST: ("st", "M[k]"),
    BPF_STX: ("stx", "M[k]"),
    BPF_JMP | BPF_JA: ("ja", "target"),
    BPF_ALU | BPF_NEG: ("neg", ""),
    BPF_MISC | BPF_TAX: ("tax", ""),
    BPF_MISC | BPF_TXA: ("txa", ""),
}
"""code -> (mnemonic, operand shape) for every code libpcap 1.10's ``bpf_image`` knows."""
for _op, _name in ((BPF_JGT, "jgt"), (BPF_JGE, "jge"), (BPF_JEQ, "jeq"), (BPF_JSET, "jset")):
    _IMAGE[BPF_JMP | _op | BPF_K] = (_name, "#hex")
    _IMAGE[BPF_JMP | _op | BPF_X] = (_name, "x")
for _op, _name, _shape in (
    (BPF_ADD, "add", "#dec"),
    (BPF_SUB, "sub", "#dec"),
    (BPF_MUL, "mul", "#dec"),
    (BPF_DIV, "div", "#dec"),
    (BPF_MOD, "mod", "#dec"),
    (BPF_AND, "and", "#hex"),
    (BPF_OR, "or", "#hex"),
    (BPF_XOR, "xor", "#hex"),
    (BPF_LSH, "lsh", "#dec"),
    (BPF_RSH, "rsh", "#dec"),
):
    _IMAGE[BPF_ALU | _op | BPF_K] = (_name, _shape)
    _IMAGE[BPF_ALU | _op | BPF_X] = (_name, "x")


def image(insn: Insn, n: int) -> str:
    """One ``tcpdump -d`` line (libpcap's ``bpf_image``) for ``insn`` at index ``n``.

    >>> image(Insn(0x15, 0, 3, 0x86DD), 1)
    '(001) jeq      #0x86dd          jt 2\\tjf 5'
    """
    entry = _IMAGE.get(insn.code)
    if entry is None:
        op, operand = "unimp", f"0x{insn.code:x}"
    else:
        op, operand = entry[0], _FORMAT[entry[1]](insn.k, n)
    if insn.code & 0x07 == BPF_JMP and insn.code & 0xF0 != BPF_JA:
        return f"({n:03d}) {op:<8} {operand:<16} jt {n + 1 + insn.jt}\tjf {n + 1 + insn.jf}"
    return f"({n:03d}) {op:<8} {operand}"


_NO_K = frozenset({"", "x", "#pktlen"})


def canonical(insns: Sequence[Insn]) -> list[Insn]:
    """``insns`` with the fields ``-d`` does not show zeroed: what ``parse_d`` gives back.

    libpcap's compiler leaves stray values there (``tax`` with a ``k``); compare
    programs from ``-dd`` with those from ``-d`` through this.

    >>> canonical([Insn(0x07, 1, 2, 5), Insn(0x15, 1, 2, 5)])
    [Insn(code=7, jt=0, jf=0, k=0), Insn(code=21, jt=1, jf=2, k=5)]
    """
    out = []
    for insn in insns:
        entry = _IMAGE.get(insn.code)
        jump = insn.code & 0x07 == BPF_JMP and insn.code & 0xF0 != BPF_JA
        k = 0 if entry is None or entry[1] in _NO_K else insn.k
        out.append(Insn(insn.code, insn.jt if jump else 0, insn.jf if jump else 0, k))
    return out


def dump(insns: Sequence[Insn], level: int = 1) -> str:
    """The program as ``tcpdump -d`` (1), ``-dd`` (2) or ``-ddd`` (3) prints it.

    Any level above 3 prints as 3 and below 1 as 1, as libpcap's ``bpf_dump`` does.
    """
    if level >= 3:
        rows = "".join(f"{i.code} {i.jt} {i.jf} {i.k}\n" for i in insns)
        return f"{len(insns)}\n{rows}"
    if level == 2:
        return "".join(f"{{ 0x{i.code:x}, {i.jt}, {i.jf}, 0x{i.k:08x} }},\n" for i in insns)
    return "".join(image(insn, n) + "\n" for n, insn in enumerate(insns))


# -- reading ------------------------------------------------------------------------------

_INT = r"[-+]?(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)"
_D_LINE = re.compile(r"\s*\((\d+)\)\s+(\w+)[ \t]*(.*?)(?:\s+jt\s+(\d+)\s+jf\s+(\d+))?\s*$")
_OPERANDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"#({_INT})$"), "#k"),
    (re.compile(r"#pktlen$"), "#pktlen"),
    (re.compile(r"x$"), "x"),
    (re.compile(r"$"), ""),
    (re.compile(rf"\[\s*x\s*\+\s*({_INT})\s*\]$"), "[x+k]"),
    (re.compile(rf"\[({_INT})\]$"), "[k]"),
    (re.compile(r"\[([a-z_]+)\]$"), "[name]"),
    (re.compile(rf"M\[({_INT})\]$"), "M[k]"),
    (re.compile(rf"4\*\(\[({_INT})\]&0xf\)$"), "msh"),
    (re.compile(rf"({_INT})$"), "target"),
]

_PARSE = {
    (name, "#k" if shape in ("#dec", "#hex") else shape): code
    for code, (name, shape) in _IMAGE.items()
}
"""(mnemonic, operand shape) -> code: what ``parse_d`` reads back."""


def _int(text: str) -> int:
    return int(text, 0) if not re.fullmatch(r"[-+]?0[0-7]+", text) else int(text, 8)


def _error(reason: str, lineno: int, line: str, column: int = 1) -> AsmError:
    return AsmError(reason, lineno, column, line)


def parse_d(text: str) -> list[Insn]:
    """Instructions from ``tcpdump -d`` text (``(000) ldh [12]`` lines).

    Line numbers must count up from 0; jump targets are absolute, as printed.
    Blank lines and lines starting with ``Warning:`` are skipped.
    """
    out: list[Insn] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("Warning:"):
            continue
        m = _D_LINE.fullmatch(line)
        if m is None:
            raise _error("not a tcpdump -d line", lineno, line)
        n = int(m.group(1))
        if n != len(out):
            raise _error(f"instruction ({n:03d}) where ({len(out):03d}) was expected", lineno, line)
        out.append(_parse_d_insn(n, m, lineno, line))
    return out


def _parse_d_insn(n: int, m: re.Match[str], lineno: int, line: str) -> Insn:
    op, operand = m.group(2), m.group(3).strip()
    col = m.start(3) + 1
    if op == "unimp":
        try:
            return Insn(_int(operand) & 0xFFFF, *_targets(n, m, lineno, line))
        except ValueError:
            raise _error("bad unimp code", lineno, line, col) from None
    for pattern, shape in _OPERANDS:
        om = pattern.match(operand)
        if om is None:
            continue
        k = 0
        if shape == "[name]":
            off = _AD_BY_PCAP_NAME.get(om.group(1))
            if off is None:
                raise _error(f"unknown ancillary name {om.group(1)!r}", lineno, line, col)
            shape, k = "[k]", (SKF_AD_OFF + off) & M32
        elif shape == "target":
            k = (_int(om.group(1)) - n - 1) & M32
        elif om.groups():
            k = _int(om.group(1)) & M32
        code = _PARSE.get((op, shape))
        if code is None:
            break
        conditional = code & 0x07 == BPF_JMP and shape != "target"
        jt, jf = _targets(n, m, lineno, line) if conditional else (0, 0)
        return Insn(code, jt, jf, k)
    raise _error(f"unknown instruction {op} {operand}".rstrip(), lineno, line, col)


def _targets(n: int, m: re.Match[str], lineno: int, line: str) -> tuple[int, int]:
    if m.group(4) is None:
        return 0, 0
    jt, jf = int(m.group(4)) - n - 1, int(m.group(5)) - n - 1
    if not (0 <= jt <= 255 and 0 <= jf <= 255):
        raise _error("jump target out of range", lineno, line, m.start(4) + 1)
    return jt, jf


_DD_ROW = re.compile(
    rf"\s*\{{\s*({_INT})\s*,\s*({_INT})\s*,\s*({_INT})\s*,\s*({_INT})\s*\}}\s*,?\s*"
)


def parse_dd(text: str) -> list[Insn]:
    """Instructions from ``tcpdump -dd`` rows (``{ 0x28, 0, 0, 0x0000000c },``).

    Also reads ``bpf_asm -c`` output and C-style comments between rows.
    """
    out: list[Insn] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"/\*.*?\*/|//.*$", "", raw)
        if not line.strip() or raw.startswith("Warning:"):
            continue
        m = _DD_ROW.fullmatch(line)
        if m is None:
            raise _error("not a { code, jt, jf, k } row", lineno, raw)
        out.append(_row([m.group(i) for i in range(1, 5)], lineno, raw))
    return out


def parse_ddd(text: str) -> list[Insn]:
    """Instructions from ``tcpdump -ddd`` text: a count, then ``code jt jf k`` rows.

    Rows may also be separated by commas, as in ``bpf_asm``'s one-line output
    (``4,40 0 0 12,21 0 1 2048,6 0 0 262144,6 0 0 0,``). The count must match.
    """
    rows: list[tuple[int, str, str]] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        if raw.startswith("Warning:"):
            continue
        rows.extend((lineno, part.strip(), raw) for part in raw.split(",") if part.strip())
    if not rows:
        raise AsmError("no instruction count", 1, 1, "")
    lineno, first, raw = rows[0]
    if not re.fullmatch(r"\d+", first):
        raise _error("the first number must be the instruction count", lineno, raw)
    count = int(first)
    out = [_row(part.split(), n, r) for n, part, r in rows[1:]]
    if len(out) != count:
        raise _error(f"{count} instructions announced, {len(out)} given", rows[-1][0], rows[-1][2])
    return out


def _row(fields: list[str], lineno: int, line: str) -> Insn:
    if len(fields) != 4:
        raise _error("a row needs code, jt, jf and k", lineno, line)
    try:
        code, jt, jf, k = (_int(f) for f in fields)
    except ValueError:
        raise _error("not a number", lineno, line) from None
    for value, limit, name in ((code, 0xFFFF, "code"), (jt, 0xFF, "jt"), (jf, 0xFF, "jf")):
        if not 0 <= value <= limit:
            raise _error(f"{name} {value} out of range", lineno, line)
    if not -(1 << 31) <= k <= M32:
        raise _error(f"k {k} out of range", lineno, line)
    return Insn(code, jt, jf, k & M32)
