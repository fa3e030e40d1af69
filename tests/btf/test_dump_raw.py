"""dump_raw against bpftool 7.1 (``bpftool btf dump file F``), line for line.

Oracles: the committed goldens of every object under tests/testdata (made by
``make -C tests/testdata btf``), bpftool itself when it is installed (on the
objects, on this kernel's vmlinux and module BTF, and on random type tables
written by the encoder), and a fixed table whose bpftool output is written
below.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from ebpy.btf.dump_raw import dump_raw, format_type
from ebpy.btf.encode import encode_btf
from ebpy.btf.parse import VMLINUX_PATH, load_module_btf, load_vmlinux, parse_btf
from ebpy.btf.types import (
    Btf,
    Datasec,
    Enum,
    Func,
    Int,
    Linkage,
    Struct,
    Var,
    VarSecinfo,
)
from ebpy.elf.btf_sections import load_object_btf
from tests.btf.strategies import btf_tables, split_tables
from tests.btf.test_parse import every_kind

TESTS = Path(__file__).resolve().parents[1]
TESTDATA = TESTS / "testdata"
GOLDEN = TESTS / "golden" / "btf"
OBJECTS = sorted(TESTDATA.glob("*/*.o"))
BPFTOOL = shutil.which("bpftool")
needs_bpftool = pytest.mark.skipif(BPFTOOL is None, reason="bpftool is not installed")
SYSFS = Path(VMLINUX_PATH).parent


def golden_path(obj: Path) -> Path:
    return GOLDEN / f"{obj.parent.name}__{obj.stem}.raw.txt"


def bpftool_dump(path: Path, base: Path | None = None) -> bytes:
    assert BPFTOOL is not None
    cmd = [BPFTOOL] + (["-B", str(base)] if base is not None else [])
    cmd += ["btf", "dump", "file", str(path)]
    return subprocess.run(cmd, check=True, capture_output=True).stdout


def ours(btf: Btf) -> bytes:
    return dump_raw(btf).encode("utf-8", "surrogateescape")


def object_btf(obj: Path) -> Btf | None:
    btf, _ = load_object_btf(obj.read_bytes())
    return btf


def assert_same_lines(got: bytes, want: bytes) -> None:
    """Equal, or fail on the first line that differs (not a 300k-line diff)."""
    if got == want:
        return
    g, w = got.split(b"\n"), want.split(b"\n")
    for n, (a, b) in enumerate(zip(g, w, strict=False), 1):
        assert a == b, f"line {n}"
    assert len(g) == len(w), "line count"


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_object_matches_golden(obj: Path) -> None:
    golden = golden_path(obj)
    if not golden.exists():
        if BPFTOOL is None:
            pytest.skip(f"no golden {golden.name} and no bpftool to make it")
        pytest.fail(f"no golden {golden.name}: run make -C tests/testdata btf")
    btf = object_btf(obj)
    want = golden.read_bytes()
    if btf is None:
        assert want == b"", "bpftool found BTF that we did not"
        return
    assert_same_lines(ours(btf), want)


@needs_bpftool
@pytest.mark.tools
@pytest.mark.parametrize("obj", OBJECTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_object_matches_bpftool_now(obj: Path) -> None:
    btf = object_btf(obj)
    if btf is None:
        pytest.skip("object without .BTF")
    assert_same_lines(ours(btf), bpftool_dump(obj))


def test_goldens_have_objects() -> None:
    """A golden whose object is gone is stale."""
    names = {golden_path(o).name for o in OBJECTS}
    stale = [g.name for g in GOLDEN.glob("*.raw.txt") if g.name not in names]
    assert not stale


# bpftool 7.1's output for tests.btf.test_parse.every_kind plus EXTRA (taken once from bpftool).
FIXED = """\
[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
[2] PTR '(anon)' type_id=1
[3] ARRAY '(anon)' type_id=1 index_type_id=1 nr_elems=16
[4] STRUCT 's' size=8 vlen=2
\t'a' type_id=1 bits_offset=0
\t'(anon)' type_id=2 bits_offset=32
[5] UNION 'u' size=4 vlen=1
\t'bf' type_id=1 bits_offset=5 bitfield_size=3
[6] ENUM 'e' encoding=UNSIGNED size=4 vlen=2
\t'A' val=4294967295
\t'B' val=7
[7] ENUM 'se' encoding=SIGNED size=4 vlen=1
\t'NEG' val=-5
[8] FWD 'f' fwd_kind=struct
[9] FWD 'fu' fwd_kind=union
[10] TYPEDEF 'td' type_id=1
[11] VOLATILE '(anon)' type_id=1
[12] CONST '(anon)' type_id=11
[13] RESTRICT '(anon)' type_id=2
[14] FUNC_PROTO '(anon)' ret_type_id=1 vlen=2
\t'x' type_id=1
\t'(anon)' type_id=0
[15] FUNC 'fn' type_id=14 linkage=global
[16] VAR 'v' type_id=1, linkage=static
[17] DATASEC '.data' size=4 vlen=1
\ttype_id=16 offset=0 size=4 (VAR 'v')
[18] FLOAT 'double' size=8
[19] DECL_TAG 'tag' type_id=4 component_idx=-1
[20] DECL_TAG 'ptag' type_id=15 component_idx=0
[21] TYPE_TAG 'user' type_id=1
[22] ENUM64 'e64' encoding=UNSIGNED size=8 vlen=1
\t'BIG' val=18446744071724322287ULL
[23] ENUM64 's64' encoding=SIGNED size=8 vlen=1
\t'M' val=-2LL
[24] DECL_TAG 'attr' type_id=1 component_idx=-1
[25] TYPE_TAG 'attr' type_id=1
[26] INT 'weird' size=4 bits_offset=0 nr_bits=32 encoding=UNKN
[27] INT 'ch' size=1 bits_offset=0 nr_bits=8 encoding=CHAR
[28] INT 'b' size=1 bits_offset=0 nr_bits=1 encoding=BOOL
[29] INT 'off' size=4 bits_offset=4 nr_bits=12 encoding=(none)
[30] FUNC 'ext' type_id=14 linkage=extern
[31] FUNC 'odd' type_id=14 linkage=(unknown)
[32] VAR 'ev' type_id=1, linkage=extern
[33] VAR 'gv' type_id=1, linkage=(unknown)
[34] DATASEC '.ksyms' size=0 vlen=3
\ttype_id=30 offset=0 size=0 (FUNC 'ext')
\ttype_id=0 offset=4 size=4 (UNKNOWN '(anon)')
\ttype_id=1 offset=8 size=4 (INT 'int')
[35] ENUM '(anon)' encoding=UNSIGNED size=4 vlen=0
[36] STRUCT '(anon)' size=0 vlen=0
"""

EXTRA = [
    Int(26, "weird", 4, Int.SIGNED | Int.CHAR, 0, 32),
    Int(27, "ch", 1, Int.CHAR, 0, 8),
    Int(28, "b", 1, Int.BOOL, 0, 1),
    Int(29, "off", 4, 0, 4, 12),
    Func(30, "ext", 14, Linkage.EXTERN),
    Func(31, "odd", 14, 7),
    Var(32, "ev", 1, Linkage.EXTERN),
    Var(33, "gv", 1, 9),
    Datasec(34, ".ksyms", 0, (VarSecinfo(30, 0, 0), VarSecinfo(0, 4, 4), VarSecinfo(1, 8, 4))),
    Enum(35, "", 4, (), False),
    Struct(36, "", 0, (), True),
]


def fixed_table() -> Btf:
    raw, _ = every_kind("<")
    return Btf(list(parse_btf(raw.data())) + EXTRA)


def test_fixed_table() -> None:
    assert dump_raw(fixed_table()) == FIXED


@needs_bpftool
@pytest.mark.tools
def test_fixed_table_with_bpftool(tmp_path: Path) -> None:
    path = tmp_path / "fixed.btf"
    path.write_bytes(encode_btf(fixed_table()))
    assert bpftool_dump(path).decode() == FIXED


def test_empty_table_prints_nothing() -> None:
    assert dump_raw(Btf([])) == ""


def test_format_type_one_type() -> None:
    btf = fixed_table()
    assert (
        format_type(btf[17], btf)
        == "[17] DATASEC '.data' size=4 vlen=1\n\ttype_id=16 offset=0 size=4 (VAR 'v')"
    )


def test_non_utf8_names_print_their_bytes() -> None:
    btf = Btf([Int(1, b"caf\xe9".decode("utf-8", "surrogateescape"), 1, 0, 0, 8)])
    assert ours(btf) == b"[1] INT 'caf\xe9' size=1 bits_offset=0 nr_bits=8 encoding=(none)\n"


@needs_bpftool
@pytest.mark.tools
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(btf=btf_tables())
def test_random_tables_with_bpftool(tmp_path: Path, btf: Btf) -> None:
    path = tmp_path / "random.btf"
    path.write_bytes(encode_btf(btf))
    assert ours(parse_btf(path.read_bytes())) == bpftool_dump(path)
    assert dump_raw(btf) == dump_raw(parse_btf(path.read_bytes()))


@needs_bpftool
@pytest.mark.tools
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(btf=split_tables())
def test_random_split_tables_with_bpftool(tmp_path: Path, btf: Btf) -> None:
    assert btf.base is not None
    base, split = tmp_path / "base.btf", tmp_path / "split.btf"
    base.write_bytes(encode_btf(btf.base))
    split.write_bytes(encode_btf(btf))
    parsed = parse_btf(split.read_bytes(), base=parse_btf(base.read_bytes()))
    assert ours(parsed) == bpftool_dump(split, base)


@needs_bpftool
@pytest.mark.tools
@pytest.mark.skipif(not Path(VMLINUX_PATH).exists(), reason="no /sys/kernel/btf/vmlinux here")
def test_vmlinux_with_bpftool() -> None:
    assert_same_lines(ours(load_vmlinux()), bpftool_dump(Path(VMLINUX_PATH)))


MODULES = sorted(p for p in SYSFS.iterdir() if p.name != "vmlinux")[:2] if SYSFS.is_dir() else []


@needs_bpftool
@pytest.mark.tools
def test_module_btf_with_bpftool() -> None:
    if not MODULES:
        pytest.skip("no module BTF in /sys/kernel/btf on this kernel")
    for mod in MODULES:
        want = bpftool_dump(mod, Path(VMLINUX_PATH))
        assert_same_lines(ours(load_module_btf(mod.name)), want)
