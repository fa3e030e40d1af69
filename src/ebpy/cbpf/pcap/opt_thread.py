"""Jump threading for the filter optimizer: what the branches taken prove.

Every branch taken is a fact about a value: on the true edge of ``ldh [12];
jeq #0x800`` the value ``[12]`` is 0x800, on its false edge it is not. A
node's facts are those of all paths into it (the facts of each incoming
edge, intersected). A test is decided by the facts when one of them is the
same test, an equality fixes the value, or bounds, exclusions and known bits
settle it (``_decide``).

``thread`` sends an edge past nodes whose tests the facts on the edge
decide, to the furthest node reached where every register the node needs
holds what it held at the start of the edge, and from which every accepting
path proves the packet long enough for the loads skipped (a skipped load
that could have failed would have made the filter return 0). It also
decides a node's own branch when all paths into it agree. ``reject_early``
sends edges into nodes from which every path returns 0 straight to a
``ret #0``. This module changes edges only, never statements.
"""

from __future__ import annotations

from ebpy.cbpf.isa import BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JSET, BPF_K, BPF_RET
from ebpy.cbpf.pcap.opt_graph import (
    ALL_REGS,
    Node,
    Test,
    branch_test,
    liveness,
    required,
    topo_order,
)
from ebpy.cbpf.pcap.opt_values import State, Values, load_end, simulate

__all__ = ["Fact", "decide", "reject_early", "thread"]

MASK = 0xFFFF_FFFF

Fact = tuple[int, int, int, bool]
"""A test (``Test``) and its outcome on an edge."""


def _evaluate(op: int, a: int, k: int) -> bool:
    if op == BPF_JEQ:
        return a == k
    if op == BPF_JGT:
        return a > k
    if op == BPF_JGE:
        return a >= k
    return bool(a & k)


def decide(test: Test, facts: frozenset[Fact], values: Values) -> bool | None:
    """The outcome of ``test`` if the constants or the ``facts`` decide it."""
    vn, op, rhs = test
    a = values.consts.get(vn)
    if rhs < 0:
        if -rhs - 1 == vn:
            return op != BPF_JGT if op != BPF_JSET else None
        for fact in facts:
            if fact[:3] == test:
                return fact[3]
        return None
    if a is not None:
        return _evaluate(op, a, rhs)
    lo, hi, ne, set_bits, clear_bits = 0, MASK, set(), 0, 0
    seen = False
    for f_vn, f_op, f_k, outcome in facts:
        if f_vn != vn or f_k < 0:
            continue
        seen = True
        if (f_op, f_k) == (op, rhs):
            return outcome
        if f_op == BPF_JEQ:
            if outcome:
                return _evaluate(op, f_k, rhs)
            ne.add(f_k)
        elif f_op == BPF_JGT:
            lo, hi = (max(lo, f_k + 1), hi) if outcome else (lo, min(hi, f_k))
        elif f_op == BPF_JGE:
            lo, hi = (max(lo, f_k), hi) if outcome else (lo, min(hi, f_k - 1))
        elif outcome:
            if f_k & (f_k - 1) == 0:
                set_bits |= f_k
        else:
            clear_bits |= f_k
    if lo > hi or not seen:
        return None  # a path that cannot be taken, or nothing known (as libpcap)
    if lo == hi:
        return _evaluate(op, lo, rhs)
    if op == BPF_JEQ:
        if rhs < lo or rhs > hi or rhs in ne or rhs & clear_bits or set_bits & ~rhs:
            return False
    elif op == BPF_JGT:
        if lo > rhs:
            return True
        if hi <= rhs:
            return False
    elif op == BPF_JGE:
        if lo >= rhs:
            return True
        if hi < rhs:
            return False
    else:
        if rhs & set_bits:
            return True
        if rhs & ~clear_bits == 0 or (rhs and hi < rhs & -rhs):
            return False
    return None


def reject_early(root: Node) -> bool:
    """Send edges into nodes from which every path returns 0 straight to a ``ret #0``.

    A load that fails returns 0 too, so the statements skipped do not matter.
    """
    order = topo_order(root)
    rejects: dict[int, bool] = {}
    zero: Node | None = None
    for n in reversed(order):
        if n.jt is None or n.jf is None:
            rejects[n.uid] = n.code == BPF_RET | BPF_K and n.k == 0
            if rejects[n.uid]:
                zero = n
        else:
            rejects[n.uid] = rejects[n.jt.uid] and rejects[n.jf.uid]
    if zero is None:
        return False
    changed = False
    for n in order:
        if n.jt is None or n.jf is None:
            continue
        if rejects[n.jt.uid] and n.jt is not zero:
            n.jt, changed = zero, True
        if rejects[n.jf.uid] and n.jf is not zero:
            n.jf, changed = zero, True
    if rejects[root.uid] and root is not zero:
        root.code, root.k, root.stmts = BPF_RET | BPF_K, 0, []
        root.jt = root.jf = None
        changed = True
    return changed


def _skip(
    v: Node,
    state: State,
    facts: frozenset[Fact],
    values: Values,
    live_in: dict[int, int],
    need_in: dict[int, int],
) -> Node | None:
    """How far an edge into ``v``, arriving with ``state``, can go past ``v``.

    Follows nodes whose branch the ``facts`` (or an unconditional branch)
    decide, and returns the last node reached at which every register it
    needs holds what it holds at the start of the edge, and from which every
    accepting path proves the packet long enough for the loads skipped; None
    if there is none.
    """
    best = None
    cur, running, skipped = v, state, 0
    while cur.jt is not None and cur.jf is not None:
        _, out, info = simulate(cur.stmts, running, values, rewrite=False)
        for (code, k), stmt_info in zip(cur.stmts, info, strict=True):
            if stmt_info.may_fail:
                end = load_end(code, k)
                if end is None:
                    return best
                skipped = max(skipped, end)
        if cur.jt is cur.jf:
            w = cur.jt
        else:
            outcome = decide(branch_test(cur, out, values), facts, values)
            if outcome is None:
                break
            w = cur.jt if outcome else cur.jf
        cur, running = w, out
        live = live_in[w.uid]
        regs_ok = all(not live & bit or out.reg(bit) == state.reg(bit) for bit in ALL_REGS)
        if regs_ok and skipped <= need_in[w.uid]:
            best = w
    return best


def thread(root: Node, strict: bool = False) -> bool:
    """Thread the edges of the graph at ``root``; True if any moved (``strict``:
    packet loads may fail, see ``Values``)."""
    values = Values(strict)
    order = topo_order(root)
    live_in = liveness(order)
    need_in = required(order)
    states: dict[int, list[State]] = {root.uid: [State.entry(values)]}
    facts: dict[int, frozenset[Fact]] = {root.uid: frozenset()}
    changed = False
    for u in order:
        if u.uid not in states:
            continue
        state = State.merge(states[u.uid], values, u.uid)
        known = facts[u.uid]
        _, out, _ = simulate(u.stmts, state, values, rewrite=False)
        if u.jt is None or u.jf is None:
            continue
        test = branch_test(u, out, values)
        if u.jt is not u.jf:
            outcome = decide(test, known, values)
            if outcome is not None:
                u.jt = u.jf = u.jt if outcome else u.jf
                changed = True
        for side in (True, False):
            v = u.jt if side else u.jf
            assert v is not None
            edge = known if u.jt is u.jf else known | {(*test, side)}
            w = _skip(v, out, edge, values, live_in, need_in)
            if w is not None:
                v = w
                changed = True
                if side:
                    u.jt = v
                else:
                    u.jf = v
            states.setdefault(v.uid, []).append(out)
            facts[v.uid] = facts[v.uid] & edge if v.uid in facts else edge
    return changed
