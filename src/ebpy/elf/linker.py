"""Link a program: append the subprograms it calls, fix the call offsets.

libbpf's order: walk the main function's instructions; at the first call
(or callback address) into a function not yet in the program, append that
function at the end and walk it at once, depth first, before going on; then
point the call at the callee's place (``imm = callee - (insn + 1)``, in
slots). Each program gets its own copy of every subprogram it reaches, so a
subprogram may sit at different offsets in different programs. The
``.BTF.ext`` records of every function come along with byte offsets moved to
the linked program.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from ebpy.btf.ext import BtfExt, CoreRelo, FuncInfo, LineInfo
from ebpy.elf.functions import SLOT, Function
from ebpy.elf.relocations import CALL, ResolvedFunction
from ebpy.errors import ElfError
from ebpy.isa._intmath import M32
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import LDDW, CallSrc, PseudoSrc
from ebpy.spec import ExternRef


@dataclass(frozen=True)
class Linked:
    """A linked program: instructions, the functions in it and where they start."""

    insns: tuple[Instruction, ...]
    functions: tuple[tuple[Function, int, int], ...]
    """(function, first slot, first instruction index), main first."""
    maps: tuple[str, ...]
    externs: tuple[ExternRef, ...]


class _Layout:
    """The program being built."""

    def __init__(self) -> None:
        self.insns: list[Instruction] = []
        self.slots = 0
        self.placed: dict[Function, tuple[int, int]] = {}
        self.order: list[Function] = []

    def append(self, rf: ResolvedFunction) -> None:
        self.placed[rf.fn] = (self.slots, len(self.insns))
        self.order.append(rf.fn)
        self.insns.extend(rf.insns)
        self.slots += rf.fn.slots


def link(
    main: Function,
    resolved: Mapping[Function, ResolvedFunction],
    by_start: Mapping[tuple[int, int], Function],
) -> Linked:
    """The program whose entry is ``main``, with every function it reaches.

    ``by_start`` finds a function by (section index, first slot).
    """
    layout = _Layout()
    layout.append(resolved[main])
    # Depth first: a stack of (function, position in its sorted call list).
    stack: list[tuple[ResolvedFunction, list[int], int]] = []
    first = resolved[main]
    stack.append((first, _call_sites(first), 0))
    while stack:
        rf, sites, pos = stack.pop()
        if pos >= len(sites):
            continue
        stack.append((rf, sites, pos + 1))
        index = sites[pos]
        callee = _callee(rf, index, by_start)
        if callee not in layout.placed:
            layout.append(resolved[callee])
            stack.append((resolved[callee], _call_sites(resolved[callee]), 0))
        _patch(layout, rf, index, callee)
    maps: dict[str, None] = {}
    externs = []
    for fn in layout.order:
        index0 = layout.placed[fn][1]
        rf = resolved[fn]
        for i in sorted(rf.maps):
            maps.setdefault(rf.maps[i], None)
        for i in sorted(rf.externs):
            name, kind, weak = rf.externs[i]
            externs.append(ExternRef(index0 + i, name, kind, weak))
    funcs = tuple((fn, *layout.placed[fn]) for fn in layout.order)
    return Linked(tuple(layout.insns), funcs, tuple(maps), tuple(externs))


def _call_sites(rf: ResolvedFunction) -> list[int]:
    """Indexes of the instructions that call or take the address of a function."""
    out = set(rf.calls)
    for i, insn in enumerate(rf.insns):
        if i in out:
            continue
        if insn.op == CALL and insn.src == CallSrc.PSEUDO_CALL:
            out.add(i)
        elif insn.op == LDDW and insn.src == PseudoSrc.FUNC:
            raise ElfError(
                f"function {rf.fn.name!r}: callback address without a relocation",
                rf.fn.section.name,
                rf.fn.offset + _slot_of(rf.fn, i) * SLOT,
            )
    return sorted(out)


def _slot_of(fn: Function, index: int) -> int:
    return fn.slot_at[index]


def _callee(
    rf: ResolvedFunction, index: int, by_start: Mapping[tuple[int, int], Function]
) -> Function:
    fn = rf.fn
    slot = _slot_of(fn, index)
    target = rf.calls.get(index)
    if target is None:  # no relocation: relative to the instruction in its own section
        target = (fn.section.index, fn.start + slot + rf.insns[index].imm + 1)
    callee = by_start.get(target)
    if callee is None:
        raise ElfError(
            f"function {fn.name!r}: call at instruction {index} goes to slot {target[1]}, "
            "where no function starts",
            fn.section.name,
            (fn.start + slot) * SLOT,
        )
    return callee


def _patch(layout: _Layout, rf: ResolvedFunction, index: int, callee: Function) -> None:
    caller_slot, caller_index = layout.placed[rf.fn]
    slot = caller_slot + _slot_of(rf.fn, index)
    delta = layout.placed[callee][0] - slot - 1
    at = caller_index + index
    insn = layout.insns[at]
    imm = delta if insn.op == CALL else delta & M32
    layout.insns[at] = insn.replace(imm=imm)


_R = TypeVar("_R", FuncInfo, LineInfo, CoreRelo)


def _moved(records: Sequence[_R], fn: Function, slot0: int) -> list[_R]:
    shift = slot0 * SLOT - fn.offset
    return [replace(r, insn_off=r.insn_off + shift) for r in records if fn.contains(r.insn_off)]


def ext_records(
    ext: BtfExt | None, linked: Linked
) -> tuple[tuple[FuncInfo, ...], tuple[LineInfo, ...], tuple[CoreRelo, ...]]:
    """The ``.BTF.ext`` records of a linked program, offsets into the program."""
    if ext is None:
        return (), (), ()
    funcs: list[FuncInfo] = []
    lines: list[LineInfo] = []
    relos: list[CoreRelo] = []
    for fn, slot0, _ in linked.functions:
        sec = fn.section.name
        funcs += _moved(ext.func_info.get(sec, ()), fn, slot0)
        lines += _moved(ext.line_info.get(sec, ()), fn, slot0)
        relos += _moved(ext.core_relos.get(sec, ()), fn, slot0)
    return tuple(funcs), tuple(lines), tuple(relos)
