"""Hypothesis strategies for BTF type tables (``ebpy.btf.types.Btf``).

``btf_tables()`` draws tables whose every field fits the BTF encoding and
whose every type id refers to an existing type (or void), so that the encoder
accepts them and the kernel-style checks of the parser pass; bpftool prints
them too. ``split_tables()`` draws a base table and a split table over it.
Only generation here; no assertions.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st

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

U32 = st.integers(0, 0xFFFFFFFF)
SMALL = st.integers(0, 64)
NAMES = st.one_of(
    st.just(""),
    st.sampled_from(["a", "int", "task_struct", "x", "__u64", "pid", ".bss", "address_space(1)"]),
    st.text("abcdefgh_0123456789", min_size=1, max_size=12),
)


def _values(bits: int, signed: bool) -> st.SearchStrategy[int]:
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return st.one_of(st.integers(low, high), st.sampled_from([low, high, 0, 1]))


Fix = Callable[[int], int]
Maker = Callable[[int, Fix], Type]
"""(own id, raw reference -> a valid id) -> the type. Strategies are built once; a
table's ids are known only when its length is drawn, so references are fixed late."""

REF = st.integers(0, 1 << 16)


def _maker(
    build: Callable[..., Type], *fields: st.SearchStrategy[object]
) -> st.SearchStrategy[Maker]:
    """A strategy of makers: ``build(tid, fix, *drawn_fields)``."""
    return st.tuples(*fields).map(lambda drawn: lambda tid, fix: build(tid, fix, *drawn))


def _plain(cls: type[Ptr | Typedef | Volatile | Const | Restrict]) -> st.SearchStrategy[Maker]:
    return _maker(lambda tid, fix, n, r: cls(tid, n, fix(r)), NAMES, REF)


def _members(bitfields: bool) -> st.SearchStrategy[list[tuple[str, int, int, int]]]:
    offset = st.integers(0, 0xFFFFFF) if bitfields else U32
    size = st.integers(0, 255) if bitfields else st.just(0)
    return st.lists(st.tuples(NAMES, REF, offset, size), max_size=5)


def _composite(cls: type[Struct | Union], bitfields: bool) -> st.SearchStrategy[Maker]:
    return _maker(
        lambda tid, fix, n, size, ms: cls(
            tid, n, size, tuple(Member(m, fix(r), o, b) for m, r, o, b in ms), bitfields
        ),
        NAMES,
        U32,
        _members(bitfields),
    )


def _enum(cls: type[Enum | Enum64], bits: int, signed: bool) -> st.SearchStrategy[Maker]:
    values = st.lists(st.builds(EnumValue, NAMES, _values(bits, signed)), max_size=5)
    return _maker(
        lambda tid, fix, n, size, vs: cls(tid, n, size, tuple(vs), signed),
        NAMES,
        st.sampled_from([1, 2, 4, 8]),
        values,
    )


KINDS: st.SearchStrategy[Maker] = st.one_of(
    _maker(
        lambda tid, fix, n, s, e, o, b: Int(tid, n, s, e, o, b),
        NAMES,
        st.sampled_from([1, 2, 4, 8, 16]),
        st.integers(0, 15),
        st.integers(0, 255),
        st.integers(0, 255),
    ),
    _plain(Ptr),
    _plain(Typedef),
    _plain(Volatile),
    _plain(Const),
    _plain(Restrict),
    _maker(lambda tid, fix, n, r, k: TypeTag(tid, n, fix(r), k), NAMES, REF, st.booleans()),
    _maker(lambda tid, fix, n, e, i, c: Array(tid, n, fix(e), fix(i), c), NAMES, REF, REF, U32),
    _composite(Struct, False),
    _composite(Struct, True),
    _composite(Union, False),
    _composite(Union, True),
    _enum(Enum, 32, False),
    _enum(Enum, 32, True),
    _enum(Enum64, 64, False),
    _enum(Enum64, 64, True),
    _maker(lambda tid, fix, n, u: Fwd(tid, n, u), NAMES, st.booleans()),
    _maker(lambda tid, fix, n, r, k: Func(tid, n, fix(r), k), NAMES, REF, st.integers(0, 4)),
    _maker(
        lambda tid, fix, n, r, ps: FuncProto(
            tid, n, fix(r), tuple(Param(p, fix(t)) for p, t in ps)
        ),
        NAMES,
        REF,
        st.lists(st.tuples(NAMES, REF), max_size=5),
    ),
    _maker(lambda tid, fix, n, r, k: Var(tid, n, fix(r), k), NAMES, REF, st.integers(0, 4)),
    _maker(
        lambda tid, fix, n, size, vs: Datasec(
            tid, n, size, tuple(VarSecinfo(fix(r), o, z) for r, o, z in vs)
        ),
        NAMES,
        U32,
        st.lists(st.tuples(REF, U32, U32), max_size=4),
    ),
    _maker(lambda tid, fix, n, s: Float(tid, n, s), NAMES, st.sampled_from([2, 4, 8, 12, 16])),
    _maker(
        lambda tid, fix, n, r, c, k: DeclTag(tid, n, fix(r), c, k),
        NAMES,
        REF,
        st.integers(-1, 10),
        st.booleans(),
    ),
)
"""One type of any kind (as a maker)."""


@st.composite
def btf_tables(draw: st.DrawFn, *, base: Btf | None = None, max_types: int = 12) -> Btf:
    """A table of up to ``max_types`` types (over ``base`` when given)."""
    makers = draw(st.lists(KINDS, max_size=max_types))
    start = base.start_id + len(base.types) if base is not None else 1
    count = start + len(makers)

    def fix(ref: int) -> int:
        return ref % count

    return Btf([make(start + k, fix) for k, make in enumerate(makers)], base=base)


@st.composite
def split_tables(draw: st.DrawFn) -> Btf:
    """A split table over a freshly drawn base (``result.base``)."""
    from ebpy.btf.encode import encode_btf
    from ebpy.btf.parse import parse_btf

    base = parse_btf(encode_btf(draw(btf_tables(max_types=6))))
    return draw(btf_tables(base=base, max_types=6))
