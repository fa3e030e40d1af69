"""``test_run``: run a program the way ``BPF_PROG_TEST_RUN`` does, in userspace.

The program type builds the context (and the packet) from ``data_in`` and
``ctx_in`` (``ProgTypeInfo.prepare``), the program runs with r1 = the context
and ``env.state`` = that state, and the type gives back ``data_out`` and
``ctx_out`` (``finish``). ``repeat`` runs it that many times, each on a fresh
context as the kernel restores it, and reports the mean duration of the runs
(the program alone, not the set-up). A program with no type runs on
``data_in`` as plain memory (r1 = its address, r2 = its length) and gives it
back as ``data_out``. This is not the CLI and not the kernel backend.
"""

from __future__ import annotations

import errno
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ebpy.errors import TestRunError
from ebpy.helpers.env import Runtime
from ebpy.memory import RegionKind

if TYPE_CHECKING:
    from ebpy.vm.interpreter import Vm


@dataclass
class TestRunResult:
    """What a test run gives: as ``BPF_PROG_TEST_RUN`` reports it, plus the runtime."""

    retval: int
    data_out: bytes
    ctx_out: bytes | None
    duration_ns: int
    runtime: Runtime = field(repr=False)

    __test__ = False  # not a pytest class


def test_run(
    vm: Vm,
    data_in: bytes | None,
    ctx_in: bytes | None,
    repeat: int = 1,
    runtime: Runtime | None = None,
) -> TestRunResult:
    """Run ``vm`` ``repeat`` times (at least once) as the kernel's test run does."""
    if repeat < 0:
        raise TestRunError(errno.EINVAL, "repeat must not be negative")
    repeat = max(repeat, 1)
    info = vm.info
    total = 0
    retval = 0
    data_out = b""
    ctx_out: bytes | None = None
    rt = runtime
    for _ in range(repeat):
        rt = runtime if runtime is not None and repeat == 1 else vm.new_runtime(**_inherit(runtime))
        vm.attach_maps(rt)
        if info is None:
            buf = bytearray(data_in or b"")
            region = rt.memory.map(RegionKind.MEMORY, buf, share=True, name="data")
            start = time.perf_counter_ns()
            r0, _ = vm.execute(rt, [region.base, len(buf), 0, 0, 0], buf)
            total += time.perf_counter_ns() - start
            retval, data_out = r0, bytes(buf)
            continue
        state = info.prepare(rt.memory, data_in, ctx_in)
        rt.state = state
        packet = getattr(state, "ld_abs_packet", None)
        start = time.perf_counter_ns()
        r0, _ = vm.execute(rt, [state.ctx_addr, 0, 0, 0, 0], packet)
        total += time.perf_counter_ns() - start
        out = info.finish(state, r0)
        retval, data_out = r0, out.data_out
        ctx_out = out.ctx_out if ctx_in is not None else None
    assert rt is not None
    return TestRunResult(retval & 0xFFFFFFFF, data_out, ctx_out, total // repeat, rt)


def _inherit(rt: Runtime | None) -> dict[str, object]:
    """The caller's fixed world (clock, seed, CPU, task, FIB) for fresh runtimes."""
    if rt is None:
        return {}
    return {
        "clock": rt.clock,
        "boot_clock": rt.boot_clock,
        "seed": rt.seed,
        "cpu": rt.cpu,
        "ncpus": rt.ncpus,
        "task": rt.task,
        "fib": rt.fib,
    }
