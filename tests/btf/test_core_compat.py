"""CO-RE compatibility rules: fields_compat, types_compat and types_match.

Each case builds a local and a target type in two separate tables and states
what each relation must say (as the CO-RE rules in libbpf's documentation
define them). A relation not named in a case is not checked for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from ebpy.btf.core_compat import (
    fields_compat,
    kinds_compat,
    names_match,
    types_compat,
    types_match,
)
from ebpy.btf.types import (
    Btf,
    Enum64,
    EnumValue,
    Float,
    FuncProto,
    Fwd,
    Kind,
    Param,
    Typedef,
    Volatile,
)
from ebpy.errors import CoreError
from tests.btf.core_support import B

Maker = Callable[[B], int]


def _int(name: str = "int", size: int = 4, signed: bool = True, offset: int = 0) -> Maker:
    return lambda b: b.int(name, size, signed, offset)


def _ptr(to: Maker) -> Maker:
    return lambda b: b.ptr(to(b))


def _arr(elem: Maker, n: int) -> Maker:
    return lambda b: b.array(elem(b), n)


def _typedef(name: str, to: Maker) -> Maker:
    return lambda b: b.typedef(name, to(b))


def _struct(name: str, *members: tuple[str, Maker], union: bool = False) -> Maker:
    def make(b: B) -> int:
        ids = [(n, m(b)) for n, m in members]
        return b.struct(name, 8, *[(n, t, 32 * i) for i, (n, t) in enumerate(ids)], union=union)

    return make


def _enum(name: str, *names: str, size: int = 4) -> Maker:
    return lambda b: b.enum(name, *[(n, i) for i, n in enumerate(names)], size=size)


def _enum64(name: str, *names: str) -> Maker:
    vals = tuple(EnumValue(n, i) for i, n in enumerate(names))
    return lambda b: b.add(Enum64, name, size=8, values=vals)


def _fwd(name: str, union: bool = False) -> Maker:
    return lambda b: b.add(Fwd, name, union=union)


def _float(size: int = 8) -> Maker:
    return lambda b: b.add(Float, "double", size=size)


def _proto(ret: Maker | None, *params: Maker) -> Maker:
    def make(b: B) -> int:
        r = ret(b) if ret else 0
        ps = tuple(Param("", p(b)) for p in params)
        return b.add(FuncProto, type_id=r, params=ps)

    return make


def _volatile(to: Maker) -> Maker:
    return lambda b: b.add(Volatile, type_id=to(b))


@dataclass
class Case:
    id: str
    local: Maker
    target: Maker
    fields: bool | None = None
    compat: bool | None = None
    match: bool | None = None
    marks: list[pytest.MarkDecorator] = field(default_factory=list)


CASES = [
    Case("int-int", _int(), _int(), fields=True, compat=True, match=True),
    Case("int-sizes", _int(), _int("long", 8), fields=True, compat=True, match=False),
    Case("int-sign", _int(), _int("int", signed=False), fields=True, compat=True, match=False),
    Case(
        "int-names",
        _int("unsigned long", 8, False),
        _int("long unsigned int", 8, False),
        fields=True,
        compat=True,
        match=False,
    ),
    Case("int-bitfield-style", _int(), _int(offset=3), fields=False, compat=False),
    Case("int-vs-ptr", _int(), _ptr(_int()), fields=False, compat=False, match=False),
    Case(
        "typedefs-looked-through",
        _typedef("pid_t", _int()),
        _typedef("pid_t", _typedef("kpid", _int())),
        fields=True,
        compat=True,
        match=True,
    ),
    # types_compat compares the roots' own kinds first (candidates always agree)
    Case("volatile", _volatile(_int()), _int(), fields=True, compat=False, match=True),
    Case("ptr-any", _ptr(_int()), _ptr(_struct("s")), fields=True, compat=False, match=False),
    Case("ptr-ptr-int", _ptr(_int()), _ptr(_int("long", 8)), fields=True, compat=True, match=False),
    Case("float", _float(8), _float(4), fields=True, compat=False),
    Case("struct-struct", _struct("a"), _struct("b", ("x", _int())), fields=True),
    Case(
        "struct-union",
        _struct("a"),
        _struct("a", union=True),
        fields=True,
        compat=False,
        match=False,
    ),
    Case(
        "struct-members-compat",
        _struct("s", ("x", _int())),
        _struct("s", ("y", _ptr(_int()))),
        compat=True,
        match=False,
    ),
    Case(
        "struct-members-match",
        _struct("s", ("x", _int())),
        _struct("s", ("z", _int()), ("x", _int())),
        compat=True,
        match=True,
    ),
    Case(
        "struct-more-local-members",
        _struct("s", ("x", _int()), ("y", _int())),
        _struct("s", ("x", _int())),
        match=False,
    ),
    Case(
        "struct-member-flavour",
        _struct("s", ("x___v2", _int())),
        _struct("s", ("x", _int())),
        match=True,
    ),
    Case(
        "enum-names",
        _enum("e", "A"),
        _enum("e___v2", "A", "B"),
        fields=True,
        compat=True,
        match=True,
    ),
    Case(
        "enum-other-name", _enum("e", "A"), _enum("f", "A"), fields=False, compat=True, match=False
    ),
    Case("enum-anon", _enum("", "A"), _enum("f", "A"), fields=True),
    Case("enum-missing-value", _enum("e", "A", "C"), _enum("e", "A", "B"), match=False),
    Case("enum-size", _enum("e", "A", size=4), _enum("e", "A", size=2), fields=True, match=False),
    Case(
        "enum-enum64",
        _enum("e", "A", size=8),
        _enum64("e", "A", "B"),
        fields=True,
        compat=True,
        match=True,
    ),
    Case("fwd-fwd", _fwd("s"), _fwd("s"), fields=True, compat=True, match=True),
    Case("fwd-kinds", _fwd("s"), _fwd("s", union=True), compat=True, match=False),
    Case("fwd-struct", _fwd("s"), _struct("s"), fields=False, compat=False, match=False),
    Case(
        "ptr-fwd-struct", _ptr(_fwd("s")), _ptr(_struct("s")), fields=True, compat=False, match=True
    ),
    Case("ptr-fwd-union", _ptr(_fwd("s", union=True)), _ptr(_struct("s", union=True)), match=True),
    Case("ptr-fwd-wrong-kind", _ptr(_fwd("s", union=True)), _ptr(_struct("s")), match=False),
    Case("ptr-struct-fwd", _ptr(_struct("s", ("x", _int()))), _ptr(_fwd("s")), match=True),
    Case(
        "ptr-struct-any",
        _ptr(_struct("s", ("x", _int()))),
        _ptr(_struct("s", ("y", _int()))),
        match=True,
    ),
    Case("ptr-struct-name", _ptr(_struct("s")), _ptr(_struct("t")), match=False),
    Case(
        "array-elems",
        _arr(_int(), 4),
        _arr(_int("long", 8), 2),
        fields=True,
        compat=True,
        match=False,
    ),
    Case("array-len", _arr(_int(), 4), _arr(_int(), 2), fields=True, compat=True, match=False),
    Case("array-same", _arr(_int(), 4), _arr(_int(), 4), fields=True, compat=True, match=True),
    Case("array-of-ptr-vs-int", _arr(_ptr(_int()), 4), _arr(_int(), 4), fields=False, compat=False),
    Case(
        "proto-same",
        _proto(_int(), _int(), _ptr(_int())),
        _proto(_int(), _int(), _ptr(_int())),
        fields=False,
        compat=True,
        match=True,
    ),
    Case(
        "proto-params",
        _proto(_int(), _int()),
        _proto(_int(), _int(), _int()),
        compat=False,
        match=False,
    ),
    Case(
        "proto-param-kind",
        _proto(_int(), _int()),
        _proto(_int(), _ptr(_int())),
        compat=False,
        match=False,
    ),
    Case("proto-return", _proto(_int()), _proto(_ptr(_int())), compat=False, match=False),
    Case(
        "proto-void",
        _proto(None, _ptr(lambda b: 0)),
        _proto(None, _ptr(lambda b: 0)),
        compat=True,
        match=True,
    ),
]


def _pair(case: Case) -> tuple[Btf, int, Btf, int]:
    lb, tb = B(), B()
    lid, tid = case.local(lb), case.target(tb)
    return lb.build(), lid, tb.build(), tid


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_relations(case: Case) -> None:
    local, lid, target, tid = _pair(case)
    if case.fields is not None:
        assert fields_compat(local, lid, target, tid) is case.fields
    if case.compat is not None:
        assert types_compat(local, lid, target, tid) is case.compat
    if case.match is not None:
        assert types_match(local, lid, target, tid) is case.match


def test_every_case_checks_something() -> None:
    assert all((c.fields, c.compat, c.match) != (None, None, None) for c in CASES)
    assert {c.match for c in CASES} == {True, False, None}


def test_kinds_and_names() -> None:
    b = B()
    e = b.enum("e", ("A", 0))
    s = b.struct("s", 4)
    u = b.struct("u", 4, union=True)
    e64 = _enum64("e", "A")(b)
    btf = b.build()
    assert kinds_compat(btf[e], btf[e64]) and kinds_compat(btf[e64], btf[e])
    assert not kinds_compat(btf[s], btf[u])
    assert btf[e].kind is Kind.ENUM
    assert names_match("", "")
    assert not names_match("x", "")
    assert not names_match("", "x")
    assert names_match("foo___a", "foo___b")


def test_loops_are_core_errors() -> None:
    # typedef a -> typedef b -> typedef a: a loop no real BTF has
    btf = Btf([Typedef(1, "a", type_id=2), Typedef(2, "b", type_id=1)])
    t = B()
    tid = t.typedef("a", t.int())
    target = t.build()
    for relation in (fields_compat, types_compat, types_match):
        with pytest.raises(CoreError):
            relation(btf, 1, target, tid)


def test_deep_pointer_chains_are_core_errors() -> None:
    b = B()
    cur = b.int()
    for _ in range(40):
        cur = b.ptr(cur)
    btf = b.build()
    with pytest.raises(CoreError):
        types_compat(btf, cur, btf, cur)
    with pytest.raises(CoreError):
        types_match(btf, cur, btf, cur)
