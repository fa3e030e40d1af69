"""ebpy's bpftool-style disassembly: the kernel printer's conventions, and real bpftool.

The unit tests pin the formats of kernel/bpf/disasm.c (with bpftool's
callbacks for calls and 64-bit loads). The kernel test loads a program whose
instructions the verifier leaves alone and compares every line of
``bpftool prog dump xlated`` (and its ``opcodes`` bytes) with ours.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ebpy.isa.builder import (
    ALU,
    ALU64,
    ATOMIC,
    CALL,
    CALL_KFUNC,
    CALL_LOCAL,
    CALLX,
    EXIT,
    JMP,
    JMP32,
    LD_ABS,
    LD_IND,
    LD_MAP_FD,
    LD_MAP_VALUE,
    LDDW,
    LDX,
    LDXSX,
    R0,
    R1,
    R2,
    R3,
    R4,
    R6,
    R7,
    R10,
    ST,
    STX,
)
from ebpy.isa.disasm import disassemble, format_bpftool
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import AtomicOp, Endian, PseudoSrc, Size
from tests.isa.llvm14 import CLANG

BPFTOOL_TEXTS = [
    (ALU64.MOV.imm(R0, 0), "(b7) r0 = 0"),
    (ALU.MOV.imm(R3, -1), "(b4) w3 = -1"),
    (ALU64.ADD.imm(R1, -8), "(07) r1 += -8"),
    (ALU64.MOV.reg(R1, R10), "(bf) r1 = r10"),
    (ALU.XOR.reg(R4, R2), "(ac) w4 ^= w2"),
    (ALU64.ARSH.imm(R4, 3), "(c7) r4 s>>= 3"),
    (ALU64.NEG(R4), "(87) r4 = -r4"),
    (ALU.NEG(R4), "(84) w4 = -w4"),
    (ALU64.MOD.imm(R4, 3), "(97) r4 %= 3"),
    (ALU64.SDIV.imm(R4, 3), "(37) r4 s/= 3"),
    (ALU.SMOD.reg(R4, R2), "(9c) w4 s%= w2"),
    (ALU64.MOVSX(R6, R4, 8), "(bf) r6 = (s8)r4"),
    (ALU.MOVSX(R6, R4, 16), "(bc) w6 = (s16)w4"),
    (ALU.END(R4, 16, Endian.TO_LE), "(d4) r4 = le16 r4"),
    (ALU.END(R4, 32, Endian.TO_BE), "(dc) r4 = be32 r4"),
    (ALU64.END(R4, 64), "(d7) r4 = bswap64 r4"),
    (LDX(Size.W, R2, R1, 4), "(61) r2 = *(u32 *)(r1 +4)"),
    (LDX(Size.DW, R6, R10, -24), "(79) r6 = *(u64 *)(r10 -24)"),
    (LDXSX(Size.B, R6, R10, -25), "(91) r6 = *(s8 *)(r10 -25)"),
    (ST(Size.DW, R10, -8, 17), "(7a) *(u64 *)(r10 -8) = 17"),
    (ST(Size.B, R10, -1, -2), "(72) *(u8 *)(r10 -1) = -2"),
    (STX(Size.H, R10, R4, -28), "(6b) *(u16 *)(r10 -28) = r4"),
    (ATOMIC(Size.DW, AtomicOp.ADD, R10, R6, -40), "(db) lock *(u64 *)(r10 -40) += r6"),
    (ATOMIC(Size.W, AtomicOp.XOR, R10, R6, -48), "(c3) lock *(u32 *)(r10 -48) ^= r6"),
    (
        ATOMIC(Size.DW, AtomicOp.FETCH_ADD, R10, R6, -40),
        "(db) r6 = atomic64_fetch_add((u64 *)(r10 -40), r6)",
    ),
    (
        ATOMIC(Size.W, AtomicOp.FETCH_AND, R10, R6, -48),
        "(c3) r6 = atomic_fetch_and((u32 *)(r10 -48), r6)",
    ),
    (ATOMIC(Size.DW, AtomicOp.XCHG, R10, R6, -40), "(db) r6 = atomic64_xchg((u64 *)(r10 -40), r6)"),
    (
        ATOMIC(Size.W, AtomicOp.CMPXCHG, R10, R6, -48),
        "(c3) r0 = atomic_cmpxchg((u32 *)(r10 -48), r0, r6)",
    ),
    (JMP.JEQ.imm(R1, 0, 3), "(15) if r1 == 0x0 goto pc+3"),
    (JMP32.JEQ.imm(R0, -5, 0), "(16) if w0 == 0xfffffffb goto pc+0"),
    (JMP.JSET.reg(R0, R6, -2), "(4d) if r0 & r6 goto pc-2"),
    (JMP32.JSLE.reg(R0, R6, 0), "(de) if w0 s<= w6 goto pc+0"),
    (JMP.JA(1), "(05) goto pc+1"),
    (JMP32.JA(-7), "(06) gotol pc-7"),
    (CALL(1), "(85) call bpf_map_lookup_elem#1"),
    (CALL(0), "(85) call bpf_unspec#0"),
    (CALL(100000), "(85) call unknown#100000"),
    (CALL_LOCAL(3), "(85) call pc+3"),
    (CALL_KFUNC(1234), "(85) call kernel-function#1234"),
    (CALLX(R2), "(8d) callx r2"),
    (EXIT(), "(95) exit"),
    (LDDW(R7, 0x123456789ABCDEF), "(18) r7 = 0x123456789abcdef"),
    (LDDW(R7, -1), "(18) r7 = 0xffffffffffffffff"),
    (LD_MAP_FD(R1, 5), "(18) r1 = map[id:5]"),
    (LD_MAP_VALUE(R1, 5, 8), "(18) r1 = map[id:5][0]+8"),
    (LDDW(R1, (8 << 32) | 2, PseudoSrc.MAP_IDX_VALUE), "(18) r1 = map[idx:2]+8"),
    (LDDW(R1, 2, PseudoSrc.MAP_IDX), "(18) r1 = map[idx:2]"),
    (LDDW(R1, 3, PseudoSrc.FUNC), "(18) r1 = subprog[+3]"),
    (LDDW(R1, 0xFFFF_FFFE, PseudoSrc.FUNC), "(18) r1 = subprog[-2]"),
    (LDDW(R1, 77, PseudoSrc.BTF_ID), "(18) r1 = btf_id[77]"),
    (LDDW(R1, (9 << 32) | 77, PseudoSrc.BTF_ID), "(18) r1 = btf_id[77][hi:9]"),
    (LD_ABS(Size.W, 4), "(20) r0 = *(u32 *)skb[4]"),
    (LD_IND(Size.H, R2, 7), "(48) r0 = *(u16 *)skb[r2 + 7]"),
    (LD_IND(Size.B, R2, -7), "(50) r0 = *(u8 *)skb[r2 + -7]"),
]


@pytest.mark.parametrize(("insn", "text"), BPFTOOL_TEXTS, ids=[t for _, t in BPFTOOL_TEXTS])
def test_format_bpftool(insn: Instruction, text: str) -> None:
    assert format_bpftool(insn, 3) == "   3: " + text


def test_pc_column() -> None:
    assert format_bpftool(EXIT(), 0).startswith("   0: ")
    assert format_bpftool(EXIT(), 200).startswith(" 200: ")
    assert format_bpftool(EXIT(), 12345).startswith(" 12345: ")


def test_invalid_prints_unknown() -> None:
    assert format_bpftool(Instruction(0x95, dst=1), 0) == "   0: (95) <unknown>"


def test_opcodes_layout() -> None:
    assert disassemble([LDDW(R1, 5), EXIT()], "bpftool", with_bytes=True).splitlines() == [
        "   0: (18) r1 = 0x5",
        "       18 01 00 00 05 00 00 00 00 00 00 00 00 00 00 00",
        "   2: (95) exit",
        "       95 00 00 00 00 00 00 00",
    ]


# -- against the real bpftool ----------------------------------------------------------


def _stable_program() -> list[Instruction]:
    """Instructions the verifier accepts and prints back unchanged (no calls, no div)."""
    prog = [ALU64.MOV.imm(R0, 0), ALU64.MOV.imm(R2, -1), ALU.MOV.imm(R3, -1)]
    prog.append(ALU64.MOV.imm(R4, 0x1234))
    for name in ("ADD", "SUB", "MUL", "OR", "AND", "LSH", "RSH", "XOR", "ARSH"):
        for alu in (ALU64, ALU):
            prog += [getattr(alu, name).imm(R4, 3), getattr(alu, name).reg(R4, R2)]
    prog += [ALU64.NEG(R4), ALU.NEG(R4)]
    for bits in (16, 32, 64):
        prog += [ALU.END(R4, bits, Endian.TO_LE), ALU.END(R4, bits, Endian.TO_BE)]
    prog += [ALU64.MOV.reg(R1, R10), ALU64.ADD.imm(R1, -8)]
    prog += [ST(Size.DW, R10, -8, 17), ST(Size.B, R10, -1, -2), ST(Size.H, R10, -4, 300)]
    prog += [ST(Size.W, R10, -16, 7)]
    for size, off in ((Size.DW, -24), (Size.B, -25), (Size.H, -28), (Size.W, -32)):
        prog += [STX(size, R10, R4, off), LDX(size, R6, R10, off)]
    prog += [STX(Size.DW, R10, R4, -40), STX(Size.W, R10, R4, -48)]
    for op in AtomicOp:
        if op is not AtomicOp.CMPXCHG:
            prog += [ATOMIC(Size.DW, op, R10, R6, -40), ATOMIC(Size.W, op, R10, R6, -48)]
    # (a 32-bit cmpxchg would make the verifier add a zero-extension of r0 after it)
    prog += [ALU64.MOV.imm(R0, 0), ATOMIC(Size.DW, AtomicOp.CMPXCHG, R10, R6, -40)]
    for name in ("JEQ", "JGT", "JGE", "JSET", "JNE", "JSGT", "JSGE", "JLT", "JLE", "JSLT"):
        for jmp in (JMP, JMP32):
            prog += [getattr(jmp, name).imm(R0, -5, 0), getattr(jmp, name).reg(R0, R6, 0)]
    prog += [JMP.JEQ.imm(R0, 3, 1), ALU64.MOV.imm(R0, 1)]  # (the verifier drops "goto +0")
    prog += [LDDW(R7, 0x0123456789ABCDEF), LDDW(R7, 5), LDDW(R7, -1)]
    prog += [ALU64.MOV.imm(R0, 0), EXIT()]
    return prog


def _bpffs() -> Path | None:
    """bpffs, mounted at /sys/fs/bpf first when it is missing and we are root."""
    from ebpy.kernel.fs import bpffs

    return bpffs()


@pytest.mark.kernel
@pytest.mark.tools
def test_matches_bpftool_xlated(tmp_path: Path) -> None:
    bpftool = shutil.which("bpftool") or (
        "/usr/sbin/bpftool" if Path("/usr/sbin/bpftool").exists() else None
    )
    if bpftool is None or CLANG is None:
        pytest.skip("needs bpftool and clang")
    if os.geteuid() != 0:
        pytest.skip("needs root to load a program")
    bpffs = _bpffs()
    if bpffs is None:
        pytest.skip("bpffs is not mounted at /sys/fs/bpf and cannot be")
    from ebpy.isa.encoding import encode
    from tests.isa.llvm14 import object_from_bytes

    prog = _stable_program()
    obj = object_from_bytes(tmp_path, encode(prog), section="socket")
    pin = bpffs / f"ebpy_disasm_test_{os.getpid()}"
    load = subprocess.run(
        [bpftool, "prog", "load", str(obj), str(pin)], capture_output=True, text=True
    )
    if load.returncode != 0:
        pytest.skip(f"the kernel refused the program: {load.stderr[-500:]}")
    try:
        dump = subprocess.run(
            [bpftool, "prog", "dump", "xlated", "pinned", str(pin), "opcodes"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        pin.unlink()
    assert (
        dump.rstrip("\n").splitlines() == disassemble(prog, "bpftool", with_bytes=True).splitlines()
    )
