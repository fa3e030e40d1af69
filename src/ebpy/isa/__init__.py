"""The eBPF instruction set: the ``Instruction`` type, opcodes, encoding, builder, text.

Submodules: ``opcodes`` (enums), ``instruction`` (the frozen type), ``encoding``
(bytes), ``builder`` (labels and link), ``asm`` (text in), ``disasm`` (text out),
``_intmath`` (wrap-around). Nothing here touches the kernel or runs programs.
"""

from ebpy.isa.encoding import decode, encode
from ebpy.isa.instruction import Instruction

__all__ = ["Instruction", "decode", "encode"]
