"""BPF_PROG_TYPE_RAW_TRACEPOINT: the context is the tracepoint's raw arguments, ``u64 args[]``.

A raw tracepoint program sees the arguments of the kernel's tracepoint
function as an array of u64 (``struct bpf_raw_tracepoint_args``), at most 12
of them. It may only read them, with aligned loads of any size
(``bpf_tracing_ctx_access``; older kernels wanted whole u64s, this kernel
lets narrow loads through, and ebpy follows it). Its helpers are ``raw_tp_prog_func_proto``'s
(the tracing helpers, ``perf_event_output``, the stack helpers and
``get_attach_cookie``).

The kernel's ``BPF_PROG_TEST_RUN`` runs these programs with ``ctx_in`` as the
arguments (and refuses ``data_in`` and a ``ctx_in`` over 96 bytes): ebpy
does the same; the context holds exactly the
arguments given, so reading past them stops the program
(``MemoryAccessError``) where the kernel would refuse the run (``EINVAL``).
``raw_tp_args(1, 2, 3)`` packs arguments by position, ``raw_tp_ctx("sys_enter",
id=257)`` by name for the tracepoints in ``RAW_TP_PROTOS``. This module is
not the attaching of programs.
"""

from __future__ import annotations

import errno
import struct
from typing import ClassVar

from ebpy.errors import InputError, TestRunError
from ebpy.isa._intmath import M64
from ebpy.memory import AddressSpace, RegionKind
from ebpy.progtypes.base import CtxField, ProgTypeInfo, RunState, TestRunOutput, register
from ebpy.progtypes.kprobe import TRACING_HELPERS
from ebpy.uapi import HelperId, ProgType

MAX_BPF_FUNC_ARGS = 12
"""Arguments a raw tracepoint context holds at most."""

RAW_TP_HELPERS = TRACING_HELPERS | {
    HelperId.PERF_EVENT_OUTPUT,
    HelperId.GET_STACKID,
    HelperId.GET_STACK,
    HelperId.GET_ATTACH_COOKIE,
}
"""``raw_tp_prog_func_proto``."""


RAW_TP_PROTOS: dict[str, tuple[str, ...]] = {
    "sys_enter": ("regs", "id"),
    "sys_exit": ("regs", "ret"),
    "sched_switch": ("preempt", "prev", "next", "prev_state"),
    "sched_wakeup": ("p",),
    "sched_wakeup_new": ("p",),
    "sched_waking": ("p",),
    "sched_process_exec": ("p", "old_pid", "bprm"),
    "sched_process_fork": ("parent", "child"),
    "task_newtask": ("task", "clone_flags"),
    "task_rename": ("task", "comm"),
    "cpu_idle": ("state", "cpu_id"),
    "netif_receive_skb": ("skb",),
    "block_rq_issue": ("rq",),
}
"""Argument names of some tracepoints (their ``TP_PROTO``), in order."""


def raw_tp_args(*args: int) -> bytes:
    """Arguments as a raw tracepoint's ``ctx_in``.

    >>> raw_tp_args(1, -1).hex()
    '0100000000000000ffffffffffffffff'
    """
    if len(args) > MAX_BPF_FUNC_ARGS:
        raise InputError(f"a raw tracepoint has at most {MAX_BPF_FUNC_ARGS} arguments")
    for a in args:
        if isinstance(a, bool) or not isinstance(a, int) or not -(1 << 63) <= a <= M64:
            raise InputError(f"argument {a!r} is not a 64-bit value")
    return struct.pack(f"<{len(args)}Q", *(a & M64 for a in args))


def raw_tp_ctx(tracepoint: str, **args: int) -> bytes:
    """The ``ctx_in`` of a known tracepoint, arguments by name (missing ones 0).

    Pointer arguments (``regs``, ``p`` ...) are addresses in the run's memory,
    e.g. of a ``PtRegs`` mapped with ``rt.memory.map``.

    >>> raw_tp_ctx("sys_enter", id=257).hex()
    '00000000000000000101000000000000'
    """
    names = RAW_TP_PROTOS.get(tracepoint)
    if names is None:
        raise InputError(f"unknown raw tracepoint {tracepoint!r}; use raw_tp_args()")
    unknown = set(args) - set(names)
    if unknown:
        raise InputError(f"{tracepoint} has no argument {sorted(unknown)[0]!r}")
    return raw_tp_args(*(args.get(n, 0) for n in names))


def unpack_args(ctx: bytes) -> list[int]:
    """The u64 arguments in a raw tracepoint context (a partial last one is ignored).

    >>> unpack_args(raw_tp_args(7, 8))
    [7, 8]
    """
    n = min(len(ctx) // 8, MAX_BPF_FUNC_ARGS)
    return list(struct.unpack_from(f"<{n}Q", ctx))


@register
class RawTracepointInfo(ProgTypeInfo):
    """BPF_PROG_TYPE_RAW_TRACEPOINT."""

    prog_type: ClassVar[ProgType] = ProgType.RAW_TRACEPOINT
    name: ClassVar[str] = "raw_tracepoint"
    ctx_size: ClassVar[int] = 8 * MAX_BPF_FUNC_ARGS
    fields: ClassVar[tuple[CtxField, ...]] = tuple(
        CtxField(f"args[{k}]", 8 * k, 8) for k in range(MAX_BPF_FUNC_ARGS)
    )
    helpers: ClassVar[frozenset[int]] = frozenset(RAW_TP_HELPERS)

    def new_state(self, memory: AddressSpace, ctx_in: bytes | None) -> RunState:
        """The context holds exactly the arguments in ``ctx_in``."""
        data = bytes(ctx_in or b"")
        if len(data) > self.ctx_size:
            raise TestRunError(errno.EINVAL, "ctx_in holds at most 12 u64 arguments")
        region = memory.map(RegionKind.CONTEXT, bytearray(data), share=True, name="ctx")
        return RunState(self, memory, region)

    def prepare(
        self, memory: AddressSpace, data_in: bytes | None, ctx_in: bytes | None
    ) -> RunState:
        """The kernel refuses ``data_in`` for raw tracepoints."""
        if data_in:
            raise TestRunError(errno.EINVAL, "raw tracepoint test runs take no data_in")
        return self.new_state(memory, ctx_in)

    def finish(self, state: RunState, retval: int) -> TestRunOutput:
        return TestRunOutput(b"", bytes(state.ctx))
