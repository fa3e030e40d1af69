"""The validator: the kernel's rules one by one, and libpcap's ``bpf_validate`` as an oracle.

The kernel's own verdict (``SO_ATTACH_FILTER``) on random programs is compared
in ``test_kernel_socket.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

from ebpy.cbpf.asm import assemble
from ebpy.cbpf.isa import SKF_AD_OFF, Insn
from ebpy.cbpf.text import parse_dd
from ebpy.cbpf.validate import LINUX_CODES, validate
from ebpy.errors import CbpfError, InputError
from tests.cbpf import libpcap
from tests.cbpf.strategies import ANCILLARY_ALL, programs, raw_programs

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "cbpf"
AD = SKF_AD_OFF & 0xFFFF_FFFF
RET = Insn(0x06, 0, 0, 1)

REFUSED = [
    ("empty", [], None),
    ("too long", [RET] * 4097, None),
    ("unknown code", [Insn(0x08), RET], 0),
    ("ld h imm", [Insn(0x08, 0, 0, 1), RET], 0),
    ("ret x", [Insn(0x0E)], 0),
    ("jne (eBPF only)", [Insn(0x55, 0, 0, 1), RET], 0),
    ("div by 0", [Insn(0x34, 0, 0, 0), RET], 0),
    ("mod by 0", [Insn(0x94, 0, 0, 0), RET], 0),
    ("lsh 32", [Insn(0x64, 0, 0, 32), RET], 0),
    ("rsh 40", [Insn(0x74, 0, 0, 40), RET], 0),
    ("st M[16]", [Insn(0x02, 0, 0, 16), RET], 0),
    ("ldx M[16]", [RET, Insn(0x61, 0, 0, 16), RET], 1),
    ("ja out", [Insn(0x05, 0, 0, 1), RET], 0),
    ("ja wraps", [RET, Insn(0x05, 0, 0, 0xFFFF_FFFF), RET], 1),
    ("jt out", [Insn(0x15, 1, 0, 0), RET], 0),
    ("jf out", [Insn(0x15, 0, 1, 0), RET], 0),
    ("unknown ancillary", [Insn(0x20, 0, 0, AD + 2), RET], 0),
    ("ancillary past the end", [Insn(0x28, 0, 0, AD + 64), RET], 0),
    ("last not ret", [RET, Insn(0x00)], 1),
    ("load before store", [Insn(0x60), RET], 0),
    ("store on one path", assemble("jeq #1, a1, a2\na1: st M[3]\na2: ld M[3]\nret a"), 2),
]


@pytest.mark.parametrize(
    ("prog", "pc"), [(p, pc) for _, p, pc in REFUSED], ids=[n for n, _, _ in REFUSED]
)
def test_refused(prog: list[Insn], pc: int | None) -> None:
    with pytest.raises(CbpfError) as info:
        validate(prog)
    assert info.value.pc == pc
    assert isinstance(info.value, InputError)


ACCEPTED = [
    ("ret", [RET]),
    ("4096", [Insn(0x00)] * 4095 + [RET]),
    ("ret a", [Insn(0x16)]),
    ("every ancillary", [Insn(0x20, 0, 0, AD + off) for off in range(0, 64, 4)] + [RET]),
    ("SKF_NET_OFF", [Insn(0x30, 0, 0, 0xFFF0_0000), RET]),
    ("ancillary by ldb", [Insn(0x30, 0, 0, AD), RET]),
    ("IND at ancillary", [Insn(0x40, 0, 0, AD + 2), RET]),
    (
        "store on both paths",
        assemble("jeq #1, a1, a2\na1: st M[3]\nja a3\na2: stx M[3]\na3: ld M[3]\nret a"),
    ),
    ("unreachable code", [RET, Insn(0x00), RET]),
    ("memory after ret", [Insn(0x02), RET, Insn(0x60), Insn(0x16)]),
    ("lsh 31", [Insn(0x64, 0, 0, 31), RET]),
]


@pytest.mark.parametrize("prog", [p for _, p in ACCEPTED], ids=[n for n, _ in ACCEPTED])
def test_accepted(prog: list[Insn]) -> None:
    validate(prog)


def test_first_error_in_kernel_order() -> None:
    """The instruction rules come before the last-ret rule, which comes before memory."""
    prog = [Insn(0x60), Insn(0x34, 0, 0, 0), Insn(0x00)]
    with pytest.raises(CbpfError) as info:
        validate(prog)
    assert info.value.pc == 1
    with pytest.raises(CbpfError) as info:
        validate([Insn(0x60), Insn(0x00)])
    assert info.value.pc == 1


def test_linux_codes() -> None:
    assert len(LINUX_CODES) == 49
    assert all(code < 0x100 for code in LINUX_CODES)


@pytest.mark.parametrize(
    "name", sorted(p.name.removesuffix(".dd.txt") for p in GOLDEN.glob("*.dd.txt"))
)
def test_tcpdump_programs(name: str) -> None:
    prog = parse_dd((GOLDEN / f"{name}.dd.txt").read_text())
    validate(prog, linux=False)
    if name != "ip6_protochain":  # jumps back: only libpcap's userland takes that
        validate(prog)


@settings(max_examples=300)
@given(programs(ancillary=ANCILLARY_ALL, max_len=60))
def test_strategy_programs_are_valid(prog: list[Insn]) -> None:
    validate(prog)
    validate(prog, linux=False)


# -- libpcap --------------------------------------------------------------------------------

needs_libpcap = pytest.mark.skipif(libpcap.LIBPCAP is None, reason="libpcap is not installed")


@needs_libpcap
@settings(max_examples=2000)
@given(raw_programs())
def test_agrees_with_libpcap(prog: list[Insn]) -> None:
    try:
        validate(prog, linux=False)
        ours = True
    except CbpfError:
        ours = False
    assert ours == libpcap.validate(prog)


def test_libpcap_rules() -> None:
    validate([Insn(0x60), Insn(0x0E)], linux=False)  # class-based: ret x, load before store
    validate([Insn(0x28 | 0x80), Insn(0x06)], linux=False)  # any size with a known mode
    back = [Insn(0x00), Insn(0x05, 0, 0, 0xFFFF_FFFE), Insn(0x06)]
    validate(back, linux=False)  # ja computed in 32 bits: back to 0
    for prog, pc in [
        ([Insn(0xC0), Insn(0x06)], 0),
        ([Insn(0xB4), Insn(0x06)], 0),
        ([Insn(0x55), Insn(0x06)], 0),
        ([Insn(0x06), Insn(0x00)], 1),
    ]:
        with pytest.raises(CbpfError) as info:
            validate(prog, linux=False)
        assert info.value.pc == pc
