"""What ``ebpy run`` runs: one program on a backend (the VM or the kernel) with its maps.

A ``Target`` is a loaded program and the maps to print after the run:

* ``asm_target``: instructions read from assembly, hex or raw bytecode, with
  the maps of ``--map`` (``parse_map_spec``: userspace maps, or kernel maps
  made from the same specs: ``map[idx:N]`` then names map N's fd) and the
  type of ``--type`` (``resolve_type``);
* ``object_target``: one program of an ELF object (chosen by ``--section`` or
  ``--program``, default the first) loaded with the object's maps as a
  ``VmObject`` or a ``KernelObject`` (``ebpy.backend``), together with the
  programs it can tail-call into; ``--type`` overrides the types the sections
  give.

``Target.test_run`` runs once as ``BPF_PROG_TEST_RUN`` does (retval,
data_out, ctx_out, duration_ns; ``trace_lines`` gives a VM run's trace). The kernel backend needs bpf(2) (root): without it the target
cannot be made (``NotSupportedError``, one line). This module loads; it does
not read options or print (``ebpy.cli.run``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ebpy.errors import InputError, NotSupportedError

if TYPE_CHECKING:
    from ebpy.backend import RunResult
    from ebpy.isa.instruction import Instruction
    from ebpy.maps import Map
    from ebpy.progtypes import ProgTypeInfo
    from ebpy.spec import ObjectSpec
    from ebpy.vm import Vm

BACKENDS = ("vm", "kernel")


def trace_lines(result: Any) -> list[str]:
    """The ``bpf_trace_printk`` lines of a VM run (a kernel run has none here)."""
    runtime = getattr(result, "runtime", None)
    lines = getattr(runtime, "trace_lines", None) or []
    return [line.decode("utf-8", "replace") for line in lines]


class Target(ABC):
    """A loaded program on a backend, and the maps it uses (in index order)."""

    backend = ""

    def __init__(
        self, info: ProgTypeInfo | None, maps: Sequence[Any], name: str = "", section: str = ""
    ) -> None:
        self.info = info
        self.maps = list(maps)
        self.name = name
        self.section = section
        self.btf: Any = None
        """The object's BTF (``ebpy.btf.Btf``), to show map contents by type."""

    @abstractmethod
    def test_run(
        self, data: bytes | None, ctx: bytes | None, repeat: int = 1, seed: int | None = None
    ) -> RunResult:
        """One ``BPF_PROG_TEST_RUN``-style run (``seed``: the VM's random source)."""

    def close(self) -> None:  # noqa: B027 - a VM target holds nothing to release
        """Release what the target holds (kernel fds); nothing by default."""


class VmTarget(Target):
    """A program on the userspace VM."""

    backend = "vm"

    def __init__(self, vm: Vm, maps: Sequence[Any], name: str = "", section: str = "") -> None:
        super().__init__(vm.info, maps, name, section)
        self.vm = vm
        self._run = vm.test_run
        self._runtime = vm.new_runtime

    def test_run(
        self, data: bytes | None, ctx: bytes | None, repeat: int = 1, seed: int | None = None
    ) -> RunResult:
        if seed is None:
            return self._run(data, ctx, repeat)
        return self._run(data, ctx, repeat, runtime=self._runtime(seed=seed))


class KernelTarget(Target):
    """A program loaded into the kernel; ``owned`` are closed with it."""

    backend = "kernel"

    def __init__(
        self,
        prog: Any,
        info: ProgTypeInfo | None,
        maps: Sequence[Any],
        owned: Sequence[Any],
        name: str = "",
        section: str = "",
    ) -> None:
        super().__init__(info, maps, name, section)
        self.prog = prog
        self.owned = list(owned)

    def test_run(
        self, data: bytes | None, ctx: bytes | None, repeat: int = 1, seed: int | None = None
    ) -> RunResult:
        result: RunResult = self.prog.test_run(data or b"", ctx, repeat)
        return result

    def close(self) -> None:
        for thing in self.owned:
            thing.close()


def parse_map_spec(text: str, index: int) -> Map:
    """A new map for ``name:type:key_size:value_size:max_entries[:flags]``."""
    from ebpy.errors import InputError, MapError
    from ebpy.maps import create_map
    from ebpy.spec import MapSpec
    from ebpy.uapi import MapType

    parts = text.split(":")
    if len(parts) not in (5, 6):
        raise InputError(f"--map {text!r}: expected name:type:key_size:value_size:max_entries")
    name, kind = parts[0] or f"map{index}", parts[1].strip().lower()
    map_type = MapType.__members__.get(kind.upper().removeprefix("BPF_MAP_TYPE_"))
    if map_type is None:
        raise InputError(f"--map {text!r}: unknown map type {parts[1]!r}")
    try:
        sizes = [int(p, 0) for p in parts[2:]]
    except ValueError:
        raise InputError(f"--map {text!r}: sizes must be integers") from None
    flags = sizes[3] if len(sizes) == 4 else 0
    try:
        return create_map(MapSpec(map_type, sizes[0], sizes[1], sizes[2], flags, name))
    except MapError as exc:
        raise InputError(f"--map {text!r}: {exc}") from None


def resolve_type(kind: str | None, section: str | None) -> ProgTypeInfo | None:
    """``--type``, or for an ELF section named like a type (``xdp``, ``tc/...``) that type."""
    from ebpy.errors import InputError
    from ebpy.progtypes import prog_type_info

    if kind is not None:
        return prog_type_info(kind)
    if section:
        try:
            return prog_type_info(section.split("/")[0])
        except InputError:
            return None
    return None


def require_kernel() -> None:
    """``NotSupportedError`` (one line for the CLI) when bpf(2) cannot be used here."""
    from ebpy.kernel import bpf_unavailable_reason

    reason = bpf_unavailable_reason()
    if reason is not None:
        raise NotSupportedError("--backend kernel", reason)


def asm_target(
    insns: list[Instruction],
    info: ProgTypeInfo | None,
    maps: list[Map],
    backend: str,
    budget: int,
) -> Target:
    """A program read from text or bytecode, with the ``--map`` maps."""
    from ebpy.vm import Vm

    if backend == "vm":
        return VmTarget(Vm(insns, prog_type=info, maps=maps, budget=budget), maps)
    if info is None:
        raise InputError("--backend kernel needs a program type (--type xdp, tc ...)")
    require_kernel()
    from ebpy.isa.opcodes import PseudoSrc
    from ebpy.kernel import KernelMap, KernelProgram

    kmaps: list[Any] = []
    try:
        for m in maps:
            kmaps.append(KernelMap.create(m.spec))
        to_fd = {PseudoSrc.MAP_IDX: PseudoSrc.MAP_FD, PseudoSrc.MAP_IDX_VALUE: PseudoSrc.MAP_VALUE}
        code = []
        for pc, insn in enumerate(insns):
            if insn.is_lddw and insn.src in to_fd:
                index = insn.imm & 0xFFFFFFFF
                if index >= len(kmaps):
                    raise InputError(f"insn {pc}: map[idx:{index}] but only {len(kmaps)} --map")
                insn = insn.replace(
                    src=to_fd[PseudoSrc(insn.src)], imm=kmaps[index].fd | (insn.imm >> 32) << 32
                )
            code.append(insn)
        prog = KernelProgram.load(code, info.prog_type)
    except BaseException:
        for k in kmaps:
            k.close()
        raise
    return KernelTarget(prog, info, kmaps, [prog, *kmaps])


def needed_programs(spec: ObjectSpec, name: str) -> list[str]:
    """``name`` and every program it can reach through the prog arrays it uses."""
    out = [name]
    arrays = {m.name: m for m in spec.maps.values() if m.values}
    i = 0
    while i < len(out):
        prog = spec.programs[out[i]]
        for map_name in prog.maps:
            for _, target in getattr(arrays.get(map_name), "values", ()):
                if target in spec.programs and target not in out:
                    out.append(target)
        i += 1
    return out


def object_target(
    spec: ObjectSpec,
    section: str | None,
    program: str | None,
    kind: str | None,
    backend: str,
    budget: int,
) -> Target:
    """One program of ``spec`` loaded with the object's maps on ``backend``."""
    from ebpy.backend import load
    from ebpy.progtypes import prog_type_info
    from ebpy.vm.object_models import attach_variant

    prog = spec.program(program, section)
    names = needed_programs(spec, prog.name)
    types: dict[str, int] = {}
    if kind is not None:
        forced = int(prog_type_info(kind).prog_type)
        types = dict.fromkeys(names, forced)
    if backend == "vm":
        vobj = load(spec, backend="vm", programs=names, prog_types=types, budget=budget)
        vp = vobj.programs[prog.name]
        target: Target = VmTarget(vp.vm, vobj.map_list, prog.name, prog.section)
        target.btf = spec.btf
        return target
    require_kernel()
    kobj = load(spec, backend="kernel", programs=names, prog_types=types)
    kp = kobj.programs[prog.name]
    info = attach_variant(kp.prog_type, prog.expected_attach_type)
    target = KernelTarget(kp, info, kobj.map_list, [kobj], prog.name, prog.section)
    target.btf = spec.btf
    return target
