"""``.BTF.ext``: function info, line info and CO-RE relocation records.

clang writes one ``.BTF.ext`` section per object next to ``.BTF``. For each
program section it lists where functions start (``func_info``: instruction
offset and FUNC type id), which source line each instruction comes from
(``line_info``: offset, file, line text, line and column) and the CO-RE
relocations (``core_relo``: instruction offset, root type id, access string,
kind). Offsets here are in bytes from the start of their section, as in the
file; names and strings are resolved against the ``.BTF`` string table.

This module holds the records and parses them (``parse_btf_ext``); it does
not apply CO-RE relocations (``ebpy.btf.core``) or link sections.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TypeVar

from ebpy.btf.parse import StringTable, string_table
from ebpy.btf.types import Btf
from ebpy.errors import BtfError

__all__ = ["BtfExt", "CoreRelo", "CoreReloKind", "FuncInfo", "LineInfo", "parse_btf_ext"]


class CoreReloKind(IntEnum):
    """``enum bpf_core_relo_kind``."""

    FIELD_BYTE_OFFSET = 0
    FIELD_BYTE_SIZE = 1
    FIELD_EXISTS = 2
    FIELD_SIGNED = 3
    FIELD_LSHIFT_U64 = 4
    FIELD_RSHIFT_U64 = 5
    TYPE_ID_LOCAL = 6
    TYPE_ID_TARGET = 7
    TYPE_EXISTS = 8
    TYPE_SIZE = 9
    ENUMVAL_EXISTS = 10
    ENUMVAL_VALUE = 11
    TYPE_MATCHES = 12

    @property
    def short(self) -> str:
        """libbpf's short name (``byte_off``, ``exists`` ...), used in messages."""
        return _SHORT[self]


_SHORT = {
    CoreReloKind.FIELD_BYTE_OFFSET: "byte_off",
    CoreReloKind.FIELD_BYTE_SIZE: "byte_sz",
    CoreReloKind.FIELD_EXISTS: "field_exists",
    CoreReloKind.FIELD_SIGNED: "signed",
    CoreReloKind.FIELD_LSHIFT_U64: "lshift_u64",
    CoreReloKind.FIELD_RSHIFT_U64: "rshift_u64",
    CoreReloKind.TYPE_ID_LOCAL: "local_type_id",
    CoreReloKind.TYPE_ID_TARGET: "target_type_id",
    CoreReloKind.TYPE_EXISTS: "type_exists",
    CoreReloKind.TYPE_SIZE: "type_size",
    CoreReloKind.ENUMVAL_EXISTS: "enumval_exists",
    CoreReloKind.ENUMVAL_VALUE: "enumval_value",
    CoreReloKind.TYPE_MATCHES: "type_matches",
}


@dataclass(frozen=True, slots=True)
class FuncInfo:
    """A function starting at byte ``insn_off`` of its section, of FUNC ``type_id``."""

    insn_off: int
    type_id: int


@dataclass(frozen=True, slots=True)
class LineInfo:
    """The source of the instruction at byte ``insn_off``.

    ``line`` and ``column`` are 1-based (0 when unknown); ``text`` is the
    source line as clang recorded it.
    """

    insn_off: int
    file: str
    text: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class CoreRelo:
    """A CO-RE relocation of the instruction at byte ``insn_off``.

    ``type_id`` is the root type in the local BTF, ``access`` the access string
    (``"0:1:2"`` for fields, ``"0"`` for types, the enumerator index for
    enum values).
    """

    insn_off: int
    type_id: int
    access: str
    kind: CoreReloKind


@dataclass(frozen=True)
class BtfExt:
    """The records of a ``.BTF.ext`` section, by program section name."""

    func_info: dict[str, tuple[FuncInfo, ...]] = field(default_factory=dict)
    line_info: dict[str, tuple[LineInfo, ...]] = field(default_factory=dict)
    core_relos: dict[str, tuple[CoreRelo, ...]] = field(default_factory=dict)
    func_info_rec_size: int = 8
    line_info_rec_size: int = 16
    core_relo_rec_size: int = 16


# -- parsing -------------------------------------------------------------------------

BTF_EXT_MAGIC = 0xEB9F
_MIN_HDR_LEN = 24  # up to line_info_len
_CORE_HDR_LEN = 32  # with core_relo_off/len


def _fail(reason: str, offset: int | None) -> BtfError:
    return BtfError(reason, section=".BTF.ext", offset=offset)


def _func_info(words: tuple[int, ...], strings: StringTable) -> FuncInfo:
    return FuncInfo(words[0], words[1])


def _line_info(words: tuple[int, ...], strings: StringTable) -> LineInfo:
    insn_off, file_off, line_off, line_col = words[:4]
    return LineInfo(
        insn_off, strings[file_off], strings[line_off], line_col >> 10, line_col & 0x3FF
    )


def _core_relo(words: tuple[int, ...], strings: StringTable) -> CoreRelo:
    insn_off, type_id, access_off, kind = words[:4]
    try:
        relo_kind = CoreReloKind(kind)
    except ValueError:
        raise BtfError(f"unknown CO-RE relocation kind {kind}") from None
    return CoreRelo(insn_off, type_id, strings[access_off], relo_kind)


_R = TypeVar("_R", FuncInfo, LineInfo, CoreRelo)
_Layout = tuple[str, int, int]
_FUNC_INFO: _Layout = ("func_info", 8, 8)
_LINE_INFO: _Layout = ("line_info", 16, 16)
_CORE_RELO: _Layout = ("core_relo", 24, 16)
"""Subsection name, offset of its (off, len) pair in the header, minimal record size."""


def _subsection(
    data: bytes,
    order: str,
    hdr_len: int,
    layout: _Layout,
    decode: Callable[[tuple[int, ...], StringTable], _R],
    strings: StringTable,
) -> tuple[dict[str, tuple[_R, ...]], int | None]:
    """One subsection's records by program section, and its record size (None when absent)."""
    name, where, min_size = layout
    off, length = struct.unpack_from(order + "II", data, where)
    if not length:
        return {}, None
    start = hdr_len + off
    if off % 4:
        raise _fail(f"{name} at {off} is not aligned to 4", where)
    if off > len(data) - hdr_len or length > len(data) - start:
        raise _fail(f"{name} {off}+{length} is outside the section", where)
    end = start + length
    if length < 4:
        raise _fail(f"{name} has no record size", start)
    (rec_size,) = struct.unpack_from(order + "I", data, start)
    if rec_size < min_size or rec_size % 4:
        raise _fail(f"{name} record size {rec_size} is invalid", start)
    fields = order + f"{min_size // 4}I"
    out: dict[str, list[_R]] = {}
    pos = start + 4
    while pos < end:
        if end - pos < 8:
            raise _fail(f"{name} section header truncated", pos)
        name_off, count = struct.unpack_from(order + "II", data, pos)
        try:
            sec_name = strings[name_off]
        except BtfError as exc:
            raise _fail(f"{name}: {exc.reason}", pos) from None
        if count == 0:
            raise _fail(f"{name} of section {sec_name!r} has no records", pos + 4)
        pos += 8
        if count > (end - pos) // rec_size:
            raise _fail(f"{name} of section {sec_name!r}: {count} records do not fit", pos - 4)
        records = out.setdefault(sec_name, [])
        for rec in range(pos, pos + count * rec_size, rec_size):
            try:
                records.append(decode(struct.unpack_from(fields, data, rec), strings))
            except BtfError as exc:
                raise _fail(f"{name} of section {sec_name!r}: {exc.reason}", rec) from None
        pos += count * rec_size
    return {k: tuple(v) for k, v in out.items()}, rec_size


def parse_btf_ext(data: bytes, strings: Btf | bytes) -> BtfExt:
    """The records of a ``.BTF.ext`` section; names resolve in ``strings``.

    ``strings`` is the ``.BTF`` they belong to (``Btf``) or its raw string section.
    """
    table = string_table(strings) if isinstance(strings, Btf) else StringTable(bytes(strings))
    data = bytes(data)
    if len(data) < 8:
        raise _fail(f"{len(data)} bytes is too short for a .BTF.ext header", 0)
    if data[:2] == b"\x9f\xeb":
        order = "<"
    elif data[:2] == b"\xeb\x9f":
        order = ">"
    else:
        raise _fail(f"bad magic {data[0]:02x}{data[1]:02x}", 0)
    _, version, flags, hdr_len = struct.unpack_from(order + "HBBI", data)
    if version != 1:
        raise _fail(f"unsupported version {version}", 2)
    if flags:
        raise _fail(f"unsupported flags {flags:#x}", 3)
    if hdr_len < _MIN_HDR_LEN or hdr_len > len(data):
        raise _fail(f"bad header length {hdr_len}", 4)
    func_info, func_size = _subsection(data, order, hdr_len, _FUNC_INFO, _func_info, table)
    line_info, line_size = _subsection(data, order, hdr_len, _LINE_INFO, _line_info, table)
    core: dict[str, tuple[CoreRelo, ...]] = {}
    core_size = None
    if hdr_len >= _CORE_HDR_LEN:
        core, core_size = _subsection(data, order, hdr_len, _CORE_RELO, _core_relo, table)
    return BtfExt(
        func_info=func_info,
        line_info=line_info,
        core_relos=core,
        func_info_rec_size=func_size or 8,
        line_info_rec_size=line_size or 16,
        core_relo_rec_size=core_size or 16,
    )
