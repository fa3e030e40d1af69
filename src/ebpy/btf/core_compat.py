"""CO-RE compatibility rules between a local type and a target type.

Four relations, as the CO-RE documentation defines them:

* ``kinds_compat``: the same kind, or both enums (``ENUM`` and ``ENUM64`` mix).
  Candidate types are chosen by essential name and this.
* ``fields_compat``: is the target member a valid stand-in for the local
  member? Any two structs/unions are (their own members are matched one by
  one later); integers of any size are, unless one is an old-style bitfield
  integer (``offset`` != 0); pointers and floats are; enums and forward
  declarations must have the same essential name (or one is anonymous);
  arrays compare their element types.
* ``types_compat``: the looser relation of ``type_exists``/``type_size``/
  ``type_id_target``: composites, enums and forwards match by kind alone;
  pointers and arrays compare what they point to or hold; function
  prototypes must have the same number of parameters, each compatible, and a
  compatible return type.
* ``types_match``: the stricter relation of ``type_matches``: names must match
  (essential names, at every level), integers agree in size and signedness,
  enums have the same size and every local enumerator exists in the target,
  every local struct/union member exists in the target with a matching type,
  arrays have the same length, and behind a pointer a struct or union may
  match a forward declaration of the same kind (and back).

Each returns a bool; a chain too deep or a loop is a ``CoreError``. Modifiers
and typedefs are looked through at every level. This module does not choose
candidates (``ebpy.btf.core_match``) nor compute values.

>>> from ebpy.btf.types import Btf, Int
>>> a = Btf([Int(1, "int", size=4, encoding=1, bits=32)])
>>> b = Btf([Int(1, "long", size=8, encoding=1, bits=64)])
>>> fields_compat(a, 1, b, 1), types_match(a, 1, b, 1)
(True, False)
"""

from __future__ import annotations

from ebpy.btf.core_spec import essential_name, skip_mods
from ebpy.btf.types import (
    Array,
    Btf,
    Enum,
    Enum64,
    FuncProto,
    Fwd,
    Int,
    Kind,
    Ptr,
    Struct,
    Type,
    Union,
)
from ebpy.errors import CoreError

__all__ = ["fields_compat", "kinds_compat", "names_match", "types_compat", "types_match"]

_ENUMS = (Kind.ENUM, Kind.ENUM64)
_COMPOSITES = (Kind.STRUCT, Kind.UNION)
_MAX_DEPTH = 32
_MAX_LEVEL = 32


def kinds_compat(a: Type, b: Type) -> bool:
    """Same kind, or both enums of either width."""
    return a.kind == b.kind or (a.kind in _ENUMS and b.kind in _ENUMS)


def names_match(local: str, target: str) -> bool:
    """Essential names equal; an anonymous target matches only an anonymous local."""
    if not target:
        return not local
    return essential_name(local) == essential_name(target)


def _plain_int(t: Type) -> bool:
    return isinstance(t, Int) and t.offset == 0


def fields_compat(local: Btf, local_id: int, target: Btf, target_id: int) -> bool:
    """Whether the target member type may stand for the local member type."""
    for _ in range(_MAX_DEPTH):
        lt, tt = skip_mods(local, local_id), skip_mods(target, target_id)
        if lt.kind in _COMPOSITES and tt.kind in _COMPOSITES:
            return True
        if not kinds_compat(lt, tt):
            return False
        if lt.kind in (Kind.PTR, Kind.FLOAT):
            return True
        if lt.kind in (Kind.FWD, Kind.ENUM, Kind.ENUM64):
            ln, tn = essential_name(lt.name), essential_name(tt.name)
            return not ln or not tn or ln == tn
        if isinstance(lt, Int):
            return _plain_int(lt) and _plain_int(tt)
        if isinstance(lt, Array) and isinstance(tt, Array):
            local_id, target_id = lt.type_id, tt.type_id
            continue
        return False
    raise CoreError("type chain too deep comparing fields")


def types_compat(
    local: Btf, local_id: int, target: Btf, target_id: int, level: int = _MAX_LEVEL
) -> bool:
    """Whether the target type is a CO-RE-compatible stand-in for the local type."""
    if not kinds_compat(local[local_id], target[target_id]):
        return False
    for _ in range(_MAX_DEPTH):
        lt, tt = skip_mods(local, local_id), skip_mods(target, target_id)
        if not kinds_compat(lt, tt):
            return False
        if lt.kind in (Kind.UNKN, Kind.FWD, *_COMPOSITES, *_ENUMS):
            return True
        if isinstance(lt, Int):
            return _plain_int(lt) and _plain_int(tt)
        if isinstance(lt, (Ptr, Array)) and isinstance(tt, (Ptr, Array)):
            local_id, target_id = lt.type_id, tt.type_id  # same kind: checked above
        elif isinstance(lt, FuncProto) and isinstance(tt, FuncProto):
            if len(lt.params) != len(tt.params):
                return False
            for lp, tp in zip(lt.params, tt.params, strict=True):
                if level <= 0:
                    raise CoreError("function prototypes nested too deep")
                lid, tid = skip_mods(local, lp.type_id).id, skip_mods(target, tp.type_id).id
                if not types_compat(local, lid, target, tid, level - 1):
                    return False
            local_id, target_id = lt.type_id, tt.type_id
        else:
            return False
    raise CoreError("type chain too deep comparing types")


def _enums_match(lt: Enum | Enum64, tt: Type) -> bool:
    if not isinstance(tt, (Enum, Enum64)) or lt.size != tt.size:
        return False
    if len(lt.values) > len(tt.values):
        return False
    return all(any(names_match(lv.name, tv.name) for tv in tt.values) for lv in lt.values)


def _fwd_vs(lt: Fwd, tt: Type, behind_ptr: bool) -> bool:
    if isinstance(tt, Fwd):
        return lt.union == tt.union
    if not behind_ptr:
        return False
    return (tt.kind is Kind.STRUCT and not lt.union) or (tt.kind is Kind.UNION and lt.union)


class _Matcher:
    """One ``types_match`` question. Answers are remembered per (local id, target
    id, behind a pointer, level): a pure function of those, and without the
    memo self-referencing composites would take exponential time."""

    def __init__(self, local: Btf, target: Btf) -> None:
        self.local, self.target = local, target
        self.memo: dict[tuple[int, int, bool, int], bool] = {}

    def match(self, local_id: int, target_id: int, behind_ptr: bool, level: int) -> bool:
        key = (local_id, target_id, behind_ptr, level)
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = self._match(local_id, target_id, behind_ptr, level)
        return found

    def _match(self, local_id: int, target_id: int, behind_ptr: bool, level: int) -> bool:
        if level <= 0:
            raise CoreError("types nested too deep for type_matches")
        local, target = self.local, self.target
        for _ in range(_MAX_DEPTH):
            lt, tt = skip_mods(local, local_id), skip_mods(target, target_id)
            if not names_match(lt.name, tt.name):
                return False
            if isinstance(lt, Fwd):
                return _fwd_vs(lt, tt, behind_ptr)
            if isinstance(lt, (Enum, Enum64)):
                return _enums_match(lt, tt)
            if isinstance(lt, (Struct, Union)):
                return self._composite_vs(lt, tt, behind_ptr, level)
            if lt.kind != tt.kind:
                return False
            if isinstance(lt, Int) and isinstance(tt, Int):
                return lt.size == tt.size and lt.signed == tt.signed
            if isinstance(lt, Ptr) and isinstance(tt, Ptr):
                behind_ptr = True
                local_id, target_id = lt.type_id, tt.type_id
            elif isinstance(lt, Array) and isinstance(tt, Array):
                if lt.nelems != tt.nelems:
                    return False
                local_id, target_id = lt.type_id, tt.type_id
            elif isinstance(lt, FuncProto) and isinstance(tt, FuncProto):
                if len(lt.params) != len(tt.params):
                    return False
                for lp, tp in zip(lt.params, tt.params, strict=True):
                    if not self.match(lp.type_id, tp.type_id, behind_ptr, level - 1):
                        return False
                local_id, target_id = lt.type_id, tt.type_id
            else:
                return lt.kind is Kind.UNKN
        raise CoreError("type chain too deep for type_matches")

    def _composite_vs(self, lt: Struct | Union, tt: Type, behind_ptr: bool, level: int) -> bool:
        if behind_ptr:
            if lt.kind == tt.kind:
                return True
            return isinstance(tt, Fwd) and tt.union == (lt.kind is Kind.UNION)
        if not isinstance(tt, (Struct, Union)) or lt.kind != tt.kind:
            return False
        if len(lt.members) > len(tt.members):
            return False
        return all(
            any(
                names_match(lm.name, tm.name)
                and self.match(lm.type_id, tm.type_id, behind_ptr, level - 1)
                for tm in tt.members
            )
            for lm in lt.members
        )


def types_match(local: Btf, local_id: int, target: Btf, target_id: int) -> bool:
    """Whether the target type matches the local one under the ``type_matches`` rules."""
    return _Matcher(local, target).match(local_id, target_id, False, _MAX_LEVEL)
