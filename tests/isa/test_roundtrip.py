"""Round trips between instructions, bytes and text, over every valid instruction kind."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.isa.asm import assemble
from ebpy.isa.disasm import disassemble, format_bpftool, format_llvm
from ebpy.isa.encoding import decode, encode, validate
from ebpy.isa.instruction import Instruction
from tests.strategies import KINDS, instructions, programs


@given(instructions())
def test_generated_instructions_are_valid(insn: Instruction) -> None:
    assert validate(insn) is None


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(max_examples=20)
@given(data=st.data())
def test_every_kind_is_valid(kind: str, data: st.DataObject) -> None:
    assert validate(data.draw(instructions([kind]))) is None


@given(programs(max_size=30))
def test_decode_encode(prog: list[Instruction]) -> None:
    assert decode(encode(prog)) == prog


@settings(max_examples=300)
@given(programs(max_size=30), st.sampled_from(["llvm", "bpftool"]), st.booleans())
def test_assemble_disassemble(prog: list[Instruction], style: str, with_bytes: bool) -> None:
    assert assemble(disassemble(prog, style, with_bytes=with_bytes)) == prog


@given(instructions())
def test_format_llvm_reads_back(insn: Instruction) -> None:
    """LLVM prints every call as ``call N``; that text reads back as a helper call."""
    (back,) = assemble(format_llvm(insn))
    if insn.is_call and not insn.op & 0x08:
        assert back == insn.replace(src=0)
    else:
        assert back == insn


@given(instructions(), st.integers(0, 100_000))
def test_format_bpftool_reads_back(insn: Instruction, pc: int) -> None:
    assert assemble(format_bpftool(insn, pc)) == [insn]
