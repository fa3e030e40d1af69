"""What every backend does to an ``ObjectSpec`` before it makes maps and loads programs.

``prepare(spec, ...)`` decides, for this machine and these options, the
parts of loading an object that do not depend on where it is loaded (the VM
or the kernel), so that both backends load exactly the same thing:

* which programs load and with what type: all of them or those named; a
  program of a section that follows no convention takes the type given in
  ``prog_types``, or else the type of the programs that tail-call into it
  through a prog array (iproute2's ``ID/KEY`` sections), or is left out with
  the reason;
* map sizes libbpf fills in: a perf event array without ``max_entries`` gets
  one slot per CPU, a ring buffer's size is rounded up to a power-of-two
  multiple of the page size;
* the first contents of global data maps (``.data``, ``.rodata`` ...) and of
  the ``.kconfig`` map (``ebpy.vm.kconfig``);
* CO-RE: each program's relocations resolved against ``target_btf`` (default:
  this machine's vmlinux BTF, read only when some program has relocations)
  with one ``ebpy.btf.core.Relocator`` per object; an access that matches
  nothing poisons its instruction, as libbpf does;
* that every instruction is one a machine takes (``ebpy.isa.encoding.validate``:
  a damaged file gives a ``DecodeError``, not a crash later).

``relink`` then rewrites the ``lddw`` map references (``BPF_PSEUDO_MAP_FD`` /
``BPF_PSEUDO_MAP_VALUE`` with map indexes, as the ELF loader leaves them) into
what a backend wants. This module creates nothing; it lives in ``ebpy.vm``,
the lowest backend, so that ``ebpy.kernel.objects`` shares it.
"""

from __future__ import annotations

import mmap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from ebpy.btf.core import CoreResult, Relocator
from ebpy.btf.types import Btf
from ebpy.errors import BtfError, DecodeError, ElfError, NotSupportedError
from ebpy.isa.encoding import validate
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import PseudoSrc
from ebpy.spec import ExternRef, MapFlavor, MapSpec, ObjectSpec, ProgramSpec
from ebpy.uapi import MapType, ProgType
from ebpy.vm.kconfig import KconfigValue, kconfig_bytes

__all__ = [
    "PreparedObject",
    "PreparedProgram",
    "prepare",
    "relink",
    "ringbuf_size",
]

_MAP_SRCS = (PseudoSrc.MAP_FD, PseudoSrc.MAP_VALUE)
_RINGBUFS = (MapType.RINGBUF, MapType.USER_RINGBUF)


@dataclass(frozen=True)
class PreparedProgram:
    """A program as a backend loads it.

    ``prog_type`` is the type it loads with (an ``int``: ``ProgType`` members
    where ``ebpy.uapi`` names them); ``insns`` are CO-RE-relocated, map
    references still by index; ``core`` the relocation results; ``externs``
    the kernel symbols to resolve, as (index in ``insns``, reference).
    """

    spec: ProgramSpec
    prog_type: int
    insns: tuple[Instruction, ...]
    core: tuple[CoreResult, ...] = ()
    externs: tuple[tuple[int, ExternRef], ...] = ()

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class PreparedObject:
    """An object ready for a backend: maps in index order, their first contents, programs."""

    spec: ObjectSpec
    maps: tuple[MapSpec, ...]
    data: Mapping[str, bytes]
    """The value of key 0 of each global data and ``.kconfig`` map, by map name."""
    programs: Mapping[str, PreparedProgram]
    skipped: Mapping[str, str] = field(default_factory=dict)
    """Programs left out, by name, with the reason."""

    def map_index(self, name: str) -> int:
        for i, m in enumerate(self.maps):
            if m.name == name:
                return i
        raise ElfError(f"no map named {name!r}")


def ringbuf_size(size: int, page: int = mmap.PAGESIZE) -> int:
    """A ring buffer size as libbpf passes it: a power-of-two multiple of the page
    size, rounded up (0 and sizes too big to round stay as they are).

    >>> ringbuf_size(4096 * 4, 4096), ringbuf_size(5000, 4096), ringbuf_size(0, 4096)
    (16384, 8192, 0)
    """
    if size <= 0:
        return size
    if size % page == 0 and (size // page) & (size // page - 1) == 0:
        return size
    mul = 1
    while mul * page <= 0xFFFFFFFF:
        if mul * page > size:
            return mul * page
        mul <<= 1
    return size


def _sized(m: MapSpec, ncpus: int) -> MapSpec:
    if m.type == MapType.PERF_EVENT_ARRAY and m.max_entries == 0:
        m = replace(m, max_entries=ncpus)
    elif m.type in _RINGBUFS:
        m = replace(m, max_entries=ringbuf_size(m.max_entries))
    if m.inner is not None:
        m = replace(m, inner=_sized(m.inner, ncpus))
    return m


def _initial_data(
    spec: ObjectSpec, maps: Sequence[MapSpec], kconfig: Mapping[str, KconfigValue] | None
) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for m in maps:
        if m.flavor == MapFlavor.KCONFIG:
            out[m.name] = kconfig_bytes(spec.kconfig, m.value_size, overrides=kconfig)
        elif m.flavor == MapFlavor.DATA:
            if len(m.data) > m.value_size:
                raise ElfError(
                    f"map {m.name}: {len(m.data)} bytes of data for a {m.value_size}-byte value",
                    m.section,
                )
            out[m.name] = m.data + bytes(m.value_size - len(m.data))
    return out


def _inferred_type(spec: ObjectSpec, prog: ProgramSpec) -> int | None:
    """The type of the programs that tail-call into ``prog`` (all alike), or None."""
    arrays = [
        m.name
        for m in spec.maps.values()
        if m.type == MapType.PROG_ARRAY and any(name == prog.name for _, name in m.values)
    ]
    types = {
        p.prog_type
        for p in spec.programs.values()
        if p.known_type and any(a in p.maps for a in arrays)
    }
    return types.pop() if len(types) == 1 else None


def _choose(
    spec: ObjectSpec, names: Iterable[str] | None, prog_types: Mapping[str, int]
) -> tuple[dict[str, tuple[ProgramSpec, int]], dict[str, str]]:
    chosen: dict[str, tuple[ProgramSpec, int]] = {}
    skipped: dict[str, str] = {}
    wanted = list(spec.programs) if names is None else list(dict.fromkeys(names))
    for name in list(prog_types) + wanted:
        spec.program(name)  # ElfError naming the programs there are
    for name in spec.programs:
        prog = spec.programs[name]
        if name not in wanted:
            skipped[name] = "not asked for"
            continue
        kind = prog_types.get(name)
        if kind is None:
            kind = prog.prog_type if prog.known_type else _inferred_type(spec, prog)
        if kind is None or kind == ProgType.UNSPEC:
            if names is not None:
                prog.require_type()  # asked for by name: say why it cannot load
            skipped[name] = f"section {prog.section!r} does not tell the program type"
            continue
        chosen[name] = (prog, int(kind))
    return chosen, skipped


def _target(target_btf: Btf | None) -> Btf:
    if target_btf is not None:
        return target_btf
    from ebpy.btf.parse import VMLINUX_PATH, load_vmlinux

    try:
        return load_vmlinux()
    except BtfError as exc:
        raise NotSupportedError(
            "CO-RE relocation",
            f"no kernel BTF here ({VMLINUX_PATH}: {exc.reason}); pass target_btf=",
        ) from None


def _slots(insns: Sequence[Instruction]) -> list[int]:
    out, pc = [], 0
    for insn in insns:
        out.append(pc)
        pc += insn.width
    return out


def _relocated(
    prog: ProgramSpec, local: Btf | None, relocator: Callable[[], Relocator]
) -> tuple[tuple[Instruction, ...], tuple[CoreResult, ...], tuple[tuple[int, ExternRef], ...]]:
    insns = prog.instructions
    externs = tuple((e.insn, e) for e in prog.externs)
    if not prog.core_relos:
        return insns, (), externs
    if local is None:
        raise ElfError(f"program {prog.name!r} has CO-RE relocations but no .BTF", prog.section)
    before = _slots(insns)
    new, results = relocator().relocate(
        insns, prog.core_relos, strict=False, section=prog.section, prog=prog.name
    )
    # a poisoned lddw becomes two instructions: find externs again by slot
    index = {slot: i for i, slot in enumerate(_slots(new))}
    moved = tuple((index[before[i]], e) for i, e in externs if before[i] in index)
    return tuple(new), tuple(results), moved


def _validate(prog: ProgramSpec, insns: Sequence[Instruction]) -> None:
    """``DecodeError`` for the first instruction no machine would take (a damaged file)."""
    for pc, insn in enumerate(insns):
        reason = validate(insn)
        if reason is not None:
            raise DecodeError(f"program {prog.name!r}: {reason}", pc)


def prepare(
    spec: ObjectSpec,
    *,
    ncpus: int = 1,
    target_btf: Btf | None = None,
    kconfig: Mapping[str, KconfigValue] | None = None,
    programs: Iterable[str] | None = None,
    prog_types: Mapping[str, int] | None = None,
) -> PreparedObject:
    """Decide what loading ``spec`` means here (see the module docstring).

    ``ncpus`` sizes perf event arrays; ``programs`` names the programs to load
    (default: all); ``prog_types`` gives types by program name.
    """
    maps = tuple(_sized(m, ncpus) for m in spec.maps.values())
    data = _initial_data(spec, maps, kconfig)
    chosen, skipped = _choose(spec, programs, dict(prog_types or {}))
    cache: list[Relocator] = []

    def relocator() -> Relocator:
        if not cache:
            assert spec.btf is not None
            cache.append(Relocator(spec.btf, _target(target_btf)))
        return cache[0]

    prepared = {}
    for name, (prog, kind) in chosen.items():
        insns, core, externs = _relocated(prog, spec.btf, relocator)
        _validate(prog, insns)
        prepared[name] = PreparedProgram(prog, kind, insns, core, externs)
    return PreparedObject(spec, maps, data, prepared, skipped)


MapRef = Callable[[int, int, int, Instruction], tuple[int, int]]
"""``(src, map index, offset, insn) -> (new src, new 64-bit imm)`` for one map ``lddw``."""


def relink(insns: Sequence[Instruction], ref: MapRef, nmaps: int) -> list[Instruction]:
    """``insns`` with every ``lddw`` of a map (by index) rewritten by ``ref``.

    An index past the ``nmaps`` maps raises ``ElfError``.
    """
    out = []
    for pc, insn in enumerate(insns):
        if insn.is_lddw and insn.src in _MAP_SRCS:
            index, offset = insn.imm & 0xFFFFFFFF, insn.imm >> 32
            if index >= nmaps:
                raise ElfError(f"insn {pc}: lddw names map index {index} of {nmaps}")
            src, imm = ref(insn.src, index, offset, insn)
            insn = insn.replace(src=src, imm=imm)
        out.append(insn)
    return out
