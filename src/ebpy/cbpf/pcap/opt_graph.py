"""The optimizer's flow graph: nodes, their order, liveness, and merging of equal nodes.

A ``Node`` is a block as the optimizer sees it: a list of ``(code, k)``
statements and a branch (``code``/``k`` to ``jt``/``jf``), or a ``ret``
(``jt`` and ``jf`` None). A node whose two successors are the same node
branches on nothing. The graph is acyclic (programs with loops, from
``protochain``, are never optimized).

``from_blocks``/``to_blocks`` convert from and to the code generator's
``Block`` graph; ``topo_order`` lists nodes with every node before its
successors; ``liveness`` says which registers (A, X, M[i] as bits) each node
needs on entry; ``intern`` merges nodes that are the same (same statements,
same branch, same successors) and drops nodes that do nothing. The passes
themselves are in ``ebpy.cbpf.pcap.optimize``.
"""

from __future__ import annotations

import itertools

from ebpy.cbpf.isa import BPF_A, BPF_JA, BPF_JEQ, BPF_JMP, BPF_K, BPF_RET, BPF_X
from ebpy.cbpf.pcap.blocks import Block, Stmt, reachable
from ebpy.cbpf.pcap.opt_values import REG_A, REG_X, State, Values, effects, load_end, simulate

__all__ = [
    "ALL_REGS",
    "NEVER",
    "Node",
    "Test",
    "branch_test",
    "branch_uses",
    "forward",
    "from_blocks",
    "intern",
    "live_after",
    "liveness",
    "merge_straight",
    "predecessors",
    "required",
    "ret_need",
    "to_blocks",
    "topo_order",
]

Op = tuple[int, int]

_uids = itertools.count()


class Node:
    """Statements and a branch, or a return."""

    __slots__ = ("code", "jf", "jt", "k", "stmts", "uid")

    def __init__(self, stmts: list[Op], code: int, k: int) -> None:
        self.uid = next(_uids)
        self.stmts = stmts
        self.code = code
        self.k = k
        self.jt: Node | None = None
        self.jf: Node | None = None

    @property
    def is_ret(self) -> bool:
        return self.code & 0x07 == BPF_RET

    def succs(self) -> list[Node]:
        """The distinct successors (none for a return)."""
        if self.jt is None or self.jf is None:
            return []
        return [self.jt] if self.jt is self.jf else [self.jt, self.jf]

    def __repr__(self) -> str:
        return f"Node#{self.uid}({self.code:#x}, {self.k:#x}, {len(self.stmts)} stmts)"


def _is_jump(s: Stmt) -> bool:
    return s.code & 0x07 == BPF_JMP


def _split(b: Block) -> tuple[Node, Node]:
    """Nodes for a block whose statements jump inside it (``jeq`` to statements, ``ja``
    forward): one node per straight piece. Returns (first node, node taking the
    block's own branch)."""
    stmts = b.stmts
    index = {id(s): i for i, s in enumerate(stmts)}

    def target(i: int, s: Stmt, to: Stmt | None) -> int:
        if s.code == BPF_JMP | BPF_JA:
            return i + 1 + s.k
        assert to is not None
        return index[id(to)]

    starts = {0}
    for i, s in enumerate(stmts):
        if s.code == BPF_JMP | BPF_JA:
            starts.update((i + 1, target(i, s, None)))
        elif _is_jump(s):
            starts.update((i + 1, target(i, s, s.jt), target(i, s, s.jf)))
    bounds = sorted(x for x in starts if x <= len(stmts))
    pieces = {start: Node([], BPF_JMP | BPF_JEQ | BPF_K, 0) for start in bounds}
    last = pieces[bounds[-1]]
    for start, end in zip(bounds, [*bounds[1:], len(stmts)], strict=True):
        node = pieces[start]
        body = stmts[start:end]
        node.stmts = [(s.code, s.k) for s in body if not _is_jump(s)]
        jump = body[-1] if body and _is_jump(body[-1]) else None
        if jump is None:
            if node is not last:
                node.jt = node.jf = pieces[end]
        elif jump.code == BPF_JMP | BPF_JA:
            node.jt = node.jf = pieces[target(end - 1, jump, None)]
        else:
            node.code, node.k = jump.code, jump.k
            node.jt = pieces[target(end - 1, jump, jump.jt)]
            node.jf = pieces[target(end - 1, jump, jump.jf)]
    last.code, last.k = b.code, b.k
    return pieces[0], last


def from_blocks(root: Block) -> Node:
    """The optimizer's copy of a code generator graph (straight statement lists:
    a block with jumps among its statements becomes several nodes)."""
    first: dict[int, Node] = {}
    tail: dict[int, Node] = {}
    blocks = list(reachable(root))
    for b in blocks:
        if any(_is_jump(s) for s in b.stmts):
            first[id(b)], tail[id(b)] = _split(b)
        else:
            first[id(b)] = tail[id(b)] = Node([(s.code, s.k) for s in b.stmts], b.code, b.k)
    for b in blocks:
        n = tail[id(b)]
        if b.jt is not None and b.jf is not None:
            n.jt, n.jf = first[id(b.jt)], first[id(b.jf)]
    return first[id(root)]


def to_blocks(root: Node) -> Block:
    """A code generator graph of the nodes reachable from ``root``."""
    blocks: dict[int, Block] = {}
    order = topo_order(root)
    for n in order:
        blocks[n.uid] = Block(n.code, n.k, [Stmt(code, k) for code, k in n.stmts])
    for n in order:
        if n.jt is not None and n.jf is not None:
            blocks[n.uid].jt = blocks[n.jt.uid]
            blocks[n.uid].jf = blocks[n.jf.uid]
    return blocks[root.uid]


def topo_order(root: Node) -> list[Node]:
    """Every node reachable from ``root``, each before all of its successors."""
    post: list[Node] = []
    seen = {root.uid}
    stack: list[tuple[Node, int]] = [(root, 0)]
    while stack:
        n, i = stack.pop()
        succs = n.succs()
        if i < len(succs):
            stack.append((n, i + 1))
            nxt = succs[i]
            if nxt.uid not in seen:
                seen.add(nxt.uid)
                stack.append((nxt, 0))
        else:
            post.append(n)
    return post[::-1]


def branch_uses(n: Node) -> int:
    """The registers a node's branch (or return) reads."""
    if n.is_ret:
        return REG_A if n.code & 0x18 == BPF_A else 0
    if n.jt is n.jf:
        return 0
    return REG_A | REG_X if n.code & 0x08 == BPF_X else REG_A


def live_after(n: Node, live_in: dict[int, int]) -> int:
    """The registers live when ``n``'s statements are done (its branch included)."""
    out = branch_uses(n)
    for s in n.succs():
        out |= live_in[s.uid]
    return out


def liveness(order: list[Node]) -> dict[int, int]:
    """For each node (by uid), the registers it needs on entry."""
    live_in: dict[int, int] = {}
    for n in reversed(order):
        live = live_after(n, live_in)
        for code, k in reversed(n.stmts):
            uses, defs = effects(code, k)
            live = (live & ~defs) | uses
        live_in[n.uid] = live
    return live_in


def merge_straight(root: Node) -> bool:
    """Join a node that branches on nothing with its successor when nothing else
    reaches that successor (or when it is a return): one branch fewer."""
    order = topo_order(root)
    preds = predecessors(order)
    changed = False
    for n in order:
        while n.jt is not None and n.jt is n.jf:
            w = n.jt
            if not w.is_ret and preds.get(w.uid, 0) != 1:
                break
            n.stmts = n.stmts + w.stmts
            n.code, n.k, n.jt, n.jf = w.code, w.k, w.jt, w.jf
            changed = True
    return changed


def _key(n: Node) -> tuple[object, ...]:
    if n.jt is None or n.jf is None:
        return (tuple(n.stmts), "ret", n.code, n.k)
    if n.jt is n.jf:
        return (tuple(n.stmts), "goto", n.jt.uid)
    return (tuple(n.stmts), n.code, n.k, n.jt.uid, n.jf.uid)


def intern(root: Node) -> tuple[Node, bool]:
    """Merge equal nodes and bypass empty nodes that branch on nothing."""
    changed = False
    canon: dict[int, Node] = {}
    table: dict[tuple[object, ...], Node] = {}
    for n in reversed(topo_order(root)):
        if n.jt is not None and n.jf is not None:
            jt, jf = canon[n.jt.uid], canon[n.jf.uid]
            if jt is not n.jt or jf is not n.jf:
                n.jt, n.jf, changed = jt, jf, True
            if jt is jf and not n.stmts:
                canon[n.uid] = jt
                changed = True
                continue
        key = _key(n)
        found = table.get(key)
        if found is None:
            table[key] = found = n
        elif found is not n:
            changed = True
        canon[n.uid] = found
    return canon[root.uid], changed


NEVER = 1 << 40
"""A packet length no packet reaches: what a path that never accepts requires."""

ALL_REGS = (REG_A, REG_X, *(4 << i for i in range(16)))
"""The bits of every register: A, X, M[0..15]."""

Test = tuple[int, int, int]
"""A branch as values: (vn of A, jump op, a constant >= 0 or ``-(vn of X) - 1``)."""


def branch_test(n: Node, state: State, values: Values) -> Test:
    """What ``n``'s branch compares, after its statements left ``state``."""
    op = n.code & 0xF0
    if n.code & 0x08 == BPF_X:
        x = values.consts.get(state.x)
        return (state.a, op, x if x is not None else -state.x - 1)
    return (state.a, op, n.k)


def ret_need(n: Node) -> int:
    """The packet length a return needs to have been proven: none to accept."""
    return NEVER if n.code == BPF_RET | BPF_K and n.k == 0 else 0


def required(order: list[Node]) -> dict[int, int]:
    """For each node, the packet length every path from it to an accepting return proves
    by absolute loads (``NEVER`` if no path accepts): a shorter packet is rejected there."""
    need_in: dict[int, int] = {}
    for n in reversed(order):
        need = ret_need(n) if n.is_ret else min(need_in[s.uid] for s in n.succs())
        for code, k in n.stmts:
            end = load_end(code, k)
            if end is not None:
                need = max(need, end)
        need_in[n.uid] = need
    return need_in


def forward(root: Node, values: Values) -> dict[int, tuple[State, State]]:
    """For each reachable node, what is known on entry (merged over its predecessors)
    and after its statements."""
    incoming: dict[int, list[State]] = {root.uid: [State.entry(values)]}
    out: dict[int, tuple[State, State]] = {}
    for n in topo_order(root):
        if n.uid not in incoming:
            continue
        entry = State.merge(incoming[n.uid], values, n.uid)
        _, after, _ = simulate(n.stmts, entry, values, rewrite=False)
        out[n.uid] = (entry, after)
        for s in n.succs():
            incoming.setdefault(s.uid, []).append(after)
    return out


def predecessors(order: list[Node]) -> dict[int, int]:
    """How many nodes branch to each node."""
    count: dict[int, int] = {}
    for n in order:
        for s in n.succs():
            count[s.uid] = count.get(s.uid, 0) + 1
    return count
