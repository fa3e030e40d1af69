"""Fuzzing the decoder, the VM and the ELF reader: only BpfErrors may come out."""

from __future__ import annotations

import contextlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebpy.elf.reader import read_code_sections
from ebpy.errors import BpfError, DecodeError
from ebpy.helpers.conformance import CONFORMANCE_HELPERS
from ebpy.isa.encoding import decode
from ebpy.isa.instruction import Instruction
from ebpy.vm import Vm
from tests.strategies import programs

OBJECTS = sorted((Path(__file__).resolve().parents[1] / "testdata" / "disasm").glob("*.o"))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_decode_random_bytes(data: bytes) -> None:
    try:
        decode(data)
    except DecodeError as exc:
        assert exc.reason


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.binary(max_size=64))
def test_vm_runs_any_valid_program_without_python_errors(
    prog: list[Instruction], mem: bytes
) -> None:
    """Random valid instructions: the VM either returns r0 or raises a BpfError."""
    for helpers in (None, CONFORMANCE_HELPERS):
        try:
            r0 = Vm(prog, helpers=helpers, budget=10_000).run(mem)
        except BpfError as exc:
            assert str(exc)
        else:
            assert 0 <= r0 < 1 << 64


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(OBJECTS),
    st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=8),
    st.integers(0, 1 << 16),
)
def test_elf_reader_on_mutated_objects(obj: Path, flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(obj.read_bytes())
    for pos, value in flips:
        data[pos % len(data)] = value
    data = data[: max(cut, 1)] if cut < len(data) else data
    try:
        sections = read_code_sections(bytes(data))
    except BpfError as exc:
        assert str(exc)
        return
    for sec in sections:
        with contextlib.suppress(DecodeError):
            decode(sec.data, strict=False)
