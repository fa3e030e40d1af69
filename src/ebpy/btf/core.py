"""CO-RE: resolve a program's relocations against a target BTF and patch its instructions.

A BPF object compiled with CO-RE carries, per instruction that depends on a
kernel type, a relocation (``ebpy.btf.ext.CoreRelo``): a local root type, an
access string and a kind. ``relocate`` resolves each against the target BTF
(by default this machine's ``/sys/kernel/btf/vmlinux``) as libbpf does, and
patches the instruction:

1. candidates: the target's types of the same essential name and kind
   (``ebpy.btf.core_match``), kept per local type for the whole run and
   narrowed to those that matched;
2. the local spec is parsed from the access string (``ebpy.btf.core_spec``)
   and matched against every candidate; all matching candidates must agree
   on the field's bit offset and on the value, else it is an ambiguity error;
3. the value (``ebpy.btf.core_calc``) is written into the instruction: the
   immediate of an ALU/ALU64 instruction, the offset of a load or store
   (whose width may change too), the 64-bit immediate of an ``lddw``. The
   instruction must hold the local value first (except where libbpf does not
   check: bitfield offsets and type ids).

When nothing matches a field or enum value the instruction cannot be
patched: with ``strict`` (the default) that is a ``CoreError`` naming the
access string; otherwise the instruction is *poisoned* as libbpf does, by
turning it into a call to helper ``0xbad2310`` that the verifier rejects if
the code is reachable. Errors libbpf always fails on (a malformed access
string, an ambiguity, an instruction that does not hold the local value) are
``CoreError`` in both modes.

Every result carries both values, the target type id and log lines worded as
libbpf's debug log (``relo #N: <byte_off> [6] struct task_struct.pid (0:0 @
offset 0)``, ``patched insn #1 (LDX/ST/STX) off 0 -> 1264``).

This module does not read ELF or ``.BTF.ext`` (``ebpy.elf``, ``ebpy.btf.ext``)
and does not load anything into a kernel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from ebpy.btf.core_calc import ReloValue, calc
from ebpy.btf.core_match import CandidateIndex, candidate_index, match_spec
from ebpy.btf.core_spec import AccessSpec, format_spec, kind_str, parse_access
from ebpy.btf.ext import CoreRelo, CoreReloKind
from ebpy.btf.types import Btf
from ebpy.errors import BtfError, CoreError
from ebpy.isa._intmath import M32, M64, s32
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import SIZE_BYTES, Class, JmpOp, Size, Source

__all__ = ["POISON_HELPER", "CoreResult", "Relocator", "relocate", "resolve"]

POISON_HELPER = 0xBAD2310
"""The invalid helper id a poisoned instruction calls ("bad relo")."""

_POISON = Instruction(Class.JMP | JmpOp.CALL, 0, 0, 0, POISON_HELPER)


@dataclass(frozen=True)
class CoreResult:
    """One resolved relocation.

    ``insn`` is the instruction's slot index in the program; ``local_value``
    and ``target_value`` are unsigned 64-bit; ``target_type_id`` is the target
    type the relocation resolved to (0 when none matched, and for
    ``local_type_id``); ``candidates`` the ids of every matching candidate;
    ``poisoned`` says the instruction became an invalid helper call; ``log``
    holds libbpf-style debug lines.
    """

    index: int
    relo: CoreRelo
    insn: int
    local_value: int
    target_value: int
    target_type_id: int
    poisoned: bool
    local_spec: AccessSpec
    target_spec: AccessSpec | None
    candidates: tuple[int, ...]
    value: ReloValue = field(repr=False)
    log: tuple[str, ...] = ()


class _Fail(Exception):
    """A patch that must poison the instruction (after logging why)."""


@dataclass
class Relocator:
    """Resolves relocations of objects with ``local`` BTF against ``target``.

    One relocator keeps libbpf's candidate cache: share it across the
    programs of one object. ``target_name`` is shown in log lines; ``log``
    collects every line so far, those of a relocation that failed included.
    ``index`` is the target's candidate index (by default the one kept per
    target BTF, built when first needed).
    """

    local: Btf
    target: Btf
    target_name: str = "vmlinux"
    log: list[str] = field(default_factory=list)
    index: CandidateIndex | None = field(default=None, repr=False)
    _cands: dict[int, list[int]] = field(default_factory=dict, repr=False)

    def _candidates(self, local_id: int, log: list[str]) -> list[int]:
        cands = self._cands.get(local_id)
        if cands is None:
            lt = self.local[local_id]
            if self.index is None:
                self.index = candidate_index(self.target)
            found = self.index.candidates(self.local, local_id)
            for t in found:
                log.append(
                    f"CO-RE relocating [{local_id}] {kind_str(lt)} {lt.name}: found target "
                    f"candidate [{t.id}] {kind_str(t)} {t.name} in [{self.target_name}]"
                )
            cands = self._cands[local_id] = [t.id for t in found]
        return cands

    def resolve(
        self, relo: CoreRelo, *, index: int = 0, section: str = "", prog: str = ""
    ) -> CoreResult:
        """Resolve one relocation (nothing is patched); ``CoreError`` when it cannot be."""
        log: list[str] = []
        res = self._checked(relo, index, section, prog, log)
        self.log.extend(log)
        return res

    def _checked(
        self, relo: CoreRelo, index: int, section: str, prog: str, log: list[str]
    ) -> CoreResult:
        head = f"prog '{prog}': relo #{index}: " if prog else f"relo #{index}: "
        try:
            return self._resolve(relo, index, head, log)
        except (CoreError, BtfError) as exc:
            raise self._fail(exc.reason, relo, section, log, head) from None

    def _fail(
        self, reason: str, relo: CoreRelo, section: str, log: list[str], head: str
    ) -> CoreError:
        """The error for ``relo``; its log so far and the reason go to ``self.log``."""
        self.log.extend(log)
        self.log.append(head + reason)
        try:
            name = self.local[relo.type_id].name
        except BtfError:
            name = ""
        return CoreError(
            reason,
            section=section,
            insn=relo.insn_off // 8,
            kind=relo.kind.short,
            access=relo.access,
            type_name=name,
        )

    def _resolve(self, relo: CoreRelo, index: int, head: str, log: list[str]) -> CoreResult:
        is_local = relo.kind is CoreReloKind.TYPE_ID_LOCAL
        cands = [] if is_local else self._candidates(relo.type_id, log)
        spec = parse_access(self.local, relo.type_id, relo.access, relo.kind)
        log.append(head + format_spec(spec))
        best: tuple[ReloValue, AccessSpec] | None = None
        matched: list[int] = []
        for n, cand in enumerate(cands):
            ok, tspec = match_spec(spec, self.target, cand)
            log.append(
                f"{head}{'matching' if ok else 'non-matching'} candidate #{n} " + format_spec(tspec)
            )
            if not ok:
                continue
            value = calc(relo.kind, spec, tspec)
            if best is None:
                best = (value, tspec)
            elif tspec.bit_offset != best[1].bit_offset:
                raise CoreError(
                    f"field offset ambiguity: {tspec.bit_offset} != {best[1].bit_offset} "
                    f"(candidates [{cand}] and [{matched[0]}])"
                )
            elif value.poison != best[0].poison or value.target != best[0].target:
                raise CoreError(
                    f"relocation decision ambiguity: {_decision(value)} != {_decision(best[0])} "
                    f"(candidates [{cand}] and [{matched[0]}])"
                )
            matched.append(cand)
        if matched:
            self._cands[relo.type_id] = matched
        if best is None:
            if not is_local:
                log.append(head + "no matching targets found")
            value, target_spec = calc(relo.kind, spec, None), None
        else:
            value, target_spec = best
        return CoreResult(
            index=index,
            relo=relo,
            insn=relo.insn_off // 8,
            local_value=value.local,
            target_value=value.target,
            target_type_id=target_spec.root_type_id if target_spec else 0,
            poisoned=value.poison,
            local_spec=spec,
            target_spec=target_spec,
            candidates=tuple(matched),
            value=value,
            log=tuple(log),
        )

    def relocate(
        self,
        insns: Sequence[Instruction],
        relos: Sequence[CoreRelo],
        *,
        strict: bool = True,
        section: str = "",
        prog: str = "",
    ) -> tuple[list[Instruction], list[CoreResult]]:
        """Patch ``insns`` (one program; relocation offsets in bytes from its start)."""
        slots: dict[int, int] = {}
        pc = 0
        for i, insn in enumerate(insns):
            slots[pc] = i
            pc += insn.width
        out: list[list[Instruction]] = [[insn] for insn in insns]
        results: list[CoreResult] = []
        for n, relo in enumerate(relos):
            head = f"prog '{prog}': relo #{n}: " if prog else f"relo #{n}: "
            lines: list[str] = []
            slot, rem = divmod(relo.insn_off, 8)
            if rem or slot not in slots:
                where = "inside an instruction" if rem or 0 <= slot < pc else "past the end"
                reason = f"instruction offset {relo.insn_off} is {where}"
                raise self._fail(reason, relo, section, lines, head)
            res = self._checked(relo, n, section, prog, lines)
            k = slots[slot]
            poison, why = res.poisoned, "no matching target for this access"
            if not poison:
                try:
                    patched, text = _patch(out[k][0], res.value, slot)
                    out[k] = [patched]
                    lines.extend(f"{head}patched insn #{slot} {t}" for t in text)
                except _Fail as exc:
                    poison, why = True, str(exc)
                    lines.append(head + why)
                except CoreError as exc:
                    raise self._fail(exc.reason, relo, section, lines, head) from None
            if poison:
                if strict:
                    raise self._fail(why, relo, section, lines, head)
                width = out[k][0].width
                out[k] = [_POISON] * width
                lines.extend(
                    f"{head}substituting insn #{slot + w} w/ invalid insn" for w in range(width)
                )
                res = replace(res, poisoned=True)
            self.log.extend(lines)
            results.append(replace(res, log=tuple(lines)))
        return [insn for group in out for insn in group], results


def _decision(v: ReloValue) -> str:
    return f"{'failure' if v.poison else 'success'} {v.target}"


_Patched = tuple[Instruction, list[str]]


def _patch_alu(insn: Instruction, v: ReloValue, slot: int) -> _Patched:
    if insn.op & Source.X:
        raise CoreError(f"insn #{slot} (ALU/ALU64) has a register source, no immediate")
    got = insn.imm & M64
    if v.validate and got != v.local:
        raise CoreError(
            f"unexpected insn #{slot} (ALU/ALU64) value: got {insn.imm & M32}, "
            f"exp {v.local} -> {v.target}"
        )
    return insn.replace(imm=s32(v.target)), [f"(ALU/ALU64) imm {got} -> {v.target}"]


def _patch_mem(insn: Instruction, v: ReloValue, slot: int) -> _Patched:
    got = insn.off & M64
    if v.validate and got != v.local:
        raise CoreError(
            f"unexpected insn #{slot} (LDX/ST/STX) value: got {insn.off & M32}, "
            f"exp {v.local} -> {v.target}"
        )
    if v.target > 0x7FFF:
        raise CoreError(f"insn #{slot} (LDX/ST/STX) value too big: {v.target}")
    if not v.resize_ok:
        raise _Fail(
            f"insn #{slot} (LDX/ST/STX) accesses field incorrectly: a {v.local_size}-byte "
            f"field is {v.target_size} bytes in the target and is neither a pointer nor "
            "unsigned"
        )
    text = [f"(LDX/ST/STX) off {got} -> {v.target}"]
    patched = insn.replace(off=v.target)
    if v.local_size != v.target_size:
        have = SIZE_BYTES[Size(insn.op & 0x18)]
        if have != v.local_size:
            raise CoreError(
                f"insn #{slot} (LDX/ST/STX) unexpected mem size: got {have}, exp {v.local_size}"
            )
        if v.target_size not in SIZE_BYTES.values():
            raise CoreError(f"insn #{slot} (LDX/ST/STX) invalid new mem size: {v.target_size}")
        patched = patched.replace(op=(insn.op & ~0x18) | Size.from_bytes(v.target_size))
        text.append(f"(LDX/ST/STX) mem_sz {v.local_size} -> {v.target_size}")
    return patched, text


def _patch_ld(insn: Instruction, v: ReloValue, slot: int) -> _Patched:
    if not insn.is_lddw or insn.src != 0 or insn.off != 0:
        raise CoreError(f"insn #{slot} (LDIMM64) has unexpected form")
    got = insn.imm & M64
    if v.validate and got != v.local:
        raise CoreError(
            f"unexpected insn #{slot} (LDIMM64) value: got {got}, exp {v.local} -> {v.target}"
        )
    return insn.replace(imm=v.target & M64), [f"(LDIMM64) imm64 {got} -> {v.target}"]


_PATCHERS: dict[Class, Callable[[Instruction, ReloValue, int], _Patched]] = {
    Class.ALU: _patch_alu,
    Class.ALU64: _patch_alu,
    Class.LDX: _patch_mem,
    Class.ST: _patch_mem,
    Class.STX: _patch_mem,
    Class.LD: _patch_ld,
}
"""How each instruction class takes a relocated value."""


def _patch(insn: Instruction, v: ReloValue, slot: int) -> _Patched:
    patcher = _PATCHERS.get(insn.cls)
    if patcher is None:
        raise CoreError(
            f"trying to relocate unrecognized insn #{slot}, code:{insn.op:#x}, "
            f"src:{insn.src:#x}, dst:{insn.dst:#x}, off:{insn.off & 0xFFFF:#x}, "
            f"imm:{insn.imm & M32:#x}"
        )
    return patcher(insn, v, slot)


def _default_target(target: Btf | None) -> Btf:
    if target is not None:
        return target
    from ebpy.btf.parse import load_vmlinux

    return load_vmlinux()


def resolve(relo: CoreRelo, local: Btf, target: Btf | None = None) -> CoreResult:
    """Resolve one relocation against ``target`` (default: this machine's vmlinux)."""
    return Relocator(local, _default_target(target)).resolve(relo)


def relocate(
    insns: Sequence[Instruction],
    relos: Sequence[CoreRelo],
    local: Btf,
    target: Btf | None = None,
    *,
    strict: bool = True,
    section: str = "",
    prog: str = "",
) -> tuple[list[Instruction], list[CoreResult]]:
    """Resolve ``relos`` of one program and patch its instructions.

    ``target`` defaults to this machine's vmlinux BTF. Returns the new
    instructions (a poisoned ``lddw`` becomes two helper calls, so slot
    offsets stay) and one ``CoreResult`` per relocation.

    >>> from ebpy.btf.types import Int, Member, Struct
    >>> from ebpy.isa.builder import LDX, EXIT, R0, R1
    >>> from ebpy.isa.opcodes import Size
    >>> i = Int(1, "int", size=4, encoding=1, bits=32)
    >>> local = Btf([i, Struct(2, "task", 8, (Member("a", 1, 0), Member("pid", 1, 32)))])
    >>> target = Btf([i, Struct(2, "task", 16, (Member("pid", 1, 96),))])
    >>> relo = CoreRelo(0, 2, "0:1", CoreReloKind.FIELD_BYTE_OFFSET)
    >>> new, res = relocate([LDX(Size.W, R0, R1, 4), EXIT()], [relo], local, target)
    >>> str(new[0]), res[0].local_value, res[0].target_value, res[0].target_type_id
    ('r0 = *(u32 *)(r1 + 12)', 4, 12, 2)
    """
    relocator = Relocator(local, _default_target(target))
    return relocator.relocate(insns, relos, strict=strict, section=section, prog=prog)
