"""Our programs against tcpdump's (libpcap 1.10), instruction for instruction.

The goldens are what ``tcpdump -O -d`` (not optimized) and ``tcpdump -d``
(optimized) printed for every expression of ``expressions*.txt``
(``make -C tests/testdata pcapfilter``):

* not optimized, our program is libpcap's exactly, for every expression
  (``UNOPT_DIFFERS`` would list exceptions; it is empty), and we refuse what
  libpcap refuses;
* optimized, our program is libpcap's exactly except where listed in
  ``OPT_DIFFERS`` with the reason (``test_semantics`` checks those on packets)
  and in the live set (``EN10MB_LINUX``), where ours is never longer; and we
  say "rejects all packets" where libpcap does.
"""

from __future__ import annotations

import pytest

from ebpy.cbpf.pcap import compile_filter
from ebpy.cbpf.text import dump
from ebpy.errors import FilterSyntaxError
from tests.cbpf.pcap.goldens import EXPRESSIONS, LINKTYPES, LIVE, Refused, golden, options

CASES = [(name, expr) for name in LINKTYPES for expr in EXPRESSIONS[name]]
IDS = [f"{name}:{expr}" for name, expr in CASES]

UNOPT_DIFFERS: dict[tuple[str, str], str] = {}
"""Expressions whose unoptimized program is not libpcap's, with the reason (none today);
``test_semantics`` checks them on packets."""

OPT_DIFFERS: dict[tuple[str, str], str] = {
    ("EN10MB", "ip[8] + 1 = 65"): "smaller: the addition folds into the comparison",
    ("EN10MB", "icmp6 and ip6[40] = 135"): (
        "smaller: [54] = 58 and [54] = 135 cannot both hold, so the fragment-header path goes"
    ),
    ("EN10MB", "len = len"): "smaller: len - len is 0, so the comparison always holds",
}


def _ours(name: str, expr: str, optimize: bool) -> str | FilterSyntaxError:
    try:
        return dump(compile_filter(expr, optimize=optimize, **options(name)), 1)  # type: ignore[arg-type]
    except FilterSyntaxError as err:
        return err


@pytest.mark.parametrize(("name", "expr"), CASES, ids=IDS)
def test_unoptimized_is_libpcaps(name: str, expr: str) -> None:
    want = golden(name, "O-d")[expr]
    ours = _ours(name, expr, optimize=False)
    if (name, expr) in UNOPT_DIFFERS:
        assert ours != want, f"now the same as libpcap: drop it from UNOPT_DIFFERS ({expr})"
    elif isinstance(want, Refused):
        assert isinstance(ours, FilterSyntaxError), want.message
        assert ours.expr == expr
    else:
        assert ours == want


@pytest.mark.parametrize(("name", "expr"), CASES, ids=IDS)
def test_optimized_is_libpcaps(name: str, expr: str) -> None:
    want = golden(name, "d")[expr]
    ours = _ours(name, expr, optimize=True)
    if isinstance(want, Refused):
        assert isinstance(ours, FilterSyntaxError)
        assert ours.reason == "expression rejects all packets" == want.message.split(": ", 1)[1]
    elif (name, expr) in OPT_DIFFERS:
        assert isinstance(ours, str)
        assert ours != want, f"now the same as libpcap: drop it from OPT_DIFFERS ({expr})"
    elif name in LIVE:
        # libpcap leaves the jumps inside the VLAN blocks alone; we thread through them,
        # test the metadata once and fold the run-time offsets into each path
        assert isinstance(ours, str)
        assert ours.count("\n") <= want.count("\n")
    else:
        assert ours == want


def test_every_listed_difference_is_an_expression() -> None:
    for name, expr in [*UNOPT_DIFFERS, *OPT_DIFFERS]:
        assert expr in EXPRESSIONS[name], (name, expr)


def test_enough_expressions() -> None:
    assert len(EXPRESSIONS["EN10MB"]) >= 150
    assert sum(len(v) for v in EXPRESSIONS.values()) >= 400
