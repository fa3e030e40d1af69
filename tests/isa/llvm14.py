"""Helpers for comparing ebpy's llvm-style disassembly with llvm-objdump 14.

``elf_text_sections`` reads the executable sections of an object with
pyelftools; ``objdump_like`` rebuilds llvm-objdump's whole ``-d`` output with
``ebpy.isa.disasm.objdump_text``; ``llvm14_text`` models what llvm-objdump 14
(without ``--mattr``) prints for the instructions ebpy prints differently on
purpose; ``assert_same_listing`` compares two listings line by line and accepts
only those modelled differences.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ebpy.elf.reader import read_code_sections
from ebpy.isa._intmath import M32, s32
from ebpy.isa.disasm import format_llvm, objdump_text
from ebpy.isa.encoding import SLOT
from ebpy.isa.instruction import Instruction

CLANG = shutil.which("clang")
OBJDUMP = shutil.which("llvm-objdump")
needs_tools = pytest.mark.skipif(
    CLANG is None or OBJDUMP is None, reason="needs clang and llvm-objdump on PATH"
)


def elf_text_sections(path: Path) -> list[tuple[str, bytes, dict[int, str]]]:
    """(name, bytes, {offset: symbol}) of each non-empty executable section."""
    return [(s.name, s.data, s.symbols) for s in read_code_sections(path.read_bytes())]


def objdump_like(path: Path) -> str:
    """What ``llvm-objdump -d NAME.o`` prints when run next to the file."""
    parts = [f"\n{path.name}:\tfile format elf64-bpf\n"]
    for name, data, symbols in elf_text_sections(path):
        parts.append("\n" + objdump_text(name, symbols, data))
    return "".join(parts)


def run_objdump(path: Path) -> str:
    assert OBJDUMP is not None
    done = subprocess.run(
        [OBJDUMP, "-d", path.name], cwd=path.parent, capture_output=True, text=True, check=True
    )
    return done.stdout


def object_from_bytes(tmp_path: Path, data: bytes, section: str = "xdp") -> Path:
    """An ELF object whose executable ``section`` holds ``data`` under symbol ``prog``."""
    assert CLANG is not None
    lines = [f'\t.section {section},"ax",@progbits', "\t.globl prog", "\t.type prog,@function"]
    lines.append("prog:")
    for at in range(0, len(data), 16):
        lines.append("\t.byte " + ",".join(str(b) for b in data[at : at + 16]))
    lines.append("\t.size prog, .-prog")
    src = tmp_path / "hand.s"
    src.write_text("\n".join(lines) + "\n")
    obj = tmp_path / "hand.o"
    subprocess.run([CLANG, "-target", "bpf", "-c", str(src), "-o", str(obj)], check=True)
    return obj


# -- what llvm-objdump 14 prints where ebpy deliberately differs ----------------------


def _sub(pattern: str, repl: str, text: str) -> str:
    return re.sub(pattern, repl, text, count=1)


def llvm14_text(insn: Instruction) -> str | None:
    """llvm-objdump 14's text for ``insn`` when it differs from ``format_llvm``, else None.

    LLVM 14 cannot decode cpu-v4 instructions, ``BPF_ST``, ``jset``, ``mod`` or
    the 32-bit atomics other than add (without ``--mattr=+alu32``); it decodes
    but misprints sdiv/movsx (as div/mov), a 32-bit fetch-add (as ``lock +=``),
    ``callx`` (register read from ``imm``), ``ld_ind``'s immediate and the upper
    half of a pseudo ``lddw``. This models exactly those cases.
    """
    op, cls = insn.op, insn.op & 0x07
    ours = format_llvm(insn)
    if op == 0x8D:
        return f"callx r{insn.imm & M32}" if 0 <= insn.imm <= 15 else None
    if ours == "<unknown>":
        return None
    if op in (0x06, 0xD7, 0x45, 0x4D, 0x46, 0x4E) or cls == 0x02:
        return "<unknown>"  # gotol, bswap, jset, BPF_ST
    if cls == 0x01 and op & 0xE0 == 0x80:
        return "<unknown>"  # sign-extending loads
    if cls in (0x04, 0x07) and op & 0xF0 == 0x90:
        return "<unknown>"  # mod, smod
    if cls in (0x04, 0x07) and op & 0xF0 == 0x30 and insn.off == 1:
        return ours.replace("s/=", "/=")
    if cls in (0x04, 0x07) and op & 0xF8 == 0xB8 and insn.off:
        return _sub(r"\(s\d+\)", "", ours)
    if op == 0xC3:
        if insn.imm & 0xF0 == 0:
            return f"lock *(u32 *)({_mem(insn)}) += r{insn.src}"
        return "<unknown>"
    if cls == 0x00 and op & 0xE0 == 0x40 and insn.imm:
        return _sub(r"skb\[(r\d+) [+-] \d+\]", r"skb[\1]", ours)
    if op == 0x18 and insn.src and insn.imm >> 32:
        return f"ld_pseudo\tr{insn.dst}, {insn.src}, {insn.imm & M32}"
    return None


def _mem(insn: Instruction) -> str:
    return f"r{insn.dst} + {insn.off}" if insn.off >= 0 else f"r{insn.dst} - {-insn.off}"


def lea_quirk(insn: Instruction) -> bool:
    """LLVM 14 decodes this ``lddw`` (map value, r0, offset 0) as its internal ``lea``."""
    return insn.op == 0x18 and insn.src == 2 and insn.dst == 0 and insn.imm & M32 == 0


_LINE = re.compile(r"\s*\d+:\t((?:[0-9a-f]{2} ?)+)\t(.*)")


def _decode_line(raw_hex: str) -> Instruction:
    raw = bytes.fromhex(raw_hex)
    op, regs, off, imm = SLOT.unpack_from(raw)
    if op == 0x18 and len(raw) == 16:
        return Instruction(op, regs & 15, regs >> 4, off, imm | (SLOT.unpack_from(raw, 8)[3] << 32))
    return Instruction(op, regs & 15, regs >> 4, off, s32(imm))


def assert_same_listing(ours: str, reference: str) -> None:
    """Equal line for line, except where ``llvm14_text`` explains the difference."""
    ours_lines, ref_lines = ours.splitlines(), reference.splitlines()
    assert len(ours_lines) == len(ref_lines), "\n".join(
        f"{a!r} | {b!r}" for a, b in zip(ours_lines, ref_lines, strict=False) if a != b
    )
    for n, (mine, ref) in enumerate(zip(ours_lines, ref_lines, strict=True), 1):
        if mine == ref:
            continue
        m, r = _LINE.fullmatch(mine), _LINE.fullmatch(ref)
        assert m and r and m.group(1) == r.group(1), f"line {n}: {mine!r} != {ref!r}"
        insn = _decode_line(m.group(1))
        expected = llvm14_text(insn)
        assert expected is not None, f"line {n}: unexpected difference {mine!r} != {ref!r}"
        assert r.group(2) == expected, f"line {n}: LLVM 14 model {expected!r} != {ref!r}"
