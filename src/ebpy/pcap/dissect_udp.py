"""Summaries of UDP and what the corpus sends over it (DNS, NTP, BOOTP/DHCP), and of SCTP.

UDP prints ``src.port > dst.port: UDP, length N`` unless a port names a
protocol with a one-line summary here: DNS on port 53 (``4660+ A?
example.com. (29)``, ``4660 2/0/0 CNAME www.example.org., A 5.6.7.8
(89)``), NTP on 123 (``NTPv4, Client, length 48``), BOOTP/DHCP on 67/68
(``BOOTP/DHCP, Request from 02:00:00:00:00:01, length 300``). SCTP prints its
chunks one after the other (``sctp (1) [INIT] [init tag: ...] ...``).

This module only prints, as ``tcpdump -n`` (without ``-v``) does.
"""

from __future__ import annotations

from ebpy.pcap.dissect import Dissection, IpProto, Registry, Truncated, ip6, mac
from ebpy.pcap.dissect import ip4 as ip4_text

__all__ = ["REGISTRY", "dns", "sctp", "udp"]


def _addresses(d: Dissection, ports: tuple[int, int] | None) -> None:
    """Print ``src.port > dst.port: `` (just ``port > port: `` after IPv6 extension
    headers), or ``src > dst: `` when the ports are not known."""
    ip = d.ip
    assert ip is not None
    if ports is None:
        if ip.direct:
            d.put(f"{ip.src} > {ip.dst}: ")
    elif ip.direct:
        d.put(f"{ip.src}.{ports[0]} > {ip.dst}.{ports[1]}: ")
    else:
        d.put(f"{ports[0]} > {ports[1]}: ")


def udp(d: Dissection, off: int, length: int) -> None:
    """A UDP datagram at ``off``: ``length`` bytes as the IP header says."""
    d.proto = "udp"
    ip = d.ip
    assert ip is not None
    if not d.has(off, 4):
        _addresses(d, None)
        raise Truncated
    ports = (d.u16(off), d.u16(off + 2))
    if length < 8:
        _addresses(d, ports)
        d.put(f"truncated-udp {length}")
        return
    if not d.has(off + 4, 2):
        _addresses(d, ports)
        raise Truncated
    ulen = d.u16(off + 4)
    if ulen == 0 and length > 65535:
        ulen = length
    if ulen < 8:
        _addresses(d, ports)
        d.put(f"truncated-udplength {ulen}")
        return
    ulen -= 8
    length -= 8
    length = min(length, ulen)
    if not d.has(off, 8):
        _addresses(d, ports)
        raise Truncated
    _addresses(d, ports)
    sport, dport = ports
    printer = d.registry.udp_ports.get(sport) or d.registry.udp_ports.get(dport)
    if printer is not None:
        printer(d, off + 8, length)
    elif ulen > length and not ip.fragmented:
        d.put(f"UDP, bad length {ulen} > {length}")
    else:
        d.put(f"UDP, length {ulen}")


# -- DNS ----------------------------------------------------------------------------------
_RCODES = ("", " FormErr", " ServFail", " NXDomain", " NotImp", " Refused", " YXDomain",
           " YXRRSet", " NXRRSet", " NotAuth", " NotZone", " Resp11", " Resp12", " Resp13",
           " Resp14", " NoChange")  # fmt: skip
_OPCODES = ("", " inv_q", " stat", " op3", " notify", " update", " op6", " op7", " op8",
            " updateA", " updateD", " updateDA", " updateM", " updateMA", " zoneInit",
            " zoneRef")  # fmt: skip
_TYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 13: "HINFO", 15: "MX", 16: "TXT",
          28: "AAAA", 33: "SRV", 39: "DNAME", 41: "OPT", 252: "AXFR", 255: "ANY"}  # fmt: skip
_CLASSES = {1: "IN", 3: "CHAOS", 4: "HS", 255: "ANY"}


def _skip_name(d: Dissection, cur: int) -> int | None:
    """The offset past the name at ``cur`` (a compression pointer ends it), or None
    when the name runs past the captured bytes."""
    if not d.has(cur, 1):
        return None
    size = d.u8(cur)
    cur += 1
    while size:
        if size & 0xC0 == 0xC0:
            return cur + 1
        if size & 0xC0:
            return None
        cur += size
        if not d.has(cur, 1):
            return None
        size = d.u8(cur)
        cur += 1
    return cur


def _name(d: Dissection, base: int, cur: int) -> None:
    """Print the domain name at ``cur`` (following compression pointers back towards
    ``base``) with a dot after each label, as far as it is captured; ``Truncated``
    when it runs past the captured bytes or is malformed."""
    size = d.u8(cur)
    if size == 0:
        d.put(".")
        return
    limit = cur - base
    cur += 1
    while size and cur < d.end:
        if size & 0xC0 == 0xC0:
            offset = (size << 8 | d.u8(cur)) & 0x3FFF
            if offset >= limit:
                d.put("<BAD PTR>")
                raise Truncated
            limit = offset
            cur = base + offset
            size = d.u8(cur)
            cur += 1
            continue
        if size & 0xC0:
            d.put("<BAD LABEL TYPE>")
            raise Truncated
        label = d.data[cur : min(cur + size, d.end)]
        d.put("".join(_CHAR_TEXT[c] for c in label))
        if len(label) < size:
            raise Truncated
        cur += size
        d.put(".")
        size = d.u8(cur)
        cur += 1


def _char_text(c: int) -> str:
    if c >= 0x80:
        c &= 0x7F
        prefix = "M-"
    else:
        prefix = ""
    if c < 0x20 or c == 0x7F:
        return f"{prefix}^{chr(c ^ 0x40)}"
    return prefix + chr(c)


_CHAR_TEXT = tuple(_char_text(c) for c in range(256))


def _answer(d: Dissection, base: int, cur: int) -> int | None:
    """Print one resource record (`` TYPE data``); the offset after it, the captured
    end when the record's fixed part is not captured, ``Truncated`` in its data."""
    after_name = _skip_name(d, cur)
    if after_name is None or not d.has(after_name, 10):
        return d.end
    cur = after_name
    rtype, rclass, size = d.u16(cur), d.u16(cur + 2), d.u16(cur + 8)
    cur += 10
    if rclass != 1 and rtype != 41:
        d.put(f" {_CLASSES.get(rclass, f'(Class {rclass})')}")
    d.put(f" {_TYPES.get(rtype, f'Type{rtype}')}")
    end = cur + size
    if end > d.end:
        raise Truncated
    if rtype == 1:
        d.put(" " + ip4_text(d.raw(cur, 4)))
    elif rtype == 28:
        d.put(" " + ip6(d.raw(cur, 16)))
    elif rtype in (2, 5, 12, 39):
        d.put(" ")
        _name(d, base, cur)
    elif rtype == 15:
        d.put(" ")
        d.need(cur, 2)
        _name(d, base, cur + 2)
        d.put(f" {d.u16(cur)}")
    elif rtype == 16:
        while cur < end:
            n = d.u8(cur)
            text = "".join(_CHAR_TEXT[c] for c in d.raw(cur + 1, n))
            d.put(f' "{text}"')
            cur += 1 + n
    return end


def _question(d: Dissection, base: int, cur: int) -> int:
    after = _skip_name(d, cur)
    if after is None or not d.has(after, 4):
        raise Truncated
    qtype, qclass = d.u16(after), d.u16(after + 2)
    d.put(f" {_TYPES.get(qtype, f'Type{qtype}')}")
    if qclass != 1:
        d.put(f" {_CLASSES.get(qclass, f'(Class {qclass})')}")
    d.put("? ")
    _name(d, base, cur)
    return after + 4


def dns(d: Dissection, off: int, length: int) -> None:
    """A DNS message at ``off`` of ``length`` bytes."""
    d.proto = "domain"
    if length < 12:
        d.put(f"domain [length {length} < 12] (invalid)")
        return
    d.need(off, 12)
    _dns_body(d, off)
    d.put(f" ({length})")


def _dns_body(d: Dissection, off: int) -> None:
    ident, flags = d.u16(off), d.u16(off + 2)
    qd, an, ns, ar = d.u16(off + 4), d.u16(off + 6), d.u16(off + 8), d.u16(off + 10)
    opcode = _OPCODES[flags >> 11 & 0xF]
    cur = off + 12
    if flags & 0x8000:
        d.put(
            f"{ident}{opcode}{_RCODES[flags & 0xF]}{'*' if flags & 0x0400 else ''}"
            f"{'' if flags & 0x0080 else '-'}{'|' if flags & 0x0200 else ''}"
            f"{'$' if flags & 0x0020 else ''}"
        )
        if qd != 1:
            d.put(f" [{qd}q]")
        for i in range(qd):
            if i:
                d.put(",")
            after = _skip_name(d, cur)
            if after is None:
                raise Truncated
            cur = after + 4
        d.put(f" {an}/{ns}/{ar}")
        if an:
            next_cur = _answer(d, off, cur)
            if next_cur is None:
                raise Truncated
            cur, an = next_cur, an - 1
            while cur < d.end and an:
                d.put(",")
                next_cur = _answer(d, off, cur)
                if next_cur is None:
                    raise Truncated
                cur, an = next_cur, an - 1
        if an:
            raise Truncated
        return
    d.put(f"{ident}{opcode}{'+' if flags & 0x0100 else ''}{'%' if flags & 0x0010 else ''}")
    if flags & 0x6CF:
        d.put(f" [b2&3=0x{flags:x}]")
    if flags >> 11 & 0xF == 1:
        if qd:
            d.put(f" [{qd}q]")
        if an != 1:
            d.put(f" [{an}a]")
    else:
        if an:
            d.put(f" [{an}a]")
        if qd != 1:
            d.put(f" [{qd}q]")
    if ns:
        d.put(f" [{ns}n]")
    if ar:
        d.put(f" [{ar}au]")
    if qd:
        cur = _question(d, off, cur)
        qd -= 1
        while cur < d.end and qd:
            cur = _question(d, off, cur)
            qd -= 1
    if qd:
        raise Truncated


# -- NTP, BOOTP ---------------------------------------------------------------------------
_NTP_MODES = ("unspecified", "symmetric active", "symmetric passive", "Client", "Server",
              "Broadcast", "Control Message", "Reserved")  # fmt: skip


def ntp(d: Dissection, off: int, length: int) -> None:
    d.proto = "ntp"
    first = d.u8(off)
    d.put(f"NTPv{first >> 3 & 7}, {_NTP_MODES[first & 7]}, length {length}")


def bootp(d: Dissection, off: int, length: int) -> None:
    d.proto = "bootp"
    op = d.u8(off)
    name = {1: "Request", 2: "Reply"}.get(op, f"unknown (0x{op:02x})")
    d.put(f"BOOTP/DHCP, {name}")
    htype, hlen = d.u8(off + 1), d.u8(off + 2)
    if op == 1 and htype == 1 and hlen == 6:
        d.put(f" from {mac(d.raw(off + 28, 6))}")
    d.put(f", length {length}")


# -- SCTP ---------------------------------------------------------------------------------
_CHUNKS = {0: "DATA", 1: "INIT", 2: "INIT ACK", 3: "SACK", 4: "HB REQ", 5: "HB ACK",
           6: "ABORT", 7: "SHUTDOWN", 8: "SHUTDOWN ACK", 9: "OP ERR", 10: "COOKIE ECHO",
           11: "COOKIE ACK", 12: "ECN ECHO", 13: "ECN CWR", 14: "SHUTDOWN COMPLETE",
           15: "AUTH", 0xC0: "FOR CUM TSN", 0xC1: "ASCONF", 0x80: "ASCONF-ACK"}  # fmt: skip


def _sctp_chunk(d: Dissection, ctype: int, flags: int, cur: int, size: int) -> bool:
    """Print the fields of one chunk; False when the chunk is too short for them."""
    if ctype == 0:
        marks = "".join(f"({c})" for bit, c in ((4, "U"), (2, "B"), (1, "E")) if flags & bit)
        d.put(marks + (" " if marks else ""))
        if size < 16:
            d.put(f"bogus chunk length {size}]")
            return False
        d.put(
            f"[TSN: {d.u32(cur + 4)}] [SID: {d.u16(cur + 8)}] [SSEQ {d.u16(cur + 10)}] "
            f"[PPID 0x{d.u32(cur + 12):x}] "
        )
        if size == 16:
            d.put(f"bogus chunk length {size}]")
            return False
    elif ctype in (1, 2):
        if size < 20:
            d.put(f"bogus chunk length {size}]")
            return False
        d.put(
            f"[init tag: {d.u32(cur + 4)}] [rwnd: {d.u32(cur + 8)}] [OS: {d.u16(cur + 12)}] "
            f"[MIS: {d.u16(cur + 14)}] [init TSN: {d.u32(cur + 16)}] "
        )
    elif ctype == 3:
        if size < 16:
            d.put(f"bogus chunk length {size}]")
            return False
        d.put(
            f"[cum ack {d.u32(cur + 4)}] [a_rwnd {d.u32(cur + 8)}] "
            f"[#gap acks {d.u16(cur + 12)}] [#dup tsns {d.u16(cur + 14)}] "
        )
    return True


def sctp(d: Dissection, off: int, length: int) -> None:
    """An SCTP packet: the common header, then each chunk as ``(n) [NAME] ...``."""
    d.proto = "sctp"
    ip = d.ip
    assert ip is not None
    if length < 12:
        d.put(f"truncated-sctp - {12 - length} bytes missing!")
        return
    d.need(off, 12)
    d.put(f"{ip.src}.{d.u16(off)} > {ip.dst}.{d.u16(off + 2)}: sctp")
    cur, remaining = off + 12, length - 12
    sep = " ("
    index = 0
    while remaining > 0:
        index += 1
        if remaining < 4:
            d.put(f"{sep}{index}) [chunk descriptor cut off at end of packet]")
            return
        d.need(cur, 4)
        ctype, flags, size = d.u8(cur), d.u8(cur + 1), d.u16(cur + 2)
        if size < 4:
            d.put(f"{sep}{index}) [Bad chunk length {size}, < size of chunk descriptor]")
            return
        align = -size % 4
        if remaining < align:
            d.put(f"{sep}{index}) [Bad chunk length {size}, > remaining data in packet]")
            return
        d.need(cur, size)
        name = _CHUNKS.get(ctype, f"Unknown chunk type: 0x{ctype:x}")
        d.put(f"{sep}{index}) [{name}] ")
        if not _sctp_chunk(d, ctype, flags, cur, size):
            return
        sep = ", ("
        d.need(cur + size, align)
        cur += size + align
        remaining -= size + align


REGISTRY = Registry(
    ip_protos={IpProto.UDP: udp, IpProto.SCTP: sctp},
    udp_ports={53: dns, 123: ntp, 67: bootp, 68: bootp},
)
"""UDP and SCTP by IP protocol; DNS, NTP and BOOTP by UDP port."""
