"""Kernel symbols and object BTF for the kernel: ``ebpy.kernel.ksyms`` and ``ebpy.kernel.btf``.

Without the kernel: extern references become BTF ids (kfuncs, typed
``__ksym`` variables), weak ones that vmlinux lacks become 0 or a poisoned
call, strong ones a ``NotSupportedError``; attach targets are found by the
rule of their attach type; the BTF handed to the kernel is sanitized as
libbpf does and carries the line-info strings. With the kernel
(``kernel``-marked): every object of the corpus has BTF the kernel takes,
and broken BTF is refused with the kernel's log.
"""

from __future__ import annotations

import os

import pytest

from ebpy.btf.parse import load_vmlinux, parse_btf, string_table
from ebpy.btf.types import (
    Btf,
    Datasec,
    Func,
    FuncProto,
    Int,
    Linkage,
    Param,
    Typedef,
    Var,
    VarSecinfo,
)
from ebpy.elf.loader import load_file
from ebpy.errors import KernelError, NotSupportedError
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import LDDW, CallSrc, Class, JmpOp, PseudoSrc
from ebpy.kernel.btf import KernelBtf, kernel_btf_bytes, sanitize
from ebpy.kernel.ksyms import POISON_KFUNC_BASE, attach_btf_id, resolve_externs
from ebpy.spec import ExternRef
from ebpy.uapi import AttachType
from tests.testdata_checks.corpus import BPF_DIR

CALL = Class.JMP | JmpOp.CALL
INT = Int(1, "int", size=4, encoding=Int.SIGNED, bits=32)
VMLINUX = Btf(
    [
        INT,
        FuncProto(2, "", type_id=1, params=(Param("x", 1),)),
        Func(3, "bpf_real_kfunc", type_id=2, linkage=Linkage.GLOBAL),
        Var(4, "real_var", type_id=1, linkage=Linkage.GLOBAL),
        Typedef(5, "btf_trace_my_event", type_id=2),
        Func(6, "bpf_lsm_file_open", type_id=2, linkage=Linkage.GLOBAL),
    ]
)


def test_externs_resolve_to_vmlinux_ids() -> None:
    insns = [
        Instruction(CALL, 0, CallSrc.KFUNC, 0, -1),
        Instruction(LDDW, 1, PseudoSrc.BTF_ID, 0, 0),
        Instruction(CALL, 0, CallSrc.KFUNC, 0, -1),
        Instruction(LDDW, 2, PseudoSrc.BTF_ID, 0, 0),
    ]
    refs = [
        (0, ExternRef(0, "bpf_real_kfunc", "kfunc")),
        (1, ExternRef(1, "real_var", "ksym")),
        (2, ExternRef(2, "bpf_gone", "kfunc", weak=True)),
        (3, ExternRef(3, "gone_var", "ksym", weak=True)),
    ]
    out = resolve_externs(insns, refs, VMLINUX)
    assert (out[0].src, out[0].imm) == (CallSrc.KFUNC, 3)
    assert (out[1].src, out[1].imm) == (PseudoSrc.BTF_ID, 4)
    assert (out[2].src, out[2].imm) == (0, POISON_KFUNC_BASE + 2)
    assert (out[3].src, out[3].imm) == (PseudoSrc.IMM, 0)
    for strong in (ExternRef(0, "bpf_gone", "kfunc"), ExternRef(1, "gone_var", "ksym")):
        with pytest.raises(NotSupportedError):
            resolve_externs(insns, [(strong.insn, strong)], VMLINUX)


def test_attach_targets_follow_their_attach_type() -> None:
    assert attach_btf_id(AttachType.TRACE_RAW_TP, "my_event", VMLINUX) == 5
    assert attach_btf_id(AttachType.LSM_MAC, "file_open", VMLINUX) == 6
    assert attach_btf_id(AttachType.TRACE_FENTRY, "bpf_real_kfunc", VMLINUX) == 3
    assert attach_btf_id(AttachType.XDP, "anything", VMLINUX) == 0
    assert attach_btf_id(None, "", VMLINUX) == 0
    with pytest.raises(NotSupportedError):
        attach_btf_id(AttachType.TRACE_FEXIT, "no_such_function", VMLINUX)


@pytest.mark.skipif(not os.path.exists("/sys/kernel/btf/vmlinux"), reason="no vmlinux BTF")
def test_attach_targets_in_this_kernel() -> None:
    vmlinux = load_vmlinux()
    assert attach_btf_id(AttachType.TRACE_FENTRY, "vfs_read", vmlinux) > 0
    assert attach_btf_id(AttachType.TRACE_RAW_TP, "sched_switch", vmlinux) > 0
    assert attach_btf_id(AttachType.TRACE_ITER, "task", vmlinux) > 0


def test_sanitize_makes_externs_global_and_lays_out_ksyms() -> None:
    btf = Btf(
        [
            INT,
            FuncProto(2, "", type_id=1, params=(Param("", 1), Param("", 1))),
            Func(3, "bpf_kf", type_id=2, linkage=Linkage.EXTERN),
            Var(4, "some_ksym", type_id=1, linkage=Linkage.EXTERN),
            Datasec(5, ".ksyms", size=0, vars=(VarSecinfo(3, 0, 0), VarSecinfo(4, 0, 4))),
        ]
    )
    s = sanitize(btf)
    func, proto, var, sec = s[3], s[2], s[4], s[5]
    assert isinstance(func, Func) and func.linkage == Linkage.GLOBAL
    assert isinstance(proto, FuncProto) and all(p.name for p in proto.params)
    assert isinstance(var, Var) and var.linkage == Linkage.GLOBAL
    assert isinstance(sec, Datasec) and sec.size == 8
    assert [(v.offset, v.size) for v in sec.vars] == [(0, 4), (4, 4)]
    dummy = s[sec.vars[0].type_id]
    assert isinstance(dummy, Var) and dummy.type_id == 1
    assert sanitize(Btf([INT])).types == [INT]


def test_line_strings_are_added_to_the_string_section() -> None:
    data, offsets = kernel_btf_bytes(Btf([INT]), ["a.c", "int x = 1;", "int"])
    strings = string_table(parse_btf(data))
    for text in ("a.c", "int x = 1;", "int"):
        assert strings[offsets[text]] == text


@pytest.mark.kernel
@pytest.mark.parametrize("path", sorted(BPF_DIR.glob("*.o")), ids=lambda p: p.stem)
def test_the_kernel_takes_every_object_btf(path: os.PathLike[str]) -> None:
    spec = load_file(str(path))
    assert spec.btf is not None
    with KernelBtf.load(spec.btf, strings=["x.c"]) as kbtf:
        assert kbtf.string_offset("x.c") > 0


@pytest.mark.kernel
def test_broken_btf_is_refused_with_the_log() -> None:
    bad = Btf([INT, Var(2, "v", type_id=99, linkage=Linkage.GLOBAL)])
    with pytest.raises(KernelError) as err:
        KernelBtf.load(bad)
    assert err.value.cmd == "BPF_BTF_LOAD"
    assert err.value.log
