"""``ebpy asm`` and ``ebpy disasm``: text to bytecode and back.

Thin commands over ``ebpy.isa.asm`` and ``ebpy.isa.disasm``; they read and
write files and choose output formats, nothing more.
"""

from __future__ import annotations

import sys

import click


@click.command("asm")
@click.argument("file")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write raw bytecode here.")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["hex", "raw", "c"]),
    default=None,
    help="Output format (default: raw with -o, hex on a terminal).",
)
def asm_cmd(file: str, output: str | None, fmt: str | None) -> None:
    """Assemble FILE (llvm/kernel or bpf_conformance syntax; - for stdin)."""
    from ebpy.cli.inputs import read_bytes
    from ebpy.errors import InputError
    from ebpy.isa.asm import assemble
    from ebpy.isa.encoding import encode

    try:
        text = read_bytes(file).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{file}: not a text file") from exc
    code = encode(assemble(text))
    fmt = fmt or ("raw" if output else "hex")
    if fmt == "raw":
        out = code
    elif fmt == "hex":
        out = "".join(code[i : i + 8].hex() + "\n" for i in range(0, len(code), 8)).encode()
    else:
        words = [code[i : i + 8] for i in range(0, len(code), 8)]
        out = "".join("    " + ", ".join(f"0x{b:02x}" for b in w) + ",\n" for w in words).encode()
    if output:
        with open(output, "wb") as fh:
            fh.write(out)
    else:
        sys.stdout.buffer.write(out)


@click.command("disasm")
@click.argument("file")
@click.option(
    "-s", "--section", help="ELF section to disassemble (default: every program section)."
)
@click.option(
    "--style",
    type=click.Choice(["llvm", "bpftool"]),
    default="llvm",
    show_default=True,
    help="llvm-objdump text or bpftool's xlated text.",
)
@click.option("--bytes/--no-bytes", "with_bytes", default=None, help="Show encoded bytes.")
@click.option(
    "-S", "--source", is_flag=True, help="ELF objects: source lines as llvm-objdump -S shows them."
)
def disasm_cmd(
    file: str, section: str | None, style: str, with_bytes: bool | None, source: bool
) -> None:
    """Disassemble FILE: an ELF object, raw bytecode, hex text, or assembly."""
    from ebpy.cli.inputs import load_program, read_bytes
    from ebpy.elf.reader import is_elf, read_code_sections
    from ebpy.isa.disasm import disassemble, objdump_text

    data = read_bytes(file) if file != "-" else None
    if data is not None and is_elf(data) and style == "llvm":
        sections = read_code_sections(data)
        if section is not None:
            sections = [s for s in sections if s.name == section]
            if not sections:
                from ebpy.errors import InputError

                raise InputError(f"no program section {section!r} in {file}")
        if source:
            from ebpy.cli.objdump import warn_about, write_text
            from ebpy.elf.views import disassembly, file_header

            names = {s.name for s in sections}
            code = disassembly(data, source=True, sections=names, warn=warn_about(file))
            write_text(file_header(data, file) + code)
            return
        # The whole llvm-objdump -d layout: a header line, then a block per section.
        click.echo(f"\n{file}:\tfile format elf64-bpf")
        for sec in sections:
            click.echo("\n" + objdump_text(sec.name, sec.symbols, sec.data), nl=False)
        return
    if source:
        raise click.UsageError("-S/--source needs an ELF object and the llvm style")
    loaded = load_program(file, section)
    text = disassemble(loaded.insns, style=style, with_bytes=bool(with_bytes))
    click.echo(text, nl=not text.endswith("\n"))
