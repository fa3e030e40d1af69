"""The world one program run sees: memory, maps, clocks, randomness, task, trace pipe.

``Runtime`` is what every helper receives as its first argument. Everything
that could make two runs differ (time, random numbers, CPU, the current task,
the FIB) is supplied by the caller and can be fixed for reproducible runs.
``state`` holds the program type's per-run state (the packet of an skb or XDP
run, ...), which packet helpers change. This is not the interpreter.

>>> rt = Runtime(clock=lambda: 42, seed=1)
>>> rt.clock_ns(), rt.task.comm
(42, b'ebpy')
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ebpy.maps.base import Map
from ebpy.memory import SLOT_SHIFT, AddressSpace, Region, RegionKind

JIFFY_NS = 4_000_000
"""Nanoseconds per jiffy (HZ=250, Debian's default)."""


@dataclass(frozen=True, slots=True)
class Task:
    """The task a tracing program runs in: what the get_current_* helpers report."""

    pid: int = 4242
    tgid: int = 4242
    uid: int = 1000
    gid: int = 1000
    comm: bytes = b"ebpy"
    address: int = 0xFFFF_8880_0420_0000
    """What ``bpf_get_current_task`` returns (an opaque kernel address)."""

    @classmethod
    def current(cls) -> Task:
        """This Python process as a task."""
        try:
            with open("/proc/self/comm", "rb") as f:
                comm = f.read().strip()[:15]
        except OSError:
            comm = b"python"
        return cls(os.getpid(), os.getpid(), os.getuid(), os.getgid(), comm)


DEFAULT_TASK = Task()
"""The task runs report unless the caller gives one."""


@dataclass
class Runtime:
    """Per-run environment handed to helpers (``HelperEnv``)."""

    memory: AddressSpace = field(default_factory=AddressSpace)
    clock: Callable[[], int] = time.monotonic_ns
    boot_clock: Callable[[], int] | None = None
    seed: int | None = None
    cpu: int = 0
    ncpus: int = 1
    task: Task = DEFAULT_TASK
    trace_lines: list[bytes] = field(default_factory=list)
    maps: dict[int, Map] = field(default_factory=dict)
    """Maps this run can reach, by slot (``Map.slot``)."""
    state: Any = None
    """The program type's state of this run (packet, ...), or None."""
    fib: Any = None
    """The FIB table ``bpf_fib_lookup`` consults (``ebpy.helpers.fib.FibTable``)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Scratch space for helpers that keep state across calls in a run."""

    def __post_init__(self) -> None:
        self._rng: random.Random | None = None  # seeding is slow: made on first use
        self.tail_calls = 0
        self.depth = 0
        """Call depth of the running helper's caller (set for helpers with callbacks)."""

    # -- time and chance ---------------------------------------------------------
    def clock_ns(self) -> int:
        return self.clock()

    def boot_clock_ns(self) -> int:
        return (self.boot_clock or self.clock)()

    def coarse_clock_ns(self) -> int:
        """The clock at jiffy resolution (``bpf_ktime_get_coarse_ns``)."""
        t = self.clock()
        return t - t % JIFFY_NS

    def jiffies(self) -> int:
        return self.clock() // JIFFY_NS

    def random_u32(self) -> int:
        if self._rng is None:
            self._rng = random.Random(self.seed)
        return self._rng.getrandbits(32)

    def trace(self, line: bytes) -> None:
        self.trace_lines.append(line)

    # -- maps ----------------------------------------------------------------
    def add_map(self, m: Map) -> None:
        """Make ``m`` reachable: its pointer for helpers, its values for loads and stores."""
        self.maps[m.slot] = m
        writable = bool(getattr(m, "prog_writable", True)) and m.value_writable
        kind = RegionKind.MAP_VALUE
        self.memory.attach(Region(kind, m.name or f"map{m.id}", m.slot, m.buf, writable))

    def map_at(self, ptr: int) -> Map | None:
        """The map whose pointer (``lddw rX, map``) is ``ptr``."""
        m = self.maps.get(ptr >> SLOT_SHIFT)
        if m is not None and ptr & ((1 << SLOT_SHIFT) - 1) == 0:
            return m
        return None

    def map_value_address(self, m: Map, offset: int) -> int:
        """The address of byte ``offset`` of ``m``'s buffer, refreshing the mapping
        (hash maps grow their buffer as they fill)."""
        region = self.memory.regions.get(m.slot)
        if region is not None and region.buf is not m.buf:
            self.memory.replace(region, m.buf)
        return (m.slot << SLOT_SHIFT) + offset
