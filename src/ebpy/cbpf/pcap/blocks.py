"""Blocks of classic BPF code, the ``and``/``or``/``not`` glue, and the final layout.

Code generation (as in libpcap) builds a graph of ``Block``\\ s: a list of
statements (loads, stores, arithmetic) ending in one branch (a conditional
jump, or a ``ret``). A block that stands for a whole sub-expression is its
*representative*: ``head`` is where the sub-expression starts, and the exits
not yet known are threaded through the ``jt``/``jf`` fields of their blocks as
two lists, one for "true" and one for "false"; ``sense`` says which field of
each block holds which list. ``gen_and``, ``gen_or`` and ``gen_not`` join and
flip those lists without copying code, which is why the unoptimized program
has the exact shape of libpcap's.

``finish`` sends the true exits to ``ret #snaplen`` and the false ones to
``ret #0``; ``linearize`` lays the graph out as libpcap's ``icode_to_fcode``
does (a block, then what its true branch reaches, then its false branch),
adding ``ja`` hops for jumps longer than 255. This module knows nothing of
packets or protocols (``ebpy.cbpf.pcap.gencode``).

>>> from ebpy.cbpf.isa import BPF_JEQ
>>> a, b = Block(BPF_JMP | BPF_JEQ, k=1), Block(BPF_JMP | BPF_JEQ, k=2)
>>> gen_or(a, b)
>>> [f"{i.code:#x} {i.jt} {i.jf} {i.k}" for i in linearize(finish(b, 96))]
['0x15 1 0 1', '0x15 0 1 2', '0x6 0 0 96', '0x6 0 0 0']
"""

from __future__ import annotations

from collections.abc import Iterator

from ebpy.cbpf.isa import BPF_JA, BPF_JMP, BPF_K, BPF_RET, Insn
from ebpy.errors import FilterSyntaxError

__all__ = [
    "NOP",
    "Block",
    "Stmt",
    "finish",
    "gen_and",
    "gen_not",
    "gen_or",
    "linearize",
    "reachable",
]

NOP = -1
"""The code of a statement the optimizer has deleted (skipped by ``linearize``)."""


class Stmt:
    """One statement: ``code`` and ``k``; ``jt``/``jf`` name statements of the same
    block for the jumps inside a statement list (only ``protochain`` makes them)."""

    __slots__ = ("code", "jf", "jt", "k")

    def __init__(self, code: int, k: int = 0) -> None:
        self.code = code
        self.k = k & 0xFFFF_FFFF
        self.jt: Stmt | None = None
        self.jf: Stmt | None = None

    def __repr__(self) -> str:
        return f"Stmt({self.code:#x}, {self.k:#x})"


class Block:
    """Statements and one branch (``code``/``k``) to ``jt`` and ``jf``."""

    __slots__ = ("code", "head", "jf", "jt", "k", "longjf", "longjt", "sense", "stmts")

    def __init__(self, code: int, k: int = 0, stmts: list[Stmt] | None = None) -> None:
        self.code = code
        self.k = k & 0xFFFF_FFFF
        self.stmts: list[Stmt] = stmts if stmts is not None else []
        self.jt: Block | None = None
        self.jf: Block | None = None
        self.sense = False
        self.head: Block = self
        self.longjt = 0
        self.longjf = 0

    def __repr__(self) -> str:
        return f"Block({self.code:#x}, {self.k:#x}, {len(self.stmts)} stmts)"


def _backpatch(chain: Block | None, target: Block) -> None:
    """Point every exit of the list starting at ``chain`` to ``target``."""
    while chain is not None:
        if not chain.sense:
            nxt, chain.jt = chain.jt, target
        else:
            nxt, chain.jf = chain.jf, target
        chain = nxt


def _merge(chain: Block, tail: Block) -> None:
    """Append the list starting at ``tail`` to the list starting at ``chain``."""
    node = chain
    while True:
        nxt = node.jt if not node.sense else node.jf
        if nxt is None:
            break
        node = nxt
    if not node.sense:
        node.jt = tail
    else:
        node.jf = tail


def gen_and(b0: Block, b1: Block) -> None:
    """``b0 and b1``; ``b1`` becomes the representative of the whole."""
    _backpatch(b0, b1.head)
    b0.sense = not b0.sense
    b1.sense = not b1.sense
    _merge(b1, b0)
    b1.sense = not b1.sense
    b1.head = b0.head


def gen_or(b0: Block, b1: Block) -> None:
    """``b0 or b1``; ``b1`` becomes the representative of the whole."""
    b0.sense = not b0.sense
    _backpatch(b0, b1.head)
    b0.sense = not b0.sense
    _merge(b1, b0)
    b1.head = b0.head


def gen_not(b: Block) -> None:
    """``not b``: swap the true and false exits."""
    b.sense = not b.sense


def finish(b: Block, snaplen: int) -> Block:
    """Send ``b``'s true exits to ``ret #snaplen`` and false ones to ``ret #0``; the root."""
    _backpatch(b, Block(BPF_RET | BPF_K, snaplen))
    b.sense = not b.sense
    _backpatch(b, Block(BPF_RET | BPF_K, 0))
    return b.head


def reachable(root: Block) -> Iterator[Block]:
    """Every block reachable from ``root``, each once (depth first, true branch first)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        b = stack.pop()
        if id(b) in seen:
            continue
        seen.add(id(b))
        yield b
        for nxt in (b.jf, b.jt):
            if nxt is not None and id(nxt) not in seen:
                stack.append(nxt)


def _emission_order(root: Block) -> list[Block]:
    """libpcap's order of emitting blocks from the end: false branch, true branch, self."""
    order: list[Block] = []
    seen: set[int] = {id(root)}
    stack: list[tuple[Block, int]] = [(root, 0)]
    while stack:
        b, state = stack.pop()
        if state == 2:
            order.append(b)
            continue
        stack.append((b, state + 1))
        nxt = b.jf if state == 0 else b.jt
        if nxt is not None and id(nxt) not in seen:
            seen.add(id(nxt))
            stack.append((nxt, 0))
    return order


def _live(stmts: list[Stmt]) -> list[Stmt]:
    return [s for s in stmts if s.code != NOP]


def linearize(root: Block) -> list[Insn]:
    """The program of the graph at ``root``, laid out as libpcap lays it out."""
    order = _emission_order(root)
    while True:
        layout = order[::-1]
        offset: dict[int, int] = {}
        pos = 0
        for b in layout:
            offset[id(b)] = pos
            pos += len(_live(b.stmts)) + 1 + b.longjt + b.longjf
        retry = False
        for b in layout:
            base = offset[id(b)] + len(_live(b.stmts))
            if b.jt is not None and offset[id(b.jt)] - base - 1 >= 256 and not b.longjt:
                b.longjt, retry = 1, True
            if b.jf is not None and offset[id(b.jf)] - base - 1 >= 256 and not b.longjf:
                b.longjf, retry = 1, True
        if not retry:
            return [insn for b in layout for insn in _emit(b, offset)]


def _emit(b: Block, offset: dict[int, int]) -> list[Insn]:
    stmts = _live(b.stmts)
    out: list[Insn] = []
    index = {id(s): i for i, s in enumerate(stmts)}
    for i, s in enumerate(stmts):
        jt = jf = 0
        if s.code & 0x07 == BPF_JMP and s.code != BPF_JMP | BPF_JA:
            if s.jt is None or s.jf is None or id(s.jt) not in index or id(s.jf) not in index:
                raise FilterSyntaxError("block-local jump without a destination")
            jt, jf = index[id(s.jt)] - i - 1, index[id(s.jf)] - i - 1
        out.append(Insn(s.code, jt, jf, s.k))
    base = offset[id(b)] + len(stmts)
    extra: list[Insn] = []
    jt = jf = 0
    for which, target in (("t", b.jt), ("f", b.jf)):
        if target is None:
            continue
        off = offset[id(target)] - base - 1
        if off >= 256:
            if len(extra) >= 255:
                raise FilterSyntaxError("too many extra jumps")
            slot = len(extra)
            extra.append(Insn(BPF_JMP | BPF_JA, 0, 0, off - (slot + 1)))
            off = slot
        if which == "t":
            jt = off
        else:
            jf = off
    out.append(Insn(b.code, jt, jf, b.k))
    return out + extra
