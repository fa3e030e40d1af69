"""Instructions to text: llvm-objdump syntax, bpftool "xlated" syntax, whole listings.

``format_llvm`` prints one instruction the way ``llvm-objdump -d`` (LLVM 14)
prints its text; instructions LLVM 14 cannot print faithfully (cpu v4, store of
an immediate, ``jset``, ``mod``, 32-bit atomics other than ``lock +=``,
``callx``) use the syntax of newer LLVM. ``format_bpftool`` follows the
kernel's printer (kernel/bpf/disasm.c) with bpftool's callbacks.
``disassemble`` lists a program in either style in a form ``asm.assemble``
reads back unchanged, and ``objdump_text`` reproduces a whole
``llvm-objdump -d`` section block (labels, branch targets, zero runs).
Instructions that ``encoding.validate`` rejects print as ``<unknown>``.

This module prints; it does not parse text (``asm``) or read ELF files.
The syntax decisions are listed in ``_llvm_text`` and ``_bpftool_text``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ebpy.isa._disasm_text import bpftool_text, llvm_text
from ebpy.isa._intmath import M64, s32
from ebpy.isa.encoding import SLOT, encode_one, validate
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import LDDW

__all__ = [
    "disassemble",
    "format_bpftool",
    "format_llvm",
    "objdump_text",
]


def format_llvm(insn: Instruction) -> str:
    """The instruction text as ``llvm-objdump -d`` prints it.

    >>> from ebpy.isa.builder import ALU, ALU64, JMP, LDX, R0, R1, R2, EXIT
    >>> from ebpy.isa.opcodes import Size
    >>> format_llvm(LDX(Size.W, R0, R1, 4))
    'r0 = *(u32 *)(r1 + 4)'
    >>> format_llvm(JMP.JSGT.reg(R1, R2, 3))
    'if r1 s> r2 goto +3'
    >>> format_llvm(ALU.ADD.reg(R0, R1))
    'w0 += w1'
    >>> format_llvm(ALU64.SDIV.reg(R0, R1))
    'r0 s/= r1'
    >>> format_llvm(Instruction(0x95, dst=1))
    '<unknown>'
    """
    if validate(insn) is not None:
        return "<unknown>"
    return llvm_text(insn, lossless=False)


def format_bpftool(insn: Instruction, pc: int) -> str:
    """One line of ``bpftool prog dump xlated`` for ``insn`` at slot ``pc``.

    >>> from ebpy.isa.builder import CALL, LDX, ALU64, R1, R2
    >>> from ebpy.isa.opcodes import Size
    >>> format_bpftool(LDX(Size.W, R2, R1, 4), 3)
    '   3: (61) r2 = *(u32 *)(r1 +4)'
    >>> format_bpftool(CALL(1), 7)
    '   7: (85) call bpf_map_lookup_elem#1'
    >>> format_bpftool(ALU64.ADD.imm(R1, -8), 12)
    '  12: (07) r1 += -8'
    """
    text = "<unknown>" if validate(insn) is not None else bpftool_text(insn)
    return f"{pc: 4d}: ({insn.op & 0xFF:02x}) {text}"


def disassemble(
    insns: Iterable[Instruction], style: str = "llvm", *, with_bytes: bool = False
) -> str:
    """A program as text, one line per instruction; ``asm.assemble`` reads it back.

    ``style`` is ``"llvm"`` (llvm-objdump text; ``with_bytes`` adds its
    ``%8d:\\t<bytes>\\t`` columns) or ``"bpftool"`` (xlated lines; ``with_bytes``
    adds bpftool's ``opcodes`` line under each). In llvm style a bpf-to-bpf
    call prints as ``call pc+N`` and a kfunc call as ``call kernel-function#ID``
    (bpftool's forms), because LLVM's ``call N`` does not tell them from a
    helper call; every other line is ``format_llvm``'s text.

    >>> from ebpy.isa.builder import ALU64, CALL_LOCAL, EXIT, R0
    >>> print(disassemble([ALU64.MOV.imm(R0, 42), CALL_LOCAL(1), EXIT(), EXIT()]))
    r0 = 42
    call pc+1
    exit
    exit
    >>> print(disassemble([ALU64.MOV.imm(R0, 42), EXIT()], with_bytes=True).expandtabs())
           0:       b7 00 00 00 2a 00 00 00 r0 = 42
           1:       95 00 00 00 00 00 00 00 exit
    >>> print(disassemble([ALU64.MOV.imm(R0, 42), EXIT()], "bpftool"))
       0: (b7) r0 = 42
       1: (95) exit
    """
    if style not in ("llvm", "bpftool"):
        raise ValueError(f"unknown disassembly style {style!r}")
    lines: list[str] = []
    pc = 0
    for insn in insns:
        if style == "bpftool":
            lines.append(format_bpftool(insn, pc))
            if with_bytes:
                lines.append("       " + _hex_bytes(encode_one(insn)))
        else:
            text = "<unknown>" if validate(insn) is not None else llvm_text(insn, lossless=True)
            if with_bytes:
                text = f"{pc:8d}:\t{_hex_bytes(encode_one(insn))}\t{text}"
            lines.append(text)
        pc += insn.width
    return "\n".join(lines)


def objdump_text(
    section_name: str,
    symbol: str | Mapping[int, str],
    insns: Sequence[Instruction] | bytes,
) -> str:
    """The block ``llvm-objdump -d`` prints for one executable section.

    ``symbol`` names the code at byte offset 0, or maps byte offsets to the
    section's symbols (functions and ``LBB`` labels; where several share an
    offset llvm-objdump 14 shows the last in (offset, type, name) order, so
    pass that one). ``insns`` are decoded instructions or the raw section
    bytes; raw bytes are walked the way llvm-objdump walks them (runs of 8 or
    more zero bytes print as ``...``, undecodable slots as ``<unknown>``).
    The block starts at ``Disassembly of section`` and ends with a newline;
    llvm-objdump's whole output is ``"\\n" + f"{path}:\\tfile format elf64-bpf\\n"``
    followed by ``"\\n" + block`` for each section.

    >>> from ebpy.isa.builder import ALU64, JMP, EXIT, R0
    >>> block = objdump_text("xdp", "prog", [ALU64.MOV.imm(R0, 2), JMP.JA(0), EXIT()])
    >>> print(block.expandtabs(), end="")
    Disassembly of section xdp:
    <BLANKLINE>
    0000000000000000 <prog>:
           0:       b7 00 00 00 02 00 00 00 r0 = 2
           1:       05 00 00 00 00 00 00 00 goto +0 <prog+0x10>
           2:       95 00 00 00 00 00 00 00 exit
    """
    data = insns if isinstance(insns, bytes) else b"".join(encode_one(i) for i in insns)
    syms = {0: symbol} if isinstance(symbol, str) else dict(symbol)
    if 0 not in syms:
        syms[0] = section_name
    starts = sorted(syms)
    out = [f"Disassembly of section {section_name}:\n"]
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(data)
        if start >= end:
            continue
        out.append(f"\n{start:016x} <{syms[start]}>:\n")
        out.extend(_objdump_range(data, start, end, starts, syms))
    return "".join(out)


# -- llvm-objdump's walk over the bytes of one symbol -------------------------


def _objdump_range(
    data: bytes, start: int, end: int, starts: list[int], syms: Mapping[int, str]
) -> list[str]:
    lines: list[str] = []
    index = start
    while index < end:
        zeros = _skippable_zeros(data, index, end)
        if zeros:
            lines.append("\t\t...\n")
            index += zeros
            continue
        insn, size = _decode_at(data, index)
        raw = data[index : index + size]
        if insn is None:
            text = "<unknown>"
        else:
            text = format_llvm(insn) + _target_note(insn, index, starts, syms)
        lines.append(f"{index // 8:8d}:\t{_hex_bytes(raw)}\t{text}\n")
        index += size
    return lines


def _skippable_zeros(data: bytes, index: int, end: int) -> int:
    """Zero bytes llvm-objdump elides here: a run of 8 or more, in multiples of 4."""
    n = index
    while n < end and data[n] == 0:
        n += 1
    run = n - index
    return run & ~3 if run >= 8 else 0


def _decode_at(data: bytes, index: int) -> tuple[Instruction | None, int]:
    """The instruction at byte ``index`` and the bytes llvm-objdump consumes for it."""
    if len(data) - index < 8:
        return None, 1
    op, regs, off, imm = SLOT.unpack_from(data, index)
    if op == LDDW:
        insn = Instruction(op, regs & 0x0F, regs >> 4, off, imm)
        if validate(insn) is not None:
            return None, 8
        if len(data) - index < 16:
            return None, 1
        hi = SLOT.unpack_from(data, index + 8)[3]
        return insn.replace(imm=imm | (hi << 32)), 16
    insn = Instruction(op, regs & 0x0F, regs >> 4, off, s32(imm))
    if validate(insn) is not None:
        return None, 8
    return insn, 8


def _target_note(insn: Instruction, index: int, starts: list[int], syms: Mapping[int, str]) -> str:
    """`` <sym+0x..>`` that llvm-objdump appends to a branch."""
    if not insn.is_branch:
        return ""
    target = (index + 8 + insn.jump_offset * 8) & M64
    best = None
    for start in starts:
        if start <= target:
            best = start
    if best is None:
        return ""
    disp = target - best
    return f" <{syms[best]}+0x{disp:x}>" if disp else f" <{syms[best]}>"


def _hex_bytes(raw: bytes) -> str:
    return " ".join(f"{b:02x}" for b in raw)
