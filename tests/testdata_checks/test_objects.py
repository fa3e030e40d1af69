"""The committed objects of the eBPF C corpus: current, complete, and as the manifest says.

Without any tool: every ``bpf/*.c`` has its ``.o`` and three llvm-objdump goldens,
the manifest names every object, and what it says about programs (function
symbols, sections, offsets, sizes), map symbols, internal data sections and
legacy ``SEC("maps")`` definitions matches the ELF files (read with pyelftools).
With clang: each object equals a fresh build with the make fragment's flags.
With llvm-objdump: each golden equals the tool's output for the committed object.
The kernel checks are in ``test_kernel_load.py``.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from ebpy.uapi import MapCreateFlags, ProgLoadFlags
from tests.testdata_checks.corpus import (
    BPF_DIR,
    GOLDEN_DIR,
    GOLDEN_KINDS,
    TESTDATA,
    enum_value,
    objects,
    source_names,
    tool,
)

SHF_EXECINSTR = 0x4
NAMES = source_names()
LEGACY_FIELDS = ("type", "key_size", "value_size", "max_entries", "flags")
IPROUTE2_PINNING = {"PIN_NONE": 0, "PIN_OBJECT_NS": 1, "PIN_GLOBAL_NS": 2}


def _elf_facts(path: Path) -> dict[str, Any]:
    """Programs, map symbols, data sections and externs of one object."""
    with path.open("rb") as fh:
        elf = ELFFile(fh)
        sections = list(elf.iter_sections())
        symtab = elf.get_section_by_name(".symtab")
        assert isinstance(symtab, SymbolTableSection)
        programs, map_syms, externs = [], {}, []
        for sym in symtab.iter_symbols():
            shndx, kind = sym["st_shndx"], sym["st_info"]["type"]
            if shndx == "SHN_UNDEF":
                if sym.name and kind == "STT_NOTYPE":
                    externs.append(sym.name)
                continue
            if not isinstance(shndx, int):
                continue
            sec = sections[shndx]
            if kind == "STT_FUNC" and sec["sh_flags"] & SHF_EXECINSTR and sec.name != ".text":
                programs.append((sym.name, sec.name, sym["st_value"], sym["st_size"]))
            elif kind == "STT_OBJECT" and sec.name in (".maps", "maps"):
                map_syms[sym.name] = sec.data()[sym["st_value"] : sym["st_value"] + sym["st_size"]]
        data = {
            s.name: s["sh_size"]
            for s in sections
            if s.name.startswith((".data", ".rodata", ".bss")) and s["sh_size"]
        }
    return {"programs": programs, "maps": map_syms, "data": data, "externs": externs}


def test_every_source_has_object_and_goldens() -> None:
    assert NAMES, "no C programs in tests/testdata/bpf"
    for name in NAMES:
        assert (BPF_DIR / f"{name}.o").is_file(), f"{name}.o missing: make -C tests/testdata bpf"
        for kind in GOLDEN_KINDS:
            assert (GOLDEN_DIR / f"{name}.{kind}.txt").is_file(), f"golden {name}.{kind}.txt"


def test_manifest_names_every_object() -> None:
    assert sorted(objects()) == NAMES
    for name, obj in objects().items():
        assert obj["source"] == f"{name}.c"
        assert obj["programs"], f"{name}: no programs"


@pytest.mark.parametrize("name", NAMES)
def test_manifest_matches_elf(name: str) -> None:
    facts = _elf_facts(BPF_DIR / f"{name}.o")
    obj = objects()[name]
    progs = [(p["name"], p["section"], p["offset"], p["size"]) for p in obj["programs"]]
    assert sorted(progs) == sorted(facts["programs"])

    user = [m for m in obj["maps"] if not m.get("internal")]
    internal = [m["name"] for m in obj["maps"] if m.get("internal")]
    assert sorted(m["name"] for m in user) == sorted(facts["maps"])
    expected_internal = set(facts["data"]) | ({".kconfig"} if facts["externs"] else set())
    assert sorted(internal) == sorted(expected_internal)
    for m in obj["maps"]:
        if m.get("internal") and m["name"] in facts["data"]:
            assert m["value_size"] == facts["data"][m["name"]], m["name"]
        assert m["kernel_name"] == (m["kernel_name"][:15]), (
            "kernel names have 15 characters at most"
        )
        if not m.get("internal"):
            assert m["kernel_name"] == m["name"][:15]

    kernel_names = [m["kernel_name"] for m in obj["maps"]]
    assert len(set(kernel_names)) == len(kernel_names), "kernel names must tell maps apart"
    names = {m["name"] for m in obj["maps"]}
    for p in obj["programs"]:
        assert set(p["maps"]) <= names, p["name"]
        assert p["packet"] == (p["type"] in ("XDP", "SCHED_CLS", "SCHED_ACT", "SOCKET_FILTER"))
    assert obj["packet"] == all(p["packet"] for p in obj["programs"])


@pytest.mark.parametrize("name", NAMES)
def test_manifest_names_are_uapi_names(name: str) -> None:
    obj = objects()[name]
    for p in obj["programs"]:
        enum_value("prog_type", p["type"])
        if p["attach_type"] is not None:
            enum_value("attach_type", p["attach_type"])
        for flag in p["prog_flags"]:
            ProgLoadFlags[flag]
    for m in obj["maps"]:
        enum_value("map_type", m["type"])
        assert MapCreateFlags(m["flags"]) == m["flags"]
    if "broken" in obj:
        assert obj["kernel_log"] and all(isinstance(s, str) for s in obj["kernel_log"])


LEGACY = [n for n in NAMES if objects()[n].get("load", {}).get("loader")]


def test_there_are_legacy_objects() -> None:
    assert LEGACY == ["iproute2_maps", "legacy_maps"]


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_map_definitions(name: str) -> None:
    """SEC("maps") holds struct bpf_map_def (5 u32) or iproute2's bpf_elf_map (9 u32)."""
    facts = _elf_facts(BPF_DIR / f"{name}.o")
    for m in objects()[name]["maps"]:
        raw = facts["maps"][m["name"]]
        words = struct.unpack(f"<{len(raw) // 4}I", raw)
        assert len(words) == (9 if "iproute2" in m else 5), m["name"]
        expected = [enum_value("map_type", m["type"])] + [m[f] for f in LEGACY_FIELDS[1:]]
        assert list(words[:5]) == expected, m["name"]
        if "iproute2" in m:
            extra = m["iproute2"]
            pinning = IPROUTE2_PINNING[extra["pinning"]]
            assert list(words[5:]) == [extra["id"], pinning, extra["inner_id"], extra["inner_idx"]]


def _bpf_cflags() -> list[str]:
    out = subprocess.run(
        ["make", "-s", "-C", str(TESTDATA), "bpf-cflags"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


@pytest.mark.tools
@pytest.mark.parametrize("name", NAMES)
def test_object_is_up_to_date(name: str, tmp_path: Path) -> None:
    clang, make = tool("clang"), tool("make")
    if clang is None or make is None:
        pytest.skip("clang or make is not installed: the committed object is used as is")
    out = tmp_path / f"{name}.o"
    subprocess.run(
        [clang, *_bpf_cflags(), "-c", f"{name}.c", "-o", str(out)], cwd=BPF_DIR, check=True
    )
    fresh, committed = out.read_bytes(), (BPF_DIR / f"{name}.o").read_bytes()
    assert fresh == committed, f"{name}.o is stale: make -C tests/testdata bpf"


@pytest.mark.tools
@pytest.mark.parametrize("kind", sorted(GOLDEN_KINDS))
@pytest.mark.parametrize("name", NAMES)
def test_golden_is_up_to_date(name: str, kind: str) -> None:
    objdump = tool("llvm-objdump")
    if objdump is None:
        pytest.skip("llvm-objdump is not installed")
    version = subprocess.run([objdump, "--version"], capture_output=True, text=True).stdout
    if "LLVM version 14." not in version:
        pytest.skip("goldens were made by llvm-objdump 14")
    out = subprocess.run(
        [objdump, *GOLDEN_KINDS[kind], f"{name}.o"],
        cwd=BPF_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == (GOLDEN_DIR / f"{name}.{kind}.txt").read_text()
