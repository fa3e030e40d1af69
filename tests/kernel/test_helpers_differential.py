"""The string and tracing helpers and the tracing contexts, against the running kernel.

Each test builds a small XDP program (the kernel lets XDP programs call
strtol, strtoul, strncmp, snprintf, probe_read_kernel* and trace_printk as
root, and XDP test runs hand the packet back), loads it with
``BPF_PROG_LOAD``, runs it with ``BPF_PROG_TEST_RUN``, reads r0 and the
helper's output from the packet, and compares them with our helper
implementation called on the same input in a ``Runtime``. Format strings and
the constant strings of strncmp live in a frozen read-only array map, as the
kernel wants (``ARG_PTR_TO_CONST_STR``). A format the kernel refuses at load
time must be one our snprintf refuses with ``-EINVAL``.

The context rules of kprobe, tracepoint, raw_tracepoint and perf_event
programs are compared with the kernel's verifier (load a program that reads or
writes the context: accepted or not), and raw_tracepoint test runs with the
kernel's (``ctx_in`` = the arguments).
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebpy.errors import ContextAccessError, KernelError
from ebpy.helpers.env import Runtime
from ebpy.helpers.linux import LINUX_HELPERS
from ebpy.helpers.registry import HelperImpl
from ebpy.helpers.tracing import TraceEvent, format_trace_event, trace_events
from ebpy.isa.asm import assemble
from ebpy.kernel import KernelProgram, _syscall
from ebpy.kernel.fs import tracefs
from ebpy.memory import RegionKind
from ebpy.progtypes import prog_type_info
from ebpy.progtypes.raw_tracepoint import raw_tp_args
from ebpy.progtypes.tracepoint import TRACEFS_ROOTS
from ebpy.uapi import BpfCmd, HelperId, MapType, ProgType
from ebpy.vm import Vm

pytestmark = pytest.mark.kernel

U64 = (1 << 64) - 1
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def signed(value: int) -> int:
    value &= U64
    return value - (1 << 64) if value >> 63 else value


# -- kernel side: read-only maps and an XDP harness -------------------------------------------
class _MapCreate(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint32) for n in ("type", "key", "value", "entries", "flags")] + [
        ("_pad", ctypes.c_uint8 * 52)
    ]


class _MapElem(ctypes.Structure):
    _fields_ = [
        ("fd", ctypes.c_uint32),
        ("_pad0", ctypes.c_uint32),
        ("key", ctypes.c_uint64),
        ("value", ctypes.c_uint64),
        ("flags", ctypes.c_uint64),
    ]


@contextmanager
def rdonly_map(data: bytes) -> Iterator[int]:
    """A frozen one-element array map the programs may not write: its fd."""
    data = data + bytes(-len(data) % 8 or 0)
    attr = _MapCreate(MapType.ARRAY, 4, len(data), 1, 0x80)  # BPF_F_RDONLY_PROG
    fd = _syscall.bpf(BpfCmd.MAP_CREATE, attr)
    try:
        key = ctypes.create_string_buffer(4)
        value = ctypes.create_string_buffer(data, len(data))
        _syscall.bpf(
            BpfCmd.MAP_UPDATE_ELEM,
            _MapElem(fd, 0, ctypes.addressof(key), ctypes.addressof(value), 0),
        )
        _syscall.bpf(BpfCmd.MAP_FREEZE, _MapElem(fd))
        yield fd
    finally:
        os.close(fd)


def store(data: bytes, offset: int) -> str:
    """Instructions writing ``data`` (padded to u64s) to the stack at ``r10 + offset``."""
    data = data + bytes(-len(data) % 8)
    lines = []
    for k in range(0, len(data), 8):
        lines.append(f"r1 = {int.from_bytes(data[k : k + 8], 'little'):#x} ll")
        lines.append(f"*(u64 *)(r10 {offset + k:+d}) = r1")
    return "\n".join(lines)


def run_xdp(body: str, exports: Sequence[int] = ()) -> tuple[int, list[int]]:
    """Run ``body`` (r6 = ctx; it leaves a value in r0) as an XDP program: r0 and the
    u64s at the stack offsets ``exports`` after it ran. ``KernelError`` when refused."""
    size = 8 * (1 + len(exports))
    copy = "\n".join(
        f"r1 = *(u64 *)(r10 {off:+d})\n*(u64 *)(r2 +{8 * (k + 1)}) = r1"
        for k, off in enumerate(exports)
    )
    text = f"""
        r6 = r1
        {body}
        r7 = r0
        r2 = *(u32 *)(r6 +0)
        r3 = *(u32 *)(r6 +4)
        r4 = r2
        r4 += {size}
        if r4 > r3 goto out
        *(u64 *)(r2 +0) = r7
        {copy}
        out:
        r0 = 2
        exit
    """
    with KernelProgram.load(assemble(text), ProgType.XDP) as prog:
        res = prog.test_run(bytes(max(size, 64)))
    words = struct.unpack_from(f"<{1 + len(exports)}Q", res.data_out)
    return words[0], list(words[1:])


def zero(offset: int, size: int) -> str:
    return "r1 = 0\n" + "\n".join(f"*(u64 *)(r10 {offset + k:+d}) = r1" for k in range(0, size, 8))


def impl(helper: HelperId) -> HelperImpl:
    return LINUX_HELPERS[helper].impl


def memory_with(rt: Runtime, data: bytes) -> int:
    return rt.memory.map(RegionKind.MEMORY, data).base


# -- strtol / strtoul ----------------------------------------------------------------------
NUMBERISH = st.lists(
    st.sampled_from(list(b" \t\n\x0b\x0c\r\xa0-+0123456789xXabcdefABCDEFgz\x00")),
    min_size=1,
    max_size=70,
).map(bytes)
FLAGS = st.sampled_from([0, 0, 8, 10, 10, 16, 16, 2, 0x20, 0x30])


@SETTINGS
@given(NUMBERISH, FLAGS, st.sampled_from([HelperId.STRTOL, HelperId.STRTOUL]))
def test_strtol_strtoul(buf: bytes, flags: int, helper: HelperId) -> None:
    base = -8 - 8 * ((len(buf) + 7) // 8)
    body = (
        f"{store(buf, base)}\n{zero(-8, 8)}\nr1 = r10\nr1 += {base}\nr2 = {len(buf)}\n"
        f"r3 = {flags}\nr4 = r10\nr4 += -8\ncall {int(helper)}"
    )
    r0, (res,) = run_xdp(body, [-8])
    rt = Runtime()
    out = memory_with(rt, bytes(8))
    ours = impl(helper)(rt, memory_with(rt, buf), len(buf), flags, out, 0)
    assert (signed(ours), int.from_bytes(rt.memory.read(out, 8), "little")) == (signed(r0), res)


# -- strncmp ------------------------------------------------------------------------------
@SETTINGS
@given(
    st.binary(min_size=1, max_size=24).map(lambda b: bytes(c % 3 + 97 if c > 40 else 0 for c in b)),
    st.binary(max_size=24).map(lambda b: bytes(c % 3 + 97 for c in b)),
)
def test_strncmp(s1: bytes, s2: bytes) -> None:
    base = -8 * ((len(s1) + 7) // 8)
    with rdonly_map(s2 + b"\0") as fd:
        body = (
            f"{store(s1, base)}\nr1 = r10\nr1 += {base}\nr2 = {len(s1)}\n"
            f"r3 = map[id:{fd}][0]+0\ncall {int(HelperId.STRNCMP)}"
        )
        r0, _ = run_xdp(body)
    rt = Runtime()
    ours = impl(HelperId.STRNCMP)(
        rt, memory_with(rt, s1), len(s1), memory_with(rt, s2 + b"\0"), 0, 0
    )
    assert signed(ours) == signed(r0)


# -- probe reads ---------------------------------------------------------------------------
@SETTINGS
@given(st.binary(min_size=32, max_size=32), st.integers(0, 32))
def test_probe_read_kernel_str(src: bytes, size: int) -> None:
    body = (
        f"{store(src, -32)}\n{zero(-64, 32)}\nr1 = r10\nr1 += -64\nr2 = {size}\n"
        f"r3 = r10\nr3 += -32\ncall {int(HelperId.PROBE_READ_KERNEL_STR)}"
    )
    r0, words = run_xdp(body, [-64, -56, -48, -40])
    rt = Runtime()
    dst = memory_with(rt, bytes(32))
    ours = impl(HelperId.PROBE_READ_KERNEL_STR)(rt, dst, size, memory_with(rt, src), 0, 0)
    assert signed(ours) == signed(r0)
    assert rt.memory.read(dst, 32) == struct.pack("<4Q", *words)


@pytest.mark.parametrize(
    "helper",
    [
        HelperId.PROBE_READ_KERNEL,
        HelperId.PROBE_READ_USER,
        HelperId.PROBE_READ_KERNEL_STR,
        HelperId.PROBE_READ_USER_STR,
    ],
)
@pytest.mark.parametrize("size", [0, 1, 8])
def test_probe_read_null(helper: HelperId, size: int) -> None:
    body = f"{store(b'garbage!', -8)}\nr1 = r10\nr1 += -8\nr2 = {size}\nr3 = 0\ncall {int(helper)}"
    r0, (dst,) = run_xdp(body, [-8])
    rt = Runtime()
    out = memory_with(rt, b"garbage!")
    ours = impl(helper)(rt, out, size, 0, 0, 0)
    assert signed(ours) == signed(r0)
    assert rt.memory.read(out, 8) == dst.to_bytes(8, "little")


# -- snprintf and trace_printk -------------------------------------------------------------
_NUM_CONV = ["d", "i", "u", "x", "X", "ld", "li", "lu", "lx", "lX", "lld", "llu", "llx", "lli"]
_PTR_CONV = ["px", "pI4", "pi4", "pI6", "pi6", "pks", "s"]
# Conversions the kernel formats into its scratch buffer before bstr_printf runs.
_KERNEL_SKIPS_ARG = re.compile(rb"%[-+ 0-9]*p(?:ks|us|[iI][46])")
_EDGE = [0, 1, -1, 255, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 1 << 63, (1 << 63) - 1, 42]


@st.composite
def formats(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, int | bytes]]]:
    """A format (mostly valid) and its arguments: ("n", value) or ("s"/"ip", bytes)."""
    parts: list[str] = []
    args: list[tuple[str, int | bytes]] = []
    for _ in range(draw(st.integers(0, 5))):
        parts.append(draw(st.text(st.sampled_from("ab .:-=,|\t"), max_size=4)))
        if draw(st.integers(0, 9)) == 0:
            parts.append("%%")
            continue
        flags = draw(st.text(st.sampled_from("0+- "), max_size=2))
        width = draw(st.sampled_from(["", "", "1", "5", "12", "70"]))
        conv = draw(st.sampled_from(_NUM_CONV + _PTR_CONV + ["c", "c", "hd", "5.2d", "q", "pz"]))
        parts.append(f"%{flags}{width}{conv}")
        if conv in ("s", "pks"):
            args.append(("s", draw(st.binary(max_size=20).map(lambda b: b.replace(b"\0", b"z")))))
        elif conv.startswith(("pI", "pi")):
            args.append(("ip", draw(st.binary(min_size=16, max_size=16))))
        elif conv == "c":
            args.append(("n", draw(st.integers(32, 126))))
        else:
            args.append(("n", draw(st.sampled_from(_EDGE) | st.integers(0, U64)) & U64))
    drop = draw(st.integers(0, 8)) == 0 and args
    return "".join(parts).encode(), args[:-1] if drop else args


def _arg_into(reg: str, value: int | bytes, slot: int) -> tuple[str, int]:
    """Kernel side: ``reg`` = a number, or a pointer to the string/IP stored in the
    24-byte stack slot below ``slot``; the text, and the lowest slot used so far."""
    if isinstance(value, int):
        return f"{reg} = {value:#x} ll", slot
    slot -= 24
    stored = store(value + b"\0", slot)
    return f"{stored}\n{reg} = r10\n{reg} += {slot}", slot


def _arg_setup(args: Sequence[tuple[str, int | bytes]], args_at: int) -> str:
    """Kernel side: strings and IPs in 24-byte stack slots below -256, and the u64
    argument array at ``args_at`` (numbers, or pointers to the slots)."""
    lines = []
    slot = -256
    for k, (_kind, value) in enumerate(args):
        text, slot = _arg_into("r1", value, slot)
        lines.append(f"{text}\n*(u64 *)(r10 {args_at + 8 * k:+d}) = r1")
    return "\n".join(lines)


def _our_args(rt: Runtime, args: Sequence[tuple[str, int | bytes]]) -> bytes:
    out = []
    for kind, value in args:
        if kind == "n":
            assert isinstance(value, int)
            out.append(value)
        else:
            assert isinstance(value, bytes)
            out.append(memory_with(rt, value + b"\0"))
    return struct.pack(f"<{len(out)}Q", *out)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(formats(), st.sampled_from([0, 1, 5, 16, 64, 128]))
def test_snprintf(case: tuple[bytes, list[tuple[str, int | bytes]]], size: int) -> None:
    fmt, args = case
    out_at, args_at = -128, -224
    setup = _arg_setup(args, args_at)
    rt = Runtime()
    data = _our_args(rt, args)
    dst = memory_with(rt, bytes(128))
    fmt_addr = memory_with(rt, fmt + b"\0")
    ours = impl(HelperId.SNPRINTF)(
        rt, dst, size, fmt_addr, memory_with(rt, data or b"\0"), len(data)
    )
    with rdonly_map(fmt + b"\0") as fd:
        body = (
            f"{zero(out_at, 128)}\n{setup}\nr1 = r10\nr1 += {out_at}\nr2 = {size}\n"
            f"r3 = map[id:{fd}][0]+0\nr4 = r10\nr4 += {args_at}\nr5 = {len(data)}\n"
            f"call {int(HelperId.SNPRINTF)}"
        )
        try:
            r0, words = run_xdp(body, list(range(out_at, 0, 8)))
        except KernelError as refused:  # the verifier checks constant formats
            assert refused.errno == errno.EINVAL
            assert signed(ours) == -errno.EINVAL, fmt
            return
    assert rt.memory.read(dst, 128) == struct.pack("<16Q", *words), fmt
    if _KERNEL_SKIPS_ARG.search(fmt) and signed(ours) > size:
        # The kernel's bstr_printf does not step past a string it formatted ahead
        # (%pks, %pI4, ...) once the output is full, so with a truncated output the
        # arguments after it are read from the wrong place of its scratch buffer,
        # and its return value (the length wanted) comes from those. Ours is the
        # true length; the bytes written agree (checked above).
        return
    assert signed(ours) == signed(r0), fmt


@SETTINGS
@given(formats().filter(lambda c: len(c[1]) <= 3))
def test_trace_printk_return(case: tuple[bytes, list[tuple[str, int | bytes]]]) -> None:
    fmt, args = case
    fmt_at = -8 * ((len(fmt) + 8) // 8)
    lines = [store(fmt + b"\0", fmt_at), "r3 = 0\nr4 = 0\nr5 = 0"]
    slot = -256
    for k, (_kind, value) in enumerate(args):
        text, slot = _arg_into(f"r{k + 3}", value, slot)
        lines.append(text)
    lines.append(
        f"r1 = r10\nr1 += {fmt_at}\nr2 = {len(fmt) + 1}\ncall {int(HelperId.TRACE_PRINTK)}"
    )
    r0, _ = run_xdp("\n".join(lines))
    rt = Runtime()
    values = [*struct.unpack(f"<{len(args)}Q", _our_args(rt, args)), 0, 0, 0][:3]
    ours = impl(HelperId.TRACE_PRINTK)(rt, memory_with(rt, fmt + b"\0"), len(fmt) + 1, *values)
    assert signed(ours) == signed(r0), fmt


def _trace_file() -> Path | None:
    """The tracefs ``trace`` file where tracing is on (we do not switch it on);
    tracefs is mounted first when it is missing and we are root."""
    tracefs()
    for root in TRACEFS_ROOTS:
        path = Path(root) / "trace"
        try:
            on = (Path(root) / "tracing_on").read_text().strip() == "1"
        except OSError:
            continue
        if path.exists() and on:
            return path
    return None


@pytest.mark.skipif(_trace_file() is None, reason="tracefs is not mounted or tracing is off")
def test_trace_pipe_line_looks_like_the_kernels() -> None:
    path = _trace_file()
    assert path is not None
    path.write_text("")
    fmt = b"ebpy %d-%s\n\0"
    body = (
        f"{store(b'xyz', -32)}\n{store(fmt, -16)}\nr1 = r10\nr1 += -16\n"
        f"r2 = {len(fmt)}\nr3 = 7\nr4 = r10\nr4 += -32\ncall {int(HelperId.TRACE_PRINTK)}"
    )
    run_xdp(body)
    text = path.read_text()
    start = text.index("bpf_trace_printk: ebpy 7")
    kernel_event = text[text.rindex("\n", 0, start) + 1 :]  # with the blank line TP_printk adds
    kernel_event = kernel_event[: kernel_event.index("\n") + 2]
    rt = Runtime()
    impl(HelperId.TRACE_PRINTK)(rt, memory_with(rt, fmt), len(fmt), 7, memory_with(rt, b"xyz\0"), 0)
    ours = trace_events(rt)[0]
    head = re.match(r"^ *(.+)-(\d+) +\[(\d{3})\] (\S{5}) +(\d+)\.(\d{6}): ", kernel_event)
    assert head is not None, kernel_event
    comm, pid, cpu, flags, secs, usecs = head.groups()
    ts = int(secs) * 10**9 + int(usecs) * 1000
    same = TraceEvent(ours.message, ts, int(cpu), int(pid), comm.encode())
    assert format_trace_event(same, flags) == kernel_event


# -- the context rules against the verifier --------------------------------------------------
def _ctx_prog(offset: int, size: int, write: bool) -> str:
    kind = {1: "u8", 2: "u16", 4: "u32", 8: "u64"}[size]
    if write:
        return f"r2 = 0\n*({kind} *)(r1 {offset:+d}) = r2\nr0 = 0\nexit"
    return f"r0 = *({kind} *)(r1 {offset:+d})\nr0 = 0\nexit"


ACCESSES = st.tuples(
    st.integers(-8, 200) | st.integers(0, 9000),
    st.sampled_from([1, 2, 4, 8]),
    st.sampled_from([False, False, False, True]),
)


@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.sampled_from(
        [ProgType.KPROBE, ProgType.TRACEPOINT, ProgType.RAW_TRACEPOINT, ProgType.PERF_EVENT]
    ),
    ACCESSES,
)
def test_context_rules_match_the_verifier(
    prog_type: ProgType, access: tuple[int, int, bool]
) -> None:
    offset, size, write = access
    try:
        prog_type_info(prog_type).access(offset, size, write)
        ours = True
    except ContextAccessError:
        ours = False
    try:
        KernelProgram.load(assemble(_ctx_prog(offset, size, write)), prog_type).close()
        theirs = True
    except KernelError as refused:
        assert refused.errno in (errno.EACCES, errno.EINVAL)
        theirs = False
    assert ours == theirs, (prog_type.name, offset, size, write)


# -- which helpers each type may call ---------------------------------------------------
CONFIG_DEPENDENT = {HelperId.PROBE_WRITE_USER, HelperId.OVERRIDE_RETURN}
"""Offered or not by the kernel's configuration and lockdown state."""
REFUSED_ELSEWHERE = {HelperId.SPIN_LOCK, HelperId.SPIN_UNLOCK}
"""Offered, but the verifier refuses tracing programs the maps that hold locks."""


@pytest.mark.parametrize(
    "prog_type",
    [ProgType.KPROBE, ProgType.TRACEPOINT, ProgType.RAW_TRACEPOINT, ProgType.PERF_EVENT],
)
def test_helper_sets_match_the_verifier(prog_type: ProgType) -> None:
    refused = []
    for helper in HelperId:
        if helper == HelperId.UNSPEC or helper in CONFIG_DEPENDENT | REFUSED_ELSEWHERE:
            continue
        try:
            KernelProgram.load(assemble(f"call {int(helper)}\nr0 = 0\nexit"), prog_type).close()
        except KernelError as err:
            if "unknown func" in err.log or "cannot use helper" in err.log:
                refused.append(helper)
    offered = (
        set(HelperId) - set(refused) - CONFIG_DEPENDENT - REFUSED_ELSEWHERE - {HelperId.UNSPEC}
    )
    ours = set(prog_type_info(prog_type).helpers) - CONFIG_DEPENDENT
    assert ours == offered


# -- raw tracepoint test runs ----------------------------------------------------------------
class _TestRun(ctypes.Structure):
    _fields_ = [
        ("prog_fd", ctypes.c_uint32),
        ("retval", ctypes.c_uint32),
        ("data_size_in", ctypes.c_uint32),
        ("data_size_out", ctypes.c_uint32),
        ("data_in", ctypes.c_uint64),
        ("data_out", ctypes.c_uint64),
        ("repeat", ctypes.c_uint32),
        ("duration", ctypes.c_uint32),
        ("ctx_size_in", ctypes.c_uint32),
        ("ctx_size_out", ctypes.c_uint32),
        ("ctx_in", ctypes.c_uint64),
        ("ctx_out", ctypes.c_uint64),
        ("flags", ctypes.c_uint32),
        ("cpu", ctypes.c_uint32),
        ("batch_size", ctypes.c_uint32),
        ("_pad", ctypes.c_uint32),
    ]


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.integers(0, U64), min_size=1, max_size=12))
def test_raw_tracepoint_test_run(args: list[int]) -> None:
    lines = ["r0 = 0"]
    for k in range(len(args)):
        lines.append(f"r2 = *(u64 *)(r1 +{8 * k})\nr0 *= 3\nr0 ^= r2")
    prog = assemble("\n".join([*lines, "exit"]))
    ctx = raw_tp_args(*args)
    buf = ctypes.create_string_buffer(ctx, len(ctx))
    with KernelProgram.load(prog, ProgType.RAW_TRACEPOINT) as kprog:
        attr = _TestRun(prog_fd=kprog.fd, ctx_size_in=len(ctx), ctx_in=ctypes.addressof(buf))
        _syscall.bpf(BpfCmd.PROG_TEST_RUN, attr)
    assert Vm(prog, prog_type="raw_tracepoint").test_run(ctx_in=ctx).retval == attr.retval
