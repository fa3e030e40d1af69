"""Program types, one module per type: context layout, access rules, helpers, verdicts.

``prog_type_info(ProgType.XDP)`` or ``prog_type_info("xdp")`` gives the type's
``ProgTypeInfo``. Not the VM and not the helpers.

>>> prog_type_info("raw")
Traceback (most recent call last):
...
ebpy.errors.InputError: unknown program type 'raw'
"""

from __future__ import annotations

import importlib

from ebpy.errors import InputError
from ebpy.progtypes.base import PROG_TYPES, CtxField, ProgTypeInfo, RunState, TestRunOutput
from ebpy.uapi import ProgType

_MODULES = (
    "socket_filter",
    "sched_cls",
    "sched_act",
    "xdp",
    "cgroup_skb",
    "kprobe",
    "tracepoint",
    "raw_tracepoint",
    "perf_event",
    "flow_dissector",
)


def _load_all() -> None:
    for name in _MODULES:
        try:
            importlib.import_module(f"ebpy.progtypes.{name}")
        except ModuleNotFoundError as exc:  # a type not written yet
            if exc.name != f"ebpy.progtypes.{name}":
                raise


_load_all()

ALIASES = {
    "tc": ProgType.SCHED_CLS,
    "classifier": ProgType.SCHED_CLS,
    "socket": ProgType.SOCKET_FILTER,
}


def prog_type_info(kind: ProgType | str) -> ProgTypeInfo:
    """The registered program type for an enum value or a name (``xdp``, ``tc`` ...)."""
    if isinstance(kind, str):
        key = kind.strip().lower().replace("-", "_")
        enum = ALIASES.get(key)
        if enum is None:
            enum = ProgType.__members__.get(key.upper())
        if enum is None or enum not in PROG_TYPES:
            raise InputError(f"unknown program type {kind!r}")
        kind = enum
    info = PROG_TYPES.get(kind)
    if info is None:
        raise InputError(f"program type {kind.name} is not supported")
    return info


__all__ = ["PROG_TYPES", "CtxField", "ProgTypeInfo", "RunState", "TestRunOutput", "prog_type_info"]
