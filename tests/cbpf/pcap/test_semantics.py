"""Our programs and tcpdump's give the same verdicts on packets.

For every expression and link type, over the packets of ``packets.py`` (a
slice of the shared corpus and frames aimed at the expressions, whole, cut
short and with bytes changed), run with libpcap's semantics
(``ebpy.cbpf.interp``):

* our unoptimized program gives what tcpdump's ``-O -dd`` program gives;
* our program optimized with ``strict_truncation=True`` gives what our
  unoptimized one gives, on every packet, truncated or not;
* our optimized program (by default, libpcap's treatment of truncated
  packets) gives what tcpdump's ``-dd`` program gives on every packet; where
  tcpdump's own two programs disagree, the packet is one that is too short
  for the unoptimized program (with more bytes behind it, the verdict
  changes): libpcap's optimizer drops or moves loads that may fail.

The live set (``EN10MB_LINUX``, code for a Linux socket) runs with the
kernel's semantics on packets with their metadata (``live_packets``): the
outer VLAN tag in the data or in the metadata, both directions.
"""

from __future__ import annotations

import pytest

from ebpy.cbpf.interp import Filter, compile_filter_program
from ebpy.cbpf.isa import Insn
from ebpy.cbpf.pcap import compile_filter
from ebpy.errors import FilterSyntaxError
from tests.cbpf.pcap.goldens import EXPRESSIONS, LINKTYPES, LIVE, program
from tests.cbpf.pcap.packets import live_packets, packets

CASES = [(name, expr) for name in LINKTYPES if name not in LIVE for expr in EXPRESSIONS[name]]
IDS = [f"{name}:{expr}" for name, expr in CASES]


def _short(f: Filter, data: bytes, wirelen: int, verdict: int) -> bool:
    """Would more bytes behind ``data`` change what ``f`` says?"""
    for pad in (b"\0", b"\xff"):
        longer = data + pad * 2048
        if f(longer, max(wirelen, len(longer))) != verdict:
            return True
    return False


@pytest.mark.parametrize(("name", "expr"), CASES, ids=IDS)
def test_same_verdicts(name: str, expr: str) -> None:
    linktype = LINKTYPES[name]
    tcpdump_unopt = program(name, "O-dd", expr)
    tcpdump_opt = program(name, "dd", expr)
    if tcpdump_unopt is None:
        with pytest.raises(FilterSyntaxError):
            compile_filter(expr, linktype=linktype, optimize=False)
        return
    theirs = compile_filter_program(tcpdump_unopt)
    theirs_opt = compile_filter_program(tcpdump_opt) if tcpdump_opt is not None else None
    unopt = compile_filter_program(compile_filter(expr, linktype=linktype, optimize=False))
    try:
        opt: Filter | None = compile_filter_program(
            compile_filter(expr, linktype=linktype, strict_truncation=True)
        )
        lax: Filter | None = compile_filter_program(compile_filter(expr, linktype=linktype))
    except FilterSyntaxError as err:
        assert err.reason == "expression rejects all packets"
        opt = lax = None
    matched = 0
    for data, wirelen in packets(linktype):
        want = theirs(data, wirelen)
        assert unopt(data, wirelen) == want, (data.hex(), wirelen)
        got = opt(data, wirelen) if opt is not None else 0
        assert got == want, (data.hex(), wirelen)
        got_lax = lax(data, wirelen) if lax is not None else 0
        if theirs_opt is not None:
            assert got_lax == theirs_opt(data, wirelen), (data.hex(), wirelen)
        if theirs_opt is not None and theirs_opt(data, wirelen) != want:
            assert _short(theirs, data, wirelen, want), (data.hex(), wirelen)
        matched += bool(want)
    if opt is None:
        assert matched == 0


LIVE_CASES = [(name, expr) for name in sorted(LIVE) for expr in EXPRESSIONS[name]]


@pytest.mark.parametrize(("name", "expr"), LIVE_CASES, ids=[f"{n}:{e}" for n, e in LIVE_CASES])
def test_same_verdicts_on_a_live_socket(name: str, expr: str) -> None:
    programs: list[tuple[Insn, ...] | None] = [
        program(name, "O-dd", expr),
        program(name, "dd", expr),
        tuple(compile_filter(expr, optimize=False, linux_vlan=True)),
        tuple(compile_filter(expr, linux_vlan=True)),
    ]
    assert all(p is not None for p in programs)
    matched = 0
    for info, group in live_packets().items():
        runs = [compile_filter_program(p or (), skb=info) for p in programs]
        for data, wirelen in group:
            verdicts = [run(data, wirelen) for run in runs]
            want = verdicts[0]
            assert verdicts[2] == verdicts[3] == want, (data.hex(), info)
            if verdicts[1] != want:
                assert _short(runs[0], data, wirelen, want), (data.hex(), info)
            matched += bool(want)
    assert matched


def test_packets_match_something() -> None:
    """The packets are aimed well: most expressions accept some and reject some."""
    both = 0
    for expr in EXPRESSIONS["EN10MB"]:
        try:
            f = compile_filter_program(compile_filter(expr))
        except FilterSyntaxError:
            continue
        verdicts = {bool(f(data, wirelen)) for data, wirelen in packets(1)}
        both += verdicts == {True, False}
    assert both >= 0.9 * len(EXPRESSIONS["EN10MB"])
