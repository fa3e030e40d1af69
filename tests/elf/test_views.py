"""The objdump views against llvm-objdump 14's output, committed as goldens.

``-h -t -r``: tests/golden/objdump/<name>.htr.txt (bpf corpus) and
tests/golden/elf/<dir>__<name>.htr.txt (the other objects), byte for byte.
``-d``: tests/golden/objdump/<name>.d.txt and tests/golden/disasm/<name>.txt;
``-d -r``: tests/golden/elf/<dir>__<name>.dr.txt. ``-S``: tests/golden/objdump/
<name>.S.txt (made inside bpf/) and tests/golden/elf/<dir>__<name>.S.txt (made
in tests/testdata), byte for byte from the directory they were made in, without
source lines from any other, and against a fresh llvm-objdump run from both
when it is installed. Objects without DWARF take source lines from BTF.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from ebpy.cli.main import cli
from ebpy.elf.views import disassembly, objdump, relocations, section_headers, symbol_table
from ebpy.errors import ElfError
from tests.elf.corpus import GOLDEN, LITTLE_OBJECTS, OBJECTS, TESTDATA, ident


def _golden(path: Path, kind: str) -> Path:
    if path.parent.name == "bpf":
        return GOLDEN / "objdump" / f"{path.stem}.{kind}.txt"
    if kind == "d" and path.parent.name == "disasm":
        return GOLDEN / "disasm" / f"{path.stem}.txt"
    return GOLDEN / "elf" / f"{path.parent.name}__{path.stem}.{kind}.txt"


def _with_golden(kind: str, objects: list[Path]) -> list[Path]:
    return [p for p in objects if _golden(p, kind).exists()]


# Where ebpy.isa's disassembler and llvm-objdump 14's differ (not the views'):
# llvm 14 prints a 32-bit atomic fetch-add as a plain add, and the isa
# disassembler does not copy that quirk; llvm decodes callx (0x8d), the isa
# disassembler prints <unknown>.
DISASM_QUIRKS = {
    "disasm/atomics": "llvm-objdump's atomic fetch quirk (isa disassembler)",
}


@pytest.mark.parametrize("path", _with_golden("htr", OBJECTS), ids=ident)
def test_headers_symbols_relocations(path: Path) -> None:
    want = _golden(path, "htr").read_text()
    got = objdump(path.read_bytes(), path.name, headers=True, symbols=True, relocs=True)
    assert got == want


@pytest.mark.parametrize("path", _with_golden("htr", OBJECTS)[:3], ids=ident)
def test_each_view_is_a_block_of_the_whole(path: Path) -> None:
    data = path.read_bytes()
    want = _golden(path, "htr").read_text()
    for block in (section_headers(data), symbol_table(data), relocations(data)):
        assert block in want


@pytest.mark.parametrize("path", _with_golden("d", LITTLE_OBJECTS), ids=ident)
def test_disassembly(path: Path) -> None:
    if ident(path) in DISASM_QUIRKS:
        pytest.xfail(DISASM_QUIRKS[ident(path)])
    assert objdump(path.read_bytes(), path.name, disassemble=True) == _golden(path, "d").read_text()


@pytest.mark.parametrize("path", _with_golden("dr", LITTLE_OBJECTS), ids=ident)
def test_disassembly_with_relocations(path: Path) -> None:
    if ident(path) in DISASM_QUIRKS:
        pytest.xfail(DISASM_QUIRKS[ident(path)])
    got = objdump(path.read_bytes(), path.name, disassemble=True, relocs=True)
    assert got == _golden(path, "dr").read_text()


S_OBJECTS = _with_golden("S", LITTLE_OBJECTS)
_INSN = re.compile(r"^ *(\d+):\t")


def _made_from(path: Path) -> tuple[Path, str]:
    """The directory llvm-objdump -S ran in for the golden, and the file name it got.

    bpf/ goldens (bpf.mk) ran inside bpf/ on the bare name; the others
    (mk/objdump_source.mk) in tests/testdata on <dir>/<name>.o.
    """
    if path.parent.name == "bpf":
        return path.parent, path.name
    return TESTDATA, f"{path.parent.name}/{path.name}"


def _comments(text: str) -> list[tuple[int, str]]:
    return [(i, line) for i, line in enumerate(text.splitlines()) if line.startswith("; ")]


def _assert_same(path: Path, got: str, want: str) -> None:
    """got == want; for DISASM_QUIRKS the source lines and their places, then xfail."""
    assert _comments(got) == _comments(want)
    assert len(got.splitlines()) == len(want.splitlines())
    if ident(path) in DISASM_QUIRKS:
        pytest.xfail(DISASM_QUIRKS[ident(path)])
    assert got == want


@pytest.mark.parametrize("path", S_OBJECTS, ids=ident)
def test_source_lines(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cwd, name = _made_from(path)
    monkeypatch.chdir(cwd)
    warnings: list[str] = []
    got = objdump(path.read_bytes(), name, source=True, warn=warnings.append)
    want = _golden(path, "S").read_text()
    assert warnings == []
    _assert_same(path, got, want)


@pytest.mark.parametrize("path", S_OBJECTS, ids=ident)
def test_source_lines_without_the_sources(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the source files are not found llvm-objdump prints none of their lines.

    None of the test objects has lines in files with absolute paths, so from
    an empty directory the output is the golden without its source lines,
    and each file is warned about once.
    """
    _, name = _made_from(path)
    monkeypatch.chdir(tmp_path)
    warnings: list[str] = []
    got = objdump(path.read_bytes(), name, source=True, warn=warnings.append)
    want = _golden(path, "S").read_text()
    assert warnings
    assert len(set(warnings)) == len(warnings)
    assert all(w.startswith("failed to find source ./") for w in warnings)
    code = "".join(x for x in want.splitlines(keepends=True) if not x.startswith("; "))
    _assert_same(path, got, code)


@pytest.mark.parametrize("path", S_OBJECTS[::4], ids=ident)
def test_btf_fallback_gives_the_lines_btf_records(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the sources, --btf-fallback prints llvm's lines that BTF holds, in place."""
    _, name = _made_from(path)
    monkeypatch.chdir(tmp_path)
    got = objdump(path.read_bytes(), name, source=True, btf_fallback=True).splitlines()
    want = _golden(path, "S").read_text().splitlines()
    assert [x for x in got if not x.startswith("; ")] == [x for x in want if not x.startswith("; ")]
    it = iter(want)
    assert all(line in it for line in got)  # got is want less some source lines
    if any(line.startswith("; \t") for line in want):
        assert any(line.startswith("; \t") for line in got)


def _hide_dwarf(data: bytes) -> bytes:
    """The object with its DWARF sections renamed out of sight (same lengths)."""
    for name in (b".debug_info", b".debug_line"):
        data = data.replace(name + b"\0", b".nodbg" + name[6:] + b"\0")
    return data


@pytest.mark.parametrize("name", ["bpf2bpf", "tail_calls", "core_reads"])
def test_source_lines_come_from_btf_without_dwarf(name: str) -> None:
    """Each source line is the BTF line text recorded for the instruction after it."""
    from ebpy.elf.image import read_image
    from ebpy.elf.source_lines import btf_line_records

    path = TESTDATA / "bpf" / f"{name}.o"
    data = _hide_dwarf(path.read_bytes())
    image = read_image(data)
    assert image.section_named(".debug_line") is None
    text = disassembly(data, source=True)
    assert disassembly(path.read_bytes()) == "".join(
        line for line in text.splitlines(keepends=True) if not line.startswith("; ")
    )
    records = btf_line_records(image)
    section, shown = "", 0
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Disassembly of section "):
            section = line[len("Disassembly of section ") : -1]
        elif line.startswith("; "):
            m = _INSN.match(lines[i + 1])
            assert m is not None
            offset = int(m.group(1)) * 8
            texts = {r.text for r in records[section] if r.insn_off == offset}
            assert line[2:] in texts
            shown += 1
    assert shown


@pytest.mark.skipif(shutil.which("llvm-objdump") is None, reason="llvm-objdump is not installed")
@pytest.mark.parametrize("where", ["made", "elsewhere"])
@pytest.mark.parametrize("path", S_OBJECTS, ids=ident)
def test_source_lines_as_llvm_objdump_prints_them_now(
    path: Path, where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh llvm-objdump -S run: the same output and the same warnings."""
    cwd, name = _made_from(path) if where == "made" else (tmp_path, str(path))
    run = subprocess.run(["llvm-objdump", "-S", name], cwd=cwd, capture_output=True, check=True)
    monkeypatch.chdir(cwd)
    warnings: list[str] = []
    got = objdump(path.read_bytes(), name, source=True, warn=warnings.append)
    prefix = f"llvm-objdump: warning: '{name}': "
    theirs = run.stderr.decode().splitlines()
    assert [prefix + w for w in warnings] == theirs
    _assert_same(path, got, run.stdout.decode())
    assert got.encode() == run.stdout


def test_big_endian_code_is_refused() -> None:
    path = TESTDATA / "btf" / "kinds_eb.o"
    if not path.exists():
        pytest.skip("no big-endian test object")
    with pytest.raises(ElfError):
        disassembly(path.read_bytes())


@pytest.mark.parametrize(
    ("flags", "kind"), [(["-h", "-t", "-r"], "htr"), (["-d"], "d"), (["-S"], "S")]
)
def test_cli(flags: list[str], kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = TESTDATA / "bpf" / "multi_prog.o"
    monkeypatch.chdir(path.parent)
    result = CliRunner().invoke(cli, ["objdump", *flags, path.name])
    assert result.exit_code == 0, result.output
    assert result.output == _golden(path, kind).read_text()


@pytest.mark.parametrize("name", ["bpf2bpf", "dns_filter"])
def test_cli_disasm_source(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = TESTDATA / "bpf" / f"{name}.o"
    monkeypatch.chdir(path.parent)
    result = CliRunner().invoke(cli, ["disasm", "-S", path.name])
    assert result.exit_code == 0, result.output
    assert result.output == _golden(path, "S").read_text()


def test_cli_disasm_source_of_one_section(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the section asked for; its first source line is shown as in the whole."""
    path = TESTDATA / "bpf" / "bpf2bpf.o"
    monkeypatch.chdir(path.parent)
    result = CliRunner().invoke(cli, ["disasm", "-S", "-s", "xdp", path.name])
    assert result.exit_code == 0, result.output
    whole = _golden(path, "S").read_text()
    xdp = whole[
        whole.index("\nDisassembly of section xdp:") : whole.index("\nDisassembly of section tc:")
    ]
    assert result.output == f"\n{path.name}:\tfile format elf64-bpf\n" + xdp


def test_cli_disasm_source_needs_an_object(tmp_path: Path) -> None:
    text = tmp_path / "p.s"
    text.write_text("r0 = 0\nexit\n")
    assert CliRunner().invoke(cli, ["disasm", "-S", str(text)]).exit_code == 2


def test_cli_source_warnings_and_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = TESTDATA / "bpf" / "multi_prog.o"
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["objdump", "-S", str(path)])
    assert result.exit_code == 0
    assert f"warning: '{path}': failed to find source ././multi_prog.c" in result.stderr
    assert "\n; " not in result.stdout
    fallback = CliRunner().invoke(cli, ["objdump", "-S", "--btf-fallback", str(path)])
    assert fallback.exit_code == 0
    assert "\n; " in fallback.stdout


def test_cli_needs_an_option() -> None:
    result = CliRunner().invoke(cli, ["objdump", str(TESTDATA / "bpf" / "multi_prog.o")])
    assert result.exit_code == 2


def test_cli_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.o"
    bad.write_bytes(b"\x7fELF" + b"\0" * 10)
    from ebpy.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["objdump", "-h", str(bad)])
    assert exc.value.code == 2
