"""The first Linux helpers with userspace implementations: time, randomness, CPU, tracing.

Each is registered under its kernel id from ``ebpy.uapi.HelperId`` and reads
the world only through the ``HelperEnv`` of the run, so runs with a fixed
clock and seed are reproducible. Map, packet and task helpers come with the
maps and program types; this module is not their home.
"""

from __future__ import annotations

import errno

from ebpy.helpers.protos import Arg, Proto
from ebpy.helpers.registry import Helper, HelperEnv, HelperTable
from ebpy.helpers.tracing import printk, read_fmt
from ebpy.isa._intmath import M32, M64
from ebpy.uapi import HelperId


def _ktime_get_ns(env: HelperEnv, *_: int) -> int:
    return env.clock_ns() & M64


def _ktime_get_boot_ns(env: HelperEnv, *_: int) -> int:
    return env.boot_clock_ns() & M64


def _ktime_get_coarse_ns(env: HelperEnv, *_: int) -> int:
    return env.coarse_clock_ns() & M64


def _jiffies64(env: HelperEnv, *_: int) -> int:
    return env.jiffies() & M64


def _get_prandom_u32(env: HelperEnv, *_: int) -> int:
    return env.random_u32() & M32


def _get_smp_processor_id(env: HelperEnv, *_: int) -> int:
    return env.cpu & M32


def _get_numa_node_id(env: HelperEnv, *_: int) -> int:
    return 0


def _trace_printk(env: HelperEnv, fmt: int, fmt_size: int, a1: int, a2: int, a3: int) -> int:
    """bpf_trace_printk: at most three arguments, formatted by ``ebpy.helpers.strings``
    as the kernel does; the length of the text, or -EINVAL for a bad format or a
    format with no NUL within ``fmt_size`` bytes."""
    text = read_fmt(env, fmt, fmt_size)
    if text is None:
        return -errno.EINVAL & M64
    return printk(env, text, [a1, a2, a3]) & M64


HELPERS = [
    Helper(HelperId.KTIME_GET_NS, "ktime_get_ns", _ktime_get_ns, Proto()),
    Helper(HelperId.KTIME_GET_BOOT_NS, "ktime_get_boot_ns", _ktime_get_boot_ns, Proto()),
    Helper(HelperId.GET_PRANDOM_U32, "get_prandom_u32", _get_prandom_u32, Proto()),
    Helper(HelperId.GET_SMP_PROCESSOR_ID, "get_smp_processor_id", _get_smp_processor_id, Proto()),
    Helper(HelperId.GET_NUMA_NODE_ID, "get_numa_node_id", _get_numa_node_id, Proto()),
    Helper(
        HelperId.TRACE_PRINTK,
        "trace_printk",
        _trace_printk,
        Proto((Arg.PTR_TO_MEM, Arg.CONST_SIZE), gpl_only=True),
    ),
    Helper(HelperId.KTIME_GET_COARSE_NS, "ktime_get_coarse_ns", _ktime_get_coarse_ns, Proto()),
    Helper(HelperId.JIFFIES64, "jiffies64", _jiffies64, Proto()),
]
"""Time, randomness, CPU and trace_printk."""

BASIC_HELPERS = HelperTable(HELPERS)
"""The basic helpers alone (the full Linux table is ``ebpy.helpers.linux``)."""
