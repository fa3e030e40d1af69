"""Run classic programs in userspace, fast: each program is compiled once to a Python closure.

``run(insns, packet, wirelen, skb=...)`` gives the filter's return value (the
number of bytes to keep; 0 drops the packet). ``compile_filter_program(insns)``
gives the compiled ``f(packet, wirelen) -> int`` to call on many packets;
compiled source is cached per program, so compiling the same program again
(for another ``SkbInfo``) only builds a new closure.

Two flavours of semantics, chosen by ``skb``:

- ``skb=None``: libpcap 1.10's ``bpf_filter`` as tcpdump runs it on a capture.
  A load past the captured bytes (``len(packet)``) ends the program with 0,
  ``[x + k]`` does not wrap (``X + k`` past the end is past the end), the
  Linux ancillary offsets are just offsets past the end, ``#pktlen`` is
  ``wirelen``, a shift by ``X`` of 32 or more gives 0 and a shift by a
  constant ``k`` shifts by ``k % 32`` (what libpcap 1.10 compiled for x86 does).
- ``skb=SkbInfo(...)``: the Linux kernel's, for a socket filter on an skb
  whose ``skb->data`` is the first byte of ``packet``. Ancillary loads
  (``SKF_AD_OFF + ...``, at any load size) read the ``SkbInfo``; ``ifidx`` and
  ``hatype`` end the program returning A when there is no device
  (``ifindex`` 0); ``nla``/``nlan`` search netlink attributes in the packet as
  ``nla_find`` does; ``SKF_NET_OFF``/``SKF_LL_OFF`` offsets count from the
  network/MAC header (``net_offset``/``mac_offset``, relative to the packet,
  None when the skb has none) and may reach into ``head`` (bytes in front of
  the packet); ``[x + k]`` wraps at 32 bits and a negative result counts from
  those bases too; shifts by ``X`` are modulo 32.

In both, division or modulo by ``X == 0`` returns 0, scratch memory starts at 0,
and anything a valid program cannot do (unknown opcodes, jumps out of the
program) returns 0. Programs are not checked here: ``ebpy.cbpf.validate``
does that. This module does not translate to eBPF (``ebpy.cbpf.to_ebpf``).

>>> from ebpy.cbpf.asm import assemble
>>> prog = assemble("ldh [12]\\njneq #0x800, drop\\nret #-1\\ndrop: ret #0")
>>> run(prog, bytes(12) + b"\\x08\\x00"), run(prog, bytes(14)), run(prog, bytes(13))
(4294967295, 0, 0)
>>> run(assemble("ld #proto\\nret a"), b"", skb=SkbInfo(protocol=0x86DD))
34525
"""

from __future__ import annotations

import functools
import random as _random
import struct
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import CodeType
from typing import Any

from ebpy.cbpf._codegen import generate
from ebpy.cbpf.isa import SKF_LL_OFF, SKF_NET_OFF, Insn
from ebpy.isa._intmath import M32

__all__ = ["Filter", "SkbInfo", "compile_filter_program", "generated_source", "run"]

Filter = Callable[[bytes, int], int]
"""A compiled program: ``f(packet, wirelen) -> bytes to keep``."""

_HOST_U16 = "<H" if sys.byteorder == "little" else ">H"
_NLA_TYPE_MASK = 0x3FFF
"""``nla_type`` without ``NLA_F_NESTED`` and ``NLA_F_NET_BYTEORDER``."""


@dataclass(frozen=True)
class SkbInfo:
    """What a Linux socket filter knows about its packet beyond the bytes (``struct sk_buff``).

    Numbers are host order (``protocol`` 0x0800 for IPv4, ``vlan_proto`` 0x8100).
    ``ifindex`` 0 means "no device" (the kernel then ends ``ifidx``/``hatype``
    loads returning A). ``pay_offset`` is what the kernel's flow dissector would
    compute (``poff``), given rather than computed here. ``random`` gives
    ``#rand`` values (default: ``random.getrandbits(32)``).
    """

    protocol: int = 0
    pkttype: int = 0
    ifindex: int = 0
    mark: int = 0
    queue_mapping: int = 0
    hatype: int = 0
    rxhash: int = 0
    cpu: int = 0
    vlan_tci: int = 0
    vlan_present: bool = False
    vlan_proto: int = 0
    pay_offset: int = 0
    net_offset: int | None = 0
    """Where ``SKF_NET_OFF`` counts from, relative to the packet's first byte."""
    mac_offset: int | None = None
    """Where ``SKF_LL_OFF`` counts from (negative: inside ``head``); None: no MAC header."""
    head: bytes = b""
    """Bytes in front of the packet that negative offsets may reach (a stripped MAC header)."""
    random: Callable[[], int] | None = None


def _neg_loader(skb: SkbInfo) -> Callable[[bytes, int, int], int]:
    """Loads at negative offsets (``SKF_NET_OFF``/``SKF_LL_OFF`` bases): value or -1."""
    head = skb.head
    hl = len(head)

    def load(p: bytes, offset: int, size: int) -> int:
        if offset >= SKF_NET_OFF:
            base = skb.net_offset
            rel = offset - SKF_NET_OFF
        elif offset >= SKF_LL_OFF:
            base = skb.mac_offset
            rel = offset - SKF_LL_OFF
        else:
            return -1
        if base is None:
            return -1
        start = hl + base + rel
        if start < 0 or start + size > hl + len(p):
            return -1
        if start >= hl:
            data = p[start - hl : start - hl + size]
        else:
            data = (head + bytes(p[: max(0, start + size - hl)]))[start : start + size]
        return int.from_bytes(data, "big")

    return load


def _nla_walk(p: bytes, pos: int, rem: int, attrtype: int) -> int:
    """``nla_find`` over ``rem`` bytes at ``pos``: the offset of the attribute, or 0."""
    while rem >= 4:
        nla_len = struct.unpack_from(_HOST_U16, p, pos)[0]
        if nla_len < 4 or nla_len > rem:
            return 0
        if struct.unpack_from(_HOST_U16, p, pos + 2)[0] & _NLA_TYPE_MASK == attrtype:
            return pos
        step = (nla_len + 3) & ~3
        pos += step
        rem -= step
    return 0


def _nla(p: bytes, a: int, x: int) -> int:
    """``SKF_AD_NLATTR``: the attribute of type X in the netlink attributes at A."""
    n = len(p)
    if n < 4 or a > n - 4:
        return 0
    return _nla_walk(p, a, n - a, x)


def _nlan(p: bytes, a: int, x: int) -> int:
    """``SKF_AD_NLATTR_NEST``: the attribute of type X nested in the attribute at A."""
    n = len(p)
    if n < 4 or a > n - 4:
        return 0
    nla_len = struct.unpack_from(_HOST_U16, p, a)[0]
    if nla_len > n - a:
        return 0
    return _nla_walk(p, a + 4, nla_len - 4, x)


@functools.lru_cache(maxsize=512)
def _compiled(insns: tuple[Insn, ...], linux: bool) -> tuple[CodeType, str]:
    gen = generate(insns, linux=linux)
    params = "_W, _neg, _nla, _nlan, _rand, " + ", ".join(f"_ad_{name}" for name in _AD_FIELDS)
    source = f"def _make({params}):\n{gen.source}"
    return compile(source, "<cbpf-program>", "exec"), source


_AD_FIELDS = {
    "protocol": "protocol",
    "pkttype": "pkttype",
    "ifindex": "ifindex",
    "mark": "mark",
    "queue": "queue_mapping",
    "hatype": "hatype",
    "rxhash": "rxhash",
    "cpu": "cpu",
    "vlan_tci": "vlan_tci",
    "vlan_tag_present": "vlan_present",
    "pay_offset": "pay_offset",
    "vlan_tpid": "vlan_proto",
}
"""Ancillary load name -> the ``SkbInfo`` field it reads."""

_W32 = struct.Struct(">I").unpack_from


def compile_filter_program(insns: Sequence[Insn], *, skb: SkbInfo | None = None) -> Filter:
    """Compile ``insns`` to ``f(packet, wirelen) -> int`` (libpcap's semantics, or Linux's with ``skb``).

    ``packet`` is any bytes-like object (bytes, bytearray, memoryview of bytes).
    """
    code, _ = _compiled(tuple(insns), skb is not None)
    ns: dict[str, Any] = {}
    exec(code, ns)
    info = skb if skb is not None else SkbInfo()
    rand = info.random or functools.partial(_random.getrandbits, 32)
    values = [int(getattr(info, f)) & M32 for f in _AD_FIELDS.values()]
    make: Callable[..., Filter] = ns["_make"]
    return make(_W32, _neg_loader(info), _nla, _nlan, rand, *values)


def generated_source(insns: Sequence[Insn], *, linux: bool = False) -> str:
    """The Python source a program compiles to (for the curious and for tests)."""
    return _compiled(tuple(insns), linux)[1]


def run(
    insns: Sequence[Insn],
    packet: bytes,
    wirelen: int | None = None,
    *,
    skb: SkbInfo | None = None,
) -> int:
    """Run ``insns`` once on ``packet``: the filter's return value (bytes to keep, 0 = drop).

    ``wirelen`` (what ``#pktlen``/``#len`` load) defaults to ``len(packet)``.
    To run one program on many packets, ``compile_filter_program`` once instead.
    """
    f = compile_filter_program(insns, skb=skb)
    return f(packet, len(packet) if wirelen is None else wirelen)
