"""CO-RE access specs: what a relocation's access string names, in one BTF.

A CO-RE relocation (``ebpy.btf.ext.CoreRelo``) names a root type and an access
string. This module turns the pair into an ``AccessSpec``: the *raw* path of
indices (``0:1:2``, anonymous members included), the *high-level* accessors
(array indices and named members only, the steps that are matched by name in
another BTF) and the bit offset from the root that the path reaches. It also
gives flavour-stripped "essential" names (``task_struct___v2`` ->
``task_struct``) and prints specs the way libbpf's debug log does.

The rules are the documented CO-RE semantics: the first index of a field
access indexes the root as an array, then each index selects a member of a
struct/union or an element of an array; an array index past the end is only
allowed for a flexible array (a zero-length array that is the last member).
Type-based relocations must say ``0``; enum value relocations give the index
of an enumerator.

This module does not match specs against a target (``ebpy.btf.core_match``),
compute relocation values (``ebpy.btf.core_calc``) or patch instructions
(``ebpy.btf.core``).

>>> essential_name("task_struct___v2"), essential_name("a___b___c"), essential_name("x____y")
('task_struct', 'a___b', 'x____y')
>>> from ebpy.btf.types import Btf, Int, Member, Struct
>>> b = Btf([Int(1, "int", size=4, encoding=1, bits=32),
...          Struct(2, "s", size=8, members=(Member("a", 1, 0), Member("b", 1, 32)))])
>>> spec = parse_access(b, 2, "0:1", CoreReloKind.FIELD_BYTE_OFFSET)
>>> spec.raw, spec.bit_offset, format_spec(spec)
((0, 1), 32, '<byte_off> [2] struct s.b (0:1 @ offset 4)')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ebpy.btf.ext import CoreReloKind
from ebpy.btf.types import Array, Btf, Enum, Enum64, Kind, Struct, Type, Union
from ebpy.errors import BtfError, CoreError
from ebpy.isa._intmath import M32, s32

__all__ = [
    "ENUMVAL_KINDS",
    "FIELD_KINDS",
    "MAX_SPEC_LEN",
    "TYPE_KINDS",
    "AccessSpec",
    "Accessor",
    "essential_name",
    "format_spec",
    "is_flex_array",
    "kind_str",
    "parse_access",
    "resolve_size",
    "skip_mods",
]

MAX_SPEC_LEN = 64
"""The longest access path (libbpf's ``BPF_CORE_SPEC_MAX_LEN``)."""

FIELD_KINDS = frozenset(
    {
        CoreReloKind.FIELD_BYTE_OFFSET,
        CoreReloKind.FIELD_BYTE_SIZE,
        CoreReloKind.FIELD_EXISTS,
        CoreReloKind.FIELD_SIGNED,
        CoreReloKind.FIELD_LSHIFT_U64,
        CoreReloKind.FIELD_RSHIFT_U64,
    }
)
TYPE_KINDS = frozenset(
    {
        CoreReloKind.TYPE_ID_LOCAL,
        CoreReloKind.TYPE_ID_TARGET,
        CoreReloKind.TYPE_EXISTS,
        CoreReloKind.TYPE_SIZE,
        CoreReloKind.TYPE_MATCHES,
    }
)
ENUMVAL_KINDS = frozenset({CoreReloKind.ENUMVAL_EXISTS, CoreReloKind.ENUMVAL_VALUE})

_NUMBER = re.compile(r"\s*[+-]?\d+")


def essential_name(name: str) -> str:
    """``name`` without its flavour: the part before the last ``X___Y`` separator.

    A separator is three underscores between two characters that are not
    underscores; the last one counts.
    """
    if "___" not in name:
        return name
    for i in range(len(name) - 5, -1, -1):
        if name[i] != "_" and name[i + 1 : i + 4] == "___" and name[i + 4] != "_":
            return name[: i + 1]
    return name


def kind_str(t: Type) -> str:
    """The kind as libbpf names it in messages (``struct``, ``func_proto``, ``void``)."""
    return "void" if t.kind is Kind.UNKN else t.kind.name.lower()


def skip_mods(btf: Btf, type_id: int) -> Type:
    """The type under modifiers and typedefs; a bad id or a loop is a ``CoreError``."""
    try:
        return btf.skip_modifiers(type_id)
    except BtfError as exc:
        raise CoreError(exc.reason) from None


def resolve_size(btf: Btf, type_id: int) -> int:
    """Byte size of a value of ``type_id``; a type without one is a ``CoreError``."""
    try:
        return btf.size_of(type_id)
    except BtfError as exc:
        raise CoreError(exc.reason) from None


@dataclass(frozen=True, slots=True)
class Accessor:
    """One high-level step of an access path.

    For a named member: ``type_id`` is the struct/union holding it, ``idx``
    its member index and ``name`` its name. For an array index (and the
    first step, which indexes the root): ``type_id`` is the element type
    (modifiers skipped), ``idx`` the index, ``name`` None. For an enumerator:
    the enum, its index and its name.
    """

    type_id: int
    idx: int
    name: str | None = None


@dataclass(frozen=True, slots=True)
class AccessSpec:
    """What a relocation names in one BTF.

    ``root_type_id`` is the relocation's type as given (typedefs kept);
    ``raw`` the whole index path; ``accessors`` the steps matched by name;
    ``bit_offset`` the bit offset from the root the path reaches (field
    relocations only).
    """

    btf: Btf
    root_type_id: int
    kind: CoreReloKind
    raw: tuple[int, ...] = ()
    accessors: tuple[Accessor, ...] = ()
    bit_offset: int = 0


def _parse_numbers(access: str) -> list[int]:
    """The indices of an access string, accepting what libbpf's parser accepts."""
    if not access or access[0] == ":":
        raise CoreError(f"malformed access string {access!r}")
    out: list[int] = []
    pos = 0
    while pos < len(access):
        m = _NUMBER.match(access, pos)
        if m is None:
            raise CoreError(f"malformed access string {access!r}")
        value = int(m.group())
        if not 0 <= value <= 0x7FFF_FFFF:
            raise CoreError(f"access index {value} out of range")
        if len(out) == MAX_SPEC_LEN:
            raise CoreError(f"access string longer than {MAX_SPEC_LEN} steps")
        out.append(value)
        pos = m.end()
        if pos < len(access) and access[pos] == ":":
            pos += 1
    return out


def is_flex_array(btf: Btf, prev: Accessor | None, arr: Array) -> bool:
    """True when ``arr`` is a zero-length array that is the last member reached by ``prev``."""
    if prev is None or prev.name is None or arr.nelems > 0:
        return False
    holder = btf[prev.type_id]
    return isinstance(holder, (Struct, Union)) and prev.idx == len(holder.members) - 1


def parse_access(btf: Btf, type_id: int, access: str, kind: CoreReloKind) -> AccessSpec:
    """The spec that ``access`` names from root ``type_id`` for a relocation of ``kind``.

    Raises ``CoreError`` (reason only) when the string is malformed or does not
    fit the types.
    """
    raw = _parse_numbers(access)
    if kind in TYPE_KINDS:
        if raw != [0]:
            raise CoreError(f"type relocation with access string {access!r}, not '0'")
        return AccessSpec(btf, type_id, kind, raw=(0,))
    root = skip_mods(btf, type_id)
    if kind in ENUMVAL_KINDS:
        if not isinstance(root, (Enum, Enum64)):
            raise CoreError(f"enum value relocation on a {kind_str(root)}")
        if len(raw) > 1 or raw[0] >= len(root.values):
            raise CoreError(f"enumerator index {access!r} out of range")
        acc = Accessor(root.id, raw[0], root.values[raw[0]].name)
        return AccessSpec(btf, type_id, kind, raw=(raw[0],), accessors=(acc,))
    if kind not in FIELD_KINDS:
        raise CoreError(f"unknown relocation kind {kind}")
    accessors = [Accessor(root.id, raw[0])]
    bit_offset = raw[0] * resolve_size(btf, root.id) * 8
    cur = root.id
    for step, idx in enumerate(raw[1:], start=1):
        t = skip_mods(btf, cur)
        if isinstance(t, (Struct, Union)):
            if idx >= len(t.members):
                raise CoreError(f"member index {idx} past the end of {kind_str(t)} [{t.id}]")
            m = t.members[idx]
            bit_offset += m.bit_offset
            if m.name:
                accessors.append(Accessor(t.id, idx, m.name))
            cur = m.type_id
        elif isinstance(t, Array):
            elem = skip_mods(btf, t.type_id)
            if not is_flex_array(btf, accessors[-1], t) and idx >= t.nelems:
                raise CoreError(f"array index {idx} past the end of [{t.id}]")
            accessors.append(Accessor(elem.id, idx))
            bit_offset += idx * resolve_size(btf, elem.id) * 8
            cur = elem.id
        else:
            raise CoreError(
                f"access step {step} reaches [{t.id}] of kind {kind_str(t)}, not a "
                "struct, union or array"
            )
    return AccessSpec(btf, type_id, kind, tuple(raw), tuple(accessors), bit_offset)


def _enumerator_text(t: Enum | Enum64, idx: int) -> str:
    v = t.values[idx]
    value = v.value
    if isinstance(t, Enum):
        value = s32(value) if t.signed else value & M32
    return f"::{v.name} = {value}"


def format_spec(spec: AccessSpec) -> str:
    """The spec as libbpf's debug log prints it.

    ``<kind> [id] kind name`` then, for fields, ``.member[index]`` steps, the
    raw path and the offset reached (``@ offset BYTES[.BITS]``); for enum
    values ``::NAME = VALUE``.
    """
    root = spec.btf[spec.root_type_id]
    text = f"<{spec.kind.short}> [{spec.root_type_id}] {kind_str(root)} {root.name or '<anon>'}"
    if spec.kind in TYPE_KINDS:
        return text
    if spec.kind in ENUMVAL_KINDS:
        enum = skip_mods(spec.btf, spec.root_type_id)
        if isinstance(enum, (Enum, Enum64)) and spec.raw and spec.raw[0] < len(enum.values):
            text += _enumerator_text(enum, spec.raw[0])
        return text
    for i, acc in enumerate(spec.accessors):
        if acc.name is not None:
            text += f".{acc.name}"
        elif i > 0 or acc.idx > 0:
            text += f"[{acc.idx}]"
    path = ":".join(str(i) for i in spec.raw)
    byte, bit = divmod(spec.bit_offset, 8)
    at = f"{byte}.{bit}" if bit else f"{byte}"
    return f"{text} ({path} @ offset {at})"
