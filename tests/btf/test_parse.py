"""parse_btf: every kind in both byte orders, header checks, split BTF, sysfs loading.

Inputs are built word by word (tests.btf.rawbtf), independently of the encoder.
Malformed inputs must raise BtfError with the section, the byte offset and the
type id the tests expect, and nothing else.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from ebpy.btf import parse
from ebpy.btf.encode import encode_btf
from ebpy.btf.parse import load_module_btf, load_vmlinux, parse_btf, parse_header
from ebpy.btf.types import (
    Array,
    Btf,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Kind,
    Linkage,
    Member,
    Param,
    Ptr,
    Restrict,
    Struct,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Volatile,
)
from ebpy.errors import BtfError
from tests.btf.rawbtf import RawBtf

ORDERS = ["<", ">"]


def every_kind(order: str) -> tuple[RawBtf, list[object]]:
    """One type of every kind (and the model objects they must parse to)."""
    r = RawBtf(order)
    r.add(Kind.INT, "int", third=4, trailing=[(1 << 24) | 32])  # 1
    r.add(Kind.PTR, third=1)  # 2
    r.add(Kind.ARRAY, trailing=[1, 1, 16])  # 3
    r.add(Kind.STRUCT, "s", vlen=2, third=8, trailing=[r.name("a"), 1, 0, 0, 2, 32])  # 4
    r.add(Kind.UNION, "u", vlen=1, kflag=1, third=4, trailing=[r.name("bf"), 1, (3 << 24) | 5])
    r.add(Kind.ENUM, "e", vlen=2, third=4, trailing=[r.name("A"), 0xFFFFFFFF, r.name("B"), 7])
    r.add(Kind.ENUM, "se", vlen=1, kflag=1, third=4, trailing=[r.name("NEG"), -5])  # 7
    r.add(Kind.FWD, "f")  # 8
    r.add(Kind.FWD, "fu", kflag=1)  # 9
    r.add(Kind.TYPEDEF, "td", third=1)  # 10
    r.add(Kind.VOLATILE, third=1)  # 11
    r.add(Kind.CONST, third=11)  # 12
    r.add(Kind.RESTRICT, third=2)  # 13
    r.add(Kind.FUNC_PROTO, vlen=2, third=1, trailing=[r.name("x"), 1, 0, 0])  # 14
    r.add(Kind.FUNC, "fn", vlen=Linkage.GLOBAL, third=14)  # 15
    r.add(Kind.VAR, "v", third=1, trailing=[Linkage.STATIC])  # 16
    r.add(Kind.DATASEC, ".data", vlen=1, third=4, trailing=[16, 0, 4])  # 17
    r.add(Kind.FLOAT, "double", third=8)  # 18
    r.add(Kind.DECL_TAG, "tag", third=4, trailing=[-1])  # 19
    r.add(Kind.DECL_TAG, "ptag", third=15, trailing=[0])  # 20
    r.add(Kind.TYPE_TAG, "user", third=1)  # 21
    r.add(Kind.ENUM64, "e64", vlen=1, third=8, trailing=[r.name("BIG"), 0x89ABCDEF, 0xFFFFFFFF])
    r.add(Kind.ENUM64, "s64", vlen=1, kflag=1, third=8, trailing=[r.name("M"), 0xFFFFFFFE, -1])
    r.add(Kind.DECL_TAG, "attr", kflag=1, third=1, trailing=[-1])  # 24
    r.add(Kind.TYPE_TAG, "attr", kflag=1, third=1)  # 25
    expected = [
        Int(1, "int", 4, Int.SIGNED, 0, 32),
        Ptr(2, "", 1),
        Array(3, "", 1, 1, 16),
        Struct(4, "s", 8, (Member("a", 1, 0), Member("", 2, 32))),
        Union(5, "u", 4, (Member("bf", 1, 5, 3),), kind_flag=True),
        Enum(6, "e", 4, (EnumValue("A", 0xFFFFFFFF), EnumValue("B", 7))),
        Enum(7, "se", 4, (EnumValue("NEG", -5),), signed=True),
        Fwd(8, "f", False),
        Fwd(9, "fu", True),
        Typedef(10, "td", 1),
        Volatile(11, "", 1),
        Const(12, "", 11),
        Restrict(13, "", 2),
        FuncProto(14, "", 1, (Param("x", 1), Param("", 0))),
        Func(15, "fn", 14, Linkage.GLOBAL),
        Var(16, "v", 1, Linkage.STATIC),
        Datasec(17, ".data", 4, (VarSecinfo(16, 0, 4),)),
        Float(18, "double", 8),
        DeclTag(19, "tag", 4, -1),
        DeclTag(20, "ptag", 15, 0),
        TypeTag(21, "user", 1),
        Enum64(22, "e64", 8, (EnumValue("BIG", 0xFFFFFFFF_89ABCDEF),)),
        Enum64(23, "s64", 8, (EnumValue("M", -2),), signed=True),
        DeclTag(24, "attr", 1, -1, kind_flag=True),
        TypeTag(25, "attr", 1, kind_flag=True),
    ]
    return r, expected


@pytest.mark.parametrize("order", ORDERS)
def test_every_kind(order: str) -> None:
    raw, expected = every_kind(order)
    btf = parse_btf(raw.data())
    assert list(btf.types) == expected
    assert {t.kind for t in btf.types} == set(Kind) - {Kind.UNKN}
    assert len(btf) == len(expected) + 1 and btf.start_id == 1
    assert btf[0].kind is Kind.UNKN


def test_byte_orders_agree() -> None:
    little, _ = every_kind("<")
    big, _ = every_kind(">")
    assert little.data() != big.data()
    assert list(parse_btf(little.data())) == list(parse_btf(big.data()))


def test_header_longer_than_24_with_zeros() -> None:
    raw, expected = every_kind("<")
    assert list(parse_btf(raw.data(hdr_len=32))) == expected


def test_string_offset_into_the_middle_of_a_string() -> None:
    r = RawBtf()
    off = r.name("task_struct")
    r.add(Kind.INT, off + 5, third=4, trailing=[32])
    r.add(Kind.PTR, off, third=1)
    btf = parse_btf(r.data())
    assert [t.name for t in btf] == ["struct", "task_struct"]


def test_names_that_are_not_utf8_survive() -> None:
    r = RawBtf()
    r.add(Kind.INT, r.name(b"caf\xe9"), third=1, trailing=[8])
    btf = parse_btf(r.data())
    assert btf[1].name.encode("utf-8", "surrogateescape") == b"caf\xe9"
    assert parse_btf(encode_btf(btf))[1] == btf[1]


def test_empty_type_section() -> None:
    btf = parse_btf(RawBtf().data())
    assert list(btf) == [] and len(btf) == 1


# -- malformed input: (build, mutate) -> BtfError(section, offset, type_id) -------------


def _simple(order: str = "<") -> RawBtf:
    r = RawBtf(order)
    r.add(Kind.INT, "int", third=4, trailing=[32])
    r.add(Kind.PTR, third=1)
    return r


def _set(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


HEADER_CASES: dict[str, tuple[Callable[[], bytes], int]] = {
    "empty": (lambda: b"", 0),
    "short header": (lambda: _simple().data()[:23], 0),
    "bad magic": (lambda: _simple().data(magic=0x1234), 0),
    "version 2": (lambda: _simple().data(version=2), 2),
    "version 0": (lambda: _simple().data(version=0), 2),
    "flags": (lambda: _simple().data(flags=1), 3),
    "hdr_len too small": (lambda: _simple().data(hdr_len=20), 4),
    "hdr_len past the data": (lambda: _simple().data()[:24] + b"", 4),
    "non-zero header tail": (
        lambda: _set(_simple().data(hdr_len=32), 28, "<I", 1),
        24,
    ),
    "type section past the end": (lambda: _simple().data(type_len=1000), 8),
    "type_off past the end": (lambda: _simple().data(type_off=1 << 31), 8),
    "string section past the end": (lambda: _simple().data(str_len=1000), 16),
    "str_off past the end": (lambda: _simple().data(str_off=0xFFFFFFF0), 16),
    "type_off unaligned": (lambda: _simple().data(type_off=2, type_len=8), 8),
    "sections overlap": (lambda: _simple().data(str_off=4), 8),
    "empty string section": (lambda: _simple().data(str_len=0), 20),
}


def _hdr_len_past_data() -> bytes:
    data = _simple().data()
    return _set(data, 4, "<I", len(data) + 4)


HEADER_CASES["hdr_len past the data"] = (_hdr_len_past_data, 4)


@pytest.mark.parametrize("case", sorted(HEADER_CASES))
def test_bad_header(case: str) -> None:
    build, offset = HEADER_CASES[case]
    with pytest.raises(BtfError) as info:
        parse_btf(build(), section="x.o")
    assert info.value.section == "x.o"
    assert info.value.offset == offset
    assert info.value.type_id is None


def test_strings_must_end_with_nul() -> None:
    r = _simple()
    data = r.data()
    with pytest.raises(BtfError) as info:
        parse_btf(data[:-1] + b"x")
    assert info.value.offset == len(data) - 1


def test_strings_must_start_with_the_empty_string() -> None:
    r = _simple()
    data = r.data()
    str_start = 24 + len(r.type_bytes())
    with pytest.raises(BtfError) as info:
        parse_btf(_set(data, str_start, "B", ord("x")))
    assert info.value.offset == str_start


def test_string_section_too_long(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse, "MAX_NAME_OFFSET", 3)  # the strings are 5 bytes
    with pytest.raises(BtfError) as info:
        parse_btf(_simple().data())
    assert info.value.offset == 20


def test_too_many_types(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse, "MAX_TYPE", 1)
    with pytest.raises(BtfError):
        parse_btf(_simple().data())


# Each case: the records of types 1, 2 (types[1] is the bad one, at byte 24 + 16).
TYPE_CASES: dict[str, Callable[[RawBtf], None]] = {
    "unknown kind 20": lambda r: r.add(20, third=1),
    "kind 0": lambda r: r.add(0),
    "stray info bits": lambda r: r.words.extend([0, (2 << 24) | (1 << 16), 1]),
    "kind_flag on PTR": lambda r: r.add(Kind.PTR, kflag=1, third=1),
    "vlen on TYPEDEF": lambda r: r.add(Kind.TYPEDEF, "t", vlen=1, third=1),
    "INT stray bits": lambda r: r.add(Kind.INT, "i", third=4, trailing=[1 << 8 | 32]),
    "struct members past the end": lambda r: r.add(
        Kind.STRUCT, "s", vlen=3, third=4, trailing=[0, 1, 0]
    ),
    "INT data missing": lambda r: r.add(Kind.INT, "i", third=4),
    "record header truncated": lambda r: r.words.extend([0, Kind.PTR << 24]),
    "name past the strings": lambda r: r.add(Kind.PTR, 999, third=1),
    "member name past the strings": lambda r: r.add(
        Kind.STRUCT, "s", vlen=1, third=4, trailing=[999, 1, 0]
    ),
    "param name past the strings": lambda r: r.add(
        Kind.FUNC_PROTO, vlen=1, third=1, trailing=[999, 1]
    ),
    "enum name past the strings": lambda r: r.add(
        Kind.ENUM, "e", vlen=1, third=4, trailing=[999, 1]
    ),
    "enum64 name past the strings": lambda r: r.add(
        Kind.ENUM64, "e", vlen=1, third=8, trailing=[999, 1, 0]
    ),
    "PTR to a missing type": lambda r: r.add(Kind.PTR, third=3),
    "TYPEDEF to a missing type": lambda r: r.add(Kind.TYPEDEF, "t", third=100),
    "ARRAY of a missing type": lambda r: r.add(Kind.ARRAY, trailing=[7, 1, 1]),
    "ARRAY index of a missing type": lambda r: r.add(Kind.ARRAY, trailing=[1, 7, 1]),
    "member of a missing type": lambda r: r.add(
        Kind.STRUCT, "s", vlen=1, third=4, trailing=[0, 9, 0]
    ),
    "return of a missing type": lambda r: r.add(Kind.FUNC_PROTO, third=5),
    "param of a missing type": lambda r: r.add(Kind.FUNC_PROTO, vlen=1, third=1, trailing=[0, 5]),
    "FUNC of a missing type": lambda r: r.add(Kind.FUNC, "f", third=3),
    "VAR of a missing type": lambda r: r.add(Kind.VAR, "v", third=3, trailing=[0]),
    "DATASEC of a missing var": lambda r: r.add(Kind.DATASEC, "d", vlen=1, trailing=[3, 0, 4]),
    "DECL_TAG of a missing type": lambda r: r.add(Kind.DECL_TAG, "t", third=3, trailing=[-1]),
    "TYPE_TAG of a missing type": lambda r: r.add(Kind.TYPE_TAG, "t", third=0xFFFFFFFF),
}


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("case", sorted(TYPE_CASES))
def test_bad_type(case: str, order: str) -> None:
    r = RawBtf(order)
    r.add(Kind.INT, "int", third=4, trailing=[32])
    TYPE_CASES[case](r)
    with pytest.raises(BtfError) as info:
        parse_btf(r.data())
    assert info.value.section == ".BTF"
    assert info.value.type_id == 2
    assert info.value.offset == 24 + 16


def test_missing_type_reported_at_the_referring_type() -> None:
    r = RawBtf()
    for _ in range(5):
        r.add(Kind.INT, "int", third=4, trailing=[32])
    r.add(Kind.STRUCT, "s", vlen=2, third=8, trailing=[0, 1, 0, 0, 40, 32])  # 6: bad
    r.add(Kind.PTR, third=6)
    with pytest.raises(BtfError) as info:
        parse_btf(r.data())
    assert info.value.type_id == 6
    assert info.value.offset == 24 + 5 * 16


def test_type_section_length_not_a_multiple_of_4() -> None:
    r = _simple()
    data = r.data()
    types = len(r.type_bytes())
    # Move one string byte into the type section.
    bad = _set(_set(data, 12, "<I", types + 2), 16, "<I", types + 2)
    bad = _set(bad, 20, "<I", len(r.strings) - 2)
    with pytest.raises(BtfError) as info:
        parse_btf(bad)
    assert info.value.offset == 24 + types + 2


# -- split BTF ----------------------------------------------------------------------


def _base() -> Btf:
    r = RawBtf()
    r.add(Kind.INT, "int", third=4, trailing=[(1 << 24) | 32])
    r.add(Kind.STRUCT, "task", vlen=1, third=4, trailing=[r.name("pid"), 1, 0])
    return parse_btf(r.data())


@pytest.mark.parametrize("order", ORDERS)
def test_split_btf_continues_ids_and_strings(order: str) -> None:
    base = _base()
    assert len(base.strings) == len(b"\0int\0task\0pid\0")
    r = RawBtf(order, first_id=3, str_start=len(base.strings))
    r.add(Kind.PTR, third=2)  # 3 -> base type
    r.add(Kind.STRUCT, "mod_s", vlen=2, third=12, trailing=[1, 1, 0, r.name("own"), 3, 32])
    r.add(Kind.TYPEDEF, base.strings.index(b"task\0"), third=4)  # a name from the base's strings
    split = parse_btf(r.data(), base=base)
    assert split.start_id == 3 and len(split) == 6
    assert split[1] is base[1] and split[2] is base[2]
    assert split[3] == Ptr(3, "", 2)
    assert split[4] == Struct(4, "mod_s", 12, (Member("int", 1, 0), Member("own", 3, 32)))
    assert split[5] == Typedef(5, "task", 4)
    assert [t.id for t in split.find("task")] == [2, 5]


def test_split_btf_may_have_no_strings() -> None:
    base = _base()
    r = RawBtf(first_id=3, str_start=len(base.strings))
    r.add(Kind.PTR, 1, third=1)
    split = parse_btf(r.data(), base=base)
    assert split[3] == Ptr(3, "int", 1)
    with pytest.raises(BtfError):
        parse_btf(r.data())  # without a base the strings are missing


@pytest.mark.parametrize(
    "add",
    [
        lambda r: r.add(Kind.PTR, third=4),  # own id 3 is the last
        lambda r: r.add(Kind.PTR, 100, third=1),  # past both string sections
    ],
)
def test_split_btf_checks_ids_and_strings(add: Callable[[RawBtf], None]) -> None:
    base = _base()
    r = RawBtf(first_id=3, str_start=len(base.strings))
    add(r)
    with pytest.raises(BtfError) as info:
        parse_btf(r.data(), base=base)
    assert info.value.type_id == 3


def test_split_of_split() -> None:
    base = _base()
    mid = RawBtf(first_id=3, str_start=len(base.strings))
    mid.add(Kind.PTR, "p", third=2)
    middle = parse_btf(mid.data(), base=base)
    top = RawBtf(first_id=4, str_start=len(base.strings) + len(middle.strings))
    top.add(Kind.CONST, "c", third=3)
    top.add(Kind.TYPEDEF, len(base.strings), third=1)  # "p", from the middle table
    btf = parse_btf(top.data(), base=middle)
    assert btf[4] == Const(4, "c", 3) and btf[5] == Typedef(5, "p", 1)
    assert btf[1].name == "int"


def test_parse_header_reports_the_layout() -> None:
    r = _simple(">")
    h = parse_header(r.data())
    assert (h.order, h.hdr_len, h.type_start, h.type_len) == (">", 24, 24, len(r.type_bytes()))
    assert h.str_start == 24 + len(r.type_bytes()) and h.str_len == len(r.strings)


# -- sysfs ---------------------------------------------------------------------------


def test_load_vmlinux_caches_per_mtime(tmp_path: Path) -> None:
    path = tmp_path / "vmlinux"
    path.write_bytes(_simple().data())
    first = load_vmlinux(str(path))
    assert load_vmlinux(str(path)) is first
    r = _simple()
    r.add(Kind.CONST, third=2)
    path.write_bytes(r.data())
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    second = load_vmlinux(str(path))
    assert second is not first and len(second) == 4


def test_load_vmlinux_missing(tmp_path: Path) -> None:
    with pytest.raises(BtfError) as info:
        load_vmlinux(str(tmp_path / "nope"))
    assert info.value.section.endswith("nope")


def test_load_module_btf_from_a_sysfs_tree(tmp_path: Path) -> None:
    base_raw = RawBtf()
    base_raw.add(Kind.INT, "int", third=4, trailing=[32])
    (tmp_path / "vmlinux").write_bytes(base_raw.data())
    mod = RawBtf(first_id=2, str_start=len(base_raw.strings))
    mod.add(Kind.PTR, "modptr", third=1)
    (tmp_path / "mymod").write_bytes(mod.data())
    btf = load_module_btf("mymod", sysfs=str(tmp_path))
    assert btf.base is load_vmlinux(str(tmp_path / "vmlinux"))
    assert btf[2] == Ptr(2, "modptr", 1)
    assert load_module_btf("vmlinux", sysfs=str(tmp_path)) is btf.base
    for bad in ("", "../x", "a/b", ".."):
        with pytest.raises(BtfError):
            load_module_btf(bad, sysfs=str(tmp_path))
    with pytest.raises(BtfError):
        load_module_btf("missing", sysfs=str(tmp_path))


VMLINUX = Path(parse.VMLINUX_PATH)
needs_vmlinux = pytest.mark.skipif(not VMLINUX.exists(), reason="no /sys/kernel/btf/vmlinux here")


@needs_vmlinux
def test_vmlinux() -> None:
    btf = load_vmlinux()
    assert btf is load_vmlinux()
    assert len(btf) > 10_000
    (task,) = btf.find("task_struct", Kind.STRUCT)
    assert isinstance(task, Struct) and task.size > 1000
    assert any(m.name == "pid" for m in task.members)
    assert btf.size_of(btf.find("u64", Kind.TYPEDEF)[0].id) == 8
    kinds = {t.kind for t in btf.types}
    assert {Kind.INT, Kind.STRUCT, Kind.FUNC, Kind.FUNC_PROTO, Kind.DATASEC} <= kinds


@needs_vmlinux
def test_modules_in_sysfs() -> None:
    modules = sorted(p.name for p in VMLINUX.parent.iterdir() if p.name != "vmlinux")
    if not modules:
        pytest.skip("no module BTF in /sys/kernel/btf on this kernel")
    for name in modules[:3]:
        btf = load_module_btf(name)
        assert btf.base is load_vmlinux()
        assert btf.start_id == len(btf.base)
