"""Write a type table (``ebpy.btf.types.Btf``) as ``.BTF`` bytes.

``encode_btf`` produces little-endian BTF: the 24-byte header, the type
section, then a string section in which each distinct name is stored once
(the empty string at offset 0). ``parse_btf(encode_btf(b))`` gives back the
same types; this is what the kernel backend hands to ``BPF_BTF_LOAD``. For
split BTF the string offsets continue after the base's string section, as the
kernel expects of module BTF; names are not looked up in the base's strings.

Every field is checked against the width the format gives it (24-bit member
bit offsets with a kind flag, 8-bit bitfield sizes, 16-bit vlen ...); what
does not fit raises ``BtfError`` with the type's id. This module does not
check that the types make sense to the kernel (that is the kernel's or the
verifier's job), nor does it deduplicate types.

>>> from ebpy.btf.parse import parse_btf
>>> from ebpy.btf.types import Btf, Int, Ptr
>>> b = Btf([Int(1, "int", size=4, encoding=1, bits=32), Ptr(2, "", type_id=1)])
>>> list(parse_btf(encode_btf(b))) == list(b)
True
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Callable

from ebpy.btf.parse import BTF_MAGIC, HEADER_SIZE, string_table
from ebpy.btf.types import (
    Array,
    Btf,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Kind,
    Struct,
    Type,
    Union,
    Var,
)
from ebpy.errors import BtfError

__all__ = ["ENCODERS", "StringWriter", "encode_btf"]

_U32 = 0xFFFFFFFF
_VLEN_MAX = 0xFFFF


class StringWriter:
    """A deduplicated string section being built; offsets start at ``start``.

    >>> w = StringWriter()
    >>> w.add("a"), w.add("bc"), w.add("a"), w.add(""), w.data()
    (1, 3, 1, 0, b'\\x00a\\x00bc\\x00')
    """

    def __init__(self, start: int = 0) -> None:
        self.start = start
        self._offsets: dict[str, int] = {"": 0}
        self._parts: list[bytes] = [b""] if start == 0 else []
        self._size = 1 if start == 0 else 0

    def add(self, text: str) -> int:
        """The offset of ``text``, added when new."""
        off = self._offsets.get(text)
        if off is None:
            raw = text.encode("utf-8", "surrogateescape")
            if b"\0" in raw:
                raise BtfError(f"name {text!r} contains a NUL byte")
            off = self.start + self._size
            self._offsets[text] = off
            self._parts.append(raw)
            self._size += len(raw) + 1
        return off

    def data(self) -> bytes:
        """The section: every string followed by a NUL."""
        return b"".join(p + b"\0" for p in self._parts)


# -- one encoder per kind: (type, strings) -> (info vlen/kflag, size-or-type, trailing words)

_Encoded = tuple[int, int, int, list[int]]
"""vlen, kind flag, the size-or-type word, the trailing 32-bit words."""
_Encoder = Callable[[Type, StringWriter], _Encoded]


def _u32(value: int, what: str) -> int:
    if not 0 <= value <= _U32:
        raise BtfError(f"{what} {value} does not fit in 32 bits")
    return value


def _s32(value: int, what: str) -> int:
    if not -(1 << 31) <= value < 1 << 31:
        raise BtfError(f"{what} {value} does not fit in a signed 32-bit field")
    return value & _U32


def _value(value: int, signed: bool, bits: int, name: str) -> int:
    low, high = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)
    if not low <= value < high:
        kind = "signed" if signed else "unsigned"
        raise BtfError(f"enumerator {name!r} {value} does not fit in {bits} bits {kind}")
    return value & ((1 << bits) - 1)


def _vlen(n: int) -> int:
    if n > _VLEN_MAX:
        raise BtfError(f"{n} records is more than a vlen of 16 bits allows")
    return n


def _int(t: Type, s: StringWriter) -> _Encoded:
    assert isinstance(t, Int)
    if not (0 <= t.encoding <= 0xF and 0 <= t.offset <= 0xFF and 0 <= t.bits <= 0xFF):
        raise BtfError(f"INT encoding {t.encoding}, offset {t.offset}, bits {t.bits} do not fit")
    data = t.encoding << 24 | t.offset << 16 | t.bits
    return 0, 0, _u32(t.size, "size"), [data]


def _ref(t: Type, s: StringWriter) -> _Encoded:
    return 0, 0, _u32(t.type_id, "type id"), []  # type: ignore[attr-defined]


def _tag(t: Type, s: StringWriter) -> _Encoded:
    kf = int(bool(getattr(t, "kind_flag", False)))
    return 0, kf, _u32(t.type_id, "type id"), []  # type: ignore[attr-defined]


def _array(t: Type, s: StringWriter) -> _Encoded:
    assert isinstance(t, Array)
    words = [_u32(t.type_id, "type id"), _u32(t.index_type_id, "index type id")]
    return 0, 0, 0, [*words, _u32(t.nelems, "nelems")]


def _composite(t: Type, s: StringWriter) -> _Encoded:
    assert isinstance(t, Struct | Union)
    words: list[int] = []
    for m in t.members:
        if t.kind_flag:
            if not (0 <= m.bit_offset <= 0xFFFFFF and 0 <= m.bitfield_size <= 0xFF):
                raise BtfError(f"member {m.name!r}: offset or bitfield size does not fit")
            offset = m.bitfield_size << 24 | m.bit_offset
        elif m.bitfield_size:
            raise BtfError(f"member {m.name!r} is a bitfield but kind_flag is not set")
        else:
            offset = _u32(m.bit_offset, "bit offset")
        words += (s.add(m.name), _u32(m.type_id, "type id"), offset)
    return _vlen(len(t.members)), int(t.kind_flag), _u32(t.size, "size"), words


def _enum(t: Type, s: StringWriter) -> _Encoded:
    assert isinstance(t, Enum)
    words: list[int] = []
    for v in t.values:
        words += (s.add(v.name), _value(v.value, t.signed, 32, v.name))
    return _vlen(len(t.values)), int(t.signed), _u32(t.size, "size"), words


def _enum64(t: Type, s: StringWriter) -> _Encoded:
    assert isinstance(t, Enum64)
    words: list[int] = []
    for v in t.values:
        value = _value(v.value, t.signed, 64, v.name)
        words += (s.add(v.name), value & _U32, value >> 32)
    return _vlen(len(t.values)), int(t.signed), _u32(t.size, "size"), words


def _fwd(t: Type, s: StringWriter) -> _Encoded:
    assert isinstance(t, Fwd)
    return 0, int(t.union), 0, []


def _func(t: Type, s: StringWriter) -> _Encoded:
    assert isinstance(t, Func)
    return _vlen(t.linkage), 0, _u32(t.type_id, "type id"), []


def _func_proto(t: Type, s: StringWriter) -> _Encoded:
    assert isinstance(t, FuncProto)
    words: list[int] = []
    for p in t.params:
        words += (s.add(p.name), _u32(p.type_id, "type id"))
    return _vlen(len(t.params)), 0, _u32(t.type_id, "return type id"), words


def _var(t: Type, s: StringWriter) -> _Encoded:
    assert isinstance(t, Var)
    return 0, 0, _u32(t.type_id, "type id"), [_u32(t.linkage, "linkage")]


def _datasec(t: Type, s: StringWriter) -> _Encoded:
    assert isinstance(t, Datasec)
    words: list[int] = []
    for v in t.vars:
        words += (_u32(v.type_id, "type id"), _u32(v.offset, "offset"), _u32(v.size, "size"))
    return _vlen(len(t.vars)), 0, _u32(t.size, "size"), words


def _float(t: Type, s: StringWriter) -> _Encoded:
    assert isinstance(t, Float)
    return 0, 0, _u32(t.size, "size"), []


def _decl_tag(t: Type, s: StringWriter) -> _Encoded:
    assert isinstance(t, DeclTag)
    idx = _s32(t.component_idx, "component_idx")
    return 0, int(t.kind_flag), _u32(t.type_id, "type id"), [idx]


ENCODERS: dict[Kind, _Encoder] = {
    Kind.INT: _int,
    Kind.PTR: _ref,
    Kind.ARRAY: _array,
    Kind.STRUCT: _composite,
    Kind.UNION: _composite,
    Kind.ENUM: _enum,
    Kind.FWD: _fwd,
    Kind.TYPEDEF: _ref,
    Kind.VOLATILE: _ref,
    Kind.CONST: _ref,
    Kind.RESTRICT: _ref,
    Kind.FUNC: _func,
    Kind.FUNC_PROTO: _func_proto,
    Kind.VAR: _var,
    Kind.DATASEC: _datasec,
    Kind.FLOAT: _float,
    Kind.DECL_TAG: _decl_tag,
    Kind.TYPE_TAG: _tag,
    Kind.ENUM64: _enum64,
}
"""How to write each kind's record (``BTF_KIND_*`` -> encoder)."""


def encode_btf(btf: Btf) -> bytes:
    """``btf``'s own types as little-endian BTF bytes (split over its base when it has one).

    A base must keep its string section (``Btf.strings``, as parsed): split string
    offsets start where the base's end.
    """
    start = string_table(btf.base).end if btf.base is not None else 0
    strings = StringWriter(start)
    words = array("I")
    expected = btf.start_id
    for t in btf.types:
        if t.id != expected:
            raise BtfError(f"type at position of id {expected} has id {t.id}", type_id=t.id)
        expected += 1
        encoder = ENCODERS.get(t.kind)
        if encoder is None:
            raise BtfError(f"cannot encode kind {t.kind.name}", type_id=t.id)
        try:
            name_off = strings.add(t.name)
            vlen, kflag, third, trailing = encoder(t, strings)
        except BtfError as exc:
            raise BtfError(exc.reason, type_id=t.id) from None
        words.extend((name_off, kflag << 31 | t.kind << 24 | vlen, third))
        words.extend(trailing)
    if words.itemsize != 4:  # pragma: no cover - every Linux platform has 4-byte unsigned int
        raise BtfError("array('I') is not 32-bit here")
    if struct.pack("=I", 1) != struct.pack("<I", 1):  # pragma: no cover - big-endian host
        words.byteswap()
    type_data = words.tobytes()
    str_data = strings.data()
    if len(str_data) - 1 > 0xFFFFFF:
        raise BtfError(f"string section of {len(str_data)} bytes is too long")
    header = struct.pack(
        "<HBBIIIII", BTF_MAGIC, 1, 0, HEADER_SIZE, 0, len(type_data), len(type_data), len(str_data)
    )
    return header + type_data + str_data
