"""Classic programs to eBPF socket filters, with the semantics of the kernel's own translation.

``to_ebpf(insns)`` gives eBPF instructions that do what the kernel does with a
classic program attached to a socket (Documentation/networking/filter.rst;
``bpf_convert_filter``), as a program that ``BPF_PROG_LOAD`` accepts as
``BPF_PROG_TYPE_SOCKET_FILTER`` and that ``ebpy.vm.Vm(..., prog_type="socket_filter")``
runs:

- A lives in r0, X in r7 (both 32 bits, zero-extended), the context in r6 (the
  legacy packet loads need it there); r8 keeps A across ``ldxb 4*([k]&0xf)``.
  The program starts ``w0 = 0; w7 = 0; r6 = r1``.
- ``M[k]`` is the 32-bit stack slot at ``r10 - 4 * (16 - k)``.
- ``[k]``/``[x + k]`` (also at ``SKF_NET_OFF``/``SKF_LL_OFF``) are eBPF
  ``LD_ABS``/``LD_IND``: a load outside the packet ends the program with 0.
- ALU operations are 32-bit; division and modulo by X first check X and end
  the program with 0 when it is 0. Conditional jumps compare in 32 bits
  (``JMP32``), as an unsigned 32-bit ``k`` needs; a jump whose true branch
  falls through becomes the inverse jump where eBPF has one.
- ``#len`` reads ``__sk_buff.len``; ancillary loads read ``protocol`` (to host
  order, like the kernel's ``ntohs``), ``pkt_type``, ``mark``, ``queue_mapping``,
  ``hash``, ``vlan_tci``, ``vlan_present`` and ``vlan_proto`` (host order) from
  ``__sk_buff``; ``ifindex`` too, ending the program with A when it is 0 (no
  device), as the kernel does; ``cpu`` and ``rand`` call
  ``bpf_get_smp_processor_id``/``bpf_get_prandom_u32``; ``xor_x`` is ``A ^= X``.
- Unreachable classic instructions are left out (the verifier refuses
  unreachable code).

``hatype``, ``nla``, ``nlan`` and ``poff`` have no eBPF equivalent a socket
filter may use (the device type, and the kernel-internal netlink and flow
dissector helpers): they raise ``NotSupportedError``. A program the kernel
would refuse raises ``CbpfError`` (``ebpy.cbpf.validate``).

>>> from ebpy.cbpf.asm import assemble
>>> [str(i) for i in to_ebpf(assemble("ldh [12]\\njeq #0x800, l1, l2\\nl1: ret #-1\\nl2: ret #0"))]
['w0 = 0', 'w7 = 0', 'r6 = r1', 'r0 = *(u16 *)skb[12]', 'if w0 != 2048 goto +2', \
'w0 = -1', 'exit', 'w0 = 0', 'exit']
"""

from __future__ import annotations

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
    BPF_MEMWORDS,
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
    COND_JUMPS,
    Insn,
    ancillary,
)
from ebpy.cbpf.validate import validate
from ebpy.errors import NotSupportedError
from ebpy.isa._intmath import s32
from ebpy.isa.builder import (
    ALU,
    ALU64,
    CALL,
    EXIT,
    JMP,
    JMP32,
    LD_ABS,
    LD_IND,
    LDX,
    R0,
    R1,
    R6,
    R7,
    R8,
    R10,
    STX,
    Label,
    link,
)
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import AluOp, Endian, JmpOp, Size
from ebpy.uapi import HelperId

__all__ = ["CTX_FIELDS", "UNSUPPORTED_ANCILLARY", "to_ebpf"]

A, X, CTX, TMP = R0, R7, R6, 2
SAVED_A = R8

CTX_FIELDS = {
    "len": 0,
    "pkttype": 4,
    "mark": 8,
    "queue": 12,
    "protocol": 16,
    "vlan_tag_present": 20,
    "vlan_tci": 24,
    "vlan_tpid": 28,
    "ifindex": 40,
    "rxhash": 68,
}
"""Ancillary load (and ``#len``) -> offset of the ``struct __sk_buff`` field it reads."""
_BIG_ENDIAN_FIELDS = frozenset({"protocol", "vlan_tpid"})
_HELPERS = {"cpu": HelperId.GET_SMP_PROCESSOR_ID, "random": HelperId.GET_PRANDOM_U32}
UNSUPPORTED_ANCILLARY = frozenset({"hatype", "nlattr", "nlattr_nest", "pay_offset"})
"""Ancillary loads with no eBPF equivalent for a socket filter."""

_SIZE = {BPF_W: Size.W, BPF_H: Size.H, BPF_B: Size.B}
_ALU_OPS = {
    BPF_ADD: AluOp.ADD,
    BPF_SUB: AluOp.SUB,
    BPF_MUL: AluOp.MUL,
    BPF_DIV: AluOp.DIV,
    BPF_MOD: AluOp.MOD,
    BPF_AND: AluOp.AND,
    BPF_OR: AluOp.OR,
    BPF_XOR: AluOp.XOR,
    BPF_LSH: AluOp.LSH,
    BPF_RSH: AluOp.RSH,
}
_JMP_OPS = {BPF_JEQ: JmpOp.JEQ, BPF_JGT: JmpOp.JGT, BPF_JGE: JmpOp.JGE, BPF_JSET: JmpOp.JSET}
_INVERSE = {JmpOp.JEQ: JmpOp.JNE, JmpOp.JGT: JmpOp.JLE, JmpOp.JGE: JmpOp.JLT}

Item = Instruction | Label
_Translate = Callable[[Insn, int], list[Item]]


def _label(pc: int) -> str:
    return f"c{pc}"


def _slot(k: int) -> int:
    return -4 * (BPF_MEMWORDS - k)


def _mov32_imm(dst: int, k: int) -> Instruction:
    return ALU.MOV.imm(dst, s32(k))


def _ret(insn: Insn, pc: int) -> list[Item]:
    if insn.code == BPF_RET | BPF_A:
        return [EXIT()]
    return [_mov32_imm(A, insn.k), EXIT()]


def _ancillary(name: str, pc: int) -> list[Item]:
    if name in UNSUPPORTED_ANCILLARY:
        raise NotSupportedError(
            f"the classic ancillary load {name!r} in eBPF",
            "no __sk_buff field or helper gives it to a socket filter",
        )
    if name in _HELPERS:
        return [CALL(_HELPERS[name])]
    if name == "alu_xor_x":
        return [ALU.XOR.reg(A, X)]
    if name == "ifindex":  # no device: the kernel ends the program with A
        return [
            LDX(Size.W, TMP, CTX, CTX_FIELDS["ifindex"]),
            JMP.JNE.imm(TMP, 0, 1),
            EXIT(),
            ALU.MOV.reg(A, TMP),
        ]
    out: list[Item] = [LDX(Size.W, A, CTX, CTX_FIELDS[name])]
    if name in _BIG_ENDIAN_FIELDS:
        out.append(ALU.END(A, 16, Endian.TO_BE))
    return out


def _load(insn: Insn, pc: int) -> list[Item]:
    size = _SIZE[insn.code & 0x18]
    if insn.code & 0xE0 == BPF_IND:
        return [LD_IND(size, X, s32(insn.k))]
    name = ancillary(insn.k)
    if name is not None:
        return _ancillary(name, pc)
    return [LD_ABS(size, s32(insn.k))]


def _msh(insn: Insn, pc: int) -> list[Item]:
    return [
        ALU64.MOV.reg(SAVED_A, A),
        LD_ABS(Size.B, s32(insn.k)),
        ALU.AND.imm(A, 0xF),
        ALU.LSH.imm(A, 2),
        ALU.MOV.reg(X, A),
        ALU64.MOV.reg(A, SAVED_A),
    ]


def _alu(insn: Insn, pc: int) -> list[Item]:
    op = _ALU_OPS[insn.code & 0xF0]
    if insn.code & BPF_X == BPF_K:
        return [_alu_imm(op, insn.k)]
    if op in (AluOp.DIV, AluOp.MOD):  # by X == 0: the program ends with 0
        return [JMP.JNE.imm(X, 0, 2), ALU.MOV.imm(A, 0), EXIT(), _alu_reg(op)]
    return [_alu_reg(op)]


def _alu_imm(op: AluOp, k: int) -> Instruction:
    return getattr(ALU, op.name).imm(A, s32(k))  # type: ignore[no-any-return]


def _alu_reg(op: AluOp) -> Instruction:
    return getattr(ALU, op.name).reg(A, X)  # type: ignore[no-any-return]


def _jump(insn: Insn, pc: int) -> list[Item]:
    if insn.code == BPF_JMP | BPF_JA:
        return [JMP.JA(_label(pc + 1 + insn.k))]
    t, f = pc + 1 + insn.jt, pc + 1 + insn.jf
    if t == f:
        return [] if t == pc + 1 else [JMP.JA(_label(t))]
    op = _JMP_OPS[insn.code & 0xF0]
    if t == pc + 1 and op in _INVERSE:
        return [_cond(insn, _INVERSE[op], f)]
    out: list[Item] = [_cond(insn, op, t)]
    if f != pc + 1:
        out.append(JMP.JA(_label(f)))
    return out


def _cond(insn: Insn, op: JmpOp, target: int) -> Instruction:
    builder = getattr(JMP32, op.name)
    if insn.code & BPF_X:
        return builder.reg(A, X, _label(target))  # type: ignore[no-any-return]
    return builder.imm(A, s32(insn.k), _label(target))  # type: ignore[no-any-return]


_TRANSLATE: dict[int, _Translate] = {
    BPF_RET | BPF_K: _ret,
    BPF_RET | BPF_A: _ret,
    BPF_LD | BPF_IMM: lambda i, pc: [_mov32_imm(A, i.k)],
    BPF_LDX | BPF_IMM: lambda i, pc: [_mov32_imm(X, i.k)],
    BPF_LD | BPF_W | BPF_LEN: lambda i, pc: [LDX(Size.W, A, CTX, CTX_FIELDS["len"])],
    BPF_LDX | BPF_W | BPF_LEN: lambda i, pc: [LDX(Size.W, X, CTX, CTX_FIELDS["len"])],
    BPF_LD | BPF_MEM: lambda i, pc: [LDX(Size.W, A, R10, _slot(i.k))],
    BPF_LDX | BPF_MEM: lambda i, pc: [LDX(Size.W, X, R10, _slot(i.k))],
    BPF_ST: lambda i, pc: [STX(Size.W, R10, A, _slot(i.k))],
    BPF_STX: lambda i, pc: [STX(Size.W, R10, X, _slot(i.k))],
    BPF_LDX | BPF_MSH | BPF_B: _msh,
    BPF_ALU | BPF_NEG: lambda i, pc: [ALU.NEG(A)],
    BPF_MISC | BPF_TAX: lambda i, pc: [ALU.MOV.reg(X, A)],
    BPF_MISC | BPF_TXA: lambda i, pc: [ALU.MOV.reg(A, X)],
    BPF_JMP | BPF_JA: _jump,
    **dict.fromkeys(COND_JUMPS, _jump),
    **{BPF_LD | s | m: _load for s in _SIZE for m in (BPF_ABS, BPF_IND)},
    **{BPF_ALU | op | src: _alu for op in _ALU_OPS for src in (BPF_K, BPF_X)},
}
"""cBPF code -> its translation (every code ``chk_code_allowed`` takes)."""


def _reachable(insns: Sequence[Insn]) -> set[int]:
    seen, todo = {0}, [0]
    while todo:
        pc = todo.pop()
        insn = insns[pc]
        if insn.code & 0x07 == BPF_RET:
            nexts: list[int] = []
        elif insn.code == BPF_JMP | BPF_JA:
            nexts = [pc + 1 + insn.k]
        elif insn.code in COND_JUMPS:
            nexts = [pc + 1 + insn.jt, pc + 1 + insn.jf]
        else:
            nexts = [pc + 1]
        for nxt in nexts:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def to_ebpf(insns: Sequence[Insn]) -> list[Instruction]:
    """The eBPF socket filter that does what the kernel does with classic ``insns``.

    Raises ``CbpfError`` for a program the kernel refuses and
    ``NotSupportedError`` for the ancillary loads eBPF cannot express.
    """
    validate(insns)
    items: list[Item] = [ALU.MOV.imm(A, 0), ALU.MOV.imm(X, 0), ALU64.MOV.reg(CTX, R1)]
    live = _reachable(insns)
    for pc, insn in enumerate(insns):
        if pc not in live:
            continue
        items.append(Label(_label(pc)))
        items.extend(_TRANSLATE[insn.code](insn, pc))
    return link(items)
