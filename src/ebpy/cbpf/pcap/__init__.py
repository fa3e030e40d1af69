"""The pcap-filter language compiler: libpcap 1.10's ``pcap_compile``, in Python.

``compile_filter(expr, linktype=1, snaplen=262144, optimize=True)`` turns a
pcap-filter(7) expression (``tcp port 80``, ``vlan and host 10.0.0.1``,
``tcp[tcpflags] & tcp-syn != 0`` ...) into classic BPF instructions
(``ebpy.cbpf.isa.Insn``). Not optimized, the program is the one ``tcpdump -O
-d`` prints, instruction for instruction; optimized, it is close to ``tcpdump
-d`` and gives the unoptimized program's verdict on every packet, truncated
ones included. Bad expressions raise ``ebpy.errors.FilterSyntaxError`` with
the column and text of the token at fault; host and network names are
refused (nothing is resolved).

The stages: ``lexer`` (tokens), ``parser`` (the grammar, into ``ast``),
``codegen`` with ``gencode`` and the primitives (``protocols``, ``addresses``,
``ports``, ``arith``, ``encap``, ``linktypes``, ``names``) building
``blocks``, then ``optimize`` (with ``opt_values``, ``opt_graph``,
``opt_thread``, ``opt_pullup``). This package does not run programs
(``ebpy.cbpf.interp``) nor print them (``ebpy.cbpf.text``).
"""

from ebpy.cbpf.pcap.codegen import compile_filter
from ebpy.cbpf.pcap.lexer import tokenize
from ebpy.cbpf.pcap.parser import parse

__all__ = ["compile_filter", "parse", "tokenize"]
