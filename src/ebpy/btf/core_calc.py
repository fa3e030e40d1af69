"""CO-RE relocation values: what each relocation kind evaluates to, locally and in the target.

Given the local spec and the matched target spec (or None when no candidate
matched), ``calc`` gives both values of a relocation, as unsigned 64-bit
integers, with what patching needs to know:

* field kinds: byte offset, byte size, existence, signedness and the two
  shifts that extract a bitfield from a u64 load (x86-64, little-endian).
  For a bitfield the byte offset and size are those of the smallest naturally
  aligned load (of at least the bitfield's declared type) that holds it. A
  byte-offset relocation also records the field's size and type on both
  sides: a load or store of it may be resized when both are pointers or both
  unsigned integers, and is poisoned otherwise;
* type kinds: local/target type id, existence, size, ``type_matches``;
  zero when the target type is missing;
* enum value kinds: existence and value (a 32-bit enumerator is
  sign-extended to 64 bits, as the kernel's ``s32`` field is).

A field or enum value that does not exist in the target gives a *poisoned*
result (libbpf turns the instruction into a call to an invalid helper), except
for the existence kinds, which give 0. ``validate`` says whether the
instruction must hold the local value before patching: not for bitfields
(except signedness and right shift), nor for type ids.

One calculator per kind group, in a registry keyed by ``CoreReloKind``. This
module does not touch instructions (``ebpy.btf.core``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ebpy.btf.core_spec import AccessSpec, resolve_size, skip_mods
from ebpy.btf.ext import CoreReloKind
from ebpy.btf.types import Enum, Enum64, Int, Member, Ptr, Struct, Type, Union
from ebpy.errors import CoreError
from ebpy.isa._intmath import M64, s32

__all__ = ["ReloValue", "calc"]

K = CoreReloKind


@dataclass(frozen=True, slots=True)
class ReloValue:
    """Both values of one relocation and how to apply them.

    ``local_size``/``target_size`` are the accessed field's sizes (byte-offset
    relocations of whole fields only, else 0); ``resize_ok`` is False when
    they differ and the access cannot safely change width.
    """

    local: int
    target: int
    poison: bool = False
    validate: bool = True
    local_size: int = 0
    target_size: int = 0
    resize_ok: bool = True


@dataclass(frozen=True, slots=True)
class _Side:
    value: int
    validate: bool = True
    size: int = 0
    type_id: int = 0


class _Poison(Exception):
    """The target side cannot be computed: the instruction is to be poisoned."""


@dataclass(frozen=True, slots=True)
class _Loc:
    """Where a member's value lies: its type, bit offset and size, and the load
    (byte offset and size) that reads it."""

    type: Type
    bitfield: bool
    bit_off: int
    bit_sz: int
    byte_off: int
    byte_sz: int


def _locate(spec: AccessSpec, member: Member) -> _Loc:
    mt = skip_mods(spec.btf, member.type_id)
    bit_off, bit_sz = spec.bit_offset, member.bitfield_size
    if bit_sz == 0:
        byte_sz = resolve_size(spec.btf, mt.id)
        return _Loc(mt, False, bit_off, byte_sz * 8, bit_off // 8, byte_sz)
    byte_sz = int(getattr(mt, "size", 0))
    if byte_sz <= 0:
        raise CoreError(f"bitfield of a {mt.kind.name.lower()}")
    byte_off = bit_off // 8 // byte_sz * byte_sz
    while bit_off + bit_sz - byte_off * 8 > byte_sz * 8:
        if byte_sz >= 8:
            raise CoreError("bitfield cannot be read with one 64-bit load")
        byte_sz *= 2
        byte_off = bit_off // 8 // byte_sz * byte_sz
    return _Loc(mt, True, bit_off, bit_sz, byte_off, byte_sz)


def _byte_offset(loc: _Loc) -> _Side:
    if loc.bitfield:
        return _Side(loc.byte_off, validate=False)
    return _Side(loc.byte_off, True, loc.byte_sz, loc.type.id)


def _signed(loc: _Loc) -> _Side:
    mt = loc.type
    signed = isinstance(mt, (Enum, Enum64, Int)) and mt.signed
    return _Side(int(signed))


def _lshift(loc: _Loc) -> _Side:
    """Little-endian: shift the field's top bit up to bit 63 of the loaded u64."""
    return _Side(64 - (loc.bit_off + loc.bit_sz - loc.byte_off * 8), validate=not loc.bitfield)


_FIELD_KINDS: dict[CoreReloKind, Callable[[_Loc], _Side]] = {
    K.FIELD_BYTE_OFFSET: _byte_offset,
    K.FIELD_BYTE_SIZE: lambda loc: _Side(loc.byte_sz, validate=not loc.bitfield),
    K.FIELD_SIGNED: _signed,
    K.FIELD_LSHIFT_U64: _lshift,
    K.FIELD_RSHIFT_U64: lambda loc: _Side(64 - loc.bit_sz),
}
"""Field kinds other than existence, from where the member lies."""


def _field(kind: CoreReloKind, spec: AccessSpec | None) -> _Side:
    if kind is K.FIELD_EXISTS:
        return _Side(int(spec is not None))
    if spec is None:
        raise _Poison
    acc = spec.accessors[-1]
    if acc.name is None:  # an array element (or the root itself)
        size = resolve_size(spec.btf, acc.type_id)
        if kind is K.FIELD_BYTE_OFFSET:
            return _Side(spec.bit_offset // 8, True, size, acc.type_id)
        if kind is K.FIELD_BYTE_SIZE:
            return _Side(size)
        raise CoreError(f"{kind.short} relocation cannot apply to an array element")
    holder = spec.btf[acc.type_id]
    assert isinstance(holder, (Struct, Union))
    return _FIELD_KINDS[kind](_locate(spec, holder.members[acc.idx]))


def _type(kind: CoreReloKind, spec: AccessSpec | None) -> _Side:
    if spec is None:
        return _Side(0)
    if kind is K.TYPE_ID_TARGET:
        return _Side(spec.root_type_id, validate=False)
    if kind is K.TYPE_SIZE:
        return _Side(resolve_size(spec.btf, spec.root_type_id))
    return _Side(1)  # TYPE_EXISTS, TYPE_MATCHES


def _enumval(kind: CoreReloKind, spec: AccessSpec | None) -> _Side:
    if kind is K.ENUMVAL_EXISTS:
        return _Side(int(spec is not None))
    if spec is None:
        raise _Poison
    acc = spec.accessors[0]
    enum = spec.btf[acc.type_id]
    assert isinstance(enum, (Enum, Enum64))
    value = enum.values[acc.idx].value
    return _Side(s32(value) & M64 if isinstance(enum, Enum) else value & M64)


_Calc = Callable[[CoreReloKind, AccessSpec | None], _Side]
_CALCS: dict[CoreReloKind, _Calc] = {
    K.FIELD_BYTE_OFFSET: _field,
    K.FIELD_BYTE_SIZE: _field,
    K.FIELD_EXISTS: _field,
    K.FIELD_SIGNED: _field,
    K.FIELD_LSHIFT_U64: _field,
    K.FIELD_RSHIFT_U64: _field,
    K.TYPE_ID_TARGET: _type,
    K.TYPE_EXISTS: _type,
    K.TYPE_SIZE: _type,
    K.TYPE_MATCHES: _type,
    K.ENUMVAL_EXISTS: _enumval,
    K.ENUMVAL_VALUE: _enumval,
}


def _resize_ok(local: AccessSpec, lside: _Side, target: AccessSpec, tside: _Side) -> bool:
    """A load/store may change width when both fields are pointers or unsigned ints."""
    lt, tt = local.btf[lside.type_id], target.btf[tside.type_id]
    if isinstance(lt, Ptr) and isinstance(tt, Ptr):
        return True
    return (
        isinstance(lt, Int)
        and isinstance(tt, Int)
        and lt.encoding != Int.SIGNED
        and tt.encoding != Int.SIGNED
    )


def calc(kind: CoreReloKind, local: AccessSpec, target: AccessSpec | None) -> ReloValue:
    """Both values of a relocation of ``kind`` (``target`` None: nothing matched).

    Raises ``CoreError`` when a value cannot be computed at all (for example a
    bitfield that no 64-bit load holds).
    """
    if kind is K.TYPE_ID_LOCAL:
        return ReloValue(local.root_type_id, local.root_type_id, validate=False)
    side = _CALCS[kind]
    lside = side(kind, local)
    try:
        tside = side(kind, target)
    except _Poison:
        return ReloValue(lside.value, 0, poison=True, validate=lside.validate)
    resize_ok = True
    if lside.size != tside.size and target is not None:
        resize_ok = _resize_ok(local, lside, target, tside)
    return ReloValue(
        lside.value & M64,
        tside.value & M64,
        validate=lside.validate,
        local_size=lside.size,
        target_size=tside.size,
        resize_ok=resize_ok,
    )
