"""Programs loaded into the running kernel: ``BPF_PROG_LOAD`` and ``BPF_PROG_TEST_RUN``.

Example (as root)::

    prog = KernelProgram.load([ALU64.MOV.imm(R0, 7), EXIT()], ProgType.SOCKET_FILTER)
    prog.test_run(bytes(64)).retval      # 7
    prog.close()

``KernelProgram`` owns one program fd: ``close()`` (or leaving a ``with`` block, or
garbage collection) closes it. When the verifier rejects a program that was loaded
without a log, ``load`` loads it once more with ``log_level=1`` so that the
``KernelError`` it raises carries the verifier's log.

This module does not attach programs, create maps or relocate ELF objects; it loads
already-final instructions and test-runs them.
"""

from __future__ import annotations

import ctypes
import errno as _errno
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from ebpy.errors import KernelError
from ebpy.isa.encoding import encode
from ebpy.isa.instruction import Instruction
from ebpy.kernel._syscall import (
    OBJ_NAME_LEN,
    FdOwner,
    ProgLoadAttr,
    TestRunAttr,
    addressof,
    bpf,
    close_quietly,
    cmd_name,
)
from ebpy.uapi import BpfCmd, ProgType

#: First size of the verifier-log buffer, and the largest we grow it to.
LOG_SIZE_START = 256 * 1024
LOG_SIZE_MAX = 64 * 1024 * 1024 - 1

#: Extra room in ``data_out`` beyond ``len(data_in)`` (programs may grow packets).
DATA_OUT_SLACK = 4096

#: Room for ``ctx_out``: more than any context struct, so the kernel never answers
#: ``ENOSPC`` for it (``ctx_out`` comes back at the size the kernel reports).
CTX_OUT_ROOM = 4096


@dataclass(frozen=True, slots=True)
class TestRunResult:
    """What one ``BPF_PROG_TEST_RUN`` returned.

    ``retval`` is the program's (32-bit) return value, ``data_out`` the packet after
    the run, ``ctx_out`` the context after the run (None when no context was passed)
    and ``duration_ns`` the kernel's mean time per repetition.
    """

    __test__ = False  # not a pytest test class

    retval: int
    data_out: bytes
    ctx_out: bytes | None
    duration_ns: int


def _name_bytes(name: str) -> bytes:
    # The kernel takes up to 15 bytes of [A-Za-z0-9_.]; longer names are cut, as libbpf does.
    return name.encode("ascii", "replace")[: OBJ_NAME_LEN - 1]


@dataclass(frozen=True, slots=True)
class LoadAttrs:
    """The ``BPF_PROG_LOAD`` fields beyond code, type, license and name.

    ``func_info`` and ``line_info`` are packed ``struct bpf_func_info`` (8 bytes)
    and ``struct bpf_line_info`` (16 bytes) records, instruction offsets in
    instructions; they need ``btf_fd``. ``attach_btf_obj_fd`` 0 means vmlinux.
    """

    expected_attach_type: int = 0
    kernel_version: int = 0
    flags: int = 0
    attach_btf_id: int = 0
    attach_btf_obj_fd: int = 0
    btf_fd: int = 0
    func_info: bytes = b""
    line_info: bytes = b""

    FUNC_INFO_SIZE: ClassVar[int] = 8
    LINE_INFO_SIZE: ClassVar[int] = 16

    def fill(self, attr: ProgLoadAttr) -> list[ctypes.Array[ctypes.c_char]]:
        """Set the fields in ``attr``; the buffers returned must outlive the call."""
        keep = []
        attr.expected_attach_type = self.expected_attach_type
        attr.kern_version = self.kernel_version
        attr.prog_flags = self.flags
        attr.attach_btf_id = self.attach_btf_id
        attr.attach_prog_fd = self.attach_btf_obj_fd
        attr.prog_btf_fd = self.btf_fd
        if self.func_info:
            buf = ctypes.create_string_buffer(self.func_info, len(self.func_info))
            keep.append(buf)
            attr.func_info = addressof(buf)
            attr.func_info_rec_size = self.FUNC_INFO_SIZE
            attr.func_info_cnt = len(self.func_info) // self.FUNC_INFO_SIZE
        if self.line_info:
            buf = ctypes.create_string_buffer(self.line_info, len(self.line_info))
            keep.append(buf)
            attr.line_info = addressof(buf)
            attr.line_info_rec_size = self.LINE_INFO_SIZE
            attr.line_info_cnt = len(self.line_info) // self.LINE_INFO_SIZE
        return keep


_NO_ATTRS = LoadAttrs()


def _load_once(
    code: bytes,
    prog_type: int,
    license: str,
    log_level: int,
    log_size: int,
    name: str,
    attrs: LoadAttrs = _NO_ATTRS,
) -> tuple[int, str, int]:
    """One ``BPF_PROG_LOAD``: (fd, log, log_true_size). Raises on failure.

    On failure the error's ``log`` holds whatever the kernel wrote to the log buffer.
    """
    insns = ctypes.create_string_buffer(code, len(code))
    lic = ctypes.create_string_buffer(license.encode("ascii", "replace"))
    log = ctypes.create_string_buffer(log_size) if log_level else None
    attr = ProgLoadAttr()
    attr.prog_type = int(prog_type)
    attr.insn_cnt = len(code) // 8
    attr.insns = addressof(insns)
    attr.license = addressof(lic)
    attr.log_level = log_level
    attr.log_size = log_size if log is not None else 0
    attr.log_buf = addressof(log)
    attr.prog_name = _name_bytes(name)
    keep = attrs.fill(attr)
    # insns, lic, log and keep are locals, so they stay alive for the whole call.
    try:
        fd = bpf(BpfCmd.PROG_LOAD, attr)
    except KernelError as e:
        raise KernelError(e.cmd, e.errno, _log_text(log)) from None
    del keep
    return fd, _log_text(log), attr.log_true_size


def _log_text(log: ctypes.Array[ctypes.c_char] | None) -> str:
    if log is None:
        return ""
    return log.value.decode("utf-8", "replace")


class KernelProgram(FdOwner):
    """One program loaded into the kernel, owning its fd."""

    def __init__(self, fd: int, prog_type: int = 0, name: str = "", log: str = "") -> None:
        """Wrap an existing program fd; the new object owns (and will close) it."""
        super().__init__(fd)
        self.prog_type = prog_type
        self.name = name
        self.log = log

    # -- loading ----------------------------------------------------------------
    @classmethod
    def load(
        cls,
        insns: Sequence[Instruction] | bytes,
        prog_type: ProgType | int,
        license: str = "GPL",
        log_level: int = 0,
        name: str = "",
        *,
        expected_attach_type: int | None = None,
        kernel_version: int = 0,
        flags: int = 0,
        attach_btf_id: int = 0,
        attach_btf_obj_fd: int = 0,
        btf_fd: int = 0,
        func_info: bytes = b"",
        line_info: bytes = b"",
    ) -> KernelProgram:
        """Load a program with ``BPF_PROG_LOAD``.

        ``insns`` are instructions (encoded with ``ebpy.isa.encoding.encode``) or
        bytecode. With ``log_level`` > 0 the verifier log is kept in ``.log``. A
        rejected program raises ``KernelError`` whose ``log`` is the verifier's log
        (fetched by a second load with ``log_level=1`` when none was asked for);
        missing privileges raise ``NotSupportedError``. The keyword arguments are
        the other ``BPF_PROG_LOAD`` fields (``LoadAttrs``).
        """
        code = insns if isinstance(insns, bytes | bytearray) else encode(insns)
        code = bytes(code)
        if not code or len(code) % 8:
            raise KernelError(cmd_name(BpfCmd.PROG_LOAD), _errno.EINVAL, "empty or ragged program")
        attrs = LoadAttrs(
            expected_attach_type or 0,
            kernel_version,
            flags,
            attach_btf_id,
            attach_btf_obj_fd,
            btf_fd,
            func_info,
            line_info,
        )
        if log_level:
            fd, log = _load_with_log(code, prog_type, license, log_level, name, attrs)
            return cls(fd, int(prog_type), name, log)
        try:
            fd, _, _ = _load_once(code, prog_type, license, 0, 0, name, attrs)
        except KernelError as first:
            try:
                fd, log = _load_with_log(code, prog_type, license, 1, name, attrs)
            except KernelError as second:
                raise KernelError(first.cmd, first.errno, second.log) from None
            # Loaded with a log but not without: keep the first error, drop the program.
            close_quietly(fd)
            raise KernelError(first.cmd, first.errno, log) from None
        return cls(fd, int(prog_type), name)

    KIND = "program"

    def _describe(self) -> str:
        return f"prog_type={self.prog_type}, name={self.name!r}"

    # -- running ----------------------------------------------------------------
    def test_run(
        self,
        data_in: bytes,
        ctx_in: bytes | None = None,
        repeat: int = 1,
        data_out_size: int | None = None,
    ) -> TestRunResult:
        """Run the program once (or ``repeat`` times) with ``BPF_PROG_TEST_RUN``.

        ``data_out`` has room for ``data_out_size`` bytes (by default the input plus
        some slack; if the kernel still needs more, the run is repeated with the size
        it asks for). ``ctx_out`` is returned when ``ctx_in`` is given (``b""`` asks for
        an all-zero context), at the size of the type's context struct.
        """
        fd = self.fd
        size = len(data_in) + DATA_OUT_SLACK if data_out_size is None else data_out_size
        try:
            return _test_run_once(fd, data_in, ctx_in, repeat, size)
        except _NoSpace as e:
            if data_out_size is not None or e.needed <= size:
                raise
            return _test_run_once(fd, data_in, ctx_in, repeat, e.needed)


def _load_with_log(
    code: bytes,
    prog_type: int,
    license: str,
    log_level: int,
    name: str,
    attrs: LoadAttrs = _NO_ATTRS,
) -> tuple[int, str]:
    """Load with a log buffer, growing it while the kernel says the log did not fit."""
    size = LOG_SIZE_START
    while True:
        try:
            fd, log, _ = _load_once(code, prog_type, license, log_level, size, name, attrs)
            return fd, log
        except KernelError as e:
            if e.errno != _errno.ENOSPC or size >= LOG_SIZE_MAX:
                raise
            size = min(size * 4, LOG_SIZE_MAX)


class _NoSpace(KernelError):
    """``ENOSPC`` from a test run, with the size the kernel asked for."""

    def __init__(self, cmd: str, errno: int, needed: int) -> None:
        super().__init__(cmd, errno)
        self.needed = needed


def _test_run_once(
    fd: int, data_in: bytes, ctx_in: bytes | None, repeat: int, out_size: int
) -> TestRunResult:
    din = ctypes.create_string_buffer(bytes(data_in), max(len(data_in), 1))
    dout = ctypes.create_string_buffer(max(out_size, 1))
    has_ctx = ctx_in is not None
    ctx_bytes = bytes(ctx_in or b"")
    cin = ctypes.create_string_buffer(ctx_bytes, max(len(ctx_bytes), 1)) if has_ctx else None
    cout_size = max(len(ctx_bytes), CTX_OUT_ROOM)
    cout = ctypes.create_string_buffer(cout_size) if has_ctx else None
    attr = TestRunAttr()
    attr.prog_fd = fd
    attr.data_size_in = len(data_in)
    attr.data_in = addressof(din) if data_in else 0
    attr.data_size_out = out_size
    attr.data_out = addressof(dout) if out_size else 0
    attr.repeat = repeat
    if has_ctx:
        attr.ctx_size_in = len(ctx_bytes)
        attr.ctx_in = addressof(cin)
        attr.ctx_size_out = cout_size
        attr.ctx_out = addressof(cout)
    try:
        bpf(BpfCmd.PROG_TEST_RUN, attr)
    except KernelError as e:
        if e.errno == _errno.ENOSPC:
            raise _NoSpace(e.cmd, e.errno, attr.data_size_out) from None
        raise
    data_out = dout.raw[: min(attr.data_size_out, out_size)]
    ctx_out = None
    if cout is not None:
        ctx_out = cout.raw[: min(attr.ctx_size_out, cout_size)]
    return TestRunResult(attr.retval, data_out, ctx_out, attr.duration)
