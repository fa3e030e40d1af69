"""The JSON text bpftool writes: its json_writer, compact (``-j``) and pretty.

bpftool prints map contents through a small JSON writer of its own, and its
output has quirks that a generic JSON encoder does not reproduce: in pretty
mode only object members start a new line (arrays stay on one line until
their closing bracket), there is no space after commas, and strings are
escaped its own way (a backslash comes out as ``\\n``, a quote as ``\\"``,
control characters as ``\\t \\n \\r \\f \\b``, anything else as is). Values
that bpftool writes with ``printf`` (numbers, ``0x1f``, ``(nil)``) are kept
as their text.

This module holds the tree a formatted value is built as (``Leaf``,
``Obj``, ``Arr``) and renders it as bpftool does; it does not decide what a
value looks like (``ebpy.btf.format`` does).

>>> tree = Obj([("key", Leaf(0, "0")), ("value", Arr([Leaf(1, "1"), Leaf(2, "2")]))])
>>> print(render(tree, pretty=True))
{
    "key": 0,
    "value": [1,2
    ]
}
>>> render(tree), to_python(tree)
('{"key":0,"value":[1,2]}', {'key': 0, 'value': [1, 2]})
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Arr", "JsonWriter", "Leaf", "Node", "Obj", "quote", "render", "to_python"]

_ESCAPES = {
    "\t": "\\t",
    "\n": "\\n",
    "\r": "\\r",
    "\f": "\\f",
    "\b": "\\b",
    "\\": "\\n",
    '"': '\\"',
}


def quote(text: str) -> str:
    """``text`` as a JSON string the way bpftool's writer escapes it.

    >>> print(quote('a"b\\\\c'))
    "a\\"b\\nc"
    """
    if any(c in _ESCAPES for c in text):
        text = "".join(_ESCAPES.get(c, c) for c in text)
    return f'"{text}"'


@dataclass(frozen=True, slots=True)
class Leaf:
    """A scalar: ``value`` for Python (JSON-able), ``text`` as bpftool writes it."""

    value: Any
    text: str


@dataclass(slots=True)
class Obj:
    """An object: members in order (names may repeat, as anonymous members do)."""

    items: list[tuple[str, Node]] = field(default_factory=list)


@dataclass(slots=True)
class Arr:
    items: list[Node] = field(default_factory=list)


Node = Leaf | Obj | Arr


def to_python(node: Node) -> Any:
    """The JSON-able Python value of a tree (a repeated name keeps its last value)."""
    if isinstance(node, Leaf):
        return node.value
    if isinstance(node, Arr):
        return [to_python(item) for item in node.items]
    return {name: to_python(item) for name, item in node.items}


class JsonWriter:
    """bpftool's json_writer: the same calls, the same separators and newlines."""

    def __init__(self, pretty: bool = False) -> None:
        self.pretty = pretty
        self.parts: list[str] = []
        self.depth = 0
        self.sep = ""

    def _eor(self) -> None:
        if self.sep:
            self.parts.append(self.sep)
        self.sep = ","

    def _eol(self) -> None:
        if self.pretty:
            self.parts.append("\n" + "    " * self.depth)

    def begin(self, bracket: str) -> None:
        """Open an object (``{``) or an array (``[``)."""
        self._eor()
        self.parts.append(bracket)
        self.depth += 1
        self.sep = ""

    def end(self, bracket: str) -> None:
        """Close the innermost object (``}``) or array (``]``)."""
        self.depth -= 1
        if self.sep:
            self._eol()
        self.parts.append(bracket)
        self.sep = ","

    def name(self, name: str) -> None:
        """Start an object member."""
        self._eor()
        self._eol()
        self.sep = ""
        self.parts.append(quote(name) + (": " if self.pretty else ":"))

    def raw(self, text: str) -> None:
        """A value already written out (a number, a quoted string, ``(nil)``)."""
        self._eor()
        self.parts.append(text)

    def node(self, node: Node) -> None:
        """Write a whole tree."""
        if isinstance(node, Leaf):
            self.raw(node.text)
        elif isinstance(node, Arr):
            self.begin("[")
            for item in node.items:
                self.node(item)
            self.end("]")
        else:
            self.begin("{")
            for name, item in node.items:
                self.name(name)
                self.node(item)
            self.end("}")

    def text(self) -> str:
        return "".join(self.parts)


def render(node: Node, pretty: bool = False) -> str:
    """A tree as bpftool's writer prints it (no trailing newline)."""
    writer = JsonWriter(pretty)
    writer.node(node)
    return writer.text()
