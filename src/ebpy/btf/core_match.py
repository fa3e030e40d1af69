"""CO-RE candidates and spec matching: where a local access lands in a target BTF.

For a relocation on local type ``struct foo___v2`` the candidates are the
target's named types whose essential name is ``foo`` and whose kind is
compatible (``CandidateIndex``, built once per target BTF). A local spec
(``ebpy.btf.core_spec.AccessSpec``) is then matched against each candidate
(``match_spec``):

* type relocations: the candidate must be compatible with the local type
  (``types_compat``), or match it (``types_match``) for ``type_matches``;
* enum value relocations: the candidate must be an enum with an enumerator of
  the same essential name;
* field relocations: each named local member is looked up by name in the
  target struct/union, searching through anonymous members, and must be
  field-compatible (``fields_compat``); each array index must be in range
  (or the array flexible). The target spec gathers its own raw path and bit
  offset on the way.

This module does not decide between several matching candidates nor compute
values (``ebpy.btf.core``, ``ebpy.btf.core_calc``).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field

from ebpy.btf.core_compat import fields_compat, kinds_compat, types_compat, types_match
from ebpy.btf.core_spec import (
    ENUMVAL_KINDS,
    MAX_SPEC_LEN,
    TYPE_KINDS,
    Accessor,
    AccessSpec,
    essential_name,
    is_flex_array,
    kind_str,
    resolve_size,
    skip_mods,
)
from ebpy.btf.ext import CoreReloKind
from ebpy.btf.types import Array, Btf, Enum, Enum64, Struct, Type, Union
from ebpy.errors import CoreError

__all__ = ["CandidateIndex", "candidate_index", "match_spec"]


def _all_types(btf: Btf) -> Iterator[Type]:
    if btf.base is not None:
        yield from _all_types(btf.base)
    yield from btf.types


class CandidateIndex:
    """The named types of a target BTF by essential name, in id order.

    >>> from ebpy.btf.types import Btf, Struct
    >>> idx = CandidateIndex(Btf([Struct(1, "foo", 4), Struct(2, "foo___v2", 4)]))
    >>> [t.id for t in idx.candidates(Btf([Struct(1, "foo___mine", 4)]), 1)]
    [1, 2]
    """

    def __init__(self, target: Btf) -> None:
        self.target = target
        by_name: dict[str, list[Type]] = {}
        for t in _all_types(target):
            name = t.name
            if name:
                by_name.setdefault(essential_name(name), []).append(t)
        self._by_name = by_name

    def candidates(self, local: Btf, local_id: int) -> list[Type]:
        """Target types that may stand for local type ``local_id`` (named, same kind)."""
        lt = local[local_id]
        if not lt.name:
            raise CoreError(f"no candidates for anonymous {kind_str(lt)} [{local_id}]")
        return [t for t in self._by_name.get(essential_name(lt.name), ()) if kinds_compat(t, lt)]


_INDEXES: weakref.WeakKeyDictionary[Btf, CandidateIndex] = weakref.WeakKeyDictionary()


def candidate_index(target: Btf) -> CandidateIndex:
    """The ``CandidateIndex`` of ``target``, built on first use and kept while it lives."""
    index = _INDEXES.get(target)
    if index is None:
        index = _INDEXES[target] = CandidateIndex(target)
    return index


@dataclass
class _Builder:
    """A target spec being built."""

    btf: Btf
    raw: list[int] = field(default_factory=list)
    accessors: list[Accessor] = field(default_factory=list)
    bit_offset: int = 0

    def push(self, index: int, bit_offset: int) -> None:
        if len(self.raw) == MAX_SPEC_LEN:
            raise CoreError(f"access path longer than {MAX_SPEC_LEN} steps in the target")
        self.raw.append(index)
        self.bit_offset += bit_offset

    def pop(self, bit_offset: int) -> None:
        self.raw.pop()
        self.bit_offset -= bit_offset


def _match_member(local: Btf, acc: Accessor, b: _Builder, target_id: int) -> int | None:
    """Find local member ``acc`` by name in target composite ``target_id`` (through
    anonymous members); on success extend ``b`` and return the member's type id."""
    tt = skip_mods(b.btf, target_id)
    if not isinstance(tt, (Struct, Union)):
        return None
    holder = local[acc.type_id]
    assert isinstance(holder, (Struct, Union))
    local_member = holder.members[acc.idx]
    for i, m in enumerate(tt.members):
        b.push(i, m.bit_offset)
        if not m.name:
            found = _match_member(local, acc, b, m.type_id)
            if found is not None:
                return found
        elif m.name == local_member.name:
            if fields_compat(local, local_member.type_id, b.btf, m.type_id):
                b.accessors.append(Accessor(tt.id, i, m.name))
                return m.type_id
            # As libbpf: the path keeps this member (it shows in the log of a
            # non-matching candidate). C forbids a second member of the same
            # name, so no later member can match anyway.
            return None
        b.pop(m.bit_offset)
    return None


def _match_fields(spec: AccessSpec, b: _Builder, target_id: int) -> bool:
    cur = target_id
    for i, acc in enumerate(spec.accessors):
        tt = skip_mods(b.btf, cur)
        cur = tt.id
        if acc.name is not None:
            found = _match_member(spec.btf, acc, b, cur)
            if found is None:
                return False
            cur = found
            continue
        if i > 0:
            if not isinstance(tt, Array):
                return False
            prev = b.accessors[-1] if b.accessors else None
            if not is_flex_array(b.btf, prev, tt) and acc.idx >= tt.nelems:
                return False
            cur = skip_mods(b.btf, tt.type_id).id
        b.push(acc.idx, acc.idx * resolve_size(b.btf, cur) * 8)
        b.accessors.append(Accessor(cur, acc.idx))
    return True


def _match_enumval(spec: AccessSpec, target: Btf, target_id: int) -> tuple[bool, AccessSpec]:
    tt = skip_mods(target, target_id)
    if isinstance(tt, (Enum, Enum64)):
        wanted = essential_name(spec.accessors[0].name or "")
        for i, v in enumerate(tt.values):
            if essential_name(v.name) == wanted:
                acc = Accessor(tt.id, i, v.name)
                return True, AccessSpec(target, target_id, spec.kind, (i,), (acc,))
    return False, AccessSpec(target, target_id, spec.kind, (0,))


def match_spec(spec: AccessSpec, target: Btf, target_id: int) -> tuple[bool, AccessSpec]:
    """Whether candidate ``target_id`` matches local ``spec``, and the target spec.

    When it does not match, the spec is the part built before the search
    failed (what libbpf's debug log shows for a non-matching candidate).

    >>> from ebpy.btf.core_spec import parse_access
    >>> from ebpy.btf.types import Int, Member
    >>> i = Int(1, "int", size=4, encoding=1, bits=32)
    >>> local = Btf([i, Struct(2, "s", 8, (Member("a", 1, 0), Member("b", 1, 32)))])
    >>> target = Btf([i, Struct(2, "s", 12, (Member("b", 1, 0), Member("c", 1, 32),
    ...                                       Member("a", 1, 64)))])
    >>> ok, m = match_spec(parse_access(local, 2, "0:0", CoreReloKind.FIELD_BYTE_OFFSET), target, 2)
    >>> ok, m.raw, m.bit_offset
    (True, (0, 2), 64)
    """
    if spec.kind in TYPE_KINDS:
        relation = types_match if spec.kind is CoreReloKind.TYPE_MATCHES else types_compat
        ok = relation(spec.btf, spec.root_type_id, target, target_id)
        return ok, AccessSpec(target, target_id, spec.kind)
    if spec.kind in ENUMVAL_KINDS:
        return _match_enumval(spec, target, target_id)
    b = _Builder(target)
    ok = _match_fields(spec, b, target_id)
    return ok, AccessSpec(
        target, target_id, spec.kind, tuple(b.raw), tuple(b.accessors), b.bit_offset
    )
