"""Sizes, alignments and padding of BTF types, as the C dumper needs them.

A C header made from BTF must reproduce the original layout: members at their
bit offsets, structs of their sizes. This module answers the layout questions
``ebpy.btf.dump_c`` asks: the pointer size of a BTF table, the size and the
natural alignment of a type, whether a struct can only have its layout when
packed, and which unnamed bitfields (``long: 64;``) fill a gap between two
members. It works on a plain list of types indexed by id, for speed.

It is not a general layout engine: it never decides offsets, it only reads
the ones BTF gives and explains them to a C compiler.

>>> from ebpy.btf.types import Int, Struct, Member
>>> ts = [None, Int(1, "int", size=4, encoding=1, bits=32), Int(2, "char", size=1, bits=8)]
>>> ts.append(Struct(3, "s", size=5, members=(Member("a", 2, 0), Member("b", 1, 8))))
>>> align_of(ts, 3, 8), is_packed(ts, ts[3], 8)
(1, True)
>>> padding(8, 96, 4, False, 8)
[('long', 0), ('int', 32)]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ebpy.btf.types import Int, Kind, Struct, Type
from ebpy.errors import BtfError

__all__ = ["align_of", "is_packed", "padding", "pointer_size", "resolve_size"]

_U32_MAX = 0xFFFFFFFF
_MAX_DEPTH = 32

_LONG_NAMES = frozenset(
    {"long", "long int", "int long", "unsigned long", "long unsigned", "long unsigned int",
     "long int unsigned", "unsigned long int", "unsigned int long", "int long unsigned",
     "int unsigned long"}
)  # fmt: skip

_SIZED = (Kind.INT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.DATASEC, Kind.FLOAT)
_THROUGH = (
    Kind.TYPEDEF,
    Kind.VOLATILE,
    Kind.CONST,
    Kind.RESTRICT,
    Kind.VAR,
    Kind.DECL_TAG,
    Kind.TYPE_TAG,
)
_SCALARS = (Kind.INT, Kind.ENUM, Kind.ENUM64, Kind.FLOAT)
_ALIAS = (Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG, Kind.ARRAY)


def pointer_size(types: Sequence[Any]) -> int:
    """Bytes in a pointer: the size of the table's ``long`` (4 or 8), else 8.

    >>> pointer_size([None, Int(1, "long int", size=4, bits=32)])
    4
    """
    for t in types:
        if isinstance(t, Int) and t.name in _LONG_NAMES and t.size in (4, 8):
            return t.size
    return 8


def resolve_size(types: Sequence[Type], type_id: int, ptr_size: int) -> int:
    """Bytes in a value of ``type_id``, or -1 when it has no size (void, functions).

    Arrays multiply their element's size; sizes past 4 GiB count as no size.
    """
    nelems = 1
    for _ in range(_MAX_DEPTH):
        if type_id == 0:
            return -1
        t: Any = types[type_id]
        kind = t.kind
        if kind in _SIZED:
            size = int(t.size)
            break
        if kind == Kind.PTR:
            size = ptr_size
            break
        if kind in _THROUGH:
            type_id = t.type_id
        elif kind == Kind.ARRAY:
            if nelems and t.nelems > _U32_MAX // nelems:
                return -1
            nelems *= t.nelems
            type_id = t.type_id
        else:
            return -1
    else:
        return -1
    if nelems and size > _U32_MAX // nelems:
        return -1
    return nelems * size


def align_of(types: Sequence[Any], type_id: int, ptr_size: int) -> int:
    """Natural alignment in bytes of ``type_id``; 1 for a struct whose layout
    shows it was packed (a misaligned member, or a size that is not a multiple
    of its alignment); 0 for types without one (void, functions)."""
    for _ in range(_MAX_DEPTH):
        t: Any = types[type_id] if type_id else None
        if t is None:
            return 0
        kind = t.kind
        if kind in _SCALARS:
            return min(ptr_size, int(t.size))
        if kind == Kind.PTR:
            return ptr_size
        if kind in _ALIAS:
            type_id = t.type_id
            continue
        if kind in (Kind.STRUCT, Kind.UNION):
            return _composite_align(types, t, ptr_size)
        return 0
    return 0


def _composite_align(types: Sequence[Any], t: Any, ptr_size: int) -> int:
    best = 1
    for m in t.members:
        align = align_of(types, m.type_id, ptr_size)
        if align <= 0:
            return 0
        best = max(best, align)
        if not m.bitfield_size and m.bit_offset % (8 * align):
            return 1
    if t.size % best:
        return 1
    return best


def is_packed(types: Sequence[Any], t: Struct, ptr_size: int) -> bool:
    """Whether struct ``t`` needs ``__attribute__((packed))`` for its layout."""
    best = 1
    for m in t.members:
        align = align_of(types, m.type_id, ptr_size)
        if align and not m.bitfield_size and m.bit_offset % (8 * align):
            return True
        best = max(best, align)
    return bool(t.size % best)


def _roundup(value: int, step: int) -> int:
    return (value + step - 1) // step * step


def padding(
    cur: int, nxt: int, next_align: int, in_bitfield: bool, ptr_size: int
) -> list[tuple[str, int]]:
    """Unnamed bitfields that move from bit ``cur`` to bit ``nxt``.

    The widest of long/int/short/char whose next boundary is not past ``nxt``
    is used: a ``T: 0`` (or ``T: n`` inside a run of bitfields) to reach that
    boundary when the compiler would not, then whole ``T`` units, then the
    rest in the smallest type that holds it. ``next_align`` is the alignment
    in bytes of what comes at ``nxt``.
    """
    if cur >= nxt:
        return []
    pads = (("long", ptr_size * 8), ("int", 32), ("short", 16), ("char", 8))
    out: list[tuple[str, int]] = []
    # the widest type whose next boundary is not past nxt (else char)
    pad_type, pad_bits = next(((n, b) for n, b in pads if _roundup(cur, b) <= nxt), pads[-1])
    new = _roundup(cur, pad_bits)
    if cur < new <= nxt:
        if new == nxt and not in_bitfield and next_align <= 0:
            raise BtfError(f"cannot align bit {nxt} for a type without alignment")
        if (
            in_bitfield
            or (new == nxt and _roundup(cur, next_align * 8) != new)
            or (new != nxt and nxt - new <= new - cur)
        ):
            out.append((pad_type, new - cur if in_bitfield else 0))
        cur = new
    while cur < nxt:
        bits = min(nxt - cur, pad_bits)
        if bits == pad_bits:
            out.append((pad_type, pad_bits))
            cur += bits
            continue
        for small_type, small_bits in reversed(pads):
            if small_bits >= bits:
                out.append((small_type, bits))
                cur += bits
                break
    return out
