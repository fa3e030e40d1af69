"""The first Linux helpers with userspace implementations: time, randomness, CPU, tracing.

Each is registered under its kernel id from ``ebpy.uapi.HelperId`` and reads
the world only through the ``HelperEnv`` of the run, so runs with a fixed
clock and seed are reproducible. Map, packet and task helpers come with the
maps and program types; this module is not their home.
"""

from __future__ import annotations

from ebpy.helpers.protos import Arg, Proto
from ebpy.helpers.registry import Helper, HelperEnv, HelperTable
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
    """A minimal bpf_trace_printk: %d %i %u %x %lld %llu %llx %p %s %c %%, three args."""
    raw = env.memory.read(fmt, fmt_size & M32)
    text = raw.split(b"\0", 1)[0]
    line = _format(env, text, [a1, a2, a3])
    env.trace(line)
    return len(line)


def _format(env: HelperEnv, fmt: bytes, args: list[int]) -> bytes:
    out = bytearray()
    i = 0
    arg = 0
    while i < len(fmt):
        c = fmt[i]
        if c != 0x25 or i + 1 >= len(fmt):  # '%'
            out.append(c)
            i += 1
            continue
        j = i + 1
        while j < len(fmt) and fmt[j] in b"l-0123456789":
            j += 1
        if j >= len(fmt):
            out += fmt[i:]
            break
        conv = chr(fmt[j])
        spec = fmt[i + 1 : j].decode()
        longs = spec.count("l")
        if conv == "%":
            out.append(0x25)
        elif arg < len(args):
            value = args[arg]
            arg += 1
            bits = 64 if longs else 32
            value &= (1 << bits) - 1
            if conv in "di":
                if value >> (bits - 1):
                    value -= 1 << bits
                out += str(value).encode()
            elif conv == "u":
                out += str(value).encode()
            elif conv == "x":
                out += f"{value:x}".encode()
            elif conv == "p":
                out += f"0x{args[arg - 1] & M64:x}".encode()
            elif conv == "c":
                out.append(value & 0xFF)
            elif conv == "s":
                out += env.memory.read_cstr(args[arg - 1], 64)
            else:
                out += fmt[i : j + 1]
        i = j + 1
    return bytes(out)


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
        Proto((Arg.PTR_TO_MEM, Arg.CONST_SIZE)),
    ),
    Helper(HelperId.KTIME_GET_COARSE_NS, "ktime_get_coarse_ns", _ktime_get_coarse_ns, Proto()),
    Helper(HelperId.JIFFIES64, "jiffies64", _jiffies64, Proto()),
]
"""Time, randomness, CPU and trace_printk."""

BASIC_HELPERS = HelperTable(HELPERS)
"""The basic helpers alone (the full Linux table is ``ebpy.helpers.linux``)."""
