"""Value numbering for the filter optimizer: what A, X and M[] hold, symbolically.

A *value number* (vn) names a value that does not depend on the path taken to
it: a constant, a packet load at a fixed offset, an indirect load at ``x + k``
for a given vn of X, the packet length, ``4*([k]&0xf)``, or an ALU operation
on other vns. Packets do not change while a filter runs, so two equal vns are
equal values wherever they appear. ``Values`` hash-conses vns and folds what
is constant or trivial (``x + 0``, ``x & 0xffffffff``, ``x - x``, constants),
but never a division or modulus by a zero held in a register, nor a shift by
32 or more: those keep their run-time behaviour.

``State`` is what is known at one point: the vn in A, X and each M[i], the
packet length already proven by loads that succeeded (``minlen``), and the
vns of loads that succeeded on every path (``loaded``). A load that is proven
to succeed can be removed when its result is not needed; in strict-truncation
mode (``Values(strict_truncation=True)``) any other load may fail (the filter
then returns 0), so it stays. By default, as in libpcap's optimizer, packet
loads are taken never to fail, which changes the verdicts of some truncated
packets exactly as libpcap's optimized programs do. Loads at negative offsets
(Linux metadata such as ``vlanp``, ``SPECIAL``) prove no packet length and
may always fail.

``simulate`` runs a statement list over a state, and in rewriting mode
simplifies it on the way: a load of a value already in its register goes,
a constant replaces a register or memory read, an indirect load with a
constant X becomes an absolute one, and so on. Statements are ``(code, k)``
pairs. This module does not change branches or the graph (``optimize``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ebpy.cbpf.isa import (
    BPF_ABS,
    BPF_ADD,
    BPF_ALU,
    BPF_AND,
    BPF_B,
    BPF_DIV,
    BPF_H,
    BPF_IMM,
    BPF_IND,
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
    BPF_RSH,
    BPF_ST,
    BPF_STX,
    BPF_SUB,
    BPF_TAX,
    BPF_TXA,
    BPF_W,
    BPF_X,
    BPF_XOR,
)

__all__ = [
    "REG_A",
    "REG_X",
    "SPECIAL",
    "Info",
    "State",
    "Values",
    "effects",
    "load_end",
    "mem_bit",
    "simulate",
]

MASK = 0xFFFF_FFFF
REG_A, REG_X = 1, 2
SIZES = {BPF_W: 4, BPF_H: 2, BPF_B: 1}
_COMMUTATIVE = frozenset((BPF_ADD, BPF_MUL, BPF_AND, BPF_OR, BPF_XOR))

Op = tuple[int, int]
Key = tuple[object, ...]


def mem_bit(i: int) -> int:
    """The register bit of scratch word ``M[i]``."""
    return 4 << i


def effects(code: int, k: int) -> tuple[int, int]:
    """The registers a statement reads and writes, as bit sets (A=1, X=2, M[i]=4<<i)."""
    cls = code & 0x07
    if cls == BPF_LD:
        mode = code & 0xE0
        uses = REG_X if mode == BPF_IND else mem_bit(k) if mode == BPF_MEM else 0
        return uses, REG_A
    if cls == BPF_LDX:
        return (mem_bit(k) if code & 0xE0 == BPF_MEM else 0), REG_X
    if cls == BPF_ST:
        return REG_A, mem_bit(k)
    if cls == BPF_STX:
        return REG_X, mem_bit(k)
    if cls == BPF_ALU:
        if code & 0xF0 == BPF_NEG or code & 0x08 == BPF_K:
            return REG_A, REG_A
        return REG_A | REG_X, REG_A
    if cls == BPF_MISC:
        return (REG_A, REG_X) if code & 0xF8 == BPF_TAX else (REG_X, REG_A)
    return 0, 0


SPECIAL = 0x8000_0000
"""Offsets from here up are negative: Linux ancillary data (``SKF_AD_OFF``) and the
``SKF_NET_OFF``/``SKF_LL_OFF`` bases, not bytes of the packet as captured."""


def load_end(code: int, k: int) -> int | None:
    """Where an absolute packet load ends (its offset plus size); None for other
    statements, and for loads at negative offsets (metadata, not packet bytes)."""
    if k >= SPECIAL:
        return None
    if code & 0x07 == BPF_LD and code & 0xE0 == BPF_ABS:
        return k + SIZES[code & 0x18]
    if code == BPF_LDX | BPF_MSH | BPF_B:
        return k + 1
    return None


def _fold(op: int, a: int, b: int) -> int | None:
    """``a op b`` on u32, or None where the run-time result must be kept."""
    if op == BPF_ADD:
        return (a + b) & MASK
    if op == BPF_SUB:
        return (a - b) & MASK
    if op == BPF_MUL:
        return (a * b) & MASK
    if op in (BPF_DIV, BPF_MOD):
        if b == 0:
            return None
        return a // b if op == BPF_DIV else a % b
    if op == BPF_AND:
        return a & b
    if op == BPF_OR:
        return a | b
    if op == BPF_XOR:
        return a ^ b
    if op in (BPF_LSH, BPF_RSH):
        if b >= 32:
            return None
        return (a << b) & MASK if op == BPF_LSH else a >> b
    return None


class Values:
    """A table of value numbers (one per optimizer pass).

    ``strict_truncation`` says whether a packet load may fail (the packet is
    shorter than the load reaches): True keeps every verdict, truncated packets
    included; False (libpcap's optimizer) takes packet loads never to fail, so
    the passes drop and move them freely.
    """

    def __init__(self, strict_truncation: bool = False) -> None:
        self.strict_truncation = strict_truncation
        self._ids: dict[Key, int] = {}
        self.keys: list[Key] = []
        self.consts: dict[int, int] = {}

    def vn(self, key: Key) -> int:
        found = self._ids.get(key)
        if found is None:
            found = len(self.keys)
            self._ids[key] = found
            self.keys.append(key)
            if key[0] == "k":
                value = key[1]
                assert isinstance(value, int)
                self.consts[found] = value
        return found

    def const(self, value: int) -> int:
        return self.vn(("k", value & MASK))

    def is_const(self, vn: int) -> bool:
        return vn in self.consts

    def unknown(self, *tag: object) -> int:
        return self.vn(("?", *tag))

    def load(self, size: int, k: int) -> int:
        return self.vn(("ld", size, k))

    def load_ind(self, size: int, k: int, x: int) -> int:
        """``[x + k]``; ``x + c`` as X folds ``c`` into the offset."""
        key = self.keys[x]
        if key[0] == "alu" and key[1] == BPF_ADD:
            left, right = key[2], key[3]
            assert isinstance(left, int) and isinstance(right, int)
            if right in self.consts and self.consts[right] + k <= 0x7FFF_FFFF:
                return self.load_ind(size, k + self.consts[right], left)
            if left in self.consts and self.consts[left] + k <= 0x7FFF_FFFF:
                return self.load_ind(size, k + self.consts[left], right)
        return self.vn(("ldx", size, k, x))

    def alu(self, op: int, a: int, b: int) -> int:
        """``a op b``, folded and canonical."""
        ca, cb = self.consts.get(a), self.consts.get(b)
        if ca is not None and cb is not None:
            folded = _fold(op, ca, cb)
            if folded is not None:
                return self.const(folded)
        if op in _COMMUTATIVE and ca is not None:
            a, b, ca, cb = b, a, cb, ca
        if cb is not None:
            if cb == 0 and op in (BPF_ADD, BPF_SUB, BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH):
                return a
            if cb == 1 and op in (BPF_MUL, BPF_DIV):
                return a
            if cb == MASK and op == BPF_AND:
                return a
            if cb == 0 and op in (BPF_MUL, BPF_AND):
                return self.const(0)
            if cb == 1 and op == BPF_MOD:
                return self.const(0)
            if op == BPF_SUB:
                return self.alu(BPF_ADD, a, self.const(-cb))
            inner = self.keys[a]
            if op == BPF_ADD and inner[0] == "alu" and inner[1] == BPF_ADD:
                i_right = inner[3]
                assert isinstance(i_right, int) and isinstance(inner[2], int)
                if i_right in self.consts:
                    return self.alu(BPF_ADD, inner[2], self.const(self.consts[i_right] + cb))
        if a == b:
            if op in (BPF_SUB, BPF_XOR):
                return self.const(0)
            if op in (BPF_AND, BPF_OR):
                return a
        if op in _COMMUTATIVE and a > b and cb is None:
            a, b = b, a
        return self.vn(("alu", op, a, b))

    def neg(self, a: int) -> int:
        if a in self.consts:
            return self.const(-self.consts[a])
        return self.vn(("neg", a))


@dataclass(frozen=True, slots=True)
class State:
    """What is known at a point of the program."""

    a: int
    x: int
    mem: tuple[int, ...]
    minlen: int
    loaded: frozenset[int]

    @staticmethod
    def entry(values: Values) -> State:
        mem = tuple(values.unknown("M", i) for i in range(BPF_MEMWORDS))
        return State(values.unknown("A"), values.unknown("X"), mem, 0, frozenset())

    @staticmethod
    def merge(states: list[State], values: Values, where: int) -> State:
        """The state after paths meet at node ``where``: what all of them agree on."""
        first = states[0]
        if len(states) == 1:
            return first

        def meet(vals: list[int], reg: object) -> int:
            return vals[0] if all(v == vals[0] for v in vals) else values.unknown("phi", where, reg)

        mem = tuple(meet([s.mem[i] for s in states], i) for i in range(BPF_MEMWORDS))
        loaded = first.loaded.intersection(*(s.loaded for s in states[1:]))
        return State(
            meet([s.a for s in states], "A"),
            meet([s.x for s in states], "X"),
            mem,
            min(s.minlen for s in states),
            loaded,
        )

    def reg(self, bit: int) -> int:
        """The vn held by the register of bit ``bit`` (A, X or one M word)."""
        if bit == REG_A:
            return self.a
        if bit == REG_X:
            return self.x
        return self.mem[bit.bit_length() - 3]


@dataclass(frozen=True, slots=True)
class Info:
    """Per statement: can it fail at run time, and what A and X held before it."""

    may_fail: bool
    a: int
    x: int


class _Sim:
    """One run of a statement list; ``rewrite`` turns on the simplifications."""

    def __init__(self, values: Values, state: State, rewrite: bool) -> None:
        self.v = values
        self.a, self.x = state.a, state.x
        self.mem = list(state.mem)
        self.minlen = state.minlen
        self.loaded = set(state.loaded)
        self.rewrite = rewrite
        self.strict = values.strict_truncation
        self.out: list[Op] = []
        self.info: list[Info] = []

    def emit(self, op: Op, may_fail: bool = False) -> None:
        self.out.append(op)
        self.info.append(Info(may_fail, self.a, self.x))

    def state(self) -> State:
        return State(self.a, self.x, tuple(self.mem), self.minlen, frozenset(self.loaded))

    def set_a(self, vn: int, op: Op, may_fail: bool = False) -> None:
        """A := vn by ``op``; dropped when A already holds it, a constant when known."""
        if self.rewrite and not may_fail:
            if vn == self.a:
                return
            if self.v.is_const(vn):
                op = (BPF_LD | BPF_IMM, self.v.consts[vn])
            elif vn == self.x and op[0] & 0x07 != BPF_LD | BPF_IMM:
                op = (BPF_MISC | BPF_TXA, 0)
        self.emit(op, may_fail)
        self.a = vn

    def set_x(self, vn: int, op: Op, may_fail: bool = False) -> None:
        if self.rewrite and not may_fail:
            if vn == self.x:
                return
            if self.v.is_const(vn):
                op = (BPF_LDX | BPF_IMM, self.v.consts[vn])
            elif vn == self.a:
                op = (BPF_MISC | BPF_TAX, 0)
        self.emit(op, may_fail)
        self.x = vn

    def packet_load(self, size: int, k: int, vn: int, into_x: bool, op: Op) -> None:
        special = k >= SPECIAL  # metadata: proves no packet length, may end the program
        succeeded = vn in self.loaded or (not special and k + size <= self.minlen)
        if not special and not self.strict:
            succeeded = True
        if self.rewrite and succeeded:
            (self.set_x if into_x else self.set_a)(vn, op)
        elif (self.x if into_x else self.a) == vn and self.rewrite:
            pass
        else:
            self.emit(op, not succeeded)
            if into_x:
                self.x = vn
            else:
                self.a = vn
        self.loaded.add(vn)
        if not special:
            self.minlen = max(self.minlen, k + size)

    def step(self, code: int, k: int) -> None:
        handler = _STEPS.get(code & 0x07)
        if handler is None:
            self.emit((code, k), True)
        else:
            handler(self, code, k)

    def ld(self, code: int, k: int) -> None:
        v, mode, size = self.v, code & 0xE0, code & 0x18
        if mode == BPF_IMM:
            self.set_a(v.const(k), (code, k))
        elif mode == BPF_LEN:
            self.set_a(v.vn(("len",)), (code, k))
        elif mode == BPF_MEM:
            self.set_a(self.mem[k], (code, k))
        elif mode == BPF_ABS:
            self.packet_load(SIZES[size], k, v.load(size, k), False, (code, k))
        elif mode == BPF_IND:
            self.ld_ind(code, k)
        else:
            self.emit((code, k), True)
            self.a = v.unknown("op", len(v.keys))

    def ld_ind(self, code: int, k: int) -> None:
        """``ld [x + k]``: absolute when X is known, else keyed on X's vn."""
        v, size = self.v, code & 0x18
        if self.rewrite and v.is_const(self.x) and v.consts[self.x] + k <= 0x7FFF_FFFF:
            at = v.consts[self.x] + k
            op = (BPF_LD | BPF_ABS | size, at)
            self.packet_load(SIZES[size], at, v.load(size, at), False, op)
            return
        vn = v.load_ind(size, k, self.x)
        if vn in self.loaded and self.rewrite:
            self.set_a(vn, (code, k))
        else:
            self.emit((code, k), self.strict and vn not in self.loaded)
            self.a = vn
            self.loaded.add(vn)

    def ldx(self, code: int, k: int) -> None:
        v, mode = self.v, code & 0xE0
        if mode == BPF_IMM:
            self.set_x(v.const(k), (code, k))
        elif mode == BPF_LEN:
            self.set_x(v.vn(("len",)), (code, k))
        elif mode == BPF_MEM:
            self.set_x(self.mem[k], (code, k))
        elif mode == BPF_MSH:
            self.packet_load(1, k, v.vn(("msh", k)), True, (code, k))
        else:
            self.emit((code, k), True)
            self.x = v.unknown("op", len(v.keys))

    def st(self, code: int, k: int) -> None:
        vn = self.a if code & 0x07 == BPF_ST else self.x
        if self.rewrite and self.mem[k] == vn:
            return
        self.emit((code, k))
        self.mem[k] = vn

    def misc(self, code: int, k: int) -> None:
        if code & 0xF8 == BPF_TAX:
            self.set_x(self.a, (code, k))
        else:
            self.set_a(self.x, (code, k))

    def alu(self, code: int, k: int) -> None:
        v = self.v
        op = code & 0xF0
        if op == BPF_NEG:
            self.set_a(v.neg(self.a), (code, k))
            return
        if code & 0x08 == BPF_X:
            xc = v.consts.get(self.x)
            keeps_x = (op in (BPF_DIV, BPF_MOD) and xc == 0) or (
                op in (BPF_LSH, BPF_RSH) and xc is not None and xc >= 32
            )  # a zero divisor fails, a long shift by X is not a shift by K
            if self.rewrite and xc is not None and not keeps_x:
                code, k = BPF_ALU | op | BPF_K, xc
            else:
                fails = op in (BPF_DIV, BPF_MOD) and not (xc is not None and xc != 0)
                vn = v.alu(op, self.a, self.x) if not fails else v.unknown("op", len(v.keys))
                if fails or not self.rewrite:
                    self.emit((code, k), fails)
                    self.a = vn
                else:
                    self.set_a(vn, (code, k))
                return
        if op in (BPF_DIV, BPF_MOD) and k == 0:
            self.emit((code, k), True)
            self.a = v.unknown("op", len(v.keys))
            return
        self.set_a(v.alu(op, self.a, v.const(k)), (code, k))


_STEPS: dict[int, Callable[[_Sim, int, int], None]] = {
    BPF_LD: _Sim.ld,
    BPF_LDX: _Sim.ldx,
    BPF_ST: _Sim.st,
    BPF_STX: _Sim.st,
    BPF_ALU: _Sim.alu,
    BPF_MISC: _Sim.misc,
}
"""Instruction class -> how a statement of that class is run."""


def simulate(
    stmts: list[Op], state: State, values: Values, rewrite: bool
) -> tuple[list[Op], State, list[Info]]:
    """Run ``stmts`` from ``state``: the (simplified) statements, the state after, and
    per statement kept whether it may fail and what A and X held before it."""
    sim = _Sim(values, state, rewrite)
    for code, k in stmts:
        sim.step(code, k)
    return sim.out, sim.state(), sim.info
