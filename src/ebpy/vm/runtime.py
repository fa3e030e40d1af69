"""The world one program run sees: memory, clocks, randomness, CPU id, trace pipe.

``Runtime`` is what helpers receive as their ``HelperEnv``. Everything that
could make two runs differ (time, random numbers, CPU) is supplied by the
caller and can be fixed for reproducible runs. This is not the interpreter.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ebpy.vm.memory import AddressSpace


@dataclass
class Runtime:
    """Per-run environment handed to helpers.

    >>> rt = Runtime(clock=lambda: 42, seed=1)
    >>> rt.clock_ns()
    42
    """

    memory: AddressSpace = field(default_factory=AddressSpace)
    clock: Callable[[], int] = time.monotonic_ns
    boot_clock: Callable[[], int] | None = None
    seed: int | None = None
    cpu: int = 0
    trace_lines: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng: random.Random | None = None  # seeding is slow: made on first use

    def clock_ns(self) -> int:
        return self.clock()

    def boot_clock_ns(self) -> int:
        return (self.boot_clock or self.clock)()

    def random_u32(self) -> int:
        if self._rng is None:
            self._rng = random.Random(self.seed)
        return self._rng.getrandbits(32)

    def trace(self, line: bytes) -> None:
        self.trace_lines.append(line)
