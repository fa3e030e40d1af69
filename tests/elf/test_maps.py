"""BTF map definitions (synthetic BTF), legacy layouts, global data and kconfig.

``parse_map_def`` is driven with BTF built from ``ebpy.btf.types`` to cover
every field and every refusal libbpf makes. The global-data, ``.kconfig``
and DATASEC fix-up checks use the committed ``globals`` objects and compare
with the ELF section contents and symbols.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ebpy.btf.types import (
    Array,
    Btf,
    Datasec,
    FuncProto,
    Int,
    Member,
    Ptr,
    Struct,
    Type,
    Typedef,
    Var,
)
from ebpy.elf.globals import internal_map_name, object_name
from ebpy.elf.maps import Layout, layout_for, parse_map_def
from ebpy.errors import ElfError
from ebpy.spec import MapFlavor
from ebpy.uapi import MapCreateFlags, MapType
from tests.elf.corpus import TESTDATA, load
from tests.elf.rawelf import RawElf


class Builder:
    """BTF for map definitions: ``uint(n)`` is ``int (*)[n]``, ``typed(t)`` is ``t *``."""

    def __init__(self) -> None:
        self.types: list[Type] = []
        self.int = self.add(lambda i: Int(i, "int", size=4, encoding=Int.SIGNED, bits=32))
        self.u64 = self.add(lambda i: Int(i, "u64", size=8, bits=64))

    def add(self, make) -> int:  # type: ignore[no-untyped-def]
        type_id = len(self.types) + 1
        self.types.append(make(type_id))
        return type_id

    def uint(self, n: int) -> int:
        arr = self.add(lambda i: Array(i, "", type_id=self.int, index_type_id=self.int, nelems=n))
        return self.add(lambda i: Ptr(i, "", type_id=arr))

    def typed(self, target: int) -> int:
        return self.add(lambda i: Ptr(i, "", type_id=target))

    def struct(self, members: Sequence[tuple[str, int]], name: str = "") -> int:
        ms = tuple(Member(n, t, k * 64) for k, (n, t) in enumerate(members))
        return self.add(lambda i: Struct(i, name, size=8 * len(ms), members=ms))

    def values(self, target: int) -> int:
        ptr = self.add(lambda i: Ptr(i, "", type_id=target))
        return self.add(lambda i: Array(i, "", type_id=ptr, index_type_id=self.int, nelems=0))

    def parse(self, members: Sequence[tuple[str, int]], name: str = "m"):  # type: ignore[no-untyped-def]
        sid = self.struct(members)
        btf = Btf(self.types)
        t = btf[sid]
        assert isinstance(t, Struct)
        return parse_map_def(btf, t, name)


def test_every_field() -> None:
    b = Builder()
    key = b.add(lambda i: Typedef(i, "key_t", type_id=b.u64))
    spec = b.parse(
        [
            ("type", b.uint(MapType.HASH)),
            ("key", b.typed(key)),
            ("value", b.typed(b.int)),
            ("max_entries", b.uint(100)),
            ("map_flags", b.uint(MapCreateFlags.NO_PREALLOC)),
            ("numa_node", b.uint(3)),
            ("pinning", b.uint(1)),
            ("map_extra", b.uint(7)),
        ]
    )
    assert spec.type == MapType.HASH
    assert (spec.key_size, spec.value_size, spec.max_entries) == (8, 4, 100)
    assert spec.btf_key_type_id == key and spec.btf_value_type_id == b.int
    assert (spec.flags, spec.numa_node, spec.pinning, spec.extra) == (1, 3, 1, 7)
    assert spec.flavor == MapFlavor.BTF


def test_sizes_without_types() -> None:
    b = Builder()
    spec = b.parse([("type", b.uint(2)), ("key_size", b.uint(4)), ("value_size", b.uint(16))])
    assert (spec.key_size, spec.value_size, spec.btf_key_type_id) == (4, 16, 0)


def test_map_in_map_template() -> None:
    b = Builder()
    inner = b.struct(
        [
            ("type", b.uint(MapType.ARRAY)),
            ("key", b.typed(b.int)),
            ("value", b.typed(b.u64)),
            ("max_entries", b.uint(2)),
        ]
    )
    spec = b.parse(
        [
            ("type", b.uint(MapType.ARRAY_OF_MAPS)),
            ("key", b.typed(b.int)),
            ("max_entries", b.uint(4)),
            ("values", b.values(inner)),
        ],
        name="outer",
    )
    assert spec.value_size == 4
    assert spec.inner is not None and spec.inner.name == "outer.inner"
    assert (spec.inner.type, spec.inner.value_size, spec.inner.max_entries) == (MapType.ARRAY, 8, 2)


def test_prog_array_values() -> None:
    b = Builder()
    proto = b.add(lambda i: FuncProto(i, "", type_id=b.int))
    spec = b.parse(
        [
            ("type", b.uint(MapType.PROG_ARRAY)),
            ("key_size", b.uint(4)),
            ("max_entries", b.uint(4)),
            ("values", b.values(proto)),
        ]
    )
    assert spec.value_size == 4 and spec.inner is None


def test_newer_map_type() -> None:
    b = Builder()
    spec = b.parse([("type", b.uint(32))])
    assert spec.type == MapType.UNSPEC and spec.raw_type == 32 and spec.type_value == 32
    assert spec.describe().startswith("cgrp_storage m")


def _refused(members_of) -> ElfError:  # type: ignore[no-untyped-def]
    b = Builder()
    with pytest.raises(ElfError) as exc:
        b.parse(members_of(b))
    assert exc.value.section == ".maps"
    return exc.value


@pytest.mark.parametrize(
    "members_of",
    [
        lambda b: [("type", b.uint(1)), ("bogus", b.uint(1))],  # unknown field
        lambda b: [("max_entries", b.uint(1))],  # no type
        lambda b: [("type", b.uint(999))],  # unknown type
        lambda b: [("type", b.int)],  # not a pointer
        lambda b: [("type", b.typed(b.int))],  # pointer to a non-array
        lambda b: [("type", b.uint(1)), ("pinning", b.uint(2))],  # bad pinning
        lambda b: [("type", b.uint(1)), ("key", b.typed(b.int)), ("key_size", b.uint(8))],
        lambda b: [("type", b.uint(1)), ("key", b.typed(0))],  # void key
        lambda b: [("type", b.uint(1)), ("values", b.values(b.int))],  # not map-in-map
        lambda b: [("type", b.uint(12)), ("values", b.values(b.int))],  # inner not a struct
        lambda b: [
            ("type", b.uint(12)),
            ("values", b.values(b.struct([]))),
            ("max_entries", b.uint(1)),
        ],
        lambda b: [
            ("type", b.uint(12)),
            ("value_size", b.uint(8)),
            ("values", b.values(b.struct([]))),
        ],
        lambda b: [
            ("type", b.uint(3)),
            ("values", b.values(b.struct([]))),
        ],  # prog array of structs
    ],
)
def test_refusals(members_of) -> None:  # type: ignore[no-untyped-def]
    _refused(members_of)


def test_nested_inner_maps_refused() -> None:
    def members(b: Builder) -> list[tuple[str, int]]:
        deepest = b.struct([("type", b.uint(2))])
        inner = b.struct([("type", b.uint(12)), ("values", b.values(deepest))])
        return [("type", b.uint(12)), ("values", b.values(inner))]

    _refused(members)


@pytest.mark.parametrize(
    ("size", "layout"),
    [
        (16, Layout.BPF_MAP_DEF),
        (20, Layout.BPF_MAP_DEF),
        (28, Layout.BPF_ELF_MAP),
        (36, Layout.BPF_ELF_MAP),
    ],
)
def test_legacy_layouts(size: int, layout: Layout) -> None:
    assert layout_for(size) is layout


@pytest.mark.parametrize(
    ("path", "name"),
    [("/x/xdp_prog.bpf.o", "xdp_prog"), ("a_very_long_object_name.o", "a_very_long_obj"), ("", "")],
)
def test_object_name(path: str, name: str) -> None:
    assert object_name(path) == name


@pytest.mark.parametrize(
    ("obj", "section", "name"),
    [
        ("globals", ".bss", "globals.bss"),
        ("syscall_count", ".rodata", "syscall_.rodata"),
        ("x", ".kconfig", "x.kconfig"),
        ("x", ".data.custom", ".data.custom"),
        ("x", ".rodata.abracadabra", ".rodata.abracad"),
        ("my-obj", ".data", "my_obj.data"),
    ],
)
def test_internal_map_names(obj: str, section: str, name: str) -> None:
    assert internal_map_name(obj, section) == name


def test_global_data_contents() -> None:
    path = TESTDATA / "bpf" / "globals.o"
    obj, raw = load(path), RawElf(path.read_bytes())
    for spec in obj.maps.values():
        if spec.flavor != MapFlavor.DATA:
            continue
        sec = raw.section(spec.section)
        want = (
            bytes(sec.size)
            if sec.type == 8
            else bytes(raw.data[sec.offset : sec.offset + sec.size])
        )
        assert spec.data == want and spec.value_size == sec.size
        assert spec.frozen == spec.section.startswith(".rodata")
        assert spec.btf_value_type_id == 0 or obj.btf is not None


def test_datasec_fixup() -> None:
    path = TESTDATA / "bpf" / "globals.o"
    obj, raw = load(path), RawElf(path.read_bytes())
    assert obj.btf is not None
    for t in obj.btf:
        if not isinstance(t, Datasec) or t.name in (".kconfig", ".ksyms"):
            continue
        assert t.size == raw.section(t.name).size
        for v in t.vars:
            var = obj.btf[v.type_id]
            assert isinstance(var, Var)
            if var.linkage:  # globals sit at their symbol
                value = int.from_bytes(
                    raw.data[raw.symbol_at(var.name) + 8 : raw.symbol_at(var.name) + 16], "little"
                )
                assert v.offset == value
        assert [v.offset for v in t.vars] == sorted(v.offset for v in t.vars)


def test_kconfig() -> None:
    obj = load(TESTDATA / "bpf" / "globals.o")
    kconfig = {k.name: k for k in obj.kconfig}
    assert kconfig["CONFIG_BPF_JIT"].kind == "bool" and kconfig["CONFIG_BPF_JIT"].weak
    assert kconfig["LINUX_KERNEL_VERSION"].size == 4
    spec = next(s for s in obj.maps.values() if s.flavor == MapFlavor.KCONFIG)
    last = max(obj.kconfig, key=lambda k: k.offset)
    assert spec.value_size == last.offset + last.size and spec.frozen
    assert obj.btf is not None
    sec = next(t for t in obj.btf if isinstance(t, Datasec) and t.name == ".kconfig")
    assert sec.size == spec.value_size
    assert {obj.btf[v.type_id].name: v.offset for v in sec.vars} == {
        k: e.offset for k, e in kconfig.items()
    }
