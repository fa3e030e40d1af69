"""read_btf_sections / load_object_btf: the .BTF and .BTF.ext of the committed objects,
objects without BTF, and broken ELF files (ElfError with the section and offset)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from ebpy.btf.dump_raw import dump_raw
from ebpy.btf.types import Kind
from ebpy.elf.btf_sections import load_object_btf, read_btf_sections
from ebpy.errors import BtfError, ElfError

TESTDATA = Path(__file__).resolve().parents[1] / "testdata"
OBJECTS = sorted(TESTDATA.glob("*/*.o"))
KINDS = TESTDATA / "btf" / "kinds.o"


def _section_header(data: bytes, name: str) -> tuple[int, int, int]:
    """(offset of the section header entry, sh_offset, sh_size) of section ``name``."""
    elf = ELFFile(io.BytesIO(data))
    for index, sec in enumerate(elf.iter_sections()):
        if sec.name == name:
            return elf["e_shoff"] + index * elf["e_shentsize"], sec["sh_offset"], sec["sh_size"]
    raise AssertionError(name)


def _rename(data: bytes, old: bytes, new: bytes) -> bytes:
    """Rename a section in the section-name string table (same length)."""
    assert len(old) == len(new)
    i = data.index(old + b"\0")
    return data[:i] + new + data[i + len(old) :]


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_objects(obj: Path) -> None:
    data = obj.read_bytes()
    raw_btf, raw_ext = read_btf_sections(data)
    elf = ELFFile(io.BytesIO(data))
    btf_sec, ext_sec = elf.get_section_by_name(".BTF"), elf.get_section_by_name(".BTF.ext")
    assert raw_btf == (btf_sec.data() if btf_sec else None)
    assert raw_ext == (ext_sec.data() if ext_sec else None)
    btf, ext = load_object_btf(data)
    assert (btf is None) == (raw_btf is None) and (ext is None) == (raw_ext is None)
    if btf is not None:
        assert dump_raw(btf)


def test_kinds_object() -> None:
    btf, ext = load_object_btf(KINDS.read_bytes())
    assert btf is not None and ext is not None
    assert {t.kind for t in btf.types} == set(Kind) - {Kind.UNKN, Kind.ENUM64}
    assert set(ext.func_info) == {".text", "xdp", "tc"}


def test_object_without_btf() -> None:
    data = _rename(KINDS.read_bytes(), b".BTF.ext", b".XYZ.ext")
    data = _rename(data, b".BTF", b".XYZ")
    assert read_btf_sections(data) == (None, None)
    assert load_object_btf(data) == (None, None)


def test_ext_without_btf() -> None:
    data = KINDS.read_bytes()
    # Point the name of .BTF's section header at ".text": only .BTF.ext is left.
    elf = ELFFile(io.BytesIO(data))
    names = elf.get_section(elf["e_shstrndx"]).data()
    entry, _, _ = _section_header(data, ".BTF")
    out = bytearray(data)
    struct.pack_into("<I", out, entry, names.index(b".text\0"))  # sh_name
    raw_btf, raw_ext = read_btf_sections(bytes(out))
    assert raw_btf is None and raw_ext is not None
    with pytest.raises(ElfError) as info:
        load_object_btf(bytes(out))
    assert info.value.section == ".BTF.ext"


def test_not_elf() -> None:
    with pytest.raises(ElfError) as info:
        read_btf_sections(b"\x9f\xeb\x01\x00" + bytes(20))
    assert info.value.offset == 0


def test_truncated_elf() -> None:
    data = KINDS.read_bytes()
    with pytest.raises(ElfError):
        read_btf_sections(data[:100])


def test_btf_section_past_the_end() -> None:
    data = KINDS.read_bytes()
    entry, _, _ = _section_header(data, ".BTF")
    out = bytearray(data)
    struct.pack_into("<Q", out, entry + 32, 1 << 40)  # sh_size of a 64-bit section header
    with pytest.raises(ElfError) as info:
        read_btf_sections(bytes(out))
    assert info.value.section == ".BTF"


def test_broken_btf_in_a_good_object() -> None:
    data = KINDS.read_bytes()
    _, offset, _ = _section_header(data, ".BTF")
    out = bytearray(data)
    out[offset + 2] = 7  # BTF version
    with pytest.raises(BtfError) as info:
        load_object_btf(bytes(out))
    assert info.value.section == ".BTF" and info.value.offset == 2


def test_broken_btf_ext_in_a_good_object() -> None:
    data = KINDS.read_bytes()
    _, offset, _ = _section_header(data, ".BTF.ext")
    out = bytearray(data)
    out[offset + 3] = 1  # flags
    with pytest.raises(BtfError) as info:
        load_object_btf(bytes(out))
    assert info.value.section == ".BTF.ext" and info.value.offset == 3
