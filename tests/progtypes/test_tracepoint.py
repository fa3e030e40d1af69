"""BPF_PROG_TYPE_TRACEPOINT: the tracefs format parser, records, context rules, test runs.

The sample formats in ``tracepoint_formats/`` were written by hand after this
kernel's tracefs; where tracefs is mounted the live files are parsed too.
"""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebpy.errors import BpfError, ContextAccessError, InputError, MemoryAccessError
from ebpy.isa.asm import assemble
from ebpy.kernel.fs import tracefs
from ebpy.progtypes import prog_type_info
from ebpy.progtypes.tracepoint import (
    COMMON_SIZE,
    PERF_MAX_TRACE_SIZE,
    TRACEFS_ROOTS,
    TracepointFormat,
    TracepointFormatError,
    TracepointInfo,
)
from ebpy.uapi import HelperId, ProgType
from ebpy.vm import Vm
from tests.progtypes import check_access

DATA = Path(__file__).parent / "tracepoint_formats"
SAMPLES = {p.stem: p.read_text() for p in sorted(DATA.glob("*.format"))}
LIVE_EVENTS = ("syscalls/sys_enter_openat", "sched/sched_switch", "raw_syscalls/sys_enter")


def sample(name: str) -> TracepointFormat:
    return TracepointFormat.parse(SAMPLES[name])


def _live_formats() -> list[str]:
    tracefs()  # mounts tracefs when it is missing and we are root, as bpftool does
    out = []
    for root in TRACEFS_ROOTS:
        for event in LIVE_EVENTS:
            path = Path(root) / "events" / event / "format"
            try:
                out.append(path.read_text())
            except OSError:
                continue
        if out:
            break
    return out


# -- parsing ------------------------------------------------------------------------------
def test_samples_are_there() -> None:
    assert set(SAMPLES) == {
        "syscalls.sys_enter_openat",
        "sched.sched_switch",
        "raw_syscalls.sys_enter",
        "sched.sched_process_exec",
    }


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_samples_parse_with_common_fields(name: str) -> None:
    fmt = sample(name)
    common = [f.name for f in fmt.fields if f.offset < COMMON_SIZE]
    assert common == ["common_type", "common_flags", "common_preempt_count", "common_pid"]
    assert fmt.id is not None and fmt.print_fmt.startswith('"')
    assert fmt.field("common_pid").signed and not fmt.field("common_type").signed


@pytest.mark.parametrize(
    "text", _live_formats() or [pytest.param("", marks=pytest.mark.skip(reason="no tracefs"))]
)
def test_live_tracefs_formats_parse(text: str) -> None:
    fmt = TracepointFormat.parse(text)
    assert fmt.size > COMMON_SIZE and fmt.name


@pytest.mark.parametrize(
    ("name", "field", "type_", "offset", "size", "signed", "array"),
    [
        ("sched.sched_switch", "prev_comm", "char", 8, 16, False, 16),
        ("sched.sched_switch", "prev_pid", "pid_t", 24, 4, True, None),
        ("sched.sched_switch", "prev_state", "long", 32, 8, True, None),
        ("raw_syscalls.sys_enter", "args", "unsigned long", 16, 48, False, 6),
        ("syscalls.sys_enter_openat", "filename", "const char *", 24, 8, False, None),
        ("sched.sched_process_exec", "filename", "__data_loc char[]", 8, 4, False, None),
    ],
)
def test_field_details(
    name: str, field: str, type_: str, offset: int, size: int, signed: bool, array: int | None
) -> None:
    f = sample(name).field(field)
    assert (f.type, f.offset, f.size, f.signed, f.array) == (type_, offset, size, signed, array)


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("syscalls.sys_enter_openat", 48),
        ("sched.sched_switch", 64),
        ("raw_syscalls.sys_enter", 64),
        ("sched.sched_process_exec", 20),
    ],
)
def test_fixed_size(name: str, size: int) -> None:
    assert sample(name).size == size


def test_data_loc_and_rel_loc_are_dynamic() -> None:
    fmt = TracepointFormat.parse(
        "format:\n\tfield:__data_loc char[] a;\toffset:8;\tsize:4;\tsigned:0;\n"
        "\tfield:__rel_loc u8[] b;\toffset:12;\tsize:4;\tsigned:0;\n"
    )
    assert fmt.field("a").data_loc and fmt.field("b").rel_loc
    assert fmt.field("a").dynamic and fmt.field("b").dynamic


def test_odd_declarations() -> None:
    fmt = TracepointFormat.parse(
        "format:\n"
        "\tfield:__u8 saddr[sizeof(struct sockaddr_in6)];\toffset:8;\tsize:28;\tsigned:0;\n"
        "\tfield:char buf[];\toffset:36;\tsize:0;\tsigned:0;\n"
        "\tfield:struct foo bar;\toffset:40;\tsize:16;\tsigned:0;\n"
        "\tfield:int old;\toffset:56;\tsize:4;\n"
    )
    assert fmt.field("saddr").array == 28 and fmt.field("buf").array == 0
    assert fmt.field("bar").array == 16  # a wide field is bytes
    assert not fmt.field("old").signed


@pytest.mark.parametrize(
    "text",
    [
        "",
        "name: x\nformat:\n",
        "format:\n\tfield:int x;\toffset:8;\tsize:4\n",  # no trailing ';'
        "format:\n\tfield:int x;\toffset:eight;\tsize:4;\n",
        "format:\n\tfield:int x;\tsize:4;\n",  # no offset
        "format:\n\tfield:int x;\toffset:-8;\tsize:4;\n",
        "format:\n\tfield:int x;\toffset:8;\tsize:4;\tsigned:2;\n",
        "format:\n\tfield:int x;\toffset:8;\tsize:4;\tcolour:red;\n",
        "format:\n\tfield:int x;\toffset:70000;\tsize:4;\n",
        "format:\n\tfield:x;\toffset:8;\tsize:4;\n",  # no type
        "format:\n\tfield:int 9x;\toffset:8;\tsize:4;\n",
        "format:\n\tfield:int x;\toffset:8;\tsize:4;\n\tfield:int x;\toffset:12;\tsize:4;\n",
        "format:\n\tfield:char c[3];\toffset:8;\tsize:4;\n",  # 3 elements in 4 bytes
        "format:\n\tfield:__data_loc char[] s;\toffset:8;\tsize:8;\n",
        "ID: seven\nformat:\n\tfield:int x;\toffset:8;\tsize:4;\n",
        "this is not a format\n",
        b"format:\n\tfield:int \xff;\toffset:8;\tsize:4;\n",
    ],
)
def test_bad_formats(text: str | bytes) -> None:
    with pytest.raises(TracepointFormatError) as err:
        TracepointFormat.parse(text)
    assert isinstance(err.value, InputError)


def test_bad_format_error_names_the_line() -> None:
    with pytest.raises(TracepointFormatError) as err:
        TracepointFormat.parse("name: x\nID: 1\nformat:\n\tfield:int x;\toffset:z;\tsize:4;\n")
    assert err.value.line == 4


def test_reads_files_and_reports_missing_ones(tmp_path: Path) -> None:
    path = tmp_path / "format"
    path.write_text(SAMPLES["sched.sched_switch"])
    assert TracepointFormat.from_file(path).name == "sched_switch"
    with pytest.raises(InputError):
        TracepointFormat.from_file(tmp_path / "missing")
    (tmp_path / "events" / "sched" / "sched_switch").mkdir(parents=True)
    (tmp_path / "events" / "sched" / "sched_switch" / "format").write_text(
        SAMPLES["sched.sched_switch"]
    )
    assert TracepointFormat.from_tracefs("sched", "sched_switch", tmp_path).id == 372
    with pytest.raises(InputError):
        TracepointFormat.from_tracefs("sched", "nope", tmp_path)


# -- fuzzing the parser: only BpfErrors come out ----------------------------------------------
_PIECES = st.sampled_from(
    [
        "field:", "offset:", "size:", "signed:", ";", "\t", "\n", " ", "[", "]", "[]", "16",
        "-1", "0", "4", "8", "99999999999999", "int", "char", "__data_loc", "__rel_loc", "x",
        "name:", "ID:", "format:", "print fmt:", "unsigned long", "*", "\x00", "é",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_fuzz_parser_pieces(text: str) -> None:
    try:
        fmt = TracepointFormat.parse(text)
    except BpfError:
        return
    assert fmt.fields


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(SAMPLES)), st.data())
def test_fuzz_parser_mutated_samples(name: str, data: st.DataObject) -> None:
    text = SAMPLES[name].encode()
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 3))
        text = text[:pos] + data.draw(st.binary(max_size=3)) + text[pos + cut :]
    try:
        fmt = TracepointFormat.parse(text)
    except BpfError:
        return
    try:
        record = fmt.pack({})
    except BpfError:
        return
    assert len(record) == fmt.size


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_parser_bytes(raw: bytes) -> None:
    with contextlib.suppress(BpfError):
        TracepointFormat.parse(raw)


# -- records ------------------------------------------------------------------------------
def test_pack_sched_switch() -> None:
    fmt = sample("sched.sched_switch")
    record = fmt.pack({"prev_comm": "bash", "prev_pid": 42, "prev_state": -1, "next_pid": 7})
    assert len(record) == 64
    assert struct.unpack_from("<H", record, 0)[0] == 372  # common_type is the ID
    assert record[8:24] == b"bash".ljust(16, b"\0")
    assert struct.unpack_from("<iiq", record, 24) == (42, 0, -1)
    assert struct.unpack_from("<i", record, 56)[0] == 7


def test_pack_array_and_data_loc() -> None:
    enter = sample("raw_syscalls.sys_enter")
    record = enter.pack({"id": 257, "args": [1, 2, 3]})
    assert struct.unpack_from("<q6Q", record, 8) == (257, 1, 2, 3, 0, 0, 0)
    exec_ = sample("sched.sched_process_exec")
    record = exec_.pack({"filename": "/bin/sh", "pid": 9})
    loc = struct.unpack_from("<I", record, 8)[0]
    assert loc & 0xFFFF == exec_.size and loc >> 16 == len(b"/bin/sh\0")
    assert record[exec_.size :] == b"/bin/sh\0"
    assert exec_.unpack(record)["filename"] == b"/bin/sh\0"


def test_pack_rel_loc_is_relative_to_the_field_end() -> None:
    fmt = TracepointFormat.parse("format:\n\tfield:__rel_loc char[] s;\toffset:8;\tsize:4;\n")
    record = fmt.pack({"s": b"ab"})
    loc = struct.unpack_from("<I", record, 8)[0]
    assert (loc & 0xFFFF) + 12 == 12 and loc >> 16 == 2 and record[12:] == b"ab"
    assert fmt.unpack(record)["s"] == b"ab"


@pytest.mark.parametrize(
    "values",
    [
        {"nope": 1},
        {"prev_pid": 1 << 40},
        {"prev_pid": -(1 << 40)},
        {"prev_pid": "x"},
        {"prev_pid": True},
        {"prev_comm": "a" * 17},
        {"prev_comm": 5},
        {"prev_comm": [1] * 17},
        {"prev_pid": [1]},
    ],
)
def test_pack_errors(values: dict[str, object]) -> None:
    with pytest.raises(InputError):
        sample("sched.sched_switch").pack(values)  # type: ignore[arg-type]


@pytest.mark.parametrize("values", [{"args": [0] * 7}, {"args": b"x" * 49}, {"args": 3}])
def test_pack_array_errors(values: dict[str, object]) -> None:
    with pytest.raises(InputError):
        sample("raw_syscalls.sys_enter").pack(values)  # type: ignore[arg-type]


def test_unpack_short_record() -> None:
    with pytest.raises(InputError):
        sample("sched.sched_switch").unpack(b"\0" * 10)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(-(1 << 31), (1 << 31) - 1),
    st.integers(-(1 << 63), (1 << 63) - 1),
    st.binary(max_size=16),
    st.lists(st.integers(0, (1 << 64) - 1), max_size=6),
)
def test_pack_unpack_roundtrip(pid: int, state: int, comm: bytes, args: list[int]) -> None:
    switch = sample("sched.sched_switch")
    got = switch.unpack(switch.pack({"prev_pid": pid, "prev_state": state, "next_comm": comm}))
    assert (got["prev_pid"], got["prev_state"]) == (pid, state)
    assert got["next_comm"] == comm.ljust(16, b"\0")
    enter = sample("raw_syscalls.sys_enter")
    assert enter.unpack(enter.pack({"args": args}))["args"] == args + [0] * (6 - len(args))


# -- the program type ---------------------------------------------------------------------
def test_registered_default() -> None:
    info = prog_type_info("tracepoint")
    assert isinstance(info, TracepointInfo) and info.prog_type == ProgType.TRACEPOINT
    assert info.format is None and info.ctx_size == PERF_MAX_TRACE_SIZE
    assert HelperId.PROBE_READ_KERNEL in info.helpers and HelperId.PERF_EVENT_OUTPUT in info.helpers
    assert HelperId.SPIN_LOCK not in info.helpers and HelperId.XDP_ADJUST_HEAD not in info.helpers


@pytest.mark.parametrize(
    ("offset", "size", "write", "ok"),
    [
        (0, 2, False, False),  # common_type
        (4, 4, False, False),  # common_pid
        (7, 1, False, False),
        (8, 1, False, True),
        (8, 8, False, True),
        (12, 4, False, True),
        (12, 8, False, False),  # misaligned
        (10, 2, False, True),
        (8, 4, True, False),  # read-only
        (PERF_MAX_TRACE_SIZE - 8, 8, False, True),
        (PERF_MAX_TRACE_SIZE, 8, False, False),
        (-8, 8, False, True),  # the kernel compares unsigned and lets these through
        (-1, 1, False, True),
        (-2, 4, False, False),
        (-8, 8, True, False),
    ],
)
def test_default_access(offset: int, size: int, write: bool, ok: bool) -> None:
    check_access("tracepoint", offset, size, write, ok)


def test_for_format_limits_reads_to_the_record() -> None:
    info = TracepointInfo.for_format(sample("sched.sched_switch"))
    assert info.prog_type == ProgType.TRACEPOINT and info.ctx_size == 64
    assert info.access(56, 8, False) == (56, 8)
    with pytest.raises(ContextAccessError):
        info.access(64, 4, False)
    with pytest.raises(ContextAccessError):
        info.access(0, 2, False)
    assert prog_type_info("tracepoint").format is None  # the default is untouched


def test_run_reads_fields() -> None:
    fmt = sample("sched.sched_switch")
    prog = assemble(
        "r2 = *(s32 *)(r1 +24)\nr3 = *(s32 *)(r1 +56)\nr0 = r2\nr0 *= 1000\nr0 += r3\nexit"
    )
    ctx = fmt.pack({"prev_pid": 12, "next_pid": 34})
    res = Vm(prog, prog_type=TracepointInfo.for_format(fmt)).test_run(ctx_in=ctx)
    assert res.retval == 12034 and res.ctx_out == ctx


def test_run_pads_a_short_record_for_a_format() -> None:
    fmt = sample("sched.sched_switch")
    prog = assemble("r0 = *(u32 *)(r1 +60)\nexit")
    assert Vm(prog, prog_type=TracepointInfo.for_format(fmt)).test_run(ctx_in=b"").retval == 0


def test_default_context_is_exactly_ctx_in() -> None:
    prog = assemble("r0 = *(u64 *)(r1 +16)\nexit")
    vm = Vm(prog, prog_type="tracepoint")
    assert vm.test_run(ctx_in=bytes(16) + struct.pack("<Q", 5)).retval == 5
    with pytest.raises(MemoryAccessError):
        vm.test_run(ctx_in=bytes(16))


def test_common_fields_are_refused_at_load() -> None:
    with pytest.raises(ContextAccessError) as err:
        Vm(assemble("r0 = *(u32 *)(r1 +4)\nexit"), prog_type="tracepoint")
    assert err.value.offset == 4 and err.value.prog_type == "tracepoint"


def test_writes_are_refused_at_load() -> None:
    with pytest.raises(ContextAccessError) as err:
        Vm(assemble("r2 = 1\n*(u32 *)(r1 +8) = r2\nr0 = 0\nexit"), prog_type="tracepoint")
    assert err.value.write


def test_data_loc_string_through_probe_read() -> None:
    """A program finds ``filename`` through its ``__data_loc`` word and copies it."""
    fmt = sample("sched.sched_process_exec")
    prog = assemble(
        """
        r6 = r1
        r3 = *(u32 *)(r6 +8)
        r3 &= 0xffff
        r3 += r6
        r1 = r10
        r1 += -16
        r2 = 16
        call 115
        r0 = *(u64 *)(r10 -16)
        exit
        """
    )
    res = Vm(prog, prog_type=TracepointInfo.for_format(fmt)).test_run(
        ctx_in=fmt.pack({"filename": "/bin/sh"})
    )
    assert res.retval == int.from_bytes(b"/bin", "little")
