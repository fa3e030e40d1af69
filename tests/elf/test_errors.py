"""Malformed objects: ElfError with the section and offset, never another exception.

Each case breaks one thing in a real object (tests.elf.rawelf patches the
bytes independently of ebpy.elf) and checks the error's type and fields.
A hypothesis fuzz then truncates and mutates the corpus objects: loading
and every view may only raise ``BpfError``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebpy.elf.loader import load_file, load_object
from ebpy.elf.views import objdump
from ebpy.errors import BpfError, ElfError
from tests.elf.corpus import LITTLE_OBJECTS, TESTDATA
from tests.elf.rawelf import RawElf

MULTI = TESTDATA / "bpf" / "multi_prog.o"
GLOBALS = TESTDATA / "bpf" / "globals.o"


def _raw(path: Path) -> RawElf:
    return RawElf(path.read_bytes())


def _error(data: bytes) -> ElfError:
    with pytest.raises(ElfError) as exc:
        load_object(data, "x.o")
    return exc.value


def test_not_elf() -> None:
    err = _error(b"MZ\x90\x00" + bytes(100))
    assert err.offset == 0 and err.section == ""


@pytest.mark.parametrize("length", [0, 3, 4, 20, 63])
def test_truncated_header(length: int) -> None:
    assert _error(MULTI.read_bytes()[:length]).offset == 0


def test_truncated_file() -> None:
    data = MULTI.read_bytes()
    raw = RawElf(data)
    # cut inside the contents of the last section that has some
    last = max((s for s in raw.sections if s.type != 8 and s.size), key=lambda s: s.offset)
    with pytest.raises(ElfError):
        load_object(data[: last.offset + last.size // 2])


def test_32_bit() -> None:
    data = bytearray(MULTI.read_bytes())
    data[4] = 1
    assert _error(bytes(data)).offset == 4


def test_big_endian_object() -> None:
    path = TESTDATA / "btf" / "kinds_eb.o"
    if not path.exists():
        pytest.skip("no big-endian object")
    assert _error(path.read_bytes()).offset == 5


def test_not_relocatable() -> None:
    assert _error(_raw(MULTI).put(16, "<H", 2)).offset == 16


def test_not_bpf() -> None:
    assert _error(_raw(MULTI).put(18, "<H", 62)).offset == 18


def test_section_out_of_bounds() -> None:
    raw = _raw(MULTI)
    size = len(raw.data)
    err = _error(raw.patch_header("xdp", "offset", size - 8))
    assert err.section == "xdp" and err.offset == size - 8


def test_code_size_not_whole_instructions() -> None:
    raw = _raw(MULTI)
    err = _error(raw.patch_header("xdp", "size", raw.section("xdp").size - 4))
    assert err.section == "xdp"


def test_symbol_table_size() -> None:
    raw = _raw(MULTI)
    err = _error(raw.patch_header(".symtab", "size", raw.section(".symtab").size - 5))
    assert err.section == ".symtab" and err.offset == raw.section(".symtab").offset


def test_relocation_to_missing_symbol() -> None:
    raw = _raw(MULTI)
    rel = raw.section(".relxdp")
    err = _error(raw.put(rel.offset + 12, "<I", 0xFFFF))  # high half of r_info: symbol
    assert err.section == ".relxdp" and err.offset == 0


def test_relocation_not_on_an_instruction() -> None:
    raw = _raw(MULTI)
    rel = raw.section(".relxdp")
    err = _error(raw.put(rel.offset, "<Q", 3))
    assert err.section == ".relxdp" and err.offset == 3


def test_relocation_on_a_plain_instruction() -> None:
    raw = _raw(MULTI)
    rel = raw.section(".relxdp")
    err = _error(raw.put(rel.offset, "<Q", 0))  # the first instruction is no lddw
    assert err.section == "xdp" and err.offset == 0


def test_map_symbol_outside_its_section() -> None:
    raw = _raw(MULTI)
    err = _error(raw.put(raw.symbol_at("hits") + 8, "<Q", 0x1000))
    assert err.section == ".maps"


def test_function_past_section_end() -> None:
    raw = _raw(MULTI)
    err = _error(raw.put(raw.symbol_at("multi_xdp_pass") + 16, "<Q", 0x10000))
    assert err.section == "xdp" and err.offset == 0


def test_static_program() -> None:
    raw = _raw(MULTI)
    at = raw.symbol_at("multi_xdp_pass")
    info = raw.data[at + 4]
    err = _error(raw.put(at + 4, "<B", info & 0x0F))  # STB_LOCAL
    assert err.section == "xdp"


def test_version_size() -> None:
    raw = _raw(TESTDATA / "disasm" / "multi_prog.o")
    err = _error(raw.patch_header("version", "size", 3))
    assert err.section == "version"


def test_unknown_map_type() -> None:
    path = TESTDATA / "bpf" / "legacy_maps.o"
    raw = _raw(path)
    maps = raw.section("maps")
    err = _error(raw.put(maps.offset, "<I", 999))
    assert err.section == "maps" and "999" in err.reason


def test_legacy_map_sizes_must_divide() -> None:
    path = TESTDATA / "bpf" / "legacy_maps.o"
    raw = _raw(path)
    err = _error(raw.patch_header("maps", "size", raw.section("maps").size - 4))
    assert err.section == "maps"


def test_btf_ext_without_btf() -> None:
    err = _error(_rename(_raw(MULTI), ".BTF\0", ".XTF\0"))
    assert err.section == ".BTF.ext"


def test_btf_maps_without_btf() -> None:
    raw = _raw(MULTI)
    data = _rename(RawElf(_rename(raw, ".BTF\0", ".XTF\0")), ".BTF.ext\0", ".XTF.ext\0")
    assert _error(data).section == ".maps"


def _rename(raw: RawElf, old: str, new: str) -> bytes:
    """Rename a section in the section name table (same length)."""
    index = int.from_bytes(raw.data[0x3E:0x40], "little")
    table = raw.sections[index]
    names = bytes(raw.data[table.offset : table.offset + table.size])
    at = table.offset + names.index(old.encode())
    out = bytearray(raw.data)
    out[at : at + len(new)] = new.encode()
    return bytes(out)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ElfError):
        load_file(tmp_path / "nope.o")


def test_error_fields_in_message() -> None:
    err = ElfError("bad thing", "xdp", 16)
    assert (err.reason, err.section, err.offset) == ("bad thing", "xdp", 16)
    assert "xdp" in str(err) and "0x10" in str(err)


# -- fuzz -----------------------------------------------------------------------------

_CORPUS = [p.read_bytes() for p in LITTLE_OBJECTS[:: max(1, len(LITTLE_OBJECTS) // 12)]]


def _everything(data: bytes) -> None:
    for run in (
        lambda: load_object(data, "fuzz.o"),
        lambda: objdump(data, "f.o", headers=True, symbols=True, relocs=True),
        lambda: objdump(data, "f.o", disassemble=True, relocs=True, source=True),
    ):
        with contextlib.suppress(BpfError):
            run()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_CORPUS), st.floats(0, 1))
def test_fuzz_truncated(data: bytes, cut: float) -> None:
    _everything(data[: int(len(data) * cut)])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_CORPUS),
    st.lists(st.tuples(st.floats(0, 1), st.integers(0, 2**32 - 1)), min_size=1, max_size=6),
)
def test_fuzz_mutated(data: bytes, edits: list[tuple[float, int]]) -> None:
    out = bytearray(data)
    for where, value in edits:
        at = min(int(len(out) * where), len(out) - 4)
        out[at : at + 4] = value.to_bytes(4, "little")
    _everything(bytes(out))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_CORPUS), st.data())
def test_fuzz_tables(data: bytes, draw: st.DataObject) -> None:
    """Mutations aimed at the section table, symbols and relocations."""
    raw = RawElf(data)
    targets = [(raw.shoff, raw.shnum * 64)]
    targets += [(s.offset, s.size) for s in raw.sections if s.type in (2, 9) and s.size]
    start, size = draw.draw(st.sampled_from(targets))
    out = bytearray(data)
    for _ in range(draw.draw(st.integers(1, 4))):
        at = start + draw.draw(st.integers(0, max(0, size - 4))) // 4 * 4
        out[at : at + 4] = draw.draw(st.integers(0, 2**32 - 1)).to_bytes(4, "little")
    _everything(bytes(out))
