"""Values formatted by their BTF type, as ``bpftool map dump`` shows them.

For a map with BTF, bpftool prints each key and value as JSON built from its
type: integers as numbers, ``_Bool`` as ``true``/``false``, char arrays
holding a printable NUL-terminated string as strings, structs and unions as
objects (an anonymous member under the name ``""``), arrays as lists, enums
by the name of their value (the number when no name matches), bitfields and
128-bit integers as ``"0x..."`` hex strings, pointers as numbers, data
sections (``.bss``, ``.data``, ``.rodata``) as ``{".bss": [{"var": ...}]}``,
and per-CPU values as ``[{"cpu": N, "value": ...}]``. Without ``-j`` the
same tree is printed in bpftool's pretty style, where bitfields show as
``0x7``, pointers as ``0x...`` or ``(nil)`` and unprintable ``char`` as
``0x1f``.

- ``format_value(btf, type_id, data)``: the JSON value, as Python;
- ``format_plain(btf, type_id, data)``: the text without ``-j``;
- ``format_entry`` / ``format_map_dump``: one ``{"key": ..., "value": ...}``
  and what ``bpftool -j map dump`` prints as Python (hex bytes and
  ``"formatted"``), ``map_dump_text`` the exact text of either form.

Where bpftool 7.1 prints something it cannot format (a forward declaration
``(fwd-kind-invalid)``, an unknown kind ``(unsupported-kind``) the rest of
the enclosing struct or array is left out, as bpftool does; the Python
value of such a leaf is None. Two deliberate differences: floats are
formatted as numbers (bpftool 7.1 prints ``(unsupported-kind`` for them and
stops), and type tags are looked through like typedefs. Values are read
little-endian. This module formats; it does not read maps (``ebpy.kernel``,
``ebpy.maps``).

>>> from ebpy.btf.types import Btf, Int, Struct, Member
>>> b = Btf([Int(1, "int", size=4, encoding=1, bits=32),
...          Struct(2, "pt", size=8, members=(Member("x", 1, 0), Member("y", 1, 32)))])
>>> format_value(b, 2, bytes([1, 0, 0, 0, 255, 255, 255, 255]))
{'x': 1, 'y': -1}
>>> print(format_plain(b, 2, bytes(8)))
{
    "x": 0,
    "y": 0
}
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ebpy.btf._c_layout import resolve_size
from ebpy.btf._jsonw import Arr, JsonWriter, Leaf, Node, Obj, quote, render, to_python
from ebpy.btf.types import Btf, Int, Kind
from ebpy.errors import BtfError

__all__ = [
    "format_entry",
    "format_map_dump",
    "format_plain",
    "format_value",
    "map_dump_text",
]

Entry = tuple[bytes, bytes | Sequence[bytes]]
"""A map entry: key bytes and value bytes (per-CPU maps: one value per CPU)."""

_MODIFIERS = (Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG)
_CHAR_MODS = (Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG)
_MAX_CHAIN = 32
_PTR_BYTES = 8  # bpftool reads an unsigned long
_FLOATS = {2: "<e", 4: "<f", 8: "<d"}

_Result = tuple[Node, bool]
"""A formatted node and whether formatting may go on (False: bpftool stopped)."""


def _read(data: bytes, off: int, size: int, signed: bool = False) -> int:
    chunk = data[off : off + size]
    if len(chunk) < size:
        chunk = chunk.ljust(size, b"\0")
    return int.from_bytes(chunk, "little", signed=signed)


class _Formatter:
    """One value's walk over its type, in JSON (``-j``) or plain mode."""

    def __init__(self, btf: Btf, plain: bool) -> None:
        self.btf = btf
        self.plain = plain
        k = Kind
        self._by_kind: dict[Kind, Callable[[Any, int, bytes, int], _Result]] = {
            k.INT: self._int,
            k.STRUCT: self._composite,
            k.UNION: self._composite,
            k.ARRAY: self._array,
            k.ENUM: self._enum,
            k.ENUM64: self._enum64,
            k.PTR: self._ptr,
            k.UNKN: self._unknown,
            k.FWD: self._fwd,
            k.TYPEDEF: self._modifier,
            k.VOLATILE: self._modifier,
            k.CONST: self._modifier,
            k.RESTRICT: self._modifier,
            k.TYPE_TAG: self._modifier,
            k.VAR: self._var,
            k.DATASEC: self._datasec,
            k.FLOAT: self._float,
        }
        self._sizes: dict[int, int] = {}

    def _type(self, type_id: int) -> Any:
        """The type with ``type_id``, or None when there is none."""
        try:
            return self.btf[type_id]
        except BtfError:
            return None

    def top(self, type_id: int, data: bytes) -> Node:
        """A whole value; ``BtfError`` for a type that contains itself."""
        try:
            return self.node(type_id, 0, bytes(data), 0)[0]
        except RecursionError:
            raise BtfError("type contains itself", type_id=type_id) from None

    def node(self, type_id: int, bit_offset: int, data: bytes, off: int) -> _Result:
        """``data[off:]`` as a value of ``type_id`` (``bit_offset`` bits in)."""
        t = self._type(type_id)
        if t is None:
            return Leaf(None, ""), False
        handler = self._by_kind.get(t.kind)
        if handler is None:
            return Leaf(None, "(unsupported-kind"), False
        return handler(t, bit_offset, data, off)

    # -- scalars -------------------------------------------------------------

    def _bitfield(self, nbits: int, bit_offset: int, data: bytes, off: int) -> _Result:
        """An unsigned field of ``nbits`` bits starting ``bit_offset`` bits into ``off``."""
        nbytes = min(16, (bit_offset + nbits + 7) // 8)
        value = _read(data, off, nbytes) >> bit_offset
        value &= (1 << min(nbits, 128 - bit_offset)) - 1 if nbits else 0
        return self._hex(value), True

    def _hex(self, value: int) -> Leaf:
        text = f"0x{value:x}"
        return Leaf(text, text if self.plain else f'"{text}"')

    def _int(self, t: Int, bit_offset: int, data: bytes, off: int) -> _Result:
        nbits = t.bits
        if bit_offset or t.offset or nbits % 8:
            total = bit_offset + t.offset
            return self._bitfield(nbits, total % 8, data, off + total // 8)
        if nbits == 128:
            return self._hex(_read(data, off, 16)), True
        encoding = t.encoding
        if encoding in (0, Int.SIGNED):
            if nbits not in (8, 16, 32, 64):
                return self._bitfield(nbits, 0, data, off)
            value = _read(data, off, nbits // 8, signed=encoding == Int.SIGNED)
            return Leaf(value, str(value)), True
        if encoding == Int.CHAR:
            return self._char(_read(data, off, 1)), True
        if encoding == Int.BOOL:
            flag = bool(_read(data, off, 1))
            return Leaf(flag, "true" if flag else "false"), True
        return Leaf(None, ""), False

    def _char(self, byte: int) -> Leaf:
        if 0x20 <= byte < 0x7F:
            return Leaf(chr(byte), f'"{chr(byte)}"')
        if self.plain:
            return Leaf(chr(byte), f"0x{byte:x}")
        return Leaf(chr(byte), f'"\\u00{byte:02x}"')

    def _enum(self, t: Any, bit_offset: int, data: bytes, off: int) -> _Result:
        if t.size not in (1, 2, 4, 8):
            return Leaf(None, ""), False
        value = _read(data, off, t.size, signed=True)
        for v in t.values:
            raw = v.value & 0xFFFFFFFF
            if value == (raw - (1 << 32) if raw >> 31 else raw):
                return Leaf(v.name, quote(v.name)), True
        return Leaf(value, str(value)), True

    def _enum64(self, t: Any, bit_offset: int, data: bytes, off: int) -> _Result:
        raw = _read(data, off, 8)
        for v in t.values:
            if raw == v.value & 0xFFFFFFFFFFFFFFFF:
                return Leaf(v.name, quote(v.name)), True
        value = raw - (1 << 64) if raw >> 63 else raw
        return Leaf(value, str(value)), True

    def _ptr(self, t: Any, bit_offset: int, data: bytes, off: int) -> _Result:
        value = _read(data, off, _PTR_BYTES)
        if not self.plain:
            return Leaf(value, str(value)), True
        return Leaf(value, f"0x{value:x}" if value else "(nil)"), True

    def _float(self, t: Any, bit_offset: int, data: bytes, off: int) -> _Result:
        fmt = _FLOATS.get(t.size)
        if fmt is not None:
            value = float(struct.unpack(fmt, data[off : off + t.size].ljust(t.size, b"\0"))[0])
        elif t.size in (10, 12, 16):
            value = _x87(_read(data, off, 10))
        else:
            return Leaf(None, "(unsupported-kind"), False
        if math.isfinite(value):
            return Leaf(value, repr(value)), True
        text = str(value)
        return Leaf(text, text if self.plain else f'"{text}"'), True

    def _unknown(self, t: Any, bit_offset: int, data: bytes, off: int) -> _Result:
        return Leaf(None, "(unknown)"), True

    def _fwd(self, t: Any, bit_offset: int, data: bytes, off: int) -> _Result:
        return Leaf(None, "(fwd-kind-invalid)"), False

    def _modifier(self, t: Any, bit_offset: int, data: bytes, off: int) -> _Result:
        for _ in range(_MAX_CHAIN):
            if t.kind not in _MODIFIERS:
                return self.node(t.id, bit_offset, data, off)
            t = self._type(t.type_id)
            if t is None:
                break
        return Leaf(None, ""), False

    # -- aggregates ------------------------------------------------------------

    def _composite(self, t: Any, bit_offset: int, data: bytes, off: int) -> _Result:
        obj = Obj()
        for m in t.members:
            start = off + m.bit_offset // 8
            if m.bitfield_size:
                item, ok = self._bitfield(m.bitfield_size, m.bit_offset % 8, data, start)
            else:
                item, ok = self.node(m.type_id, m.bit_offset % 8, data, start)
            obj.items.append((m.name, item))
            if not ok:
                return obj, False
        return obj, True

    def _is_string(self, t: Any, data: bytes, off: int) -> bool:
        """A char array holding printable characters up to a NUL."""
        if not t.nelems:
            return False
        elem = self._type(t.type_id)
        for _ in range(_MAX_CHAIN):
            if elem is None or elem.kind not in _CHAR_MODS:
                break
            elem = self._type(elem.type_id)
        if not isinstance(elem, Int) or elem.size != 1:
            return False
        if elem.encoding != Int.CHAR and elem.name != "char":
            return False
        for byte in data[off : off + t.nelems]:
            if not byte:
                return True
            if byte <= 0x1F or byte >= 0x7F:
                return False
        return False

    def _array(self, t: Any, bit_offset: int, data: bytes, off: int) -> _Result:
        if self._is_string(t, data, off):
            text = data[off : data.index(0, off)].decode("ascii")
            return Leaf(text, quote(text)), True
        size = self.size(t.type_id)
        if size < 0:
            return Leaf(None, ""), False
        arr = Arr()
        for i in range(t.nelems):
            item, ok = self.node(t.type_id, 0, data, off + i * size)
            arr.items.append(item)
            if not ok:
                return arr, False
        return arr, True

    def size(self, type_id: int) -> int:
        """Bytes in a value of ``type_id`` (-1: none), cached."""
        size = self._sizes.get(type_id)
        if size is None:
            by_id: Any = self.btf  # indexed by id, as resolve_size wants
            try:
                size = resolve_size(by_id, type_id, _PTR_BYTES)
            except BtfError:
                size = -1
            self._sizes[type_id] = size
        return size

    def _var(self, t: Any, bit_offset: int, data: bytes, off: int) -> _Result:
        item, ok = self.node(t.type_id, bit_offset, data, off)
        return Obj([(t.name, item)]), ok

    def _datasec(self, t: Any, bit_offset: int, data: bytes, off: int) -> _Result:
        arr = Arr()
        ok = True
        for v in t.vars:
            item, ok = self.node(v.type_id, 0, data, off + v.offset)
            arr.items.append(item)
            if not ok:
                break
        return Obj([(t.name, arr)]), ok


def _x87(raw: int) -> float:
    """An x87 80-bit extended float (``long double``) as a Python float."""
    mantissa = raw & ((1 << 64) - 1)
    exponent = (raw >> 64) & 0x7FFF
    sign = -1.0 if raw >> 79 & 1 else 1.0
    if exponent == 0x7FFF:
        return sign * math.inf if mantissa << 1 == 0 else math.nan
    try:
        return sign * math.ldexp(mantissa, (exponent or 1) - 16383 - 63)
    except OverflowError:
        return sign * math.inf


def _tree(btf: Btf, type_id: int, data: bytes, plain: bool) -> Node:
    fmt = _Formatter(btf, plain)
    if not 0 <= type_id < len(btf):
        raise BtfError(f"no type with id {type_id}", type_id=type_id)
    size = max(0, fmt.size(type_id))
    if len(data) < size:
        raise BtfError(f"{len(data)} bytes for a value of {size} bytes", type_id=type_id)
    return fmt.top(type_id, data)


def format_value(btf: Btf, type_id: int, data: bytes) -> Any:
    """``data`` (a value of type ``type_id``) as bpftool's JSON, in Python.

    Raises ``BtfError`` when ``data`` is shorter than the type.
    """
    return to_python(_tree(btf, type_id, data, plain=False))


def format_plain(btf: Btf, type_id: int, data: bytes) -> str:
    """``data`` as bpftool prints a value without ``-j`` (its pretty JSON style)."""
    return render(_tree(btf, type_id, data, plain=True), pretty=True)


def _entry_tree(
    fmt: _Formatter, key_type_id: int, value_type_id: int, key: bytes, value: Any, percpu: bool
) -> Obj:
    obj = Obj()
    if key_type_id:
        obj.items.append(("key", fmt.top(key_type_id, key)))
    if not percpu:
        obj.items.append(("value", fmt.top(value_type_id, value)))
        return obj
    values = Arr()
    for cpu, data in enumerate(_per_cpu(value)):
        item = fmt.top(value_type_id, data)
        values.items.append(Obj([("cpu", Leaf(cpu, str(cpu))), ("value", item)]))
    obj.items.append(("values", values))
    return obj


def format_entry(
    btf: Btf,
    key_type_id: int,
    value_type_id: int,
    key: bytes,
    value: bytes | Sequence[bytes],
    *,
    percpu: bool = False,
) -> dict[str, Any]:
    """One entry as bpftool formats it: ``{"key": ..., "value": ...}`` (no key
    when ``key_type_id`` is 0, as for data sections; ``"values"`` with one
    ``{"cpu", "value"}`` per CPU when ``percpu``)."""
    fmt = _Formatter(btf, plain=False)
    tree = _entry_tree(fmt, key_type_id, value_type_id, key, value, percpu)
    result: dict[str, Any] = to_python(tree)
    return result


def _per_cpu(value: bytes | Sequence[bytes]) -> Sequence[bytes]:
    if isinstance(value, bytes | bytearray | memoryview):
        raise TypeError("a per-CPU value is a sequence of bytes, one per CPU")
    return value


def _hex_bytes(data: bytes) -> Arr:
    return Arr([Leaf(f"0x{b:02x}", f'"0x{b:02x}"') for b in data])


def _dump_tree(
    btf: Btf,
    key_type_id: int,
    value_type_id: int,
    entries: Iterable[Entry],
    percpu: bool,
    plain: bool,
) -> Arr:
    fmt = _Formatter(btf, plain)
    out = Arr()
    for key, value in entries:
        formatted = _entry_tree(fmt, key_type_id, value_type_id, key, value, percpu)
        if plain:
            out.items.append(formatted)
            continue
        entry = Obj([("key", _hex_bytes(bytes(key)))])
        if percpu:
            per_cpu: list[Node] = [
                Obj([("cpu", Leaf(cpu, str(cpu))), ("value", _hex_bytes(bytes(data)))])
                for cpu, data in enumerate(_per_cpu(value))
            ]
            entry.items.append(("values", Arr(per_cpu)))
        else:
            entry.items.append(("value", _hex_bytes(bytes(value))))  # type: ignore[arg-type]
        entry.items.append(("formatted", formatted))
        out.items.append(entry)
    return out


def format_map_dump(
    btf: Btf,
    key_type_id: int,
    value_type_id: int,
    entries: Iterable[Entry],
    *,
    percpu: bool = False,
) -> list[dict[str, Any]]:
    """What ``bpftool -j map dump`` prints for these entries, as Python: per
    entry the key and value bytes as ``"0x.."`` lists and ``"formatted"``."""
    tree = _dump_tree(btf, key_type_id, value_type_id, entries, percpu, plain=False)
    result: list[dict[str, Any]] = to_python(tree)
    return result


def map_dump_text(
    btf: Btf,
    key_type_id: int,
    value_type_id: int,
    entries: Iterable[Entry],
    *,
    percpu: bool = False,
    json: bool = False,
    pretty: bool = False,
) -> str:
    """The exact text of ``bpftool map dump`` (``json``: ``-j``, ``pretty``: ``-p``)."""
    tree = _dump_tree(btf, key_type_id, value_type_id, entries, percpu, plain=not json)
    writer = JsonWriter(pretty or not json)
    writer.node(tree)
    return writer.text() + "\n"
