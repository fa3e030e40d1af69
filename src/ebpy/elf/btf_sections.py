"""Find the ``.BTF`` and ``.BTF.ext`` sections of an ELF object and parse them.

Built on pyelftools. A malformed ELF file raises ``ElfError`` (pyelftools'
own exceptions never leak); malformed BTF inside a well-formed file raises
``BtfError`` from ``ebpy.btf``. Any ELF machine is accepted (a vmlinux image
carries ``.BTF`` too), so this module does not check that the object is BPF.
It does not load programs, maps or relocations: the ELF loader calls it.
"""

from __future__ import annotations

import io

from ebpy.btf.ext import BtfExt, parse_btf_ext
from ebpy.btf.parse import parse_btf
from ebpy.btf.types import Btf
from ebpy.errors import ElfError

__all__ = ["load_object_btf", "read_btf_sections"]

_BTF = ".BTF"
_BTF_EXT = ".BTF.ext"


def read_btf_sections(elf_bytes: bytes) -> tuple[bytes | None, bytes | None]:
    """The raw ``.BTF`` and ``.BTF.ext`` of an object (``None`` for a missing one)."""
    try:
        from elftools.elf.elffile import ELFFile
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ElfError("pyelftools is not installed") from exc
    if elf_bytes[:4] != b"\x7fELF":
        raise ElfError("not an ELF file (bad magic)", offset=0)
    found: dict[str, bytes] = {}
    current = ""
    try:
        elf = ELFFile(io.BytesIO(elf_bytes))
        for sec in elf.iter_sections():
            current = sec.name
            if current not in (_BTF, _BTF_EXT) or current in found:
                continue
            if sec["sh_type"] == "SHT_NOBITS":
                raise ElfError("BTF section has no data (SHT_NOBITS)", section=current)
            end = sec["sh_offset"] + sec["sh_size"]
            if sec["sh_offset"] > len(elf_bytes) or end > len(elf_bytes):
                raise ElfError(
                    f"section data {sec['sh_offset']}+{sec['sh_size']} is past the end of the file",
                    section=current,
                    offset=sec["sh_offset"],
                )
            found[current] = bytes(sec.data())
    except ElfError:
        raise
    except Exception as exc:  # pyelftools raises many kinds on malformed input
        raise ElfError(
            f"malformed ELF object: {type(exc).__name__}: {exc}", section=current
        ) from exc
    return found.get(_BTF), found.get(_BTF_EXT)


def load_object_btf(elf_bytes: bytes) -> tuple[Btf | None, BtfExt | None]:
    """The parsed ``.BTF`` and ``.BTF.ext`` of an object.

    ``.BTF.ext`` without ``.BTF`` is an ``ElfError``: its names live in ``.BTF``.
    """
    raw_btf, raw_ext = read_btf_sections(elf_bytes)
    if raw_btf is None:
        if raw_ext is not None:
            raise ElfError(".BTF.ext without .BTF", section=_BTF_EXT)
        return None, None
    btf = parse_btf(raw_btf, section=_BTF)
    ext = parse_btf_ext(raw_ext, btf) if raw_ext is not None else None
    return btf, ext
