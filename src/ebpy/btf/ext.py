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

from dataclasses import dataclass, field
from enum import IntEnum

__all__ = ["BtfExt", "CoreRelo", "CoreReloKind", "FuncInfo", "LineInfo"]


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
