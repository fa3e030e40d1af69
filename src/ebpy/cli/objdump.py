"""``ebpy objdump``: section headers, symbols, relocations and code of an ELF object.

The output is ``llvm-objdump``'s (LLVM 14) for the same options: ``-h``
section headers, ``-t`` symbol table, ``-r`` relocations (inline in the
disassembly when ``-d`` is given too), ``-d`` disassembly of the code
sections, ``-S`` disassembly with source lines: from DWARF and the source
files as llvm-objdump finds them (relative to the current directory), with
llvm's warnings on standard error; ``--btf-fallback`` fills the lines of
files that cannot be read from the BTF line info. The formatting lives in
``ebpy.elf.views``; this module reads options.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import click


def warn_about(file: str) -> Callable[[str], None]:
    """A ``warn`` for the views that prints llvm-objdump's warning line for ``file``."""

    def warn(message: str) -> None:
        click.echo(f"ebpy: warning: '{file}': {message}", err=True)

    return warn


def write_text(text: str) -> None:
    """Write ``text`` to standard output as it was read (source bytes kept)."""
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))
    sys.stdout.buffer.flush()


@click.command("objdump")
@click.option("-h", "--section-headers", "headers", is_flag=True, help="Section headers.")
@click.option("-t", "--syms", "symbols", is_flag=True, help="The symbol table.")
@click.option("-r", "--reloc", "relocs", is_flag=True, help="Relocation entries.")
@click.option("-d", "--disassemble", is_flag=True, help="Disassemble the code sections.")
@click.option("-S", "--source", is_flag=True, help="Disassemble with source lines (DWARF).")
@click.option(
    "--btf-fallback",
    is_flag=True,
    help="With -S: take lines of unreadable source files from BTF line info.",
)
@click.argument("file")
def objdump_cmd(
    file: str,
    headers: bool,
    symbols: bool,
    relocs: bool,
    disassemble: bool,
    source: bool,
    btf_fallback: bool,
) -> None:
    """Show what llvm-objdump shows for FILE, a BPF ELF object."""
    from ebpy.cli.inputs import read_bytes
    from ebpy.elf.views import objdump

    if not (headers or symbols or relocs or disassemble or source):
        raise click.UsageError("give at least one of -h, -t, -r, -d, -S")
    text = objdump(
        read_bytes(file),
        file,
        headers=headers,
        symbols=symbols,
        relocs=relocs,
        disassemble=disassemble,
        source=source,
        btf_fallback=btf_fallback,
        warn=warn_about(file),
    )
    write_text(text)
