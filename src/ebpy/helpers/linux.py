"""The Linux helper table: every helper ebpy implements in userspace, by kernel id.

Each group of helpers lives in its own module and exports a ``HELPERS`` list;
this module only gathers them into ``LINUX_HELPERS``. Program types narrow the
table to the helpers their programs may call.

>>> LINUX_HELPERS[1].name
'map_lookup_elem'
"""

from __future__ import annotations

import importlib

from ebpy.helpers.registry import Helper, HelperTable

_GROUPS = (
    "basic",
    "maps",
    "tailcall",
    "tracing",
    "strings",
    "events",
    "stacks",
    "sync",
    "skb",
    "xdp",
    "csum",
    "redirect",
    "fib",
)


def _gather() -> list[Helper]:
    out: list[Helper] = []
    for name in _GROUPS:
        try:
            mod = importlib.import_module(f"ebpy.helpers.{name}")
        except ModuleNotFoundError as exc:  # a group not written yet
            if exc.name != f"ebpy.helpers.{name}":
                raise
            continue
        out.extend(mod.HELPERS)
    return out


LINUX_HELPERS = HelperTable(_gather())
"""Every Linux helper implemented here."""
