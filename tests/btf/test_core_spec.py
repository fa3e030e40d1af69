"""CO-RE access specs: essential names, access strings, spec paths and their printing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebpy.btf.core_spec import (
    Accessor,
    AccessSpec,
    essential_name,
    format_spec,
    parse_access,
)
from ebpy.btf.ext import CoreReloKind as K
from ebpy.btf.types import Btf
from ebpy.errors import CoreError
from tests.btf.core_support import B


@pytest.mark.parametrize(
    ("name", "essential"),
    [
        ("task_struct", "task_struct"),
        ("task_struct___v2", "task_struct"),
        ("task_struct___2", "task_struct"),
        ("a___b___c", "a___b"),  # the last separator counts
        ("x____y", "x____y"),  # four underscores are no separator
        ("x___", "x___"),
        ("___x", "___x"),
        ("_x___y", "_x"),
        ("x___y_", "x"),
        ("x__y", "x__y"),
        ("", ""),
        ("PIDTYPE_SID___v", "PIDTYPE_SID"),
    ],
)
def test_essential_name(name: str, essential: str) -> None:
    assert essential_name(name) == essential


@given(st.text(alphabet="ab_", max_size=12))
def test_essential_name_is_a_prefix_without_trailing_separator(name: str) -> None:
    ess = essential_name(name)
    assert name.startswith(ess)
    rest = name[len(ess) :]
    assert rest == "" or (rest.startswith("___") and rest[3:4] not in ("", "_"))


def _task() -> tuple[Btf, dict[str, int]]:
    """struct task { int pid; union { struct { u32 a; u32 b; }; u64 c; }; int arr[4];
    struct task *parent; char tail[]; } and a typedef of it."""
    b = B()
    i = b.int()
    u = b.int("unsigned int", signed=False)
    u64 = b.int("unsigned long long", 8, signed=False)
    inner = b.struct("", 8, ("a", u, 0), ("b", u, 32))
    anon = b.struct("", 8, ("", inner, 0), ("c", u64, 0), union=True)
    arr = b.array(i, 4)
    task_id = b.next_id + 3  # after the pointer, char and the flexible array
    ptr = b.ptr(task_id)
    tail = b.array(b.int("char", 1), 0)
    task = b.struct(
        "task",
        40,
        ("pid", i, 0),
        ("", anon, 64),
        ("arr", arr, 128),
        ("parent", ptr, 256),
        ("tail", tail, 320),
    )
    assert task == task_id
    td = b.typedef("task_t", task)
    return b.build(), {"task": task, "td": td, "anon": anon, "inner": inner, "i": i}


@pytest.mark.parametrize(
    ("access", "raw", "names", "bit_offset", "text"),
    [
        ("0", (0,), [None], 0, "task (0 @ offset 0)"),
        ("2", (2,), [None], 2 * 40 * 8, "task[2] (2 @ offset 80)"),
        ("0:0", (0, 0), [None, "pid"], 0, "task.pid (0:0 @ offset 0)"),
        ("0:1:0:1", (0, 1, 0, 1), [None, "b"], 96, "task.b (0:1:0:1 @ offset 12)"),
        ("0:1:1", (0, 1, 1), [None, "c"], 64, "task.c (0:1:1 @ offset 8)"),
        ("0:2:3", (0, 2, 3), [None, "arr", None], 128 + 96, "task.arr[3] (0:2:3 @ offset 28)"),
        ("1:3", (1, 3), [None, "parent"], 320 + 256, "task[1].parent (1:3 @ offset 72)"),
        ("0:4:100", (0, 4, 100), [None, "tail", None], 320 + 800, None),  # flexible array
        ("0:", (0,), [None], 0, None),  # libbpf's parser accepts a trailing ':'
        ("0: 1:+1", (0, 1, 1), [None, "c"], 64, None),
    ],
)
def test_field_access_paths(
    access: str, raw: tuple[int, ...], names: list[str | None], bit_offset: int, text: str | None
) -> None:
    btf, ids = _task()
    spec = parse_access(btf, ids["task"], access, K.FIELD_BYTE_OFFSET)
    assert spec.raw == raw
    assert [a.name for a in spec.accessors] == names
    assert spec.bit_offset == bit_offset
    if text is not None:
        assert format_spec(spec) == f"<byte_off> [{ids['task']}] struct {text}"


def test_typedef_root_keeps_its_id_and_skips_to_the_struct() -> None:
    btf, ids = _task()
    spec = parse_access(btf, ids["td"], "0:0", K.FIELD_BYTE_OFFSET)
    assert spec.root_type_id == ids["td"]
    assert spec.accessors[0] == Accessor(ids["task"], 0)
    assert spec.accessors[1] == Accessor(ids["task"], 0, "pid")
    assert format_spec(spec).startswith(f"<byte_off> [{ids['td']}] typedef task_t.pid")


@pytest.mark.parametrize(
    "access",
    [
        "",
        ":0",
        "a",
        "0:x",
        "0::1",
        "-1",
        "0:-1",
        "0:5",  # member index past the end
        "0:2:4",  # array index past the end (not flexible)
        "0:0:0",  # an int has no members
        "0:3:0",  # a pointer is not followed
        "0:99999999999",
        ":".join(["0"] * 65),
    ],
)
def test_bad_field_access_strings(access: str) -> None:
    btf, ids = _task()
    with pytest.raises(CoreError):
        parse_access(btf, ids["task"], access, K.FIELD_BYTE_OFFSET)


def test_flexible_array_must_be_last_and_empty() -> None:
    b = B()
    i = b.int()
    flex = b.array(i, 0)
    s = b.struct("s", 8, ("flex", flex, 0), ("x", i, 32))  # not last: not flexible
    btf = b.build()
    with pytest.raises(CoreError):
        parse_access(btf, s, "0:0:1", K.FIELD_BYTE_OFFSET)


@pytest.mark.parametrize("kind", [K.TYPE_EXISTS, K.TYPE_SIZE, K.TYPE_ID_LOCAL, K.TYPE_MATCHES])
def test_type_relocations_need_access_zero(kind: K) -> None:
    btf, ids = _task()
    spec = parse_access(btf, ids["task"], "0", kind)
    assert spec == AccessSpec(btf, ids["task"], kind, raw=(0,))
    for bad in ("1", "0:0"):
        with pytest.raises(CoreError):
            parse_access(btf, ids["task"], bad, kind)


def test_enum_value_specs() -> None:
    b = B()
    e = b.enum("e", ("A", 1), ("B", -2 & 0xFFFFFFFF))
    se = b.enum("se", ("N", -2), signed=True)
    td = b.typedef("e_t", e)
    btf = b.build()
    spec = parse_access(btf, td, "1", K.ENUMVAL_VALUE)
    assert spec.accessors == (Accessor(e, 1, "B"),)
    assert format_spec(spec) == f"<enumval_value> [{td}] typedef e_t::B = 4294967294"
    signed = parse_access(btf, se, "0", K.ENUMVAL_EXISTS)
    assert format_spec(signed) == f"<enumval_exists> [{se}] enum se::N = -2"
    for bad in ("2", "0:0"):
        with pytest.raises(CoreError):
            parse_access(btf, e, bad, K.ENUMVAL_VALUE)
    with pytest.raises(CoreError):
        parse_access(btf, b.int(), "0", K.ENUMVAL_VALUE)


def test_bad_root_ids_are_core_errors() -> None:
    btf, _ = _task()
    with pytest.raises(CoreError):
        parse_access(btf, 999, "0:0", K.FIELD_BYTE_OFFSET)


@given(st.text(alphabet="0123:+- x", max_size=20), st.sampled_from(list(K)))
def test_any_access_string_parses_or_is_a_core_error(access: str, kind: K) -> None:
    btf, ids = _task()
    try:
        spec = parse_access(btf, ids["task"], access, kind)
    except CoreError:
        return
    assert spec.raw and all(i >= 0 for i in spec.raw)
    format_spec(spec)
