"""The raw ``bpf(2)`` system call through ctypes, and the parts of ``union bpf_attr`` we use.

``bpf(cmd, attr)`` calls ``syscall(__NR_bpf, cmd, &attr, sizeof(attr))`` through the C
library's ``syscall`` function (no libbpf), returns the non-negative result and turns
a failure into an ``ebpy`` error: ``EPERM`` (missing privilege) and ``ENOSYS`` (no
``bpf(2)`` in this kernel) become ``NotSupportedError``, every other errno a
``KernelError`` carrying the command and the errno.

Each command's view of ``union bpf_attr`` is a ``ctypes.Structure`` padded with zeros
to ``ATTR_SIZE`` bytes; its field offsets follow ``linux/bpf.h`` (``__aligned_u64``
fields are 8-byte aligned, which is also ctypes' natural alignment for ``c_uint64``
on the 64-bit machines we support). Pointer fields are plain ``u64`` addresses:
the caller keeps the buffers they point to alive until ``bpf()`` returns
(``addressof`` below gives the address of a ctypes buffer).

Views here: ``BPF_PROG_LOAD``, ``BPF_PROG_TEST_RUN``, ``BPF_MAP_CREATE``, the
``BPF_MAP_*_ELEM`` commands (also ``GET_NEXT_KEY``, ``LOOKUP_AND_DELETE_ELEM`` and
``FREEZE``), the ``BPF_MAP_*_BATCH`` commands, ``BPF_BTF_LOAD``, ``BPF_OBJ_GET_INFO_BY_FD``
and the ``struct bpf_map_info`` it fills for a map. ``FdOwner`` is the common base of the
objects that own a bpf fd (closing it once, on ``close()``, at the end of a ``with``
block or when the object is collected).

This module is the only place that knows syscall numbers and struct layouts. It
does not decide policy (retries with a log, sizes of buffers, closing fds, which
errno becomes which error): that is ``ebpy.kernel.prog``'s and ``ebpy.kernel.map``'s job.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno as _errno
import functools
import os
import platform
import sys
import weakref
from collections.abc import Callable

from ebpy.closing import Closing
from ebpy.errors import KernelError, NotSupportedError
from ebpy.uapi import BpfCmd

#: ``__NR_bpf`` by ``platform.machine()``.
SYSCALL_NUMBERS = {
    "x86_64": 321,
    "amd64": 321,
    "aarch64": 280,
    "arm64": 280,
}

#: Bytes of ``union bpf_attr`` we pass. The kernel accepts a shorter union than its
#: own (it zero-fills the rest) and a longer one whose extra bytes are zero; 144
#: bytes reach ``log_true_size``, the last ``BPF_PROG_LOAD`` field we read.
ATTR_SIZE = 144

#: ``BPF_OBJ_NAME_LEN``: program names hold at most 15 bytes and a NUL.
OBJ_NAME_LEN = 16

_u32 = ctypes.c_uint32
_u64 = ctypes.c_uint64

PRIVILEGE_HINT = "bpf(2) needs root (or CAP_BPF with CAP_PERFMON/CAP_NET_ADMIN)"


class ProgLoadAttr(ctypes.Structure):
    """``union bpf_attr`` as read by ``BPF_PROG_LOAD`` (``BPF_PROG_LOAD = 5``)."""

    _fields_ = [
        ("prog_type", _u32),  # 0
        ("insn_cnt", _u32),  # 4
        ("insns", _u64),  # 8: const struct bpf_insn *
        ("license", _u64),  # 16: const char *
        ("log_level", _u32),  # 24
        ("log_size", _u32),  # 28
        ("log_buf", _u64),  # 32: char *
        ("kern_version", _u32),  # 40
        ("prog_flags", _u32),  # 44
        ("prog_name", ctypes.c_char * OBJ_NAME_LEN),  # 48
        ("prog_ifindex", _u32),  # 64
        ("expected_attach_type", _u32),  # 68
        ("prog_btf_fd", _u32),  # 72
        ("func_info_rec_size", _u32),  # 76
        ("func_info", _u64),  # 80
        ("func_info_cnt", _u32),  # 88
        ("line_info_rec_size", _u32),  # 92
        ("line_info", _u64),  # 96
        ("line_info_cnt", _u32),  # 104
        ("attach_btf_id", _u32),  # 108
        ("attach_prog_fd", _u32),  # 112 (a union with attach_btf_obj_fd)
        ("core_relo_cnt", _u32),  # 116
        ("fd_array", _u64),  # 120
        ("core_relos", _u64),  # 128
        ("core_relo_rec_size", _u32),  # 136
        ("log_true_size", _u32),  # 140: written back by Linux >= 6.4
    ]


class TestRunAttr(ctypes.Structure):
    """``union bpf_attr`` as read by ``BPF_PROG_TEST_RUN`` (``BPF_PROG_TEST_RUN = 10``)."""

    __test__ = False  # not a pytest test class

    _fields_ = [
        ("prog_fd", _u32),  # 0
        ("retval", _u32),  # 4: output
        ("data_size_in", _u32),  # 8
        ("data_size_out", _u32),  # 12: input and output
        ("data_in", _u64),  # 16
        ("data_out", _u64),  # 24
        ("repeat", _u32),  # 32
        ("duration", _u32),  # 36: output, mean ns per run
        ("ctx_size_in", _u32),  # 40
        ("ctx_size_out", _u32),  # 44: input and output
        ("ctx_in", _u64),  # 48
        ("ctx_out", _u64),  # 56
        ("flags", _u32),  # 64
        ("cpu", _u32),  # 68
        ("batch_size", _u32),  # 72
        ("_pad", ctypes.c_uint8 * (ATTR_SIZE - 76)),
    ]


class MapCreateAttr(ctypes.Structure):
    """``union bpf_attr`` as read by ``BPF_MAP_CREATE`` (``BPF_MAP_CREATE = 0``)."""

    _fields_ = [
        ("map_type", _u32),  # 0
        ("key_size", _u32),  # 4
        ("value_size", _u32),  # 8
        ("max_entries", _u32),  # 12
        ("map_flags", _u32),  # 16
        ("inner_map_fd", _u32),  # 20
        ("numa_node", _u32),  # 24
        ("map_name", ctypes.c_char * OBJ_NAME_LEN),  # 28
        ("map_ifindex", _u32),  # 44
        ("btf_fd", _u32),  # 48
        ("btf_key_type_id", _u32),  # 52
        ("btf_value_type_id", _u32),  # 56
        ("btf_vmlinux_value_type_id", _u32),  # 60
        ("map_extra", _u64),  # 64: bloom filter: number of hashes in the low 4 bits
        ("_pad", ctypes.c_uint8 * (ATTR_SIZE - 72)),
    ]


class MapElemAttr(ctypes.Structure):
    """``union bpf_attr`` as read by the ``BPF_MAP_*_ELEM`` commands, ``BPF_MAP_GET_NEXT_KEY``
    and ``BPF_MAP_FREEZE`` (which reads only ``map_fd``)."""

    _fields_ = [
        ("map_fd", _u32),  # 0
        ("key", _u64),  # 8: const void *, NULL for maps without keys
        ("value", _u64),  # 16: void *; ``next_key`` for BPF_MAP_GET_NEXT_KEY
        ("flags", _u64),  # 24: BPF_ANY/NOEXIST/EXIST, BPF_F_LOCK
        ("_pad", ctypes.c_uint8 * (ATTR_SIZE - 32)),
    ]


class MapBatchAttr(ctypes.Structure):
    """``union bpf_attr`` as read by the ``BPF_MAP_*_BATCH`` commands (24 to 27)."""

    _fields_ = [
        ("in_batch", _u64),  # 0: opaque position, NULL to start at the beginning
        ("out_batch", _u64),  # 8: output: the position to continue from
        ("keys", _u64),  # 16: keys, one after the other
        ("values", _u64),  # 24: values, one after the other
        ("count", _u32),  # 32: input: elements room / to do; output: elements done
        ("map_fd", _u32),  # 36
        ("elem_flags", _u64),  # 40: flags for each element (BPF_F_LOCK, BPF_ANY ...)
        ("flags", _u64),  # 48: flags of the batch itself (none defined)
        ("_pad", ctypes.c_uint8 * (ATTR_SIZE - 56)),
    ]


class BtfLoadAttr(ctypes.Structure):
    """``union bpf_attr`` as read by ``BPF_BTF_LOAD`` (``BPF_BTF_LOAD = 18``)."""

    _fields_ = [
        ("btf", _u64),  # 0: const void *, the raw BTF
        ("btf_log_buf", _u64),  # 8: char *
        ("btf_size", _u32),  # 16
        ("btf_log_size", _u32),  # 20
        ("btf_log_level", _u32),  # 24
        ("btf_log_true_size", _u32),  # 28: output (Linux >= 6.4)
        ("_pad", ctypes.c_uint8 * (ATTR_SIZE - 32)),
    ]


class ObjInfoAttr(ctypes.Structure):
    """``union bpf_attr`` as read by ``BPF_OBJ_GET_INFO_BY_FD`` (``= 15``)."""

    _fields_ = [
        ("bpf_fd", _u32),  # 0
        ("info_len", _u32),  # 4: input: room in ``info``; output: bytes written
        ("info", _u64),  # 8: struct bpf_map_info * (or prog/btf/link info)
        ("_pad", ctypes.c_uint8 * (ATTR_SIZE - 16)),
    ]


class BpfMapInfo(ctypes.Structure):
    """``struct bpf_map_info``, what ``BPF_OBJ_GET_INFO_BY_FD`` writes for a map fd."""

    _fields_ = [
        ("type", _u32),  # 0
        ("id", _u32),  # 4
        ("key_size", _u32),  # 8
        ("value_size", _u32),  # 12
        ("max_entries", _u32),  # 16
        ("map_flags", _u32),  # 20
        ("name", ctypes.c_char * OBJ_NAME_LEN),  # 24
        ("ifindex", _u32),  # 40
        ("btf_vmlinux_value_type_id", _u32),  # 44
        ("netns_dev", _u64),  # 48
        ("netns_ino", _u64),  # 56
        ("btf_id", _u32),  # 64
        ("btf_key_type_id", _u32),  # 68
        ("btf_value_type_id", _u32),  # 72
        ("_pad0", _u32),  # 76
        ("map_extra", _u64),  # 80
    ]


#: ``sizeof(struct bpf_map_info)`` in the headers we follow.
MAP_INFO_SIZE = 88

_ATTR_VIEWS: tuple[type[ctypes.Structure], ...] = (
    ProgLoadAttr,
    TestRunAttr,
    MapCreateAttr,
    MapElemAttr,
    MapBatchAttr,
    ObjInfoAttr,
    BtfLoadAttr,
)
if any(ctypes.sizeof(view) != ATTR_SIZE for view in _ATTR_VIEWS):
    raise ImportError("union bpf_attr views have the wrong size on this platform")
if ctypes.sizeof(BpfMapInfo) != MAP_INFO_SIZE:
    raise ImportError("struct bpf_map_info has the wrong size on this platform")


def addressof(buf: ctypes.Array[ctypes.c_char] | None) -> int:
    """The address of a ctypes buffer as a ``u64`` attr field (0 for None)."""
    return 0 if buf is None else ctypes.addressof(buf)


def syscall_number() -> int:
    """``__NR_bpf`` on this machine; ``NotSupportedError`` elsewhere."""
    if not sys.platform.startswith("linux"):
        raise NotSupportedError("bpf(2)", f"bpf(2) is a Linux system call; this is {sys.platform}")
    machine = platform.machine().lower()
    try:
        return SYSCALL_NUMBERS[machine]
    except KeyError:
        raise NotSupportedError(
            "bpf(2)", f"the bpf syscall number for {machine!r} is not known to ebpy"
        ) from None


_SyscallFn = Callable[[int, int, object, int], int]


@functools.cache
def libc() -> ctypes.CDLL:
    """The C library of this process (errno kept for ``ctypes.get_errno``), loaded once."""
    return ctypes.CDLL(None, use_errno=True)


@functools.cache
def _libc_syscall() -> _SyscallFn:
    fn = libc().syscall
    fn.restype = ctypes.c_long
    fn.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint]
    call: _SyscallFn = fn
    return call


def cmd_name(cmd: int) -> str:
    """``BPF_PROG_LOAD`` for ``BpfCmd.PROG_LOAD``; the number for an unknown command."""
    try:
        return f"BPF_{BpfCmd(cmd).name}"
    except ValueError:
        return f"bpf cmd {int(cmd)}"


def error_for(cmd: int, err: int) -> KernelError | NotSupportedError:
    """The ebpy error for ``bpf(cmd)`` failing with ``err``."""
    name = cmd_name(cmd)
    if err == _errno.EPERM:
        return NotSupportedError(f"{name} (EPERM)", PRIVILEGE_HINT)
    if err == _errno.ENOSYS:
        return NotSupportedError(
            f"{name} (ENOSYS)", "this kernel was built without bpf(2) (CONFIG_BPF_SYSCALL)"
        )
    return KernelError(name, err)


_RETRY_ERRNOS = frozenset({_errno.EINTR, _errno.EAGAIN})
#: What ``bpf_errno`` retries by default: only an interrupted call (``EAGAIN`` may be
#: a map's own answer).
RETRY_EINTR = frozenset({_errno.EINTR})
_RETRIES = 5


def bpf_errno(cmd: int, attr: ctypes.Structure, retry: frozenset[int] = RETRY_EINTR) -> int:
    """Run ``bpf(cmd, &attr, sizeof(attr))``; the result (>= 0) or ``-errno``.

    Nothing is raised for a failed command (except ``NotSupportedError`` when this
    machine has no bpf(2) at all): callers that turn errnos into their own errors
    (the maps) use this; the errnos in ``retry`` are retried a few times. Every
    buffer an address field of ``attr`` points to must stay alive until this returns.
    """
    nr = syscall_number()
    fn = _libc_syscall()
    size = ctypes.sizeof(attr)
    err = 0
    for _ in range(_RETRIES):
        ret = fn(nr, int(cmd), ctypes.byref(attr), size)
        if ret >= 0:
            return int(ret)
        err = ctypes.get_errno()
        if err not in retry:
            break
    return -err


def bpf(cmd: int, attr: ctypes.Structure) -> int:
    """Run ``bpf(cmd, &attr, sizeof(attr))``; the result (often a new fd) or an error.

    ``EINTR`` and ``EAGAIN`` are retried a few times, as the kernel asks for. Every
    buffer an address field of ``attr`` points to must stay alive until this returns.
    """
    ret = bpf_errno(cmd, attr, _RETRY_ERRNOS)
    if ret >= 0:
        return ret
    raise error_for(cmd, -ret)


def close_quietly(fd: int) -> None:
    """``os.close(fd)``, ignoring an fd that is already gone."""
    with contextlib.suppress(OSError):
        os.close(fd)


class FdOwner(Closing):
    """Owns one bpf fd: closes it on ``close()``, after ``with``, or when collected.

    Subclasses name what the fd is (``KIND``, in the ``EBADF`` error of a closed
    object) and describe themselves for ``repr`` (``_describe``).
    """

    KIND = "object"

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._finalizer = weakref.finalize(self, close_quietly, fd)

    @property
    def fd(self) -> int:
        """The fd; ``KernelError(EBADF)`` once closed."""
        if not self._finalizer.alive:
            raise KernelError(f"{self.KIND} fd", _errno.EBADF, f"the {self.KIND} was closed")
        return self._fd

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        """Close the fd (again is a no-op)."""
        self._finalizer()

    def _describe(self) -> str:
        return ""

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"fd={self._fd}"
        return f"{type(self).__name__}({state}, {self._describe()})"
