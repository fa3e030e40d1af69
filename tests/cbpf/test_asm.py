"""The ``bpf_asm`` assembler and disassembler: every form, labels, comments, errors, round trips."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.cbpf.asm import EXTENSIONS, assemble, disassemble
from ebpy.cbpf.isa import SKF_AD_OFF, Insn
from ebpy.cbpf.text import canonical, parse_dd
from ebpy.errors import AsmError, CbpfError
from tests.cbpf.strategies import ANCILLARY_ALL, programs

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "cbpf"
NAMES = sorted(p.name.removesuffix(".d.txt") for p in GOLDEN.glob("*.d.txt"))
AD = SKF_AD_OFF & 0xFFFF_FFFF


def one(text: str) -> Insn:
    (insn,) = assemble(text)
    return insn


FORMS = [
    ("ld #5", Insn(0x00, 0, 0, 5)),
    ("ld #-1", Insn(0x00, 0, 0, 0xFFFF_FFFF)),
    ("ldi #0x10", Insn(0x00, 0, 0, 16)),
    ("ldi 7", Insn(0x00, 0, 0, 7)),
    ("ld #len", Insn(0x80)),
    ("ld len", Insn(0x80)),
    ("ld M[3]", Insn(0x60, 0, 0, 3)),
    ("ld [12]", Insn(0x20, 0, 0, 12)),
    ("ld [x + 4]", Insn(0x40, 0, 0, 4)),
    ("ld [%x + 4]", Insn(0x40, 0, 0, 4)),
    ("ld [x +4]", Insn(0x40, 0, 0, 4)),
    ("ld [x + -4]", Insn(0x40, 0, 0, 0xFFFF_FFFC)),
    ("ldh [12]", Insn(0x28, 0, 0, 12)),
    ("ldh [x + 14]", Insn(0x48, 0, 0, 14)),
    ("ldb [23]", Insn(0x30, 0, 0, 23)),
    ("ldb [%x+1]", Insn(0x50, 0, 0, 1)),
    ("ld [-1048576]", Insn(0x20, 0, 0, 0xFFF0_0000)),
    ("ld #proto", Insn(0x20, 0, 0, AD + 0)),
    ("ldh proto", Insn(0x28, 0, 0, AD + 0)),
    ("ldb #type", Insn(0x30, 0, 0, AD + 4)),
    ("ld #ifidx", Insn(0x20, 0, 0, AD + 8)),
    ("ld #nla", Insn(0x20, 0, 0, AD + 12)),
    ("ld #nlan", Insn(0x20, 0, 0, AD + 16)),
    ("ld #mark", Insn(0x20, 0, 0, AD + 20)),
    ("ld #queue", Insn(0x20, 0, 0, AD + 24)),
    ("ld #hatype", Insn(0x20, 0, 0, AD + 28)),
    ("ld #rxhash", Insn(0x20, 0, 0, AD + 32)),
    ("ld #cpu", Insn(0x20, 0, 0, AD + 36)),
    ("ld #vlan_tci", Insn(0x20, 0, 0, AD + 44)),
    ("ld #vlan_avail", Insn(0x20, 0, 0, AD + 48)),
    ("ld #vlan_pr", Insn(0x20, 0, 0, AD + 48)),
    ("ld #poff", Insn(0x20, 0, 0, AD + 52)),
    ("ld #rand", Insn(0x20, 0, 0, AD + 56)),
    ("ld #vlan_tpid", Insn(0x20, 0, 0, AD + 60)),
    ("ldx #0x28", Insn(0x01, 0, 0, 0x28)),
    ("ldxi 3", Insn(0x01, 0, 0, 3)),
    ("ldx #len", Insn(0x81)),
    ("ldx M[15]", Insn(0x61, 0, 0, 15)),
    ("ldx 4*([14]&0xf)", Insn(0xB1, 0, 0, 14)),
    ("ldxb 4 * ([14] & 0xf)", Insn(0xB1, 0, 0, 14)),
    ("st M[0]", Insn(0x02)),
    ("stx M[1]", Insn(0x03, 0, 0, 1)),
    ("add #1", Insn(0x04, 0, 0, 1)),
    ("add x", Insn(0x0C)),
    ("add %x", Insn(0x0C)),
    ("sub #2", Insn(0x14, 0, 0, 2)),
    ("mul x", Insn(0x2C)),
    ("div #3", Insn(0x34, 0, 0, 3)),
    ("mod #0b101", Insn(0x94, 0, 0, 5)),
    ("and #0xf", Insn(0x54, 0, 0, 15)),
    ("or #010", Insn(0x44, 0, 0, 8)),
    ("xor x", Insn(0xAC)),
    ("lsh #2", Insn(0x64, 0, 0, 2)),
    ("rsh x", Insn(0x7C)),
    ("neg", Insn(0x84)),
    ("tax", Insn(0x07)),
    ("txa", Insn(0x87)),
    ("ret #262144", Insn(0x06, 0, 0, 262144)),
    ("ret a", Insn(0x16)),
    ("ret %a", Insn(0x16)),
    ("ret x", Insn(0x0E)),
    ("RET #1", Insn(0x06, 0, 0, 1)),
    ("Ld [0]", Insn(0x20)),
]


@pytest.mark.parametrize(("text", "expected"), FORMS, ids=[t for t, _ in FORMS])
def test_forms(text: str, expected: Insn) -> None:
    assert one(text) == expected


JUMPS = [
    ("jeq #1, yes, no", Insn(0x15, 0, 1, 1)),
    ("jeq #1, no", Insn(0x15, 1, 0, 1)),
    ("jeq x, yes, no", Insn(0x1D, 0, 1)),
    ("jeq %x, no", Insn(0x1D, 1, 0)),
    ("jneq #1, no", Insn(0x15, 0, 1, 1)),
    ("jne x, no", Insn(0x1D, 0, 1)),
    ("jlt #5, no", Insn(0x35, 0, 1, 5)),
    ("jle #5, no", Insn(0x25, 0, 1, 5)),
    ("jgt #5, yes, no", Insn(0x25, 0, 1, 5)),
    ("jge x, no", Insn(0x3D, 1, 0)),
    ("jset #0x1fff, no, yes", Insn(0x45, 1, 0, 0x1FFF)),
    ("jmp no", Insn(0x05, 0, 0, 1)),
    ("ja yes", Insn(0x05, 0, 0, 0)),
]


@pytest.mark.parametrize(("text", "expected"), JUMPS, ids=[t for t, _ in JUMPS])
def test_jumps(text: str, expected: Insn) -> None:
    prog = assemble(f"{text}\nyes: ret #1\nno: ret #0\n")
    assert prog[0] == expected


def test_kernel_documentation_example() -> None:
    """The IPv4 TCP port 22 example of Documentation/networking/filter.rst."""
    text = """
        ; ipv4 tcp port 22, as in the kernel's documentation
        ldh [12]
        jne #0x800, drop
        ldb [23]
        jneq #6, drop
        ldh [20]
        jset #0x1fff, drop
        ldxb 4 * ([14] & 0xf)
        ldh [x + 14]
        jeq #0x16, pass
        ldh [x + 16]
        jne #0x16, drop
        pass: ret #-1
        drop: ret #0
    """
    assert assemble(text) == [
        Insn(0x28, 0, 0, 12),
        Insn(0x15, 0, 10, 0x800),
        Insn(0x30, 0, 0, 23),
        Insn(0x15, 0, 8, 6),
        Insn(0x28, 0, 0, 20),
        Insn(0x45, 6, 0, 0x1FFF),
        Insn(0xB1, 0, 0, 14),
        Insn(0x48, 0, 0, 14),
        Insn(0x15, 2, 0, 0x16),
        Insn(0x48, 0, 0, 16),
        Insn(0x15, 0, 1, 0x16),
        Insn(0x06, 0, 0, 0xFFFF_FFFF),
        Insn(0x06, 0, 0, 0),
    ]


def test_comments_and_layout() -> None:
    text = "# a comment line\n/* block\n comment */ ld #1 ; trailing\nl1:\n ret a /* end */"
    assert assemble(text) == [Insn(0x00, 0, 0, 1), Insn(0x16)]
    assert assemble("ld #1 ret a") == assemble("ld #1\nret a")
    assert assemble("") == [] and assemble("; only a comment\n") == []


def test_extensions_are_all_known() -> None:
    assert sorted(set(EXTENSIONS.values())) == sorted(
        v for k, v in __import__("ebpy.cbpf.isa").cbpf.isa.SKF_AD.items() if k != "alu_xor_x"
    )


def test_backward_ja_wraps_as_bpf_asm_does() -> None:
    prog = assemble("top: ld #1\nja top\nret a")
    assert prog[1] == Insn(0x05, 0, 0, 0xFFFF_FFFE)


ERRORS = [
    ("ld #1\nfoo #2\n", 2, 1),
    ("ld [12\nret a", 2, 1),
    ("ret b", 1, 5),
    ("jeq #1, nowhere\nret a", 1, 9),
    ("l1: ld #1\nl1: ret a", 2, 1),
    ("ld #0x1ffffffff\nret a", 1, 5),
    ("ldxb 2*([14]&0xf)", 1, 6),
    ("ldx 4*([14]&0x7)", 1, 13),
    ("ld #1 @ ret a", 1, 7),
    ("/* unterminated\nret a", 1, 1),
    ("st M[", 1, 6),
    ("jne #1, a, b\nret a", 1, 9),
    ("jmp t\nt: ret a", 1, 5),
]


@pytest.mark.parametrize(("text", "line", "column"), ERRORS, ids=[t for t, _, _ in ERRORS])
def test_errors(text: str, line: int, column: int) -> None:
    with pytest.raises(AsmError) as info:
        assemble(text)
    assert (info.value.line, info.value.column) == (line, column)
    assert info.value.text == text.split("\n")[line - 1]


def test_jump_out_of_range() -> None:
    text = "jeq #1, far\n" + "ld #1\n" * 256 + "far: ret a\n"
    with pytest.raises(AsmError) as info:
        assemble(text)
    assert info.value.line == 1


@settings(max_examples=300)
@given(st.text(alphabet="ldxbhjeqmpnst #%[]()+*&,:;/0123456789xaM\n", max_size=60))
def test_fuzz_only_asm_errors(text: str) -> None:
    with contextlib.suppress(AsmError):
        assemble(text)


# -- tcpdump -d text and the disassembler --------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_assembles_tcpdump_d_output(name: str) -> None:
    prog = parse_dd((GOLDEN / f"{name}.dd.txt").read_text())
    assert assemble((GOLDEN / f"{name}.d.txt").read_text()) == canonical(prog)


@pytest.mark.parametrize("name", NAMES)
def test_disassemble_goldens(name: str) -> None:
    prog = canonical(parse_dd((GOLDEN / f"{name}.dd.txt").read_text()))
    assert assemble(disassemble(prog)) == prog


@settings(max_examples=400)
@given(programs(ancillary=ANCILLARY_ALL, max_len=40))
def test_round_trip(prog: list[Insn]) -> None:
    assert assemble(disassemble(prog)) == prog


def test_disassemble_shape() -> None:
    prog = assemble("ldh [12]\njeq #0x800, ok, drop\nok: ld #proto\nret a\ndrop: ret #0")
    assert disassemble(prog) == (
        "    ldh [12]\n    jeq #0x800, l2, l4\nl2: ld #proto\n    ret a\nl4: ret #0\n"
    )


@pytest.mark.parametrize(
    "prog",
    [
        [Insn(0x05, 0, 0, 5), Insn(0x06)],  # ja past the end
        [Insn(0x15, 0, 3, 1), Insn(0x06)],  # jf past the end
        [Insn(0x08), Insn(0x06)],  # no bpf_asm syntax
    ],
)
def test_disassemble_refuses(prog: list[Insn]) -> None:
    with pytest.raises(CbpfError) as info:
        disassemble(prog)
    assert info.value.pc == 0
