"""The assembler: both syntaxes, listings, labels, error positions, the conformance files, fuzzing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebpy.errors import AsmError, InputError
from ebpy.isa.asm import assemble
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
from ebpy.isa.disasm import disassemble
from ebpy.isa.encoding import encode
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import AtomicOp, Endian, PseudoSrc, Size
from tests.conformance.suite import SUITE, parse, suite_files
from tests.strategies import programs


def one(text: str) -> Instruction:
    (insn,) = assemble(text)
    return insn


# -- kernel/llvm syntax ----------------------------------------------------------------

LLVM_LINES = [
    ("r0 = *(u32 *)(r1 + 4)", LDX(Size.W, R0, R1, 4)),
    ("r0 = *(u32 *)(r1 +4)", LDX(Size.W, R0, R1, 4)),
    ("r0 = *(u32 *)(r1 - 8)", LDX(Size.W, R0, R1, -8)),
    ("r0 = *(u32 *)(r1 -8)", LDX(Size.W, R0, R1, -8)),
    ("r0=*(u64*)(r10-0x10)", LDX(Size.DW, R0, R10, -16)),
    ("r0 = *(s16 *)(r1 + 2)", LDXSX(Size.H, R0, R1, 2)),
    ("*(u8 *)(r10 - 1) = r1", STX(Size.B, R10, R1, -1)),
    ("*(u32 *)(r1 + 2) = 5", ST(Size.W, R1, 2, 5)),
    ("*(u64 *)(r1 + 0) = -1", ST(Size.DW, R1, 0, -1)),
    ("r0 = 42", ALU64.MOV.imm(R0, 42)),
    ("r0 = 0x2a", ALU64.MOV.imm(R0, 42)),
    ("w1 = 0xffffffff", ALU.MOV.imm(R1, -1)),
    ("w1 = -2147483648", ALU.MOV.imm(R1, -(1 << 31))),
    ("r1 = r10", ALU64.MOV.reg(R1, R10)),
    ("w0 += w1", ALU.ADD.reg(R0, R1)),
    ("r1 += -8", ALU64.ADD.imm(R1, -8)),
    ("r1 s>>= 3", ALU64.ARSH.imm(R1, 3)),
    ("r1 %= r2", ALU64.MOD.reg(R1, R2)),
    ("r0 s/= r1", ALU64.SDIV.reg(R0, R1)),
    ("w0 s%= 7", ALU.SMOD.imm(R0, 7)),
    ("r1 = -r1", ALU64.NEG(R1)),
    ("w1 = -w1", ALU.NEG(R1)),
    ("r1 = (s8)r2", ALU64.MOVSX(R1, R2, 8)),
    ("w1 = (s16)w2", ALU.MOVSX(R1, R2, 16)),
    ("r0 = be16 r0", ALU.END(R0, 16, Endian.TO_BE)),
    ("r0 = le64 r0", ALU.END(R0, 64, Endian.TO_LE)),
    ("r0 = bswap32 r0", ALU64.END(R0, 32)),
    ("r1 = 4660 ll", LDDW(R1, 0x1234)),
    ("r1 = 0x1234 ll", LDDW(R1, 0x1234)),
    ("r1 = -1 ll", LDDW(R1, -1)),
    ("r1 = 0xffffffffffffffff ll", LDDW(R1, -1)),
    ("ld_pseudo\tr1, 1, 4660", LD_MAP_FD(R1, 4660)),
    ("r1 = map[id:5]", LD_MAP_FD(R1, 5)),
    ("r1 = map[id:5][0]+8", LD_MAP_VALUE(R1, 5, 8)),
    ("r1 = map[idx:2]+8", LDDW(R1, (8 << 32) | 2, PseudoSrc.MAP_IDX_VALUE)),
    ("r1 = map[idx:2]", LDDW(R1, 2, PseudoSrc.MAP_IDX)),
    ("r1 = subprog[-2]", LDDW(R1, 0xFFFF_FFFE, PseudoSrc.FUNC)),
    ("r1 = btf_id[77]", LDDW(R1, 77, PseudoSrc.BTF_ID)),
    ("r0 = *(u32 *)skb[4]", LD_ABS(Size.W, 4)),
    ("r0 = *(u8 *)skb[r2]", LD_IND(Size.B, R2, 0)),
    ("r0 = *(u16 *)skb[r2 - 4]", LD_IND(Size.H, R2, -4)),
    ("r0 = *(u16 *)skb[r2 + -4]", LD_IND(Size.H, R2, -4)),
    ("if r1 s> r2 goto +3", JMP.JSGT.reg(R1, R2, 3)),
    ("if r1 == 0x0 goto pc+3", JMP.JEQ.imm(R1, 0, 3)),
    ("if w0 == 0xfffffffb goto pc-1", JMP32.JEQ.imm(R0, -5, -1)),
    ("if w1 > 3 goto +0", JMP32.JGT.imm(R1, 3, 0)),
    ("if r1 & 4 goto -2", JMP.JSET.imm(R1, 4, -2)),
    ("goto +3", JMP.JA(3)),
    ("goto -2", JMP.JA(-2)),
    ("goto pc+1", JMP.JA(1)),
    ("gotol +70000", JMP32.JA(70000)),
    ("call 1", CALL(1)),
    ("call bpf_map_lookup_elem", CALL(1)),
    ("call map_lookup_elem", CALL(1)),
    ("call bpf_map_lookup_elem#1", CALL(1)),
    ("call unknown#100000", CALL(100000)),
    ("call pc+3", CALL_LOCAL(3)),
    ("call kernel-function#1234", CALL_KFUNC(1234)),
    ("callx r2", CALLX(R2)),
    ("exit", EXIT()),
    ("lock *(u64 *)(r10 - 8) += r1", ATOMIC(Size.DW, AtomicOp.ADD, R10, R1, -8)),
    ("lock *(u64 *)(r10 -8) += r1", ATOMIC(Size.DW, AtomicOp.ADD, R10, R1, -8)),
    ("lock *(u32 *)(r1 + 0) ^= w2", ATOMIC(Size.W, AtomicOp.XOR, R1, R2, 0)),
    ("r2 = atomic_fetch_or((u64 *)(r1 - 8), r2)", ATOMIC(Size.DW, AtomicOp.FETCH_OR, R1, R2, -8)),
    ("w2 = atomic_fetch_add((u32 *)(r1 + 0), w2)", ATOMIC(Size.W, AtomicOp.FETCH_ADD, R1, R2, 0)),
    ("r2 = atomic64_fetch_and((u64 *)(r1 +0), r2)", ATOMIC(Size.DW, AtomicOp.FETCH_AND, R1, R2, 0)),
    ("r2 = atomic_fetch_and((u32 *)(r1 +0), r2)", ATOMIC(Size.W, AtomicOp.FETCH_AND, R1, R2, 0)),
    ("r2 = xchg_64(r1 - 8, r2)", ATOMIC(Size.DW, AtomicOp.XCHG, R1, R2, -8)),
    ("w2 = xchg32_32(r1 - 8, w2)", ATOMIC(Size.W, AtomicOp.XCHG, R1, R2, -8)),
    ("r2 = atomic64_xchg((u64 *)(r1 -8), r2)", ATOMIC(Size.DW, AtomicOp.XCHG, R1, R2, -8)),
    ("r0 = cmpxchg_64(r1 - 8, r0, r2)", ATOMIC(Size.DW, AtomicOp.CMPXCHG, R1, R2, -8)),
    ("w0 = cmpxchg32_32(r1 + 0, w0, w2)", ATOMIC(Size.W, AtomicOp.CMPXCHG, R1, R2, 0)),
    ("r0 = atomic_cmpxchg((u32 *)(r1 +0), r0, r2)", ATOMIC(Size.W, AtomicOp.CMPXCHG, R1, R2, 0)),
]


@pytest.mark.parametrize(("text", "insn"), LLVM_LINES, ids=[t for t, _ in LLVM_LINES])
def test_llvm_syntax(text: str, insn: Instruction) -> None:
    assert one(text) == insn


def test_listing_prefixes() -> None:
    text = """
       0:\tb7 00 00 00 2a 00 00 00\tr0 = 42
       1:\t15 01 01 00 00 00 00 00\tif r1 == 0 goto +1 <LBB0_2>
       2:\t85 10 00 00 ff ff ff ff\tcall -1
       3:\t18 01 00 00 05 00 00 00 00 00 00 00 00 00 00 00\tr1 = 5 ll
   5: (18) r2 = 0x7
       18 02 00 00 07 00 00 00 00 00 00 00 00 00 00 00
   7: (61) r2 = *(u32 *)(r1 +4)
0000000000000048 <LBB0_2>:
   8: (95) exit
"""
    assert assemble(text) == [
        ALU64.MOV.imm(R0, 42),
        JMP.JEQ.imm(R1, 0, 1),
        CALL_LOCAL(-1),  # the bytes say it is a bpf-to-bpf call
        LDDW(R1, 5),
        LDDW(R2, 7),  # bpftool's (18) makes this a 64-bit load
        LDX(Size.W, R2, R1, 4),
        EXIT(),
    ]


def test_labels_and_comments() -> None:
    text = """
    # a comment line
    start:              // a label
        r0 = 0          ; and a comment
        if r1 > 3 goto out
        call helper_fn  # a local call by label
        goto start
    out: exit
    helper_fn:
        r0 = 1
        exit
    """
    assert assemble(text) == [
        ALU64.MOV.imm(R0, 0),
        JMP.JGT.imm(R1, 3, 2),
        CALL_LOCAL(2),
        JMP.JA(-4),
        EXIT(),
        ALU64.MOV.imm(R0, 1),
        EXIT(),
    ]


def test_labels_count_slots() -> None:
    assert assemble("goto end\nr1 = 1 ll\nend: exit") == [JMP.JA(2), LDDW(R1, 1), EXIT()]


def test_implicit_exit_label() -> None:
    assert assemble("jne %r0, 1, exit\nmov %r0, 2\nexit") == [
        JMP.JNE.imm(R0, 1, 1),
        ALU64.MOV.imm(R0, 2),
        EXIT(),
    ]


def test_empty_program() -> None:
    assert assemble("") == []
    assert assemble("# nothing\n\n   \n") == []


# -- conformance syntax --------------------------------------------------------------

CONFORMANCE_LINES = [
    ("mov %r0, 1", ALU64.MOV.imm(R0, 1)),
    ("mov64 %r0, %r1", ALU64.MOV.reg(R0, R1)),
    ("mov32 %r0, 0x80000000", ALU.MOV.imm(R0, -(1 << 31))),
    ("mov32 %r0, -2147483648", ALU.MOV.imm(R0, -(1 << 31))),
    ("add32 %r0, %r1", ALU.ADD.reg(R0, R1)),
    ("sdiv %r0, -3", ALU64.SDIV.imm(R0, -3)),
    ("smod32 %r0, %r1", ALU.SMOD.reg(R0, R1)),
    ("neg %r1", ALU64.NEG(R1)),
    ("neg32 %r1", ALU.NEG(R1)),
    ("movsx832 %r0, %r1", ALU.MOVSX(R0, R1, 8)),
    ("movsx1632 %r0, %r1", ALU.MOVSX(R0, R1, 16)),
    ("movsx864 %r0, %r1", ALU64.MOVSX(R0, R1, 8)),
    ("movsx1664 %r0, %r1", ALU64.MOVSX(R0, R1, 16)),
    ("movsx3264 %r0, %r1", ALU64.MOVSX(R0, R1, 32)),
    ("be16 %r0", ALU.END(R0, 16, Endian.TO_BE)),
    ("le32 %r3", ALU.END(R3, 32, Endian.TO_LE)),
    ("swap16 %r0", ALU64.END(R0, 16)),
    ("bswap64 %r0", ALU64.END(R0, 64)),
    ("ldxw %r0, [%r1+4]", LDX(Size.W, R0, R1, 4)),
    ("ldxdw %r0, [%r10-8]", LDX(Size.DW, R0, R10, -8)),
    ("ldxb %r0, [%r1]", LDX(Size.B, R0, R1, 0)),
    ("ldxsh %r0, [%r10-2]", LDXSX(Size.H, R0, R10, -2)),
    ("stxdw [%r10-8], %r0", STX(Size.DW, R10, R0, -8)),
    ("stw [%r1+2], 5", ST(Size.W, R1, 2, 5)),
    ("stb [%r1+0x7fff], -1", ST(Size.B, R1, 0x7FFF, -1)),
    ("lddw %r0, 0x1122334455667788", LDDW(R0, 0x1122334455667788)),
    ("lddw %r0, 2147483648", LDDW(R0, 1 << 31)),
    ("ldabsw 4", LD_ABS(Size.W, 4)),
    ("ldindb %r1, 2", LD_IND(Size.B, R1, 2)),
    ("jsgt %r1, %r2, +3", JMP.JSGT.reg(R1, R2, 3)),
    ("jeq %r1, 0x80000000, +1", JMP.JEQ.imm(R1, -(1 << 31), 1)),
    ("jne32 %r0, 1, -1", JMP32.JNE.imm(R0, 1, -1)),
    ("jset32 %r0, %r1, +0", JMP32.JSET.reg(R0, R1, 0)),
    ("ja +2", JMP.JA(2)),
    ("ja32 -70000", JMP32.JA(-70000)),
    ("call 5", CALL(5)),
    ("call helper 5", CALL(5)),
    ("call local +2", CALL_LOCAL(2)),
    ("call runtime 9", CALL_KFUNC(9)),
    ("call %r2", CALLX(R2)),
    ("exit", EXIT()),
    ("lock add [%r1+0], %r2", ATOMIC(Size.DW, AtomicOp.ADD, R1, R2, 0)),
    ("lock add32 [%r10-4], %r1", ATOMIC(Size.W, AtomicOp.ADD, R10, R1, -4)),
    ("lock fetch xor [%r10-8], %r3", ATOMIC(Size.DW, AtomicOp.FETCH_XOR, R10, R3, -8)),
    ("lock fetch and32 [%r10-8], %r1", ATOMIC(Size.W, AtomicOp.FETCH_AND, R10, R1, -8)),
    ("lock xchg [%r10-8], %r1", ATOMIC(Size.DW, AtomicOp.XCHG, R10, R1, -8)),
    ("lock cmpxchg32 [%r10-8], %r1", ATOMIC(Size.W, AtomicOp.CMPXCHG, R10, R1, -8)),
]


@pytest.mark.parametrize(("text", "insn"), CONFORMANCE_LINES, ids=[t for t, _ in CONFORMANCE_LINES])
def test_conformance_syntax(text: str, insn: Instruction) -> None:
    assert one(text) == insn


def test_conformance_labels() -> None:
    text = """
    mov %r0, 0
    call local func1
    jne %r0, 15, failed   # comment after code
    ja32 done
    failed:
    mov %r0, -1
    done:
    exit
    func1:
    mov %r0, 15
    exit
    """
    assert assemble(text) == [
        ALU64.MOV.imm(R0, 0),
        CALL_LOCAL(4),
        JMP.JNE.imm(R0, 15, 1),
        JMP32.JA(1),
        ALU64.MOV.imm(R0, -1),
        EXIT(),
        ALU64.MOV.imm(R0, 15),
        EXIT(),
    ]


def test_mixed_syntaxes() -> None:
    assert assemble("mov %r0, 1\nr0 += 2\nexit") == [
        ALU64.MOV.imm(R0, 1),
        ALU64.ADD.imm(R0, 2),
        EXIT(),
    ]


# -- errors: the line and the column of the offending token ---------------------------

ERRORS = [
    ("or %r0, %r50", 1, 9),
    ("mov %r11, 1", 1, 5),
    ("r11 = 1", 1, 1),
    ("r0 = r11", 1, 6),
    ("ldxq %r0, %r1", 1, 1),
    ("frobnicate r0", 1, 1),
    ("ldxb %r0, %r1", 1, 11),
    ("lddw %r0", 1, 9),
    ("mov %r0", 1, 8),
    ("mov %r0, 1, 2", 1, 11),
    ("lock", 1, 5),
    ("lock or [%r10-8]", 1, 17),
    ("lock nand [%r1+0], %r2", 1, 6),
    ("mov32 %r0, 2147483648", 1, 12),
    ("mov32 %r0, 0x100000000", 1, 12),
    ("mov %r0, -2147483649", 1, 10),
    ("ldxb %r0, [%r1+0x10000]", 1, 15),
    ("ldxb %r0, [%r1+32768]", 1, 15),
    ("ja +32768", 1, 4),
    ("r0 = *(u32 *)(r1 + 32768)", 1, 18),
    ("r0 = *(u32 *)r1", 1, 14),
    ("r0 = *(u128 *)(r1 + 0)", 1, 8),
    ("exit\nja NOT_A_LABEL", 2, 4),
    ("exit\n\n  goto nowhere", 3, 8),
    ("l: exit\nl: exit", 2, 1),
    ("if r1 ?? r2 goto +1", 1, 7),
    ("if r1 > r2 goto", 1, 16),
    ("w1 = r2", 1, 6),
    ("w1 += r2", 1, 7),
    ("r1 = 5 ll extra", 1, 11),
    ("r0 = *(u32 *)(r1 + 4) garbage", 1, 23),
    ("r1 = 0x1_0000_0000", 1, 6),
    ("r1 = 4294967296", 1, 6),
    ("r1 = 18446744073709551616 ll", 1, 6),
    ("call nosuchthing", 1, 6),
    ("   3: (b7) r1 = 5 ll", 1, 8),
    ("   3: (b7)", 1, 11),
    ("       0:\tb7 00 00 00 2a 00 00 00\tr0 = 43", 1, 11),
    ("r0 = 1\n       b7 00 00 00 02 00 00 00", 2, 8),
    ("r2 = atomic_fetch_add((u64 *)(r1 + 0), r3)", 1, 40),
    ("r1 = cmpxchg_64(r1 + 0, r0, r2)", 1, 6),
    ("r0 = le16 r1", 1, 11),
    ("%", 1, 1),
    ("r0 = 1 @", 1, 8),
]


@pytest.mark.parametrize(("text", "line", "column"), ERRORS, ids=[t for t, _, _ in ERRORS])
def test_error_position(text: str, line: int, column: int) -> None:
    with pytest.raises(AsmError) as info:
        assemble(text)
    err = info.value
    assert (err.line, err.column) == (line, column), err.reason
    assert err.text == text.splitlines()[line - 1]


def test_jump_out_of_range_names_the_line() -> None:
    text = "goto far\n" + "r0 = 0\n" * 40000 + "far: exit"
    with pytest.raises(AsmError) as info:
        assemble(text)
    assert (info.value.line, info.value.column) == (1, 6)


# -- the bpf_conformance files ---------------------------------------------------------


needs_suite = pytest.mark.skipif(not SUITE.is_dir(), reason=f"no conformance suite at {SUITE}")


@needs_suite
@pytest.mark.parametrize("path", suite_files("tests"), ids=lambda p: p.name)
def test_conformance_file_assembles(path: Path) -> None:
    case = parse(path)
    assert case.asm is not None
    prog = assemble(case.asm)
    assert prog
    if "raw" in case.sections:
        words = [int(w, 16) for w in case.words("raw")]
        assert encode(prog) == b"".join(w.to_bytes(8, "little") for w in words)


ASM_NEGATIVES = [
    "invalid_imm32_dec_range",
    "invalid_imm32_hex_range",
    "invalid_label",
    "invalid_lock",
    "invalid_lock2",
    "invalid_mnemonic",
    "invalid_offset",
    "invalid_offset_range",
    "invalid_operand_count",
    "invalid_register",
]


@needs_suite
@pytest.mark.parametrize("name", ASM_NEGATIVES)
def test_conformance_negative_is_asm_error(name: str) -> None:
    lines = parse(SUITE / "negative" / f"{name}.data").sections["asm"]
    with pytest.raises(AsmError) as info:
        assemble("\n".join(lines))
    assert 1 <= info.value.line <= len(lines)
    assert info.value.column >= 1


@needs_suite
def test_other_negatives_assemble_or_have_no_asm() -> None:
    """The remaining negative files fail at run time or hold raw words, not bad assembly."""
    for path in suite_files("negative"):
        if path.stem in ASM_NEGATIVES:
            continue
        try:
            case = parse(path)
        except InputError:  # a malformed file (unknown directive) holds no assembly to try
            continue
        if case.asm is not None:
            assemble(case.asm)


# -- fuzzing: whatever the input, only AsmError comes out --------------------------------

WORDS = [
    "r0", "r1", "w2", "r10", "r11", "%r1", "%r50", "=", "+=", "s>>=", "-", "+", "*", "(", ")",
    "[", "]", ",", ":", "#", "u32", "u64", "s8", "skb", "ll", "goto", "gotol", "if", "==",
    "s<", "&", "call", "callx", "exit", "lock", "fetch", "add32", "xchg", "mov", "mov32",
    "ldxw", "stxdw", "lddw", "jeq", "ja", "be16", "bswap64", "0", "1", "-1", "0x7fffffff",
    "0xffffffffffffffff", "99999999999999999999", "pc", "map", "id", "idx", "btf_id",
    "subprog", "atomic_fetch_add", "cmpxchg_64", "ld_pseudo", "kernel-function", "local",
    "label", "label:", "   3: (61)", "0:\tb7 00 00 00 00 00 00 00\t", "\n", "\t", " ", ";",
    "//", "<LBB0_1>",
]  # fmt: skip


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(WORDS), max_size=14).map(" ".join))
def test_fuzz_token_soup(text: str) -> None:
    _only_asm_errors(text)


@settings(max_examples=500)
@given(st.text(max_size=60))
def test_fuzz_random_text(text: str) -> None:
    _only_asm_errors(text)


@settings(max_examples=800)
@given(
    programs(max_size=4),
    st.sampled_from(["llvm", "bpftool"]),
    st.booleans(),
    st.data(),
)
def test_fuzz_mutated_listing(
    prog: list[Instruction], style: str, with_bytes: bool, data: st.DataObject
) -> None:
    text = disassemble(prog, style, with_bytes=with_bytes)
    start = data.draw(st.integers(0, len(text)))
    stop = data.draw(st.integers(start, min(len(text), start + 6)))
    insert = data.draw(st.sampled_from(["", *WORDS]) | st.text(max_size=3))
    _only_asm_errors(text[:start] + insert + text[stop:])


def _only_asm_errors(text: str) -> None:
    try:
        assemble(text)
    except AsmError as err:
        lines = text.splitlines()
        if err.line:
            assert 1 <= err.line <= len(lines)
            assert 1 <= err.column <= len(lines[err.line - 1]) + 1
            assert err.text == lines[err.line - 1]
