"""Every committed object loads, and its ObjectSpec says what MANIFEST.json says.

The manifest (tests/testdata/bpf/MANIFEST.json, written with the C corpus)
gives each object's programs (section, program and attach type, load flags,
maps used, subprograms) and maps (type, sizes, flags, inner map, initial
slots, pinning, iproute2 fields, the name the kernel shows). It is compared
field by field with ``load_object``'s result.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ebpy.elf.loader import load_object
from ebpy.spec import MapFlavor, MapSpec, ObjectSpec, ProgramSpec
from ebpy.uapi import AttachType, MapType, ProgLoadFlags, ProgType
from tests.elf.corpus import MANIFEST, MANIFEST_PATH, OBJECTS, TESTDATA, ident, load

NOT_IN_UAPI = (
    json.loads(MANIFEST_PATH.read_text())["enum_values_not_in_ebpy_uapi"]
    if MANIFEST_PATH.exists()
    else {}
)
IPROUTE2_PINNING = {"PIN_NONE": 0, "PIN_OBJECT_NS": 1, "PIN_GLOBAL_NS": 2}


def _attach_value(name: str | None) -> int | None:
    if name is None:
        return None
    if name in AttachType.__members__:
        return AttachType[name]
    return int(NOT_IN_UAPI["attach_type"][name])


def _map_type_value(name: str) -> int:
    if name in MapType.__members__:
        return MapType[name]
    return int(NOT_IN_UAPI["map_type"][name])


@pytest.mark.parametrize("path", OBJECTS, ids=ident)
def test_every_object_loads(path: Path) -> None:
    if path.stem.endswith("_eb"):
        pytest.skip("big-endian object: only little-endian objects load on this host")
    obj = load_object(path.read_bytes(), path.name)
    assert obj.name == path.stem[:15]
    assert obj.programs or obj.maps
    for prog in obj.programs.values():
        assert prog.instructions
        assert prog.functions[0] == (prog.name, 0)
        for name in prog.maps:
            assert name in obj.maps


def test_manifest_covers_the_bpf_objects() -> None:
    objects = {p.stem for p in (TESTDATA / "bpf").glob("*.o")}
    assert objects and objects == set(MANIFEST)


def _spec_map_name(obj: ObjectSpec, key: str) -> str:
    """The manifest's name of a map: its symbol, or the section of internal maps."""
    spec = obj.maps[key]
    return spec.section if spec.flavor in (MapFlavor.DATA, MapFlavor.KCONFIG) else key


def _check_program(obj: ObjectSpec, prog: ProgramSpec, want: dict) -> None:
    assert prog.section == want["section"]
    assert prog.prog_type == ProgType[want["type"]]
    assert prog.expected_attach_type == _attach_value(want["attach_type"])
    flags = 0
    for f in want["prog_flags"]:
        flags |= ProgLoadFlags[f]
    assert prog.flags == flags
    assert sorted(_spec_map_name(obj, m) for m in prog.maps) == sorted(want["maps"])
    assert sorted(name for name, _ in prog.functions[1:]) == sorted(want.get("subprograms", []))


def _check_map(obj: ObjectSpec, key: str, spec: MapSpec, want: dict) -> None:
    assert spec.type_value == _map_type_value(want["type"])
    assert (spec.key_size, spec.value_size) == (want["key_size"], want["value_size"])
    assert spec.max_entries == want["max_entries"]
    if "kernel_flags" not in want:
        # with kernel_flags the manifest's flags are the kernel's (devmaps get
        # BPF_F_RDONLY_PROG there); the declared ones are checked against libbpf
        assert spec.flags == want["flags"]
    assert key[:15] == want["kernel_name"]
    assert spec.extra == want.get("map_extra", 0)
    init = {int(k): v for k, v in want.get("init", {}).items()}
    assert dict(spec.values) == init
    inner = want.get("inner")
    if isinstance(inner, str):  # iproute2: the template is another map of the object
        assert spec.inner is not None
        assert spec.inner == obj.maps[inner].renamed(spec.inner.name)
    elif inner is not None:
        assert spec.inner is not None
        assert spec.inner.type_value == _map_type_value(inner["type"])
        got = (spec.inner.key_size, spec.inner.value_size, spec.inner.max_entries)
        assert got == (inner["key_size"], inner["value_size"], inner["max_entries"])
        assert spec.inner.flags == inner["flags"]
    else:
        assert spec.inner is None
    if "iproute2" in want:
        assert spec.flavor == MapFlavor.IPROUTE2
        assert spec.pinning == IPROUTE2_PINNING[want["iproute2"]["pinning"]]
    else:
        assert spec.pinning == (1 if want.get("pinning") == "by_name" else 0)
    if want.get("internal"):
        assert spec.flavor in (MapFlavor.DATA, MapFlavor.KCONFIG)
        assert spec.section == want["name"]
        assert spec.frozen == spec.section.startswith((".rodata", ".kconfig"))


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_object_matches_manifest(name: str) -> None:
    want = MANIFEST[name]
    obj = load(TESTDATA / "bpf" / f"{name}.o")
    assert [p["name"] for p in want["programs"]] == list(obj.programs)
    for p in want["programs"]:
        _check_program(obj, obj.programs[p["name"]], p)
    by_name = {_spec_map_name(obj, k): k for k in obj.maps}
    assert sorted(by_name) == sorted(m["name"] for m in want["maps"])
    for m in want["maps"]:
        key = by_name[m["name"]]
        _check_map(obj, key, obj.maps[key], m)
