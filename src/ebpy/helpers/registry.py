"""Helper functions by id: the registry the interpreter calls through.

A helper is ``impl(env, r1, r2, r3, r4, r5) -> r0`` where ``env`` is the
``HelperEnv`` of the run (memory, clock, random source, CPU, trace pipe), so a
helper never reaches into the interpreter. ``HelperTable`` maps ids to
helpers; several tables can exist side by side (the Linux helpers, the
conformance suite's own ``call 5`` "unwind"). This module is the registry and
its protocols; it holds no helper implementations and no verifier prototypes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol


class Memory(Protocol):
    """What a helper may do with the program's memory."""

    def read(self, addr: int, size: int) -> bytes: ...

    def read_cstr(self, addr: int, limit: int) -> bytes: ...

    def write(self, addr: int, data: bytes) -> None: ...


class HelperEnv(Protocol):
    """The world a helper sees during one run."""

    @property
    def memory(self) -> Memory: ...

    def clock_ns(self) -> int: ...

    def boot_clock_ns(self) -> int: ...

    def random_u32(self) -> int: ...

    @property
    def cpu(self) -> int: ...

    def trace(self, line: bytes) -> None: ...


HelperImpl = Callable[[HelperEnv, int, int, int, int, int], int]


class StopProgram(Exception):
    """Raised by a helper to end the whole program at once with r0 = ``value``."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value


@dataclass(frozen=True, slots=True)
class Helper:
    """One helper: its id, its name and its userspace implementation."""

    id: int
    name: str
    impl: HelperImpl


class HelperTable(Mapping[int, Helper]):
    """An immutable id -> Helper mapping.

    >>> t = HelperTable([Helper(1, "one", lambda env, *a: 1)])
    >>> t[1].name, 2 in t
    ('one', False)
    """

    def __init__(self, helpers: Iterable[Helper] = ()) -> None:
        self._by_id: dict[int, Helper] = {}
        for h in helpers:
            if h.id in self._by_id:
                raise ValueError(f"helper id {h.id} registered twice")
            self._by_id[h.id] = h

    def __getitem__(self, helper_id: int) -> Helper:
        return self._by_id[helper_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def by_name(self, name: str) -> Helper | None:
        for h in self._by_id.values():
            if h.name == name:
                return h
        return None

    def extended(self, helpers: Iterable[Helper]) -> HelperTable:
        """A new table with ``helpers`` added (replacing same ids)."""
        merged = dict(self._by_id)
        for h in helpers:
            merged[h.id] = h
        return HelperTable(merged.values())
