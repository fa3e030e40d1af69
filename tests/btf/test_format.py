"""``ebpy.btf.format``: values formatted by BTF as ``bpftool map dump`` shows them.

Unit tests pin down each rule on hand-built tables; hypothesis checks that
any bytes of the right size format without error; and, as root with bpftool,
the live tests load ``tests/testdata/btf_fmt/maps.o`` with ``bpftool prog
loadall``, fill its maps with ``bpftool map update`` and compare ``bpftool
map dump`` (plain and ``-j``) with ours on the very bytes bpftool read, then
do the same for maps created through ``ebpy.kernel`` over hand-built BTF
(``char`` ints, 64-bit and signed enums, odd-sized ints) and random structs.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebpy.btf.format import (
    format_entry,
    format_map_dump,
    format_plain,
    format_value,
    map_dump_text,
)
from ebpy.btf.types import (
    Array,
    Btf,
    Const,
    Datasec,
    Enum,
    Enum64,
    EnumValue,
    Float,
    FuncProto,
    Fwd,
    Int,
    Member,
    Ptr,
    Struct,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
)
from ebpy.errors import BtfError
from tests.btf.c_strategies import value_types
from tests.btf.kernel_maps import map_btf
from tests.btf.strategies import btf_tables

BPFTOOL = shutil.which("bpftool")
TESTS = Path(__file__).resolve().parent.parent
MAPS_O = TESTS / "testdata" / "btf_fmt" / "maps.o"

U32 = Int(1, "unsigned int", size=4, bits=32)
S32 = Int(2, "int", size=4, encoding=Int.SIGNED, bits=32)
CHAR = Int(3, "char", size=1, encoding=Int.SIGNED, bits=8)
BOOL = Int(4, "_Bool", size=1, encoding=Int.BOOL, bits=8)
UCHAR_ENC = Int(5, "char", size=1, encoding=Int.CHAR, bits=8)
U128 = Int(6, "unsigned __int128", size=16, bits=128)
S64 = Int(7, "long long", size=8, encoding=Int.SIGNED, bits=64)
U16 = Int(8, "unsigned short", size=2, bits=16)
SCALARS = [U32, S32, CHAR, BOOL, UCHAR_ENC, U128, S64, U16]


def table(*more: Any) -> Btf:
    return Btf([*SCALARS, *more])


def le(value: int, size: int) -> bytes:
    return (value % (1 << (8 * size))).to_bytes(size, "little")


# -- scalars ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_id", "data", "value", "plain"),
    [
        (1, le(4294967295, 4), 4294967295, "4294967295"),
        (2, le(-7, 4), -7, "-7"),
        (3, b"\xff", -1, "-1"),  # a signed char is a number
        (4, b"\x02", True, "true"),
        (4, b"\x00", False, "false"),
        (5, b"A", "A", '"A"'),
        (5, b'"', '"', '"""'),  # bpftool does not escape a lone char
        (5, b"\x1f", "\x1f", "0x1f"),
        (6, le(5, 16), "0x5", "0x5"),
        (6, le((1 << 64) + 2, 16), "0x10000000000000002", "0x10000000000000002"),
        (7, le(-(1 << 63), 8), -(1 << 63), "-9223372036854775808"),
        (8, le(65535, 2), 65535, "65535"),
    ],
)
def test_scalars(type_id: int, data: bytes, value: Any, plain: str) -> None:
    btf = table()
    assert format_value(btf, type_id, data) == value
    assert format_plain(btf, type_id, data) == plain


def test_char_json_escape_of_unprintable() -> None:
    btf = table(Struct(9, "c", size=1, members=(Member("c", 5, 0),)))
    text = map_dump_text(btf, 0, 9, [(b"", b"\x07")], json=True)
    assert '"c":"\\u0007"' in text


def test_odd_ints_and_bit_offsets_are_hex() -> None:
    odd = Int(9, "odd", size=2, bits=12)
    shifted = Int(10, "shifted", size=4, encoding=Int.SIGNED, bits=8, offset=4)
    btf = table(odd, shifted)
    assert format_value(btf, 9, le(0xFABC, 2)) == "0xabc"
    assert format_value(btf, 10, le(0x0FF0, 4)) == "0xff"
    assert format_plain(btf, 10, le(0x0FF0, 4)) == "0xff"


def test_pointers() -> None:
    btf = table(Ptr(9, "", type_id=0))
    assert format_value(btf, 9, le(0xFFFF888000001000, 8)) == 0xFFFF888000001000
    assert format_plain(btf, 9, le(0xFFFF888000001000, 8)) == "0xffff888000001000"
    assert format_plain(btf, 9, bytes(8)) == "(nil)"


def test_enums() -> None:
    btf = table(
        Enum(9, "e", size=4, values=(EnumValue("A", 1), EnumValue("BIG", 0xFFFFFFFE))),
        Enum(10, "small", size=1, values=(EnumValue("S", 200),)),
        Enum64(11, "e64", values=(EnumValue("TOP", (1 << 64) - 1),)),
        Enum(12, "odd", size=3, values=()),
    )
    assert format_value(btf, 9, le(1, 4)) == "A"
    assert format_value(btf, 9, le(0xFFFFFFFE, 4)) == "BIG"
    assert format_value(btf, 9, le(0xFFFFFFFD, 4)) == -3  # unnamed: a signed number
    assert format_value(btf, 10, b"\xc8") == -56  # read as a signed byte, as bpftool does
    assert format_value(btf, 11, le(-1, 8)) == "TOP"
    assert format_value(btf, 11, le(1 << 63, 8)) == -(1 << 63)
    assert format_value(btf, 12, bytes(3)) is None  # bpftool prints nothing


def test_bitfields() -> None:
    flags = Struct(
        9,
        "flags",
        size=8,
        members=(
            Member("a", 1, 0, 3),
            Member("b", 1, 3, 5),
            Member("c", 2, 8, 12),
            Member("e", 7, 20, 36),
        ),
        kind_flag=True,
    )
    btf = table(flags)
    data = bytes([0xFF, 0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE])
    assert format_value(btf, 9, data) == {"a": "0x7", "b": "0x1f", "c": "0x412", "e": "0xbc9a78563"}
    assert format_plain(btf, 9, data) == (
        '{\n    "a": 0x7,\n    "b": 0x1f,\n    "c": 0x412,\n    "e": 0xbc9a78563\n}'
    )


# -- arrays, strings, composites -----------------------------------------------------------


def test_char_arrays() -> None:
    btf = table(
        Array(9, "", type_id=3, index_type_id=1, nelems=6),
        Const(10, "", type_id=5),
        Array(11, "", type_id=10, index_type_id=1, nelems=3),
        Typedef(12, "ch", type_id=3),
        Array(13, "", type_id=12, index_type_id=1, nelems=2),
    )
    assert format_value(btf, 9, b"a\\b\0zz") == "a\\b"
    assert format_plain(btf, 9, b'a\\b"\0z') == '"a\\nb\\""'  # bpftool writes \ as \n
    assert format_value(btf, 9, b"abcdef") == [97, 98, 99, 100, 101, 102]  # no NUL
    assert format_value(btf, 9, b"a\x01\0\0\0\0") == [97, 1, 0, 0, 0, 0]
    assert format_plain(btf, 9, b"a\x01\0\0\0\0") == "[97,1,0,0,0,0\n]"
    assert format_value(btf, 11, b"x\0\0") == "x"  # const char counts
    assert format_value(btf, 13, b"y\0") == [121, 0]  # a typedef of char does not


def test_nested_arrays_and_structs() -> None:
    grid = Array(9, "", type_id=8, index_type_id=1, nelems=3)
    rows = Array(10, "", type_id=9, index_type_id=1, nelems=2)
    inner = Struct(11, "in", size=4, members=(Member("x", 8, 0), Member("y", 8, 16)))
    anon = Union(12, "", size=4, members=(Member("u", 1, 0), Member("s", 2, 0)))
    outer = Struct(
        13,
        "out",
        size=24,
        members=(Member("grid", 10, 0), Member("in", 11, 96), Member("", 12, 128)),
    )
    btf = table(grid, rows, inner, anon, outer)
    data = b"".join(le(i, 2) for i in range(6)) + le(7, 2) + le(8, 2) + le(-1, 4) + bytes(4)
    assert format_value(btf, 13, data) == {
        "grid": [[0, 1, 2], [3, 4, 5]],
        "in": {"x": 7, "y": 8},
        "": {"u": 4294967295, "s": -1},
    }
    assert format_plain(btf, 13, data) == (
        "{\n"
        '    "grid": [[0,1,2\n        ],[3,4,5\n        ]\n    ],\n'
        '    "in": {\n        "x": 7,\n        "y": 8\n    },\n'
        '    "": {\n        "u": 4294967295,\n        "s": -1\n    }\n'
        "}"
    )


def test_what_bpftool_cannot_print_stops_the_value() -> None:
    btf = table(
        Fwd(9, "later"),
        Struct(
            10, "s", size=12, members=(Member("a", 1, 0), Member("f", 9, 32), Member("z", 1, 64))
        ),
        FuncProto(11, "", type_id=0),
        Array(12, "", type_id=11, index_type_id=1, nelems=2),
        Struct(13, "t", size=8, members=(Member("v", 0, 0), Member("w", 1, 0))),
    )
    assert format_value(btf, 10, bytes(12)) == {"a": 0, "f": None}
    assert format_plain(btf, 10, bytes(12)) == '{\n    "a": 0,\n    "f": (fwd-kind-invalid)\n}'
    assert format_plain(btf, 12, bytes(0)) == ""  # an element without a size: nothing
    assert format_plain(btf, 13, bytes(8)) == '{\n    "v": (unknown),\n    "w": 0\n}'


def test_floats_and_type_tags_are_ours() -> None:
    btf = table(
        Float(9, "double", size=8),
        Float(10, "float", size=4),
        TypeTag(11, "user", type_id=1),
        Struct(
            12, "f", size=16, members=(Member("d", 9, 0), Member("f", 10, 64), Member("t", 11, 96))
        ),
    )
    data = le(0x3FF8000000000000, 8) + le(0x7F800000, 4) + le(9, 4)
    assert format_value(btf, 12, data) == {"d": 1.5, "f": "inf", "t": 9}
    assert format_plain(btf, 12, data) == '{\n    "d": 1.5,\n    "f": inf,\n    "t": 9\n}'


def test_data_sections() -> None:
    btf = table(
        Var(9, "counter", type_id=7),
        Var(10, "flag", type_id=4),
        Datasec(11, ".bss", size=16, vars=(VarSecinfo(9, 0, 8), VarSecinfo(10, 8, 1))),
    )
    data = le(42, 8) + b"\x01" + bytes(7)
    assert format_value(btf, 11, data) == {".bss": [{"counter": 42}, {"flag": True}]}
    assert format_entry(btf, 0, 11, bytes(4), data) == {
        "value": {".bss": [{"counter": 42}, {"flag": True}]}
    }


# -- whole dumps ------------------------------------------------------------------------------


def test_map_dump_forms() -> None:
    btf = table()
    entries = [(le(1, 4), le(-1, 4)), (le(2, 4), le(5, 4))]
    assert map_dump_text(btf, 1, 2, entries) == (
        '[{\n        "key": 1,\n        "value": -1\n    },{\n'
        '        "key": 2,\n        "value": 5\n    }\n]\n'
    )
    assert map_dump_text(btf, 1, 2, []) == "[]\n"
    assert map_dump_text(btf, 1, 2, entries[:1], json=True) == (
        '[{"key":["0x01","0x00","0x00","0x00"],"value":["0xff","0xff","0xff","0xff"],'
        '"formatted":{"key":1,"value":-1}}]\n'
    )
    assert format_map_dump(btf, 1, 2, entries[1:]) == [
        {
            "key": ["0x02", "0x00", "0x00", "0x00"],
            "value": ["0x05", "0x00", "0x00", "0x00"],
            "formatted": {"key": 2, "value": 5},
        }
    ]


def test_per_cpu_dump() -> None:
    btf = table()
    entries = [(le(0, 4), [le(1, 4), le(2, 4)])]
    assert format_map_dump(btf, 1, 1, entries, percpu=True) == [
        {
            "key": ["0x00"] * 4,
            "values": [
                {"cpu": 0, "value": ["0x01", "0x00", "0x00", "0x00"]},
                {"cpu": 1, "value": ["0x02", "0x00", "0x00", "0x00"]},
            ],
            "formatted": {"key": 0, "values": [{"cpu": 0, "value": 1}, {"cpu": 1, "value": 2}]},
        }
    ]
    assert map_dump_text(btf, 1, 1, entries, percpu=True) == (
        '[{\n        "key": 0,\n        "values": [{\n                "cpu": 0,\n'
        '                "value": 1\n            },{\n                "cpu": 1,\n'
        '                "value": 2\n            }\n        ]\n    }\n]\n'
    )
    with pytest.raises(TypeError):
        format_entry(btf, 1, 1, le(0, 4), le(1, 4), percpu=True)


def test_short_data_is_refused() -> None:
    with pytest.raises(BtfError) as info:
        format_value(table(), 7, bytes(4))
    assert info.value.type_id == 7
    with pytest.raises(BtfError):
        format_plain(table(), 99, bytes(4))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_bytes_format(data: st.DataObject) -> None:
    btf, type_id = data.draw(value_types())
    raw = data.draw(st.binary(min_size=btf.size_of(type_id), max_size=btf.size_of(type_id)))
    value = format_value(btf, type_id, raw)
    json.dumps(value)
    assert format_plain(btf, type_id, raw)
    percpu = format_map_dump(btf, type_id, type_id, [(raw, [raw, raw])], percpu=True)
    assert percpu[0]["formatted"]["values"][1]["value"] == value
    assert map_dump_text(btf, type_id, type_id, [(raw, raw)], json=True).endswith("}]\n")


def test_self_containing_type_is_refused() -> None:
    btf = Btf([Struct(1, "loop", size=4, members=(Member("me", 1, 0),))])
    with pytest.raises(BtfError) as info:
        format_value(btf, 1, bytes(4))
    assert info.value.type_id == 1


def _bounded(btf: Btf) -> Btf:
    """``btf`` with small arrays and structs, so that values stay small."""
    types: list[Any] = []
    for t in btf.types:
        if isinstance(t, Array):
            t = replace(t, nelems=t.nelems % 8)
        elif isinstance(t, Struct | Union):
            t = replace(t, size=t.size % 256)
        types.append(t)
    return Btf(types)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_table_formats_or_raises_btf_error(data: st.DataObject) -> None:
    btf = data.draw(btf_tables().map(_bounded))
    type_id = data.draw(st.integers(0, len(btf) - 1))
    try:
        size = btf.size_of(type_id)
    except BtfError:
        size = 0
    raw = data.draw(st.binary(min_size=min(size, 1 << 16), max_size=min(size, 1 << 16)))
    try:
        format_value(btf, type_id, raw)
        format_plain(btf, type_id, raw)
    except BtfError:
        pass


# -- against bpftool and the kernel -------------------------------------------------------------

live = pytest.mark.skipif(
    BPFTOOL is None or os.geteuid() != 0, reason="needs root and bpftool (real kernel maps)"
)
PERCPU = {"percpu_array", "percpu_hash", "lru_percpu_hash"}


def bpftool(*args: str) -> str:
    assert BPFTOOL is not None
    return subprocess.run([BPFTOOL, *args], capture_output=True, text=True, check=True).stdout


def _bytes(hexes: list[str]) -> bytes:
    return bytes(int(h, 16) for h in hexes)


def compare_with_bpftool(map_ref: list[str], entries: list[Any] | None = None) -> None:
    """``bpftool [-j] map dump <map_ref>`` against ours on the same bytes: those
    bpftool shows in its ``-j`` output, or ``entries`` (in the map's order) when
    that output is no JSON (bpftool writes a ``"`` char as ``\"\"\"``)."""
    show = json.loads(bpftool("-j", "map", "show", *map_ref))
    plain = bpftool("map", "dump", *map_ref)
    text = bpftool("-j", "map", "dump", *map_ref)
    percpu = show["type"] in PERCPU
    if entries is None:
        dumped = json.loads(text)
        if percpu:
            entries = [
                (_bytes(e["key"]), [_bytes(v["value"]) for v in e["values"]]) for e in dumped
            ]
        else:
            entries = [(_bytes(e["key"]), _bytes(e["value"])) for e in dumped]
    mb = map_btf(show["id"])
    args = (mb.btf, mb.info.btf_key_type_id, mb.info.btf_value_type_id, entries)
    assert map_dump_text(*args, percpu=percpu) == plain
    ours = map_dump_text(*args, percpu=percpu, json=True)
    assert ours == text
    try:
        reference = json.loads(text)
    except json.JSONDecodeError:
        return
    assert json.loads(ours) == reference
    assert format_map_dump(*args, percpu=percpu) == reference or "\\" in text


@pytest.fixture(scope="module")
def loaded_maps() -> Iterator[Path]:
    """maps.o loaded and pinned, its maps filled with deterministic bytes."""
    from ebpy.kernel.fs import bpffs

    fs = bpffs()
    if fs is None:
        pytest.skip("no BPF file system")
    progs, maps = fs / f"ebpy_fmt_{os.getpid()}", fs / f"ebpy_fmt_{os.getpid()}_maps"
    bpftool("prog", "loadall", str(MAPS_O), str(progs), "pinmaps", str(maps))
    try:
        _fill(maps)
        yield maps
    finally:
        for d in (progs, maps):
            for pin in d.glob("*"):
                pin.unlink()
            d.rmdir()


def _update(pin: Path, key: bytes, value: bytes) -> None:
    hexes = [f"{b:02x}" for b in key], [f"{b:02x}" for b in value]
    bpftool("map", "update", "pinned", str(pin), "key", "hex", *hexes[0], "value", "hex", *hexes[1])


def _fill(maps: Path) -> None:
    rng = random.Random(4)
    info = {
        p.name: json.loads(bpftool("-j", "map", "show", "pinned", str(p))) for p in maps.iterdir()
    }
    for name, show in info.items():
        if show["frozen"]:
            continue
        key_size, value_size = show["bytes_key"], show["bytes_value"]
        keys = [le(i, key_size) for i in range(min(show["max_entries"], 3))]
        if name == "color_pcpu":
            keys = [le(7, 4), le(9, 4), le(1, 4)]
        elif "hash" in show["type"]:
            keys = [rng.randbytes(key_size) for _ in range(3)]
        for i, key in enumerate(keys):
            value = rng.randbytes(value_size)
            if name == "str_arr":
                value = [b"hi \\ \"q\" 'x'", b"\x01bad", b"full-sixteen-chr"][i].ljust(
                    value_size, b"\0"
                )
            elif name == "kitchen_arr" and i == 1:
                value = value[:36] + b"name\0xyz" + value[44:]
            elif name == "num_hash" and i == 0:
                key = le(5, 4) + b"ab\0\0"
            _update(maps / name, key, value[:value_size])


FLOAT_MAPS = {"real_hash"}
MAP_NAMES = [
    "kitchen_arr",
    "num_hash",
    "flags_pcpu",
    "color_pcpu",
    "packed_lru",
    "str_arr",
    "maps_bss",
    "maps_data",
    "maps_rodata",
]


@live
@pytest.mark.kernel
@pytest.mark.tools
@pytest.mark.parametrize("name", MAP_NAMES)
def test_object_maps_match_bpftool(loaded_maps: Path, name: str) -> None:
    compare_with_bpftool(["pinned", str(loaded_maps / name)])


@live
@pytest.mark.kernel
@pytest.mark.tools
def test_floats_where_bpftool_gives_up(loaded_maps: Path) -> None:
    """bpftool 7.1 prints ``(unsupported-kind`` for a float and stops the value;
    ours is the same up to there, with the number in its place."""
    pin = str(loaded_maps / "real_hash")
    show = json.loads(bpftool("-j", "map", "show", "pinned", pin))
    key = le(3, 8)
    value = le(0x3FC00000, 4) + bytes(4) + le(0x4000000000000000, 8) + le(77, 4) + bytes(4)
    _update(loaded_maps / "real_hash", key, value)
    plain = bpftool("map", "dump", "pinned", pin)
    mb = map_btf(show["id"])
    ours = map_dump_text(mb.btf, mb.info.btf_key_type_id, mb.info.btf_value_type_id, [(key, value)])
    entry = next(e for e in plain.split("},{") if '"key": 3,' in e)
    assert '"f": (unsupported-kind' in entry
    head = entry.split('"f": ')[0]
    assert head in ours
    assert format_value(mb.btf, mb.info.btf_value_type_id, value) == {
        "f": 1.5,
        "d": 2.0,
        "after": 77,
    }


def _kernel_map(btf: Btf, value_type_id: int, values: list[bytes]) -> Any:
    from ebpy.kernel.btf import KernelBtf
    from ebpy.kernel.map import KernelMap
    from ebpy.spec import MapSpec
    from ebpy.uapi import MapType

    kbtf = KernelBtf.load(Btf([*btf.types, Int(len(btf.types) + 1, "__u32", size=4, bits=32)]))
    spec = MapSpec(
        MapType.ARRAY,
        4,
        btf.size_of(value_type_id),
        len(values),
        name="ebpy_fmt",
        btf_key_type_id=len(btf.types) + 1,
        btf_value_type_id=value_type_id,
    )
    kmap = KernelMap.create(spec, btf_fd=kbtf.fd)
    for i, value in enumerate(values):
        kmap[le(i, 4)] = value
    return kbtf, kmap


@live
@pytest.mark.kernel
@pytest.mark.tools
def test_hand_built_btf_in_the_kernel() -> None:
    """Kinds clang does not emit: char-encoded ints, signed and 64-bit enums,
    integers of odd sizes or with a bit offset."""
    btf = Btf(
        [
            U32,
            replace(UCHAR_ENC, id=2),
            Array(3, "", type_id=2, index_type_id=1, nelems=6),
            Enum64(
                4, "big", values=(EnumValue("NEG", -5), EnumValue("HUGE", 1 << 40)), signed=True
            ),
            Enum(5, "sgn", values=(EnumValue("M1", -1), EnumValue("P2", 2)), signed=True),
            Int(6, "odd", size=2, bits=12),
            Int(7, "offs", size=4, encoding=Int.SIGNED, bits=8, offset=4),
            Enum(8, "e2", size=2, values=(EnumValue("X", 0x8001),)),
            replace(BOOL, id=9),
            Enum64(10, "u64e", values=(EnumValue("TOP", (1 << 64) - 1),)),
            Struct(
                11,
                "crafted",
                size=40,
                members=(
                    Member("c", 2, 0),
                    Member("s", 3, 8),
                    Member("e64", 4, 64),
                    Member("es", 5, 128),
                    Member("odd", 6, 160),
                    Member("offs", 7, 192),
                    Member("e2", 8, 224),
                    Member("b", 9, 240),
                    Member("u", 10, 256),
                ),
            ),
        ]
    )
    rng = random.Random(1)
    values = [rng.randbytes(40) for _ in range(3)]
    values[1] = (
        b'"' + b"ab\\c\0\0" + b"\0" + le(-5, 8) + le(-1, 4) + bytes(4) + bytes(range(16, 32))
    )
    values[2] = b"\x1f" + values[2][1:]
    kbtf, kmap = _kernel_map(btf, 11, values)
    with kbtf, kmap:
        entries = [(le(i, 4), value) for i, value in enumerate(values)]
        compare_with_bpftool(["id", str(kmap.info().id)], entries)


@live
@pytest.mark.kernel
@pytest.mark.tools
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_structs_in_the_kernel(data: st.DataObject) -> None:
    btf, type_id = data.draw(value_types(kernel=True))
    size = btf.size_of(type_id)
    values = [data.draw(st.binary(min_size=size, max_size=size)) for _ in range(2)]
    kbtf, kmap = _kernel_map(btf, type_id, values)
    with kbtf, kmap:
        entries = [(le(i, 4), value) for i, value in enumerate(values)]
        compare_with_bpftool(["id", str(kmap.info().id)], entries)
