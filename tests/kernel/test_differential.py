"""Differential testing: ebpy's interpreter against the Linux kernel.

Every program is loaded as a socket filter and run once with ``BPF_PROG_TEST_RUN``
on a 64-byte packet, and run by ``ebpy.vm.Vm`` on the same bytes; the whole 64-bit
r0 must agree.

How the kernel reports 64 bits: ``retval`` holds only the low 32 bits of r0, so the
kernel copy of a program gets a prologue and a tail (``harness``)::

    *(u64 *)(r10 -8) = r1        ; keep the context pointer (programs never use r10-8)
    ... the program, without its final exit ...
    r1 = *(u64 *)(r10 -8)        ; the __sk_buff again
    *(u32 *)(r1 +48) = r0        ; __sk_buff.cb[0] = low half (copied back in ctx_out)
    r0 >>= 32
    exit                         ; retval = high half

and every early ``exit`` of the program becomes ``goto`` the tail (jumps are
relinked by label). One load and one run give
both halves: ``cb[0]`` comes back in ``ctx_out`` (we pass an all-zero
``__sk_buff`` as ``ctx_in``). This halves the kernel work against
loading each program twice (once with ``r0 >>= 32`` before ``exit``). The
prologue and tail touch nothing the program reads: the program overwrites r1
before using it, keeps off the top 8 bytes of the stack, and every jump to its
``exit`` lands on the tail, which ends the same way. The VM runs the program
unchanged.

The kernel is the oracle, but not a perfect one: ``test_kernel_zero_extends_cmpxchg32``
pins down a kernel bug found by this test (a 32-bit ``cmpxchg`` whose r0 keeps
its upper half on x86-64 when the verifier prunes the path after it), and the
harness adds a ``w0 = w0`` after each 32-bit ``cmpxchg`` so that the bug cannot
pass for a VM bug.

``test_vm_matches_kernel_on_random_programs`` runs ``N_PROGRAMS`` programs from
``tests.kernel.progs.alu_programs`` (deterministic, no example database), and
``test_vm_matches_kernel_on_edge_values`` runs every ALU operation on every pair
of edge values (INT_MIN / -1, x % 0, shifts by 64 ...).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import HealthCheck, given, settings

from ebpy.errors import BpfError, KernelError
from ebpy.isa.builder import (
    ALU,
    ALU64,
    ATOMIC,
    EXIT,
    FP,
    JMP,
    JMP32,
    LDDW,
    LDX,
    R0,
    R1,
    R2,
    R5,
    R7,
    R9,
    STX,
    Label,
    link,
)
from ebpy.isa.instruction import Instruction, slot_starts
from ebpy.isa.opcodes import AtomicOp, Class, Endian, Mode, Size
from ebpy.kernel import KernelProgram
from ebpy.uapi import ProgType
from ebpy.vm import Vm
from tests.kernel.progs import ALU_BINARY, DIVISIONS, EDGE_64, FOLD, SHIFTS, alu_programs, listing

pytestmark = pytest.mark.kernel

#: Generated programs the random test runs against the kernel (the brief asks >= 5000).
N_PROGRAMS = 5000

PACKET = bytes(range(64))
SK_BUFF_SIZE = 192  # sizeof(struct __sk_buff) in linux/bpf.h
CB0_OFFSET = 48  # offsetof(struct __sk_buff, cb[0])
SPILL = -8  # the stack slot the harness keeps the context pointer in
CMPXCHG32 = Class.STX | Mode.ATOMIC | Size.W


def harness(insns: Sequence[Instruction], zext_cmpxchg32: bool = True) -> list[Instruction]:
    """The kernel copy of ``insns`` (see the module docstring).

    With ``zext_cmpxchg32`` a ``w0 = w0`` follows every 32-bit ``cmpxchg``: a no-op
    by the ISA (the old value is already zero-extended into r0) that sidesteps a
    kernel bug, see ``test_kernel_zero_extends_cmpxchg32``.
    """
    assert insns[-1].is_exit
    starts = slot_starts(insns)
    final = starts[-1]
    targets = {pc + 1 + i.jump_offset for pc, i in zip(starts, insns, strict=True) if i.is_branch}
    items: list[Instruction | Label] = [STX(Size.DW, FP, R1, SPILL)]
    for pc, insn in zip(starts, insns, strict=True):
        if pc in targets:
            items.append(Label(f"L{pc}"))
        if pc == final:
            break
        if insn.is_exit:
            items.append(JMP.JA("tail"))
            continue
        if insn.is_branch:
            insn = insn.replace(meta=f"L{pc + 1 + insn.jump_offset}")
        items.append(insn)
        if zext_cmpxchg32 and insn.op == CMPXCHG32 and insn.imm == AtomicOp.CMPXCHG:
            items.append(ALU.MOV.reg(R0, R0))
    items += [
        Label("tail"),
        LDX(Size.DW, R1, FP, SPILL),
        STX(Size.W, R1, R0, CB0_OFFSET),
        ALU64.RSH.imm(R0, 32),
        EXIT(),
    ]
    return link(items)


class Rejected(AssertionError):
    """The kernel rejected a program the strategies promised it would accept."""


def kernel_r0(insns: Sequence[Instruction]) -> int:
    """The 64-bit r0 the kernel computes for ``insns``."""
    try:
        prog = KernelProgram.load(harness(insns), ProgType.SOCKET_FILTER)
    except KernelError as e:
        raise Rejected(
            f"the kernel rejected a generated program ({e}):\n{listing(list(insns))}\n"
            f"verifier log (tail):\n{e.log[-4000:]}"
        ) from None
    with prog:
        res = prog.test_run(PACKET, ctx_in=bytes(SK_BUFF_SIZE))
    assert res.ctx_out is not None
    low = int.from_bytes(res.ctx_out[CB0_OFFSET : CB0_OFFSET + 4], "little")
    return (res.retval << 32) | low


def vm_r0(insns: Sequence[Instruction]) -> int | str:
    """r0 from the VM, or the error it stopped with (as text)."""
    try:
        return Vm(insns).run(mem=PACKET)
    except BpfError as e:
        return f"{type(e).__name__}: {e}"


def check_agree(insns: Sequence[Instruction]) -> None:
    k = kernel_r0(insns)
    v = vm_r0(insns)
    if v != k:
        shown = v if isinstance(v, str) else f"{v:#x}"
        raise AssertionError(f"kernel r0 = {k:#x}, vm r0 = {shown}\n{listing(list(insns))}")


def test_vm_matches_kernel_on_random_programs() -> None:
    ran = Counter[str]()

    @settings(
        max_examples=N_PROGRAMS,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(alu_programs())
    def check(insns: list[Instruction]) -> None:
        check_agree(insns)
        ran["programs"] += 1
        ran["instructions"] += len(insns)

    check()
    assert ran["programs"] >= N_PROGRAMS, ran


# -- every ALU operation on every pair of edge values ------------------------

EDGE_IMM = (0, 1, -1, 2, -2, 31, 32, 63, 0x7FFF_FFFF, -0x8000_0000, 0xFF, 0x8000, -0x8000)


def _fold(reg: int) -> list[Instruction]:
    return [ALU64.MUL.imm(R0, FOLD), ALU64.XOR.reg(R0, reg)]


def _edge_cases() -> Iterator[tuple[str, list[Instruction]]]:
    """(name, instructions) of one operation on edge values; the result lands in r1."""
    for cls, bits in ((ALU64, 64), (ALU, 32)):
        cname = "alu64" if bits == 64 else "alu32"
        for name in ALU_BINARY:
            op = getattr(cls, name)
            for a in EDGE_64:
                for b in EDGE_64:
                    yield f"{cname} {name} reg", [LDDW(R1, a), LDDW(R2, b), op.reg(R1, R2)]
                for imm in EDGE_IMM:
                    if (name in SHIFTS and not 0 <= imm < bits) or (name in DIVISIONS and imm == 0):
                        continue
                    yield f"{cname} {name} imm", [LDDW(R1, a), op.imm(R1, imm)]
        for a in EDGE_64:
            yield f"{cname} NEG", [LDDW(R1, a), cls.NEG(R1)]
            for width in (8, 16, 32) if bits == 64 else (8, 16):
                yield f"{cname} MOVSX{width}", [LDDW(R2, a), cls.MOVSX(R1, R2, width)]
            for width in (16, 32, 64):
                endians = (Endian.TO_LE,) if bits == 64 else tuple(Endian)
                for endian in endians:
                    yield (
                        f"{cname} END{width} {endian.name}",
                        [LDDW(R1, a), cls.END(R1, width, endian)],
                    )


def _program(cases: Sequence[list[Instruction]]) -> list[Instruction]:
    body = [insn for case in cases for insn in [*case, *_fold(R1)]]
    return [ALU64.MOV.imm(R0, 0), ALU64.MOV.imm(R1, 0), ALU64.MOV.imm(R2, 0), *body, EXIT()]


def test_vm_matches_kernel_on_edge_values() -> None:
    groups: dict[str, list[list[Instruction]]] = {}
    for name, case in _edge_cases():
        groups.setdefault(name, []).append(case)
    disagreements = []
    for name, cases in groups.items():
        if kernel_r0(_program(cases)) == vm_r0(_program(cases)):
            continue
        # Find the single cases that disagree, for a readable report.
        bad = []
        for case in cases:
            prog = _program([case])
            k, v = kernel_r0(prog), vm_r0(prog)
            if k != v:
                shown = v if isinstance(v, str) else f"{v:#x}"
                bad.append(f"kernel {k:#x}, vm {shown}\n{listing(prog)}")
        shown_cases = "\n".join(bad[:3])
        disagreements.append(f"{name}: {len(bad)} of {len(cases)} cases disagree\n{shown_cases}")
    assert not disagreements, "\n\n".join(disagreements)


# -- a kernel bug this test found -------------------------------------------

#: A successful 32-bit cmpxchg must zero-extend the old value into r0, so this
#: program returns r0 >> 32 == 0. Linux 6.18.44 on x86-64 returns 0xffffffff: the
#: branch-taken path from insn 7 is pruned at the ``goto +0`` (a checkpoint), so the
#: verifier never sees a 64-bit use of the cmpxchg's r0 on that path and inserts no
#: zero-extension, and x86 ``lock cmpxchg`` leaves rax alone when it succeeds.
#: Without the ``goto +0`` (no checkpoint, no pruning) the kernel returns 0.
CMPXCHG32_ZEXT_REPRO = [
    ALU64.MOV.imm(R9, -490509),  # 0xfffffffffff883f3
    STX(Size.DW, FP, R9, -64),
    ALU64.MOV.reg(R0, R9),  # w0 == the low half in memory: the cmpxchg succeeds
    ALU64.MOV.imm(R5, 32768),
    ALU.MOV.imm(R7, -128),
    ATOMIC(Size.W, AtomicOp.CMPXCHG, FP, R5, -64),  # r0 = 0x00000000fff883f3
    ATOMIC(Size.DW, AtomicOp.FETCH_AND, FP, R7, -64),  # r7: unknown to the verifier
    JMP32.JSGE.imm(R7, 12, 1),  # taken at run time
    ALU.RSH.reg(R0, R7),
    JMP.JA(0),
    ALU64.RSH.imm(R0, 32),
    EXIT(),
]


def test_kernel_zero_extends_cmpxchg32() -> None:
    assert Vm(CMPXCHG32_ZEXT_REPRO).run(mem=PACKET) == 0
    with KernelProgram.load(CMPXCHG32_ZEXT_REPRO, ProgType.SOCKET_FILTER) as prog:
        high = prog.test_run(PACKET).retval
    if high != 0:
        pytest.xfail(
            f"kernel bug: r0 >> 32 = {high:#x} after a 32-bit cmpxchg on a pruned path "
            "(the verifier did not zero-extend r0)"
        )
    # Fixed kernels: the harness's extra "w0 = w0" could go.
