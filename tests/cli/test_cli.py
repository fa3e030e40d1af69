"""The ``ebpy`` command line: asm, disasm, run, conformance-plugin, and error handling."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from ebpy.cli.main import EXIT_FAILED, EXIT_USAGE, cli, main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sum_bytes.s"


def invoke(*args: str, input: str | bytes | None = None) -> tuple[int, str, str]:
    """Run the CLI the way the console script does (errors -> one line + exit code)."""
    runner = CliRunner()
    result: Result = runner.invoke(_main_wrapper, list(args), input=input)
    assert "Traceback" not in result.stdout + result.stderr
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@click.command(
    context_settings={
        "ignore_unknown_options": True,
        "allow_extra_args": True,
        "help_option_names": [],
    }
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def _main_wrapper(args: tuple[str, ...]) -> None:
    """Calls ``main`` as the console script does, inside CliRunner's captured streams."""
    main(list(args))


def test_help_lists_commands() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    for name in ("asm", "disasm", "run", "conformance-plugin"):
        assert name in out


def test_run_example(tmp_path: Path) -> None:
    code, out, _ = invoke("run", str(EXAMPLE), "--mem", "01 02 03 04")
    assert code == 0
    assert "0xa" in out
    code, out, _ = invoke("run", str(EXAMPLE), "--mem", "0102", "--json")
    doc = json.loads(out)
    assert doc["r0"] == 3
    assert doc["insns"] > 0


def test_asm_then_disasm_round_trip(tmp_path: Path) -> None:
    out_file = tmp_path / "p.bin"
    code, _, _ = invoke("asm", str(EXAMPLE), "-o", str(out_file))
    assert code == 0
    assert len(out_file.read_bytes()) % 8 == 0
    code, text, _ = invoke("disasm", str(out_file))
    assert code == 0
    src = tmp_path / "again.s"
    src.write_text(text)
    again = tmp_path / "again.bin"
    invoke("asm", str(src), "-o", str(again))
    assert again.read_bytes() == out_file.read_bytes()
    code, hex_text, _ = invoke("asm", str(EXAMPLE))
    hex_file = tmp_path / "p.hex"
    hex_file.write_text(hex_text)
    code, out, _ = invoke("run", str(hex_file), "--mem", "05")
    assert code == 0 and "0x5" in out


def test_disasm_bpftool_style(tmp_path: Path) -> None:
    code, out, _ = invoke("disasm", "--style", "bpftool", str(EXAMPLE))
    assert code == 0
    assert out.splitlines()[0].strip().startswith("0: (b7) r0 = 0")


@pytest.mark.parametrize(
    ("args", "stdin", "expected"),
    [
        (["run", "/nonexistent/prog.s"], None, EXIT_USAGE),
        (["run", "-", "--mem", "zz"], "exit\n", EXIT_USAGE),
        (["run", "-"], "r0 = \n", EXIT_USAGE),
        (["run", "-"], "r0 = 1\nr0 = *(u64 *)(r0 + 0)\nexit\n", EXIT_FAILED),
        (["run", "-"], "l: goto l\n", EXIT_FAILED),
        (["asm", "-"], "mov %r0, %r50\nexit\n", EXIT_USAGE),
        (["disasm", "-"], "\x7fELF garbage", EXIT_USAGE),
        (["run", "-", "--section", "xdp"], "exit\n", EXIT_USAGE),
    ],
)
def test_errors_are_one_line_with_exit_code(
    args: list[str], stdin: str | None, expected: int
) -> None:
    code, _out, err = invoke(*args, input=stdin)
    assert code == expected
    assert err.startswith("ebpy: error: ")
    assert len(err.strip().splitlines()) == 1


def test_run_budget_option() -> None:
    code, _, err = invoke("run", "-", "--budget", "100", input="l: goto l\n")
    assert code == EXIT_FAILED
    assert "budget" in err


def test_conformance_plugin_contract() -> None:
    runner = CliRunner()
    prog = "b7  00  00  00  2a  00  00  00  95  00  00  00  00  00  00  00"
    res = runner.invoke(cli, ["conformance-plugin"], input=prog + "\n")
    assert res.exit_code == 0 and res.stdout.strip() == "2a"
    # memory first, runner options after it
    prog = "61 10 00 00 00 00 00 00 95 00 00 00 00 00 00 00"  # r0 = *(u32 *)(r1 + 0)
    res = runner.invoke(cli, ["conformance-plugin", "01  02  03  04", "--elf"], input=prog)
    assert res.exit_code == 0 and int(res.stdout, 16) == 0x04030201
    res = runner.invoke(cli, ["conformance-plugin"], input="95 01 00 00 00 00 00 00\n")
    assert res.exit_code == 1 and res.stdout.startswith("error:")
    res = runner.invoke(cli, ["conformance-plugin"], input="\n")
    assert res.exit_code == 1


def test_console_script_starts_light() -> None:
    """The entry module imports neither the VM nor the assembler."""
    code = (
        "import sys, ebpy.cli.main; "
        "print(any(m.startswith(('ebpy.vm', 'ebpy.isa.asm', 'ebpy.kernel')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
