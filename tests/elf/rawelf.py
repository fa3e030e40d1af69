"""Patch the raw bytes of an ELF64 little-endian object, for malformed-input tests.

Independent of ebpy.elf: reads the header and section table with ``struct``
and rewrites fields in place. ``RawElf(data)`` finds sections by name and
symbols by name, and ``patch_*`` returns new bytes. It asserts nothing.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")


@dataclass
class RawSection:
    index: int
    name: str
    header_at: int
    type: int
    offset: int
    size: int
    link: int
    info: int


class RawElf:
    def __init__(self, data: bytes) -> None:
        self.data = bytearray(data)
        self.shoff = struct.unpack_from("<Q", data, 0x28)[0]
        self.shnum = struct.unpack_from("<H", data, 0x3C)[0]
        shstrndx = struct.unpack_from("<H", data, 0x3E)[0]
        raw = [_SHDR.unpack_from(data, self.shoff + i * 64) for i in range(self.shnum)]
        strtab = raw[shstrndx]
        names = bytes(data[strtab[4] : strtab[4] + strtab[5]])
        self.sections = []
        for i, h in enumerate(raw):
            name = names[h[0] : names.index(b"\0", h[0])].decode()
            self.sections.append(
                RawSection(i, name, self.shoff + i * 64, h[1], h[4], h[5], h[6], h[7])
            )

    def section(self, name: str) -> RawSection:
        return next(s for s in self.sections if s.name == name)

    def symbol_at(self, name: str) -> int:
        """File offset of the symbol table entry of ``name``."""
        symtab = next(s for s in self.sections if s.type == 2)
        strtab = self.sections[symtab.link]
        for i in range(symtab.size // 24):
            at = symtab.offset + i * 24
            st_name = _SYM.unpack_from(self.data, at)[0]
            start = strtab.offset + st_name
            end = self.data.index(b"\0", start)
            if self.data[start:end].decode() == name:
                return at
        raise KeyError(name)

    def put(self, at: int, fmt: str, value: int) -> bytes:
        out = bytearray(self.data)
        struct.pack_into(fmt, out, at, value)
        return bytes(out)

    def patch_header(self, section: str, field: str, value: int) -> bytes:
        """A section header field (``offset``, ``size``, ``info``, ``link``, ``type``)."""
        where = {
            "type": (4, "<I"),
            "offset": (24, "<Q"),
            "size": (32, "<Q"),
            "link": (40, "<I"),
            "info": (44, "<I"),
        }
        delta, fmt = where[field]
        return self.put(self.section(section).header_at + delta, fmt, value)
