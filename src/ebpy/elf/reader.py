"""Read the executable sections of a BPF ELF object, with their function symbols.

Built on pyelftools. Every malformed input becomes an ``ElfError`` naming the
file; pyelftools' own exceptions never leak. This is not yet the full loader:
no maps, relocations, BTF or program-type rules.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from ebpy.errors import ElfError

EM_BPF = 247
_SKIPPED_SYMBOLS = frozenset({"STT_SECTION", "STT_FILE"})
_SYMBOL_ORDER = {"STT_NOTYPE": 0, "STT_OBJECT": 1, "STT_FUNC": 2}
SHF_EXECINSTR = 0x4


@dataclass(frozen=True)
class CodeSection:
    """An executable section: its name, bytes and symbols (byte offset -> name).

    ``symbols`` holds functions and local labels (clang's ``LBB`` ones); where
    several share an offset, the one llvm-objdump shows.
    """

    name: str
    index: int
    data: bytes
    symbols: dict[int, str]


def is_elf(data: bytes) -> bool:
    """True when ``data`` starts with the ELF magic."""
    return data[:4] == b"\x7fELF"


def read_code_sections(data: bytes) -> list[CodeSection]:
    """The non-empty executable sections of a BPF object, in file order."""
    try:
        from elftools.elf.elffile import ELFFile
        from elftools.elf.sections import SymbolTableSection
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ElfError("pyelftools is not installed") from exc
    try:
        elf = ELFFile(io.BytesIO(data))
        if elf["e_machine"] not in ("EM_BPF", EM_BPF):
            raise ElfError(f"not a BPF object (machine {elf['e_machine']})")
        found: dict[int, list[tuple[int, int, str]]] = {}
        symtab = elf.get_section_by_name(".symtab")
        if isinstance(symtab, SymbolTableSection):
            for sym in symtab.iter_symbols():
                shndx, kind = sym["st_shndx"], sym["st_info"]["type"]
                if isinstance(shndx, int) and sym.name and kind not in _SKIPPED_SYMBOLS:
                    order = _SYMBOL_ORDER.get(kind, len(_SYMBOL_ORDER))
                    found.setdefault(shndx, []).append((sym["st_value"], order, sym.name))
        # Where several symbols share an offset, keep the one llvm-objdump shows: the
        # last in (offset, type, name) order.
        funcs = {i: {addr: name for addr, _, name in sorted(v)} for i, v in found.items()}
        out = []
        for index, sec in enumerate(elf.iter_sections()):
            if (
                sec["sh_flags"] & SHF_EXECINSTR
                and sec["sh_size"]
                and sec["sh_type"] == "SHT_PROGBITS"
            ):
                data = sec.data()
                syms = {o: n for o, n in funcs.get(index, {}).items() if o < len(data)}
                out.append(CodeSection(sec.name, index, data, syms))
        return out
    except ElfError:
        raise
    except Exception as exc:  # pyelftools raises many kinds on malformed input
        raise ElfError(f"malformed ELF object: {type(exc).__name__}: {exc}") from exc
