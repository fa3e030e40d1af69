"""Hand-built BTF and .BTF.ext bytes for the tests, in either byte order.

Written independently of ``ebpy.btf.encode`` (records are packed word by
word from the kernel's struct layouts), so parser tests do not depend on the
encoder. ``RawBtf.add`` takes the raw fields of a ``struct btf_type`` and
its trailing words; ``RawBtf.data`` lays out header, types and strings and
lets a test override any header field. This module builds bytes; it asserts
nothing.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ebpy.btf.types import Kind

HEADER_FIELDS = (
    "magic",
    "version",
    "flags",
    "hdr_len",
    "type_off",
    "type_len",
    "str_off",
    "str_len",
)


@dataclass
class RawBtf:
    """A BTF blob being built: ``order`` is ``'<'`` or ``'>'``."""

    order: str = "<"
    strings: bytearray = field(default_factory=lambda: bytearray(b"\0"))
    words: list[int] = field(default_factory=list)
    count: int = 0
    first_id: int = 1
    str_start: int = 0
    """For split BTF: the base's string section length (own offsets start there)."""

    def __post_init__(self) -> None:
        if self.str_start:
            self.strings = bytearray()

    def name(self, text: str | bytes) -> int:
        """Append a string and return its offset (no deduplication)."""
        if text in ("", b""):
            return 0
        raw = text.encode() if isinstance(text, str) else text
        off = self.str_start + len(self.strings)
        self.strings += raw + b"\0"
        return off

    def add(
        self,
        kind: Kind | int,
        name: str | int = "",
        *,
        vlen: int = 0,
        kflag: int = 0,
        third: int = 0,
        trailing: tuple[int, ...] | list[int] = (),
    ) -> int:
        """Append one type record (name as text or as a raw offset); returns its id."""
        name_off = name if isinstance(name, int) else self.name(name)
        info = (kflag << 31) | (int(kind) << 24) | vlen
        self.words += [name_off, info, third & 0xFFFFFFFF, *(w & 0xFFFFFFFF for w in trailing)]
        self.count += 1
        return self.first_id + self.count - 1

    def type_bytes(self) -> bytes:
        return struct.pack(f"{self.order}{len(self.words)}I", *self.words)

    def data(self, **overrides: int) -> bytes:
        """The whole blob; ``overrides`` replace header fields (``version=2`` ...)."""
        types = self.type_bytes()
        strs = bytes(self.strings)
        hdr = {
            "magic": 0xEB9F,
            "version": 1,
            "flags": 0,
            "hdr_len": 24,
            "type_off": 0,
            "type_len": len(types),
            "str_off": len(types),
            "str_len": len(strs),
        }
        hdr.update(overrides)
        head = struct.pack(self.order + "HBBIIIII", *(hdr[f] for f in HEADER_FIELDS))
        return head + b"\0" * (hdr["hdr_len"] - 24) + types + strs


def raw_ext(
    order: str = "<",
    *,
    func_info: bytes = b"",
    line_info: bytes = b"",
    core_relo: bytes | None = b"",
    **overrides: int,
) -> bytes:
    """A .BTF.ext blob from already packed subsections (each: record size + sections)."""
    hdr_len = 24 if core_relo is None else 32
    parts = [func_info, line_info] + ([] if core_relo is None else [core_relo])
    offs, pos = [], 0
    for p in parts:
        offs += [pos, len(p)]
        pos += len(p)
    fields = {"magic": 0xEB9F, "version": 1, "flags": 0, "hdr_len": hdr_len}
    fields.update(overrides)
    head = struct.pack(
        order + "HBBI", fields["magic"], fields["version"], fields["flags"], fields["hdr_len"]
    )
    names = [
        "func_info_off",
        "func_info_len",
        "line_info_off",
        "line_info_len",
        "core_relo_off",
        "core_relo_len",
    ]
    values = [overrides.get(n, v) for n, v in zip(names, offs, strict=False)]
    head += struct.pack(order + f"{len(values)}I", *values)
    return head + b"".join(parts)


def ext_subsection(
    order: str, rec_size: int, sections: list[tuple[int, list[tuple[int, ...]]]]
) -> bytes:
    """One subsection: record size, then per section (name offset, records of u32 words)."""
    out = struct.pack(order + "I", rec_size)
    for name_off, records in sections:
        out += struct.pack(order + "II", name_off, len(records))
        for rec in records:
            words = [w & 0xFFFFFFFF for w in rec]
            words += [0] * (rec_size // 4 - len(words))
            out += struct.pack(order + f"{len(words)}I", *words)
    return out
