"""Hypothesis strategies for eBPF programs that the Linux verifier accepts (as root).

``alu_programs()`` draws straight-line ALU/JMP/stack programs: every register r0-r9
is first set to a constant (r1 holds the context pointer on entry and is
overwritten), then a random mix of

* every ALU and ALU64 operation with an immediate and a register operand (signed
  ``sdiv``/``smod`` too, sign-extending ``movsx``, ``le``/``be``/``bswap``);
  immediate shifts stay in range, register shifts use any value (the ISA masks
  the amount to 31/63), immediate divisors are never zero (the verifier rejects
  ``div by 0`` with an immediate; a zero register divisor is fine and tested);
* 1/2/4/8-byte stack stores (``stx`` and ``st``) and loads (zero- and
  sign-extending) of bytes that were written on every path to the load;
* atomics on written stack slots (add/or/and/xor with and without fetch, xchg,
  cmpxchg; 32 and 64 bits);
* 64-bit immediate loads (``lddw``) anywhere, and right before some register ALU
  operations to put edge values (0, -1, INT_MIN, 64 ...) into both operands;
* forward conditional blocks: every JMP and JMP32 condition with an immediate or a
  register skips a nested block, optionally with an ``else`` block reached by the
  condition and an unconditional ``ja``/``gotol`` over it (so that no instruction
  is unreachable, which the verifier rejects);

and finally, for each of r1-r9 with high probability, ``r0 *= FOLD; r0 ^= rN`` so
that a wrong value in any register shows in r0 (when the program gets there: an
early ``exit`` skips it); then ``exit``.

Rules the strategies keep so that the verifier accepts every program:
registers are initialised before use, r10 is only a base address, stack accesses
are naturally aligned (stack alignment is always strict) and only read bytes that
are initialised on every path (root may read unwritten stack, but what it reads
is undefined), and no pointer is ever stored, loaded or combined.
The programs never touch the top 8 bytes of the stack (``r10 - 8 .. r10 - 1``):
a harness may keep something there. Every jump is forward. The last instruction
is an ``exit``; some conditional blocks end with an early ``exit`` too (right
before the label their condition jumps to, so nothing becomes unreachable).

Public here: ``alu_programs``, the value strategies ``imm32s``/``imm64s``/``regs``,
the value tables, and ``listing`` (a program as numbered text). This module only
builds programs; it does not load or run them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

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
    LDXSX,
    R0,
    ST,
    STX,
    Label,
    link,
)
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import AtomicOp, Endian, Size

Draw = Callable[[st.SearchStrategy[Any]], Any]
Item = Instruction | Label

GP_REGS = tuple(range(10))  # r0-r9; r10 is never an operand except as a stack base
#: Stack bytes the programs use: [STACK_LOW, STACK_HIGH), relative to r10.
STACK_LOW = -72
STACK_HIGH = -8
#: The odd multiplier of the final register fold (the 32-bit FNV prime).
FOLD = 0x01000193

SIZES = (Size.B, Size.H, Size.W, Size.DW)

# fmt: off
ALU_BINARY = (
    "ADD", "SUB", "MUL", "DIV", "MOD", "OR", "AND", "LSH", "RSH", "ARSH", "XOR", "MOV", "SDIV",
    "SMOD",
)
# fmt: on
SHIFTS = frozenset({"LSH", "RSH", "ARSH"})
DIVISIONS = frozenset({"DIV", "MOD", "SDIV", "SMOD"})
JMP_CONDS = ("JEQ", "JNE", "JGT", "JGE", "JLT", "JLE", "JSET", "JSGT", "JSGE", "JSLT", "JSLE")
ATOMIC_OPS = tuple(AtomicOp)

# fmt: off
INTERESTING_32 = (
    0, 1, -1, 2, 7, 8, 16, 31, 32, 63, 64, 0x7F, 0x80, 0xFF, -0x80, 0x7FFF, 0x8000, 0xFFFF,
    -0x8000, 0x7FFF_FFFF, -0x8000_0000, 0x1234_5678, -0x1234_5678,
)
INTERESTING_64 = (
    0, 1, 0xFFFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0x7FFF_FFFF_FFFF_FFFF,
    0xFFFF_FFFF, 0x1_0000_0000, 0x8000_0000, 0xFFFF_FFFF_8000_0000, 0x7FFF_FFFF,
    0xFFFF_FFFF_FFFF_FF80, 0xFFFF_FFFF_FFFF_8000, 0x0123_4567_89AB_CDEF,
    0xFEDC_BA98_7654_3210, 0x8000_0000_FFFF_FFFF, 0xFFFF_FFFF_0000_0000,
)
#: Values at the edges of 32- and 64-bit arithmetic (and the divisors that meet them).
EDGE_64 = (
    0, 1, 0xFFFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0x7FFF_FFFF_FFFF_FFFF,
    0xFFFF_FFFF, 0x8000_0000, 0xFFFF_FFFF_8000_0000, 0x1_FFFF_FFFF, 0x1_0000_0000,
    0xFFFF_FFFF_0000_0000, 0x1_8000_0000, 31, 32, 63, 64, 0x3F_FFFF_FFFF,
)
# fmt: on

imm32s = st.one_of(
    st.sampled_from(INTERESTING_32),
    st.integers(-16, 16),
    st.integers(-(1 << 31), (1 << 31) - 1),
)
imm64s = st.one_of(
    st.sampled_from(INTERESTING_64),
    imm32s.map(lambda v: v & 0xFFFF_FFFF_FFFF_FFFF),
    st.integers(0, (1 << 64) - 1),
)
regs = st.sampled_from(GP_REGS)

# -- fast pickers --------------------------------------------------------------
# Generation time is almost all Hypothesis' per-draw bookkeeping, and
# ``sampled_from`` / ``one_of`` / ``map`` cost more per draw than a bare bounded
# ``integers``. So the generator below draws integers from strategies built once
# and indexes tables itself. Like ``sampled_from``, a pick shrinks towards the
# first entry of its table.


class _Pick:
    """``pick(draw)``: an entry of ``table`` chosen by one integer draw."""

    def __init__(self, table: Sequence[Any]) -> None:
        self.table = tuple(table)
        self.index = st.integers(0, len(self.table) - 1)

    def __call__(self, draw: Draw) -> Any:
        return self.table[draw(self.index)]


_any32 = st.integers(-(1 << 31), (1 << 31) - 1)
_any64 = st.integers(0, (1 << 64) - 1)
_small = st.integers(-16, 16)
_interesting32 = _Pick(INTERESTING_32)
_interesting64 = _Pick(INTERESTING_64)
_imm_source = st.integers(0, 2)


def _imm32(draw: Draw, source: int | None = None) -> int:
    """What ``imm32s`` draws: an interesting, a small or any signed 32-bit value."""
    source = draw(_imm_source) if source is None else source
    if source == 0:
        return int(_interesting32(draw))
    return int(draw(_small if source == 1 else _any32))


def _imm64(draw: Draw, source: int | None = None) -> int:
    """What ``imm64s`` draws: an interesting 64-bit value, a 32-bit one, or any."""
    source = draw(_imm_source) if source is None else source
    if source == 0:
        return int(_interesting64(draw))
    if source == 1:
        return _imm32(draw) & 0xFFFF_FFFF_FFFF_FFFF
    return int(draw(_any64))


def _divisor32(draw: Draw) -> int:
    """A non-zero ``_imm32`` (the verifier rejects a division by an immediate 0)."""
    return _imm32(draw) or 1


_reg = _Pick(GP_REGS)
_bool = _Pick((False, True))
# How a register starts: (instruction, source of its value) in one draw.
_init_form = _Pick([(kind, source) for kind in ("mov64", "mov32", "lddw") for source in range(3)])
# One draw picks the whole form of an ALU instruction and its destination:
# (class, kind, name or width, dst).
_ALU_FORMS = (
    [(cls, kind, name) for kind in ("imm", "reg") for cls in (ALU64, ALU) for name in ALU_BINARY]
    + [(cls, "neg", None) for cls in (ALU64, ALU)]
    + [(ALU64, "movsx", w) for w in (8, 16, 32)]
    + [(ALU, "movsx", w) for w in (8, 16)]
    + [(ALU64, "end", (w, Endian.TO_LE)) for w in (16, 32, 64)]
    + [(ALU, "end", (w, e)) for w in (16, 32, 64) for e in Endian]
)
_alu_form = _Pick([(*form, dst) for form in _ALU_FORMS for dst in GP_REGS])
_shift_imm = {64: st.integers(0, 63), 32: st.integers(0, 31)}
_edge = _Pick(EDGE_64)
_edge_regs = _Pick(("none", "src", "dst", "both"))
_size = _Pick(SIZES)
_atomic_size = _Pick((Size.W, Size.DW))
_atomic_op = _Pick(ATOMIC_OPS)
# (class, condition, register operand?, dst) in one draw.
_jmp_form = _Pick(
    [
        (cls, cond, x, dst)
        for x in (False, True)
        for cls in (JMP, JMP32)
        for cond in JMP_CONDS
        for dst in GP_REGS
    ]
)
# One draw per item says "stop" (0) or which kind of item comes next (see _item).
_next = st.integers(0, 63)
# About one conditional block in six ends with an early exit (0, no exit, is simplest).
_EARLY_EXIT = 5
_early_exit = st.integers(0, _EARLY_EXIT)
_fold_reg = st.integers(0, 4)


@functools.cache
def _index(n: int) -> st.SearchStrategy[int]:
    return st.integers(0, n - 1)


@functools.cache
def _offset(size: int) -> _Pick:
    return _Pick(_aligned_offsets(size))


@dataclass
class _Ctx:
    """Generation state: stack bytes written on every path so far, labels, budget."""

    written: frozenset[int] = frozenset()
    labels: list[int] = field(default_factory=lambda: [0])
    items_left: int = 0

    def label(self) -> str:
        self.labels[0] += 1
        return f"L{self.labels[0]}"


def _init_reg(draw: Draw, reg: int) -> Instruction:
    kind, source = _init_form(draw)
    if kind == "lddw":
        return LDDW(reg, _imm64(draw, source))
    cls = ALU64 if kind == "mov64" else ALU
    return cls.MOV.imm(reg, _imm32(draw, source))


def _alu(draw: Draw) -> list[Item]:
    cls, kind, arg, dst = _alu_form(draw)
    bits = 64 if cls is ALU64 else 32
    if kind == "neg":
        return [cls.NEG(dst)]
    if kind == "movsx":
        return [cls.MOVSX(dst, _reg(draw), arg)]
    if kind == "end":
        width, endian = arg
        return [cls.END(dst, width, endian)]
    op = getattr(cls, arg)
    if kind == "reg":
        src = _reg(draw)
        # Edge cases (INT_MIN / -1, x % 0, shifts by 64) need edge values in both
        # operands at once: sometimes set them right before the operation.
        pick = _edge_regs(draw)
        edged = {"none": (), "src": (src,), "dst": (dst,), "both": (dst, src)}[pick]
        pre = [LDDW(r, _edge(draw)) for r in edged]
        return [*pre, op.reg(dst, src)]
    if arg in SHIFTS:
        imm = draw(_shift_imm[bits])
    elif arg in DIVISIONS:
        imm = _divisor32(draw)
    else:
        imm = _imm32(draw)
    return [op.imm(dst, imm)]


def _aligned_offsets(size: int) -> list[int]:
    return list(range(STACK_HIGH - size, STACK_LOW - 1, -size))


def _readable(ctx: _Ctx, size: int) -> list[int]:
    return [o for o in _aligned_offsets(size) if all(o + i in ctx.written for i in range(size))]


def _readable_place(draw: Draw, ctx: _Ctx, size: Size) -> tuple[int, list[Item]]:
    """An offset whose ``size`` bytes were written on every path, and the store that
    writes one first when there is none yet."""
    places = _readable(ctx, size.nbytes)
    if places:
        return places[draw(_index(len(places)))], []
    off = _offset(size.nbytes)(draw)
    ctx.written = ctx.written | frozenset(range(off, off + size.nbytes))
    return off, [STX(size, FP, _reg(draw), off)]


def _store(draw: Draw, ctx: _Ctx) -> list[Item]:
    size = _size(draw)
    off = _offset(size.nbytes)(draw)
    ctx.written = ctx.written | frozenset(range(off, off + size.nbytes))
    if _bool(draw):
        return [ST(size, FP, off, _imm32(draw))]
    return [STX(size, FP, _reg(draw), off)]


def _load(draw: Draw, ctx: _Ctx) -> list[Item]:
    size = _size(draw)
    off, pre = _readable_place(draw, ctx, size)
    dst = _reg(draw)
    if size != Size.DW and _bool(draw):
        return [*pre, LDXSX(size, dst, FP, off)]
    return [*pre, LDX(size, dst, FP, off)]


def _atomic(draw: Draw, ctx: _Ctx) -> list[Item]:
    size = _atomic_size(draw)
    off, pre = _readable_place(draw, ctx, size)
    op = _atomic_op(draw)
    return [*pre, ATOMIC(size, op, FP, _reg(draw), off)]


def _lddw(draw: Draw) -> list[Item]:
    return [LDDW(_reg(draw), _imm64(draw))]


def _branch(draw: Draw, ctx: _Ctx, depth: int) -> list[Item]:
    cls, name, x, dst = _jmp_form(draw)
    cond = getattr(cls, name)
    skip, end = ctx.label(), ctx.label()
    jump = cond.reg(dst, _reg(draw), skip) if x else cond.imm(dst, _imm32(draw), skip)
    before = ctx.written
    then = _block(draw, ctx, depth + 1)
    then_written = ctx.written
    ctx.written = before
    if not _bool(draw):
        # if (cond) goto skip; then...; [exit;] skip:
        early = [EXIT()] if draw(_early_exit) == _EARLY_EXIT else []
        return [jump, *then, *early, Label(skip)]
    # if (cond) goto skip; then...; goto end; skip: else...; [exit;] end:
    # (an exit may end only the else block: one ending the then block would leave
    # the "goto end" after it unreachable, which the verifier rejects)
    ja = JMP32.JA(end) if _bool(draw) else JMP.JA(end)
    other = _block(draw, ctx, depth + 1)
    ctx.written = then_written & ctx.written
    early = [EXIT()] if draw(_early_exit) == _EARLY_EXIT else []
    return [jump, *then, ja, Label(skip), *other, *early, Label(end)]


MAX_DEPTH = 2
# ALU instructions are most of what there is to test: weight them up (sampled_from
# shrinks towards the first entry, so the simplest kind comes first).
_KINDS = ("alu", "alu", "alu", "store", "load", "atomic", "lddw", "branch")


def _item(draw: Draw, ctx: _Ctx, depth: int, choice: int) -> list[Item]:
    kinds = _KINDS if depth < MAX_DEPTH else _KINDS[:-1]
    kind = kinds[(choice - 1) % len(kinds)]
    if kind == "alu":
        return _alu(draw)
    if kind == "store":
        return _store(draw, ctx)
    if kind == "load":
        return _load(draw, ctx)
    if kind == "atomic":
        return _atomic(draw, ctx)
    if kind == "lddw":
        return _lddw(draw)
    return _branch(draw, ctx, depth)


@st.composite
def _next_item(draw: Draw, ctx: _Ctx, depth: int) -> list[Item] | None:
    """The next item of a block, or None to end it.

    One strategy per item (its "continue?" draw included) makes the item one span
    of choices, which the shrinker can delete as a whole.
    """
    choice = draw(_next)
    if choice == 0:
        return None
    ctx.items_left -= 1
    return _item(draw, ctx, depth, choice)


def _block(draw: Draw, ctx: _Ctx, depth: int) -> list[Item]:
    out: list[Item] = []
    limit = 4 if depth else ctx.items_left
    while ctx.items_left > 0 and limit > 0:
        item = draw(_next_item(ctx, depth))
        if item is None:
            break
        limit -= 1
        out.extend(item)
    return out


@st.composite
def alu_programs(draw: Draw, max_items: int = 32, fold: bool = True) -> list[Instruction]:
    """A linked program (see the module docstring) of at most ``max_items`` body items."""
    ctx = _Ctx(items_left=max_items)
    items: list[Item] = [_init_reg(draw, r) for r in GP_REGS]
    items += _block(draw, ctx, 0)
    if fold:
        for r in GP_REGS[1:]:
            if draw(_fold_reg) != 0:
                items += [ALU64.MUL.imm(R0, FOLD), ALU64.XOR.reg(R0, r)]
    items.append(EXIT())
    return link(items)


def listing(insns: list[Instruction]) -> str:
    """One instruction a line, numbered by slot; llvm syntax when the disassembler exists."""
    lines = []
    pc = 0
    for insn in insns:
        try:
            text = str(insn)
        except Exception:  # the disassembler may not exist yet
            text = (
                f"op={insn.op:#04x} dst=r{insn.dst} src=r{insn.src} "
                f"off={insn.off} imm={insn.imm:#x}"
            )
        lines.append(f"{pc:4}: {text}")
        pc += insn.width
    return "\n".join(lines)
