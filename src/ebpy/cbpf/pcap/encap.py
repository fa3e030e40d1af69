"""Encapsulation and packet-wide primitives: ``vlan``, ``mpls``, ``less``,
``greater``, ``inbound``/``outbound`` and ``byte``, compiled as libpcap 1.10
compiles them for a capture that is not a live Linux socket.

``vlan [id]`` tests the three VLAN EtherTypes (802.1Q, 802.1ad, and the old
QinQ 0x9100), then the id in the low 12 bits of the tag, and moves the
link-layer type and payload offsets 4 bytes on; ``mpls [label]`` tests the
MPLS EtherType (or, inside MPLS, the bottom-of-stack bit of the previous
label clear), then the 20-bit label, and moves the network-layer offset 4
bytes on. Both change every primitive compiled after them in the
expression, whatever ``and``/``or`` join them, as in libpcap. For a live
Linux socket (``Gen.linux_vlan``), where the kernel may have taken the
outer tag out of the data into metadata, the outer ``vlan`` tests the
metadata first (``ldb [vlanp]``, ``ldb [vlan_tci]``) and the offsets after
it become run-time values in scratch registers, started at 0 by
``vlan_prologue``, as libpcap compiles for live captures.

``inbound``/``outbound`` read the packet type of Linux cooked headers, and
otherwise the socket's packet type (``ldh [type]``, a Linux ancillary load).
``byte N op V`` keeps libpcap's code exactly, which for ``&`` and ``|``
tests the accumulator without loading the byte.
"""

from __future__ import annotations

from ebpy.cbpf.isa import (
    BPF_ABS,
    BPF_ADD,
    BPF_ALU,
    BPF_AND,
    BPF_B,
    BPF_H,
    BPF_IMM,
    BPF_JA,
    BPF_JEQ,
    BPF_JGE,
    BPF_JGT,
    BPF_JMP,
    BPF_K,
    BPF_LD,
    BPF_LEN,
    BPF_MEM,
    BPF_OR,
    BPF_ST,
    BPF_W,
    SKF_AD,
    SKF_AD_OFF,
)
from ebpy.cbpf.pcap.blocks import Block, Stmt, gen_and, gen_not, gen_or
from ebpy.cbpf.pcap.gencode import AbsOffset, Gen, OffRel, jmp

__all__ = ["byteop", "direction", "length", "mpls", "vlan", "vlan_prologue"]

ETHERTYPE_8021Q, ETHERTYPE_8021AD, ETHERTYPE_8021QINQ = 0x8100, 0x88A8, 0x9100
ETHERTYPE_MPLS = 0x8847
PACKET_OUTGOING = 4


def _tpid_test(gen: Gen) -> Block:
    """The link-layer type is one of the three VLAN EtherTypes."""
    b0 = gen.linktype(ETHERTYPE_8021Q)
    b1 = gen.linktype(ETHERTYPE_8021AD)
    gen_or(b0, b1)
    b0 = b1
    b1 = gen.linktype(ETHERTYPE_8021QINQ)
    gen_or(b0, b1)
    return b1


def _vid_test(gen: Gen, vid: int) -> Block:
    if vid > 0x0FFF:
        gen.error(f"VLAN tag {vid} greater than maximum {0x0FFF}")
    return gen.mcmp(OffRel.LINKPL, 0, BPF_H, vid, 0x0FFF)


def _grow(gen: Gen, off: AbsOffset, by: int) -> list[Stmt]:
    """Statements adding ``by`` to the run-time part of ``off`` (made variable)."""
    off.variable = True
    if off.reg == -1:
        off.reg = gen.alloc_reg()
    return [
        Stmt(BPF_LD | BPF_MEM, off.reg),
        Stmt(BPF_ALU | BPF_ADD | BPF_K, by),
        Stmt(BPF_ST, off.reg),
    ]


def _vlan_linux(gen: Gen, vid: int | None) -> Block:
    """The outer ``vlan`` on a live Linux socket: the kernel may have moved the tag
    into the packet's metadata (``vlanp``, ``vlan_tci``); if not, it is in the data,
    and the offsets after it grow by 4 at run time (libpcap's
    ``gen_vlan_bpf_extensions``)."""
    b0 = Block(jmp(BPF_JEQ), 1, [Stmt(BPF_LD | BPF_B | BPF_ABS, _ad("vlan_tag_present"))])
    b_tpid = _tpid_test(gen)
    b_vid = _vid_test(gen, vid) if vid is not None else None
    gen.vlan_vloffset = True
    grow = _grow(gen, gen.off_linkpl, 4) + _grow(gen, gen.off_linktype, 4)
    b_tpid.head.stmts = grow + b_tpid.head.stmts
    gen_or(b0, b_tpid)
    b0 = b_tpid
    if b_vid is not None:
        original = b_vid.stmts
        present = Stmt(BPF_LD | BPF_B | BPF_ABS, _ad("vlan_tag_present"))
        test = Stmt(BPF_JMP | BPF_JEQ | BPF_K, 1)
        tci = Stmt(BPF_LD | BPF_B | BPF_ABS, _ad("vlan_tci"))
        test.jt, test.jf = tci, original[0]
        skip = Stmt(BPF_JMP | BPF_JA, len(original) - 1)  # to the 'and' of the VID
        b_vid.stmts = [present, test, tci, skip, *original]
        gen_and(b0, b_vid)
        b0 = b_vid
    return b0


def vlan(gen: Gen, vid: int | None) -> Block:
    """``vlan [vid]``."""
    if gen.label_stack_depth > 0:
        gen.error("no VLAN match after MPLS")
    if not gen.link.ethernet:
        gen.error(f"no VLAN support for {gen.link.description}")
    outermost = not gen.off_linkhdr.variable and gen.off_linkhdr.constant == 0
    if gen.linux_vlan and gen.vlan_stack_depth == 0 and outermost:
        b0 = _vlan_linux(gen, vid)
    else:
        b0 = _tpid_test(gen)
        if vid is not None:
            b1 = _vid_test(gen, vid)
            gen_and(b0, b1)
            b0 = b1
        gen.off_linkpl.constant += 4
        gen.off_linktype.constant += 4
    gen.vlan_stack_depth += 1
    return b0


def vlan_prologue(gen: Gen, head: Block) -> None:
    """Start the run-time offsets ``vlan`` grows at 0, before the whole program."""
    if not gen.vlan_vloffset:
        return
    for off in (gen.off_linkpl, gen.off_linktype):
        if off.reg == -1:
            off.reg = gen.alloc_reg()
    prologue = [
        Stmt(BPF_LD | BPF_IMM, 0),
        Stmt(BPF_ST, gen.off_linkpl.reg),
        Stmt(BPF_ST, gen.off_linktype.reg),
    ]
    head.stmts = prologue + head.stmts


def _ad(name: str) -> int:
    """The (u32) offset of a Linux ancillary load."""
    return (SKF_AD_OFF + SKF_AD[name]) & 0xFFFF_FFFF


def mpls(gen: Gen, label: int | None) -> Block:
    """``mpls [label]``."""
    if gen.label_stack_depth > 0:
        b0 = gen.mcmp(OffRel.PREVMPLSHDR, 2, BPF_B, 0, 0x01)
    else:
        if not gen.link.ethernet:
            gen.error(f"no MPLS support for {gen.link.description}")
        b0 = gen.linktype(ETHERTYPE_MPLS)
    if label is not None:
        if label > 0xFFFFF:
            gen.error(f"MPLS label {label} greater than maximum {0xFFFFF}")
        b1 = gen.mcmp(OffRel.LINKPL, 0, BPF_W, label << 12, 0xFFFFF000)
        gen_and(b0, b1)
        b0 = b1
    gen.off_nl_nosnap += 4
    gen.off_nl += 4
    gen.label_stack_depth += 1
    return b0


def length(gen: Gen, greater: bool, value: int) -> Block:
    """``greater N`` (length >= N) or ``less N`` (length <= N)."""
    b = Block(jmp(BPF_JGE if greater else BPF_JGT), value, [Stmt(BPF_LD | BPF_LEN)])
    if not greater:
        gen_not(b)
    return b


def direction(gen: Gen, outbound: bool) -> Block:
    """``inbound`` / ``outbound``."""
    if gen.link.direction is not None:
        offset, size = gen.link.direction
        b = gen.cmp(OffRel.LINKHDR, offset, size, PACKET_OUTGOING)
    else:
        if gen.savefile:
            gen.error(
                f"inbound/outbound not supported on {gen.link.description} when reading savefiles"
            )
        pkttype = SKF_AD_OFF + SKF_AD["pkttype"]
        b = gen.cmp(OffRel.LINKHDR, pkttype & 0xFFFF_FFFF, BPF_H, PACKET_OUTGOING)
    if not outbound:
        gen_not(b)
    return b


def byteop(gen: Gen, op: str, index: int, value: int) -> Block:
    """``byte INDEX op VALUE``."""
    if op == "=":
        return gen.cmp(OffRel.LINKHDR, index, BPF_B, value)
    if op == "<":
        return gen.cmp_lt(OffRel.LINKHDR, index, BPF_B, value)
    if op == ">":
        return gen.cmp_gt(OffRel.LINKHDR, index, BPF_B, value)
    alu = BPF_OR if op == "|" else BPF_AND
    b = Block(jmp(BPF_JEQ), 0, [Stmt(BPF_ALU | alu | BPF_K, value)])
    gen_not(b)
    return b
