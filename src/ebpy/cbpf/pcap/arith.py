"""Arithmetic and comparisons: ``tcp[13] & 2 != 0``, ``ip[2:2] > 576``, ``len - 14 > 100``.

Every value is computed into the accumulator and stored in a scratch register
(``M[n]``), as libpcap does: a constant is ``ld #k; st M[n]``, an operation
``ldx M[b]; ld M[a]; op x; st M[n]``, and a comparison loads both sides into
X and A (``a = b`` becomes ``sub x; jeq #0``). A load from a protocol header
(``tcp[i]``) computes its index first, then adds the header offset, and
carries the tests that the packet holds that header (for the transport
protocols: IPv4, the protocol, and the first fragment), which the comparison
puts in front of itself.

As in libpcap 1.10, an operation keeps the header tests of its left operand
only (``ip[0] + tcp[0] > 5`` does not check for TCP), and ``/ 0``, ``% 0``
and shifts by more than 31 are refused only when the right operand is
written as a constant. The optimizer folds what is constant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ebpy.cbpf.isa import (
    BPF_ADD,
    BPF_ALU,
    BPF_AND,
    BPF_B,
    BPF_DIV,
    BPF_H,
    BPF_IMM,
    BPF_IND,
    BPF_JEQ,
    BPF_JGE,
    BPF_JGT,
    BPF_JMP,
    BPF_LD,
    BPF_LDX,
    BPF_LEN,
    BPF_LSH,
    BPF_MEM,
    BPF_MISC,
    BPF_MOD,
    BPF_MUL,
    BPF_NEG,
    BPF_OR,
    BPF_RSH,
    BPF_ST,
    BPF_SUB,
    BPF_TAX,
    BPF_W,
    BPF_X,
    BPF_XOR,
)
from ebpy.cbpf.pcap.ast import Proto
from ebpy.cbpf.pcap.blocks import Block, Stmt, gen_and, gen_not
from ebpy.cbpf.pcap.gencode import Gen, OffRel, jmp
from ebpy.cbpf.pcap.protocols import abbrev, ipfrag

__all__ = ["OPS", "RELOPS", "Arth", "arth", "load", "loadi", "loadlen", "neg", "relation"]

OPS = {
    "+": BPF_ADD,
    "-": BPF_SUB,
    "*": BPF_MUL,
    "/": BPF_DIV,
    "%": BPF_MOD,
    "&": BPF_AND,
    "|": BPF_OR,
    "^": BPF_XOR,
    "<<": BPF_LSH,
    ">>": BPF_RSH,
}
"""Arithmetic operator -> ALU operation."""

RELOPS = {
    ">": (BPF_JGT, False),
    ">=": (BPF_JGE, False),
    "=": (BPF_JEQ, False),
    "<=": (BPF_JGT, True),
    "<": (BPF_JGE, True),
    "!=": (BPF_JEQ, True),
}
"""Comparison -> (jump, negated)."""

_SIZES = {1: BPF_B, 2: BPF_H, 4: BPF_W}
_NETWORK = frozenset(
    (
        Proto.IP,
        Proto.ARP,
        Proto.RARP,
        Proto.ATALK,
        Proto.DECNET,
        Proto.SCA,
        Proto.LAT,
        Proto.MOPRC,
        Proto.MOPDL,
        Proto.IPV6,
    )
)
_TRANSPORT = frozenset(
    (
        Proto.SCTP,
        Proto.TCP,
        Proto.UDP,
        Proto.ICMP,
        Proto.IGMP,
        Proto.IGRP,
        Proto.PIM,
        Proto.VRRP,
        Proto.CARP,
    )
)


@dataclass
class Arth:
    """A value being computed: its statements, its register, and header tests."""

    s: list[Stmt]
    regno: int
    b: Block | None = field(default=None)


def _to_x(a: Arth) -> Stmt:
    return Stmt(BPF_LDX | BPF_MEM, a.regno)


def _to_a(a: Arth) -> Stmt:
    return Stmt(BPF_LD | BPF_MEM, a.regno)


def loadi(gen: Gen, value: int) -> Arth:
    """A constant."""
    reg = gen.alloc_reg()
    return Arth([Stmt(BPF_LD | BPF_IMM, value), Stmt(BPF_ST, reg)], reg)


def loadlen(gen: Gen) -> Arth:
    """``len``: the length of the packet on the wire."""
    reg = gen.alloc_reg()
    return Arth([Stmt(BPF_LD | BPF_LEN), Stmt(BPF_ST, reg)], reg)


def _indexed(gen: Gen, index: Arth, var: list[Stmt], size: int, k: int) -> list[Stmt]:
    """X = index (+ the variable offset in ``var``), then load ``size`` at ``x + k``."""
    if var:
        s = [*var, _to_a(index), Stmt(BPF_ALU | BPF_ADD | BPF_X), Stmt(BPF_MISC | BPF_TAX)]
    else:
        s = [_to_x(index)]
    return [*s, Stmt(BPF_LD | BPF_IND | size, k)]


def load(gen: Gen, proto: Proto, inst: Arth, size: int) -> Arth:
    """``proto[inst:size]`` (libpcap's ``gen_load``)."""
    regno = gen.alloc_reg()
    gen.free_reg(inst.regno)
    if size not in _SIZES:
        gen.error("data size must be 1, 2, or 4")
    bsize = _SIZES[size]
    pl = gen.off_linkpl
    if proto is Proto.LINK:
        var = gen.varpart(gen.off_linkhdr)
        inst.s += _indexed(gen, inst, var, bsize, gen.off_linkhdr.constant)
    elif proto in _NETWORK:
        inst.s += _indexed(gen, inst, gen.varpart(pl), bsize, pl.constant + gen.off_nl)
        b = abbrev(gen, proto)
        if inst.b is not None:
            gen_and(inst.b, b)
        inst.b = b
    elif proto in _TRANSPORT:
        s = gen.loadx_iphdrlen()
        s += [_to_a(inst), Stmt(BPF_ALU | BPF_ADD | BPF_X), Stmt(BPF_MISC | BPF_TAX)]
        s.append(Stmt(BPF_LD | BPF_IND | bsize, pl.constant + gen.off_nl))
        inst.s += s
        b = ipfrag(gen)
        gen_and(abbrev(gen, proto), b)
        if inst.b is not None:
            gen_and(inst.b, b)
        gen_and(abbrev(gen, Proto.IP), b)
        inst.b = b
    elif proto is Proto.ICMPV6:
        b = abbrev(gen, Proto.IPV6)
        if inst.b is not None:
            gen_and(inst.b, b)
        inst.b = b
        b = gen.cmp(OffRel.LINKPL, 6, BPF_B, 58)
        gen_and(inst.b, b)
        inst.b = b
        inst.s += _indexed(gen, inst, gen.varpart(pl), bsize, pl.constant + gen.off_nl + 40)
    else:
        gen.error("unsupported index operation")
    inst.regno = regno
    inst.s.append(Stmt(BPF_ST, regno))
    return inst


def arth(gen: Gen, op: str, a0: Arth, a1: Arth) -> Arth:
    """``a0 op a1`` (libpcap's ``gen_arth``)."""
    code = OPS[op]
    first = a1.s[0]
    if first.code == BPF_LD | BPF_IMM:
        if code == BPF_DIV and first.k == 0:
            gen.error("division by zero")
        if code == BPF_MOD and first.k == 0:
            gen.error("modulus by zero")
        if code in (BPF_LSH, BPF_RSH) and first.k > 31:
            gen.error("shift by more than 31 bits")
    a0.s += [*a1.s, _to_x(a1), _to_a(a0), Stmt(BPF_ALU | BPF_X | code)]
    gen.free_reg(a0.regno)
    gen.free_reg(a1.regno)
    a0.regno = gen.alloc_reg()
    a0.s.append(Stmt(BPF_ST, a0.regno))
    return a0


def neg(gen: Gen, a: Arth) -> Arth:
    """``-a``."""
    a.s += [_to_a(a), Stmt(BPF_ALU | BPF_NEG), Stmt(BPF_ST, a.regno)]
    return a


def relation(gen: Gen, op: str, a0: Arth, a1: Arth) -> Block:
    """``a0 op a1`` as a branch (libpcap's ``gen_relation``)."""
    code, reversed_ = RELOPS[op]
    s0, s1 = _to_x(a1), _to_a(a0)
    if code == BPF_JEQ:
        tail = [s0, s1, Stmt(BPF_ALU | BPF_SUB | BPF_X)]
        b = Block(jmp(code), 0)
    else:
        tail = [s0, s1]
        b = Block(BPF_JMP | code | BPF_X, 0)
    if reversed_:
        gen_not(b)
    b.stmts = [*a0.s, *a1.s, *tail]
    gen.free_reg(a0.regno)
    gen.free_reg(a1.regno)
    tmp: Block | None
    if a0.b is not None:
        if a1.b is not None:
            tmp = a1.b
            gen_and(a0.b, tmp)
        else:
            tmp = a0.b
    else:
        tmp = a1.b
    if tmp is not None:
        gen_and(tmp, b)
    return b
