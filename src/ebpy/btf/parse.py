"""Read ``.BTF`` bytes into the type model (``ebpy.btf.types``).

``parse_btf`` checks what the kernel and libbpf check before they trust BTF:
the header (magic ``0xeB9F`` in either byte order, version 1, no flags, its
length), that the type and string sections lie inside the data and do not
overlap, that the string section is NUL-terminated (and starts with the empty
string unless the BTF is split), that each type's trailing records fit in the
type section, that its kind is known and its info word has no stray bits,
that every name is a valid string offset and that every type id a type refers
to exists. Split BTF (a kernel module's, over vmlinux) continues the base's
type ids and string offsets. Every malformed input raises ``BtfError`` with
``section``, ``offset`` (a byte offset in the data) and ``type_id`` where
known, and nothing else.

It is written for speed: the type section is read as one array of 32-bit
words and the string section is indexed in one pass, so the kernel's
vmlinux BTF (about 5 MB, 125k types) parses in a fraction of a second.

This module only reads. It does not write BTF (``ebpy.btf.encode``), read
``.BTF.ext`` (``ebpy.btf.ext``), find BTF in ELF files (``ebpy.elf``) or print.

>>> import struct
>>> strs = b"\\0int\\0"
>>> types = struct.pack("<IIII", 1, 1 << 24, 4, (1 << 24) | 32)
>>> hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strs))
>>> parse_btf(hdr + types + strs)[1]
Int(id=1, name='int', size=4, encoding=1, offset=0, bits=32)
"""

from __future__ import annotations

import gc
import os
import struct
import sys
import weakref
from array import array
from collections.abc import Callable
from itertools import accumulate

from ebpy.btf.types import (
    Array,
    Btf,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Kind,
    Member,
    Param,
    Ptr,
    Restrict,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Volatile,
)
from ebpy.errors import BtfError

__all__ = [
    "BTF_MAGIC",
    "HEADER_SIZE",
    "VMLINUX_PATH",
    "Header",
    "StringTable",
    "load_module_btf",
    "load_vmlinux",
    "parse_btf",
    "parse_header",
    "string_table",
]

BTF_MAGIC = 0xEB9F
HEADER_SIZE = 24
VMLINUX_PATH = "/sys/kernel/btf/vmlinux"
SYSFS_BTF = "/sys/kernel/btf"
MAX_NAME_OFFSET = 0xFFFFFF  # BTF_MAX_NAME_OFFSET
MAX_TYPE = 0xFFFFF  # BTF_MAX_TYPE
_INFO_MASK = 0x9F00FFFF  # kind_flag | kind | vlen; the other bits must be 0
_INT_MASK = 0x0FFF00FF  # encoding | offset | bits
_KFLAG_KINDS = frozenset(
    {Kind.STRUCT, Kind.UNION, Kind.FWD, Kind.ENUM, Kind.ENUM64, Kind.DECL_TAG, Kind.TYPE_TAG}
)
_NO_VLEN_KINDS = frozenset(
    {
        Kind.INT,
        Kind.PTR,
        Kind.ARRAY,
        Kind.FWD,
        Kind.TYPEDEF,
        Kind.VOLATILE,
        Kind.CONST,
        Kind.RESTRICT,
        Kind.VAR,
        Kind.FLOAT,
        Kind.DECL_TAG,
        Kind.TYPE_TAG,
    }
)
_SWAP = {"<": sys.byteorder != "little", ">": sys.byteorder == "little"}


class Header:
    """The decoded BTF header: ``order`` is ``'<'`` or ``'>'``; offsets are from the data's start."""

    __slots__ = ("hdr_len", "order", "str_len", "str_start", "type_len", "type_start")

    def __init__(
        self, order: str, hdr_len: int, type_start: int, type_len: int, str_start: int, str_len: int
    ) -> None:
        self.order = order
        self.hdr_len = hdr_len
        self.type_start = type_start
        self.type_len = type_len
        self.str_start = str_start
        self.str_len = str_len


def parse_header(data: bytes, *, section: str = ".BTF", split: bool = False) -> Header:
    """Check the header and section layout of BTF ``data``.

    >>> h = parse_header(struct.pack(">HBBIIIII", 0xEB9F, 1, 0, 24, 0, 0, 0, 1) + b"\\0")
    >>> h.order, h.str_start, h.str_len
    ('>', 24, 1)
    """

    def fail(reason: str, offset: int) -> BtfError:
        return BtfError(reason, section=section, offset=offset)

    if len(data) < HEADER_SIZE:
        raise fail(f"{len(data)} bytes is too short for a BTF header", 0)
    if data[:2] == b"\x9f\xeb":
        order = "<"
    elif data[:2] == b"\xeb\x9f":
        order = ">"
    else:
        raise fail(f"bad magic {data[0]:02x}{data[1]:02x}", 0)
    _, version, flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(
        order + "HBBIIIII", data
    )
    if version != 1:
        raise fail(f"unsupported BTF version {version}", 2)
    if flags:
        raise fail(f"unsupported header flags {flags:#x}", 3)
    if hdr_len < HEADER_SIZE or hdr_len > len(data):
        raise fail(f"bad header length {hdr_len}", 4)
    if any(data[HEADER_SIZE:hdr_len]):
        raise fail("unknown non-zero header fields", HEADER_SIZE)
    room = len(data) - hdr_len
    if type_off > room or type_len > room - type_off:
        raise fail(f"type section {type_off}+{type_len} outside the data", 8)
    if str_off > room or str_len > room - str_off:
        raise fail(f"string section {str_off}+{str_len} outside the data", 16)
    if type_off % 4:
        raise fail(f"type section offset {type_off} not aligned to 4", 8)
    if type_len and str_len and type_off < str_off + str_len and str_off < type_off + type_len:
        raise fail("type and string sections overlap", 8)
    str_start = hdr_len + str_off
    if str_len == 0 and not split:
        raise fail("empty string section", 20)
    if str_len:
        if str_len - 1 > MAX_NAME_OFFSET:
            raise fail(f"string section of {str_len} bytes is too long", 20)
        if data[str_start + str_len - 1] != 0:
            raise fail("string section not NUL-terminated", str_start + str_len - 1)
        if not split and data[str_start] != 0:
            raise fail("string section does not start with the empty string", str_start)
    return Header(order, hdr_len, hdr_len + type_off, type_len, str_start, str_len)


class StringTable(dict[int, str]):
    """String offset -> string, for one BTF string section (and its base's).

    Offsets where a string starts are indexed up front; an offset into the
    middle of a string is decoded on demand; an offset past the end raises
    ``BtfError`` (without context: the caller adds it).

    >>> t = StringTable(b"\\0ab\\0c\\0")
    >>> t[1], t[2], t[4], t[0]
    ('ab', 'b', 'c', '')
    """

    def __init__(self, data: bytes, start: int = 0, base: StringTable | None = None) -> None:
        super().__init__()
        self.data = data
        self.start = start
        self.base = base
        self.end = start + len(data)
        if not data:
            return
        body = data[:-1] if data.endswith(b"\0") else data
        if body.isascii():
            parts: list[str] = body.decode("ascii").split("\0")
            sizes = [len(p) + 1 for p in parts]
        else:
            raw = body.split(b"\0")
            parts = [p.decode("utf-8", "surrogateescape") for p in raw]
            sizes = [len(p) + 1 for p in raw]
        self.update(zip(accumulate(sizes[:-1], initial=start), parts, strict=True))

    def __missing__(self, offset: int) -> str:
        if offset < self.start and self.base is not None:
            return self.base[offset]
        if not self.start <= offset < self.end:
            raise BtfError(f"string offset {offset} out of range")
        rel = offset - self.start
        stop = self.data.find(b"\0", rel)
        text = self.data[rel : stop if stop >= 0 else len(self.data)]
        value = text.decode("utf-8", "surrogateescape")
        self[offset] = value
        return value


_TABLES: weakref.WeakKeyDictionary[Btf, StringTable] = weakref.WeakKeyDictionary()


def string_table(btf: Btf) -> StringTable:
    """The string table of ``btf`` (its base's strings included), built once per table.

    >>> string_table(Btf([], strings=b"\\0x\\0"))[1]
    'x'
    """
    table = _TABLES.get(btf)
    if table is None:
        base = string_table(btf.base) if btf.base is not None else None
        start = base.end if base is not None else 0
        table = StringTable(bytes(btf.strings), start, base)
        _TABLES[btf] = table
    return table


# -- one decoder per kind ------------------------------------------------------------
# A decoder gets the reader (words, strings, caches), the index of the type's
# first word, the type's id, its name, kind flag, vlen and third word (size or
# type). It returns the type, the index after it and the largest id it refers to.


class _Reader:
    """What the decoders share during one parse."""

    __slots__ = ("params", "s", "w")

    def __init__(self, words: list[int], strings: StringTable) -> None:
        self.w = words
        self.s = strings
        self.params: dict[tuple[int, int], Param] = {}
        """Parameters repeat a lot (vmlinux: 82k, 20k distinct); they are frozen, so shared."""

    def param(self, key: tuple[int, int]) -> Param:
        """The parameter of (name offset, type id), made once."""
        p = self.params[key] = Param(self.s[key[0]], key[1])
        return p


_Decoded = tuple[Type, int, int]
_Decoder = Callable[[_Reader, int, int, str, int, int, int], _Decoded]


def _need(r: _Reader, end: int) -> list[int]:
    if end > len(r.w):
        raise BtfError("trailing records run past the type section")
    return r.w


def _int(r: _Reader, i: int, tid: int, name: str, kf: int, vlen: int, size: int) -> _Decoded:
    data = _need(r, i + 4)[i + 3]
    if data & ~_INT_MASK:
        raise BtfError(f"invalid INT data {data:#x}")
    return Int(tid, name, size, data >> 24, (data >> 16) & 0xFF, data & 0xFF), i + 4, 0


def _ref(cls: type[Ptr | Typedef | Volatile | Const | Restrict]) -> _Decoder:
    def decode(r: _Reader, i: int, tid: int, name: str, kf: int, vlen: int, ref: int) -> _Decoded:
        return cls(tid, name, ref), i + 3, ref

    return decode


def _type_tag(r: _Reader, i: int, tid: int, name: str, kf: int, vlen: int, ref: int) -> _Decoded:
    return TypeTag(tid, name, ref, bool(kf)), i + 3, ref


def _array(r: _Reader, i: int, tid: int, name: str, kf: int, vlen: int, _: int) -> _Decoded:
    w = _need(r, i + 6)
    elem, index, nelems = w[i + 3], w[i + 4], w[i + 5]
    return Array(tid, name, elem, index, nelems), i + 6, max(elem, index)


def _composite(cls: type[Struct | Union]) -> _Decoder:
    def decode(r: _Reader, i: int, tid: int, name: str, kf: int, vlen: int, size: int) -> _Decoded:
        end = i + 3 + 3 * vlen
        w, s = _need(r, end), r.s
        if not vlen:
            return cls(tid, name, size, (), bool(kf)), end, 0
        if kf:
            members = tuple(
                [
                    Member(s[w[j]], w[j + 1], w[j + 2] & 0xFFFFFF, w[j + 2] >> 24)
                    for j in range(i + 3, end, 3)
                ]
            )
        else:
            members = tuple([Member(s[w[j]], w[j + 1], w[j + 2]) for j in range(i + 3, end, 3)])
        return cls(tid, name, size, members, bool(kf)), end, max(w[i + 4 : end : 3])

    return decode


def _s32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def _enum(r: _Reader, i: int, tid: int, name: str, kf: int, vlen: int, size: int) -> _Decoded:
    end = i + 3 + 2 * vlen
    w, s = _need(r, end), r.s
    if kf:
        values = tuple([EnumValue(s[w[j]], _s32(w[j + 1])) for j in range(i + 3, end, 2)])
    else:
        values = tuple([EnumValue(s[w[j]], w[j + 1]) for j in range(i + 3, end, 2)])
    return Enum(tid, name, size, values, bool(kf)), end, 0


def _enum64(r: _Reader, i: int, tid: int, name: str, kf: int, vlen: int, size: int) -> _Decoded:
    end = i + 3 + 3 * vlen
    w, s = _need(r, end), r.s
    values = []
    for j in range(i + 3, end, 3):
        value = w[j + 2] << 32 | w[j + 1]
        if kf and value >> 63:
            value -= 1 << 64
        values.append(EnumValue(s[w[j]], value))
    return Enum64(tid, name, size, tuple(values), bool(kf)), end, 0


def _fwd(r: _Reader, i: int, tid: int, name: str, kf: int, vlen: int, _: int) -> _Decoded:
    return Fwd(tid, name, bool(kf)), i + 3, 0


def _func(r: _Reader, i: int, tid: int, name: str, kf: int, vlen: int, ref: int) -> _Decoded:
    return Func(tid, name, ref, vlen), i + 3, ref


def _func_proto(r: _Reader, i: int, tid: int, name: str, kf: int, vlen: int, ret: int) -> _Decoded:
    if not vlen:
        return FuncProto(tid, name, ret, ()), i + 3, ret
    end = i + 3 + 2 * vlen
    w = _need(r, end)
    types = w[i + 4 : end : 2]
    get = r.params.get
    params = tuple(
        [get(key) or r.param(key) for key in zip(w[i + 3 : end : 2], types, strict=True)]
    )
    top = max(types)
    return FuncProto(tid, name, ret, params), end, top if top > ret else ret


def _var(r: _Reader, i: int, tid: int, name: str, kf: int, vlen: int, ref: int) -> _Decoded:
    return Var(tid, name, ref, _need(r, i + 4)[i + 3]), i + 4, ref


def _datasec(r: _Reader, i: int, tid: int, name: str, kf: int, vlen: int, size: int) -> _Decoded:
    end = i + 3 + 3 * vlen
    w = _need(r, end)
    secinfo = tuple([VarSecinfo(w[j], w[j + 1], w[j + 2]) for j in range(i + 3, end, 3)])
    return Datasec(tid, name, size, secinfo), end, max(w[i + 3 : end : 3], default=0)


def _float(r: _Reader, i: int, tid: int, name: str, kf: int, vlen: int, size: int) -> _Decoded:
    return Float(tid, name, size), i + 3, 0


def _decl_tag(r: _Reader, i: int, tid: int, name: str, kf: int, vlen: int, ref: int) -> _Decoded:
    idx = _s32(_need(r, i + 4)[i + 3])
    return DeclTag(tid, name, ref, idx, bool(kf)), i + 4, ref


DECODERS: dict[Kind, _Decoder] = {
    Kind.INT: _int,
    Kind.PTR: _ref(Ptr),
    Kind.ARRAY: _array,
    Kind.STRUCT: _composite(Struct),
    Kind.UNION: _composite(Union),
    Kind.ENUM: _enum,
    Kind.FWD: _fwd,
    Kind.TYPEDEF: _ref(Typedef),
    Kind.VOLATILE: _ref(Volatile),
    Kind.CONST: _ref(Const),
    Kind.RESTRICT: _ref(Restrict),
    Kind.FUNC: _func,
    Kind.FUNC_PROTO: _func_proto,
    Kind.VAR: _var,
    Kind.DATASEC: _datasec,
    Kind.FLOAT: _float,
    Kind.DECL_TAG: _decl_tag,
    Kind.TYPE_TAG: _type_tag,
    Kind.ENUM64: _enum64,
}
"""How to read each kind's record (``BTF_KIND_*`` -> decoder)."""

_BY_NUMBER: list[_Decoder | None] = [DECODERS.get(k) for k in range(32)]  # type: ignore[call-overload]
_ALLOWED_INFO = [
    ~(
        0x1F000000
        | (0x80000000 if k in _KFLAG_KINDS else 0)
        | (0 if k in _NO_VLEN_KINDS else 0xFFFF)
    )
    & 0xFFFFFFFF
    for k in range(32)
]
"""Per kind, the info-word bits that must be clear: stray bits, and kind_flag and vlen
where the kind has no use for them."""


def _bad_info(info: int) -> str:
    kind = (info >> 24) & 0x1F
    if info & ~_INFO_MASK:
        return f"invalid info word {info:#x}"
    if info >> 31:
        return f"kind_flag set on {Kind(kind).name}"
    return f"vlen {info & 0xFFFF} on {Kind(kind).name}"


def parse_btf(data: bytes, *, base: Btf | None = None, section: str = ".BTF") -> Btf:
    """The types of the BTF blob ``data`` (split over ``base`` when given).

    ``section`` names the data in errors (``.BTF``, a file name).
    """
    data = bytes(data)
    hdr = parse_header(data, section=section, split=base is not None)
    base_strings = string_table(base) if base is not None else None
    start = base_strings.end if base_strings is not None else 0
    strings = StringTable(data[hdr.str_start : hdr.str_start + hdr.str_len], start, base_strings)
    if hdr.type_len % 4:
        raise BtfError(
            f"type section length {hdr.type_len} is not a multiple of 4",
            section=section,
            offset=hdr.type_start + hdr.type_len,
        )
    words_arr = array("I")
    words_arr.frombytes(data[hdr.type_start : hdr.type_start + hdr.type_len])
    if _SWAP[hdr.order]:
        words_arr.byteswap()
    words = words_arr.tolist()
    first_id = base.start_id + len(base.types) if base is not None else 1
    # The walk makes some 300k small acyclic objects; the cyclic collector would
    # scan the growing tables again and again (half the time on vmlinux).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        types, top, top_at = _walk(words, first_id, strings, hdr, section)
    finally:
        if was_enabled:
            gc.enable()
    limit = first_id + len(types)
    if limit - 1 > MAX_TYPE:
        raise BtfError(f"{limit - 1} types is more than BTF allows", section=section)
    if top >= limit:
        bad = types[top_at - first_id]
        raise BtfError(
            f"{bad.kind.name} refers to type id {top}, past the last id {limit - 1}",
            section=section,
            offset=_offset_of(words, top_at - first_id, hdr),
            type_id=top_at,
        )
    btf = Btf(types, strings=strings.data, base=base)
    _TABLES[btf] = strings
    return btf


def _walk(
    words: list[int], first_id: int, strings: StringTable, hdr: Header, section: str
) -> tuple[list[Type], int, int]:
    """Decode every type; also return the largest referenced id and who refers to it."""
    types: list[Type] = []
    append = types.append
    decoders, allowed = _BY_NUMBER, _ALLOWED_INFO
    reader = _Reader(words, strings)
    n = len(words)
    i = 0
    tid = first_id
    top = top_at = 0
    try:
        while i < n:
            if i + 3 > n:
                raise BtfError("type record truncated")
            info = words[i + 1]
            kind = (info >> 24) & 0x1F
            decode = decoders[kind]
            if decode is None:
                raise BtfError(f"unknown BTF kind {kind}")
            if info & allowed[kind]:
                raise BtfError(_bad_info(info))
            t, i, ref = decode(
                reader, i, tid, strings[words[i]], info >> 31, info & 0xFFFF, words[i + 2]
            )
            if ref > top:
                top, top_at = ref, tid
            append(t)
            tid += 1
    except BtfError as exc:
        raise BtfError(
            exc.reason, section=section, offset=hdr.type_start + 4 * i, type_id=tid
        ) from None
    return types, top, top_at


def _offset_of(words: list[int], index: int, hdr: Header) -> int:
    """Byte offset in the data of the ``index``-th type (for error messages)."""
    i = 0
    for _ in range(index):
        info = words[i + 1]
        kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
        i += 3 + _TRAILING_WORDS[kind](vlen)
    return hdr.type_start + 4 * i


def _words(per_record: int, fixed: int = 0) -> Callable[[int], int]:
    return lambda vlen: fixed + per_record * vlen


_TRAILING_WORDS: dict[int, Callable[[int], int]] = {
    Kind.INT: _words(0, 1),
    Kind.ARRAY: _words(0, 3),
    Kind.STRUCT: _words(3),
    Kind.UNION: _words(3),
    Kind.ENUM: _words(2),
    Kind.FUNC_PROTO: _words(2),
    Kind.VAR: _words(0, 1),
    Kind.DATASEC: _words(3),
    Kind.DECL_TAG: _words(0, 1),
    Kind.ENUM64: _words(3),
}
for _k in Kind:
    _TRAILING_WORDS.setdefault(_k, _words(0))


# -- kernel BTF from sysfs -------------------------------------------------------------

_CACHE: dict[str, tuple[tuple[int, int], Btf]] = {}


def _read(path: str) -> tuple[bytes, tuple[int, int]]:
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            return f.read(), (st.st_mtime_ns, st.st_size)
    except OSError as exc:
        raise BtfError(exc.strerror or str(exc), section=path) from exc


def load_vmlinux(path: str = VMLINUX_PATH) -> Btf:
    """The kernel's BTF (raw, as in sysfs), parsed once per path and modification time."""
    try:
        st = os.stat(path)
        stamp = (st.st_mtime_ns, st.st_size)
    except OSError as exc:
        raise BtfError(exc.strerror or str(exc), section=path) from exc
    cached = _CACHE.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    data, stamp = _read(path)
    btf = parse_btf(data, section=path)
    _CACHE[path] = (stamp, btf)
    return btf


def load_module_btf(name: str, *, sysfs: str = SYSFS_BTF) -> Btf:
    """A kernel module's BTF from ``/sys/kernel/btf/NAME``, split over vmlinux."""
    if not name or "/" in name or name in (".", ".."):
        raise BtfError(f"bad module name {name!r}")
    path = os.path.join(sysfs, name)
    base = load_vmlinux(os.path.join(sysfs, "vmlinux"))
    if name == "vmlinux":
        return base
    data, _ = _read(path)
    return parse_btf(data, base=base, section=path)
