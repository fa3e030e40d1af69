"""Interpreter semantics, built with the instruction builder (no assembler needed)."""

from __future__ import annotations

import struct

import pytest

from ebpy.errors import (
    BudgetExceededError,
    CallDepthError,
    InvalidInstructionError,
    MemoryAccessError,
    UnknownHelperError,
)
from ebpy.helpers.conformance import CONFORMANCE_HELPERS
from ebpy.isa._intmath import M32, M64
from ebpy.isa.builder import (
    ALU,
    ALU64,
    ATOMIC,
    CALL,
    CALL_LOCAL,
    CALLX,
    EXIT,
    JMP,
    JMP32,
    LD_ABS,
    LD_IND,
    LDDW,
    LDX,
    LDXSX,
    R0,
    R1,
    R2,
    R3,
    R6,
    R10,
    ST,
    STX,
    Label,
    link,
)
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import AtomicOp, Endian, PseudoSrc, Size
from ebpy.vm import Runtime, Vm


def run(*items: Instruction | Label, mem: bytes | None = None, **kw: object) -> int:
    return Vm(link(items), **kw).run(mem)  # type: ignore[arg-type]


def ret(value_insns: list[Instruction]) -> int:
    return run(*value_insns, EXIT())


@pytest.mark.parametrize(
    ("insns", "expected"),
    [
        ([ALU64.MOV.imm(R0, -1)], M64),
        ([ALU.MOV.imm(R0, -1)], M32),
        ([LDDW(R0, 0x1_0000_0001), ALU.ADD.imm(R0, 0)], 1),
        ([ALU64.MOV.imm(R0, 7), ALU64.DIV.imm(R0, 2)], 3),
        ([ALU64.MOV.imm(R0, 7), ALU64.MOV.imm(R1, 0), ALU64.DIV.reg(R0, R1)], 0),
        ([ALU64.MOV.imm(R0, 7), ALU64.MOV.imm(R1, 0), ALU64.MOD.reg(R0, R1)], 7),
        ([LDDW(R0, 0x1_0000_0007), ALU.MOV.imm(R1, 0), ALU.MOD.reg(R0, R1)], 7),
        ([ALU64.MOV.imm(R0, -7), ALU64.SDIV.imm(R0, 2)], (-3) & M64),
        ([ALU64.MOV.imm(R0, -7), ALU64.SMOD.imm(R0, 2)], (-1) & M64),
        ([ALU.MOV.imm(R0, -7), ALU.SMOD.imm(R0, -2)], (-1) & M32),
        ([LDDW(R0, 1 << 63), ALU64.SDIV.imm(R0, -1)], 1 << 63),
        ([ALU64.MOV.imm(R0, 1), ALU64.LSH.imm(R0, 65)], 2),
        ([ALU.MOV.imm(R0, -16), ALU.ARSH.imm(R0, 2)], (-4) & M32),
        ([ALU64.MOV.imm(R0, -16), ALU64.ARSH.imm(R0, 2)], (-4) & M64),
        ([ALU64.MOV.imm(R0, 5), ALU64.NEG(R0)], (-5) & M64),
        ([ALU64.MOV.imm(R1, 0x80), ALU64.MOVSX(R0, R1, 8)], (-128) & M64),
        ([ALU64.MOV.imm(R1, 0x8000), ALU.MOVSX(R0, R1, 16)], 0xFFFF8000),
        ([LDDW(R0, 0x1122334455667788), ALU.END(R0, 16, Endian.TO_BE)], 0x8877),
        ([LDDW(R0, 0x1122334455667788), ALU.END(R0, 32, Endian.TO_LE)], 0x55667788),
        ([LDDW(R0, 0x1122334455667788), ALU64.END(R0, 64)], 0x8877665544332211),
        ([LDDW(R0, 0x1122334455667788), ALU64.END(R0, 32)], 0x88776655),
    ],
)
def test_alu(insns: list[Instruction], expected: int) -> None:
    assert ret(insns) == expected


@pytest.mark.parametrize(
    ("jump", "taken"),
    [
        (JMP.JEQ.imm(R1, -1, 1), True),
        (JMP32.JEQ.imm(R1, -1, 1), True),
        (JMP.JSGT.imm(R1, -2, 1), True),
        (JMP.JGT.imm(R1, -2, 1), True),
        (JMP.JSLT.imm(R1, 0, 1), True),
        (JMP32.JSLT.imm(R1, 0, 1), True),
        (JMP.JSET.imm(R1, 0x10, 1), True),
        (JMP.JLT.imm(R1, 5, 1), False),
        (JMP.JNE.reg(R1, R1, 1), False),
        (JMP.JGE.reg(R1, R1, 1), True),
    ],
)
def test_jumps(jump: Instruction, taken: bool) -> None:
    prog = [ALU64.MOV.imm(R1, -1), ALU64.MOV.imm(R0, 0), jump, EXIT(), ALU64.MOV.imm(R0, 1), EXIT()]
    assert run(*prog) == int(taken)


def test_loop_counts_instructions() -> None:
    prog = link(
        [
            ALU64.MOV.imm(R0, 0),
            ALU64.MOV.imm(R1, 10),
            Label("top"),
            ALU64.ADD.reg(R0, R1),
            ALU64.SUB.imm(R1, 1),
            JMP.JNE.imm(R1, 0, "top"),
            EXIT(),
        ]
    )
    res = Vm(prog).run_full()
    assert res.r0 == 55
    assert res.insn_count == 2 + 10 * 3 + 1


def test_budget_stops_runaway_loop() -> None:
    prog = link([Label("l"), JMP.JA("l")])
    with pytest.raises(BudgetExceededError) as info:
        Vm(prog, budget=1000).run()
    assert info.value.budget == 1000
    assert info.value.pc == 0


def test_memory_load_store_and_bounds() -> None:
    mem = bytes(range(16))
    prog = [LDX(Size.W, R0, R1, 4), EXIT()]
    assert Vm(prog).run(mem) == struct.unpack_from("<I", mem, 4)[0]
    with pytest.raises(MemoryAccessError) as info:
        Vm([LDX(Size.DW, R0, R1, 12), EXIT()]).run(mem)
    err = info.value
    assert (err.pc, err.size, err.region, err.write) == (0, 8, "mem", False)
    with pytest.raises(MemoryAccessError) as info:
        Vm([ST(Size.B, R1, -1, 0), EXIT()]).run(mem)
    assert info.value.write is True


def test_null_and_wild_pointers_fault() -> None:
    with pytest.raises(MemoryAccessError) as info:
        Vm([ALU64.MOV.imm(R1, 0), LDX(Size.B, R0, R1, 0), EXIT()]).run()
    assert info.value.region is None
    assert info.value.addr == 0


def test_memsx_and_store_then_load() -> None:
    prog = [
        ST(Size.B, R1, 0, 0xFE),
        LDXSX(Size.B, R0, R1, 0),
        EXIT(),
    ]
    buf = bytearray(4)
    assert Vm(prog).run(buf) == (-2) & M64
    assert buf[0] == 0xFE  # a bytearray is shared with the program


def test_stack_fast_path_and_pointer_path_agree() -> None:
    prog = link(
        [
            ALU64.MOV.imm(R1, 0x1234),
            STX(Size.DW, R10, R1, -8),
            ALU64.MOV.reg(R2, R10),
            ALU64.ADD.imm(R2, -8),
            LDX(Size.H, R0, R2, 0),
            EXIT(),
        ]
    )
    assert Vm(prog).run() == 0x1234


def test_stack_out_of_bounds_faults() -> None:
    with pytest.raises(MemoryAccessError) as info:
        Vm([LDX(Size.DW, R0, R10, 0), EXIT()]).run()
    assert info.value.region == "stack[0]"


@pytest.mark.parametrize(
    ("op", "size", "expected_mem", "expected_src"),
    [
        (AtomicOp.ADD, Size.DW, 15, 5),
        (AtomicOp.FETCH_ADD, Size.DW, 15, 10),
        (AtomicOp.FETCH_OR, Size.W, 15, 10),
        (AtomicOp.FETCH_AND, Size.W, 0, 10),
        (AtomicOp.FETCH_XOR, Size.DW, 15, 10),
        (AtomicOp.XCHG, Size.DW, 5, 10),
    ],
)
def test_atomics(op: AtomicOp, size: Size, expected_mem: int, expected_src: int) -> None:
    prog = [
        ALU64.MOV.imm(R2, 5),
        ATOMIC(size, op, R1, R2, 0),
        ALU64.MOV.reg(R0, R2),
        EXIT(),
    ]
    buf = bytearray(struct.pack("<Q", 10))
    assert Vm(prog).run(buf) == expected_src
    assert struct.unpack("<Q", buf)[0] == expected_mem


def test_cmpxchg() -> None:
    prog = [
        ALU64.MOV.imm(R0, 10),
        ALU64.MOV.imm(R2, 7),
        ATOMIC(Size.DW, AtomicOp.CMPXCHG, R1, R2, 0),
        EXIT(),
    ]
    buf = bytearray(struct.pack("<Q", 10))
    assert Vm(prog).run(buf) == 10
    assert struct.unpack("<Q", buf)[0] == 7
    buf = bytearray(struct.pack("<Q", 11))
    assert Vm(prog).run(buf) == 11
    assert struct.unpack("<Q", buf)[0] == 11


def test_local_calls_have_own_frames_and_keep_callee_saved() -> None:
    prog = link(
        [
            ALU64.MOV.imm(R6, 6),
            ST(Size.DW, R10, -8, 99),
            ALU64.MOV.imm(R1, 20),
            CALL_LOCAL("f"),
            ALU64.ADD.reg(R0, R6),
            LDX(Size.DW, R1, R10, -8),
            ALU64.ADD.reg(R0, R1),
            EXIT(),
            Label("f"),
            ST(Size.DW, R10, -8, 1),
            ALU64.MOV.imm(R6, 0),
            ALU64.MOV.reg(R0, R1),
            EXIT(),
        ]
    )
    assert Vm(prog).run() == 20 + 6 + 99


def test_call_depth_limit() -> None:
    prog = link([Label("f"), CALL_LOCAL("f"), EXIT()])
    with pytest.raises(CallDepthError):
        Vm(prog).run()


def test_helpers_and_unwind() -> None:
    rt = Runtime(clock=lambda: 1234)
    assert Vm([CALL(5), EXIT()]).run_full(runtime=rt).r0 == 1234
    unwind = [ALU64.MOV.imm(R1, 0), CALL(5), ALU64.MOV.imm(R0, 2), EXIT()]
    assert Vm(unwind, helpers=CONFORMANCE_HELPERS).run() == 0
    with pytest.raises(UnknownHelperError) as info:
        Vm([CALL(9999), EXIT()]).run()
    assert info.value.helper_id == 9999


def test_callx_helper_and_function_pointer() -> None:
    prog = link(
        [
            ALU64.MOV.imm(R1, 41),
            Instruction(0x18, R2, int(PseudoSrc.FUNC), 0, 4),  # pc 1: lddw r2, func at pc 6
            CALLX(R2),  # pc 3
            EXIT(),
            EXIT(),  # pc 5, unreachable
            ALU64.MOV.reg(R0, R1),  # pc 6
            ALU64.ADD.imm(R0, 1),
            EXIT(),
        ]
    )
    assert Vm(prog).run() == 42
    assert (
        Vm(
            [ALU64.MOV.imm(R1, 3), ALU64.MOV.imm(R2, 5), CALLX(R2), EXIT()],
            helpers=CONFORMANCE_HELPERS,
        ).run()
        == 3
    )


def test_ld_abs_ind_big_endian_and_out_of_bounds_exit() -> None:
    pkt = bytes([0, 1, 2, 3, 4, 5, 6, 7])
    assert Vm([LD_ABS(Size.H, 2), EXIT()]).run(pkt) == 0x0203
    assert Vm([ALU64.MOV.imm(R3, 1), LD_IND(Size.W, R3, 2), EXIT()]).run(pkt) == 0x03040506
    assert Vm([ALU64.MOV.imm(R0, 9), LD_ABS(Size.W, 6), ALU64.MOV.imm(R0, 9), EXIT()]).run(pkt) == 0


@pytest.mark.parametrize(
    "prog",
    [
        [],
        [ALU64.MOV.imm(R10, 1), EXIT()],
        [Instruction(0x95, dst=1)],
        [JMP.JA(5), EXIT()],
        [ALU64.MOV.imm(R0, 1)],  # runs off the end: rejected when reached
    ],
)
def test_bad_programs_are_rejected_cleanly(prog: list[Instruction]) -> None:
    with pytest.raises(InvalidInstructionError):
        Vm(prog).run()


def test_map_references_need_maps() -> None:
    with pytest.raises(InvalidInstructionError):
        Vm([LDDW(R1, 3, PseudoSrc.MAP_FD), EXIT()])
