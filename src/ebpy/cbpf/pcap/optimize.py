"""The filter optimizer: smaller programs with exactly the same verdicts.

In the spirit of libpcap's optimizer, on an acyclic flow graph, repeated
until nothing changes:

1. ``_simplify`` - value numbering forward through the graph: loads of values
   already in a register go, constants replace register and memory reads,
   constant expressions fold, indirect loads with a known X become absolute,
   branches on constants are decided (``ebpy.cbpf.pcap.opt_values``).
2. ``_clean`` - liveness backward: statements whose results nobody reads go,
   unless they may fail (a load not proven to succeed stays, since a failing
   load makes the filter return 0) and the packet could still be accepted
   after them without a load reaching as far; the last arithmetic before a
   test against a constant folds into the test (``sub x; jeq #0`` is ``jeq
   x``, ``and #k; jeq #0`` is ``jset #k`` the other way round), and ``ld #c;
   add x; tax; ld [x+k]`` becomes ``ld [x+k+c]``.
3. ``thread`` - jump threading on what the branches taken prove
   (``ebpy.cbpf.pcap.opt_thread``), and ``reject_early``.
4. ``pullup`` - tests of the same value in a chain of ``or`` (or ``and``)
   tests move next to each other (``ebpy.cbpf.pcap.opt_pullup``).
5. ``intern`` and ``merge_straight`` - equal nodes merge, nodes that do
   nothing disappear, a node joins its only successor
   (``ebpy.cbpf.pcap.opt_graph``).

Truncated packets: like libpcap's, by default this optimizer takes packet
loads never to fail, so it drops loads whose values nobody needs (the words
of an address a mask ignores) and moves tests ahead of loads (pull-ups), which
changes the verdict of some truncated packets exactly as libpcap's programs
do (``tcpdump -r`` keeps the packets ``ebpy filter -r`` keeps). With
``strict_truncation=True`` it never changes a verdict, not even on a
truncated packet: it drops or moves a load that may fail only where a
failure could not change the outcome.
"""

from __future__ import annotations

from ebpy.cbpf.isa import (
    BPF_ADD,
    BPF_ALU,
    BPF_AND,
    BPF_IND,
    BPF_JEQ,
    BPF_JMP,
    BPF_JSET,
    BPF_K,
    BPF_LD,
    BPF_MISC,
    BPF_SUB,
    BPF_TAX,
    BPF_X,
)
from ebpy.cbpf.pcap.blocks import Block
from ebpy.cbpf.pcap.opt_graph import (
    Node,
    Test,
    branch_test,
    from_blocks,
    intern,
    live_after,
    merge_straight,
    ret_need,
    to_blocks,
    topo_order,
)
from ebpy.cbpf.pcap.opt_pullup import pullup
from ebpy.cbpf.pcap.opt_thread import decide, reject_early, thread
from ebpy.cbpf.pcap.opt_values import (
    REG_A,
    REG_X,
    Info,
    State,
    Values,
    effects,
    load_end,
    simulate,
)

__all__ = ["optimize_graph"]

MASK = 0xFFFF_FFFF
MAX_ROUNDS = 100


def optimize_graph(root: Block, *, strict_truncation: bool = False) -> Block:
    """The optimized equivalent of the graph at ``root``.

    With ``strict_truncation`` every verdict is kept, truncated packets'
    included; without (libpcap's behaviour), packet loads count as never
    failing.
    """
    node = from_blocks(root)
    strict = strict_truncation
    for _ in range(MAX_ROUNDS):
        changed = _simplify(node, strict)
        changed |= _clean(node, strict)
        changed |= thread(node, strict)
        changed |= reject_early(node)
        changed |= pullup(node, strict)
        node, merged = intern(node)
        merged |= merge_straight(node)
        if not (changed or merged):
            break
    return to_blocks(node)


# --- constant branches -------------------------------------------------------------------


def _fold_branch(n: Node, test: Test, values: Values) -> bool:
    """Decide ``n``'s branch when constants do; True if it changed."""
    if n.jt is n.jf or n.jt is None:
        return False
    _, op, rhs = test
    if n.code & 0x08 == BPF_X and rhs >= 0:
        n.code, n.k = BPF_JMP | op | BPF_K, rhs
    outcome = decide(test, frozenset(), values)
    if outcome is None and (op, rhs) == (BPF_JSET, 0):
        outcome = False
    if outcome is None:
        return False
    n.jt = n.jf = n.jt if outcome else n.jf
    return True


# --- pass 1: value numbering -------------------------------------------------------------


def _simplify(root: Node, strict: bool) -> bool:
    values = Values(strict)
    incoming: dict[int, list[State]] = {root.uid: [State.entry(values)]}
    changed = False
    for n in topo_order(root):
        if n.uid not in incoming:
            continue  # no longer reachable: a branch above was decided
        state = State.merge(incoming[n.uid], values, n.uid)
        stmts, out, _ = simulate(n.stmts, state, values, rewrite=True)
        if stmts != n.stmts:
            n.stmts, changed = stmts, True
        if not n.is_ret:
            changed |= _fold_branch(n, branch_test(n, out, values), values)
        for s in n.succs():
            incoming.setdefault(s.uid, []).append(out)
    return changed


# --- pass 2: liveness and peepholes --------------------------------------------------------


def _fold_into_test(n: Node, live_out: int) -> bool:
    """Fold the last ``sub``/``add``/``and`` into a test against a constant."""
    if n.is_ret or n.jt is n.jf or not n.stmts or live_out & REG_A:
        return False
    code, k = n.stmts[-1]
    if n.code != BPF_JMP | BPF_JEQ | BPF_K:
        return False
    if code == BPF_ALU | BPF_SUB | BPF_X and n.k == 0:
        n.code = BPF_JMP | BPF_JEQ | BPF_X
    elif code == BPF_ALU | BPF_SUB | BPF_K:
        n.k = (n.k + k) & MASK
    elif code == BPF_ALU | BPF_ADD | BPF_K:
        n.k = (n.k - k) & MASK
    elif code == BPF_ALU | BPF_AND | BPF_K and n.k == 0:
        n.code, n.k = BPF_JMP | BPF_JSET | BPF_K, k
        n.jt, n.jf = n.jf, n.jt
    else:
        return False
    n.stmts = n.stmts[:-1]
    return True


def _offset_into_load(n: Node, info: list[Info], values: Values, live_out: int) -> bool:
    """``tax`` of ``X + c`` followed by indexed loads: add ``c`` to the loads instead."""
    for i, (code, _k) in enumerate(n.stmts):
        if code != BPF_MISC | BPF_TAX:
            continue
        key = values.keys[info[i].a]
        if key[0] != "alu" or key[1] != BPF_ADD:
            continue
        left, right = key[2], key[3]
        assert isinstance(left, int) and isinstance(right, int)
        if right in values.consts and left == info[i].x:
            c = values.consts[right]
        elif left in values.consts and right == info[i].x:
            c = values.consts[left]
        else:
            continue
        loads: list[int] = []
        usable, redefined = True, False
        for j in range(i + 1, len(n.stmts)):
            jcode, jk = n.stmts[j]
            uses, defs = effects(jcode, jk)
            if uses & REG_X:
                if jcode & 0x07 != BPF_LD or jcode & 0xE0 != BPF_IND or jk + c > 0x7FFF_FFFF:
                    usable = False
                    break
                loads.append(j)
            if defs & REG_X:
                redefined = True
                break
        if not usable or not loads or (not redefined and live_out & REG_X):
            continue
        stmts = list(n.stmts)
        for j in loads:
            stmts[j] = (stmts[j][0], stmts[j][1] + c)
        del stmts[i]
        del info[i]
        n.stmts = stmts
        return True
    return False


def _clean(root: Node, strict: bool) -> bool:
    values = Values(strict)
    order = topo_order(root)
    changed = False
    incoming: dict[int, list[State]] = {root.uid: [State.entry(values)]}
    local: dict[int, list[Info]] = {}
    for n in order:
        state = State.merge(incoming[n.uid], values, n.uid)
        _, out, info = simulate(n.stmts, state, values, rewrite=False)
        local[n.uid] = info
        for s in n.succs():
            incoming.setdefault(s.uid, []).append(out)
    live_in: dict[int, int] = {}
    need_in: dict[int, int] = {}
    for n in reversed(order):
        info = local[n.uid]
        succ_live = 0
        for s in n.succs():
            succ_live |= live_in[s.uid]
        if _fold_into_test(n, succ_live):
            info = info[:-1]
            changed = True
        if _offset_into_load(n, info, values, live_after(n, live_in)):
            changed = True
        live = live_after(n, live_in)
        need = ret_need(n) if n.is_ret else min(need_in[s.uid] for s in n.succs())
        kept: list[tuple[int, int]] = []
        for (code, k), stmt_info in zip(reversed(n.stmts), reversed(info), strict=True):
            uses, defs = effects(code, k)
            end = load_end(code, k)
            harmless = not stmt_info.may_fail or (end is not None and end <= need)
            if defs and not defs & live and harmless:
                changed = True
                continue
            live = (live & ~defs) | uses
            if end is not None:
                need = max(need, end)
            kept.append((code, k))
        kept.reverse()
        n.stmts = kept
        live_in[n.uid] = live
        need_in[n.uid] = need
    return changed
