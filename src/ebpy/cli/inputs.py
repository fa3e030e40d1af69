"""Turn what a user names on the command line into a program.

A FILE may be assembly text, hex text (an 8-byte instruction is 16 hex
digits; spaces, newlines and a ``0x`` prefix are allowed), raw bytecode, or a
BPF ELF object: ``read_object`` loads it whole (``ebpy.elf``: programs, maps,
relocations) for ``ebpy run``; ``load_program`` gives one section's raw code
(chosen with ``--section``) for ``ebpy disasm``. ``-`` reads standard input. Hex arguments such as ``--mem`` accept the conformance suite's spaced
form too. This module reads input; it does not run or print programs.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ebpy.errors import InputError
from ebpy.isa.instruction import Instruction

if TYPE_CHECKING:
    from ebpy.spec import ObjectSpec

_HEX_TEXT = re.compile(rb"^(?:\s*(?:0x)?[0-9a-fA-F]{2})+\s*$")


@dataclass(frozen=True)
class LoadedInput:
    """A program read from the command line, with where it came from."""

    insns: list[Instruction]
    kind: str
    section: str | None = None
    symbols: dict[int, str] | None = None


def parse_hex(text: str, what: str = "hex") -> bytes:
    """Bytes from hex text: ``"b7 00 ..."``, ``"b700..."``, ``"0xb7 0x00"``.

    >>> parse_hex("b7  00  2a")
    b'\\xb7\\x00*'
    """
    cleaned = re.sub(r"0[xX]", "", text)
    cleaned = "".join(cleaned.split())
    if len(cleaned) % 2 or not re.fullmatch(r"[0-9a-fA-F]*", cleaned):
        raise InputError(f"{what}: not a sequence of hex bytes")
    return bytes.fromhex(cleaned)


def read_bytes(path: str) -> bytes:
    """The content of ``path`` (``-`` for standard input)."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from exc


def load_program(path: str, section: str | None = None) -> LoadedInput:
    """Read a program from a file of any supported kind (an ELF section's raw code)."""
    return program_from_bytes(read_bytes(path), path, section)


def read_object(data: bytes, path: str) -> ObjectSpec | None:
    """The ``ObjectSpec`` of ``data`` when it is a BPF ELF object (``ebpy.elf``), else None."""
    from ebpy.elf.loader import load_object
    from ebpy.elf.reader import is_elf

    return load_object(data, path) if is_elf(data) else None


def program_from_bytes(data: bytes, path: str, section: str | None = None) -> LoadedInput:
    """A program from the bytes of a file: assembly, hex, raw bytecode or an ELF section."""
    from ebpy.elf.reader import is_elf
    from ebpy.isa.encoding import decode

    if is_elf(data):
        return _from_elf(data, section)
    if section is not None:
        raise InputError(f"{path}: --section needs an ELF object")
    if _HEX_TEXT.match(data) and len(re.sub(rb"0x|\s", b"", data)) % 16 == 0:
        return LoadedInput(decode(parse_hex(data.decode("ascii"))), "hex")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return LoadedInput(decode(data), "raw")
    if "\0" in text:
        return LoadedInput(decode(data), "raw")
    from ebpy.isa.asm import assemble

    return LoadedInput(assemble(text), "asm")


def _from_elf(data: bytes, section: str | None) -> LoadedInput:
    from ebpy.elf.reader import read_code_sections
    from ebpy.isa.encoding import decode

    sections = read_code_sections(data)
    if not sections:
        raise InputError("the object has no program sections")
    if section is None:
        chosen = next((s for s in sections if s.name != ".text"), sections[0])
    else:
        found = [s for s in sections if s.name == section]
        if not found:
            names = ", ".join(s.name for s in sections)
            raise InputError(f"no section {section!r} (sections: {names})")
        chosen = found[0]
    return LoadedInput(decode(chosen.data), "elf", chosen.name, chosen.symbols)
