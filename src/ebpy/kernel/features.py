"""Probes for what this machine's kernel lets ebpy do, cached for the process.

``possible_cpus()`` counts the CPUs this kernel could ever bring online (what
``/sys/devices/system/cpu/possible`` lists): per-CPU map values on the syscall
side hold one value for each of them.

``bpf_available()`` answers "can we load and run programs here at all?": it needs
Linux on a machine whose bpf syscall number we know, root, and a trivial socket
filter (``r0 = 0; exit``) that the kernel accepts. ``require_bpf()`` turns a "no"
into ``NotSupportedError`` with the reason as its hint, which tests turn into a skip.

This module only probes; it never changes kernel settings (sysctls, rlimits).
"""

from __future__ import annotations

import functools
import os

from ebpy.errors import BpfError, NotSupportedError
from ebpy.isa.builder import ALU64, EXIT, R0
from ebpy.kernel._syscall import PRIVILEGE_HINT, syscall_number
from ebpy.kernel.prog import KernelProgram
from ebpy.uapi import ProgType

__all__ = [
    "bpf_available",
    "bpf_unavailable_reason",
    "parse_cpu_list",
    "possible_cpus",
    "require_bpf",
]

#: Where the kernel lists the possible CPUs, as a range list such as ``0-3,8``.
POSSIBLE_CPUS_FILE = "/sys/devices/system/cpu/possible"


def parse_cpu_list(text: str) -> int:
    """How many CPUs a kernel range list (``0-3,8-9``) names; ``NotSupportedError``
    when ``text`` is not such a list."""
    cpus: set[int] = set()
    try:
        for part in text.strip().split(","):
            first, dash, last = part.partition("-")
            lo = int(first)
            hi = int(last) if dash else lo
            if lo < 0 or hi < lo:
                raise ValueError(part)
            cpus.update(range(lo, hi + 1))
    except ValueError:
        raise NotSupportedError(
            "possible CPUs", f"cannot read the CPU list {text.strip()!r}"
        ) from None
    return len(cpus)


@functools.cache
def possible_cpus() -> int:
    """The number of possible CPUs (``num_possible_cpus()`` in the kernel), read once.

    Falls back to ``os.cpu_count()`` where the sysfs file is missing (not Linux).
    """
    try:
        with open(POSSIBLE_CPUS_FILE, encoding="ascii") as f:
            text = f.read()
    except OSError:
        return os.cpu_count() or 1
    return parse_cpu_list(text)


@functools.cache
def bpf_unavailable_reason() -> str | None:
    """Why bpf(2) cannot be used here, or None when it can (probed once)."""
    try:
        syscall_number()
    except NotSupportedError as e:
        return e.hint or str(e)
    if os.geteuid() != 0:
        return f"not running as root: {PRIVILEGE_HINT}"
    try:
        with KernelProgram.load([ALU64.MOV.imm(R0, 0), EXIT()], ProgType.SOCKET_FILTER):
            pass
    except NotSupportedError as e:
        return e.hint or str(e)
    except BpfError as e:
        return f"loading a trivial socket filter failed: {e}"
    return None


def bpf_available() -> bool:
    """True when this process can load and run eBPF programs in the kernel."""
    return bpf_unavailable_reason() is None


def require_bpf() -> None:
    """Raise ``NotSupportedError`` (with the reason as hint) unless ``bpf_available()``."""
    reason = bpf_unavailable_reason()
    if reason is not None:
        raise NotSupportedError("bpf(2)", reason)
