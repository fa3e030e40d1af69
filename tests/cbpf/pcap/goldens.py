"""The expression lists and the tcpdump goldens of the pcap-filter tests.

``EXPRESSIONS[name]`` lists the expressions of one golden set (``EN10MB``
reads ``expressions.txt``, the others ``expressions.<NAME>.txt``; a set is a
link type, and ``EN10MB_LINUX`` the code for a live Linux socket, whose
``compile_filter`` arguments ``options(name)`` gives);
``golden(name, mode)`` maps each expression to what ``tcpdump <mode>``
printed (modes ``O-d``, ``d``, ``O-dd``, ``dd``), or to a ``Refused`` with
tcpdump's message; ``program(name, mode, expr)`` parses a ``-dd`` golden into
instructions. The goldens are made by ``make -C tests/testdata pcapfilter``.
This module reads files; it asserts nothing.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import NamedTuple

from ebpy.cbpf.isa import Insn
from ebpy.cbpf.text import parse_dd

HERE = Path(__file__).resolve().parent
GOLDEN_DIR = HERE.parents[1] / "golden" / "pcapfilter"

LINKTYPES = {
    "EN10MB": 1,
    "RAW": 101,
    "LINUX_SLL": 113,
    "LINUX_SLL2": 276,
    "NULL": 0,
    "LOOP": 108,
    "EN10MB_LINUX": 1,
}
"""Golden set name (as in the file names) -> capture-file link type."""

LIVE = frozenset({"EN10MB_LINUX"})
"""Golden sets made for a live Linux socket (``tcpdump -i lo``): ``linux_vlan=True``."""


def options(name: str) -> dict[str, int | bool]:
    """The ``compile_filter`` keyword arguments of a golden set."""
    return {"linktype": LINKTYPES[name], "linux_vlan": name in LIVE}


class Refused(NamedTuple):
    """tcpdump would not compile the expression; ``message`` is what it said."""

    message: str


def _read_list(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


EXPRESSIONS: dict[str, list[str]] = {
    name: _read_list(HERE / ("expressions.txt" if name == "EN10MB" else f"expressions.{name}.txt"))
    for name in LINKTYPES
}


@functools.cache
def golden(name: str, mode: str) -> dict[str, str | Refused]:
    """Expression -> tcpdump's output (or ``Refused``) for a link type and mode."""
    text = (GOLDEN_DIR / f"{name}.{mode}.txt").read_text()
    out: dict[str, str | Refused] = {}
    for chunk in text.split("### ")[1:]:
        expr, _, body = chunk.partition("\n")
        if body.startswith("!error "):
            out[expr] = Refused(body[len("!error ") :].strip())
        else:
            out[expr] = body
    return out


@functools.cache
def program(name: str, mode: str, expr: str) -> tuple[Insn, ...] | None:
    """tcpdump's program for ``expr`` from a ``-dd`` golden; None if it refused."""
    body = golden(name, mode)[expr]
    if isinstance(body, Refused):
        return None
    return tuple(parse_dd(body))
