"""Pull-ups for the filter optimizer: tests of one value move next to each other.

``port 80 or 443`` compiles to a chain of tests that all go to the same place
when true: ``[54] = 80``, ``[56] = 80``, ``[54] = 443``, ``[56] = 443``. The
order of the tests of such an *or-chain* does not matter, so the tests of
``[54]`` can go together and those of ``[56]`` after them, and the loads
between them go (libpcap's ``or_pullup``). An *and-chain* (tests that all go
to the same place when false) is the same the other way round.

A chain is regrouped as a whole: its nodes, in order, are split at the nodes
whose statements may fail (a load not proven to succeed, unless every
accepting path from the chain's common target proves the packet at least as
long as that load reaches); those stay where they are, and between them the
nodes are grouped by the value they test, the groups in the order they first
appear, the value tested just before the group (by the head or the node
that may fail) first. By default (as libpcap's pull-ups) packet loads count
as never failing, so tests move past them, which changes the verdicts of
some truncated packets; in strict-truncation mode no test crosses a load
that may fail, so a truncated packet keeps its verdict.

The new order is kept only if, run from the head, every node still compares
the values it compared, and the common target and the chain's end see the
same registers. Every node of a chain but the head has only its chain
predecessor. This module changes edges only, never statements.
"""

from __future__ import annotations

import itertools

from ebpy.cbpf.pcap.opt_graph import (
    ALL_REGS,
    Node,
    Test,
    branch_test,
    forward,
    live_after,
    liveness,
    required,
    ret_need,
    topo_order,
)
from ebpy.cbpf.pcap.opt_values import State, Values, effects, load_end, simulate

__all__ = ["pullup"]

MAX_CHAIN = 512
"""The longest chain regrouped at once."""


def _target(n: Node, is_or: bool) -> Node | None:
    return n.jt if is_or else n.jf


def _next(n: Node, is_or: bool) -> Node | None:
    return n.jf if is_or else n.jt


def _set_next(n: Node, is_or: bool, to: Node) -> None:
    if is_or:
        n.jf = to
    else:
        n.jt = to


class _Facts:
    """Predecessors, liveness and proven lengths, kept up to date as chains change."""

    def __init__(self, root: Node, values: Values, states: dict[int, tuple[State, State]]) -> None:
        self.values = values
        self.states = states
        order = topo_order(root)
        self.preds: dict[int, list[Node]] = {n.uid: [] for n in order}
        for n in order:
            for s in n.succs():
                self.preds[s.uid].append(n)
        self.live_in = liveness(order)
        self.need_in = required(order)

    def in_chain(self, n: Node, prev: Node, target: Node, is_or: bool) -> bool:
        """Does ``n`` continue a chain to ``target`` after ``prev``?"""
        return (
            n.jt is not None
            and n.jt is not n.jf
            and _target(n, is_or) is target
            and self.preds[n.uid] == [prev]
        )

    def _recompute(self, n: Node) -> bool:
        """Redo ``n``'s backward facts from its successors'; True if they changed."""
        live = live_after(n, self.live_in)
        need = ret_need(n) if n.is_ret else min(self.need_in[s.uid] for s in n.succs())
        for code, k in reversed(n.stmts):
            uses, defs = effects(code, k)
            live = (live & ~defs) | uses
            end = load_end(code, k)
            if end is not None:
                need = max(need, end)
        changed = (live, need) != (self.live_in[n.uid], self.need_in[n.uid])
        self.live_in[n.uid], self.need_in[n.uid] = live, need
        return changed

    def reordered(self, head: Node, chain: list[Node], end: Node, old_last: Node) -> None:
        """``chain`` now comes after ``head`` in this order and its last node leads to ``end``."""
        self.preds[chain[0].uid] = [head]
        for a, b in itertools.pairwise(chain):
            self.preds[b.uid] = [a]
        self.preds[end.uid] = [chain[-1] if p is old_last else p for p in self.preds[end.uid]]
        work = [*reversed(chain), head]
        while work:
            n = work.pop(0)
            if self._recompute(n):
                work += [p for p in self.preds[n.uid] if p not in work]


def _run(
    seq: list[Node], state: State, values: Values
) -> tuple[list[Test], list[State], list[list[int | None]]]:
    """Run ``seq`` from ``state``: each node's test, state after, and ends of loads
    that may fail (None for a statement that may fail at an unknown place)."""
    tests: list[Test] = []
    exits: list[State] = []
    failing: list[list[int | None]] = []
    for n in seq:
        _, state, info = simulate(n.stmts, state, values, rewrite=False)
        failing.append(
            [load_end(c, k) for (c, k), i in zip(n.stmts, info, strict=True) if i.may_fail]
        )
        exits.append(state)
        tests.append(branch_test(n, state, values))
    return tests, exits, failing


def _regroup(chain: list[Node], tests: list[Test], barrier: list[bool], first: int) -> list[Node]:
    """The chain with the nodes between barriers grouped by tested value: first the
    value tested just before (``first`` for the head, or the barrier's)."""
    out: list[Node] = []
    epoch: list[int] = []

    def flush(lead: int) -> None:
        groups: dict[int, list[int]] = {lead: []}
        for i in epoch:
            groups.setdefault(tests[i][0], []).append(i)
        out.extend(chain[i] for members in groups.values() for i in members)
        epoch.clear()

    lead = first
    for i, n in enumerate(chain):
        if barrier[i]:
            flush(lead)
            lead = tests[i][0]
            out.append(n)
        else:
            epoch.append(i)
    flush(lead)
    return out


def _regroup_chain(first: Node, is_or: bool, facts: _Facts) -> bool:
    """Regroup the chain starting at ``first``; True if it changed.

    With one predecessor, ``first`` moves too (the value its predecessor leaves
    in A leads); otherwise it stays and leads with the value it tests.
    """
    target = _target(first, is_or)
    assert target is not None
    values = facts.values
    preds = facts.preds[first.uid]
    if len(preds) == 1 and first is not preds[0]:
        head: Node | None = preds[0]
        start = facts.states[preds[0].uid][1]
        lead, chain, prev = start.a, [first], first
    else:
        head, start = None, facts.states[first.uid][1]
        lead, chain, prev = branch_test(first, start, values)[0], [], first
    z = _next(first, is_or)
    while z is not None and len(chain) < MAX_CHAIN and facts.in_chain(z, prev, target, is_or):
        chain.append(z)
        prev, z = z, _next(z, is_or)
    if len(chain) < 2 or z is None:
        return False
    end = z
    tests, exits, failing = _run(chain, start, values)
    need = facts.need_in[target.uid]
    barrier = [any(e is None or e > need for e in ends) for ends in failing]
    new = _regroup(chain, tests, barrier, lead)
    if new == chain:
        return False
    new_tests, new_exits, new_failing = _run(new, start, values)
    old_tests = {n.uid: t for n, t in zip(chain, tests, strict=True)}
    if any(old_tests[n.uid] != t for n, t in zip(new, new_tests, strict=True)):
        return False
    for i, n in enumerate(new):
        if not barrier[chain.index(n)] and any(e is None or e > need for e in new_failing[i]):
            return False
    live_t, live_end = facts.live_in[target.uid], facts.live_in[end.uid]
    for bit in ALL_REGS:
        if live_t & bit and len({s.reg(bit) for s in exits + new_exits}) > 1:
            return False
        if live_end & bit and exits[-1].reg(bit) != new_exits[-1].reg(bit):
            return False
    if head is None:
        for a, b in zip([first, *new], new, strict=False):
            _set_next(a, is_or, b)
        _set_next(new[-1], is_or, end)
        facts.reordered(first, new, end, chain[-1])
    else:
        if head.jt is first:
            head.jt = new[0]
        if head.jf is first:
            head.jf = new[0]
        for a, b in itertools.pairwise(new):
            _set_next(a, is_or, b)
        _set_next(new[-1], is_or, end)
        facts.reordered(head, new, end, chain[-1])
    return True


def pullup(root: Node, strict: bool = False) -> bool:
    """Regroup the tests of every or-chain and and-chain; True if anything moved.

    Heads are visited from the bottom of the graph up: a change only reorders
    a chain below its head, so the entry states of the heads still to visit
    hold; the facts computed backwards are brought up to date after each
    change. A chain is regrouped from its first node only. With ``strict``
    packet loads may fail (see ``Values``), and no test crosses one.
    """
    values = Values(strict)
    states = forward(root, values)
    facts = _Facts(root, values, states)
    changed = False
    for head in reversed(topo_order(root)):
        if head.uid not in states or head.jt is None or head.jt is head.jf:
            continue
        for is_or in (True, False):
            target, preds = _target(head, is_or), facts.preds[head.uid]
            pred = preds[0] if len(preds) == 1 else None
            if (
                pred is not None
                and _target(pred, is_or) is target
                and _next(pred, is_or) is head
                and pred.jt is not pred.jf
            ):
                continue  # not the first node of its chain
            changed |= _regroup_chain(head, is_or, facts)
    return changed
