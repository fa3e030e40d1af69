"""The kernel backend: put ebpy's programs into the running Linux kernel through bpf(2).

Everything goes through the raw ``bpf(2)`` system call via ctypes (``_syscall``);
there is no libbpf. ``prog`` loads programs (``BPF_PROG_LOAD``, fetching the
verifier log on rejection) and test-runs them (``BPF_PROG_TEST_RUN``);
``features`` probes, once per process, whether bpf(2) is usable here.

``map`` creates and drives kernel maps (``KernelMap``, the syscall face of
``ebpy.maps.Map`` over ``BPF_MAP_*`` commands). ``objects`` loads whole BPF
objects (``KernelObject``): their BTF (``btf``), maps, and programs with their
attach targets, kfuncs and ksyms (``ksyms``).

What it is not (yet): no pinning, attaching or readers. It never runs
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
