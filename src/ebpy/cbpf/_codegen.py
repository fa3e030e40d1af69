"""Classic programs to Python source: the code generator behind ``ebpy.cbpf.interp``.

Classic jumps only go forward, so a program is a DAG of basic blocks. Each
block becomes straight-line Python over the locals ``A``, ``X`` and ``m0`` ..
``m15`` (scratch memory), ending in a ``return``; a conditional jump becomes
``if cond:`` around the smaller branch, the other following unindented (both
end in a ``return``, so no ``else`` is needed and nesting stays shallow). A
block that several jumps reach is inlined at each of them while it is small,
and becomes its own function (called in tail position with the machine state
as arguments) when it is not, so the code grows at most linearly.

Packet bounds are checked against ``n`` (the captured length) before each
load, once per block where no instruction in it can end the program early,
and not again where an enclosing check already covers the load. Anything a
valid program never does (an unknown opcode, a jump out of the program,
falling off its end, scratch memory past ``M[15]``) returns 0, as libpcap's
``bpf_filter`` does.

``linux=True`` generates the kernel's semantics (ancillary loads, negative
offsets, shifts by ``X`` modulo 32, ``[x + k]`` wrapping at 32 bits) calling
the helpers ``interp`` binds: ``_neg`` (loads below offset 0), ``_nla``/``_nlan``
and ``_rand``, and reading ``_ad_<name>`` for the ancillary values. This
module only writes source; it does not run anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

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
from ebpy.isa._intmath import s32

__all__ = ["Generated", "generate"]

INLINE_LIMIT = 8
"""A block reached from several places is inlined at each while its code is this small."""
MAX_DEPTH = 40
"""Nesting of ``if`` bodies beyond which a branch becomes a function call."""
MAX_BACKWARD_JUMPS = 64
"""Backward ``ja`` (libpcap's ``protochain`` loops) followed per packet before giving 0,
as newer libpcap releases do (older ones set no limit)."""

_SIZE = {BPF_W: 4, BPF_H: 2, BPF_B: 1}
_FAIL = -1
"""Successor index meaning "leave the program returning 0"."""

_CMP = {BPF_JEQ: ("==", "!="), BPF_JGT: (">", "<="), BPF_JGE: (">=", "<")}
_ALU_K = {
    BPF_ADD: "A = (A + {k}) & 0xFFFFFFFF",
    BPF_SUB: "A = (A - {k}) & 0xFFFFFFFF",
    BPF_MUL: "A = A * {k} & 0xFFFFFFFF",
    BPF_AND: "A &= {k}",
    BPF_OR: "A |= {k}",
    BPF_XOR: "A ^= {k}",
}
_ALU_X = {
    BPF_ADD: "A = (A + X) & 0xFFFFFFFF",
    BPF_SUB: "A = (A - X) & 0xFFFFFFFF",
    BPF_MUL: "A = A * X & 0xFFFFFFFF",
    BPF_AND: "A &= X",
    BPF_OR: "A |= X",
    BPF_XOR: "A ^= X",
}


KNOWN_CODES = frozenset(
    {
        BPF_RET | BPF_K,
        BPF_RET | BPF_A,
        BPF_LD | BPF_W | BPF_LEN,
        BPF_LDX | BPF_W | BPF_LEN,
        BPF_LD | BPF_IMM,
        BPF_LDX | BPF_IMM,
        BPF_LDX | BPF_MSH | BPF_B,
        BPF_LD | BPF_MEM,
        BPF_LDX | BPF_MEM,
        BPF_ST,
        BPF_STX,
        BPF_JMP | BPF_JA,
        BPF_ALU | BPF_NEG,
        BPF_MISC | BPF_TAX,
        BPF_MISC | BPF_TXA,
        *COND_JUMPS,
        *(BPF_LD | size | mode for size in _SIZE for mode in (BPF_ABS, BPF_IND)),
        *(
            BPF_ALU | op | src
            for op in (*_ALU_K, BPF_DIV, BPF_MOD, BPF_LSH, BPF_RSH)
            for src in (BPF_K, BPF_X)
        ),
    }
)
"""Every code libpcap's ``bpf_filter`` runs (and the kernel's ``chk_code_allowed`` takes)."""


@dataclass
class Generated:
    """Source of ``def _make(<helpers>)`` returning ``run(p, wirelen) -> int``."""

    source: str
    functions: int
    """How many blocks became functions of their own."""


@dataclass
class _Block:
    start: int
    end: int  # exclusive: insns[start:end], the last one may be a jump or ret
    succs: list[int] = field(default_factory=list)  # block starts, or _FAIL
    preds: int = 0
    cost: int = 0


def _load(size: int, at: int | str) -> str:
    """A big-endian load of ``size`` bytes at ``at`` (a constant or a local's name)."""
    nxt = at + 1 if isinstance(at, int) else f"{at} + 1"
    if size == 1:
        return f"p[{at}]"
    if size == 2:
        return f"p[{at}] << 8 | p[{nxt}]"
    return f"_W(p, {at})[0]"


class _Gen:
    def __init__(self, insns: Sequence[Insn], linux: bool) -> None:
        self.insns = list(insns)
        self.linux = linux
        self.mems = sorted({i.k for i in insns if self._is_mem(i) and i.k < BPF_MEMWORDS})
        self.blocks: dict[int, _Block] = {}
        self.functions: set[int] = set()
        ja = [(pc, pc + 1 + s32(i.k)) for pc, i in enumerate(insns) if i.code == BPF_JMP | BPF_JA]
        self.loop_heads = set() if linux else {d for pc, d in ja if 0 <= d <= pc}
        """Targets of backward jumps: they become functions, called with a jump count."""
        self.looping = bool(self.loop_heads)
        self.functions |= self.loop_heads
        self.lines: list[str] = []

    @staticmethod
    def _is_mem(i: Insn) -> bool:
        return i.code in (BPF_LD | BPF_MEM, BPF_LDX | BPF_MEM, BPF_ST, BPF_STX)

    # -- control flow ---------------------------------------------------------------------
    def succs(self, pc: int) -> list[int]:
        """Where control goes after ``insns[pc]``: [] for an end, _FAIL past the program."""
        insn, n = self.insns[pc], len(self.insns)
        code = insn.code
        if code & 0x07 == BPF_RET or self._ends(insn):
            return []
        if code == BPF_JMP | BPF_JA:  # libpcap sign-extends k (protochain jumps back)
            dests = [pc + 1 + (insn.k if self.linux else s32(insn.k))]
        elif code in COND_JUMPS:
            dests = [pc + 1 + insn.jt, pc + 1 + insn.jf]
        else:
            dests = [pc + 1]
        return [d if 0 <= d < n else _FAIL for d in dests]

    def _ends(self, insn: Insn) -> bool:
        """An instruction that always leaves the program (with 0) here."""
        code = insn.code
        if code & 0x07 == BPF_JMP:
            return code != BPF_JMP | BPF_JA and code not in COND_JUMPS
        if self._is_mem(insn):
            return insn.k >= BPF_MEMWORDS
        if code in (BPF_ALU | BPF_DIV | BPF_K, BPF_ALU | BPF_MOD | BPF_K):
            return insn.k == 0
        return code not in KNOWN_CODES

    def build_blocks(self) -> None:
        n = len(self.insns)
        leaders = {0}
        for pc in range(n):
            s = self.succs(pc)
            if len(s) != 1 or s[0] != pc + 1:
                leaders.update(d for d in s if d != _FAIL)
                if pc + 1 < n:
                    leaders.add(pc + 1)
        starts = sorted(leaders)
        for i, start in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else n
            pc = start
            while pc < end - 1 and self.succs(pc) == [pc + 1]:
                pc += 1
            self.blocks[start] = _Block(start, pc + 1, self.succs(pc))
        # reachability and predecessor counts
        seen, todo = {0}, [0]
        while todo:
            b = self.blocks[todo.pop()]
            for dest in set(b.succs) - {_FAIL}:
                self.blocks[dest].preds += 1
                if dest not in seen:
                    seen.add(dest)
                    todo.append(dest)
        self.blocks = {k: v for k, v in self.blocks.items() if k in seen}
        # a backward-jump target in unreachable code needs no function
        self.functions &= seen
        for start in sorted(self.blocks, reverse=True):  # successors first: jumps go forward
            b = self.blocks[start]
            b.cost = (b.end - b.start) + sum(
                self.blocks[s].cost for s in set(b.succs) if s != _FAIL and s not in self.functions
            )
            if b.preds > 1 and b.cost > INLINE_LIMIT:
                self.functions.add(start)

    # -- emitting -------------------------------------------------------------------------
    def emit(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def state_args(self, bj: str = "bj") -> str:
        loop = [bj] if self.looping else []
        return ", ".join(["p", "n", "wirelen", "A", "X", *(f"m{k}" for k in self.mems), *loop])

    def generate(self) -> Generated:
        self.build_blocks()
        self.emit(1, "def run(p, wirelen):")
        self.emit(2, "n = len(p)")
        self.emit(2, "A = X = 0")
        if self.mems:
            self.emit(2, " = ".join(f"m{k}" for k in self.mems) + " = 0")
        if self.looping:
            self.emit(2, "bj = 0")
        self.render(0, 2, 0)
        done: set[int] = set()
        while self.functions - done:
            start = min(self.functions - done)
            done.add(start)
            self.emit(1, f"def _b{start}({self.state_args()}):")
            self.render(start, 2, 0)
        self.emit(1, "return run")
        return Generated("\n".join(self.lines) + "\n", len(done))

    def call(self, depth: int, target: int, backward: bool = False) -> None:
        if target == _FAIL:
            self.emit(depth, "return 0")
        elif backward:  # libpcap follows at most MAX_BACKWARD_JUMPS per packet
            self.emit(depth, f"if bj >= {MAX_BACKWARD_JUMPS}: return 0")
            self.emit(depth, f"return _b{target}({self.state_args('bj + 1')})")
        else:
            self.emit(depth, f"return _b{target}({self.state_args()})")

    def render(self, start: int, depth: int, known: int) -> None:
        """Emit block ``start`` and what follows it inline; ``known``: n is at least this."""
        while True:
            b = self.blocks[start]
            known = self.body(b, depth, known)
            if not b.succs:
                return
            last = self.insns[b.end - 1]
            if len(b.succs) == 2 and b.succs[0] != b.succs[1]:
                jt, jf = b.succs
                cost = {
                    s: (0 if s == _FAIL or s in self.functions else self.blocks[s].cost)
                    for s in (jt, jf)
                }
                inner, outer = (jt, jf) if cost[jt] <= cost[jf] else (jf, jt)
                self.emit(depth, f"if {self.condition(last, inner == jt)}:")
                self.branch(inner, depth + 1, known)
            else:
                outer = b.succs[0]
            if outer == _FAIL or outer in self.functions:
                self.call(depth, outer, backward=0 <= outer < b.end)
                return
            start = outer

    def branch(self, target: int, depth: int, known: int) -> None:
        if target == _FAIL or target in self.functions:
            self.call(depth, target)
        elif depth > MAX_DEPTH:
            self.functions.add(target)
            self.call(depth, target)
        else:
            self.render(target, depth, known)

    def condition(self, insn: Insn, taken: bool) -> str:
        op = insn.code & 0xF0
        rhs = "X" if insn.code & BPF_X else str(insn.k)
        if op == BPF_JSET:
            return f"A & {rhs}" if taken else f"not A & {rhs}"
        return f"A {_CMP[op][0 if taken else 1]} {rhs}"

    def body(self, b: _Block, depth: int, known: int) -> int:
        """Emit the straight-line part of ``b`` (and its ``ret``); the new ``known``."""
        insns = self.insns[b.start : b.end]
        early_exit = any(self._exits_with_a(i) for i in insns)
        if not early_exit:  # one bounds check for every constant-offset load of the block
            need = max((self._abs_end(i) for i in insns), default=0)
            if need > known:
                self.emit(depth, f"if n < {need}: return 0")
                known = need
        for insn in insns:
            known = self.one(insn, depth, known)
        return known

    def _exits_with_a(self, insn: Insn) -> bool:
        return self.linux and self._abs_mode(insn) and ancillary(insn.k) in ("ifindex", "hatype")

    @staticmethod
    def _abs_mode(insn: Insn) -> bool:
        return (
            insn.code & 0x07 == BPF_LD and insn.code & 0xE0 == BPF_ABS and insn.code & 0x18 in _SIZE
        )

    def _abs_end(self, insn: Insn) -> int:
        """The packet length a constant-offset load needs (0: none or not at a constant)."""
        if insn.code == BPF_LDX | BPF_MSH | BPF_B:
            return insn.k + 1 if not (self.linux and insn.k & 0x8000_0000) else 0
        if not self._abs_mode(insn) or (self.linux and insn.k & 0x8000_0000):
            return 0
        return insn.k + _SIZE[insn.code & 0x18]

    def one(self, insn: Insn, d: int, known: int) -> int:
        code, k = insn.code, insn.k
        e = self.emit
        cls = code & 0x07
        if cls == BPF_RET:
            e(
                d,
                "return A"
                if code == BPF_RET | BPF_A
                else (f"return {k}" if code == BPF_RET | BPF_K else "return 0"),
            )
        elif self._ends(insn):
            e(d, "return 0")
        elif cls == BPF_JMP:
            pass  # the block's successors say where to go
        elif cls == BPF_LD and code & 0xE0 in (BPF_ABS, BPF_IND):
            return self.packet_load(insn, d, known)
        elif code == BPF_LDX | BPF_MSH | BPF_B:
            if self.linux and k & 0x8000_0000:
                e(d, f"t = _neg(p, {s32(k)}, 1)")
                e(d, "if t < 0: return 0")
                e(d, "X = (t & 15) << 2")
            else:
                if k + 1 > known:
                    e(d, f"if n <= {k}: return 0")
                    known = k + 1
                e(d, f"X = (p[{k}] & 15) << 2")
        elif cls == BPF_ALU:
            self.alu(insn, d)
        else:
            e(d, self.simple(insn))
        return known

    def simple(self, insn: Insn) -> str:
        code, k = insn.code, insn.k
        return {
            BPF_LD | BPF_IMM: f"A = {k}",
            BPF_LDX | BPF_IMM: f"X = {k}",
            BPF_LD | BPF_MEM: f"A = m{k}",
            BPF_LDX | BPF_MEM: f"X = m{k}",
            BPF_ST: f"m{k} = A",
            BPF_STX: f"m{k} = X",
            BPF_LD | BPF_W | BPF_LEN: "A = wirelen",
            BPF_LDX | BPF_W | BPF_LEN: "X = wirelen",
            BPF_MISC | BPF_TAX: "X = A",
            BPF_MISC | BPF_TXA: "A = X",
        }[code]

    def alu(self, insn: Insn, d: int) -> None:
        op, k, e = insn.code & 0xF0, insn.k, self.emit
        if insn.code == BPF_ALU | BPF_NEG:
            e(d, "A = -A & 0xFFFFFFFF")
        elif not insn.code & BPF_X:
            if op in _ALU_K:
                e(d, _ALU_K[op].format(k=k))
            elif op in (BPF_DIV, BPF_MOD):
                e(d, f"A {'//' if op == BPF_DIV else '%'}= {k}")
            elif op == BPF_LSH:  # by k modulo 32, as libpcap 1.10 does on x86
                e(d, f"A = A << {k & 31} & 0xFFFFFFFF")
            else:
                e(d, f"A >>= {k & 31}")
        elif op in _ALU_X:
            e(d, _ALU_X[op])
        elif op in (BPF_DIV, BPF_MOD):
            e(d, "if not X: return 0")
            e(d, f"A {'//' if op == BPF_DIV else '%'}= X")
        elif self.linux:  # the kernel shifts by X modulo 32
            e(d, "A = A << (X & 31) & 0xFFFFFFFF" if op == BPF_LSH else "A >>= X & 31")
        else:  # libpcap: by 32 or more gives 0
            e(d, "A = A << X & 0xFFFFFFFF if X < 32 else 0" if op == BPF_LSH else "A >>= X")

    def packet_load(self, insn: Insn, d: int, known: int) -> int:
        size, k, e = _SIZE[insn.code & 0x18], insn.k, self.emit
        if insn.code & 0xE0 == BPF_ABS:
            if self.linux and k & 0x8000_0000:
                self.linux_negative(insn, d)
                return known
            if k + size > known:
                e(d, f"if n < {k + size}: return 0")
                known = k + size
            e(d, f"A = {_load(size, k)}")
            return known
        if not self.linux:  # X + k never wraps: past the end is past the end
            e(d, f"o = X + {k}")
            e(d, f"if o > n - {size}: return 0")
            e(d, f"A = {_load(size, 'o')}")
            return known
        e(d, f"o = (X + {k}) & 0xFFFFFFFF")
        e(d, f"if o > n - {size}:")
        e(d + 1, "if o < 0x80000000: return 0")
        e(d + 1, f"A = _neg(p, o - 0x100000000, {size})")
        e(d + 1, "if A < 0: return 0")
        e(d, "else:")
        e(d + 1, f"A = {_load(size, 'o')}")
        return known

    def linux_negative(self, insn: Insn, d: int) -> None:
        name, e = ancillary(insn.k), self.emit
        if name is None:
            e(d, f"A = _neg(p, {s32(insn.k)}, {_SIZE[insn.code & 0x18]})")
            e(d, "if A < 0: return 0")
        elif name in ("ifindex", "hatype"):
            e(d, "if not _ad_ifindex: return A")  # no device: the kernel ends with A
            e(d, f"A = _ad_{name}")
        elif name in ("nlattr", "nlattr_nest"):
            e(d, f"A = _{'nla' if name == 'nlattr' else 'nlan'}(p, A, X)")
        elif name == "alu_xor_x":
            e(d, "A ^= X")
        elif name == "random":
            e(d, "A = _rand() & 0xFFFFFFFF")
        else:
            e(d, f"A = _ad_{name}")


def generate(insns: Sequence[Insn], *, linux: bool) -> Generated:
    """The body of ``_make``: ``run`` and the block functions, indented one level."""
    if not insns:
        return Generated("    def run(p, wirelen):\n        return 0\n    return run\n", 0)
    return _Gen(insns, linux).generate()
