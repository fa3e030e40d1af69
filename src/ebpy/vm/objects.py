"""A whole BPF object loaded on the userspace VM: ``VmObject.load(spec)``.

What libbpf does when it loads an object into a kernel, done with userspace
maps and ``Vm`` programs:

1. ``ebpy.vm.prepare`` decides the programs, their types, CO-RE, map sizes and
   the first contents of global data and ``.kconfig``;
2. every ``MapSpec`` becomes a map, in index order (``ebpy.maps.create_map``;
   types whose values only a kernel has become empty stand-ins,
   ``ebpy.vm.object_models``);
   global data gets its contents, ``.rodata`` and ``.kconfig`` are frozen
   after that; arrays and hashes of maps get their inner maps from ``values``;
3. each program's ``lddw`` map references become the VM's index forms
   (``map[idx:N]``), and the program becomes a ``Vm`` of its program type
   (attach-type variants from ``object_models``; a type the VM does not model
   loads without a context: it cannot test-run);
4. prog arrays get the object's programs from ``values``.

``obj.maps[name]`` are the maps (``MutableMapping`` over bytes),
``obj.programs[name].test_run(data, ctx, repeat)`` runs a program as
``BPF_PROG_TEST_RUN`` does. Kernel symbols (``__ksym``) have no address in
userspace: their ``lddw`` gives 0, as an unresolved weak one does with libbpf,
and kfunc calls stop the program when reached. This module does not parse
ELF (``ebpy.elf``) nor touch the kernel (``ebpy.kernel.objects`` is the same
for the kernel).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ebpy.btf.types import Btf
from ebpy.closing import Closing
from ebpy.errors import InputError, NotSupportedError
from ebpy.helpers.env import Runtime
from ebpy.helpers.registry import HelperTable
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import PseudoSrc
from ebpy.maps import MAP_TYPES, Map, create_map
from ebpy.maps.map_in_map import ArrayOfMaps, HashOfMaps
from ebpy.maps.prog_array import ProgArrayMap
from ebpy.progtypes import ProgTypeInfo
from ebpy.spec import MapSpec, ObjectSpec, ProgramSpec
from ebpy.uapi import MapType, ProgType
from ebpy.vm.interpreter import DEFAULT_BUDGET, Vm
from ebpy.vm.kconfig import KconfigValue
from ebpy.vm.linking import MapResolver
from ebpy.vm.object_models import attach_variant, kernel_only_map
from ebpy.vm.prepare import PreparedObject, PreparedProgram, prepare, relink
from ebpy.vm.testrun import TestRunResult

__all__ = ["VmObject", "VmProgram", "create_object_map", "prog_type_name"]

_TO_INDEX = {PseudoSrc.MAP_FD: PseudoSrc.MAP_IDX, PseudoSrc.MAP_VALUE: PseudoSrc.MAP_IDX_VALUE}


def prog_type_name(kind: int) -> str:
    """``xdp``, ``sched_cls`` ... (``type42`` for numbers ``ebpy.uapi`` does not name)."""
    try:
        return ProgType(kind).name.lower()
    except ValueError:
        return f"type{kind}"


class _ObjectResolver(MapResolver):
    """``MapResolver`` that also gives kernel symbols (``BTF_ID``) the address 0."""

    def __call__(self, pc: int, insn: Instruction) -> int:
        if insn.src == PseudoSrc.BTF_ID:
            return 0
        return super().__call__(pc, insn)


def create_object_map(spec: MapSpec, *, ncpus: int = 1) -> Map:
    """A userspace map for ``spec``, or an empty ``kernel_only_map`` for a type
    ``ebpy.maps`` does not implement."""
    if spec.type != MapType.UNSPEC and spec.type in MAP_TYPES:
        return create_map(spec, ncpus=ncpus)
    return kernel_only_map(spec, ncpus=ncpus)


@dataclass
class VmProgram:
    """One program of a ``VmObject``: its spec, type and ``Vm``."""

    name: str
    spec: ProgramSpec
    prog_type: int
    vm: Vm
    prepared: PreparedProgram = field(repr=False)

    @property
    def info(self) -> ProgTypeInfo | None:
        """The VM's model of the program type (None when the VM has none)."""
        return self.vm.info

    @property
    def instructions(self) -> list[Instruction]:
        """The instructions as loaded (CO-RE applied, maps by index)."""
        return self.vm.program

    def test_run(
        self,
        data: bytes | None = None,
        ctx: bytes | None = None,
        repeat: int = 1,
        *,
        runtime: Runtime | None = None,
    ) -> TestRunResult:
        """Run as ``BPF_PROG_TEST_RUN`` does: retval, data_out, ctx_out, duration_ns."""
        if self.vm.info is None:
            raise NotSupportedError(
                f"test_run of {prog_type_name(self.prog_type)} programs on the VM",
                "the VM has no model of this program type's context",
            )
        return self.vm.test_run(data, ctx, repeat, runtime=runtime)


class VmObject(Closing):
    """An ``ObjectSpec`` loaded on the VM: ``maps`` and ``programs`` by name."""

    def __init__(
        self,
        spec: ObjectSpec,
        maps: dict[str, Map],
        programs: dict[str, VmProgram],
        prepared: PreparedObject,
    ) -> None:
        self.spec = spec
        self.maps = maps
        self.programs = programs
        self.prepared = prepared
        self.skipped: Mapping[str, str] = prepared.skipped
        """Programs not loaded, with the reason."""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def map_list(self) -> list[Map]:
        """The maps in index order (what ``map[idx:N]`` names)."""
        return list(self.maps.values())

    @classmethod
    def load(
        cls,
        spec: ObjectSpec,
        *,
        ncpus: int = 1,
        target_btf: Btf | None = None,
        kconfig: Mapping[str, KconfigValue] | None = None,
        programs: Iterable[str] | None = None,
        prog_types: Mapping[str, int] | None = None,
        budget: int = DEFAULT_BUDGET,
        helpers: HelperTable | None = None,
    ) -> VmObject:
        """Make the maps and programs of ``spec`` (see the module docstring).

        ``programs`` limits the programs loaded (by name), ``prog_types`` gives
        program types by name; ``kconfig`` overrides ``__kconfig`` values;
        ``budget`` and ``helpers`` are passed to each ``Vm``.
        """
        if ncpus < 1:
            raise InputError("ncpus must be at least 1")
        prepared = prepare(
            spec,
            ncpus=ncpus,
            target_btf=target_btf,
            kconfig=kconfig,
            programs=programs,
            prog_types=prog_types,
        )
        maps = _make_maps(prepared, ncpus)
        map_list = list(maps.values())
        progs: dict[str, VmProgram] = {}
        for name, prep in prepared.programs.items():
            insns = relink(prep.insns, _index_ref, len(map_list))
            info = attach_variant(prep.prog_type, prep.spec.expected_attach_type)
            vm = Vm(
                insns,
                prog_type=info,
                maps=map_list,
                helpers=helpers,
                budget=budget,
                resolve_pseudo=_ObjectResolver(map_list),
                ncpus=ncpus,
            )
            progs[name] = VmProgram(name, prep.spec, prep.prog_type, vm, prep)
        _fill_prog_arrays(prepared, maps, progs)
        return cls(spec, maps, progs, prepared)

    def close(self) -> None:
        """Nothing to release on the VM (kept for the backends' common face)."""

    def __repr__(self) -> str:
        return f"<VmObject {self.name} maps={list(self.maps)} programs={list(self.programs)}>"


def _index_ref(src: int, index: int, offset: int, insn: Instruction) -> tuple[int, int]:
    return int(_TO_INDEX[PseudoSrc(src)]), index | offset << 32


def _make_maps(prepared: PreparedObject, ncpus: int) -> dict[str, Map]:
    maps: dict[str, Map] = {}
    for m in prepared.maps:
        made = create_object_map(m, ncpus=ncpus)
        data = prepared.data.get(m.name)
        if data is not None:
            made.update_elem(bytes(m.key_size), data)
        if m.frozen:
            made.freeze()
        maps[m.name] = made
    for m in prepared.maps:
        outer = maps[m.name]
        for slot, inner_name in m.values if m.type != MapType.PROG_ARRAY else ():
            inner = maps.get(inner_name)
            if inner is None:
                raise InputError(f"map {m.name}: slot {slot} names no map {inner_name!r}")
            if isinstance(outer, ArrayOfMaps):
                outer.set_map(slot, inner)
            elif isinstance(outer, HashOfMaps):
                outer.set_map(slot.to_bytes(outer.key_size, "little"), inner)
    return maps


def _fill_prog_arrays(
    prepared: PreparedObject, maps: dict[str, Map], progs: dict[str, VmProgram]
) -> None:
    for m in prepared.maps:
        table = maps[m.name]
        if not isinstance(table, ProgArrayMap):
            continue
        for slot, prog_name in m.values:
            prog = progs.get(prog_name)
            if prog is not None:  # a program left out leaves its slot empty
                table.set_program(slot, prog.vm)
