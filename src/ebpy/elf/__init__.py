"""ELF object files as clang writes them for BPF: the loader and its views.

``load_object``/``load_file`` turn an object into a frozen ``ObjectSpec`` as
libbpf (and iproute2) open it: programs typed by their ``SEC()`` names
(``sections``) and linked with their subprograms (``linker``), maps from
``.maps``, ``maps`` and global data (``maps``, ``globals``), code relocations
applied (``relocations``). ``views`` prints what ``llvm-objdump -h -t -r -d
-S`` prints; ``reader`` lists the code sections for the disassembler. This
package never touches the kernel.
"""

from ebpy.elf.loader import load_file, load_object
from ebpy.elf.reader import CodeSection, read_code_sections
from ebpy.elf.sections import SectionInfo, match_section

__all__ = [
    "CodeSection",
    "SectionInfo",
    "load_file",
    "load_object",
    "match_section",
    "read_code_sections",
]
