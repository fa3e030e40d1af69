"""The installed libpcap (1.10 here) through ctypes: an oracle for the cbpf tests.

``LIBPCAP`` is None when no libpcap can be loaded; tests that need it skip.
``image`` is libpcap's ``bpf_image`` (one ``tcpdump -d`` line), ``validate`` its
``bpf_validate`` and ``filter`` its ``bpf_filter`` (the interpreter tcpdump runs on
captures). ``filter`` must only see programs that ``validate`` accepts *and*
whose codes libpcap knows: libpcap 1.10 reads past the program (and crashes) on
jumps out of it. This module wraps; it asserts nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Sequence

from ebpy.cbpf.isa import Insn


class _BpfInsn(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint),
    ]


def _load() -> ctypes.CDLL | None:
    for name in ("libpcap.so.0.8", "libpcap.so.1", ctypes.util.find_library("pcap")):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.bpf_image.restype = ctypes.c_char_p
        lib.bpf_image.argtypes = [ctypes.POINTER(_BpfInsn), ctypes.c_int]
        lib.bpf_validate.restype = ctypes.c_int
        lib.bpf_validate.argtypes = [ctypes.POINTER(_BpfInsn), ctypes.c_int]
        lib.bpf_filter.restype = ctypes.c_uint
        lib.bpf_filter.argtypes = [
            ctypes.POINTER(_BpfInsn),
            ctypes.c_char_p,
            ctypes.c_uint,
            ctypes.c_uint,
        ]
        return lib
    return None


LIBPCAP = _load()


def _array(insns: Sequence[Insn]) -> ctypes.Array[_BpfInsn]:
    return (_BpfInsn * max(len(insns), 1))(*[_BpfInsn(i.code, i.jt, i.jf, i.k) for i in insns])


def image(insn: Insn, n: int) -> str:
    assert LIBPCAP is not None
    text: bytes = LIBPCAP.bpf_image(ctypes.byref(_BpfInsn(insn.code, insn.jt, insn.jf, insn.k)), n)
    return text.decode()


def validate(insns: Sequence[Insn]) -> bool:
    assert LIBPCAP is not None
    return bool(LIBPCAP.bpf_validate(_array(insns), len(insns)))


def filter(insns: Sequence[Insn], packet: bytes, wirelen: int | None = None) -> int:
    assert LIBPCAP is not None
    wire = len(packet) if wirelen is None else wirelen
    return int(LIBPCAP.bpf_filter(_array(insns), packet, wire, len(packet)))
