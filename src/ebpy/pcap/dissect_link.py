"""Summaries of the link layer: Ethernet, 802.1Q/QinQ tags, 802.2 LLC (STP, SNAP), MPLS, ARP.

``ethernet`` is the entry point for ``LINKTYPE_ETHERNET`` packets. It prints
what ``tcpdump -n`` prints: nothing of the Ethernet header unless ``-e``
(``link_header``) asks for it (``src > dst, ethertype IPv4 (0x0800), length
60: `` and, per VLAN tag, ``vlan 5, p 0, ethertype IPv4 (0x0800), ``), or
the type is unknown, in which case the header and a hex dump of the payload
are printed. 802.3 length frames go to the LLC printer (spanning-tree
configuration BPDUs, SNAP-encapsulated Ethernet types, other SAPs as a hex
dump); MPLS prints the label stack and guesses IPv4/IPv6 below it; ARP and
RARP print one line per operation.

This module only prints; it is driven by ``ebpy.pcap.summary``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from ebpy.pcap.dissect import (
    Dissection,
    Done,
    EtherType,
    Registry,
    Truncated,
    hex_ascii_lines,
    ip4,
    mac,
)

__all__ = ["ETHERTYPE_NAMES", "REGISTRY", "ethernet"]

ETHERTYPE_NAMES = {
    0x0800: "IPv4", 0x0806: "ARP", 0x8035: "Reverse ARP", 0x8100: "802.1Q", 0x86DD: "IPv6",
    0x8847: "MPLS unicast", 0x8848: "MPLS multicast", 0x88A8: "802.1Q-QinQ",
    0x9100: "802.1Q-9100", 0x9200: "802.1Q-9200", 0x88CC: "LLDP", 0x8863: "PPPoE D",
    0x8864: "PPPoE S", 0x888E: "EAPOL", 0x88F7: "PTP", 0x9000: "Loopback", 0x88E5: "802.1AE",
    0x8809: "Slow Protocols", 0x0842: "Unknown",
}  # fmt: skip
"""Names tcpdump gives Ethernet types in ``ethertype NAME (0x....)``."""

_VLAN_TPIDS = frozenset({0x8100, 0x88A8, 0x9100, 0x9200})
_MAX_LENGTH = 1500


def _type_text(ethertype: int) -> str:
    return f"{ETHERTYPE_NAMES.get(ethertype, 'Unknown')} (0x{ethertype:04x})"


def _addresses(d: Dissection) -> str:
    return f"{mac(d.data[6:12])} > {mac(d.data[0:6])}"


def ethernet(d: Dissection, off: int, length: int) -> None:
    """An Ethernet frame at ``off`` of ``length`` wire bytes."""
    d.proto = "ether"
    if d.available(off) < 14:
        raise Truncated
    eflag = d.link_header
    if eflag:
        d.put(_addresses(d) + ", ")
    wire = length
    ltype = d.u16(off + 12)
    off += 14
    length -= 14
    tagged = False
    while ltype in _VLAN_TPIDS:
        d.proto = "vlan"
        if d.available(off) < 4 or length < 4:
            raise Truncated
        if eflag:
            if tagged:
                d.put(f"ethertype {_type_text(ltype)}, ")
            else:
                d.put(f"ethertype {_type_text(ltype)}, length {wire}: ")
            tci = d.u16(off)
            dei = ", DEI" if tci & 0x1000 else ""
            d.put(f"vlan {tci & 0xFFF}, p {tci >> 13}{dei}, ")
        tagged = True
        ltype = d.u16(off + 2)
        off += 4
        length -= 4
    if eflag and tagged and ltype > _MAX_LENGTH:
        d.put(f"ethertype {_type_text(ltype)}, ")
    if ltype <= _MAX_LENGTH:
        if eflag:
            d.put("802.3" + (f", length {ltype}: " if not tagged else ""))
        _llc(d, off, min(length, ltype), ltype)
        return
    if eflag and not tagged:
        d.put(f"ethertype {_type_text(ltype)}, length {wire}: ")
    if not d.ethertype(ltype, off, length):
        if not eflag:
            d.put(f"{_addresses(d)}, ethertype {_type_text(ltype)}, length {wire}: ")
        d.put(hex_ascii_lines(d.data[off : d.end]))


# -- 802.2 LLC ----------------------------------------------------------------------------
_SAP_NAMES = {0x42: "STP", 0xAA: "SNAP", 0x06: "IP", 0xE0: "IPX", 0xF0: "NetBeui", 0xFE: "OSI"}
_U_NAMES = {0x03: "ui", 0xE3: "test", 0xAF: "xid", 0x2F: "sabme", 0x43: "disc", 0x63: "ua",
            0x0F: "dm", 0x87: "frmr"}  # fmt: skip
_OUI_NAMES = {0x000000: "Ethernet", 0x00000C: "Cisco", 0x0080C2: "Ethernet bridged"}


def _llc(d: Dissection, off: int, length: int, field: int) -> None:
    d.proto = "llc"
    if not d.has(off, 3):
        # tcpdump marks the cut header, then dumps what there is of it
        d.put(" [|llc]" + hex_ascii_lines(d.data[off : d.end]))
        raise Done
    dsap_field = d.u8(off)
    ssap_field = d.u8(off + 1)
    ctrl = d.u8(off + 2)
    dsap, ssap = dsap_field & 0xFE, ssap_field & 0xFE
    if d.link_header:
        d.put(
            f"LLC, dsap {_SAP_NAMES.get(dsap, 'Unknown')} (0x{dsap:02x}) "
            f"{'Group' if dsap_field & 1 else 'Individual'}, "
            f"ssap {_SAP_NAMES.get(ssap, 'Unknown')} (0x{ssap:02x}) "
            f"{'Response' if ssap_field & 1 else 'Command'}, ctrl 0x{ctrl:02x}: "
        )
    if dsap == 0x42 and ssap == 0x42 and ctrl == 0x03:
        _stp(d, off + 3, length - 3)
        return
    if dsap == 0xAA and ssap == 0xAA and ctrl == 0x03:
        _snap(d, off + 3, length - 3)
        return
    if not d.link_header:
        dsap_name = _SAP_NAMES.get(dsap, f"Unknown DSAP 0x{dsap:02x}")
        if ssap == dsap:
            d.put(f"{_addresses(d)} {dsap_name} ")
        else:
            ssap_name = _SAP_NAMES.get(ssap, f"Unknown SSAP 0x{ssap:02x}")
            d.put(f"{mac(d.data[6:12])} {ssap_name} > {mac(d.data[0:6])} {dsap_name} ")
    poll = "Command" if not ssap_field & 1 else "Response"
    if ctrl & 3 == 3:
        name = _U_NAMES.get(ctrl & 0xEF, f"0x{ctrl & 0xEF:02x}")
        flag = ("Final" if ssap_field & 1 else "Poll") if ctrl & 0x10 else poll
        d.put(f"Unnumbered, {name}, Flags [{flag}], length {length}")
    else:
        d.put(f"Information, send seq 0, rcv seq 0, Flags [{poll}], length {length}")
    d.put(hex_ascii_lines(d.data[off : min(d.end, off + length)]))


def _snap(d: Dissection, off: int, length: int) -> None:
    d.proto = "snap"
    oui = int.from_bytes(d.raw(off, 3), "big")
    ethertype = d.u16(off + 3)
    if d.link_header:
        d.put(
            f"oui {_OUI_NAMES.get(oui, 'Unknown')} (0x{oui:06x}), "
            f"ethertype {_type_text(ethertype)}, length {length - 5}: "
        )
    if oui != 0 or not d.ethertype(ethertype, off + 5, length - 5):
        d.put(hex_ascii_lines(d.data[off + 5 : d.end]))


_STP_FLAGS = ((0x01, "Topology change"), (0x02, "Proposal"), (0x10, "Learn"),
              (0x20, "Forward"), (0x40, "Agreement"), (0x80, "Topology change ACK"))  # fmt: skip
_STP_VERSIONS = {0: "802.1d", 2: "802.1w", 3: "802.1s", 4: "802.1aq"}
_STP_TYPES = {0: "Config", 2: "Rapid STP", 0x80: "Topology Change"}


def _bridge_id(raw: bytes) -> str:
    return f"{raw[0]:02x}{raw[1]:02x}.{mac(raw[2:8])}"


def _stp(d: Dissection, off: int, length: int) -> None:
    """A spanning-tree BPDU: the version and type, and for configuration BPDUs the
    flags and the bridge and port ids."""
    d.proto = "stp"
    if length < 4:
        d.put(" (invalid)")
        return
    if d.u16(off):
        d.put(f"unknown STP version, length {length}")
        return
    version = d.u8(off + 2)
    d.put(f"STP {_STP_VERSIONS.get(version, f'Unknown STP protocol (0x{version:02x})')}")
    if version not in _STP_VERSIONS:
        return
    bpdu_type = d.u8(off + 3)
    d.put(f", {_STP_TYPES.get(bpdu_type, f'Unknown BPDU Type (0x{bpdu_type:02x})')}")
    if bpdu_type == 0 or (bpdu_type == 2 and version == 2):
        if length < 35:
            d.put(" (invalid)")
            return
        flags = d.u8(off + 4)
        names = [name for bit, name in _STP_FLAGS if flags & bit]
        d.put(f", Flags [{', '.join(names) or 'none'}]")
        bridge = _bridge_id(d.raw(off + 17, 8))
        d.put(f", bridge-id {bridge}.{d.u16(off + 25):04x}, length {length}")


# -- MPLS ---------------------------------------------------------------------------------
def mpls(d: Dissection, off: int, length: int) -> None:
    d.proto = "mpls"
    d.put("MPLS")
    label = 0
    while True:
        entry = d.u32(off)
        label = entry >> 12
        bottom = entry >> 8 & 1
        d.put(
            f" (label {label}, tc {entry >> 9 & 7}, {'[S], ' if bottom else ''}ttl {entry & 0xFF})"
        )
        off += 4
        length -= 4
        if bottom:
            break
    first = d.u8(off)
    if label == 0 or (label != 2 and first >> 4 == 4):
        d.put(" ")
        d.ethertype(EtherType.IPV4, off, length)
    elif label == 2 or first >> 4 == 6:
        d.put(" ")
        d.ethertype(EtherType.IPV6, off, length)
    else:
        d.put(hex_ascii_lines(d.data[off : d.end]))


# -- ARP ----------------------------------------------------------------------------------
_ARP_OPS = {1: "Request", 2: "Reply", 3: "Reverse Request", 4: "Reverse Reply",
            8: "Inverse Request", 9: "Inverse Reply", 10: "NACK Reply"}  # fmt: skip
_ARP_HARDWARE = {1: "Ethernet", 6: "TokenRing", 7: "ArcNet", 15: "FrameRelay", 19: "ATM",
                 23: "Strip", 24: "IEEE 1394", 32: "InfiniBand"}  # fmt: skip


def _link_address(raw: bytes) -> str:
    return mac(raw) if raw else "(null)"


class _ArpAddresses(NamedTuple):
    sha: str
    spa: str
    tha: str
    tpa: str
    tha_set: bool


def _who_has(a: _ArpAddresses) -> str:
    return f"who-has {a.tpa}{f' ({a.tha})' if a.tha_set else ''} tell {a.spa}"


_ARP_TEXT: dict[int, Callable[[_ArpAddresses], str]] = {
    1: _who_has,
    2: lambda a: f"{a.spa} is-at {a.sha}",
    3: lambda a: f"who-is {a.tha} tell {a.sha}",
    4: lambda a: f"{a.tha} at {a.tpa}",
    8: lambda a: f"who-is {a.tha} tell {a.sha}",
    9: lambda a: f"{a.sha} at {a.spa}",
}
"""What follows the operation's name, for each ARP/RARP/InARP operation."""


def arp(d: Dissection, off: int, length: int) -> None:
    """An ARP or RARP packet: ``Request who-has A tell B``, ``Reply A is-at M`` ..."""
    d.proto = "arp"
    d.need(off, 8)
    hrd, pro, hln, pln, op = (
        d.u16(off),
        d.u16(off + 2),
        d.u8(off + 4),
        d.u8(off + 5),
        d.u16(off + 6),
    )
    sha_at, spa_at = off + 8, off + 8 + hln
    tha_at, tpa_at = off + 8 + hln + pln, off + 8 + 2 * hln + pln
    d.need(tpa_at, pln)
    if not d.link_header:
        d.put("ARP, ")
    if pro not in (EtherType.IPV4, 0x1000) or pln != 4 or hln == 0:
        hardware = _ARP_HARDWARE.get(hrd, f"Unknown Hardware ({hrd})")
        protocol = ETHERTYPE_NAMES.get(pro, f"Unknown Protocol (0x{pro:04x})")
        d.put(f"{hardware} (len {hln}), {protocol} (len {pln}), length {length}")
        return
    d.put(_ARP_OPS.get(op, f"Unknown ({op})") + " ")
    text = _ARP_TEXT.get(op)
    if text is None:
        d.put(hex_ascii_lines(d.data[off : d.end]))
        return
    tha_raw = d.raw(tha_at, hln)
    addresses = _ArpAddresses(
        _link_address(d.raw(sha_at, hln)), ip4(d.raw(spa_at, 4)),
        _link_address(tha_raw), ip4(d.raw(tpa_at, 4)), any(tha_raw),
    )  # fmt: skip
    d.put(text(addresses))
    d.put(f", length {length}")


REGISTRY = Registry(
    ethertypes={
        EtherType.ARP: arp,
        EtherType.RARP: arp,
        EtherType.MPLS: mpls,
        EtherType.MPLS_MULTI: mpls,
    }
)
"""The link-layer protocols by Ethernet type (``ethernet`` itself is the link type's)."""
