"""The source lines ``llvm-objdump -S`` (LLVM 14) prints before instructions.

``SourcePrinter.before(section, offset)`` is the text to print before the
instruction at ``offset`` of ``section``: ``""`` or one ``; <source line>``
line. With DWARF line information (``ebpy.elf.dwarf_lines``) the rules are
llvm-objdump's:

- every instruction is looked up, and whatever it gives (even nothing, or
  line 0) becomes the last location seen, across labels and sections;
- a line is printed when the location has a file and a line other than 0
  and differs from the last one in file or line: after a row of line 0 the
  same line is printed again, and two rows of one line are printed once;
- the text is the line of the source file, read from the path the DWARF
  file table gives, relative to the current directory (``-fdebug-prefix-map``
  to ``.`` gives ``././prog.c``), or embedded in the object; lines end at
  ``\\n``, a ``\\r`` before it dropped; tabs and every other byte are kept;
- a file that cannot be read prints nothing, with the warning ``failed to
  find source PATH`` once per file, and a line past the end of its file
  prints nothing, with a warning each time.

With ``btf_fallback`` the line of a file that cannot be read is taken from
the ``.BTF.ext`` line info instead, which holds the text of the lines it
records (not those of the opening brace of a function, which BTF records
at the signature line): llvm prints nothing there. An object without DWARF
line information gets its source lines from the BTF line info alone (llvm
prints none): the line recorded for the last record at or below the
instruction, when it differs from the last one printed.

This module prints no instructions; ``ebpy.elf.views`` does.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from collections.abc import Callable

from ebpy.btf.ext import LineInfo
from ebpy.elf.dwarf_lines import BAD_PATH, DwarfLines, SourceLocation, read_dwarf_lines
from ebpy.elf.image import ElfImage, Section


def split_lines(data: bytes) -> list[bytes]:
    """The lines of a file as llvm-objdump cuts them.

    >>> split_lines(b"a\\r\\nb\\n\\nc")
    [b'a', b'b', b'', b'c']
    >>> split_lines(b"a\\n")
    [b'a']
    """
    lines = data.split(b"\n")
    last = lines.pop()
    lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    if last:
        lines.append(last)
    return lines


def btf_line_records(image: ElfImage) -> dict[str, tuple[LineInfo, ...]]:
    """The ``.BTF.ext`` line info of ``image`` by section name ({} without BTF)."""
    from ebpy.btf.ext import parse_btf_ext
    from ebpy.btf.parse import parse_btf

    btf, ext = image.section_named(".BTF"), image.section_named(".BTF.ext")
    if btf is None or ext is None:
        return {}
    return parse_btf_ext(ext.data, parse_btf(btf.data, section=btf.name)).line_info


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except (OSError, ValueError):
        return None


class SourcePrinter:
    """llvm-objdump's memory for ``-S``: last location, files read, warnings given.

    ``warn`` receives llvm's warning texts; ``read_file`` reads a source
    file (None when it cannot), by default from the file system.
    """

    def __init__(
        self,
        image: ElfImage,
        *,
        btf_fallback: bool = False,
        warn: Callable[[str], None] | None = None,
        read_file: Callable[[str], bytes | None] = _read,
    ) -> None:
        self.dwarf: DwarfLines | None = read_dwarf_lines(image)
        records = btf_line_records(image) if self.dwarf is None or btf_fallback else {}
        self.records = records
        self.btf_fallback = btf_fallback
        self.warn = warn or (lambda message: None)
        self.read_file = read_file
        self.last: tuple[str, int] = (BAD_PATH, 0)
        self.files: dict[str, list[bytes]] = {}
        self.missing: set[str] = set()
        self._btf_text: dict[tuple[str, int], str] | None = None
        self._offsets: dict[str, list[int]] = {}

    def before(self, section: Section, offset: int) -> str:
        """What to print before the instruction at byte ``offset`` of ``section``."""
        if self.dwarf is None:
            return self._btf_only(section.name, offset)
        loc = self.dwarf.locate(section.index, section.addr + offset)
        text = self._text(loc)
        self.last = (loc.path, loc.line)
        return text

    def _text(self, loc: SourceLocation) -> str:
        if loc.path == BAD_PATH or loc.line == 0 or (loc.path, loc.line) == self.last:
            return ""
        lines = self.files.get(loc.path)
        if lines is None:
            data = loc.source if loc.source is not None else self.read_file(loc.path)
            if data is None:
                if loc.path not in self.missing:
                    self.missing.add(loc.path)
                    self.warn(f"failed to find source {loc.path}")
                return self._fallback(loc) if self.btf_fallback else ""
            lines = self.files[loc.path] = split_lines(data)
        if loc.line > len(lines):
            self.warn(
                f"debug info line number {loc.line} exceeds the number of lines in {loc.path}"
            )
            return ""
        return "; " + lines[loc.line - 1].decode("utf-8", "surrogateescape") + "\n"

    def _fallback(self, loc: SourceLocation) -> str:
        """The BTF line info text of the line at ``loc``, when BTF records it."""
        if self._btf_text is None:
            self._btf_text = {}
            for records in self.records.values():
                for r in records:
                    self._btf_text.setdefault((os.path.normpath(r.file), r.line), r.text)
        text = self._btf_text.get((os.path.normpath(loc.path), loc.line))
        return "" if text is None else f"; {text}\n"

    def _btf_only(self, section: str, offset: int) -> str:
        records = self.records.get(section, ())
        offsets = self._offsets.get(section)
        if offsets is None:
            offsets = self._offsets[section] = [r.insn_off for r in records]
        at = bisect_right(offsets, offset)
        if at == 0:
            return ""
        current = records[at - 1]
        key = (current.file, current.line)
        if key == self.last:
            return ""
        self.last = key
        return "" if not current.line else f"; {current.text}\n"


__all__ = ["SourcePrinter", "btf_line_records", "split_lines"]
