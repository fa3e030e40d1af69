"""ELF object files as clang writes them for BPF.

For now: the program sections and their function symbols (``reader``), enough
to disassemble and run code from an object. Maps, BTF, relocations and the
frozen ObjectSpec come with the ELF loader proper; this package never touches
the kernel.
"""

from ebpy.elf.reader import CodeSection, read_code_sections

__all__ = ["CodeSection", "read_code_sections"]
