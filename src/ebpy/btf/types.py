"""The BTF type model: one frozen class per kind, and ``Btf``, a table of them.

BTF (the BPF Type Format) describes C types by id: id 0 is ``void``, ids 1..N
are the types of a ``.BTF`` blob in order (for split BTF, such as a kernel
module's, the ids continue after the base BTF's). Each kind here keeps what
the kernel's ``struct btf_type`` and its trailing data say, decoded:
member bit offsets and bitfield sizes are split, enum values carry their sign,
names are Python strings.

This module is the model only. It does not read bytes (``ebpy.btf.parse``),
the ``.BTF.ext`` section (``ebpy.btf.ext``), print (``ebpy.btf.dump``) or
relocate (``ebpy.btf.core``).

>>> b = Btf([Int(1, "int", size=4, encoding=Int.SIGNED, bits=32), Ptr(2, "", type_id=1)])
>>> b[2].kind.name, b.resolve(2) is b[2], b.size_of(2), b.size_of(1)
('PTR', True, 8, 4)
>>> [t.id for t in b.find("int")]
[1]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar

from ebpy.errors import BtfError

__all__ = [
    "MODIFIERS",
    "Array",
    "Btf",
    "Const",
    "Datasec",
    "DeclTag",
    "Enum",
    "Enum64",
    "EnumValue",
    "Float",
    "Func",
    "FuncProto",
    "Fwd",
    "Int",
    "Kind",
    "Linkage",
    "Member",
    "Param",
    "Ptr",
    "Restrict",
    "Struct",
    "Type",
    "TypeTag",
    "Typedef",
    "Union",
    "Var",
    "VarSecinfo",
    "Void",
    "Volatile",
]


class Kind(IntEnum):
    """``BTF_KIND_*``."""

    UNKN = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


class Linkage(IntEnum):
    """Linkage of a FUNC (``BTF_FUNC_*``) or a VAR (``BTF_VAR_*``: 0 static,
    1 global allocated, 2 extern)."""

    STATIC = 0
    GLOBAL = 1
    EXTERN = 2


@dataclass(frozen=True, slots=True)
class Type:
    """A BTF type: its ``id`` in its table and its ``name`` ('' when anonymous)."""

    kind: ClassVar[Kind] = Kind.UNKN
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class Void(Type):
    """Type id 0."""


@dataclass(frozen=True, slots=True)
class Int(Type):
    """An integer: ``size`` bytes, ``bits`` wide starting at bit ``offset``.

    ``encoding`` is a mask of ``SIGNED``, ``CHAR``, ``BOOL``.
    """

    kind: ClassVar[Kind] = Kind.INT
    SIGNED: ClassVar[int] = 1
    CHAR: ClassVar[int] = 2
    BOOL: ClassVar[int] = 4
    size: int = 0
    encoding: int = 0
    offset: int = 0
    bits: int = 0

    @property
    def signed(self) -> bool:
        return bool(self.encoding & Int.SIGNED)


@dataclass(frozen=True, slots=True)
class Ptr(Type):
    kind: ClassVar[Kind] = Kind.PTR
    type_id: int = 0


@dataclass(frozen=True, slots=True)
class Array(Type):
    kind: ClassVar[Kind] = Kind.ARRAY
    type_id: int = 0
    """The element type."""
    index_type_id: int = 0
    nelems: int = 0


@dataclass(frozen=True, slots=True)
class Member:
    """A struct or union member: ``bit_offset`` from the start of the composite,
    ``bitfield_size`` 0 unless it is a bitfield."""

    name: str
    type_id: int
    bit_offset: int
    bitfield_size: int = 0


@dataclass(frozen=True, slots=True)
class Struct(Type):
    """A struct; ``kind_flag`` set means member offsets carry bitfield sizes."""

    kind: ClassVar[Kind] = Kind.STRUCT
    size: int = 0
    members: tuple[Member, ...] = ()
    kind_flag: bool = False


@dataclass(frozen=True, slots=True)
class Union(Type):
    kind: ClassVar[Kind] = Kind.UNION
    size: int = 0
    members: tuple[Member, ...] = ()
    kind_flag: bool = False


@dataclass(frozen=True, slots=True)
class EnumValue:
    name: str
    value: int
    """As a Python int: negative only when the enum is signed."""


@dataclass(frozen=True, slots=True)
class Enum(Type):
    """An enum with 32-bit values; ``signed`` is the kind flag."""

    kind: ClassVar[Kind] = Kind.ENUM
    size: int = 4
    values: tuple[EnumValue, ...] = ()
    signed: bool = False


@dataclass(frozen=True, slots=True)
class Enum64(Type):
    kind: ClassVar[Kind] = Kind.ENUM64
    size: int = 8
    values: tuple[EnumValue, ...] = ()
    signed: bool = False


@dataclass(frozen=True, slots=True)
class Fwd(Type):
    """A forward declaration of a struct, or of a union when ``union``."""

    kind: ClassVar[Kind] = Kind.FWD
    union: bool = False


@dataclass(frozen=True, slots=True)
class Typedef(Type):
    kind: ClassVar[Kind] = Kind.TYPEDEF
    type_id: int = 0


@dataclass(frozen=True, slots=True)
class Volatile(Type):
    kind: ClassVar[Kind] = Kind.VOLATILE
    type_id: int = 0


@dataclass(frozen=True, slots=True)
class Const(Type):
    kind: ClassVar[Kind] = Kind.CONST
    type_id: int = 0


@dataclass(frozen=True, slots=True)
class Restrict(Type):
    kind: ClassVar[Kind] = Kind.RESTRICT
    type_id: int = 0


@dataclass(frozen=True, slots=True)
class TypeTag(Type):
    kind: ClassVar[Kind] = Kind.TYPE_TAG
    type_id: int = 0
    kind_flag: bool = False
    """Set when the tag is an ``__attribute__`` rather than a ``btf_type_tag`` (Linux 6.13+)."""


@dataclass(frozen=True, slots=True)
class Func(Type):
    """A function: ``type_id`` is its FUNC_PROTO."""

    kind: ClassVar[Kind] = Kind.FUNC
    type_id: int = 0
    linkage: int = Linkage.STATIC


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type_id: int


@dataclass(frozen=True, slots=True)
class FuncProto(Type):
    """A function type; a last parameter with type 0 and no name means ``...``."""

    kind: ClassVar[Kind] = Kind.FUNC_PROTO
    type_id: int = 0
    """The return type."""
    params: tuple[Param, ...] = ()


@dataclass(frozen=True, slots=True)
class Var(Type):
    kind: ClassVar[Kind] = Kind.VAR
    type_id: int = 0
    linkage: int = Linkage.STATIC


@dataclass(frozen=True, slots=True)
class VarSecinfo:
    """A variable of a DATASEC at byte ``offset``, ``size`` bytes."""

    type_id: int
    offset: int
    size: int


@dataclass(frozen=True, slots=True)
class Datasec(Type):
    kind: ClassVar[Kind] = Kind.DATASEC
    size: int = 0
    vars: tuple[VarSecinfo, ...] = ()


@dataclass(frozen=True, slots=True)
class Float(Type):
    kind: ClassVar[Kind] = Kind.FLOAT
    size: int = 0


@dataclass(frozen=True, slots=True)
class DeclTag(Type):
    """A tag on ``type_id``: on the whole (``component_idx`` -1) or on a member
    or parameter (its index)."""

    kind: ClassVar[Kind] = Kind.DECL_TAG
    type_id: int = 0
    component_idx: int = -1
    kind_flag: bool = False
    """Set when the tag is an ``__attribute__`` rather than a ``btf_decl_tag`` (Linux 6.13+)."""


MODIFIERS = (Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG)
"""Kinds that only qualify or rename another type."""

_CV = (Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG)
_MAX_CHAIN = 32  # libbpf's MAX_RESOLVE_DEPTH


@dataclass(eq=False)
class Btf:
    """A table of BTF types by id, ``types[k]`` with id ``k + 1`` (id 0 is void).

    ``base`` is the base BTF of split BTF (a module's over vmlinux); its ids come
    first. ``strings`` is the raw string section, kept for dumps.
    """

    types: Sequence[Type]
    strings: bytes = b""
    base: Btf | None = None
    _by_name: dict[str, list[int]] | None = field(default=None, repr=False)

    @property
    def start_id(self) -> int:
        """The id of ``types[0]``: 1, or just after the base's last id."""
        return 1 if self.base is None else self.base.start_id + len(self.base.types)

    def __len__(self) -> int:
        """The number of ids, void and the base's included."""
        return self.start_id + len(self.types)

    def __getitem__(self, type_id: int) -> Type:
        start = self.start_id
        if type_id >= start:
            index = type_id - start
            if index < len(self.types):
                return self.types[index]
        elif type_id == 0:
            return _VOID
        elif self.base is not None and type_id > 0:
            return self.base[type_id]
        raise BtfError(f"no type with id {type_id}", type_id=type_id)

    def __iter__(self) -> Iterator[Type]:
        """This table's own types (not the base's), in id order."""
        return iter(self.types)

    def find(self, name: str, kind: Kind | Iterable[Kind] | None = None) -> list[Type]:
        """Types named ``name`` (of ``kind``), the base's first, in id order."""
        if self._by_name is None:
            index: dict[str, list[int]] = {}
            for t in self.types:
                if t.name:
                    index.setdefault(t.name, []).append(t.id)
            self._by_name = index
        found = self.base.find(name) if self.base is not None else []
        found += [self[i] for i in self._by_name.get(name, ())]
        if kind is None:
            return found
        kinds = {kind} if isinstance(kind, Kind) else set(kind)
        return [t for t in found if t.kind in kinds]

    def skip_modifiers(self, type_id: int, *, typedefs: bool = True) -> Type:
        """The type under const/volatile/restrict/type_tag (and typedefs)."""
        kinds = MODIFIERS if typedefs else _CV
        t = self[type_id]
        for _ in range(_MAX_CHAIN):
            if t.kind not in kinds:
                return t
            t = self[t.type_id]  # type: ignore[attr-defined]
        raise BtfError("modifier chain too long (a loop?)", type_id=type_id)

    def resolve(self, type_id: int) -> Type:
        """``skip_modifiers`` with typedefs: the type a value really has."""
        return self.skip_modifiers(type_id)

    def size_of(self, type_id: int) -> int:
        """Size in bytes of a value of ``type_id`` (as ``btf__resolve_size``)."""
        t = self.resolve(type_id)
        nelems = 1
        for _ in range(_MAX_CHAIN):
            if isinstance(t, Array):
                nelems *= t.nelems
                t = self.resolve(t.type_id)
                continue
            if isinstance(t, Ptr):
                return 8 * nelems
            if isinstance(t, Var):
                t = self.resolve(t.type_id)
                continue
            size = getattr(t, "size", None)
            if size is None:
                raise BtfError(f"{t.kind.name} has no size", type_id=type_id)
            return int(size) * nelems
        raise BtfError("array chain too long", type_id=type_id)


_VOID = Void(0, "")
