"""Compile an eBPF program into Python source: the interpreter's fast core.

Each subprogram becomes one Python function whose eleven registers are local
variables. Its basic blocks sit in a binary dispatch tree on ``pc`` inside a
``while True`` loop; a block that jumps back to itself becomes an inner
``while`` loop with no dispatch at all. Accesses through ``r10`` with a
constant offset go straight to the frame's stack buffer, checked at compile
time; every other access looks its region up by address and checks bounds.
Executed instructions are counted per block and checked against the budget on
every back-edge and call.

The generated source is a factory ``_make(...)`` returning the entry function;
``Vm`` (in ``interpreter``) calls it once per run with that run's memory. This
module decides nothing about program types or helpers' semantics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from ebpy.errors import InvalidInstructionError
from ebpy.isa._intmath import M32, M64, SIGN32, SIGN64
from ebpy.isa.encoding import validate
from ebpy.isa.instruction import Instruction, slot_starts
from ebpy.isa.opcodes import (
    AluOp,
    AtomicOp,
    CallSrc,
    Class,
    Endian,
    JmpOp,
    Mode,
    PseudoSrc,
    Source,
)

STACK_SIZE = 512
MAX_CALL_DEPTH = 8
FUNC_SLOT = 0xFFFF_FFFE
STACK_SLOT = 0xFFFF_FF00
"""Stack frame at call depth ``d`` lives in slot ``STACK_SLOT + d``."""
VIEW_FORMATS: tuple[Literal["H", "I", "Q", "b", "h", "i"], ...] = ("H", "I", "Q", "b", "h", "i")
"""Typed views of each stack buffer, in the order ``VIEWS[depth]`` holds them."""
_VIEW_INDEX = {"vu2": 0, "vu4": 1, "vu8": 2, "vs1": 3, "vs2": 4, "vs4": 5}
"""Addresses of subprograms (``lddw`` with BPF_PSEUDO_FUNC): ``FUNC_SLOT << 32 | pc * 8``."""

PseudoResolver = Callable[[int, Instruction], int]

CALLBACK_HELPERS = frozenset({164, 180, 181, 209})
"""Helpers that call back into the program (for_each_map_elem, find_vma, loop,
user_ringbuf_drain): the compiled call tells them the current depth."""

_STRUCT = {1: "B", 2: "H", 4: "I", 8: "Q"}
_SIGNED = {1: "b", 2: "h", 4: "i", 8: "q"}

_CMP = {
    JmpOp.JEQ: "==",
    JmpOp.JNE: "!=",
    JmpOp.JGT: ">",
    JmpOp.JGE: ">=",
    JmpOp.JLT: "<",
    JmpOp.JLE: "<=",
    JmpOp.JSGT: ">",
    JmpOp.JSGE: ">=",
    JmpOp.JSLT: "<",
    JmpOp.JSLE: "<=",
}
_SIGNED_JMP = frozenset({JmpOp.JSGT, JmpOp.JSGE, JmpOp.JSLT, JmpOp.JSLE})

_ATOMIC_EXPR = {
    AtomicOp.ADD: "(old + {s}) & {m}",
    AtomicOp.OR: "old | ({s} & {m})",
    AtomicOp.AND: "old & {s}",
    AtomicOp.XOR: "(old ^ {s}) & {m}",
}


def func_address(pc: int) -> int:
    """The value ``lddw rX, func`` gives for a subprogram at ``pc``."""
    return (FUNC_SLOT << 32) | (pc * 8)


@dataclass(frozen=True)
class Compiled:
    """Generated source and the facts ``Vm`` needs to run it."""

    source: str
    entry: int
    frames: int
    functions: tuple[int, ...]
    helper_ids: tuple[int, ...]


class _Emitter:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    def __call__(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)


class ProgramCompiler:
    """Turns validated instructions into the source of a ``_make`` factory."""

    def __init__(
        self,
        insns: Sequence[Instruction],
        *,
        helper_ids: frozenset[int],
        budget: int,
        resolve_pseudo: PseudoResolver | None = None,
    ) -> None:
        if not insns:
            raise InvalidInstructionError(0, 0, "empty program")
        self.insns = list(insns)
        self.starts = slot_starts(self.insns)
        self.at = dict(zip(self.starts, self.insns, strict=True))
        self.nslots = self.starts[-1] + self.insns[-1].width
        self.helper_ids = helper_ids
        self.budget = budget
        self.resolve_pseudo = resolve_pseudo
        self._check()
        self.functions = self._function_entries()
        self.frames = (
            1
            if not any(
                (i.is_call and (i.src == CallSrc.PSEUDO_CALL or i.op & Source.X))
                or (i.is_lddw and i.src == PseudoSrc.FUNC)
                for i in self.insns
            )
            else MAX_CALL_DEPTH
        )
        """How many stack frames a run may need."""
        self.leaders = self._leaders()

    # -- analysis -------------------------------------------------------------
    def _target(self, pc: int, insn: Instruction) -> int:
        return (
            pc
            + 1
            + (
                insn.imm
                if insn.is_local_call or (insn.src == PseudoSrc.FUNC and insn.is_lddw)
                else insn.jump_offset
            )
        )

    def _check(self) -> None:
        for pc, insn in self.at.items():
            reason = validate(insn)
            if reason:
                raise InvalidInstructionError(pc, insn.op, reason)
            if _writes_r10(insn):
                raise InvalidInstructionError(pc, insn.op, "r10 is read-only")
            if (
                insn.is_branch
                or insn.is_local_call
                or (insn.is_lddw and insn.src == PseudoSrc.FUNC)
            ):
                target = self._target(pc, insn)
                if target not in self.at:
                    raise InvalidInstructionError(
                        pc, insn.op, f"jump to {target} outside the program"
                    )

    def _function_entries(self) -> list[int]:
        entries = {0}
        for pc, insn in self.at.items():
            if insn.is_local_call or (insn.is_lddw and insn.src == PseudoSrc.FUNC):
                entries.add(self._target(pc, insn))
        return sorted(entries)

    def _leaders(self) -> set[int]:
        leaders = set(self.functions)
        for pc, insn in self.at.items():
            if insn.is_branch:
                leaders.add(self._target(pc, insn))
        return leaders

    def _reachable_blocks(self, entry: int) -> list[int]:
        seen: set[int] = set()
        todo = [entry]
        while todo:
            start = todo.pop()
            if start in seen:
                continue
            seen.add(start)
            pc = start
            while pc in self.at:
                insn = self.at[pc]
                if insn.is_branch:
                    todo.append(self._target(pc, insn))
                    if insn.is_unconditional:
                        break
                if insn.is_exit:
                    break
                pc += insn.width
                if pc in self.leaders:
                    todo.append(pc)
                    break
        return sorted(seen)

    # -- code generation ------------------------------------------------------
    def compile(self) -> Compiled:
        e = _Emitter()
        e("def _make(rt, STACKS, VIEWS, RB, WB, PKT, HF, callx_helper):")
        e.depth += 1
        e("rget = RB.get")
        e("wget = WB.get")
        used = sorted(
            i.imm
            for i in self.insns
            if i.is_call
            and i.src == CallSrc.HELPER
            and not i.op & Source.X
            and i.imm in self.helper_ids
        )
        for hid in dict.fromkeys(used):
            e(f"h{hid} = HF[{hid}]")
        for entry in self.functions:
            self._function(e, entry)
        e("FUNCS = {" + ", ".join(f"{func_address(f)}: f{f}" for f in self.functions) + "}")
        e("def callx(pc, target, r1, r2, r3, r4, r5, n, depth):")
        e("    fn = FUNCS.get(target)")
        e("    if fn is not None:")
        e("        return fn(r1, r2, r3, r4, r5, n, depth)")
        e("    return callx_helper(rt, pc, target, r1, r2, r3, r4, r5), n")
        e("return f0, callx")
        return Compiled(
            "\n".join(e.lines) + "\n",
            0,
            self.frames,
            tuple(self.functions),
            tuple(sorted(self.helper_ids)),
        )

    def _function(self, e: _Emitter, entry: int) -> None:
        e(f"def f{entry}(r1, r2, r3, r4, r5, n, depth):")
        e.depth += 1
        e(f"if depth >= {MAX_CALL_DEPTH}:")
        e(f"    raise CallDepthError({entry}, depth)")
        body = _Emitter()
        body.depth = e.depth + 1
        self._views: set[str] = set()
        self._tree(body, self._reachable_blocks(entry))
        e("stk = STACKS[depth]")
        for name in sorted(self._views):
            e(f"{name} = VIEWS[depth][{_VIEW_INDEX[name]}]")
        e(f"r10 = {STACK_SLOT << 32} + (depth << 32) + {STACK_SIZE}")
        e("r0 = r6 = r7 = r8 = r9 = 0")
        e(f"pc = {entry}")
        e("while True:")
        e.lines.extend(body.lines)
        e.depth -= 1

    def _tree(self, e: _Emitter, blocks: list[int]) -> None:
        if len(blocks) == 1:
            self._block(e, blocks[0])
            return
        mid = len(blocks) // 2
        e(f"if pc < {blocks[mid]}:")
        e.depth += 1
        self._tree(e, blocks[:mid])
        e.depth -= 1
        e("else:")
        e.depth += 1
        self._tree(e, blocks[mid:])
        e.depth -= 1

    def _block_range(self, start: int) -> list[int]:
        pcs = []
        pc = start
        while pc in self.at:
            pcs.append(pc)
            insn = self.at[pc]
            if insn.is_exit or insn.is_unconditional:
                break
            pc += insn.width
            if pc in self.leaders:
                break
        return pcs

    def _block(self, e: _Emitter, start: int) -> None:
        pcs = self._block_range(start)
        loop = any(self.at[p].is_branch and self._target(p, self.at[p]) == start for p in pcs)
        if loop:
            e("while True:")
            e.depth += 1
        k = 0
        last = pcs[-1]
        for pc in pcs:
            insn = self.at[pc]
            k += 1
            if insn.is_exit:
                e(f"return r0, n + {k}")
                break
            if insn.is_branch:
                target = self._target(pc, insn)
                cond = None if insn.is_unconditional else self._cond(insn)
                if cond is not None:
                    e(f"if {cond}:")
                    e.depth += 1
                self._jump(e, k, target, start, loop, back=target <= pc)
                if cond is not None:
                    e.depth -= 1
                if insn.is_unconditional:
                    break
            elif insn.is_call:
                if self._call(e, pc, insn, k):
                    k = 0
            else:
                self._straight(e, pc, insn)
            if pc == last:
                nxt = pc + insn.width
                if nxt not in self.at:
                    e(
                        f"raise InvalidInstructionError({pc}, {insn.op}, "
                        "'execution falls off the end of the program')"
                    )
                else:
                    self._jump(e, k, nxt, start, loop, back=False)
        if loop:
            e.depth -= 1

    def _jump(self, e: _Emitter, k: int, target: int, start: int, loop: bool, back: bool) -> None:
        if k:
            e(f"n += {k}")
        if back:
            e(f"if n > {self.budget}:")
            e(f"    raise BudgetExceededError({target}, {self.budget})")
        if loop and target == start:
            e("continue")
        elif loop:
            e(f"pc = {target}")
            e("break")
        else:
            e(f"pc = {target}")
            e("continue")

    def _cond(self, insn: Instruction) -> str:
        op = JmpOp(insn.op & 0xF0)
        is32 = insn.op & 0x07 == Class.JMP32
        mask = M32 if is32 else M64
        sign = SIGN32 if is32 else SIGN64
        a = f"(r{insn.dst} & {M32})" if is32 else f"r{insn.dst}"
        if insn.op & Source.X:
            b = f"(r{insn.src} & {M32})" if is32 else f"r{insn.src}"
            if op in _SIGNED_JMP:
                a, b = f"({a} ^ {sign})", f"({b} ^ {sign})"
        else:
            k = insn.imm & mask
            if op in _SIGNED_JMP:
                a, k = f"({a} ^ {sign})", k ^ sign
            b = str(k)
        if op == JmpOp.JSET:
            return f"{a} & {b}"
        return f"{a} {_CMP[op]} {b}"

    def _call(self, e: _Emitter, pc: int, insn: Instruction, k: int) -> bool:
        """Emit a call; True when the count ``k`` was handed to a callee."""
        if insn.op & Source.X:
            e(f"r0, n = callx({pc}, r{insn.dst}, r1, r2, r3, r4, r5, n + {k}, depth + 1)")
            return True
        if insn.src == CallSrc.PSEUDO_CALL:
            target = self._target(pc, insn)
            e(f"r0, n = f{target}(r1, r2, r3, r4, r5, n + {k}, depth + 1)")
            return True
        if insn.src == CallSrc.KFUNC:
            e(
                f"raise InvalidInstructionError({pc}, {insn.op}, "
                "'kfunc calls run only on the kernel backend')"
            )
            return False
        if insn.imm in self.helper_ids:
            if insn.imm in CALLBACK_HELPERS:  # its callbacks run one frame deeper
                e("rt.depth = depth")
            e(f"r0 = h{insn.imm}(rt, r1, r2, r3, r4, r5) & {M64}")
        else:
            e(f"raise UnknownHelperError({pc}, {insn.imm})")
        return False

    # -- straight-line instructions -------------------------------------------
    def _straight(self, e: _Emitter, pc: int, insn: Instruction) -> None:
        cls = insn.op & 0x07
        if cls in (Class.ALU, Class.ALU64):
            for line in self._alu(insn):
                e(line)
        elif insn.is_lddw:
            e(f"r{insn.dst} = {self._lddw_value(pc, insn)}")
        elif cls == Class.LD:
            self._ld_packet(e, insn)
        elif cls == Class.LDX:
            self._ldx(e, pc, insn)
        elif cls == Class.ST:
            self._store(e, pc, insn, str(insn.imm & _mask(insn.size.nbytes)))
        elif insn.op & 0xE0 == Mode.ATOMIC:
            self._atomic(e, pc, insn)
        else:
            self._store(e, pc, insn, f"r{insn.src} & {_mask(insn.size.nbytes)}")

    def _lddw_value(self, pc: int, insn: Instruction) -> int:
        if insn.src == PseudoSrc.IMM:
            return insn.imm
        if insn.src == PseudoSrc.FUNC:
            return func_address(self._target(pc, insn))
        if self.resolve_pseudo is None:
            raise InvalidInstructionError(
                pc, insn.op, f"lddw with {PseudoSrc(insn.src).name} needs a runtime with maps"
            )
        return self.resolve_pseudo(pc, insn) & M64

    def _alu(self, insn: Instruction) -> list[str]:
        is64 = insn.op & 0x07 == Class.ALU64
        m = M64 if is64 else M32
        d = f"r{insn.dst}"
        x = bool(insn.op & Source.X)
        op = AluOp(insn.op & 0xF0)
        s = f"r{insn.src}" if x else str(insn.imm & m)
        s32 = f"(r{insn.src} & {M32})" if x else s
        dd = d if is64 else f"({d} & {M32})"
        if op == AluOp.END:
            return [_end(d, insn.imm, is64 or bool(insn.op & Endian.TO_BE))]
        if op == AluOp.MOV:
            if x and insn.off:
                bits = insn.off
                half = 1 << (bits - 1)
                return [f"{d} = (((r{insn.src} & {(1 << bits) - 1}) ^ {half}) - {half}) & {m}"]
            return [f"{d} = {s if is64 or not x else s32}"]
        if op == AluOp.NEG:
            return [f"{d} = -{d} & {m}"]
        if op in (AluOp.ADD, AluOp.SUB, AluOp.MUL):
            sym = {AluOp.ADD: "+", AluOp.SUB: "-", AluOp.MUL: "*"}[op]
            return [f"{d} = ({d} {sym} {s}) & {m}"]
        if op == AluOp.OR:
            return [f"{d} = {d} | {s}" if is64 else f"{d} = ({d} | {s}) & {M32}"]
        if op == AluOp.AND:
            return [f"{d} = {d} & {s}" if is64 or not x else f"{d} = {d} & {s} & {M32}"]
        if op == AluOp.XOR:
            return [f"{d} = {d} ^ {s}" if is64 else f"{d} = ({d} ^ {s}) & {M32}"]
        if op in (AluOp.LSH, AluOp.RSH, AluOp.ARSH):
            bits = 63 if is64 else 31
            sh = f"({s} & {bits})" if x else str(insn.imm & bits)
            if op == AluOp.LSH:
                return [f"{d} = ({d} << {sh}) & {m}"]
            if op == AluOp.RSH:
                return [f"{d} = {dd} >> {sh}"]
            sign = SIGN64 if is64 else SIGN32
            return [f"{d} = ((({dd} ^ {sign}) - {sign}) >> {sh}) & {m}"]
        if insn.off == 1:  # signed division and modulo
            fn = "sdiv" if op == AluOp.DIV else "smod"
            return [f"{d} = _{fn}({dd}, {s32 if not is64 else s}, {64 if is64 else 32})"]
        if op == AluOp.DIV:
            if not x:
                return [f"{d} = {dd} // {s}" if insn.imm & m else f"{d} = 0"]
            return [f"t = {s32 if not is64 else s}", f"{d} = {dd} // t if t else 0"]
        if op == AluOp.MOD:
            if not x:
                return [f"{d} = {dd} % {s}" if insn.imm & m else f"{d} = {dd}"]
            return [f"t = {s32 if not is64 else s}", f"{d} = {dd} % t if t else {dd}"]
        raise InvalidInstructionError(None, insn.op, "unknown ALU operation")

    def _address(self, e: _Emitter, pc: int, base: int, off: int, size: int, write: bool) -> str:
        """Emit the lookup of ``base + off``; returns the buffer variable to use."""
        if base == 10:
            o = STACK_SIZE + off
            if o >= 0 and o + size <= STACK_SIZE:
                e(f"o = {o}")
                return "stk"
            e(f"raise rt.memory.fault((r10 + {off}) & {M64}, {size}, {write}, {pc})")
            return ""
        e(f"a = (r{base} + {off}) & {M64}" if off else f"a = r{base}")
        e(f"b = {'wget' if write else 'rget'}(a >> 32)")
        e(f"o = a & {M32}")
        e(f"if b is None or o > len(b) - {size}:")
        e(f"    raise rt.memory.fault(a, {size}, {write}, {pc})")
        return "b"

    def _stack_view(self, off: int, size: int, signed: bool) -> str | None:
        """``view[index]`` for an aligned constant-offset stack access, else None."""
        o = STACK_SIZE + off
        if o < 0 or o + size > STACK_SIZE or o % size:
            return None
        if size == 1 and not signed:
            return f"stk[{o}]"
        name = f"v{'s' if signed else 'u'}{size}"
        self._views.add(name)
        return f"{name}[{o // size}]"

    def _ldx(self, e: _Emitter, pc: int, insn: Instruction) -> None:
        size = insn.size.nbytes
        signed = insn.op & 0xE0 == Mode.MEMSX
        if insn.src == 10 and (view := self._stack_view(insn.off, size, signed)):
            e(f"r{insn.dst} = {view} & {M64}" if signed else f"r{insn.dst} = {view}")
            return
        buf = self._address(e, pc, insn.src, insn.off, size, False)
        if not buf:
            return
        if signed:
            e(f"r{insn.dst} = _S{size}({buf}, o)[0] & {M64}")
        else:
            e(f"r{insn.dst} = _U{size}({buf}, o)[0]")

    def _store(self, e: _Emitter, pc: int, insn: Instruction, value: str) -> None:
        size = insn.size.nbytes
        if insn.dst == 10 and (view := self._stack_view(insn.off, size, False)):
            e(f"{view} = {value}")
            return
        buf = self._address(e, pc, insn.dst, insn.off, size, True)
        if buf:
            e(f"_P{size}({buf}, o, {value})")

    def _atomic(self, e: _Emitter, pc: int, insn: Instruction) -> None:
        size = insn.size.nbytes
        m = M64 if size == 8 else M32
        buf = self._address(e, pc, insn.dst, insn.off, size, True)
        if not buf:
            return
        s = f"r{insn.src}"
        e(f"old = _U{size}({buf}, o)[0]")
        op = AtomicOp(insn.imm)
        if op == AtomicOp.CMPXCHG:
            e(f"if old == r0 & {m}:")
            e(f"    _P{size}({buf}, o, {s} & {m})")
            e("r0 = old")
            return
        if op == AtomicOp.XCHG:
            e(f"_P{size}({buf}, o, {s} & {m})")
        else:
            base_op = AtomicOp(insn.imm & ~0x01)
            e(f"_P{size}({buf}, o, {_ATOMIC_EXPR[base_op].format(s=s, m=m)})")
        if insn.imm & 0x01:
            e(f"{s} = old")

    def _ld_packet(self, e: _Emitter, insn: Instruction) -> None:
        size = insn.size.nbytes
        if insn.op & 0xE0 == Mode.IND:
            e(f"o = ((r{insn.src} + {insn.imm}) & {M32} ^ {SIGN32}) - {SIGN32}")
        else:
            e(f"o = {insn.imm}")
        e(f"if PKT is None or o < 0 or o + {size} > len(PKT):")
        e(f"    r0 = _ld_slow(rt, o, {size})")  # SKF_NET_OFF/SKF_LL_OFF, or out of bounds
        e("else:")
        e(f"    r0 = _BE{size}(PKT, o)[0]")


def _writes_r10(insn: Instruction) -> bool:
    cls = insn.op & 0x07
    if cls in (Class.ALU, Class.ALU64, Class.LDX) or insn.is_lddw:
        return insn.dst == 10
    if insn.op & 0xE0 == Mode.ATOMIC and cls == Class.STX:
        return insn.src == 10 and bool(insn.imm & 0x01)
    return False


def _mask(nbytes: int) -> int:
    return (1 << (8 * nbytes)) - 1


def _end(d: str, bits: int, swap: bool) -> str:
    if not swap:
        return f"{d} = {d} & {_mask(bits // 8)}" if bits < 64 else f"{d} = {d}"
    if bits == 16:
        return f"{d} = (({d} & 255) << 8) | (({d} >> 8) & 255)"
    return f"{d} = _bswap{bits}({d})"
