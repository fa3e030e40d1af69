"""The optimizer: smaller programs, never a different verdict.

The property over every expression and packet is in ``test_semantics``; the
fuzzing over random expressions in ``test_fuzz``. Here: it never makes a
program longer, it does what libpcap's optimizer does on the classic
examples, and it keeps the verdict of the unoptimized program on truncated
packets where libpcap's optimizer changes it.
"""

from __future__ import annotations

import pytest

from ebpy.cbpf.interp import compile_filter_program
from ebpy.cbpf.pcap import compile_filter
from ebpy.cbpf.text import dump
from ebpy.errors import FilterSyntaxError
from tests.cbpf.pcap.goldens import EXPRESSIONS, LINKTYPES, options, program
from tests.cbpf.pcap.libpcap_compile import COMPILER, pcap_compile

needs_libpcap = pytest.mark.skipif(COMPILER is None, reason="libpcap cannot be loaded")


def lines(expr: str) -> list[str]:
    return [line[6:] for line in dump(compile_filter(expr), 1).splitlines()]


@pytest.mark.parametrize("name", list(LINKTYPES))
def test_never_longer(name: str) -> None:
    for expr in EXPRESSIONS[name]:
        kwargs = options(name)
        try:
            opt = compile_filter(expr, **kwargs)  # type: ignore[arg-type]
        except FilterSyntaxError:
            continue
        assert len(opt) <= len(compile_filter(expr, optimize=False, **kwargs))  # type: ignore[arg-type]


def test_within_a_few_percent_of_libpcap() -> None:
    ours = theirs = 0
    for expr in EXPRESSIONS["EN10MB"]:
        tcpdump = program("EN10MB", "dd", expr)
        if tcpdump is None:
            continue
        ours += len(compile_filter(expr))
        theirs += len(tcpdump)
    assert ours <= theirs * 1.02


def test_redundant_loads_go() -> None:
    assert lines("ip and tcp") == [
        "ldh      [12]",
        "jeq      #0x800           jt 2\tjf 5",
        "ldb      [23]",
        "jeq      #0x6             jt 4\tjf 5",
        "ret      #262144",
        "ret      #0",
    ]


def test_arithmetic_folds_into_the_load_and_the_test() -> None:
    assert lines("tcp[13] & 2 != 0")[-5:] == [
        "ldxb     4*([14]&0xf)",
        "ldb      [x + 27]",
        "jset     #0x2             jt 9\tjf 10",
        "ret      #262144",
        "ret      #0",
    ]
    assert lines("len - 14 > 100")[:3] == ["ld       #pktlen", "sub      #14", "jgt      #0x64            jt 3\tjf 4"]  # fmt: skip
    assert lines("1 = 1") == ["ret      #262144"]


def test_jump_threading_and_merging() -> None:
    # the three port tests of each protocol share one block; the protocol tests chain
    text = lines("port 80")
    assert len(text) == 24
    assert text.count("ldh      [54]") == 1


def test_or_chains_are_regrouped() -> None:
    text = lines("port 80 or 443 or 8080")
    assert text.count("ldh      [54]") <= 2 and len(text) <= 34


@needs_libpcap
@pytest.mark.parametrize(
    ("expr", "frame"),
    [
        # IPv6 from fd00::/8, cut in the source address, in bytes the mask ignores
        ("net fd00::/8", bytes(12) + b"\x86\xdd" + bytes(8) + b"\xfd" + bytes(7)),
        # IPv4 from 10.0.0.2, cut short of the destination address
        ("host 10.0.0.1 or 10.0.0.2", bytes(12) + b"\x08\x00" + bytes(12) + bytes((10, 0, 0, 2))),
    ],
)
def test_truncated_packets_keep_their_verdict(expr: str, frame: bytes) -> None:
    unopt = compile_filter_program(compile_filter(expr, optimize=False))
    opt = compile_filter_program(compile_filter(expr, strict_truncation=True))
    lax = compile_filter_program(compile_filter(expr))
    libpcap_opt = pcap_compile(expr, 1, True)
    assert isinstance(libpcap_opt, list)
    wire = len(frame) + 40
    assert opt(frame, wire) == unopt(frame, wire) == 0
    assert compile_filter_program(libpcap_opt)(frame, wire) != 0  # libpcap's changes it
    assert lax(frame, wire) == compile_filter_program(libpcap_opt)(frame, wire)  # and so do we
