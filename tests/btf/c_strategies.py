"""Hypothesis strategies for the BTF-as-C and value-formatting tests.

``c_tables()`` draws type tables shaped like what compilers emit, with the
corner cases of the C dumper drawn often: clashing names, anonymous and
forward-declared types, pointers back to structs, bitfields, odd sizes,
signed and 64-bit enums. A type refers to lower ids, or to any struct or
union (only through those can types refer to themselves), so bpftool never
loops forever on them; it may still refuse a table (a struct that contains
itself), and then so must ``dump_c``.

``value_types()`` draws a table and the id of a type with a finite layout
(no loops, small arrays) for formatting values; ``kernel_structs()`` a
struct the kernel accepts as a map value. Generation only; no assertions.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st

from ebpy.btf.types import (
    Array,
    Btf,
    Const,
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
    Volatile,
)

BASE_INTS: tuple[Int, ...] = (
    Int(1, "int", size=4, encoding=Int.SIGNED, bits=32),
    Int(2, "char", size=1, encoding=Int.SIGNED, bits=8),
    Int(3, "long", size=8, encoding=Int.SIGNED, bits=64),
    Int(4, "unsigned short", size=2, bits=16),
    Int(5, "__Poly8_t", size=1, bits=8),
)
TAGS = ("a", "b", "foo", "x_t", "", "", "")
IDENTS = ("A", "B", "foo", "x_t", "a")
Ref = Callable[..., int]
"""(own id, void allowed=True) -> an id that type may refer to."""

KINDS = (
    "ptr",
    "ptr",
    "array",
    "struct",
    "struct",
    "union",
    "enum",
    "enum64",
    "fwd",
    "typedef",
    "typedef",
    "const",
    "volatile",
    "restrict",
    "type_tag",
    "func_proto",
    "float",
    "func",
    "var",
    "decl_tag",
)


@st.composite
def c_tables(draw: st.DrawFn, max_types: int = 24) -> Btf:
    """A table of up to ``max_types`` types after five integers."""
    first = len(BASE_INTS) + 1
    last = first + draw(st.integers(1, max_types - 1))
    kinds = {i: draw(st.sampled_from(KINDS)) for i in range(first, last)}
    composites = [i for i, k in kinds.items() if k in ("struct", "union")]

    def ref(own: int, void: bool = True) -> int:  # see Ref
        choices = [st.integers(1, own - 1)]
        if composites:
            choices.append(st.sampled_from(composites))
        if void:
            choices.append(st.just(0))
        return draw(st.one_of(choices))

    types: list[Type] = list(BASE_INTS)
    for i in range(first, last):
        types.append(_make(draw, i, kinds[i], ref))
    return Btf(types)


def _make(draw: st.DrawFn, i: int, kind: str, r: Ref) -> Type:
    name = draw(st.sampled_from(TAGS))
    if kind == "ptr":
        return Ptr(i, "", type_id=r(i))
    if kind == "array":
        nelems = draw(st.sampled_from([0, 1, 2, 3, 5]))
        return Array(i, "", type_id=r(i, False), index_type_id=1, nelems=nelems)
    if kind in ("struct", "union"):
        return _composite(draw, i, name, kind == "struct", r)
    if kind in ("enum", "enum64"):
        signed = draw(st.booleans())
        bits = 64 if kind == "enum64" else 32
        raw = st.sampled_from([-1, 0, 3, -(1 << 31), (1 << 31) - 1, 1 << 40, -(1 << 40)])
        mask = (1 << bits) - 1
        values = tuple(
            EnumValue(draw(st.sampled_from(IDENTS)), _fit(draw(raw), bits, signed, mask))
            for _ in range(draw(st.integers(0, 3)))
        )
        if kind == "enum64":
            return Enum64(i, name, size=8, values=values, signed=signed)
        size = draw(st.sampled_from([4, 4, 1, 2, 8]))
        return Enum(i, name, size=size, values=values, signed=signed)
    if kind == "fwd":
        return Fwd(i, name or "f", union=draw(st.booleans()))
    if kind == "typedef":
        return Typedef(i, draw(st.sampled_from(IDENTS)) or "t", type_id=r(i))
    simple = {"const": Const, "volatile": Volatile, "restrict": Restrict}
    if kind in simple:
        return simple[kind](i, "", type_id=r(i))
    if kind == "type_tag":
        return TypeTag(i, draw(st.sampled_from(["user", "rcu"])), type_id=r(i))
    if kind == "func_proto":
        params = tuple(
            Param(draw(st.sampled_from(["p", ""])), r(i)) for _ in range(draw(st.integers(0, 3)))
        )
        return FuncProto(i, "", type_id=r(i), params=params)
    if kind == "float":
        return Float(
            i, draw(st.sampled_from(["float", "double"])), size=draw(st.sampled_from([4, 8]))
        )
    if kind == "func":
        return Func(i, "fn", type_id=r(i, False))
    if kind == "var":
        return Var(i, "v", type_id=r(i, False))
    return DeclTag(i, "tag", type_id=r(i, False), component_idx=-1)


def _fit(value: int, bits: int, signed: bool, mask: int) -> int:
    value &= mask
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


def _composite(draw: st.DrawFn, i: int, name: str, is_struct: bool, ref: Ref) -> Type:
    members = []
    off = 0
    for j in range(draw(st.integers(0, 4))):
        bits = draw(st.sampled_from([0, 0, 0, 1, 3, 7, 13, 33]))
        if bits:
            type_id = draw(st.sampled_from([1, 3, 4]))
            bits = min(bits, 16 if type_id == 4 else bits)
            off += draw(st.sampled_from([0, 0, 1, 8, 16, 32]))
        else:
            type_id = ref(i, False)
            off += draw(st.sampled_from([0, 8, 32, 64, 3 * 64]))
        member_name = draw(st.sampled_from(["", "m", "n"])) if not bits else f"b{j}"
        members.append(Member(member_name or "", type_id, off if is_struct else 0, bits))
        off += bits or 32
    size = max(0, (off + 7) // 8 + draw(st.sampled_from([0, 0, 1, 4, 8])))
    kind_flag = any(m.bitfield_size for m in members)
    cls = Struct if is_struct else Union
    return cls(i, name, size=size, members=tuple(members), kind_flag=kind_flag)


# -- value types ---------------------------------------------------------------

SCALARS: tuple[Type, ...] = (
    Int(1, "unsigned int", size=4, bits=32),
    Int(2, "char", size=1, encoding=Int.SIGNED, bits=8),
    Int(3, "long long", size=8, encoding=Int.SIGNED, bits=64),
    Int(4, "short", size=2, encoding=Int.SIGNED, bits=16),
    Int(5, "_Bool", size=1, encoding=Int.BOOL, bits=8),
    Int(6, "char", size=1, encoding=Int.CHAR, bits=8),
    Int(7, "unsigned __int128", size=16, bits=128),
    Int(8, "odd", size=2, bits=12),
    Int(9, "unsigned char", size=1, bits=8),
    Enum(10, "e", size=4, values=(EnumValue("A", 0), EnumValue("B", -1)), signed=True),
    Enum(11, "e8", size=1, values=(EnumValue("C", 200),)),
    Enum64(12, "e64", size=8, values=(EnumValue("D", 1 << 40),)),
    Float(13, "double", size=8),
    Float(14, "float", size=4),
)


@st.composite
def value_types(draw: st.DrawFn, kernel: bool = False) -> tuple[Btf, int]:
    """A table and the id of a struct built over scalars, arrays and nested
    structs; with ``kernel``, only what the kernel accepts in a map value
    (no floats, which bpftool 7.1 cannot print, and no 12-bit int or 1-byte
    enum, which the kernel refuses as members of a struct with bitfields)."""
    scalars = [t for t in SCALARS if not kernel or t.id not in (8, 11, 13, 14)]
    types: list[Type] = list(SCALARS)
    pool = [t.id for t in scalars]
    for _ in range(draw(st.integers(1, 6))):
        new_id = len(types) + 1
        kind = draw(st.sampled_from(["array", "struct", "union", "ptr", "typedef"]))
        if kind == "array":
            elem = draw(st.sampled_from(pool))
            types.append(
                Array(new_id, "", type_id=elem, index_type_id=1, nelems=draw(st.integers(1, 6)))
            )
        elif kind == "ptr":
            types.append(Ptr(new_id, "", type_id=draw(st.sampled_from([0, *pool]))))
        elif kind == "typedef":
            types.append(Typedef(new_id, f"t{new_id}", type_id=draw(st.sampled_from(pool))))
        else:
            types.append(_laid_out(draw, new_id, kind == "struct", pool, Btf(list(types))))
        pool.append(new_id)
    root = _laid_out(draw, len(types) + 1, True, pool, Btf(list(types)))
    types.append(root)
    return Btf(types), root.id


def _laid_out(
    draw: st.DrawFn, new_id: int, is_struct: bool, pool: list[int], btf: Btf
) -> Struct | Union:
    """A struct or union of members from ``pool`` at naturally aligned offsets,
    with now and then a bitfield run."""
    members: list[Member] = []
    off = 0
    top = 0
    for j in range(draw(st.integers(1, 5))):
        if is_struct and draw(st.integers(0, 4)) == 0:
            bits = draw(st.integers(1, 31))
            if off % 32 + bits > 32:
                off += 32 - off % 32
            members.append(Member(f"f{j}", 1, off, bits))
            off += bits
            top = max(top, off)
            continue
        type_id = draw(st.sampled_from(pool))
        size = btf.size_of(type_id)
        align = max(1, min(8, _align(btf, type_id)))
        start = (off + 8 * align - 1) // (8 * align) * (8 * align) if is_struct else 0
        name = (
            draw(st.sampled_from([f"m{j}", ""]))
            if btf.resolve(type_id).kind.name in ("STRUCT", "UNION")
            else f"m{j}"
        )
        members.append(Member(name, type_id, start))
        off = start + size * 8 if is_struct else 0
        top = max(top, start + size * 8)
    size = (top + 63) // 64 * 8
    kind_flag = any(m.bitfield_size for m in members)
    cls = Struct if is_struct else Union
    return cls(new_id, f"s{new_id}", size=size, members=tuple(members), kind_flag=kind_flag)


def _align(btf: Btf, type_id: int) -> int:
    t = btf.resolve(type_id)
    while isinstance(t, Array):
        t = btf.resolve(t.type_id)
    if isinstance(t, Struct | Union):
        return max([_align(btf, m.type_id) for m in t.members] or [1])
    if isinstance(t, Ptr):
        return 8
    return int(getattr(t, "size", 1))
