"""Classic (and eBPF) socket filters in the running kernel: ``SO_ATTACH_FILTER`` and friends.

``attach_filter(sock, insns)`` puts a classic program on a socket with
``setsockopt(SOL_SOCKET, SO_ATTACH_FILTER, struct sock_fprog)``; the kernel
checks it (``bpf_check_classic``), translates it to eBPF and runs it on every
packet the socket receives. ``attach_bpf(sock, prog_fd)`` does the same for a
loaded ``BPF_PROG_TYPE_SOCKET_FILTER`` program (``SO_ATTACH_BPF``).

``kernel_run(insns, packets)`` runs a classic program in the kernel on given
bytes, with no root and no network device: the filter goes on the receiving
end of an ``AF_UNIX`` ``SOCK_DGRAM`` socket pair and each packet is sent as one
datagram. The filter runs while ``sendmsg`` delivers it; a dropped datagram
never arrives (the sender is not told) and an accepted one arrives cut to the
filter's return value. There the filter sees the datagram from its first byte
(``skb->data``, offset 0, is the first byte sent; ``SKF_NET_OFF`` counts from
there too, and ``SKF_LL_OFF`` loads fail because an ``AF_UNIX`` skb has no MAC
header), ``skb->len`` is the datagram's length, and every ancillary value is
that of a locally made skb with no device: ``protocol``, ``pkttype``, ``mark``,
``queue``, ``rxhash``, the VLAN fields and ``poff`` read 0, ``cpu`` is the
sender's CPU, and ``ifidx``/``hatype`` end the program returning A (the
kernel's translation does that when ``skb->dev`` is NULL). ``skb_for_unix``
gives the matching ``ebpy.cbpf.interp.SkbInfo``. (``BPF_PROG_TEST_RUN`` of an
eBPF socket filter sees packets differently: it takes an Ethernet frame and
starts ``skb->data`` at the network header, offset 0 being the byte after the
14-byte MAC header, which only ``SKF_LL_OFF`` loads reach.)

``kernel_validate(insns)`` is the kernel's verdict on a classic program:
whether ``SO_ATTACH_FILTER`` takes it (``kernel_check`` gives the errno). This module does not check programs
itself (``ebpy.cbpf.validate``) or run them in userspace (``ebpy.cbpf.interp``).
"""

from __future__ import annotations

import ctypes
import errno as _errno
import os
import socket
import struct
from collections.abc import Iterable, Sequence

from ebpy.cbpf.interp import SkbInfo
from ebpy.cbpf.isa import Insn, encode
from ebpy.errors import KernelError

__all__ = [
    "SO_ATTACH_BPF",
    "SO_ATTACH_FILTER",
    "SO_DETACH_FILTER",
    "attach_bpf",
    "attach_filter",
    "detach_filter",
    "kernel_check",
    "kernel_run",
    "kernel_validate",
    "skb_for_unix",
]

SO_ATTACH_FILTER = 26
SO_DETACH_FILTER = 27
SO_ATTACH_BPF = 50

MAX_DATAGRAM = 65507
"""Largest packet ``kernel_run`` sends (a datagram this long always fits the buffers)."""

_FPROG = struct.Struct("@HxxxxxxP")
"""``struct sock_fprog { unsigned short len; struct sock_filter *filter; }`` (x86-64, arm64)."""


def _setsockopt_filter(sock: socket.socket, code: bytes, count: int) -> None:
    buf = ctypes.create_string_buffer(code, max(len(code), 1))
    fprog = _FPROG.pack(count, ctypes.addressof(buf))
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    except OSError as e:
        raise KernelError("SO_ATTACH_FILTER", e.errno or _errno.EINVAL) from None
    finally:
        del buf  # the kernel copied the program during the call


def attach_filter(sock: socket.socket, insns: Sequence[Insn]) -> None:
    """Attach a classic program to ``sock``; ``KernelError`` (errno ``EINVAL`` ...) if refused.

    A program of more than 65535 instructions cannot be described to the kernel
    (``sock_fprog.len`` is 16 bits) and is refused with ``EINVAL`` without asking.
    """
    if len(insns) > 0xFFFF:
        raise KernelError("SO_ATTACH_FILTER", _errno.EINVAL)
    _setsockopt_filter(sock, encode(insns), len(insns))


def attach_bpf(sock: socket.socket, prog_fd: int) -> None:
    """Attach a loaded eBPF socket filter (its fd) to ``sock`` with ``SO_ATTACH_BPF``."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_BPF, struct.pack("i", prog_fd))
    except OSError as e:
        raise KernelError("SO_ATTACH_BPF", e.errno or _errno.EINVAL) from None


def detach_filter(sock: socket.socket) -> None:
    """Remove the filter of ``sock`` (``ENOENT`` as ``KernelError`` if it has none)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_DETACH_FILTER, 0)
    except OSError as e:
        raise KernelError("SO_DETACH_FILTER", e.errno or _errno.EINVAL) from None


def kernel_check(insns: Sequence[Insn]) -> int:
    """The kernel's verdict on ``insns`` as a socket filter: 0, or the errno of the refusal.

    ``EINVAL`` is a program ``bpf_check_classic`` rejects; ``ENOMEM`` one whose
    translation does not fit ``net.core.optmem_max`` (a limit, not a verdict).
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            attach_filter(sock, insns)
        except KernelError as e:
            return e.errno
    return 0


def kernel_validate(insns: Sequence[Insn]) -> bool:
    """True when the kernel accepts ``insns`` as a socket filter (``SO_ATTACH_FILTER``)."""
    return kernel_check(insns) == 0


def kernel_run(
    insns: Sequence[Insn] | None, packets: Iterable[bytes], *, prog_fd: int | None = None
) -> list[int]:
    """Run a classic program in the kernel on each packet; the bytes each one kept.

    Each entry is the length of the datagram that arrived (the packet cut to
    the filter's return value), 0 when the filter dropped it (an empty packet
    that was kept also gives 0). With ``prog_fd`` (and ``insns`` None) the
    filter is a loaded eBPF socket filter instead. Packets longer than
    ``MAX_DATAGRAM`` raise ``KernelError`` (``EMSGSIZE``); a refused program
    raises the ``KernelError`` of ``attach_filter``.
    """
    rx, tx = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with rx, tx:
        if prog_fd is not None:
            attach_bpf(rx, prog_fd)
        else:
            attach_filter(rx, insns or [])
        rx.setblocking(False)
        out: list[int] = []
        recv, send = rx.recv, tx.send
        for packet in packets:
            if len(packet) > MAX_DATAGRAM:
                raise KernelError("sendmsg", _errno.EMSGSIZE)
            send(packet)
            try:
                out.append(len(recv(MAX_DATAGRAM + 1)))
            except BlockingIOError:
                out.append(0)
        return out


def skb_for_unix(cpu: int | None = None) -> SkbInfo:
    """The ``SkbInfo`` of an ``AF_UNIX`` datagram as ``kernel_run`` delivers it.

    ``cpu`` is the CPU the sender runs on (default: the first CPU this process
    may run on; pin the process with ``os.sched_setaffinity`` to make it so).
    """
    if cpu is None:
        cpu = min(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
    return SkbInfo(cpu=cpu, mac_offset=None, net_offset=0)
