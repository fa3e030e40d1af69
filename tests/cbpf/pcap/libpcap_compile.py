"""libpcap's own compiler (``pcap_compile`` on a dead handle) through ctypes: an oracle.

``COMPILER`` is None when no libpcap can be loaded (tests that need it skip).
``pcap_compile(expr, linktype, optimize)`` gives libpcap's program, or a
``Refused`` with libpcap's message, compiled as ``tcpdump -d`` compiles
(snapshot length 262144, netmask 0). libpcap's compiler keeps global state
and is not reentrant: calls are serialized with a lock. This module wraps; it
asserts nothing.
"""

from __future__ import annotations

import ctypes
import threading

from ebpy.cbpf.isa import Insn
from tests.cbpf.libpcap import LIBPCAP, _BpfInsn
from tests.cbpf.pcap.goldens import Refused

SNAPLEN = 262144
_LOCK = threading.Lock()


class _BpfProgram(ctypes.Structure):
    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.POINTER(_BpfInsn))]


def _setup() -> ctypes.CDLL | None:
    lib = LIBPCAP
    if lib is None:
        return None
    lib.pcap_open_dead.restype = ctypes.c_void_p
    lib.pcap_open_dead.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.pcap_compile.restype = ctypes.c_int
    lib.pcap_compile.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(_BpfProgram),
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_uint,
    ]
    lib.pcap_geterr.restype = ctypes.c_char_p
    lib.pcap_geterr.argtypes = [ctypes.c_void_p]
    lib.pcap_freecode.argtypes = [ctypes.POINTER(_BpfProgram)]
    lib.pcap_close.argtypes = [ctypes.c_void_p]
    return lib


COMPILER = _setup()
_DLT = {101: 12, 14: 12}
"""Capture-file link types whose DLT_ number differs (LINKTYPE_RAW is DLT_RAW, 12 on Linux)."""


def pcap_compile(
    expr: str, linktype: int = 1, optimize: bool = True, netmask: int = 0
) -> list[Insn] | Refused:
    """libpcap's program for ``expr`` (or why it refused)."""
    assert COMPILER is not None
    with _LOCK:
        handle = COMPILER.pcap_open_dead(_DLT.get(linktype, linktype), SNAPLEN)
        try:
            prog = _BpfProgram()
            rc = COMPILER.pcap_compile(
                handle, ctypes.byref(prog), expr.encode("latin-1"), int(optimize), netmask
            )
            if rc != 0:
                message: bytes = COMPILER.pcap_geterr(handle)
                return Refused(message.decode("latin-1"))
            out = [
                Insn(
                    prog.bf_insns[i].code,
                    prog.bf_insns[i].jt,
                    prog.bf_insns[i].jf,
                    prog.bf_insns[i].k,
                )
                for i in range(prog.bf_len)
            ]
            COMPILER.pcap_freecode(ctypes.byref(prog))
            return out
        finally:
            COMPILER.pcap_close(handle)
