"""encode_btf: round trips through parse_btf, string deduplication, field limits."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings

from ebpy.btf.encode import StringWriter, encode_btf
from ebpy.btf.parse import VMLINUX_PATH, load_vmlinux, parse_btf, parse_header
from ebpy.btf.types import (
    Btf,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Func,
    Int,
    Member,
    Ptr,
    Struct,
    Type,
    Typedef,
    Void,
)
from ebpy.elf.btf_sections import load_object_btf
from ebpy.errors import BtfError
from tests.btf.strategies import btf_tables, split_tables
from tests.btf.test_parse import every_kind

OBJECTS = sorted((Path(__file__).resolve().parents[1] / "testdata").glob("*/*.o"))


def same_types(a: Btf, b: Btf) -> bool:
    return list(a.types) == list(b.types)


@settings(max_examples=300, deadline=None)
@given(btf=btf_tables(max_types=20))
def test_round_trip(btf: Btf) -> None:
    data = encode_btf(btf)
    back = parse_btf(data)
    assert same_types(back, btf)
    assert encode_btf(back) == data


@settings(max_examples=100, deadline=None)
@given(btf=split_tables())
def test_split_round_trip(btf: Btf) -> None:
    assert btf.base is not None
    back = parse_btf(encode_btf(btf), base=btf.base)
    assert back.start_id == btf.start_id
    assert same_types(back, btf)


def test_every_kind_round_trip() -> None:
    raw, _ = every_kind("<")
    btf = parse_btf(raw.data())
    assert same_types(parse_btf(encode_btf(btf)), btf)


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_objects_round_trip(obj: Path) -> None:
    btf, _ = load_object_btf(obj.read_bytes())
    if btf is None:
        pytest.skip("object without .BTF")
    assert same_types(parse_btf(encode_btf(btf)), btf)


@pytest.mark.skipif(not Path(VMLINUX_PATH).exists(), reason="no /sys/kernel/btf/vmlinux here")
def test_vmlinux_round_trip() -> None:
    btf = load_vmlinux()
    data = encode_btf(btf)
    assert same_types(parse_btf(data), btf)
    # Deduplicated strings are never longer than the kernel's own table.
    assert parse_header(data).str_len <= len(btf.strings)


def test_strings_are_deduplicated() -> None:
    btf = Btf(
        [
            Int(1, "int", 4, Int.SIGNED, 0, 32),
            Typedef(2, "int", 1),
            Struct(3, "s", 8, (Member("int", 1, 0), Member("s", 1, 32))),
        ]
    )
    data = encode_btf(btf)
    h = parse_header(data)
    assert data[h.str_start : h.str_start + h.str_len] == b"\0int\0s\0"


def test_layout_is_little_endian_and_canonical() -> None:
    data = encode_btf(Btf([Ptr(1, "", 0)]))
    magic, version, flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(
        "<HBBIIIII", data
    )
    assert (magic, version, flags, hdr_len) == (0xEB9F, 1, 0, 24)
    assert (type_off, type_len, str_off, str_len) == (0, 12, 12, 1)
    assert data[24:36] == struct.pack("<III", 0, 2 << 24, 0)


def test_split_strings_start_after_the_base() -> None:
    base = parse_btf(encode_btf(Btf([Int(1, "int", 4, 0, 0, 32)])))
    split = Btf([Typedef(2, "myint", 1), Ptr(3, "", 2)], base=base)
    data = encode_btf(split)
    words = struct.unpack_from("<3I", data, 24)
    assert words[0] == len(base.strings)  # the first own string
    assert parse_btf(data, base=base)[2] == Typedef(2, "myint", 1)


def test_string_writer() -> None:
    w = StringWriter(start=10)
    assert w.add("") == 0 and w.add("a") == 10 and w.add("bb") == 12 and w.add("a") == 10
    assert w.data() == b"a\0bb\0"


BAD: list[tuple[str, Type]] = [
    ("bitfield without kind_flag", Struct(1, "s", 4, (Member("b", 0, 0, 3),), False)),
    ("bit offset past 24 bits", Struct(1, "s", 4, (Member("b", 0, 1 << 24, 3),), True)),
    ("bitfield size past 8 bits", Struct(1, "s", 4, (Member("b", 0, 0, 256),), True)),
    ("bit offset past 32 bits", Struct(1, "s", 4, (Member("b", 0, 1 << 32),), False)),
    ("negative size", Struct(1, "s", -1, ())),
    ("INT bits", Int(1, "i", 4, 0, 0, 256)),
    ("INT encoding", Int(1, "i", 4, 16, 0, 32)),
    ("unsigned enum value below 0", Enum(1, "e", 4, (EnumValue("A", -1),), False)),
    ("signed enum value past 2**31", Enum(1, "e", 4, (EnumValue("A", 1 << 31),), True)),
    ("enum64 value past 2**64", Enum64(1, "e", 8, (EnumValue("A", 1 << 64),), False)),
    ("signed enum64 below -2**63", Enum64(1, "e", 8, (EnumValue("A", -(1 << 63) - 1),), True)),
    ("type id past 32 bits", Ptr(1, "", 1 << 32)),
    ("linkage past 16 bits", Func(1, "f", 0, 1 << 16)),
    ("component_idx past 31 bits", DeclTag(1, "t", 0, 1 << 31)),
    ("NUL in a name", Ptr(1, "a\0b", 0)),
    ("wrong id", Ptr(2, "", 0)),
    ("void in the table", Void(1, "")),
]


@pytest.mark.parametrize("case", [c for c, _ in BAD])
def test_encode_refuses(case: str) -> None:
    t = dict(BAD)[case]
    with pytest.raises(BtfError) as info:
        encode_btf(Btf([t]))
    assert info.value.type_id == t.id


def test_too_many_records() -> None:
    many = tuple(EnumValue(f"V{i}", i) for i in range(1 << 16))
    with pytest.raises(BtfError) as info:
        encode_btf(Btf([Enum(1, "big", 4, many)]))
    assert info.value.type_id == 1
