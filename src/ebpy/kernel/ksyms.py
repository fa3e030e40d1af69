"""Kernel symbols a program needs when it loads: attach targets, kfuncs and ``__ksym`` variables.

Programs attached through BPF trampolines or BTF tracepoints name their target
by BTF id (``attach_btf_id``): ``attach_btf_id(expected_attach_type, target,
vmlinux)`` finds it in the kernel's BTF the way libbpf does, one rule per
attach type (``ATTACH_TARGETS``): ``fentry``/``fexit``/``fmod_ret`` name a
function, ``tp_btf`` the typedef ``btf_trace_<event>``, ``lsm`` the function
``bpf_lsm_<hook>``, ``iter`` the function ``bpf_iter_<target>``.

``resolve_externs`` patches the instructions that use kernel symbols
(``ebpy.spec.ExternRef``): a kfunc call gets the BTF id of the vmlinux
function; an ``lddw`` of a typed ``__ksym`` variable the BTF id of the vmlinux
variable, of a typeless one (``void``) its address from ``/proc/kallsyms``.
An unresolved ``__weak`` symbol becomes 0 (a variable) or a call that the
verifier rejects only if it is reachable (a kfunc, as libbpf poisons it); an
unresolved strong one raises ``NotSupportedError``. Symbols of kernel modules
are not searched. This module does not load programs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ebpy.btf.types import Btf, Datasec, Kind, Var
from ebpy.errors import NotSupportedError
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import CallSrc, Class, JmpOp, PseudoSrc
from ebpy.spec import ExternRef
from ebpy.uapi import AttachType

__all__ = [
    "ATTACH_TARGETS",
    "POISON_KFUNC_BASE",
    "AttachTarget",
    "attach_btf_id",
    "kallsyms_address",
    "resolve_externs",
]

POISON_KFUNC_BASE = 2002000000
"""Helper ids ``base + n`` stand for unresolved weak kfunc ``n`` (libbpf's convention)."""


@dataclass(frozen=True, slots=True)
class AttachTarget:
    """How an attach type names its target in vmlinux BTF: ``prefix + target`` of ``kind``."""

    prefix: str
    kind: Kind


ATTACH_TARGETS: dict[AttachType, AttachTarget] = {
    AttachType.TRACE_FENTRY: AttachTarget("", Kind.FUNC),
    AttachType.TRACE_FEXIT: AttachTarget("", Kind.FUNC),
    AttachType.MODIFY_RETURN: AttachTarget("", Kind.FUNC),
    AttachType.TRACE_RAW_TP: AttachTarget("btf_trace_", Kind.TYPEDEF),
    AttachType.LSM_MAC: AttachTarget("bpf_lsm_", Kind.FUNC),
    AttachType.LSM_CGROUP: AttachTarget("bpf_lsm_", Kind.FUNC),
    AttachType.TRACE_ITER: AttachTarget("bpf_iter_", Kind.FUNC),
}
"""The attach types that load with an ``attach_btf_id``, and how to find it."""


def attach_btf_id(expected_attach_type: int | None, target: str, vmlinux: Btf) -> int:
    """The ``attach_btf_id`` for ``target`` (0 when the attach type needs none).

    ``NotSupportedError`` when vmlinux has no such function or event.
    """
    try:
        rule = ATTACH_TARGETS.get(AttachType(expected_attach_type or 0))
    except ValueError:
        rule = None
    if rule is None:
        return 0
    name = rule.prefix + target.split(":")[-1]
    found = vmlinux.find(name, rule.kind)
    if not found:
        raise NotSupportedError(
            f"attach target {target!r}", f"vmlinux BTF has no {rule.kind.name} named {name!r}"
        )
    return found[0].id


def kallsyms_address(name: str, path: str = "/proc/kallsyms") -> int | None:
    """The address of kernel symbol ``name`` (None when absent, or hidden as 0)."""
    want = name.encode()
    try:
        with open(path, "rb") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[2] == want:
                    addr = int(parts[0], 16)
                    return addr or None
    except OSError:
        return None
    return None


def _typeless(local: Btf | None, name: str) -> bool:
    """Is ``name`` a ``__ksym`` variable of type ``void`` in the object's BTF?"""
    if local is None:
        return False
    for sec in local.find(".ksyms", Kind.DATASEC):
        assert isinstance(sec, Datasec)
        for v in sec.vars:
            var = local[v.type_id]
            if isinstance(var, Var) and var.name == name:
                return local.resolve(var.type_id).kind == Kind.UNKN
    return False


def _missing(ext: ExternRef, where: str) -> NotSupportedError:
    return NotSupportedError(
        f"kernel symbol {ext.name!r} ({ext.kind})", f"{where} has no such symbol"
    )


def resolve_externs(
    insns: Sequence[Instruction],
    externs: Sequence[tuple[int, ExternRef]],
    vmlinux: Btf,
    local: Btf | None = None,
) -> list[Instruction]:
    """``insns`` with each extern reference (index, ref) resolved against ``vmlinux``."""
    out = list(insns)
    for n, (i, ext) in enumerate(externs):
        insn = out[i]
        if ext.kind == "kfunc":
            found = vmlinux.find(ext.name, Kind.FUNC)
            if found:
                out[i] = insn.replace(src=CallSrc.KFUNC, imm=found[0].id, off=0)
            elif ext.weak:
                out[i] = Instruction(Class.JMP | JmpOp.CALL, 0, 0, 0, POISON_KFUNC_BASE + n)
            else:
                raise _missing(ext, "vmlinux BTF")
            continue
        if _typeless(local, ext.name):
            addr = kallsyms_address(ext.name)
            if addr is None and not ext.weak:
                raise _missing(ext, "/proc/kallsyms")
            out[i] = insn.replace(src=PseudoSrc.IMM, imm=addr or 0)
            continue
        found = vmlinux.find(ext.name, Kind.VAR)
        if found:
            out[i] = insn.replace(src=PseudoSrc.BTF_ID, imm=found[0].id)
        elif ext.weak:
            out[i] = insn.replace(src=PseudoSrc.IMM, imm=0)
        else:
            raise _missing(ext, "vmlinux BTF")
    return out
