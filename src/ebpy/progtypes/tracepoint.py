"""BPF_PROG_TYPE_TRACEPOINT: the context is one trace event record, laid out by its ``format``.

Each tracepoint describes its record in tracefs
(``/sys/kernel/tracing/events/<system>/<event>/format``)::

    name: sched_process_exec
    ID: 365
    format:
    \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
    \t...
    \tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;
    \tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;

    print fmt: "filename=%s pid=%d", __get_str(filename), REC->pid

``TracepointFormat.parse(text)`` reads that (scalars, pointers, arrays such as
``char comm[16]``, ``__data_loc``/``__rel_loc`` dynamic fields, whose u32 holds
``length << 16 | offset``); ``.fields``, ``.size`` (the fixed part) and
``.pack(values)`` build a record for ``ctx_in`` (dynamic data goes after the
fixed part), ``.unpack(record)`` reads one back. Bad text raises
``TracepointFormatError`` (an ``InputError``).

The context rules are ``tp_prog_is_valid_access``'s: read-only, aligned, any
size, never the first 8 bytes (the common fields) and never past
``PERF_MAX_TRACE_SIZE``. The registered type knows no format: it allows any
such read, and the context holds exactly ``ctx_in``, so a read past it stops
the program. ``TracepointInfo.for_format(fmt)`` gives a type for one format:
reads must stay inside its fixed part (as the kernel checks when attaching)
and a short ``ctx_in`` is padded with zeros. The kernel's
``BPF_PROG_TEST_RUN`` does not run tracepoint programs (``-ENOTSUPP``); ebpy
does, in userspace. This module is not the attaching of programs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import ClassVar

from ebpy.errors import ContextAccessError, InputError
from ebpy.memory import AddressSpace, RegionKind
from ebpy.progtypes.base import CtxField, ProgTypeInfo, RunState, TestRunOutput, register
from ebpy.progtypes.kprobe import TRACING_HELPERS
from ebpy.uapi import HelperId, ProgType

PERF_MAX_TRACE_SIZE = 8192
"""Context reads stay below this (2048 before Linux 6.4)."""
COMMON_SIZE = 8
"""The common fields (type, flags, preempt count, pid) a program may not read."""
MAX_RECORD = 0xFFFF
"""Offsets in a format and dynamic data offsets are at most this (they are u16)."""
TRACEFS_ROOTS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")

TP_HELPERS = TRACING_HELPERS | {
    HelperId.PERF_EVENT_OUTPUT,
    HelperId.GET_STACKID,
    HelperId.GET_STACK,
    HelperId.GET_ATTACH_COOKIE,
}
"""``tp_prog_func_proto``."""

Value = int | bytes | bytearray | str | Sequence[int]


class TracepointFormatError(InputError):
    """A tracefs ``format`` text that cannot be read: ``line`` (1-based) and ``reason``."""

    def __init__(self, reason: str, line: int = 0, text: str = "") -> None:
        self.reason = reason
        self.line = line
        self.text = text
        super().__init__(f"format line {line}: {reason}" if line else reason)


_DECL = re.compile(r"^(?P<type>.*?[\s*\]])\s*(?P<name>[A-Za-z_]\w*)\s*(?:\[(?P<len>[^\]]*)\])?$")
_INT = re.compile(r"^-?\d+$")


@dataclass(frozen=True, slots=True)
class TracepointField:
    """One field: ``type`` is the C type as written without the name and ``[N]``;
    ``array`` the element count (None: not an array; 0: a ``[]`` of size 0)."""

    name: str
    type: str
    offset: int
    size: int
    signed: bool = False
    array: int | None = None

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def data_loc(self) -> bool:
        return self.type.startswith("__data_loc")

    @property
    def rel_loc(self) -> bool:
        return self.type.startswith("__rel_loc")

    @property
    def dynamic(self) -> bool:
        """A u32 locating data after the fixed part (``__data_loc``, ``__rel_loc``)."""
        return self.data_loc or self.rel_loc

    @property
    def elem_size(self) -> int:
        return self.size // self.array if self.array else self.size


@dataclass(frozen=True)
class TracepointFormat:
    """A parsed tracefs ``format``: the event's name, id and fields.

    >>> fmt = TracepointFormat.parse(
    ...     "name: demo\\nID: 7\\nformat:\\n\\tfield:unsigned short common_type;\\t"
    ...     "offset:0;\\tsize:2;\\tsigned:0;\\n\\tfield:int x;\\toffset:8;\\tsize:4;\\tsigned:1;\\n"
    ... )
    >>> fmt.size, fmt.pack({"x": -1}).hex()
    (12, '0700000000000000ffffffff')
    """

    name: str
    id: int | None
    fields: tuple[TracepointField, ...]
    print_fmt: str = ""
    _by_name: dict[str, TracepointField] = dc_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})

    # -- reading -------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str | bytes) -> TracepointFormat:
        """Read the text of a tracefs ``format`` file."""
        if isinstance(text, bytes | bytearray):
            try:
                text = bytes(text).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise TracepointFormatError(f"not UTF-8 text: {exc.reason}") from None
        name, event_id, fields, print_fmt = "", None, [], ""
        seen: set[str] = set()
        lines = text.splitlines()
        for number, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line:
                continue
            if line.startswith("print fmt:"):
                print_fmt = "\n".join([line[10:].strip(), *lines[number:]]).strip()
                break
            if line.startswith("field:"):
                f = _parse_field(line, number)
                if f.name in seen:
                    raise TracepointFormatError(f"field {f.name} twice", number, raw)
                seen.add(f.name)
                fields.append(f)
            elif line.startswith("name:"):
                name = line[5:].strip()
            elif line.startswith("ID:"):
                event_id = _number(line[3:].strip(), "ID", number, raw)
            elif line != "format:":
                raise TracepointFormatError(
                    "not a name, ID, format, field or print fmt line", number, raw
                )
        if not fields:
            raise TracepointFormatError("no fields")
        return cls(name, event_id, tuple(fields), print_fmt)

    @classmethod
    def from_file(cls, path: str | Path) -> TracepointFormat:
        """Read a ``format`` file."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror}") from None
        return cls.parse(data)

    @classmethod
    def from_tracefs(
        cls, system: str, event: str, root: str | Path | None = None
    ) -> TracepointFormat:
        """The format of ``system/event`` from the mounted tracefs."""
        roots = [Path(root)] if root is not None else [Path(r) for r in TRACEFS_ROOTS]
        for base in roots:
            path = base / "events" / system / event / "format"
            if path.is_file():
                return cls.from_file(path)
        raise InputError(f"no tracefs format for {system}/{event} (is tracefs mounted?)")

    # -- layout --------------------------------------------------------------------
    @property
    def size(self) -> int:
        """Bytes of the fixed part of a record."""
        return max((f.end for f in self.fields), default=0)

    def field(self, name: str) -> TracepointField:
        f = self._by_name.get(name)
        if f is None:
            raise InputError(f"tracepoint {self.name} has no field {name!r}")
        return f

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    # -- records -------------------------------------------------------------------
    def pack(self, values: Mapping[str, Value] | None = None) -> bytes:
        """A record: fields from ``values`` (missing ones zero; ``common_type`` = ID).

        Integers for scalars, bytes or str for ``char`` arrays, sequences of
        integers for other arrays, bytes or str (NUL added) for dynamic fields.
        """
        record = bytearray(self.size)
        tail = bytearray()
        given = dict(values or {})
        if self.id is not None and "common_type" in self and "common_type" not in given:
            given["common_type"] = self.id & ((1 << 8 * self.field("common_type").size) - 1)
        for name, value in given.items():
            f = self.field(name)
            if f.dynamic:
                data = _as_bytes(f, value, None)
                start = self.size + len(tail)
                loc = start if f.data_loc else start - f.end
                if start + len(data) > MAX_RECORD or f.size != 4:
                    raise InputError(f"field {name}: dynamic data does not fit a u32 locator")
                tail += data
                record[f.offset : f.end] = (len(data) << 16 | loc).to_bytes(4, "little")
            elif f.array is not None and not isinstance(value, bytes | bytearray | str):
                record[f.offset : f.end] = _pack_array(f, value)
            elif isinstance(value, int) and f.array is None:
                record[f.offset : f.end] = _int_bytes(f, value, f.size)
            else:
                record[f.offset : f.end] = _as_bytes(f, value, f.size)
        return bytes(record + tail)

    def unpack(self, record: bytes) -> dict[str, int | bytes | list[int]]:
        """Read a record: ints, bytes (char arrays and dynamic data), lists (arrays)."""
        if len(record) < self.size:
            raise InputError(f"a {self.name} record has at least {self.size} bytes")
        out: dict[str, int | bytes | list[int]] = {}
        for f in self.fields:
            raw = record[f.offset : f.end]
            if f.dynamic:
                loc = int.from_bytes(raw, "little")
                start = (loc & 0xFFFF) + (f.end if f.rel_loc else 0)
                out[f.name] = bytes(record[start : start + (loc >> 16)])
            elif f.array is not None and f.elem_size == 1:
                out[f.name] = bytes(raw)
            elif f.array is not None:
                step = f.elem_size
                out[f.name] = [_int_value(f, raw[k : k + step]) for k in range(0, f.size, step)]
            else:
                out[f.name] = _int_value(f, raw)
        return out


def _number(text: str, what: str, line: int, raw: str) -> int:
    if not _INT.match(text) or len(text) > 12:
        raise TracepointFormatError(f"{what} is not a number: {text!r}", line, raw)
    return int(text)


def _parse_field(line: str, number: int) -> TracepointField:
    parts = [p.strip() for p in line.split(";")]
    if parts[-1]:
        raise TracepointFormatError("a field line ends with ';'", number, line)
    items: dict[str, str] = {}
    for part in parts[:-1]:
        key, sep, value = part.partition(":")
        if not sep or key in items:
            raise TracepointFormatError(f"bad item {part!r}", number, line)
        items[key] = value.strip()
    if set(items) - {"field", "offset", "size", "signed"} or not {"field", "offset", "size"} <= set(
        items
    ):
        raise TracepointFormatError(
            "a field needs field, offset and size (and signed)", number, line
        )
    offset = _number(items["offset"], "offset", number, line)
    size = _number(items["size"], "size", number, line)
    signed = _number(items.get("signed", "0"), "signed", number, line)
    if offset < 0 or size < 0 or offset + size > MAX_RECORD or signed not in (0, 1):
        raise TracepointFormatError("offset, size or signed out of range", number, line)
    decl = _DECL.match(items["field"])
    if decl is None or not decl["type"].strip():
        raise TracepointFormatError(f"cannot read the declaration {items['field']!r}", number, line)
    array = _array_len(decl["len"], size, number, line)
    f = TracepointField(decl["name"], decl["type"].strip(), offset, size, bool(signed), array)
    if f.dynamic and (size != 4 or array is not None):
        raise TracepointFormatError("a dynamic field is a u32", number, line)
    if array is None and not f.dynamic and size > 8 and "[" not in f.type:
        array = size  # a struct or wide scalar: bytes
        f = TracepointField(f.name, f.type, offset, size, f.signed, array)
    return f


def _array_len(text: str | None, size: int, number: int, line: str) -> int | None:
    if text is None:
        return None
    text = text.strip()
    if not text:
        count = 0
    elif text.isdigit() and len(text) <= 6:
        count = int(text)
    else:
        return size  # a length written as an expression: read it as bytes
    if (count == 0 and size) or (count and size % count):
        raise TracepointFormatError(f"{count} elements do not make {size} bytes", number, line)
    return count


def _int_bytes(f: TracepointField, value: object, size: int) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int) or size > 8:
        raise InputError(f"field {f.name}: expected an integer of {size} bytes")
    if not -(1 << (8 * size - 1)) <= value < 1 << 8 * size:
        raise InputError(f"field {f.name}: {value} does not fit in {size} bytes")
    return (value & ((1 << 8 * size) - 1)).to_bytes(size, "little")


def _int_value(f: TracepointField, raw: bytes) -> int:
    return int.from_bytes(raw, "little", signed=f.signed)


def _as_bytes(f: TracepointField, value: Value, size: int | None) -> bytes:
    if isinstance(value, str) and (f.dynamic or (f.elem_size == 1 and f.array is not None)):
        value = value.encode("utf-8") + (b"\0" if size is None else b"")
    if not isinstance(value, bytes | bytearray):
        raise InputError(f"field {f.name}: expected {'bytes or str' if size is None else 'bytes'}")
    if size is not None:
        if len(value) > size:
            raise InputError(f"field {f.name}: {len(value)} bytes do not fit in {size}")
        return bytes(value).ljust(size, b"\0")
    return bytes(value)


def _pack_array(f: TracepointField, value: Value) -> bytes:
    if (
        isinstance(value, int | str | bytes | bytearray)
        or not isinstance(value, Sequence)
        or len(value) > (f.array or 0)
    ):
        raise InputError(f"field {f.name}: expected at most {f.array} integers")
    step = f.elem_size
    return b"".join(_int_bytes(f, v, step) for v in value).ljust(f.size, b"\0")


@register
class TracepointInfo(ProgTypeInfo):
    """BPF_PROG_TYPE_TRACEPOINT (no format: any read within ``ctx_in``)."""

    prog_type: ClassVar[ProgType] = ProgType.TRACEPOINT
    name: ClassVar[str] = "tracepoint"
    ctx_size: ClassVar[int] = PERF_MAX_TRACE_SIZE
    helpers: ClassVar[frozenset[int]] = frozenset(TP_HELPERS)
    format: ClassVar[TracepointFormat | None] = None

    @classmethod
    def for_format(cls, fmt: TracepointFormat) -> TracepointInfo:
        """The program type for tracepoints with this record layout."""
        fields = tuple(
            CtxField(f.name, f.offset, f.size, read=f.offset >= COMMON_SIZE) for f in fmt.fields
        )
        attrs = {"format": fmt, "ctx_size": min(fmt.size, PERF_MAX_TRACE_SIZE), "fields": fields}
        sub = type(f"TracepointInfo[{fmt.name}]", (cls,), attrs)
        info: TracepointInfo = sub()
        return info

    def access(self, offset: int, size: int, write: bool, pc: int | None = None) -> tuple[int, int]:
        """``tp_prog_is_valid_access``: aligned reads in [8, end of the record)."""
        reason = ""
        if offset < 0:
            # The kernel compares ``off < sizeof(void *)`` unsigned, so it lets an
            # aligned negative offset through; at run time such a read faults here.
            if write or size not in (1, 2, 4, 8) or -offset % size:
                reason = "misaligned or write access"
        elif offset < COMMON_SIZE:
            reason = "the common fields cannot be read"
        elif offset + size > self.ctx_size:
            reason = "past the end of the record"
        elif write:
            reason = "the record is read-only"
        elif size not in (1, 2, 4, 8) or offset % size:
            reason = "misaligned access"
        if reason:
            raise ContextAccessError(self.name, offset, size, write, pc, reason)
        return offset, size

    def new_state(self, memory: AddressSpace, ctx_in: bytes | None) -> RunState:
        """The record: ``ctx_in`` (padded to the format's fixed size when there is one)."""
        data = bytearray(ctx_in or b"")
        if self.format is not None and len(data) < self.format.size:
            data += bytes(self.format.size - len(data))
        region = memory.map(RegionKind.CONTEXT, data, share=True, name="ctx")
        return RunState(self, memory, region)

    def finish(self, state: RunState, retval: int) -> TestRunOutput:
        return TestRunOutput(b"", bytes(state.ctx))
