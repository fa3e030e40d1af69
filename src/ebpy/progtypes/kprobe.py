"""BPF_PROG_TYPE_KPROBE: the context is x86-64 ``struct pt_regs``, read-only.

``struct pt_regs`` is 21 u64 registers (168 bytes) in the kernel's order:
r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax,
ip, cs, flags, sp, ss. A kprobe program may read it at any aligned offset
with any size (``kprobe_prog_is_valid_access``) and never write it. Its
helpers are the kernel's ``kprobe_prog_func_proto`` list (the tracing helpers,
``perf_event_output``, stacks, ``override_return``, ``get_func_ip``,
``get_attach_cookie``); spin locks are left out, as the verifier refuses them
to tracing programs.

``PtRegs`` builds a context for a test run: the function's arguments by
position (PARM1..PARM6 are di, si, dx, cx, r8, r9, the x86-64 calling
convention), its return value (ax, for kretprobes), ``ip``, ``sp`` or any
register by name::

    ctx = PtRegs.call(3, 0x7FFF0000, ip=0xFFFFFFFF81000000).pack()
    Vm(prog, prog_type="kprobe").test_run(ctx_in=ctx)

The kernel's ``BPF_PROG_TEST_RUN`` does not run kprobe programs
(``-ENOTSUPP``); ebpy runs them in userspace with ``ctx_in`` as the
registers (``ctx_in`` may be shorter: the rest is zero). This module is the
context and its rules, not the attaching of probes.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from ebpy.errors import InputError
from ebpy.isa._intmath import M64
from ebpy.progtypes.base import CtxField, ProgTypeInfo, register
from ebpy.uapi import HelperId, ProgType

PT_REGS_NAMES = (
    "r15",
    "r14",
    "r13",
    "r12",
    "bp",
    "bx",
    "r11",
    "r10",
    "r9",
    "r8",
    "ax",
    "cx",
    "dx",
    "si",
    "di",
    "orig_ax",
    "ip",
    "cs",
    "flags",
    "sp",
    "ss",
)
"""The registers of x86-64 ``struct pt_regs``, in memory order (8 bytes each)."""

PT_REGS_SIZE = 8 * len(PT_REGS_NAMES)
PARM_REGS = ("di", "si", "dx", "cx", "r8", "r9")
"""Where PARM1..PARM6 live (``PT_REGS_PARM1`` ... on x86-64)."""
RC_REG = "ax"
"""Where a function's return value lives (``PT_REGS_RC``)."""

_H = HelperId
BASE_HELPERS = frozenset(
    {
        _H.MAP_LOOKUP_ELEM,
        _H.MAP_UPDATE_ELEM,
        _H.MAP_DELETE_ELEM,
        _H.MAP_PUSH_ELEM,
        _H.MAP_POP_ELEM,
        _H.MAP_PEEK_ELEM,
        _H.MAP_LOOKUP_PERCPU_ELEM,
        _H.GET_PRANDOM_U32,
        _H.GET_SMP_PROCESSOR_ID,
        _H.GET_NUMA_NODE_ID,
        _H.TAIL_CALL,
        _H.KTIME_GET_NS,
        _H.KTIME_GET_BOOT_NS,
        _H.KTIME_GET_TAI_NS,
        _H.JIFFIES64,
        _H.RINGBUF_OUTPUT,
        _H.RINGBUF_RESERVE,
        _H.RINGBUF_SUBMIT,
        _H.RINGBUF_DISCARD,
        _H.RINGBUF_QUERY,
        _H.FOR_EACH_MAP_ELEM,
        _H.LOOP,
        _H.STRNCMP,
        _H.STRTOL,
        _H.STRTOUL,
        _H.TIMER_INIT,
        _H.TIMER_SET_CALLBACK,
        _H.TIMER_START,
        _H.TIMER_CANCEL,
        _H.KPTR_XCHG,
        _H.PER_CPU_PTR,
        _H.THIS_CPU_PTR,
        _H.DYNPTR_FROM_MEM,
        _H.DYNPTR_READ,
        _H.DYNPTR_WRITE,
        _H.DYNPTR_DATA,
        _H.USER_RINGBUF_DRAIN,
        _H.RINGBUF_RESERVE_DYNPTR,
        _H.RINGBUF_SUBMIT_DYNPTR,
        _H.RINGBUF_DISCARD_DYNPTR,
    }
)
"""``bpf_base_func_proto`` for a privileged tracing program: without the spin locks
(the verifier refuses maps with a lock to tracing programs) and without
``ktime_get_coarse_ns`` (refused to tracing programs)."""

TRACING_HELPERS = BASE_HELPERS | {
    _H.PROBE_READ,
    _H.PROBE_READ_STR,
    _H.PROBE_READ_USER,
    _H.PROBE_READ_KERNEL,
    _H.PROBE_READ_USER_STR,
    _H.PROBE_READ_KERNEL_STR,
    _H.PROBE_WRITE_USER,
    _H.GET_CURRENT_PID_TGID,
    _H.GET_CURRENT_UID_GID,
    _H.GET_CURRENT_COMM,
    _H.GET_CURRENT_TASK,
    _H.GET_CURRENT_TASK_BTF,
    _H.TASK_PT_REGS,
    _H.GET_CURRENT_CGROUP_ID,
    _H.GET_CURRENT_ANCESTOR_CGROUP_ID,
    _H.CURRENT_TASK_UNDER_CGROUP,
    _H.GET_CGROUP_CLASSID,
    _H.GET_NS_CURRENT_PID_TGID,
    _H.TRACE_PRINTK,
    _H.TRACE_VPRINTK,
    _H.SNPRINTF,
    _H.SNPRINTF_BTF,
    _H.PERF_EVENT_READ,
    _H.PERF_EVENT_READ_VALUE,
    _H.SEND_SIGNAL,
    _H.SEND_SIGNAL_THREAD,
    _H.GET_TASK_STACK,
    _H.COPY_FROM_USER,
    _H.COPY_FROM_USER_TASK,
    _H.TASK_STORAGE_GET,
    _H.TASK_STORAGE_DELETE,
    _H.GET_FUNC_IP,
    _H.GET_BRANCH_SNAPSHOT,
    _H.FIND_VMA,
}
"""``bpf_tracing_func_proto``: what every tracing program type may call
(``probe_write_user`` only where the kernel is not locked down)."""

KPROBE_HELPERS = TRACING_HELPERS | {
    _H.PERF_EVENT_OUTPUT,
    _H.GET_STACKID,
    _H.GET_STACK,
    _H.OVERRIDE_RETURN,
    _H.GET_ATTACH_COOKIE,
}
"""``kprobe_prog_func_proto`` (``override_return`` needs CONFIG_BPF_KPROBE_OVERRIDE)."""


def pt_regs_fields(base: int = 0, narrow: bool = True) -> tuple[CtxField, ...]:
    """The registers as read-only context fields starting at ``base``."""
    return tuple(
        CtxField(name, base + 8 * k, 8, read=True, write=False, narrow=narrow)
        for k, name in enumerate(PT_REGS_NAMES)
    )


@dataclass
class PtRegs:
    """x86-64 ``struct pt_regs`` values by register name (missing ones are 0).

    >>> regs = PtRegs.call(1, 2, ip=0x1000)
    >>> regs.parm(2), regs["ip"], len(regs.pack())
    (2, 4096, 168)
    """

    regs: dict[str, int] = field(default_factory=dict)

    @classmethod
    def call(cls, *args: int, ret: int | None = None, **regs: int) -> PtRegs:
        """Registers at a function entry: ``args`` as PARM1.. (at most 6), ``ret`` in ax."""
        if len(args) > len(PARM_REGS):
            raise InputError(f"x86-64 passes at most {len(PARM_REGS)} arguments in registers")
        out = cls()
        for name, value in zip(PARM_REGS, args, strict=False):
            out[name] = value
        if ret is not None:
            out[RC_REG] = ret
        for name, value in regs.items():
            out[name] = value
        return out

    def __getitem__(self, name: str) -> int:
        _check_name(name)
        return self.regs.get(name, 0)

    def __setitem__(self, name: str, value: int) -> None:
        _check_name(name)
        if not isinstance(value, int) or not -(1 << 63) <= value <= M64:
            raise InputError(f"register {name}: {value!r} is not a 64-bit value")
        self.regs[name] = value & M64

    def parm(self, n: int) -> int:
        """PARMn, 1-based."""
        if not 1 <= n <= len(PARM_REGS):
            raise InputError(f"no PARM{n} register on x86-64")
        return self[PARM_REGS[n - 1]]

    @property
    def rc(self) -> int:
        return self[RC_REG]

    def pack(self) -> bytes:
        """The 168 bytes of the struct."""
        return struct.pack("<21Q", *(self.regs.get(n, 0) for n in PT_REGS_NAMES))

    @classmethod
    def unpack(cls, data: bytes) -> PtRegs:
        """Read a struct (shorter data: the missing registers are 0)."""
        if len(data) > PT_REGS_SIZE:
            raise InputError(f"pt_regs is {PT_REGS_SIZE} bytes, got {len(data)}")
        values = struct.unpack("<21Q", bytes(data).ljust(PT_REGS_SIZE, b"\0"))
        return cls({n: v for n, v in zip(PT_REGS_NAMES, values, strict=True) if v})

    def as_dict(self) -> Mapping[str, int]:
        return {n: self.regs.get(n, 0) for n in PT_REGS_NAMES}


def _check_name(name: str) -> None:
    if name not in PT_REGS_NAMES:
        raise InputError(f"no register {name!r} in x86-64 pt_regs")


@register
class KprobeInfo(ProgTypeInfo):
    """BPF_PROG_TYPE_KPROBE."""

    prog_type: ClassVar[ProgType] = ProgType.KPROBE
    name: ClassVar[str] = "kprobe"
    ctx_size: ClassVar[int] = PT_REGS_SIZE
    fields: ClassVar[tuple[CtxField, ...]] = pt_regs_fields()
    helpers: ClassVar[frozenset[int]] = frozenset(KPROBE_HELPERS)
