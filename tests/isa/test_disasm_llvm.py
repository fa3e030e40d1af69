"""ebpy's llvm-style disassembly against llvm-objdump 14.

Three oracles: the committed objects with their committed llvm-objdump goldens
(no tools needed); the C programs in tests/testdata/disasm compiled now with
several -mcpu and -O settings; and hand-assembled bytes drawn by hypothesis.
The few places where ebpy prints differently on purpose are modelled in
``llvm14.llvm14_text``; every other line must be identical.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings

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
    R10,
    ST,
    STX,
)
from ebpy.isa.disasm import disassemble, format_llvm, objdump_text
from ebpy.isa.encoding import encode
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import AtomicOp, Endian, Size
from tests.isa.llvm14 import (
    CLANG,
    assert_same_listing,
    lea_quirk,
    llvm14_text,
    needs_tools,
    objdump_like,
    object_from_bytes,
    run_objdump,
)
from tests.strategies import programs

TESTDATA = Path(__file__).resolve().parents[1] / "testdata" / "disasm"
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "disasm"
PROGRAMS = sorted(p.stem for p in TESTDATA.glob("*.c"))

# -- format_llvm, one instruction at a time (texts taken from llvm-objdump 14) ----------

LLVM_TEXTS = [
    (ALU64.MOV.imm(R0, 42), "r0 = 42"),
    (ALU.MOV.imm(R3, -1), "w3 = -1"),
    (ALU64.MOV.reg(R1, R10), "r1 = r10"),
    (ALU.ADD.reg(R0, R1), "w0 += w1"),
    (ALU64.ADD.imm(R1, -8), "r1 += -8"),
    (ALU64.ARSH.imm(R1, 3), "r1 s>>= 3"),
    (ALU.LSH.reg(R1, R2), "w1 <<= w2"),
    (ALU64.NEG(R1), "r1 = -r1"),
    (ALU.NEG(R1), "w1 = -w1"),
    (ALU.END(R0, 16, Endian.TO_BE), "r0 = be16 r0"),
    (ALU.END(R3, 64, Endian.TO_LE), "r3 = le64 r3"),
    (LDX(Size.W, R0, R1, 4), "r0 = *(u32 *)(r1 + 4)"),
    (LDX(Size.DW, R1, R10, -8), "r1 = *(u64 *)(r10 - 8)"),
    (LDX(Size.H, R2, R1, -32768), "r2 = *(u16 *)(r1 - 32768)"),
    (STX(Size.B, R10, R1, -1), "*(u8 *)(r10 - 1) = r1"),
    (STX(Size.DW, R1, R2, 0), "*(u64 *)(r1 + 0) = r2"),
    (JMP.JSGT.reg(R1, R2, 3), "if r1 s> r2 goto +3"),
    (JMP.JEQ.imm(R1, -1, 0), "if r1 == -1 goto +0"),
    (JMP32.JLE.imm(R1, 4, -2), "if w1 <= 4 goto -2"),
    (JMP32.JNE.reg(R1, R2, 7), "if w1 != w2 goto +7"),
    (JMP.JA(-3), "goto -3"),
    (CALL(1), "call 1"),
    (EXIT(), "exit"),
    (LDDW(R1, 0x1234), "r1 = 4660 ll"),
    (LDDW(R1, -1), "r1 = -1 ll"),
    (LDDW(R1, 1 << 63), "r1 = -9223372036854775808 ll"),
    (LD_MAP_FD(R1, 4660), "ld_pseudo\tr1, 1, 4660"),
    (LD_ABS(Size.W, 4), "r0 = *(u32 *)skb[4]"),
    (LD_ABS(Size.H, -4), "r0 = *(u16 *)skb[-4]"),
    (LD_IND(Size.B, R2, 0), "r0 = *(u8 *)skb[r2]"),
    (ATOMIC(Size.DW, AtomicOp.ADD, R10, R1, -8), "lock *(u64 *)(r10 - 8) += r1"),
    (ATOMIC(Size.DW, AtomicOp.OR, R1, R2, -8), "lock *(u64 *)(r1 - 8) |= r2"),
    (ATOMIC(Size.W, AtomicOp.ADD, R1, R2, -8), "lock *(u32 *)(r1 - 8) += r2"),
    (
        ATOMIC(Size.DW, AtomicOp.FETCH_ADD, R1, R2, -8),
        "r2 = atomic_fetch_add((u64 *)(r1 - 8), r2)",
    ),
    (ATOMIC(Size.DW, AtomicOp.XCHG, R1, R2, -8), "r2 = xchg_64(r1 - 8, r2)"),
    (ATOMIC(Size.DW, AtomicOp.CMPXCHG, R1, R2, -8), "r0 = cmpxchg_64(r1 - 8, r0, r2)"),
    # LLVM 14 with --mattr=+alu32 (plain llvm-objdump 14 cannot print these):
    (ATOMIC(Size.W, AtomicOp.AND, R1, R2, -8), "lock *(u32 *)(r1 - 8) &= w2"),
    (
        ATOMIC(Size.W, AtomicOp.FETCH_XOR, R1, R2, 0),
        "w2 = atomic_fetch_xor((u32 *)(r1 + 0), w2)",
    ),
    (ATOMIC(Size.W, AtomicOp.XCHG, R1, R2, -8), "w2 = xchg32_32(r1 - 8, w2)"),
    (ATOMIC(Size.W, AtomicOp.CMPXCHG, R1, R2, -8), "w0 = cmpxchg32_32(r1 - 8, w0, w2)"),
    # newer LLVM's syntax for what LLVM 14 cannot print:
    (ALU64.SDIV.reg(R0, R1), "r0 s/= r1"),
    (ALU.SMOD.imm(R0, 7), "w0 s%= 7"),
    (ALU64.MOD.reg(R0, R1), "r0 %= r1"),
    (ALU64.MOVSX(R1, R2, 8), "r1 = (s8)r2"),
    (ALU.MOVSX(R1, R2, 16), "w1 = (s16)w2"),
    (ALU64.MOVSX(R1, R2, 32), "r1 = (s32)r2"),
    (LDXSX(Size.B, R0, R1, 2), "r0 = *(s8 *)(r1 + 2)"),
    (ST(Size.W, R1, 2, 5), "*(u32 *)(r1 + 2) = 5"),
    (ALU64.END(R0, 16), "r0 = bswap16 r0"),
    (JMP32.JA(5), "gotol +5"),
    (CALLX(R2), "callx r2"),
    (JMP.JSET.imm(R1, 4, 3), "if r1 & 4 goto +3"),
    (JMP32.JSET.reg(R1, R2, 3), "if w1 & w2 goto +3"),
    (LD_IND(Size.W, R2, -4), "r0 = *(u32 *)skb[r2 - 4]"),
    # LLVM's call text does not say what kind of call it is:
    (CALL_LOCAL(-1), "call -1"),
    (CALL_KFUNC(1234), "call 1234"),
    (LD_MAP_VALUE(R1, 5, 8), "ld_pseudo\tr1, 2, 34359738373"),
]


@pytest.mark.parametrize(("insn", "text"), LLVM_TEXTS, ids=[t for _, t in LLVM_TEXTS])
def test_format_llvm(insn: Instruction, text: str) -> None:
    assert format_llvm(insn) == text
    assert str(insn) == text


@pytest.mark.parametrize(
    "insn",
    [
        Instruction(0x95, dst=1),
        Instruction(0x00),
        Instruction(0x07, src=1, imm=1),
        Instruction(0xDF, imm=16),
        Instruction(0xC3, imm=0x10),
        Instruction(0xB7, dst=11),
        Instruction(0x8D, imm=1),  # LLVM 14's own callx encoding; the kernel's has dst
    ],
)
def test_invalid_prints_unknown(insn: Instruction) -> None:
    assert format_llvm(insn) == "<unknown>"


def test_listing_layout() -> None:
    text = disassemble([LDDW(R1, 5), EXIT()], with_bytes=True)
    assert text.splitlines() == [
        "       0:\t18 01 00 00 05 00 00 00 00 00 00 00 00 00 00 00\tr1 = 5 ll",
        "       2:\t95 00 00 00 00 00 00 00\texit",
    ]


def test_objdump_text_walks_bytes_like_llvm_objdump() -> None:
    data = (
        bytes.fromhex("b700000001000000")
        + bytes(20)
        + bytes.fromhex("95000000")  # misaligned: read as "95 00 00 00 95 00 00 00"
        + bytes.fromhex("9500000000000000")
        + bytes.fromhex("1801000005000000")  # lddw cut short at the end
    )
    assert objdump_text("xdp", {}, data).splitlines() == [
        "Disassembly of section xdp:",
        "",
        "0000000000000000 <xdp>:",
        "       0:\tb7 00 00 00 01 00 00 00\tr0 = 1",
        "\t\t...",
        "       3:\t95 00 00 00 95 00 00 00\t<unknown>",
        "       4:\t00 00 00 00 18 01 00 00\t<unknown>",
        "       5:\t05\t<unknown>",
        "       5:\t00\t<unknown>",
        "       5:\t00\t<unknown>",
        "       5:\t00\t<unknown>",
    ]


def test_objdump_text_symbols_and_targets() -> None:
    prog = [JMP.JEQ.imm(R1, 0, 1), ALU64.MOV.imm(R0, 1), JMP.JA(-2), EXIT()]
    text = objdump_text("socket", {0: "f", 16: "LBB0_2"}, prog)
    assert text.splitlines() == [
        "Disassembly of section socket:",
        "",
        "0000000000000000 <f>:",
        "       0:\t15 01 01 00 00 00 00 00\tif r1 == 0 goto +1 <LBB0_2>",
        "       1:\tb7 00 00 00 01 00 00 00\tr0 = 1",
        "",
        "0000000000000010 <LBB0_2>:",
        "       2:\t05 00 fe ff 00 00 00 00\tgoto -2 <f+0x8>",
        "       3:\t95 00 00 00 00 00 00 00\texit",
    ]


# -- committed objects and goldens (no tools needed) ----------------------------------


def test_every_program_has_object_and_golden() -> None:
    assert len(PROGRAMS) >= 20
    for name in PROGRAMS:
        assert (TESTDATA / f"{name}.o").is_file(), f"run make -C tests/testdata ({name}.o)"
        assert (GOLDEN / f"{name}.txt").is_file(), f"run make -C tests/testdata ({name}.txt)"


@pytest.mark.parametrize("name", PROGRAMS)
def test_golden(name: str) -> None:
    obj, golden = TESTDATA / f"{name}.o", GOLDEN / f"{name}.txt"
    if not obj.exists() or not golden.exists():
        pytest.skip(f"{name}.o or its golden is missing; run make -C tests/testdata")
    assert_same_listing(objdump_like(obj), golden.read_text())


# -- compiled now, several cpus and optimisation levels --------------------------------

CONFIGS = [
    ("v1", "-O2"),
    ("v1", "-O0"),
    ("v2", "-O2"),
    ("v3", "-O0"),
    ("v3", "-O1"),
    ("v3", "-O2"),
    ("v3", "-Os"),
]


def _supported_cpus(source: Path) -> set[str]:
    m = re.search(r"ebpy-test: cpus=([\w,]+)", source.read_text())
    return set(m.group(1).split(",")) if m else {"v1", "v2", "v3"}


@pytest.mark.tools
@needs_tools
@pytest.mark.parametrize(("cpu", "opt"), CONFIGS, ids=[f"{c}{o}" for c, o in CONFIGS])
@pytest.mark.parametrize("name", PROGRAMS)
def test_compiled_matches_llvm_objdump(name: str, cpu: str, opt: str, tmp_path: Path) -> None:
    source = TESTDATA / f"{name}.c"
    if cpu not in _supported_cpus(source):
        pytest.skip(f"{name}.c needs -mcpu {sorted(_supported_cpus(source))}")
    assert CLANG is not None
    obj = tmp_path / f"{name}.o"
    cmd = [CLANG, opt, "-g", "-target", "bpf", f"-mcpu={cpu}", "-c", str(source), "-o", str(obj)]
    subprocess.run(cmd, check=True)
    assert_same_listing(objdump_like(obj), run_objdump(obj))


# -- hand-assembled programs of every instruction kind ------------------------------------


@pytest.mark.tools
@needs_tools
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(prog=programs(min_size=50, max_size=300))
def test_random_bytes_match_llvm_objdump(prog: list[Instruction], tmp_path: Path) -> None:
    assume(not any(lea_quirk(i) for i in prog))
    obj = object_from_bytes(tmp_path, encode(prog))
    assert_same_listing(objdump_like(obj), run_objdump(obj))


@pytest.mark.tools
@needs_tools
def test_odd_bytes_match_llvm_objdump(tmp_path: Path) -> None:
    data = (
        bytes.fromhex("b700000001000000")
        + bytes(20)
        + bytes.fromhex("9500000095000000000000000000000001020304")
        + bytes.fromhex("9500000000000000")
        + bytes(8)
        + bytes.fromhex("9500000000000000")
        + bytes.fromhex("18010100000000000500fdff00000000")
        + bytes.fromhex("1801000005000000")
    )
    obj = object_from_bytes(tmp_path, data)
    assert_same_listing(objdump_like(obj), run_objdump(obj))


def test_llvm14_model_is_quiet_for_ordinary_code() -> None:
    assert llvm14_text(ALU64.ADD.imm(R1, 2)) is None
    assert llvm14_text(ATOMIC(Size.W, AtomicOp.FETCH_ADD, R1, R2, 0)) == (
        "lock *(u32 *)(r1 + 0) += r2"
    )
