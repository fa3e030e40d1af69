"""The kernel's pseudo file systems that eBPF tools need: tracefs and bpffs.

``tracefs()`` returns the tracefs mount point (``/sys/kernel/tracing``, or the
old ``/sys/kernel/debug/tracing``), mounting tracefs at ``/sys/kernel/tracing``
when it is not mounted and we may (root), as bpftool and bpftrace do.
``bpffs()`` does the same for the BPF file system at ``/sys/fs/bpf``, where
objects are pinned. Both return ``None`` when the file system is absent and
cannot be mounted; neither raises for that, because callers decide whether a
missing mount is an error (a CLI command) or a reason to skip (a test).

This module only mounts: it does not read trace events or pin objects.

>>> isinstance(is_mounted("/"), bool)
True
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

from ebpy.kernel._syscall import libc

__all__ = ["BPFFS", "TRACEFS", "TRACEFS_OLD", "bpffs", "is_mounted", "mount", "tracefs"]

TRACEFS = Path("/sys/kernel/tracing")
TRACEFS_OLD = Path("/sys/kernel/debug/tracing")
BPFFS = Path("/sys/fs/bpf")

_TRACEFS_MAGIC = 0x74726163
_BPF_FS_MAGIC = 0xCAFE4A11


def is_mounted(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a mount point."""
    return os.path.ismount(path)


def _fs_type(path: Path) -> int | None:
    """The ``f_type`` of the file system at ``path`` (statfs), or None."""
    buf = ctypes.create_string_buffer(256)  # struct statfs is 120 bytes on x86-64
    if libc().statfs(os.fsencode(path), buf) != 0:
        return None
    return int.from_bytes(buf.raw[:8], "little")


def mount(fstype: str, target: Path) -> bool:
    """``mount -t fstype fstype target`` through mount(2); True when it worked."""
    if os.geteuid() != 0:
        return False
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    src = fstype.encode()
    return bool(libc().mount(src, os.fsencode(target), src, 0, None) == 0)


def tracefs(*, mount_if_missing: bool = True) -> Path | None:
    """The tracefs mount point, mounting it at ``/sys/kernel/tracing`` if needed."""
    for path in (TRACEFS, TRACEFS_OLD):
        if (path / "trace").exists():
            return path
    if mount_if_missing and mount("tracefs", TRACEFS) and _fs_type(TRACEFS) == _TRACEFS_MAGIC:
        return TRACEFS
    return None


def bpffs(*, mount_if_missing: bool = True) -> Path | None:
    """The BPF file system's mount point, mounting it at ``/sys/fs/bpf`` if needed."""
    if _fs_type(BPFFS) == _BPF_FS_MAGIC:
        return BPFFS
    if mount_if_missing and mount("bpf", BPFFS) and _fs_type(BPFFS) == _BPF_FS_MAGIC:
        return BPFFS
    return None
