"""A whole BPF object loaded into the running kernel: ``KernelObject.load(spec)``.

The same steps as ``ebpy.vm.objects``, through ``bpf(2)``, in libbpf's order:

1. ``ebpy.vm.prepare`` decides the programs, their types, CO-RE, map sizes
   (perf event arrays get one slot per possible CPU) and the first contents
   of global data and ``.kconfig`` - the very same decisions as on the VM;
2. the object's BTF goes into the kernel (``ebpy.kernel.btf``); if the kernel
   refuses it the object loads without (``btf_error`` says why), as libbpf does;
3. every map is created (``KernelMap.create``, with its BTF key and value
   types when there is BTF, except for the types libbpf creates without
   them, and again without them if the kernel refuses them;
   maps of maps with a template inner map), global data written, ``.rodata``
   and ``.kconfig`` frozen, arrays and hashes of maps filled from ``values``;
4. each program's ``lddw`` map references get map fds (``BPF_PSEUDO_MAP_FD``,
   ``BPF_PSEUDO_MAP_VALUE`` with the offset in the upper half), kernel symbols
   are resolved (``ebpy.kernel.ksyms``), and it is loaded with its type,
   expected attach type, attach BTF id, kernel version, flags, license, name,
   and function and line info;
5. prog arrays get the programs' fds.

A program the verifier rejects raises ``KernelError`` with the log; a program
that needs what this machine cannot give (an ``EPERM`` for a trampoline, a
``freplace`` target program, ``struct_ops``) raises ``NotSupportedError``.
Whatever was made is closed again when loading fails. ``close()`` (or a
``with`` block) closes every fd. This module does not read ELF files, pin
maps or attach programs.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ebpy.btf.types import Btf
from ebpy.closing import Closing
from ebpy.errors import BpfError, InputError, KernelError, MapError, NotSupportedError
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import PseudoSrc
from ebpy.kernel.btf import KernelBtf
from ebpy.kernel.features import possible_cpus
from ebpy.kernel.ksyms import attach_btf_id, resolve_externs
from ebpy.kernel.map import MAP_IN_MAP_TYPES, KernelMap
from ebpy.kernel.prog import KernelProgram, TestRunResult
from ebpy.spec import MapSpec, ObjectSpec, ProgramSpec
from ebpy.uapi import MapType, ProgType
from ebpy.vm.kconfig import KconfigValue
from ebpy.vm.prepare import PreparedObject, PreparedProgram, prepare, relink

__all__ = ["NEEDS_TARGET_PROGRAM", "NO_BTF_MAP_TYPES", "KernelObject", "KernelObjectProgram"]

NO_BTF_MAP_TYPES = frozenset(
    {
        MapType.PERF_EVENT_ARRAY,
        MapType.CGROUP_ARRAY,
        MapType.STACK_TRACE,
        MapType.ARRAY_OF_MAPS,
        MapType.HASH_OF_MAPS,
        MapType.DEVMAP,
        MapType.DEVMAP_HASH,
        MapType.CPUMAP,
        MapType.XSKMAP,
        MapType.SOCKMAP,
        MapType.SOCKHASH,
        MapType.QUEUE,
        MapType.STACK,
    }
)
"""Map types created without BTF key/value types, as libbpf creates them (the kernel
refuses BTF for most of them)."""

NEEDS_TARGET_PROGRAM = frozenset({ProgType.EXT, ProgType.STRUCT_OPS})
"""Types that load against another program or a struct_ops map: not supported here."""


@dataclass
class KernelObjectProgram:
    """One program of a ``KernelObject``: its spec, type and ``KernelProgram``."""

    name: str
    prog_type: int
    program: KernelProgram
    prepared: PreparedProgram = field(repr=False)
    instructions: list[Instruction] = field(default_factory=list, repr=False)
    """The instructions as loaded (map fds, kernel symbols and CO-RE filled in)."""

    @property
    def fd(self) -> int:
        return self.program.fd

    @property
    def spec(self) -> ProgramSpec:
        return self.prepared.spec

    def test_run(
        self, data: bytes | None = None, ctx: bytes | None = None, repeat: int = 1
    ) -> TestRunResult:
        """``BPF_PROG_TEST_RUN``: retval, data_out, ctx_out, duration_ns."""
        return self.program.test_run(data or b"", ctx, repeat)

    def close(self) -> None:
        self.program.close()


class KernelObject(Closing):
    """An ``ObjectSpec`` loaded into the kernel: ``maps`` and ``programs`` by name."""

    def __init__(self, spec: ObjectSpec, prepared: PreparedObject) -> None:
        self.spec = spec
        self.prepared = prepared
        self.maps: dict[str, KernelMap] = {}
        self.programs: dict[str, KernelObjectProgram] = {}
        self.btf: KernelBtf | None = None
        self.btf_error: KernelError | None = None
        """Why the object's BTF did not load (None when it did, or there is none)."""
        self.skipped: Mapping[str, str] = prepared.skipped

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def map_list(self) -> list[KernelMap]:
        """The maps in index order."""
        return list(self.maps.values())

    @classmethod
    def load(
        cls,
        spec: ObjectSpec,
        *,
        target_btf: Btf | None = None,
        kconfig: Mapping[str, KconfigValue] | None = None,
        programs: Iterable[str] | None = None,
        prog_types: Mapping[str, int] | None = None,
        log_level: int = 0,
        btf: bool = True,
    ) -> KernelObject:
        """Create the maps and load the programs of ``spec`` (see the module docstring).

        ``programs`` limits the programs loaded (by name), ``prog_types`` gives
        program types by name, ``kconfig`` overrides ``__kconfig`` values,
        ``log_level`` keeps the verifier's logs (``.program.log``), ``btf=False``
        loads without the object's BTF.
        """
        prepared = prepare(
            spec,
            ncpus=possible_cpus(),
            target_btf=target_btf,
            kconfig=kconfig,
            programs=programs,
            prog_types=prog_types,
        )
        obj = cls(spec, prepared)
        try:
            obj._load_btf(btf)
            obj._make_maps()
            vmlinux: Btf | None = None  # the running kernel's, for symbols (not target_btf)
            for name, prep in prepared.programs.items():
                if vmlinux is None and _needs_vmlinux(prep):
                    vmlinux = _vmlinux()
                obj.programs[name] = obj._load_program(prep, vmlinux, log_level)
            obj._fill_prog_arrays()
        except BaseException:
            obj.close()
            raise
        return obj

    # -- steps ------------------------------------------------------------------
    def _load_btf(self, wanted: bool) -> None:
        if not wanted or self.spec.btf is None:
            return
        strings = [
            text
            for prep in self.prepared.programs.values()
            for li in prep.spec.line_info
            for text in (li.file, li.text)
        ]
        try:
            self.btf = KernelBtf.load(self.spec.btf, strings=strings)
        except KernelError as exc:
            self.btf_error = exc

    def _create(self, m: MapSpec) -> KernelMap:
        btf_fd = self.btf.fd if self.btf is not None else None
        if m.type in NO_BTF_MAP_TYPES:
            btf_fd = None
        if btf_fd is not None and (m.btf_key_type_id or m.btf_value_type_id):
            try:
                return KernelMap.create(m, btf_fd=btf_fd)
            except MapError:
                pass  # libbpf too retries without BTF
        return KernelMap.create(m)

    def _make_maps(self) -> None:
        for m in self.prepared.maps:
            made = self._create(m)
            self.maps[m.name] = made
            data = self.prepared.data.get(m.name)
            if data is not None:
                made.update_elem(bytes(m.key_size), data)
            if m.frozen:
                made.freeze()
        for m in self.prepared.maps:
            if m.type not in MAP_IN_MAP_TYPES:
                continue
            outer = self.maps[m.name]
            for slot, inner_name in m.values:
                inner = self.maps.get(inner_name)
                if inner is None:
                    raise InputError(f"map {m.name}: slot {slot} names no map {inner_name!r}")
                outer.update_elem(slot.to_bytes(m.key_size, "little"), inner)

    def _map_ref(self, src: int, index: int, offset: int, insn: Instruction) -> tuple[int, int]:
        fd = self.map_list[index].fd
        if src == PseudoSrc.MAP_VALUE:
            return src, fd | offset << 32
        return src, fd

    def _ext_info(self, prep: PreparedProgram) -> tuple[bytes, bytes]:
        if self.btf is None:
            return b"", b""
        funcs = b"".join(
            struct.pack("<II", f.insn_off // 8, f.type_id) for f in prep.spec.func_info
        )
        lines = b"".join(
            struct.pack(
                "<IIII",
                li.insn_off // 8,
                self.btf.string_offset(li.file),
                self.btf.string_offset(li.text),
                (li.line << 10) | (li.column & 0x3FF),
            )
            for li in prep.spec.line_info
        )
        return funcs, lines

    def _load_program(
        self, prep: PreparedProgram, vmlinux: Btf | None, log_level: int
    ) -> KernelObjectProgram:
        spec = prep.spec
        if prep.prog_type in NEEDS_TARGET_PROGRAM:
            kind = ProgType(prep.prog_type).name.lower()
            raise NotSupportedError(
                f"loading {kind} program {spec.name!r}", "it needs a target program or map"
            )
        insns = relink(prep.insns, self._map_ref, len(self.maps))
        attach_id = 0
        if vmlinux is not None:
            if prep.externs:
                insns = resolve_externs(insns, prep.externs, vmlinux, self.spec.btf)
            attach_id = attach_btf_id(spec.expected_attach_type, spec.attach_to, vmlinux)
        funcs, lines = self._ext_info(prep)
        prog = KernelProgram.load(
            insns,
            prep.prog_type,
            license=spec.license or self.spec.license,
            log_level=log_level,
            name=spec.name,
            expected_attach_type=spec.expected_attach_type,
            kernel_version=spec.kernel_version or self.spec.kernel_version,
            flags=spec.flags,
            attach_btf_id=attach_id,
            btf_fd=self.btf.fd if self.btf is not None and funcs else 0,
            func_info=funcs,
            line_info=lines,
        )
        return KernelObjectProgram(spec.name, prep.prog_type, prog, prep, insns)

    def _fill_prog_arrays(self) -> None:
        for m in self.prepared.maps:
            if m.type != MapType.PROG_ARRAY:
                continue
            table = self.maps[m.name]
            for slot, prog_name in m.values:
                prog = self.programs.get(prog_name)
                if prog is not None:  # a program left out leaves its slot empty
                    table.update_elem(slot.to_bytes(m.key_size, "little"), prog.program)

    # -- life -------------------------------------------------------------------
    def close(self) -> None:
        """Close every program, map and the BTF (again is a no-op)."""
        for prog in self.programs.values():
            prog.close()
        for m in self.maps.values():
            m.close()
        if self.btf is not None:
            self.btf.close()

    def __repr__(self) -> str:
        return f"<KernelObject {self.name} maps={list(self.maps)} programs={list(self.programs)}>"


def _needs_vmlinux(prep: PreparedProgram) -> bool:
    return bool(prep.externs) or attach_needs_btf(prep.spec.expected_attach_type)


def attach_needs_btf(expected_attach_type: int | None) -> bool:
    """Does a program of this expected attach type load with an ``attach_btf_id``?"""
    from ebpy.kernel.ksyms import ATTACH_TARGETS
    from ebpy.uapi import AttachType

    try:
        return AttachType(expected_attach_type or 0) in ATTACH_TARGETS
    except ValueError:
        return False


def _vmlinux() -> Btf:
    from ebpy.btf.parse import VMLINUX_PATH, load_vmlinux

    try:
        return load_vmlinux()
    except BpfError as exc:
        raise NotSupportedError(
            "kernel symbols and attach targets", f"no kernel BTF at {VMLINUX_PATH}: {exc}"
        ) from None
