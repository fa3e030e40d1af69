"""``ebpy conformance-plugin``: the bpf_conformance plugin contract.

The suite's runner starts one plugin process per test: the program arrives on
standard input as one line of hex (8-byte little-endian instructions, bytes
possibly separated by spaces), the input memory as the first argument when
the test has one, the runner's own options after it. The plugin prints r0 in
hex and exits 0, or prints an error line and exits 1. Helper 5 is the suite's
"unwind" (``ebpy.helpers.conformance``). Errors go to standard output, where
the runner reads them, and are repeated on standard error.
"""

from __future__ import annotations

import sys

import click


@click.command(
    "conformance-plugin",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def plugin_cmd(args: tuple[str, ...]) -> None:
    """[MEM_HEX] [OPTIONS...]: run the program read from stdin, print r0 in hex."""
    from ebpy.errors import BpfError

    mem_hex = args[0] if args and not args[0].startswith("-") else None
    try:
        r0 = run_plugin(sys.stdin.read(), mem_hex)
    except BpfError as exc:
        click.echo(f"error: {exc}")
        click.echo(f"ebpy: error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"{r0:x}")


def run_plugin(program_hex: str, mem_hex: str | None) -> int:
    """Decode, validate and run one conformance program; returns r0."""
    from ebpy.cli.inputs import parse_hex
    from ebpy.errors import InputError
    from ebpy.helpers.conformance import CONFORMANCE_HELPERS
    from ebpy.isa.encoding import decode
    from ebpy.vm import Vm

    code = parse_hex(program_hex, "program")
    if not code:
        raise InputError("empty program")
    mem = parse_hex(mem_hex, "memory") if mem_hex else b""
    insns = decode(code)
    return Vm(insns, helpers=CONFORMANCE_HELPERS).run(mem)
