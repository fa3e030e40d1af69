"""The loader against libbpf: map definitions, relocations, linking, kconfig, slots.

``tests/golden/elf/<dir>__<name>.libbpf.txt`` holds what libbpf 1.1 logged
(``bpftool -d prog loadall``) while it opened, relocated and linked each
committed object: every map definition it parsed, the map index each
``lddw`` got, the subprograms it appended to each program in order and the
offsets it gave each call, the kconfig extern offsets and the initial slots
of prog arrays and maps of maps. Each line is checked against the
ObjectSpec. Objects libbpf 1.1 refuses have empty goldens.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ebpy.isa._intmath import M32, s32
from ebpy.isa.instruction import slot_starts
from ebpy.isa.opcodes import PseudoSrc
from ebpy.spec import MapFlavor, MapSpec, ObjectSpec, ProgramSpec
from tests.elf.corpus import LITTLE_OBJECTS, ident, libbpf_log, load

LOGGED = [p for p in LITTLE_OBJECTS if libbpf_log(p)]

_MAP_AT = re.compile(r"^map '([^']+)': at sec_idx \d+, offset (\d+)\.$")
_MAP_FOUND = re.compile(r"^map '([^']+)': found (\w+)(?: \[(\d+)\], sz)? = (\S+?)\.?$")
_INNER = re.compile(r"^map '([^']+)': found inner map definition\.$")
_DATA_MAP = re.compile(
    r"^map '([^']+)' \(global data\): at sec_idx \d+, offset 0, flags ([0-9a-f]+)\.$"
)
_MAP_IS = re.compile(r'^map (\d+) is "([^"]+)"$')
_KCFG = re.compile(r"^extern \(kcfg\) #\d+: symbol \d+, off (\d+), name (\w+)$")
_FOUND_MAP = re.compile(
    r"^prog '([^']+)': found (data )?map (\d+) \(([^,]+), sec \d+, off \d+\) for insn #?(\d+)$"
)
_FOUND_EXT = re.compile(
    r"^prog '([^']+)': found extern #\d+ '([^']+)' \(sym \d+\) for insn #(\d+)$"
)
_ADDED = re.compile(r"^prog '([^']+)': added (\d+) insns from sub-prog '([^']+)'$")
_CALL = re.compile(
    r"^prog '([^']+)': insn #(\d+) relocated, imm (-?\d+) points to subprog '([^']+)' \(now at (\d+) offset\)$"
)
_SLOT = re.compile(
    r"^\.maps relo #\d+: map '([^']+)' slot \[(\d+)\] points to (?:prog|map) '([^']+)'$"
)


def test_most_objects_have_a_libbpf_log() -> None:
    assert len(LOGGED) >= 30


def _function_slots(prog: ProgramSpec) -> dict[str, int]:
    starts = slot_starts(prog.instructions)
    return {name: starts[index] for name, index in prog.functions}


def _insn_at(prog: ProgramSpec, slot: int):  # type: ignore[no-untyped-def]
    starts = slot_starts(prog.instructions)
    return prog.instructions[starts.index(slot)]


def _containing(obj: ObjectSpec, function: str) -> list[tuple[ProgramSpec, int]]:
    """Every program holding ``function``, with the function's first slot there."""
    out = []
    for prog in obj.programs.values():
        slots = _function_slots(prog)
        if function in slots:
            out.append((prog, slots[function]))
    return out


def _spec_by_name(obj: ObjectSpec, name: str) -> MapSpec:
    if name in obj.maps:
        return obj.maps[name]
    outer, _, rest = name.rpartition(".")
    assert rest == "inner", name
    inner = obj.maps[outer].inner
    assert inner is not None and inner.name == name
    return inner


_FIELDS = {
    "type": lambda s: s.type_value,
    "key_size": lambda s: s.key_size,
    "value_size": lambda s: s.value_size,
    "max_entries": lambda s: s.max_entries,
    "map_flags": lambda s: s.flags,
    "map_extra": lambda s: s.extra,
    "pinning": lambda s: s.pinning,
    "numa_node": lambda s: s.numa_node,
}


def _check_map_line(obj: ObjectSpec, line: str) -> bool:
    if m := _MAP_FOUND.match(line):
        name, field, type_id, value = m.groups()
        spec = _spec_by_name(obj, name)
        number = int(value, 0)
        if field in ("key", "value"):
            assert getattr(spec, f"{field}_size") == number
            if not spec.name.endswith(".inner"):
                assert getattr(spec, f"btf_{field}_type_id") == int(type_id)
        else:
            assert _FIELDS[field](spec) == number, line
        return True
    if m := _INNER.match(line):
        assert obj.maps[m.group(1)].inner is not None
        return True
    if m := _DATA_MAP.match(line):
        spec = obj.maps[m.group(1)]
        assert spec.flavor in (MapFlavor.DATA, MapFlavor.KCONFIG)
        assert spec.flags == int(m.group(2), 16)
        return True
    if m := _MAP_IS.match(line):
        assert list(obj.maps)[int(m.group(1))] == m.group(2)
        return True
    if m := _KCFG.match(line):
        offsets = {k.name: k.offset for k in obj.kconfig}
        assert offsets[m.group(2)] == int(m.group(1))
        return True
    if m := _SLOT.match(line):
        assert (int(m.group(2)), m.group(3)) in obj.maps[m.group(1)].values
        return True
    return _MAP_AT.match(line) is not None


def _check_insn_line(obj: ObjectSpec, line: str) -> bool:
    if m := _FOUND_MAP.match(line):
        function, data, index, name, slot = m.groups()
        assert list(obj.maps)[int(index)] == name
        for prog, start in _containing(obj, function):
            insn = _insn_at(prog, start + int(slot))
            assert insn.src == (PseudoSrc.MAP_VALUE if data else PseudoSrc.MAP_FD)
            assert insn.imm & M32 == int(index)
            assert name in prog.maps
        return True
    if m := _FOUND_EXT.match(line):
        function, name, slot = m.groups()
        kconfig = {k.name: k for k in obj.kconfig}
        if name not in kconfig:  # a kernel function or variable: resolved at load
            for prog, start in _containing(obj, function):
                index = slot_starts(prog.instructions).index(start + int(slot))
                assert name in [e.name for e in prog.externs if e.insn == index]
        else:
            index = [s.flavor for s in obj.maps.values()].index(MapFlavor.KCONFIG)
            for prog, start in _containing(obj, function):
                insn = _insn_at(prog, start + int(slot))
                assert insn.src == PseudoSrc.MAP_VALUE
                assert insn.imm == index | (kconfig[name].offset << 32)
        return True
    return False


@pytest.mark.parametrize("path", LOGGED, ids=ident)
def test_maps_and_relocations(path: Path) -> None:
    obj = load(path)
    btf_maps = []
    for line in libbpf_log(path):
        if m := _MAP_AT.match(line):
            btf_maps.append(m.group(1))
        assert (
            _check_map_line(obj, line)
            or _check_insn_line(obj, line)
            or (_ADDED.match(line) or _CALL.match(line))
        ), line
    ours = [k for k, s in obj.maps.items() if s.flavor == MapFlavor.BTF]
    assert ours == btf_maps


@pytest.mark.parametrize("path", LOGGED, ids=ident)
def test_linking(path: Path) -> None:
    """Subprograms appended in libbpf's order, of libbpf's size, calls pointing where libbpf points."""
    obj = load(path)
    appended: dict[str, list[tuple[str, int]]] = {}
    main = ""
    for line in libbpf_log(path):
        if m := _ADDED.match(line):
            main = m.group(1)
            appended.setdefault(main, []).append((m.group(3), int(m.group(2))))
        elif m := _CALL.match(line):
            function, slot, imm, callee, at = m.groups()
            prog = obj.programs[main or function]
            slots = _function_slots(prog)
            insn = _insn_at(prog, slots[function] + int(slot))
            assert s32(insn.imm & M32) == int(imm)
            assert slots[callee] == int(at)
    if not appended and any(len(p.functions) > 1 for p in obj.programs.values()):
        pytest.skip("libbpf stopped before linking (an extern it could not resolve)")
    for name, prog in obj.programs.items():
        starts = slot_starts(prog.instructions)
        bounds = [starts[i] for _, i in prog.functions] + [starts[-1] + prog.instructions[-1].width]
        got = [
            (fname, bounds[n + 2] - bounds[n + 1])
            for n, (fname, _) in enumerate(prog.functions[1:])
        ]
        assert got == appended.get(name, [])
