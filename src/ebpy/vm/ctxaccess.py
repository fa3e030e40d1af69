"""Find the loads and stores that touch the program context, check and rewrite them.

The kernel's verifier knows which instructions access the context and lets the
program type rewrite them (``convert_ctx_access``): a 32-bit load of
``__sk_buff.data`` becomes a 64-bit load of the real ``sk_buff`` pointer. The VM
does the same at load time: a small forward data-flow pass tracks which
registers and stack slots hold the context pointer (``ctx + k``) or a frame
pointer (``fp + k``), through moves, constant adds, spills and fills, calls
into subprograms and back; then every memory access whose base is the context
is checked with ``ProgTypeInfo.access`` and rewritten to the VM's context
layout. An access whose base is the context on one path and something else on
another is refused, as the kernel refuses it.

This is not the verifier: it tracks nothing but these two pointer kinds, and
it does not prove any access safe (the VM checks every access at run time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ebpy.errors import ContextAccessError
from ebpy.isa.instruction import Instruction, slot_starts
from ebpy.isa.opcodes import AluOp, Class, Mode, PseudoSrc, Size, Source
from ebpy.progtypes.base import ProgTypeInfo

# An abstract value: None (anything else), ("ctx", k), ("fp", k); k None = unknown offset.
Value = tuple[str, int | None] | None
CONFLICT: Value = ("conflict", None)

_SIZE_CODE = {1: Size.B, 2: Size.H, 4: Size.W, 8: Size.DW}


@dataclass
class _State:
    regs: list[Value]
    stack: dict[int, Value]

    def copy(self) -> _State:
        return _State(list(self.regs), dict(self.stack))


def _join_value(a: Value, b: Value) -> Value:
    if a == b:
        return a
    if a is not None and b is not None and a[0] == b[0] and a[0] != "conflict":
        return (a[0], None)
    if a is None and b is None:
        return None
    return CONFLICT


def _join(a: _State, b: _State) -> _State:
    regs = [_join_value(x, y) for x, y in zip(a.regs, b.regs, strict=True)]
    stack = {
        k: _join_value(a.stack.get(k), b.stack.get(k)) for k in a.stack.keys() | b.stack.keys()
    }
    return _State(regs, {k: v for k, v in stack.items() if v is not None})


class _Analysis:
    def __init__(self, insns: Sequence[Instruction]) -> None:
        self.insns = list(insns)
        starts = slot_starts(self.insns)
        self.at = dict(zip(starts, self.insns, strict=True))
        self.states: dict[int, _State] = {}
        self.bases: dict[int, set[Value]] = {}
        """Per memory instruction: the abstract values its base register held."""

    def target(self, pc: int, insn: Instruction) -> int:
        if insn.is_local_call or (insn.is_lddw and insn.src == PseudoSrc.FUNC):
            return pc + 1 + insn.imm
        return pc + 1 + insn.jump_offset

    def run(self) -> None:
        entry = _State([None] * 11, {})
        entry.regs[1] = ("ctx", 0)
        self._flow(0, entry)
        for pc, insn in self.at.items():  # callbacks (lddw func): no context arguments
            if insn.is_lddw and insn.src == PseudoSrc.FUNC:
                self._flow(self.target(pc, insn), _State([None] * 11, {}))

    def _flow(self, pc: int, state: _State) -> None:
        todo = [(pc, state)]
        while todo:
            pc, st = todo.pop()
            if pc not in self.at:
                continue
            old = self.states.get(pc)
            if old is not None:
                merged = _join(old, st)
                if merged == old:
                    continue
                st = merged
            self.states[pc] = st
            todo.extend(self._step(pc, self.at[pc], st.copy()))

    def _step(self, pc: int, insn: Instruction, st: _State) -> list[tuple[int, _State]]:
        r = st.regs
        r[10] = ("fp", 0)
        cls = insn.op & 0x07
        nxt = pc + insn.width
        if insn.is_exit:
            return []
        if insn.is_call:
            if insn.is_local_call:
                callee = _State([None] * 11, {})
                callee.regs[1:6] = r[1:6]
                self._flow(self.target(pc, insn), callee)
            for i in range(6):
                r[i] = None
            return [(nxt, st)]
        if insn.is_branch:
            out = [(self.target(pc, insn), st)]
            if not insn.is_unconditional:
                out.append((nxt, st.copy()))
            return out
        if insn.is_lddw:
            r[insn.dst] = None
        elif cls in (Class.ALU, Class.ALU64):
            r[insn.dst] = self._alu(insn, r, cls == Class.ALU64)
        elif cls == Class.LDX:
            base = r[insn.src]
            self.bases.setdefault(pc, set()).add(base)
            value: Value = None
            if (
                base is not None
                and base[0] == "fp"
                and base[1] is not None
                and insn.size.nbytes == 8
            ):
                value = st.stack.get(base[1] + insn.off)
            r[insn.dst] = value
        elif cls in (Class.ST, Class.STX):
            base = r[insn.dst]
            self.bases.setdefault(pc, set()).add(base)
            if base is not None and base[0] == "fp":
                self._store_stack(st, base[1], insn)
            if insn.mode == Mode.ATOMIC and insn.imm & 0x01:  # fetch / xchg / cmpxchg
                r[0 if insn.imm == 0xF1 else insn.src] = None
        elif cls == Class.LD:  # LD_ABS / LD_IND clobber r1-r5 and set r0
            for i in range(6):
                r[i] = None
        return [(nxt, st)]

    @staticmethod
    def _alu(insn: Instruction, r: list[Value], is64: bool) -> Value:
        op = insn.op & 0xF0
        x = bool(insn.op & Source.X)
        if not is64:
            return None
        if op == AluOp.MOV:
            return r[insn.src] if x and not insn.off else None
        cur = r[insn.dst]
        if cur is None or cur == CONFLICT:
            return None
        kind, k = cur
        if op in (AluOp.ADD, AluOp.SUB) and not x:
            delta = insn.imm if op == AluOp.ADD else -insn.imm
            return (kind, None if k is None else k + delta)
        if op == AluOp.ADD and x and r[insn.src] is None:
            return (kind, None)
        return None

    @staticmethod
    def _store_stack(st: _State, k: int | None, insn: Instruction) -> None:
        if k is None:
            st.stack.clear()
            return
        lo = k + insn.off
        size = insn.size.nbytes
        for slot in [s for s in st.stack if s < lo + size and lo < s + 8]:
            del st.stack[slot]
        if (insn.op & 0x07) == Class.STX and insn.mode == Mode.MEM and size == 8:
            value = st.regs[insn.src]
            if value is not None:
                st.stack[lo] = value


def rewrite_context_access(insns: Sequence[Instruction], info: ProgTypeInfo) -> list[Instruction]:
    """``insns`` with every context access checked and moved to the VM layout.

    >>> from ebpy.isa.asm import assemble
    >>> from ebpy.progtypes import prog_type_info
    >>> prog = assemble("r2 = *(u32 *)(r1 + 0)\\nr0 = 0\\nexit")
    >>> str(rewrite_context_access(prog, prog_type_info("xdp"))[0])
    'r2 = *(u64 *)(r1 + 24)'
    """
    a = _Analysis(insns)
    a.run()
    starts = slot_starts(insns)
    out = list(insns)
    for index, pc in enumerate(starts):
        bases = a.bases.get(pc)
        if not bases or not any(b is not None and b[0] in ("ctx", "conflict") for b in bases):
            continue
        insn = out[index]
        write = (insn.op & 0x07) != Class.LDX
        size = insn.size.nbytes
        if len(bases) != 1 or CONFLICT in bases:
            raise ContextAccessError(
                info.name, insn.off, size, write, pc, "the base may or may not be the context"
            )
        (base,) = bases
        assert base is not None
        k = base[1]
        if k is None:
            raise ContextAccessError(
                info.name, insn.off, size, write, pc, "variable offset into the context"
            )
        if insn.mode == Mode.ATOMIC:
            raise ContextAccessError(info.name, k + insn.off, size, True, pc, "atomic on context")
        offset, new_size = info.access(k + insn.off, size, write, pc)
        if (offset, new_size) != (k + insn.off, size):
            if insn.mode != Mode.MEM:
                raise ContextAccessError(
                    info.name, k + insn.off, size, write, pc, "sign-extending load of a pointer"
                )
            op = (insn.op & ~0x18) | _SIZE_CODE[new_size]
            out[index] = insn.replace(op=op, off=offset - k)
    return out
