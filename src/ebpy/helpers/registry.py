"""Helper functions by id: the registry the interpreter calls through.

A helper is ``impl(env, r1, r2, r3, r4, r5) -> r0`` where ``env`` is the
``Runtime`` of the run (memory, maps, clock, random source, CPU, task, trace
pipe, program-type state), so a helper never reaches into the interpreter. ``HelperTable`` maps ids to
helpers; several tables can exist side by side (the Linux helpers, the
conformance suite's own ``call 5`` "unwind"). This module is the registry and
its types; it holds no helper implementations and no verifier prototypes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from ebpy.helpers.env import Runtime
from ebpy.helpers.protos import Proto

HelperEnv = Runtime
"""What a helper receives: the run's ``Runtime``."""

HelperImpl = Callable[[HelperEnv, int, int, int, int, int], int]


class TailCall(Exception):
    """Raised by ``bpf_tail_call`` when it succeeds: the VM runs ``program`` in place
    of the current one, with the same context."""

    def __init__(self, program: object) -> None:
        super().__init__(program)
        self.program = program


class StopProgram(Exception):
    """Raised by a helper to end the whole program at once with r0 = ``value``."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value


@dataclass(frozen=True, slots=True)
class Helper:
    """One helper: its id, its name, its userspace implementation and its prototype."""

    id: int
    name: str
    impl: HelperImpl
    proto: Proto | None = None


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
