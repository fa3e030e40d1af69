"""The state of one compilation and the building blocks every primitive uses.

``Gen`` holds what libpcap's compiler state holds: the link type, the offsets
of the link-layer header, of its type field and of its payload (``vlan`` and
``mpls`` move them for everything compiled after them), the scratch-memory
registers ``M[0..15]`` in use, and whether ``protochain`` has turned the
optimizer off. Its methods make the small pieces: loads relative to a header
(``load``), comparisons (``cmp``, ``mcmp``, ``bcmp`` ...), constant
true/false blocks, the link-type test (``linktype``, through the link type's
entry in ``ebpy.cbpf.pcap.linktypes``) and the Ethernet/LLC/SNAP tests that
several link types share.

Errors raised while compiling are ``FilterSyntaxError`` at ``Gen.tok``, the
token of the primitive being compiled. The primitives themselves live in
``protocols``, ``addresses``, ``ports``, ``arith`` and ``encap``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from ebpy.cbpf.isa import (
    BPF_ABS,
    BPF_ADD,
    BPF_ALU,
    BPF_AND,
    BPF_B,
    BPF_H,
    BPF_IMM,
    BPF_IND,
    BPF_JEQ,
    BPF_JGE,
    BPF_JGT,
    BPF_JMP,
    BPF_K,
    BPF_LD,
    BPF_LDX,
    BPF_LSH,
    BPF_MEM,
    BPF_MEMWORDS,
    BPF_MISC,
    BPF_MSH,
    BPF_TAX,
    BPF_W,
    BPF_X,
)
from ebpy.cbpf.pcap.blocks import Block, Stmt, gen_and, gen_not, gen_or
from ebpy.cbpf.pcap.lexer import Kind, Token
from ebpy.cbpf.pcap.linktypes import LinkInfo, OffRel, link_info
from ebpy.errors import FilterSyntaxError

__all__ = ["ETHERMTU", "AbsOffset", "Gen", "OffRel", "jmp"]

ETHERMTU = 1500
LLCSAP_SNAP = 0xAA


def jmp(op: int) -> int:
    """The code of a conditional jump against ``k``."""
    return BPF_JMP | op | BPF_K


@dataclass
class AbsOffset:
    """An offset from the start of the packet: a constant, plus a variable part
    kept in scratch register ``reg`` when ``variable``."""

    constant: int
    variable: bool = False
    reg: int = -1


class Gen:
    """One compilation: link type, header offsets, registers."""

    def __init__(
        self,
        linktype: int,
        snaplen: int,
        netmask: int,
        expr: str,
        linux_vlan: bool = False,
        savefile: bool = False,
    ) -> None:
        self.expr = expr
        self.tok = Token(Kind.END, "", 0)
        try:
            self.link: LinkInfo = link_info(linktype)
        except FilterSyntaxError as err:
            raise FilterSyntaxError(err.reason, expr=expr) from None
        self.dlt = self.link.dlt
        self.snaplen = snaplen
        self.netmask = netmask & 0xFFFF_FFFF
        self.off_linkhdr = AbsOffset(0)
        self.off_linktype = AbsOffset(self.link.off_linktype)
        self.off_linkpl = AbsOffset(self.link.off_linkpl)
        self.off_nl = self.link.off_nl
        self.off_nl_nosnap = self.link.off_nl_nosnap
        self.regused = [False] * BPF_MEMWORDS
        self.curreg = 0
        self.label_stack_depth = 0
        self.vlan_stack_depth = 0
        self.no_optimize = False
        self.linux_vlan = linux_vlan
        """Compile the outer ``vlan`` for a live Linux socket (VLAN tag in metadata)."""
        self.savefile = savefile
        """Packets come from a capture file: no Linux metadata (packet type) to read."""
        self.vlan_vloffset = False
        """Set when a ``vlan`` made the payload offsets run-time values."""

    # --- errors and registers ---------------------------------------------------

    def error(self, reason: str, tok: Token | None = None) -> NoReturn:
        """Raise ``FilterSyntaxError`` at ``tok`` (default: the primitive being compiled)."""
        tok = tok or self.tok
        raise FilterSyntaxError(reason, tok.column, tok.text, self.expr)

    def alloc_reg(self) -> int:
        """A free scratch register, searching round-robin from the last one handed out."""
        for _ in range(BPF_MEMWORDS):
            if not self.regused[self.curreg]:
                self.regused[self.curreg] = True
                return self.curreg
            self.curreg = (self.curreg + 1) % BPF_MEMWORDS
        self.error("too many registers needed to evaluate expression")

    def free_reg(self, n: int) -> None:
        self.regused[n] = False

    # --- loads ------------------------------------------------------------------------

    def varpart(self, off: AbsOffset) -> list[Stmt]:
        """Statements that load the variable part of ``off`` into X (none if constant)."""
        if not off.variable:
            return []
        if off.reg == -1:
            off.reg = self.alloc_reg()
        return [Stmt(BPF_LDX | BPF_MEM, off.reg)]

    def load_rel(self, off: AbsOffset, offset: int, size: int) -> list[Stmt]:
        """Load ``size`` bytes at ``offset`` past the absolute offset ``off``."""
        var = self.varpart(off)
        if var:
            return [*var, Stmt(BPF_LD | BPF_IND | size, off.constant + offset)]
        return [Stmt(BPF_LD | BPF_ABS | size, off.constant + offset)]

    def loadx_iphdrlen(self) -> list[Stmt]:
        """X = the IPv4 header length (plus any variable link-layer offset)."""
        var = self.varpart(self.off_linkpl)
        at = self.off_linkpl.constant + self.off_nl
        if var:
            return [
                *var,
                Stmt(BPF_LD | BPF_IND | BPF_B, at),
                Stmt(BPF_ALU | BPF_AND | BPF_K, 0xF),
                Stmt(BPF_ALU | BPF_LSH | BPF_K, 2),
                Stmt(BPF_ALU | BPF_ADD | BPF_X),
                Stmt(BPF_MISC | BPF_TAX),
            ]
        return [Stmt(BPF_LDX | BPF_MSH | BPF_B, at)]

    def load(self, rel: OffRel, offset: int, size: int) -> list[Stmt]:
        """Load ``size`` (``BPF_B``/``BPF_H``/``BPF_W``) bytes at ``offset`` from ``rel``."""
        if rel is OffRel.PACKET:
            return [Stmt(BPF_LD | BPF_ABS | size, offset)]
        if rel is OffRel.TRAN_IPV4:
            at = self.off_linkpl.constant + self.off_nl + offset
            return [*self.loadx_iphdrlen(), Stmt(BPF_LD | BPF_IND | size, at)]
        base, extra = _RELATIVE[rel](self)
        return self.load_rel(base, extra + offset, size)

    # --- comparisons --------------------------------------------------------------

    def ncmp(
        self,
        rel: OffRel,
        offset: int,
        size: int,
        mask: int,
        jtype: int,
        reverse: bool,
        value: int,
    ) -> Block:
        """``(load & mask) jtype value``, negated for ``reverse`` (``jgt``/``jge`` only)."""
        stmts = self.load(rel, offset, size)
        if mask != 0xFFFF_FFFF:
            stmts.append(Stmt(BPF_ALU | BPF_AND | BPF_K, mask))
        b = Block(jmp(jtype), value, stmts)
        if reverse and jtype in (BPF_JGT, BPF_JGE):
            gen_not(b)
        return b

    def cmp(self, rel: OffRel, offset: int, size: int, value: int) -> Block:
        return self.ncmp(rel, offset, size, 0xFFFF_FFFF, BPF_JEQ, False, value)

    def cmp_gt(self, rel: OffRel, offset: int, size: int, value: int) -> Block:
        return self.ncmp(rel, offset, size, 0xFFFF_FFFF, BPF_JGT, False, value)

    def cmp_ge(self, rel: OffRel, offset: int, size: int, value: int) -> Block:
        return self.ncmp(rel, offset, size, 0xFFFF_FFFF, BPF_JGE, False, value)

    def cmp_lt(self, rel: OffRel, offset: int, size: int, value: int) -> Block:
        return self.ncmp(rel, offset, size, 0xFFFF_FFFF, BPF_JGE, True, value)

    def cmp_le(self, rel: OffRel, offset: int, size: int, value: int) -> Block:
        return self.ncmp(rel, offset, size, 0xFFFF_FFFF, BPF_JGT, True, value)

    def mcmp(self, rel: OffRel, offset: int, size: int, value: int, mask: int) -> Block:
        return self.ncmp(rel, offset, size, mask, BPF_JEQ, False, value)

    def bcmp(self, rel: OffRel, offset: int, data: bytes) -> Block:
        """Compare ``data`` at ``offset``: words from the end, then a half word, then a byte."""
        size = len(data)
        b: Block | None = None

        def add(tmp: Block) -> None:
            nonlocal b
            if b is not None:
                gen_and(b, tmp)
            b = tmp

        while size >= 4:
            add(self.cmp(rel, offset + size - 4, BPF_W, int.from_bytes(data[size - 4 : size])))
            size -= 4
        while size >= 2:
            add(self.cmp(rel, offset + size - 2, BPF_H, int.from_bytes(data[size - 2 : size])))
            size -= 2
        if size > 0:
            add(self.cmp(rel, offset, BPF_B, data[0]))
        assert b is not None
        return b

    def uncond(self, result: bool) -> Block:
        """A block that is always true (``ld #0; jeq #0``) or always false (``ld #1``)."""
        return Block(jmp(BPF_JEQ), 0, [Stmt(BPF_LD | BPF_IMM, 0 if result else 1)])

    def true(self) -> Block:
        return self.uncond(True)

    def false(self) -> Block:
        return self.uncond(False)

    # --- link-layer type tests --------------------------------------------------

    def linktype(self, ll_proto: int) -> Block:
        """Is the link-layer payload of type ``ll_proto`` (an EtherType or LLC SAP)?"""
        if self.label_stack_depth > 0:
            return self.mpls_linktype(ll_proto)
        return self.link.linktype(self, ll_proto)

    def mpls_linktype(self, ll_proto: int) -> Block:
        """Inside MPLS: the bottom-of-stack bit, then the IP version nibble."""
        versions = {0x0800: 0x40, 0x86DD: 0x60}
        if ll_proto not in versions:
            self.error("unsupported protocol over mpls")
        b0 = self.mcmp(OffRel.LINKPL, -2 & 0xFFFF_FFFF, BPF_B, 0x01, 0x01)
        b1 = self.mcmp(OffRel.LINKPL, 0, BPF_B, versions[ll_proto], 0xF0)
        gen_and(b0, b1)
        return b1

    def snap(self, orgcode: int, ptype: int) -> Block:
        """An 802.2 SNAP header with ``orgcode`` and protocol type ``ptype``."""
        data = bytes((LLCSAP_SNAP, LLCSAP_SNAP, 0x03)) + orgcode.to_bytes(3) + ptype.to_bytes(2)
        return self.bcmp(OffRel.LLC, 0, data)

    def not_8023(self) -> Block:
        """The type/length field is a length (an 802.3 frame): ``!(type > 1500)``."""
        b = self.cmp_gt(OffRel.LINKTYPE, 0, BPF_H, ETHERMTU)
        gen_not(b)
        return b

    def ether_linktype(self, ll_proto: int) -> Block:
        """The EtherType/LLC test of Ethernet-like headers (libpcap's ``gen_ether_linktype``)."""
        if ll_proto in (0xFE, 0x06, 0xF0):  # ISO, IP over 802.2, NetBEUI: DSAP and SSAP
            b0 = self.not_8023()
            b1 = self.cmp(OffRel.LLC, 0, BPF_H, (ll_proto << 8) | ll_proto)
            gen_and(b0, b1)
            return b1
        if ll_proto == 0xE0:  # IPX: 802.2, raw 802.3, SNAP, Ethernet II
            b0 = self.cmp(OffRel.LLC, 0, BPF_B, 0xE0)
            b1 = self.cmp(OffRel.LLC, 0, BPF_H, 0xFFFF)
            gen_or(b0, b1)
            gen_or(self.snap(0x000000, 0x8137), b1)
            gen_and(self.not_8023(), b1)
            gen_or(self.cmp(OffRel.LINKTYPE, 0, BPF_H, 0x8137), b1)
            return b1
        if ll_proto in (0x809B, 0x80F3):  # AppleTalk and AARP: SNAP or Ethernet II
            b0 = self.not_8023()
            b1 = self.snap(0x080007, 0x809B) if ll_proto == 0x809B else self.snap(0, 0x80F3)
            gen_and(b0, b1)
            gen_or(self.cmp(OffRel.LINKTYPE, 0, BPF_H, ll_proto), b1)
            return b1
        if ll_proto <= ETHERMTU:
            b0 = self.not_8023()
            b1 = self.cmp(OffRel.LINKTYPE, 2, BPF_B, ll_proto)
            gen_and(b0, b1)
            return b1
        return self.cmp(OffRel.LINKTYPE, 0, BPF_H, ll_proto)


_RELATIVE: dict[OffRel, Callable[[Gen], tuple[AbsOffset, int]]] = {
    OffRel.LINKHDR: lambda g: (g.off_linkhdr, 0),
    OffRel.LLC: lambda g: (g.off_linkpl, 0),
    OffRel.PREVMPLSHDR: lambda g: (g.off_linkpl, g.off_nl - 4),
    OffRel.LINKPL: lambda g: (g.off_linkpl, g.off_nl),
    OffRel.LINKPL_NOSNAP: lambda g: (g.off_linkpl, g.off_nl_nosnap),
    OffRel.LINKTYPE: lambda g: (g.off_linktype, 0),
    OffRel.TRAN_IPV6: lambda g: (g.off_linkpl, g.off_nl + 40),
}
"""Header -> (the absolute offset it starts at, plus a constant)."""
