"""Classic BPF: instructions, text formats, assembler, interpreter, validator,
translation to eBPF, and the pcap-filter language compiler (``ebpy.cbpf.pcap``).

This package never touches the kernel (attaching a filter to a socket is
``ebpy.kernel``'s job) and never reads capture files (``ebpy.pcap``).
"""

from ebpy.cbpf.isa import Insn, decode, encode

__all__ = ["Insn", "decode", "encode"]
