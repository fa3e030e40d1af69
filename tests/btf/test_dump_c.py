"""``ebpy.btf.dump_c``: BTF as the C header ``bpftool btf dump ... format c`` prints.

The references are bpftool 7.1's goldens of every committed object
(``tests/golden/btf/<dir>__<name>.c.txt``, made by ``make -C tests/testdata
btf-c``), bpftool itself when it is installed (the objects, random tables,
and the running kernel's vmlinux BTF), and clang, which must compile the
header made from vmlinux.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, reject, settings

from ebpy.btf._c_layout import align_of, is_packed, padding, pointer_size, resolve_size
from ebpy.btf.dump_c import HEADER, TRAILER, dump_c
from ebpy.btf.encode import encode_btf
from ebpy.btf.parse import VMLINUX_PATH, load_vmlinux, parse_btf
from ebpy.btf.types import (
    Array,
    Btf,
    Const,
    Enum,
    Enum64,
    EnumValue,
    Fwd,
    Int,
    Member,
    Ptr,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
)
from ebpy.elf.btf_sections import load_object_btf
from ebpy.errors import BtfError
from tests.btf.c_strategies import c_tables
from tests.btf.strategies import btf_tables

TESTS = Path(__file__).resolve().parent.parent
OBJECTS = sorted((TESTS / "testdata").glob("*/*.o"))
GOLDEN = TESTS / "golden" / "btf"
BPFTOOL = shutil.which("bpftool")
CLANG = shutil.which("clang")
needs_bpftool = pytest.mark.skipif(BPFTOOL is None, reason="bpftool is not installed")

INT = Int(1, "int", size=4, encoding=Int.SIGNED, bits=32)


def assert_same_text(ours: str, theirs: str, what: str) -> None:
    """Equal texts, or a failure that shows the first lines that differ."""
    if ours == theirs:
        return
    a, b = ours.splitlines(), theirs.splitlines()
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            lo = max(0, i - 3)
            ctx = "\n".join(
                f"  {n + 1}: ours {a[n]!r}\n  {n + 1}: ref  {b[n]!r}"
                for n in range(lo, min(i + 3, len(a), len(b)))
            )
            pytest.fail(f"{what}: first difference at line {i + 1}\n{ctx}")
    pytest.fail(f"{what}: {len(a)} lines here, {len(b)} in the reference (one is a prefix)")


def body(btf: Btf) -> str:
    """The output between the pragma blocks."""
    text = dump_c(btf)
    assert text.startswith(HEADER) and text.endswith(TRAILER)
    return text[len(HEADER) : -len(TRAILER)]


def check(btf: Btf, tmp_path: Path, expected: str) -> None:
    """``dump_c(btf)`` prints ``expected`` between the pragmas, and so does bpftool."""
    assert body(btf) == expected
    if BPFTOOL is not None:
        ref = bpftool_c(encode_btf(btf), tmp_path)
        assert ref.stdout == HEADER + expected + TRAILER, ref.stderr


def bpftool_c(data: bytes, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "t.btf"
    path.write_bytes(data)
    assert BPFTOOL is not None
    return subprocess.run(
        [BPFTOOL, "btf", "dump", "file", str(path), "format", "c"],
        capture_output=True,
        text=True,
        timeout=20,
    )


# -- committed objects ---------------------------------------------------------


def _object_btf(obj: Path) -> Btf:
    btf, _ = load_object_btf(obj.read_bytes())
    if btf is None:
        pytest.skip(f"{obj.name} has no .BTF")
    return btf


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_object_matches_golden(obj: Path) -> None:
    btf = _object_btf(obj)
    golden = GOLDEN / f"{obj.parent.name}__{obj.stem}.c.txt"
    if not golden.exists():
        if BPFTOOL is not None:
            pytest.fail(f"no golden {golden.name}: run make -C tests/testdata btf-c")
        pytest.skip("no golden, and no bpftool to make it")
    assert_same_text(dump_c(btf), golden.read_text(), golden.name)


@needs_bpftool
@pytest.mark.tools
@pytest.mark.parametrize("obj", OBJECTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_object_matches_bpftool(obj: Path) -> None:
    btf = _object_btf(obj)
    assert BPFTOOL is not None
    ref = subprocess.run(
        [BPFTOOL, "btf", "dump", "file", str(obj), "format", "c"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert_same_text(dump_c(btf), ref.stdout, obj.name)


def test_there_are_objects_with_btf() -> None:
    names = {f"{p.parent.name}/{p.name}" for p in OBJECTS}
    assert {"btf_c/decls.o", "btf_fmt/maps.o"} <= names


def test_cli_format_c() -> None:
    from tests.cli.test_cli import invoke

    obj = TESTS / "testdata" / "btf_c" / "decls.o"
    code, out, err = invoke("btf", "dump", str(obj), "--format", "c")
    assert code == 0, err
    assert out == dump_c(_object_btf(obj))


# -- the running kernel ----------------------------------------------------------

needs_vmlinux = pytest.mark.skipif(
    not Path(VMLINUX_PATH).exists(), reason="no /sys/kernel/btf/vmlinux"
)


@pytest.fixture(scope="module")
def vmlinux_h() -> str:
    return dump_c(load_vmlinux())


@needs_vmlinux
@needs_bpftool
@pytest.mark.tools
def test_vmlinux_matches_bpftool(vmlinux_h: str) -> None:
    assert BPFTOOL is not None
    ref = subprocess.run(
        [BPFTOOL, "btf", "dump", "file", VMLINUX_PATH, "format", "c"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert_same_text(vmlinux_h, ref.stdout, "vmlinux")


@needs_vmlinux
@pytest.mark.tools
@pytest.mark.skipif(CLANG is None, reason="clang is not installed")
def test_vmlinux_header_compiles(vmlinux_h: str, tmp_path: Path) -> None:
    (tmp_path / "vmlinux.h").write_text(vmlinux_h)
    src = tmp_path / "prog.c"
    src.write_text(
        '#include "vmlinux.h"\n'
        "int pid_of(struct task_struct *t) { return t->pid; }\n"
        "unsigned long long mask(struct sk_buff *s) { return s->len + sizeof(struct bpf_insn); }\n"
    )
    assert CLANG is not None
    done = subprocess.run(
        [CLANG, "-target", "bpf", "-O2", "-g", "-c", str(src), "-o", str(tmp_path / "prog.o")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[:2000]


@pytest.mark.tools
@pytest.mark.skipif(CLANG is None, reason="clang is not installed")
def test_decls_header_compiles(tmp_path: Path) -> None:
    btf = _object_btf(TESTS / "testdata" / "btf_c" / "decls.o")
    (tmp_path / "decls.h").write_text(dump_c(btf))
    src = tmp_path / "use.c"
    src.write_text('#include "decls.h"\nint f(struct fns *x, struct nest *n) { return n->tail; }\n')
    assert CLANG is not None
    done = subprocess.run(
        [CLANG, "-target", "bpf", "-O2", "-c", str(src), "-o", str(tmp_path / "use.o")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[:2000]


# -- hand-built tables --------------------------------------------------------------


def test_empty_table() -> None:
    assert dump_c(Btf([])) == HEADER + TRAILER


def test_name_clashes_get_suffixes_in_print_order(tmp_path: Path) -> None:
    btf = Btf(
        [
            INT,
            Struct(2, "foo", size=4, members=(Member("a", 1, 0),)),
            Struct(3, "foo", size=8, members=(Member("a", 1, 0), Member("b", 1, 32))),
            Typedef(4, "foo_t", type_id=2),
            Typedef(5, "foo_t", type_id=3),
            Enum(6, "E", values=(EnumValue("X", -1), EnumValue("foo_t", 2)), signed=True),
            Enum(7, "E", values=(EnumValue("X", 5), EnumValue("Y", 0xFFFFFFFE))),
        ]
    )
    check(
        btf,
        tmp_path,
        (
            "struct foo {\n\tint a;\n};\n\n"
            "struct foo___2 {\n\tint a;\n\tint b;\n};\n\n"
            "typedef struct foo foo_t;\n\n"
            "typedef struct foo___2 foo_t___2;\n\n"
            "enum E {\n\tX = -1,\n\tfoo_t___3 = 2,\n};\n\n"
            "enum E___2 {\n\tX___2 = 5,\n\tY = 4294967294,\n};\n\n"
        ),
    )


def test_enum64_values_and_anonymous_enums(tmp_path: Path) -> None:
    btf = Btf(
        [
            Enum64(1, "E64", values=(EnumValue("P", -5), EnumValue("Q", 1 << 40)), signed=True),
            Enum64(2, "E64b", values=(EnumValue("R", (1 << 64) - 1),)),
            Enum(3, "", size=1, values=(EnumValue("U1", 1),)),
            Enum(4, "fe"),
            Struct(5, "s", size=4, members=(Member("e", 6, 0),)),
            Enum(6, "", values=(EnumValue("INNER", 3),)),
        ]
    )
    check(
        btf,
        tmp_path,
        (
            "enum E64 {\n\tP = -5LL,\n\tQ = 1099511627776LL,\n};\n\n"
            "enum E64b {\n\tR = 18446744073709551615ULL,\n};\n\n"
            "enum {\n\tU1 = 1,\n};\n\n"
            "enum fe;\n\n"
            "struct s {\n\tenum {\n\t\tINNER = 3,\n\t} e;\n};\n\n"
        ),
    )


def test_pointer_cycle_gets_a_forward_declaration(tmp_path: Path) -> None:
    btf = Btf(
        [
            Struct(1, "a", size=8, members=(Member("b", 2, 0),)),
            Ptr(2, "", type_id=3),
            Struct(3, "b", size=16, members=(Member("a", 1, 0), Member("self", 4, 64))),
            Ptr(4, "", type_id=3),
        ]
    )
    check(
        btf,
        tmp_path,
        (
            "struct b;\n\n"
            "struct a {\n\tstruct b *b;\n};\n\n"
            "struct b {\n\tstruct a a;\n\tstruct b *self;\n};\n\n"
        ),
    )


def test_declarators(tmp_path: Path) -> None:
    btf = Btf(
        [
            INT,
            Ptr(2, "", type_id=1),
            Const(3, "", type_id=2),
            Array(4, "", type_id=3, index_type_id=1, nelems=2),
            Array(5, "", type_id=4, index_type_id=1, nelems=3),
            TypeTag(6, "user", type_id=1),
            Ptr(7, "", type_id=6),
            Fwd(8, "later", union=True),
            Ptr(9, "", type_id=8),
            Struct(
                10,
                "d",
                size=64,
                members=(Member("grid", 5, 0), Member("tagged", 7, 384), Member("u", 9, 448)),
            ),
        ]
    )
    check(
        btf,
        tmp_path,
        (
            "union later;\n\n"
            "struct d {\n"
            "\tint * const grid[3][2];\n"
            '\tint __attribute__((btf_type_tag("user"))) *tagged;\n'
            "\tunion later *u;\n"
            "};\n\n"
        ),
    )


def test_compiler_builtins(tmp_path: Path) -> None:
    btf = Btf(
        [
            Int(1, "__Poly8_t", size=1, bits=8),
            Typedef(2, "__gnuc_va_list", type_id=0),
            Typedef(3, "__builtin_va_list", type_id=5),
            Struct(
                4,
                "v",
                size=24,
                members=(Member("a", 6, 0), Member("b", 3, 64), Member("c", 1, 128)),
            ),
            Ptr(5, "", type_id=0),
            Ptr(6, "", type_id=2),
        ]
    )
    check(
        btf,
        tmp_path,
        (
            "typedef __builtin_va_list __gnuc_va_list;\n\n"
            "typedef unsigned char __Poly8_t;\n\n"
            "struct v {\n\t__gnuc_va_list *a;\n\t__builtin_va_list b;\n\t__Poly8_t c;\n};\n\n"
        ),
    )


def test_packed_and_padding(tmp_path: Path) -> None:
    char = Int(2, "char", size=1, encoding=Int.SIGNED, bits=8)
    long = Int(3, "long", size=8, encoding=Int.SIGNED, bits=64)
    btf = Btf(
        [
            INT,
            char,
            long,
            Struct(4, "pk", size=9, members=(Member("a", 2, 0), Member("b", 3, 8))),
            Struct(5, "gap", size=16, members=(Member("a", 2, 0), Member("b", 1, 64))),
            Union(6, "u", size=3, members=(Member("a", 2, 0),)),
        ]
    )
    check(
        btf,
        tmp_path,
        (
            "struct pk {\n\tchar a;\n\tlong b;\n} __attribute__((packed));\n\n"
            "struct gap {\n\tchar a;\n\tlong: 0;\n\tint b;\n\tlong: 0;\n};\n\n"
            "union u {\n\tchar a;\n};\n\n"
        ),
    )


@pytest.mark.parametrize(
    ("cur", "nxt", "align", "in_bitfield", "expected"),
    [
        (0, 0, 4, False, []),
        (32, 16, 4, False, []),
        (8, 32, 4, False, []),  # the compiler aligns the int by itself
        (8, 32, 1, False, [("int", 0)]),  # packed: mark the boundary
        (272, 288, 1, False, [("int", 0)]),  # packed: force the boundary
        (3, 8, 4, True, [("char", 5)]),
        (8, 96, 4, False, [("long", 0), ("int", 32)]),
        (36, 128, 8, False, [("long", 64)]),
        (36, 128, 8, True, [("long", 28), ("long", 64)]),
        (8, 64, 8, False, []),
        (0, 1024, 8, False, [("long", 64)] * 16),
        (5, 7, 1, False, [("char", 2)]),
    ],
)
def test_padding(
    cur: int, nxt: int, align: int, in_bitfield: bool, expected: list[tuple[str, int]]
) -> None:
    assert padding(cur, nxt, align, in_bitfield, 8) == expected


def test_layout_helpers() -> None:
    long4 = Int(2, "long int", size=4, encoding=Int.SIGNED, bits=32)
    types: list[Type] = [
        Int(0, "", size=0),
        INT,
        long4,
        Array(3, "", type_id=1, index_type_id=1, nelems=5),
    ]
    assert pointer_size(types) == 4
    assert resolve_size(types, 3, 8) == 20
    assert resolve_size(types, 0, 8) == -1
    assert align_of(types, 3, 8) == 4
    odd = Struct(4, "odd", size=6, members=(Member("a", 1, 0), Member("b", 1, 16)))
    assert is_packed([*types, odd], odd, 8)


def test_split_btf_prints_the_base_too(tmp_path: Path) -> None:
    base = parse_btf(
        encode_btf(
            Btf(
                [
                    INT,
                    Struct(2, "foo", size=4, members=(Member("a", 1, 0),)),
                    Ptr(3, "", type_id=2),
                ]
            )
        )
    )
    split = Btf(
        [
            Struct(4, "foo", size=12, members=(Member("a", 1, 0), Member("p", 3, 32))),
            Typedef(5, "foo_t", type_id=4),
        ],
        base=base,
    )
    expected = (
        "struct foo {\n\tint a;\n};\n\n"
        "struct foo___2 {\n\tint a;\n\tstruct foo *p;\n} __attribute__((packed));\n\n"
        "typedef struct foo___2 foo_t;\n\n"
    )
    assert body(split) == expected
    if BPFTOOL is not None:
        (tmp_path / "base").write_bytes(encode_btf(base))
        (tmp_path / "split").write_bytes(encode_btf(split))
        ref = subprocess.run(
            [
                BPFTOOL,
                "btf",
                "dump",
                "file",
                str(tmp_path / "split"),
                "-B",
                str(tmp_path / "base"),
                "format",
                "c",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        assert ref.stdout == HEADER + expected + TRAILER


def test_self_contained_struct_is_refused() -> None:
    btf = Btf([Struct(1, "loop", size=4, members=(Member("me", 1, 0),))])
    with pytest.raises(BtfError) as info:
        dump_c(btf)
    assert info.value.type_id == 1


def test_modifier_loop_is_refused() -> None:
    btf = Btf([Const(1, "", type_id=2), Const(2, "", type_id=1), Typedef(3, "t", type_id=1)])
    with pytest.raises(BtfError):
        dump_c(btf)


def test_dangling_reference_is_refused() -> None:
    btf = Btf([Ptr(1, "", type_id=7)])
    with pytest.raises(BtfError) as info:
        dump_c(btf)
    assert info.value.type_id == 1


# -- random tables ---------------------------------------------------------------------


def _small_layouts(btf: Btf) -> Btf:
    """``btf`` with struct sizes and offsets cut down, so that no padding runs
    to millions of lines (which bpftool would print too, slowly)."""
    types: list[Type] = []
    for t in btf.types:
        if isinstance(t, Struct | Union):
            members = tuple(replace(m, bit_offset=m.bit_offset % 4096) for m in t.members)
            t = replace(t, size=t.size % 512, members=members)
        types.append(t)
    return Btf(types)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(btf=btf_tables().map(_small_layouts))
def test_any_table_prints_or_raises_btf_error(btf: Btf) -> None:
    try:
        text = dump_c(btf)
    except BtfError:
        return
    assert text.startswith(HEADER) and text.endswith(TRAILER)


@needs_bpftool
@pytest.mark.tools
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(btf=c_tables())
def test_random_tables_match_bpftool(btf: Btf, tmp_path: Path) -> None:
    raw = encode_btf(btf)
    try:
        ref = bpftool_c(raw, tmp_path)
    except subprocess.TimeoutExpired:
        reject()  # bpftool loops on some degenerate tables; nothing to compare
    try:
        ours = dump_c(btf)
    except BtfError:
        assert ref.returncode != 0, "bpftool printed a table that dump_c refused"
        return
    assert ref.returncode == 0, f"bpftool refused a table that dump_c printed: {ref.stderr}"
    assert_same_text(ours, ref.stdout, "random table")
