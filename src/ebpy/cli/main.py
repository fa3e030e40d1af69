"""The ``ebpy`` command: entry point, subcommand table and error handling.

Subcommands live in their own modules and are imported only when run, so
``ebpy --help`` stays quick. Every ``BpfError`` becomes one line on standard
error and an exit code (1: the program failed or was rejected; 2: bad usage
or bad input); a traceback in front of a user is a bug. This module holds no
command logic.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

EXIT_FAILED = 1
EXIT_USAGE = 2

_COMMANDS = {
    "asm": ("ebpy.cli.asm", "asm_cmd", "Assemble a program into bytecode."),
    "disasm": ("ebpy.cli.asm", "disasm_cmd", "Disassemble bytecode, hex, or an ELF section."),
    "run": ("ebpy.cli.run", "run_cmd", "Run a program on the userspace VM."),
    "objdump": (
        "ebpy.cli.objdump",
        "objdump_cmd",
        "Show an object's sections, symbols, relocations, code.",
    ),
    "btf": ("ebpy.cli.btf", "btf_cmd", "Inspect BTF: dump the types of an object or the kernel."),
    "filter": ("ebpy.cli.filter", "filter_cmd", "tcpdump-like: compile and apply pcap filters."),
    "conformance-plugin": (
        "ebpy.cli.conformance",
        "plugin_cmd",
        "The bpf_conformance plugin: program as hex on stdin, r0 out.",
    ),
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when it runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = _COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module, attr, _ = spec
        cmd = getattr(importlib.import_module(module), attr)
        assert isinstance(cmd, click.Command)
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.version_option(package_name="ebpy")
def cli() -> None:
    """ebpy: the eBPF system in Python."""


def fail(message: str, code: int) -> None:
    """Print one error line and exit."""
    click.echo(f"ebpy: error: {message}", err=True)
    sys.exit(code)


def exit_code_for(exc: BaseException) -> int:
    from ebpy.errors import InputError, LinkError

    return EXIT_USAGE if isinstance(exc, InputError | LinkError) else EXIT_FAILED


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; errors from ebpy become one line and an exit code."""
    from ebpy.errors import BpfError

    try:
        return cli.main(args=argv, prog_name="ebpy", standalone_mode=True)
    except BpfError as exc:
        fail(str(exc), exit_code_for(exc))
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except BrokenPipeError:
        sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
