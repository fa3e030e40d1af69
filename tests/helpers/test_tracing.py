"""The tracing helpers: probe reads, the current task, trace_printk/trace_vprintk, trace pipe."""

from __future__ import annotations

import errno
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.errors import MemoryAccessError
from ebpy.helpers.env import Runtime, Task
from ebpy.helpers.linux import LINUX_HELPERS
from ebpy.helpers.registry import HelperImpl
from ebpy.helpers.tracing import (
    TraceEvent,
    emit_trace,
    format_trace_event,
    trace_events,
    trace_pipe,
)
from ebpy.isa.asm import assemble
from ebpy.memory import RegionKind
from ebpy.progtypes.kprobe import PtRegs
from ebpy.uapi import HelperId
from ebpy.vm import Vm

U64 = (1 << 64) - 1
H = HelperId


def neg(err: int) -> int:
    return -err & U64


def impl(helper: HelperId) -> HelperImpl:
    return LINUX_HELPERS[helper].impl


def put(rt: Runtime, data: bytes) -> int:
    return rt.memory.map(RegionKind.MEMORY, data).base


READS = [H.PROBE_READ, H.PROBE_READ_KERNEL, H.PROBE_READ_USER]
STR_READS = [H.PROBE_READ_STR, H.PROBE_READ_KERNEL_STR, H.PROBE_READ_USER_STR]


# -- probe_read ---------------------------------------------------------------------------
@pytest.mark.parametrize("helper", READS)
def test_probe_read_copies(helper: HelperId) -> None:
    rt = Runtime()
    src, dst = put(rt, b"0123456789"), put(rt, bytes(4))
    assert impl(helper)(rt, dst, 4, src + 3, 0, 0) == 0
    assert rt.memory.read(dst, 4) == b"3456"


@pytest.mark.parametrize("helper", READS)
@pytest.mark.parametrize("where", ["unmapped", "past_end"])
def test_probe_read_fault_zero_fills(helper: HelperId, where: str) -> None:
    rt = Runtime()
    src = put(rt, b"0123456789")
    dst = put(rt, b"\xaa" * 8)
    addr = 0x7777_0000_0000 if where == "unmapped" else src + 6
    assert impl(helper)(rt, dst, 8, addr, 0, 0) == neg(errno.EFAULT)
    assert rt.memory.read(dst, 8) == bytes(8)


@pytest.mark.parametrize(
    ("helper", "size", "ret"),
    [
        (H.PROBE_READ_KERNEL, 8, neg(errno.ERANGE)),
        (H.PROBE_READ_KERNEL, 0, neg(errno.ERANGE)),
        (H.PROBE_READ_USER, 8, neg(errno.EFAULT)),
        (H.PROBE_READ_USER, 0, 0),
        (H.PROBE_READ, 8, neg(errno.EFAULT)),
        (H.PROBE_READ_KERNEL_STR, 8, neg(errno.ERANGE)),
        (H.PROBE_READ_KERNEL_STR, 0, 0),
        (H.PROBE_READ_USER_STR, 8, neg(errno.EFAULT)),
        (H.PROBE_READ_USER_STR, 0, 0),
        (H.PROBE_READ_STR, 8, neg(errno.EFAULT)),
    ],
)
def test_probe_read_null(helper: HelperId, size: int, ret: int) -> None:
    """As x86-64 kernels answer for NULL (checked in tests/kernel)."""
    rt = Runtime()
    dst = put(rt, b"\xaa" * 8)
    assert impl(helper)(rt, dst, size, 0, 0, 0) == ret
    assert rt.memory.read(dst, 8) == (b"\xaa" * 8 if size == 0 else bytes(8))


def test_probe_read_bad_destination_stops_the_program() -> None:
    rt = Runtime()
    with pytest.raises(MemoryAccessError):
        impl(H.PROBE_READ_KERNEL)(rt, 0x9999_0000_0000, 4, put(rt, b"abcd"), 0, 0)


# -- probe_read_*_str ---------------------------------------------------------------------
@pytest.mark.parametrize("helper", STR_READS)
@pytest.mark.parametrize(
    ("src", "size", "ret", "dst"),
    [
        (b"hello\0", 16, 6, b"hello\0"),
        (b"hello\0", 6, 6, b"hello\0"),
        (b"hello\0", 5, 5, b"hell\0"),  # cut, NUL-terminated
        (b"hello\0", 1, 1, b"\0"),
        (b"hello\0", 0, 0, b""),
        (b"\0", 8, 1, b"\0"),
        (b"abc", 3, 3, b"ab\0"),  # exactly the region: fine
        (b"abc", 4, -errno.EFAULT, b"\0\0\0\0"),  # runs off the region
        (b"ab\0cd", 8, 3, b"ab\0"),
    ],
)
def test_probe_read_str(helper: HelperId, src: bytes, size: int, ret: int, dst: bytes) -> None:
    rt = Runtime()
    out = put(rt, b"\xaa" * 16)
    assert impl(helper)(rt, out, size, put(rt, src), 0, 0) == ret & U64
    assert rt.memory.read(out, 16) == dst + b"\xaa" * (16 - len(dst))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=24), st.integers(0, 24))
def test_probe_read_str_model(src: bytes, size: int) -> None:
    """The kernel's strncpy_from_kernel_nofault on a region holding ``src``."""
    rt = Runtime()
    out = put(rt, b"\xaa" * 24)
    ret = impl(H.PROBE_READ_KERNEL_STR)(rt, out, size, put(rt, src or b"\0"), 0, 0)
    src = src or b"\0"
    nul = src.find(0, 0, size)
    if size == 0:
        expect, n = b"", 0
    elif nul >= 0:
        expect = src[: nul + 1]
        n = len(expect)
    elif len(src) >= size:
        expect, n = src[: size - 1] + b"\0", size
    else:
        expect, n = bytes(size), -errno.EFAULT
    assert ret == n & U64
    assert rt.memory.read(out, 24) == expect + b"\xaa" * (24 - len(expect))


# -- the current task -----------------------------------------------------------------------
TASK = Task(pid=1234, tgid=1200, uid=1001, gid=1002, comm=b"worker", address=0xFFFF_8880_1234_0000)


def test_pid_tgid_uid_gid_task() -> None:
    rt = Runtime(task=TASK)
    assert impl(H.GET_CURRENT_PID_TGID)(rt, 0, 0, 0, 0, 0) == 1200 << 32 | 1234
    assert impl(H.GET_CURRENT_UID_GID)(rt, 0, 0, 0, 0, 0) == 1002 << 32 | 1001
    assert impl(H.GET_CURRENT_TASK)(rt, 0, 0, 0, 0, 0) == 0xFFFF_8880_1234_0000


@pytest.mark.parametrize(
    ("comm", "size", "out"),
    [
        (b"worker", 16, b"worker".ljust(16, b"\0")),
        (b"worker", 4, b"wor\0"),
        (b"worker", 1, b"\0"),
        (b"worker", 7, b"worker\0"),
        (b"a-very-long-command-name", 32, b"a-very-long-com".ljust(32, b"\0")),  # 15 bytes
    ],
)
def test_get_current_comm(comm: bytes, size: int, out: bytes) -> None:
    rt = Runtime(task=Task(comm=comm))
    buf = put(rt, b"\xaa" * 32)
    assert impl(H.GET_CURRENT_COMM)(rt, buf, size, 0, 0, 0) == 0
    assert rt.memory.read(buf, 32) == out + b"\xaa" * (32 - size)


def test_get_current_comm_size_zero() -> None:
    rt = Runtime()
    buf = put(rt, b"\xaa")
    assert impl(H.GET_CURRENT_COMM)(rt, buf, 0, 0, 0, 0) == neg(errno.EINVAL)
    assert rt.memory.read(buf, 1) == b"\xaa"


# -- trace_printk / trace_vprintk --------------------------------------------------------------
def printk(rt: Runtime, fmt: bytes, *args: int, fmt_size: int | None = None) -> int:
    size = len(fmt) + 1 if fmt_size is None else fmt_size
    a = [*args, 0, 0, 0][:3]
    return impl(H.TRACE_PRINTK)(rt, put(rt, fmt + b"\0"), size, *a)


def test_trace_printk_formats_and_returns_the_length() -> None:
    rt = Runtime()
    assert printk(rt, b"x=%d y=%s\n", 5, put(rt, b"ok\0")) == len(b"x=5 y=ok\n")
    assert rt.trace_lines == [b"x=5 y=ok\n"]


@pytest.mark.parametrize(
    ("fmt", "nargs", "fmt_size"),
    [
        (b"%d %d %d %d", 4, None),  # at most three arguments
        (b"%q", 1, None),
        (b"%s1", 1, None),
        (b"hello", 0, 5),  # no NUL within fmt_size
    ],
)
def test_trace_printk_errors(fmt: bytes, nargs: int, fmt_size: int | None) -> None:
    rt = Runtime()
    assert printk(rt, fmt, *[1] * min(nargs, 3), fmt_size=fmt_size) == neg(errno.EINVAL)
    assert rt.trace_lines == []


def test_trace_printk_keeps_1023_bytes_and_counts_all() -> None:
    rt = Runtime()
    assert printk(rt, b"%2000d", 7) == 2000
    assert rt.trace_lines == [b" " * 1023]


def test_trace_vprintk() -> None:
    rt = Runtime()
    data = put(rt, struct.pack("<5Q", 1, 2, 3, 4, 5))
    fmt = put(rt, b"%d%d%d%d%d\0")
    assert impl(H.TRACE_VPRINTK)(rt, fmt, 11, data, 40, 0) == 5
    assert rt.trace_lines == [b"12345"]
    assert impl(H.TRACE_VPRINTK)(rt, fmt, 11, data, 36, 0) == neg(errno.EINVAL)
    assert impl(H.TRACE_VPRINTK)(rt, fmt, 11, 0, 40, 0) == neg(errno.EINVAL)
    assert impl(H.TRACE_VPRINTK)(rt, fmt, 11, data, 104, 0) == neg(errno.EINVAL)
    assert impl(H.TRACE_VPRINTK)(rt, fmt, 11, data, 32, 0) == neg(errno.EINVAL)  # 4 < 5
    assert impl(H.TRACE_VPRINTK)(rt, put(rt, b"x\0"), 2, 0, 0, 0) == 1


# -- the trace pipe ---------------------------------------------------------------------------
def test_trace_pipe_lines() -> None:
    ticks = iter([3_000_123_456, 4_500_000_000])
    rt = Runtime(task=TASK, cpu=3, clock=lambda: next(ticks))
    printk(rt, b"first %d\n", 1)
    printk(rt, b"second")
    assert trace_pipe(rt) == (
        "          worker-1234    [003] .....     3.000123: bpf_trace_printk: first 1\n\n"
        "          worker-1234    [003] .....     4.500000: bpf_trace_printk: second\n"
    )
    assert [e.message for e in trace_events(rt)] == [b"first 1\n", b"second"]


def test_trace_pipe_flags_and_plain_trace_lines() -> None:
    rt = Runtime(task=TASK, clock=lambda: 10**9)
    rt.trace(b"from elsewhere")
    emit_trace(rt, b"x")
    assert trace_pipe(rt, flags="d..1.").splitlines() == [
        "          worker-1234    [000] d..1.     1.000000: bpf_trace_printk: from elsewhere",
        "          worker-1234    [000] d..1.     1.000000: bpf_trace_printk: x",
    ]


def test_format_trace_event_widths() -> None:
    event = TraceEvent(b"m", 123_456_789_000_000, 12, 7, b"a-sixteen-chars")
    assert format_trace_event(event) == (
        " a-sixteen-chars-7       [012] ..... 123456.789000: bpf_trace_printk: m\n"
    )


# -- end to end ---------------------------------------------------------------------------
def test_kprobe_reads_a_string_argument() -> None:
    """A kprobe on open(2) reads the file name its first argument points to."""
    prog = assemble(
        """
        r3 = *(u64 *)(r1 +112)
        r1 = r10
        r1 += -16
        r2 = 16
        call 114
        r6 = r0
        r1 = 0x0a7325 ll
        *(u64 *)(r10 -24) = r1
        r1 = r10
        r1 += -24
        r2 = 4
        r3 = r10
        r3 += -16
        call 6
        r0 = r6
        exit
        """
    )
    vm = Vm(prog, prog_type="kprobe")
    rt = vm.new_runtime(task=TASK)
    name = rt.memory.map(RegionKind.MEMORY, b"/etc/passwd\0", writable=False).base
    res = vm.test_run(ctx_in=PtRegs.call(name).pack(), runtime=rt)
    assert res.retval == 12
    assert res.runtime.trace_lines == [b"/etc/passwd\n"]
    assert "worker-1234" in trace_pipe(res.runtime)


def test_pid_tgid_from_a_program() -> None:
    prog = assemble("call 14\nr0 >>= 32\nexit")
    vm = Vm(prog, prog_type="raw_tracepoint")
    assert vm.test_run(ctx_in=b"", runtime=vm.new_runtime(task=TASK)).retval == 1200
