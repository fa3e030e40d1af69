"""Fuzzing the pcap-filter compiler with hypothesis.

* Any text gives a program or a ``FilterSyntaxError``, nothing else.
* Random token sequences and random expressions of the grammar: we refuse
  exactly what libpcap's ``pcap_compile`` refuses, and otherwise our
  unoptimized program is libpcap's, instruction for instruction.
* Random expressions: the program optimized with ``strict_truncation=True``
  gives the unoptimized program's verdict on a sample of the test packets,
  truncated ones included, for capture files and (``linux_vlan``) for a live
  Linux socket.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebpy.cbpf.interp import compile_filter_program
from ebpy.cbpf.isa import Insn
from ebpy.cbpf.pcap import compile_filter
from ebpy.errors import FilterSyntaxError
from tests.cbpf.pcap.goldens import Refused
from tests.cbpf.pcap.libpcap_compile import COMPILER, pcap_compile
from tests.cbpf.pcap.packets import live_packets, packets
from tests.cbpf.pcap.strategies import TOKENS, expressions, token_soup

needs_libpcap = pytest.mark.skipif(COMPILER is None, reason="libpcap cannot be loaded")
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
SAMPLE = packets(1)[::9]


def _compile(expr: str, optimize: bool) -> list[Insn] | FilterSyntaxError:
    try:
        return compile_filter(expr, optimize=optimize)
    except FilterSyntaxError as err:
        assert err.expr == expr
        assert 0 <= err.column <= len(expr) + 1
        return err


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("abdhinoprstuvx0123456789.:/-()[]!&|=<>+*% \\"))))
def test_any_text_gives_a_program_or_a_syntax_error(expr: str) -> None:
    for optimize in (False, True):
        out = _compile(expr, optimize)
        assert isinstance(out, list | FilterSyntaxError)


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=10).map(" ".join))
def test_token_lists_give_a_program_or_a_syntax_error(expr: str) -> None:
    for optimize in (False, True):
        assert isinstance(_compile(expr, optimize), list | FilterSyntaxError)


def _as_libpcap(expr: str) -> list[Insn] | None:
    ours = _compile(expr, optimize=False)
    if isinstance(ours, FilterSyntaxError) and "not resolved" in ours.reason:
        return None  # libpcap would ask the resolver about the name
    theirs = pcap_compile(expr, 1, optimize=False)
    if isinstance(theirs, Refused):
        assert isinstance(ours, FilterSyntaxError), (expr, theirs.message)
        return None
    assert not isinstance(ours, FilterSyntaxError), (expr, ours)
    assert ours == theirs, expr
    return ours


@needs_libpcap
@FUZZ
@given(token_soup())
def test_token_soup_as_libpcap(expr: str) -> None:
    _as_libpcap(expr)


@needs_libpcap
@FUZZ
@given(expressions())
def test_expressions_as_libpcap(expr: str) -> None:
    _as_libpcap(expr)


@FUZZ
@given(expressions())
def test_optimizing_keeps_every_verdict(expr: str) -> None:
    unopt = _compile(expr, optimize=False)
    if isinstance(unopt, FilterSyntaxError):
        return
    try:
        opt: list[Insn] | FilterSyntaxError = compile_filter(expr, strict_truncation=True)
    except FilterSyntaxError as err:
        opt = err
    run_unopt = compile_filter_program(unopt)
    if isinstance(opt, FilterSyntaxError):
        assert opt.reason == "expression rejects all packets"
        assert all(run_unopt(data, wirelen) == 0 for data, wirelen in SAMPLE)
        return
    assert len(opt) <= len(unopt)
    run_opt = compile_filter_program(opt)
    for data, wirelen in SAMPLE:
        assert run_opt(data, wirelen) == run_unopt(data, wirelen), (expr, data.hex(), wirelen)


LIVE_SAMPLE = [
    (info, group[::7]) for info, group in list(live_packets().items())[::5] if group[::7]
]


@FUZZ
@given(expressions())
def test_optimizing_keeps_every_verdict_on_a_live_socket(expr: str) -> None:
    try:
        unopt = compile_filter(expr, optimize=False, linux_vlan=True)
    except FilterSyntaxError:
        return
    try:
        opt = compile_filter(expr, linux_vlan=True, strict_truncation=True)
    except FilterSyntaxError as err:
        assert err.reason == "expression rejects all packets"
        opt = []
    for info, group in LIVE_SAMPLE:
        run_unopt = compile_filter_program(unopt, skb=info)
        run_opt = compile_filter_program(opt, skb=info) if opt else None
        for data, wirelen in group:
            want = run_unopt(data, wirelen)
            assert (run_opt(data, wirelen) if run_opt else 0) == want, (expr, data.hex(), info)
