"""Text to instructions: the assembler for kernel/llvm syntax and the conformance syntax.

``assemble`` reads a program line by line and picks the syntax of each line
from its first word: ``mov %r0, 1`` / ``ldxw %r0, [%r1+4]`` (bpf_conformance,
see ``asm_conformance``) or ``r0 = *(u32 *)(r1 + 4)`` / ``if r1 > 3 goto +2``
(what llvm-objdump and bpftool print, see ``asm_llvm``). It also takes whole
listing lines: bpftool's ``   3: (61) ...`` and llvm-objdump's
``       0:\\tb7 00 ...\\t...`` (whose opcode, or bytes, must agree with the text),
symbol headers ``0000000000000000 <prog>:`` as labels, and drops llvm-objdump's
`` <LBB0_2>`` branch notes. Labels are ``name:``; comments start with ``#``
(at the start of a line or after a blank), ``//`` or ``;``. The first ``exit``
doubles as the label ``exit`` unless the program defines one, as in the
conformance suite. Every error is an ``AsmError`` naming the 1-based line and
column. This module does not print (``disasm``) or encode bytes (``encoding``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ebpy.errors import AsmError, LinkError
from ebpy.isa._asm_lex import Cursor, LineError, Parsed, tokenize
from ebpy.isa.asm_conformance import is_conformance, parse_conformance
from ebpy.isa.asm_llvm import parse_llvm
from ebpy.isa.builder import Label, link
from ebpy.isa.encoding import encode_one, validate
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import CallSrc, Class, JmpOp
from ebpy.uapi import HELPER_NAMES

__all__ = ["assemble"]

_BPFTOOL_PREFIX = re.compile(r"\s*[0-9]+:\s*\(([0-9A-Fa-f]{2})\)\s*", re.ASCII)
_HEX8 = r"(?:[0-9A-Fa-f]{2}[ \t]+){7}[0-9A-Fa-f]{2}"
_OBJDUMP_PREFIX = re.compile(rf"\s*[0-9]+:[ \t]+({_HEX8}(?:[ \t]+{_HEX8})?)(?:[ \t]+|$)", re.ASCII)
_OPCODES_LINE = re.compile(rf"\s*({_HEX8}(?:[ \t]+{_HEX8})?)\s*$", re.ASCII)
_SYMBOL_HEADER = re.compile(r"\s*[0-9A-Fa-f]{16} <([^<>\s]+)>:\s*$", re.ASCII)
_LABEL = re.compile(r"\s*([A-Za-z_.$][\w.$]*)\s*:(?!=)", re.ASCII)
_TARGET_NOTE = re.compile(r"\s<[^<>\s]*>\s*$", re.ASCII)
_HELPERS_BY_NAME = {name: hid for hid, name in HELPER_NAMES.items()}
_CALL = Class.JMP | JmpOp.CALL


@dataclass(slots=True)
class _Line:
    number: int
    text: str
    parsed: Parsed


def assemble(text: str) -> list[Instruction]:
    """Assemble a program written in either syntax, one instruction per line.

    >>> from ebpy.isa.disasm import disassemble
    >>> prog = assemble('''
    ...     mov %r0, 1          # conformance syntax
    ...     r1 = *(u32 *)(r1 + 4)
    ...     if w1 > 3 goto out
    ...     r0 += 41
    ... out:
    ...     exit
    ... ''')
    >>> print(disassemble(prog))
    r0 = 1
    r1 = *(u32 *)(r1 + 4)
    if w1 > 3 goto +1
    r0 += 41
    exit
    """
    labels: dict[str, tuple[int, int]] = {}  # name -> (line, column)
    entries: list[_Line | str] = []  # instructions and label names, in order
    for number, raw in enumerate(text.splitlines(), 1):
        opcodes = _OPCODES_LINE.match(raw, 0, _comment_start(raw))
        if opcodes is not None:  # bpftool's ``opcodes`` line under an instruction
            last = next((e for e in reversed(entries) if isinstance(e, _Line)), None)
            want = bytes.fromhex(opcodes.group(1).replace("\t", " "))
            if (
                last is None
                or last.parsed.target is not None
                or encode_one(last.parsed.insn) != want
            ):
                col = opcodes.start(1) + 1
                raise AsmError("these bytes do not match the instruction above", number, col, raw)
            continue
        try:
            parsed, names = _parse_line(raw)
        except LineError as err:
            raise AsmError(err.reason, number, err.col, raw) from None
        for name, col in names:
            if name in labels:
                raise AsmError(f"duplicate label {name!r}", number, col, raw)
            labels[name] = (number, col)
            entries.append(name)
        if parsed is not None:
            entries.append(_Line(number, raw, parsed))
    if "exit" not in labels:
        first_exit = next(
            (n for n, e in enumerate(entries) if isinstance(e, _Line) and e.parsed.insn.is_exit),
            None,
        )
        if first_exit is not None:
            entries.insert(first_exit, "exit")
            labels["exit"] = (0, 0)
    lines = [e for e in entries if isinstance(e, _Line)]
    for line in lines:
        _resolve_call(line, labels)
    items: list[Instruction | Label] = [
        Label(e) if isinstance(e, str) else e.parsed.insn.replace(meta=e.parsed.target)
        for e in entries
    ]
    return _link(items, lines)


def _parse_line(raw: str) -> tuple[Parsed | None, list[tuple[str, int]]]:
    """The instruction on one line (or None) and the labels it defines."""
    end = _comment_start(raw)
    start = 0
    names: list[tuple[str, int]] = []
    header = _SYMBOL_HEADER.match(raw, 0, end)
    if header is not None:
        return None, [(header.group(1), header.start(1) + 1)]
    hint_op: int | None = None
    hint_bytes: bytes | None = None
    hint_col = 0
    m = _BPFTOOL_PREFIX.match(raw, 0, end)
    if m is not None:
        hint_op = int(m.group(1), 16)
        hint_col = m.start(1) + 1
        start = m.end()
    else:
        m = _OBJDUMP_PREFIX.match(raw, 0, end)
        if m is not None:
            hint_bytes = bytes.fromhex(m.group(1).replace("\t", " "))
            hint_op = hint_bytes[0]
            hint_col = m.start(1) + 1
            start = m.end()
            note = _TARGET_NOTE.search(raw, start, end)
            if note is not None:
                end = note.start()
    while True:
        label = _LABEL.match(raw, start, end)
        if label is None or hint_op is not None:
            break
        names.append((label.group(1), label.start(1) + 1))
        start = label.end()
    tokens = tokenize(raw, start, end)
    if not tokens:
        if hint_op is not None:
            raise LineError("expected an instruction after the listing prefix", end + 1)
        return None, names
    cur = Cursor(tokens, end + 1)
    parsed = parse_conformance(cur) if is_conformance(cur) else parse_llvm(cur, hint_op)
    i = parsed.insn  # plain ints, not the enums the parsers built it from
    parsed.insn = Instruction(int(i.op), int(i.dst), int(i.src), int(i.off), int(i.imm))
    reason = validate(parsed.insn)
    if reason is not None:
        raise LineError(reason, tokens[0].col)
    if hint_op is not None:
        _check_hint(parsed, hint_op, hint_bytes, hint_col)
    return parsed, names


def _comment_start(raw: str) -> int:
    """Where a comment starts: ``//``, ``;``, or ``#`` after a blank or at the start."""
    end = len(raw)
    for marker in ("//", ";"):
        at = raw.find(marker)
        if at >= 0:
            end = min(end, at)
    for m in re.finditer(r"(?:^|\s)#", raw[:end]):
        return m.end() - 1
    return end


def _check_hint(parsed: Parsed, op: int, raw: bytes | None, col: int) -> None:
    """The listing's opcode (and bytes) must agree with the text.

    llvm-objdump prints every call as ``call N``; its bytes say whether that is
    a helper, a bpf-to-bpf call or a kfunc, so the bytes decide.
    """
    insn = parsed.insn
    if raw is not None and insn.op == _CALL and parsed.target is None and raw[0] == _CALL:
        src = raw[1] >> 4
        if src in (CallSrc.PSEUDO_CALL, CallSrc.KFUNC):
            parsed.insn = insn = insn.replace(src=src)
    if insn.op != op:
        raise LineError(f"the text is opcode {insn.op:#04x}, the listing says {op:#04x}", col)
    if raw is not None and parsed.target is None and encode_one(insn) != raw:
        raise LineError("the text does not match the listing's bytes", col)


def _resolve_call(line: _Line, labels: dict[str, tuple[int, int]]) -> None:
    """``call NAME``: a bpf-to-bpf call when NAME is a label, else a helper by name."""
    parsed = line.parsed
    name = parsed.target
    if not parsed.call_name or name is None or name in labels:
        return
    hid = _HELPERS_BY_NAME.get(name[4:]) if name.startswith("bpf_") else None
    if hid is None:
        hid = _HELPERS_BY_NAME.get(name)
    if hid is None:
        raise AsmError(
            f"unknown label or helper {name!r}", line.number, parsed.target_col, line.text
        )
    parsed.insn = Instruction(_CALL, 0, int(CallSrc.HELPER), 0, hid)
    parsed.target = None


def _link(items: list[Instruction | Label], lines: list[_Line]) -> list[Instruction]:
    by_slot: dict[int, _Line] = {}
    slot = 0
    for line in lines:
        by_slot[slot] = line
        slot += line.parsed.insn.width
    try:
        return link(items)
    except LinkError as err:
        where = by_slot.get(err.pc) if err.pc is not None else None
        if where is None:
            raise AsmError(f"{err.reason} {err.label!r}") from None
        raise AsmError(
            f"{err.reason} {err.label!r}", where.number, where.parsed.target_col, where.text
        ) from None
