#!/usr/bin/env python3
"""Rewrite the type_exists CO-RE relocations of a BPF object into type_matches.

    retag.py IN.o OUT.o

clang 14 cannot emit type_matches (kind 12) relocations; this copies IN.o and
changes the kind field of every type_exists (kind 8) record of its .BTF.ext
section. Only the standard library: a 64-bit little-endian ELF is expected.
"""

import struct
import sys
from pathlib import Path

TYPE_EXISTS, TYPE_MATCHES = 8, 12


def btf_ext_range(elf: bytes) -> tuple[int, int]:
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        sys.exit("not a 64-bit little-endian ELF file")
    (shoff,) = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)

    def header(i: int) -> tuple[int, int, int]:
        name, _, _, _, off, size = struct.unpack_from("<IIQQQQ", elf, shoff + i * shentsize)
        return name, off, size

    _, stroff, _ = header(shstrndx)
    for i in range(shnum):
        name, off, size = header(i)
        end = elf.index(b"\0", stroff + name)
        if elf[stroff + name : end] == b".BTF.ext":
            return off, size
    sys.exit("no .BTF.ext section")


def main() -> None:
    src, dst = sys.argv[1:3]
    elf = bytearray(Path(src).read_bytes())
    off, _ = btf_ext_range(elf)
    magic, _, _, hdr_len = struct.unpack_from("<HBBI", elf, off)
    if magic != 0xEB9F or hdr_len < 32:
        sys.exit("no CO-RE relocations in .BTF.ext")
    core_off, core_len = struct.unpack_from("<II", elf, off + 24)
    pos = off + hdr_len + core_off
    end = pos + core_len
    (rec_size,) = struct.unpack_from("<I", elf, pos)
    pos += 4
    changed = 0
    while pos < end:
        _, count = struct.unpack_from("<II", elf, pos)
        pos += 8
        for rec in range(pos, pos + count * rec_size, rec_size):
            if struct.unpack_from("<I", elf, rec + 12)[0] == TYPE_EXISTS:
                struct.pack_into("<I", elf, rec + 12, TYPE_MATCHES)
                changed += 1
        pos += count * rec_size
    Path(dst).write_bytes(elf)
    print(f"{dst}: {changed} type_exists relocations now type_matches")


if __name__ == "__main__":
    main()
