"""``tcpdump -d/-dd/-ddd`` text: goldens printed again byte for byte, libpcap's ``bpf_image``, parsing."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.cbpf.isa import Insn
from ebpy.cbpf.text import canonical, dump, image, parse_d, parse_dd, parse_ddd
from ebpy.errors import AsmError
from tests.cbpf import libpcap
from tests.cbpf.strategies import ANCILLARY_ALL, INTERESTING_CODES, U32, programs

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "golden" / "cbpf"
EXPRS = ROOT / "testdata" / "cbpf"
NAMES = sorted(p.name.removesuffix(".d.txt") for p in GOLDEN.glob("*.d.txt"))
LEVELS = {1: "d", 2: "dd", 3: "ddd"}
PARSERS = {1: parse_d, 2: parse_dd, 3: parse_ddd}


def golden(name: str, level: int) -> str:
    return (GOLDEN / f"{name}.{LEVELS[level]}.txt").read_text()


def test_goldens_exist() -> None:
    assert len(NAMES) >= 40
    assert {p.stem for p in EXPRS.glob("*.expr")} == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_golden_levels_agree(name: str) -> None:
    d, dd, ddd = (PARSERS[level](golden(name, level)) for level in LEVELS)
    assert dd == ddd
    assert d == canonical(dd)
    assert d


@pytest.mark.parametrize("level", list(LEVELS))
@pytest.mark.parametrize("name", NAMES)
def test_golden_printed_again_byte_for_byte(name: str, level: int) -> None:
    prog = parse_dd(golden(name, 2))
    assert dump(prog, level) == golden(name, level)


def test_dump_levels_beyond_range() -> None:
    prog = [Insn(0x06, 0, 0, 1)]
    assert dump(prog, 7) == dump(prog, 3) == "1\n6 0 0 1\n"
    assert dump(prog, 0) == dump(prog, 1) == "(000) ret      #1\n"
    assert dump([], 1) == dump([], 2) == "" and dump([], 3) == "0\n"


# -- libpcap's bpf_image as the oracle -----------------------------------------------------

needs_libpcap = pytest.mark.skipif(libpcap.LIBPCAP is None, reason="libpcap is not installed")


@needs_libpcap
def test_image_matches_libpcap_for_every_code() -> None:
    rng = random.Random(5)
    ks = [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_F000, 0xFFFF_F028, 0xFFFF_F03F]
    for code in range(0x10000):
        for k in [*ks, rng.getrandbits(32)] if code < 0x100 else ks[:3]:
            insn = Insn(code, rng.randrange(256), rng.randrange(256), k)
            n = rng.choice([0, 5, 999, 1000, 4095])
            assert image(insn, n) == libpcap.image(insn, n), insn


@needs_libpcap
@settings(max_examples=300)
@given(
    st.builds(
        Insn, st.sampled_from(INTERESTING_CODES), st.integers(0, 255), st.integers(0, 255), U32
    ),
    st.integers(0, 5000),
)
def test_image_matches_libpcap(insn: Insn, n: int) -> None:
    assert image(insn, n) == libpcap.image(insn, n)


# -- reading back ----------------------------------------------------------------------------


@settings(max_examples=300)
@given(programs(ancillary=ANCILLARY_ALL))
def test_d_round_trip(prog: list[Insn]) -> None:
    assert parse_d(dump(prog, 1)) == prog


@settings(max_examples=300)
@given(
    st.lists(
        st.builds(Insn, st.integers(0, 0xFFFF), st.integers(0, 255), st.integers(0, 255), U32),
        max_size=20,
    )
)
def test_dd_and_ddd_round_trip_any_fields(prog: list[Insn]) -> None:
    assert parse_dd(dump(prog, 2)) == prog
    assert parse_ddd(dump(prog, 3)) == prog


def test_parse_ddd_bpf_asm_one_line_form() -> None:
    text = "4,40 0 0 12,21 0 1 2048,6 0 0 262144,6 0 0 0,\n"
    assert parse_ddd(text) == parse_ddd(golden("ip", 3))


def test_parse_dd_reads_bpf_asm_c_style() -> None:
    text = "{ 0x28,  0,  0, 0x0000000c },\n/* ip */ { 0x15, 0, 1, 0x00000800 },\n"
    assert parse_dd(text) == [Insn(0x28, 0, 0, 12), Insn(0x15, 0, 1, 0x800)]


def test_parse_d_skips_warnings_and_reads_names() -> None:
    text = "Warning: assuming Ethernet\n(000) ldb      [vlanp]\n(001) ret      \n"
    assert parse_d(text) == [Insn(0x30, 0, 0, 0xFFFF_F030), Insn(0x16)]


def test_parse_d_unimp_and_backward_ja() -> None:
    prog = [Insn(0x81), Insn(0x05, 0, 0, 0xFFFF_FFFE), Insn(0x55, 1, 2), Insn(0x6)]
    assert parse_d(dump(prog, 1)) == prog


@settings(max_examples=300)
@given(
    st.lists(
        st.builds(
            Insn, st.sampled_from(INTERESTING_CODES), st.integers(0, 9), st.integers(0, 9), U32
        ),
        max_size=12,
    )
)
def test_d_round_trip_of_canonical_programs(prog: list[Insn]) -> None:
    """``-d`` keeps exactly what ``canonical`` keeps (where jump targets stay printable)."""
    assert parse_d(dump(prog, 1)) == canonical(prog)


@pytest.mark.parametrize(
    ("parser", "text", "line"),
    [
        (parse_d, "(000) ldh [12]\n(002) ret #0\n", 2),
        (parse_d, "(000) ldh [12]\n(001) frob #1\n", 2),
        (parse_d, "(000) ld [nosuch]\n", 1),
        (parse_d, "(000) jeq #1 jt 300 jf 1\n", 1),
        (parse_d, "hello\n", 1),
        (parse_dd, "{ 0x28, 0, 0, 12 },\n{ 0x28, 0, 0 },\n", 2),
        (parse_dd, "{ 0x10000, 0, 0, 0 },\n", 1),
        (parse_dd, "{ 0x6, 256, 0, 0 },\n", 1),
        (parse_ddd, "2\n6 0 0 1\n", 2),
        (parse_ddd, "x\n", 1),
        (parse_ddd, "1\n6 0 0\n", 2),
        (parse_ddd, "1\n6 0 0 0x1ffffffff\n", 2),
    ],
)
def test_parse_errors(parser: object, text: str, line: int) -> None:
    assert callable(parser)
    with pytest.raises(AsmError) as info:
        parser(text)
    assert info.value.line == line


def test_parse_ddd_empty() -> None:
    with pytest.raises(AsmError):
        parse_ddd("")


# -- tcpdump itself, where it is installed -------------------------------------------------


@pytest.mark.tools
@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
@pytest.mark.parametrize("name", [n for n in NAMES if not (EXPRS / f"{n}.opts").exists()])
def test_goldens_are_what_tcpdump_prints_now(name: str) -> None:
    expr = (EXPRS / f"{name}.expr").read_text().strip()
    for level, flag in LEVELS.items():
        out = subprocess.run(
            ["tcpdump", f"-{flag}", expr], capture_output=True, text=True, check=True
        ).stdout
        assert out == golden(name, level)


@settings(max_examples=300)
@given(
    st.text(alphabet="(0123456789) ldhbjeqxrt#[]+-M*&fkpnwa{},\t\n", max_size=80),
    st.sampled_from([parse_d, parse_dd, parse_ddd]),
)
def test_fuzz_parsers_raise_only_asm_errors(text: str, parser: object) -> None:
    assert callable(parser)
    try:
        prog = parser(text)
    except AsmError:
        return
    assert all(0 <= i.code <= 0xFFFF and 0 <= i.k <= 0xFFFF_FFFF for i in prog)
