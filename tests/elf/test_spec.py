"""ObjectSpec and ProgramSpec as a backend uses them: lookups, map indexes, unknown types.

A program whose section follows no convention loads into the spec with
type UNSPEC and only fails (``ElfError``) when something asks for its type.
"""

from __future__ import annotations

import pytest

from ebpy.elf import load_object
from ebpy.errors import ElfError
from ebpy.isa.opcodes import PseudoSrc
from ebpy.spec import ObjectSpec
from ebpy.uapi import ProgType
from tests.elf.corpus import TESTDATA, load
from tests.elf.rawelf import RawElf

MULTI = TESTDATA / "bpf" / "multi_prog.o"


def test_program_by_name_and_section() -> None:
    obj = load(MULTI)
    first_tc = obj.program(section="tc")
    assert first_tc.section == "tc" and first_tc is obj.in_section("tc")[0]
    assert obj.program("multi_tc_shot").section == "tc"
    assert obj.program("multi_tc_shot", section="tc").name == "multi_tc_shot"
    assert obj.program() is next(iter(obj.programs.values()))


@pytest.mark.parametrize(
    ("name", "section"), [("nope", None), (None, "nope"), ("multi_tc_ok", "xdp")]
)
def test_program_lookup_errors(name: str | None, section: str | None) -> None:
    with pytest.raises(ElfError):
        load(MULTI).program(name, section)


def test_map_index_is_what_lddw_carries() -> None:
    obj = load(MULTI)
    prog = obj.programs["multi_xdp_pass"]
    loads = [i for i in prog.instructions if i.src == PseudoSrc.MAP_FD]
    assert loads and all(i.imm == obj.map_index("hits") for i in loads)
    assert obj.map_list()[obj.map_index("hits")].name == "hits"
    with pytest.raises(ElfError):
        obj.map_index("nope")


def test_unknown_section_loads_and_fails_only_when_typed() -> None:
    raw = RawElf(MULTI.read_bytes())
    index = int.from_bytes(raw.data[0x3E:0x40], "little")
    table = raw.sections[index]
    names = bytes(raw.data[table.offset : table.offset + table.size])
    at = table.offset + names.index(b"socket\0")
    data = bytearray(raw.data)
    data[at : at + 6] = b"sockex"
    obj = load_object(bytes(data), "x.o")
    progs = obj.in_section("sockex")
    assert progs and all(p.prog_type == ProgType.UNSPEC and not p.known_type for p in progs)
    with pytest.raises(ElfError) as exc:
        progs[0].require_type()
    assert exc.value.section == "sockex"
    assert obj.programs["multi_xdp_pass"].require_type() == ProgType.XDP


def test_same_file_same_spec() -> None:
    data = MULTI.read_bytes()
    a, b = load_object(data, "multi_prog.o"), load_object(data, "multi_prog.o")
    assert a.programs == b.programs and a.maps == b.maps and a.symbols == b.symbols


def test_symbols() -> None:
    obj: ObjectSpec = load(MULTI)
    by_name = {s.name: s for s in obj.symbols}
    assert by_name["multi_xdp_pass"].type == "FUNC" and by_name["multi_xdp_pass"].section == "xdp"
    assert by_name["hits"].section == ".maps" and by_name["hits"].bind == "GLOBAL"


def test_license_and_version() -> None:
    obj = load(TESTDATA / "disasm" / "multi_prog.o")
    assert obj.license == "GPL" and obj.kernel_version > 0
    assert all(p.license == "GPL" for p in obj.programs.values())
