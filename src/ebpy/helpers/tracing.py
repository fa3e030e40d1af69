"""Tracing helpers: probe_read*, get_current_*, trace_vprintk, and the trace pipe.

``bpf_probe_read_kernel``, ``bpf_probe_read_user``, their ``_str`` variants
and the older ``bpf_probe_read``/``bpf_probe_read_str`` read any mapped region
of the run's memory (``env.memory``): userspace has one address space, so
"kernel" and "user" memory are whatever the caller maps. To let a program
probe some data, map it and hand the address over (in a context field, a map
value or a register)::

    rt = vm.new_runtime()
    addr = rt.memory.map(RegionKind.MEMORY, b"/etc/passwd\\0", writable=False).base

As in the kernel, a read that faults zero-fills the destination and returns
``-EFAULT``; the kernel variants return ``-ERANGE`` for addresses in the
first page (x86-64 refuses user addresses there, and NULL is one). The
``_str`` variants copy up to the NUL, cut at ``size - 1`` bytes, always
NUL-terminate and return the length with the NUL. ``get_current_*`` report
``env.task``.

``bpf_trace_printk`` (in ``basic``) and ``bpf_trace_vprintk`` write one event
each to ``env.trace`` and remember when and where it happened;
``trace_pipe(rt)`` renders the events as ``/sys/kernel/tracing/trace_pipe``
shows them. The formatting itself is ``ebpy.helpers.strings``'s; this module
neither formats nor reads a real kernel's trace buffer.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from dataclasses import dataclass

from ebpy.helpers.env import Runtime
from ebpy.helpers.maps import neg
from ebpy.helpers.protos import Arg, Proto
from ebpy.helpers.registry import Helper
from ebpy.helpers.strings import (
    MAX_BPRINTF_BUF,
    MAX_BPRINTF_VARARGS,
    bprintf,
    copy_nofault,
    strncpy_nofault,
)
from ebpy.isa._intmath import M32, M64
from ebpy.uapi import HelperId

PAGE_SIZE = 4096
TASK_COMM_LEN = 16


# -- probe reads ----------------------------------------------------------------------------
def _probe_read(env: Runtime, dst: int, size: int, src: int, *, kernel: bool) -> int:
    size &= M32
    data: bytes | None = b""
    err = errno.EFAULT
    if kernel and (src & M64) < PAGE_SIZE:
        data, err = None, errno.ERANGE
    elif size:
        data = copy_nofault(env.memory, src, size)
    if data is None:
        env.memory.write(dst, bytes(size))
        return neg(err)
    env.memory.write(dst, data)
    return 0


def _probe_read_str(env: Runtime, dst: int, size: int, src: int, *, kernel: bool) -> int:
    size &= M32
    if kernel and size and (src & M64) < PAGE_SIZE:
        text, err = None, errno.ERANGE
    else:
        text, err = strncpy_nofault(env.memory, src, size), errno.EFAULT
    if text is None:
        env.memory.write(dst, bytes(size))
        return neg(err)
    env.memory.write(dst, text)
    return len(text)


def _probe_read_kernel(env: Runtime, dst: int, size: int, src: int, *_: int) -> int:
    """bpf_probe_read_kernel(dst, size, unsafe_ptr): 0 or -EFAULT/-ERANGE (dst zeroed)."""
    return _probe_read(env, dst, size, src, kernel=True)


def _probe_read_user(env: Runtime, dst: int, size: int, src: int, *_: int) -> int:
    """bpf_probe_read_user: as the kernel variant; NULL gives -EFAULT."""
    return _probe_read(env, dst, size, src, kernel=False)


def _probe_read_kernel_str(env: Runtime, dst: int, size: int, src: int, *_: int) -> int:
    """bpf_probe_read_kernel_str: length with the NUL, or -errno (dst zeroed)."""
    return _probe_read_str(env, dst, size, src, kernel=True)


def _probe_read_user_str(env: Runtime, dst: int, size: int, src: int, *_: int) -> int:
    """bpf_probe_read_user_str."""
    return _probe_read_str(env, dst, size, src, kernel=False)


def _probe_read_compat(env: Runtime, dst: int, size: int, src: int, *_: int) -> int:
    """bpf_probe_read: on x86-64 a low address is read as user memory."""
    return _probe_read(env, dst, size, src, kernel=False)


def _probe_read_compat_str(env: Runtime, dst: int, size: int, src: int, *_: int) -> int:
    """bpf_probe_read_str."""
    return _probe_read_str(env, dst, size, src, kernel=False)


# -- the current task -----------------------------------------------------------------------
def _get_current_pid_tgid(env: Runtime, *_: int) -> int:
    """``tgid << 32 | pid``."""
    return (env.task.tgid & M32) << 32 | env.task.pid & M32


def _get_current_uid_gid(env: Runtime, *_: int) -> int:
    """``gid << 32 | uid``."""
    return (env.task.gid & M32) << 32 | env.task.uid & M32


def current_comm(env: Runtime) -> bytes:
    """The task's name as the kernel keeps it: at most 15 bytes."""
    return env.task.comm.split(b"\0", 1)[0][: TASK_COMM_LEN - 1]


def _get_current_comm(env: Runtime, buf: int, size: int, *_: int) -> int:
    """bpf_get_current_comm: the name, cut to ``size - 1`` bytes, NUL-padded to ``size``.

    ``size`` 0 is refused by the verifier (``ARG_CONST_SIZE``); here it gives
    -EINVAL and writes nothing.
    """
    size &= M32
    if not size:
        return neg(errno.EINVAL)
    comm = current_comm(env)[: size - 1]
    env.memory.write(buf, comm + bytes(size - len(comm)))
    return 0


def _get_current_task(env: Runtime, *_: int) -> int:
    """The opaque kernel address of the task (``env.task.address``)."""
    return env.task.address & M64


# -- trace_printk / trace_vprintk and the trace pipe ------------------------------------------
@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One ``bpf_trace_printk`` event: the message and where and when it was made."""

    message: bytes
    timestamp_ns: int
    cpu: int
    pid: int
    comm: bytes


def emit_trace(env: Runtime, message: bytes) -> None:
    """Write ``message`` to the run's trace pipe (``env.trace``), with its context."""
    events: dict[int, TraceEvent] = env.extra.setdefault("trace_events", {})
    events[len(env.trace_lines)] = TraceEvent(
        message, env.clock_ns(), env.cpu, env.task.pid, current_comm(env)
    )
    env.trace(message)


def printk(env: Runtime, fmt: bytes, args: Sequence[int]) -> int:
    """Format as ``bpf_trace_printk`` does (into 1024 bytes) and emit the event.

    Returns the length of the whole text (it may exceed what was kept) or -errno.
    """
    text, length = bprintf(env.memory, fmt, args, MAX_BPRINTF_BUF)
    if length < 0:
        return length
    emit_trace(env, text[:-1])
    return length


def read_fmt(env: Runtime, fmt: int, fmt_size: int) -> bytes | None:
    """The format at ``fmt`` without its NUL, or None when no NUL is in ``fmt_size`` bytes."""
    raw = env.memory.read(fmt, fmt_size & M32)
    nul = raw.find(0)
    return None if nul < 0 else raw[:nul]


def _trace_vprintk(env: Runtime, fmt: int, fmt_size: int, data: int, data_len: int, *_: int) -> int:
    """bpf_trace_vprintk: trace_printk with up to 12 arguments in an array of u64."""
    data_len &= M32
    if data_len % 8 or data_len > MAX_BPRINTF_VARARGS * 8 or (data_len and not data):
        return neg(errno.EINVAL)
    text = read_fmt(env, fmt, fmt_size)
    if text is None:
        return neg(errno.EINVAL)
    raw = env.memory.read(data, data_len) if data_len else b""
    args = [int.from_bytes(raw[k : k + 8], "little") for k in range(0, data_len, 8)]
    return printk(env, text, args) & M64


def format_trace_event(event: TraceEvent, flags: str = ".....") -> str:
    """One event as ``trace_pipe`` shows it (``TP_printk`` adds the newline).

    >>> format_trace_event(TraceEvent(b"hi", 1_500_000_000, 1, 42, b"sh"))
    '              sh-42      [001] .....     1.500000: bpf_trace_printk: hi\\n'
    """
    secs, usecs = divmod(event.timestamp_ns // 1000, 1_000_000)
    comm = event.comm.decode("utf-8", "replace")
    message = event.message.decode("utf-8", "replace")
    return (
        f"{comm:>16}-{event.pid:<7} [{event.cpu:03d}] {flags} {secs:5d}.{usecs:06d}: "
        f"bpf_trace_printk: {message}\n"
    )


def trace_events(rt: Runtime) -> list[TraceEvent]:
    """The run's trace events in order (lines traced without context get the runtime's)."""
    known: dict[int, TraceEvent] = rt.extra.get("trace_events", {})
    out = []
    for k, line in enumerate(rt.trace_lines):
        event = known.get(k)
        if event is None or event.message != line:
            event = TraceEvent(line, rt.clock_ns(), rt.cpu, rt.task.pid, current_comm(rt))
        out.append(event)
    return out


def trace_pipe(rt: Runtime, flags: str = ".....") -> str:
    """What ``cat /sys/kernel/tracing/trace_pipe`` would print for this run's events.

    ``flags`` stands for the kernel's five latency columns (irqs-off,
    need-resched, hardirq/softirq, preempt-depth, migrate-disable).
    """
    return "".join(format_trace_event(e, flags) for e in trace_events(rt))


# -- the table --------------------------------------------------------------------------------
_PROBE = Proto((Arg.PTR_TO_UNINIT_MEM, Arg.CONST_SIZE_OR_ZERO, Arg.ANYTHING), gpl_only=True)
_VPRINTK = Proto(
    (Arg.PTR_TO_MEM, Arg.CONST_SIZE, Arg.PTR_TO_MEM_OR_NULL, Arg.CONST_SIZE_OR_ZERO),
    gpl_only=True,
)

HELPERS = [
    Helper(HelperId.PROBE_READ, "probe_read", _probe_read_compat, _PROBE),
    Helper(HelperId.GET_CURRENT_PID_TGID, "get_current_pid_tgid", _get_current_pid_tgid, Proto()),
    Helper(HelperId.GET_CURRENT_UID_GID, "get_current_uid_gid", _get_current_uid_gid, Proto()),
    Helper(
        HelperId.GET_CURRENT_COMM,
        "get_current_comm",
        _get_current_comm,
        Proto((Arg.PTR_TO_UNINIT_MEM, Arg.CONST_SIZE)),
    ),
    Helper(HelperId.GET_CURRENT_TASK, "get_current_task", _get_current_task, Proto(gpl_only=True)),
    Helper(HelperId.PROBE_READ_STR, "probe_read_str", _probe_read_compat_str, _PROBE),
    Helper(HelperId.PROBE_READ_USER, "probe_read_user", _probe_read_user, _PROBE),
    Helper(HelperId.PROBE_READ_KERNEL, "probe_read_kernel", _probe_read_kernel, _PROBE),
    Helper(HelperId.PROBE_READ_USER_STR, "probe_read_user_str", _probe_read_user_str, _PROBE),
    Helper(HelperId.PROBE_READ_KERNEL_STR, "probe_read_kernel_str", _probe_read_kernel_str, _PROBE),
    Helper(HelperId.TRACE_VPRINTK, "trace_vprintk", _trace_vprintk, _VPRINTK),
]
"""probe reads, the current task, trace_vprintk; in id order."""
