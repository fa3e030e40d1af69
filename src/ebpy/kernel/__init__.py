"""The kernel backend: put ebpy's programs into the running Linux kernel through bpf(2).

Everything goes through the raw ``bpf(2)`` system call via ctypes (``_syscall``);
there is no libbpf. ``prog`` loads programs (``BPF_PROG_LOAD``, fetching the
verifier log on rejection) and test-runs them (``BPF_PROG_TEST_RUN``);
``features`` probes, once per process, whether bpf(2) is usable here.

``map`` creates and drives kernel maps (``KernelMap``, the syscall face of
``ebpy.maps.Map`` over ``BPF_MAP_*`` commands). ``objects`` loads whole BPF
objects (``KernelObject``): their BTF (``btf``), maps, and programs with their
attach targets, kfuncs and ksyms (``ksyms``).

``socket_filter`` attaches classic programs to sockets (``SO_ATTACH_FILTER``)
and runs them in the kernel through an AF_UNIX datagram pair; ``capture``
opens AF_PACKET sockets for live capture with a kernel filter; ``fs`` finds or
mounts tracefs and bpffs.

What it is not (yet): no pinning, no attaching of eBPF programs to hooks, no
readers (ring buffers, perf buffers). It never runs
programs itself (that is ``ebpy.vm``) and nothing in ``isa``, ``verifier`` or
``vm`` imports it. Missing privileges or a kernel without bpf(2) raise
``NotSupportedError``; a failed command raises ``KernelError`` with its errno and log.
"""

from ebpy.kernel.features import (
    bpf_available,
    bpf_unavailable_reason,
    possible_cpus,
    require_bpf,
)
from ebpy.kernel.map import KernelMap, MapInfo
from ebpy.kernel.prog import KernelProgram, TestRunResult

__all__ = [
    "KernelMap",
    "KernelProgram",
    "MapInfo",
    "TestRunResult",
    "bpf_available",
    "bpf_unavailable_reason",
    "possible_cpus",
    "require_bpf",
]
