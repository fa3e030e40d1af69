"""``ebpy btf dump``: objects, raw BTF files, split BTF, the format registry, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ebpy.btf.encode import encode_btf
from ebpy.btf.parse import VMLINUX_PATH, parse_btf
from ebpy.btf.types import Btf, Int, Ptr, Typedef
from ebpy.cli import btf as btf_cli
from ebpy.cli.main import EXIT_USAGE
from tests.cli.test_cli import invoke

TESTS = Path(__file__).resolve().parents[1]
KINDS = TESTS / "testdata" / "btf" / "kinds.o"
GOLDEN = TESTS / "golden" / "btf" / "btf__kinds.raw.txt"


def test_dump_object_matches_the_golden() -> None:
    code, out, _ = invoke("btf", "dump", str(KINDS))
    assert code == 0 and out == GOLDEN.read_text()
    code, out2, _ = invoke("btf", "dump", str(KINDS), "--format", "raw")
    assert code == 0 and out2 == out


def test_dump_raw_file_and_split(tmp_path: Path) -> None:
    base = Btf([Int(1, "int", 4, Int.SIGNED, 0, 32)])
    base_path = tmp_path / "base.btf"
    base_path.write_bytes(encode_btf(base))
    split = Btf([Typedef(2, "myint", 1), Ptr(3, "", 2)], base=parse_btf(base_path.read_bytes()))
    split_path = tmp_path / "split.btf"
    split_path.write_bytes(encode_btf(split))
    code, out, _ = invoke("btf", "dump", str(base_path))
    assert (code, out) == (0, "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n")
    code, out, _ = invoke("btf", "dump", str(split_path), "-B", str(base_path))
    assert (code, out) == (0, "[2] TYPEDEF 'myint' type_id=1\n[3] PTR '(anon)' type_id=2\n")
    code, _, err = invoke("btf", "dump", str(split_path))  # no base: its strings are missing
    assert code == EXIT_USAGE and err.count("\n") == 1


@pytest.mark.parametrize(
    "content",
    [b"", b"hello", b"\x9f\xeb\x01\x00" + bytes(4), b"\x7fELF" + bytes(60)],
    ids=["empty", "text", "short btf", "broken elf"],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad"
    path.write_bytes(content)
    code, out, err = invoke("btf", "dump", str(path))
    assert code == EXIT_USAGE and out == ""
    assert err.startswith("ebpy: error: ") and err.count("\n") == 1


def test_object_without_btf(tmp_path: Path) -> None:
    data = KINDS.read_bytes().replace(b".BTF.ext\0", b".XYZ.ext\0").replace(b".BTF\0", b".XYZ\0")
    path = tmp_path / "nobtf.o"
    path.write_bytes(data)
    code, _, err = invoke("btf", "dump", str(path))
    assert code == EXIT_USAGE and "no .BTF" in err


def test_missing_file() -> None:
    code, _, err = invoke("btf", "dump", "/nonexistent/x.o")
    assert code == EXIT_USAGE and err.count("\n") == 1


def test_unknown_format() -> None:
    code, _, _ = invoke("btf", "dump", str(KINDS), "--format", "nope")
    assert code == EXIT_USAGE


def test_formats_are_a_registry() -> None:
    assert btf_cli.FORMATS["raw"].__name__ == "dump_raw"
    # Every registered format is offered by --format.
    option = next(p for p in btf_cli.dump_cmd.params if p.name == "fmt")
    assert sorted(option.type.choices) == sorted(btf_cli.FORMATS)  # type: ignore[attr-defined]


@pytest.mark.skipif(not Path(VMLINUX_PATH).exists(), reason="no /sys/kernel/btf/vmlinux here")
def test_dump_vmlinux_by_name_and_path() -> None:
    code, out, _ = invoke("btf", "dump", "vmlinux")
    assert code == 0 and out.startswith("[1] ")
    code, out2, _ = invoke("btf", "dump", VMLINUX_PATH)
    assert code == 0 and out2 == out
