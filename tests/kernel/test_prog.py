"""ebpy.kernel: the bpf(2) wrapper, KernelProgram and the feature probe.

Tests marked ``kernel`` load real programs (root and bpf(2) needed; they skip
otherwise). The rest check struct layouts and the error paths with a fake syscall.
"""

from __future__ import annotations

import ctypes
import errno
import gc
import os
import platform
import struct
from collections.abc import Iterator

import pytest

from ebpy.errors import KernelError, NotSupportedError
from ebpy.isa.builder import ALU64, EXIT, FP, LDX, R0, R1, R3, STX
from ebpy.isa.encoding import encode
from ebpy.isa.opcodes import Size
from ebpy.kernel import (
    KernelProgram,
    TestRunResult,
    _syscall,
    bpf_available,
    features,
    prog,
    require_bpf,
)
from ebpy.uapi import ProgType

kernel = pytest.mark.kernel
SOCKET_FILTER = ProgType.SOCKET_FILTER
PACKET = bytes(range(64))

RET_42 = [ALU64.MOV.imm(R0, 42), EXIT()]


# -- layouts (facts from linux/bpf.h) ------------------------------------------


@pytest.mark.parametrize(
    ("field", "offset"),
    [
        ("prog_type", 0),
        ("insn_cnt", 4),
        ("insns", 8),
        ("license", 16),
        ("log_level", 24),
        ("log_size", 28),
        ("log_buf", 32),
        ("kern_version", 40),
        ("prog_flags", 44),
        ("prog_name", 48),
        ("prog_ifindex", 64),
        ("expected_attach_type", 68),
        ("fd_array", 120),
        ("log_true_size", 140),
    ],
)
def test_prog_load_attr_layout(field: str, offset: int) -> None:
    assert getattr(_syscall.ProgLoadAttr, field).offset == offset


@pytest.mark.parametrize(
    ("field", "offset"),
    [
        ("prog_fd", 0),
        ("retval", 4),
        ("data_size_in", 8),
        ("data_size_out", 12),
        ("data_in", 16),
        ("data_out", 24),
        ("repeat", 32),
        ("duration", 36),
        ("ctx_size_in", 40),
        ("ctx_size_out", 44),
        ("ctx_in", 48),
        ("ctx_out", 56),
        ("flags", 64),
        ("cpu", 68),
        ("batch_size", 72),
    ],
)
def test_test_run_attr_layout(field: str, offset: int) -> None:
    assert getattr(_syscall.TestRunAttr, field).offset == offset


def test_attr_size() -> None:
    assert ctypes.sizeof(_syscall.ProgLoadAttr) == _syscall.ATTR_SIZE
    assert ctypes.sizeof(_syscall.TestRunAttr) == _syscall.ATTR_SIZE


# -- loading and running ---------------------------------------------------------


@kernel
def test_load_and_test_run() -> None:
    with KernelProgram.load(RET_42, SOCKET_FILTER, name="ebpy_test") as p:
        assert p.fd >= 0
        res = p.test_run(PACKET)
    assert isinstance(res, TestRunResult)
    assert res.retval == 42
    # For a socket filter the kernel hands the 14-byte Ethernet header back zeroed.
    assert len(res.data_out) == len(PACKET)
    assert res.data_out[14:] == PACKET[14:]
    assert res.ctx_out is None
    assert res.duration_ns >= 0
    assert p.closed


@kernel
def test_load_bytecode_and_repeat() -> None:
    with KernelProgram.load(encode(RET_42), SOCKET_FILTER) as p:
        assert p.test_run(PACKET, repeat=100).retval == 42


@kernel
def test_retval_is_the_low_32_bits() -> None:
    from ebpy.isa.builder import LDDW

    with KernelProgram.load([LDDW(R0, 0x1234_5678_9ABC_DEF0), EXIT()], SOCKET_FILTER) as p:
        assert p.test_run(PACKET).retval == 0x9ABC_DEF0


@kernel
def test_ctx_in_and_out() -> None:
    # r0 = __sk_buff.cb[1]; __sk_buff.cb[0] = r0 + 1
    insns = [
        LDX(Size.W, R0, R1, 52),
        ALU64.MOV.reg(R3, R0),
        ALU64.ADD.imm(R3, 1),
        STX(Size.W, R1, R3, 48),
        EXIT(),
    ]
    ctx = bytearray(192)
    struct.pack_into("<I", ctx, 52, 41)
    with KernelProgram.load(insns, SOCKET_FILTER) as p:
        res = p.test_run(PACKET, ctx_in=bytes(ctx))
    assert res.retval == 41
    assert res.ctx_out is not None and len(res.ctx_out) == 192
    assert struct.unpack_from("<I", res.ctx_out, 48)[0] == 42


@kernel
def test_data_out_too_small() -> None:
    with KernelProgram.load(RET_42, SOCKET_FILTER) as p:
        with pytest.raises(KernelError) as info:
            p.test_run(PACKET, data_out_size=8)
        assert info.value.errno == errno.ENOSPC
        assert p.test_run(PACKET, data_out_size=64).data_out[14:] == PACKET[14:]


@kernel
def test_log_level_keeps_the_log() -> None:
    with KernelProgram.load(RET_42, SOCKET_FILTER, log_level=2) as p:
        assert "processed" in p.log


@kernel
def test_log_buffer_grows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prog, "LOG_SIZE_START", 128)
    with KernelProgram.load(RET_42, SOCKET_FILTER, log_level=2) as p:
        assert len(p.log) > 128 and "processed" in p.log


@kernel
@pytest.mark.parametrize(
    "insns",
    [
        [ALU64.MOV.reg(R0, R3), EXIT()],  # r3 is not initialised
        [ALU64.MOV.imm(R0, 1), ALU64.DIV.imm(R0, 0), EXIT()],  # division by an immediate 0
        [ALU64.MOV.imm(R0, 0), ALU64.MOV.imm(FP, 0), EXIT()],  # writes r10
        [ALU64.MOV.imm(R0, 0)],  # falls off the end
    ],
    ids=["uninit-reg", "div-imm-0", "write-r10", "no-exit"],
)
def test_rejected_program_has_log(insns: list[object]) -> None:
    with pytest.raises(KernelError) as info:
        KernelProgram.load(insns, SOCKET_FILTER)  # type: ignore[arg-type]
    e = info.value
    assert e.cmd == "BPF_PROG_LOAD"
    assert e.errno in (errno.EACCES, errno.EINVAL)
    assert e.log.strip()


@kernel
def test_invalid_fd() -> None:
    r, w = os.pipe()
    os.close(w)
    os.close(r)  # r is now a closed descriptor number
    p = KernelProgram(r)
    with pytest.raises(KernelError) as info:
        p.test_run(PACKET)
    assert info.value.errno == errno.EBADF
    assert info.value.cmd == "BPF_PROG_TEST_RUN"


@kernel
def test_fd_that_is_not_a_program() -> None:
    fd = os.open(os.devnull, os.O_RDONLY)
    with KernelProgram(fd) as p, pytest.raises(KernelError) as info:
        p.test_run(PACKET)
    assert info.value.errno in (errno.EINVAL, errno.EBADF)


def test_closed_program_raises() -> None:
    fd = os.open(os.devnull, os.O_RDONLY)
    p = KernelProgram(fd)
    p.close()
    p.close()  # twice is fine
    with pytest.raises(KernelError) as info:
        p.test_run(PACKET)
    assert info.value.errno == errno.EBADF
    with pytest.raises(OSError):
        os.fstat(fd)


def test_fd_closed_on_gc() -> None:
    fd = os.open(os.devnull, os.O_RDONLY)
    p = KernelProgram(fd)
    del p
    gc.collect()
    with pytest.raises(OSError):
        os.fstat(fd)


# -- missing privileges or syscall (simulated) ------------------------------------


def _fake_syscall(err: int) -> object:
    def syscall(nr: int, cmd: int, attr: object, size: int) -> int:
        ctypes.set_errno(err)
        return -1

    return syscall


@pytest.fixture
def fresh_probe() -> Iterator[None]:
    features.bpf_unavailable_reason.cache_clear()
    yield
    features.bpf_unavailable_reason.cache_clear()


@pytest.mark.parametrize("err", [errno.EPERM, errno.ENOSYS])
def test_not_supported_errors(monkeypatch: pytest.MonkeyPatch, err: int) -> None:
    monkeypatch.setattr(_syscall, "_libc_syscall", lambda: _fake_syscall(err))
    monkeypatch.setattr(_syscall, "syscall_number", lambda: 321)
    with pytest.raises(NotSupportedError) as info:
        KernelProgram.load(RET_42, SOCKET_FILTER)
    assert "BPF_PROG_LOAD" in info.value.feature
    assert info.value.hint


def test_other_errors_are_kernel_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_syscall, "_libc_syscall", lambda: _fake_syscall(errno.E2BIG))
    monkeypatch.setattr(_syscall, "syscall_number", lambda: 321)
    with pytest.raises(KernelError) as info:
        KernelProgram.load(RET_42, SOCKET_FILTER)
    assert info.value.errno == errno.E2BIG


def test_unknown_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "machine", lambda: "pdp11")
    with pytest.raises(NotSupportedError) as info:
        _syscall.syscall_number()
    assert "pdp11" in info.value.hint


@pytest.mark.usefixtures("fresh_probe")
def test_probe_without_privilege(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_syscall, "_libc_syscall", lambda: _fake_syscall(errno.EPERM))
    monkeypatch.setattr(_syscall, "syscall_number", lambda: 321)
    monkeypatch.setattr(features, "syscall_number", lambda: 321)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert not bpf_available()
    with pytest.raises(NotSupportedError) as info:
        require_bpf()
    assert info.value.hint


@pytest.mark.usefixtures("fresh_probe")
def test_probe_not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(features, "syscall_number", lambda: 321)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert not bpf_available()
    assert "root" in (features.bpf_unavailable_reason() or "")


@kernel
def test_probe_here() -> None:
    assert bpf_available()
    require_bpf()
