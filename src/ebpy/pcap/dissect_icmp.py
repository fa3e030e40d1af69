"""Summaries of ICMP, ICMPv6 and IGMP messages.

ICMP prints ``ICMP echo request, id 1, seq 2, length 64`` and, for errors,
what the quoted header says (``ICMP 10.0.0.1 udp port 53 unreachable``,
``ICMP time exceeded in-transit``); ICMPv6 prints ``ICMP6, echo request,
...``, neighbour discovery (``neighbor solicitation, who has fe80::1``) and
MLD; IGMP prints ``igmp v2 report 239.1.2.3`` and friends. Each is what
``tcpdump -n`` prints without ``-v``.

This module only prints.
"""

from __future__ import annotations

from collections.abc import Callable

from ebpy.pcap.dissect import Dissection, IpProto, Registry, Truncated, hex_lines, ip6
from ebpy.pcap.dissect import ip4 as ip4_text

__all__ = ["REGISTRY", "icmp", "icmp6", "igmp"]


# -- ICMP ---------------------------------------------------------------------------------
_UNREACH = {
    0: "net {dst} unreachable",
    1: "host {dst} unreachable",
    5: "{dst} unreachable - source route failed",
    6: "net {dst} unreachable - unknown",
    7: "host {dst} unreachable - unknown",
    8: "{dst} unreachable - source host isolated",
    9: "net {dst} unreachable - admin prohibited",
    10: "host {dst} unreachable - admin prohibited",
    11: "net {dst} unreachable - tos prohibited",
    12: "host {dst} unreachable - tos prohibited",
    13: "host {dst} unreachable - admin prohibited filter",
    14: "host {dst} unreachable - host precedence violation",
    15: "host {dst} unreachable - precedence cutoff",
}
_REDIRECT = {0: "redirect", 1: "redirect", 2: "redirect-tos", 3: "redirect-tos"}
_SIMPLE = {0: "echo reply", 4: "source quench", 8: "echo request", 10: "router solicitation",
           13: "time stamp request", 14: "time stamp reply", 15: "information request",
           16: "information reply", 17: "address mask request"}  # fmt: skip


def _ms_of_day(ms: int) -> str:
    sec, milli = divmod(ms, 1000)
    return f"{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}.{milli:03d}"


def _quoted_dst(d: Dissection, off: int) -> str:
    return ip4_text(d.raw(off + 24, 4))


def _unreach(d: Dissection, off: int, code: int) -> str:
    if code == 2:
        return f"{_quoted_dst(d, off)} protocol {d.u8(off + 17)} unreachable"
    if code == 3:
        proto = d.u8(off + 17)
        hlen = (d.u8(off + 8) & 0xF) * 4
        dport = d.u16(off + 8 + hlen + 2)
        proto = d.u8(off + 17)
        name = {6: "tcp", 17: "udp"}.get(proto)
        dst = _quoted_dst(d, off)
        if name is None:
            return f"{dst} protocol {proto} port {dport} unreachable"
        return f"{dst} {name} port {dport} unreachable"
    if code == 4:
        mtu = d.u16(off + 6)
        dst = _quoted_dst(d, off)
        return f"{dst} unreachable - need to frag" + (f" (mtu {mtu})" if mtu else "")
    text = _UNREACH.get(code)
    dst = _quoted_dst(d, off)
    return text.format(dst=dst) if text else f"{dst} unreachable - #{code}"


def _router_advert(d: Dissection, off: int) -> str:
    d.need(off + 4, 4)
    life = d.u16(off + 6)
    if life < 60:
        text = f"router advertisement lifetime {life}"
    elif life < 3600:
        text = f"router advertisement lifetime {life // 60}:{life % 60:02d}"
    else:
        text = (
            f"router advertisement lifetime {life // 3600}:{life % 3600 // 60:02d}:{life % 60:02d}"
        )
    count, size = d.u8(off + 4), d.u8(off + 5)
    text += f" {count}:"
    if size != 2:
        return text + f" [size {size}]"
    for i in range(count):
        entry = off + 8 + 8 * i
        d.need(entry, 8)
        text += f" {{{ip4_text(d.raw(entry, 4))} {d.u32(entry + 4)}}}"
    return text


def _echo(d: Dissection, off: int, itype: int, code: int) -> str:
    kind = "echo reply" if itype == 0 else "echo request"
    return f"{kind}, id {d.u16(off + 4)}, seq {d.u16(off + 6)}"


def _unreachable(d: Dissection, off: int, itype: int, code: int) -> str:
    return _unreach(d, off, code)


def _redirect(d: Dissection, off: int, itype: int, code: int) -> str:
    redirect = _REDIRECT.get(code)
    dst, gateway = _quoted_dst(d, off), ip4_text(d.raw(off + 4, 4))
    if redirect is None:
        return f"redirect-#{code} {dst} to {gateway}"
    return f"{redirect} {dst} to {'net' if code in (0, 2) else 'host'} {gateway}"


def _router_advertisement(d: Dissection, off: int, itype: int, code: int) -> str:
    return _router_advert(d, off)


def _time_exceeded(d: Dissection, off: int, itype: int, code: int) -> str:
    d.need(off + 24, 4)
    names = {0: "time exceeded in-transit", 1: "ip reassembly time exceeded"}
    return names.get(code, f"time exceeded-#{code}")


def _parameter_problem(d: Dissection, off: int, itype: int, code: int) -> str:
    if code:
        return f"parameter problem - code {code}"
    return f"parameter problem - octet {d.u8(off + 4)}"


def _timestamp_query(d: Dissection, off: int, itype: int, code: int) -> str:
    return f"time stamp query id {d.u16(off + 4)} seq {d.u16(off + 6)}"


def _timestamp_reply(d: Dissection, off: int, itype: int, code: int) -> str:
    d.need(off + 16, 4)
    stamps = [_ms_of_day(d.u32(off + 8 + 4 * i)) for i in range(3)]
    return (
        f"time stamp reply id {d.u16(off + 4)} seq {d.u16(off + 6)}: org {stamps[0]}, "
        f"recv {stamps[1]}, xmit {stamps[2]}"
    )


def _mask_reply(d: Dissection, off: int, itype: int, code: int) -> str:
    return f"address mask is 0x{d.u32(off + 8):08x}"


_ICMP_TEXT: dict[int, Callable[[Dissection, int, int, int], str]] = {
    0: _echo,
    8: _echo,
    3: _unreachable,
    5: _redirect,
    9: _router_advertisement,
    11: _time_exceeded,
    12: _parameter_problem,
    13: _timestamp_query,
    14: _timestamp_reply,
    18: _mask_reply,
}
"""What follows ``ICMP`` for each message type (others: ``_SIMPLE`` or ``type-#N``)."""


def _icmp_text(d: Dissection, off: int, itype: int, code: int) -> str:
    text = _ICMP_TEXT.get(itype)
    return text(d, off, itype, code) if text else _SIMPLE.get(itype, f"type-#{itype}")


def icmp(d: Dissection, off: int, length: int) -> None:
    """An ICMP message at ``off`` of ``length`` bytes."""
    d.proto = "icmp"
    itype, code = d.u8(off), d.u8(off + 1)
    d.put(f"ICMP {_icmp_text(d, off, itype, code)}, length {length}")


# -- ICMPv6 -------------------------------------------------------------------------------
_TYPES6 = {1: "destination unreachable", 2: "packet too big", 3: "time exceeded in-transit",
           4: "parameter problem", 128: "echo request", 129: "echo reply",
           130: "multicast listener query", 131: "multicast listener report",
           132: "multicast listener done", 133: "router solicitation",
           134: "router advertisement", 135: "neighbor solicitation",
           136: "neighbor advertisement", 137: "redirect", 138: "router renumbering",
           141: "inverse neighbor solicitation", 142: "inverse neighbor advertisement",
           143: "multicast listener report v2", 144: "ha discovery request",
           145: "ha discovery reply", 146: "mobile router solicitation",
           147: "mobile router advertisement", 139: "node information query",
           140: "node information reply", 200: "mtrace response", 201: "mtrace message",
           155: "RPL"}  # fmt: skip
_UNREACH6 = {0: "unreachable route", 1: " unreachable prohibited", 2: "beyond scope",
             3: "unreachable address", 4: "unreachable port"}  # fmt: skip
_PARAM6 = {0: "erroneous", 1: "next header", 2: "option", 3: "incomplete header chain"}
_EXT6 = frozenset({0, 43, 60})


def _quoted_port6(d: Dissection, quoted: int) -> tuple[int, int] | None:
    """(protocol, destination port) of the TCP/UDP header in a quoted IPv6 packet,
    walking its extension headers; None where it cannot be found."""
    nh = d.u8(quoted + 6)
    cur = quoted + 40
    while cur < d.end:
        if nh in (6, 17):
            return (nh, d.u16(cur + 2)) if d.has(cur + 2, 2) else None
        if nh in _EXT6:
            if not d.has(cur + 1, 1):
                return None
            nh, cur = d.u8(cur), cur + (d.u8(cur + 1) + 1) * 8
        elif nh == 44:
            if not d.has(cur + 2, 2) or d.u16(cur + 2) & 0xFFF8:
                return None
            nh, cur = d.u8(cur), cur + 8
        else:
            return None
    return None


Detail6 = Callable[[Dissection, int, int, int, int], bool]
"""``(d, off, type, code, length)``: print what follows ``ICMP6, TYPE``; False when it
printed the whole message (a hex dump of an unknown type or code)."""


def _unreachable6(d: Dissection, off: int, itype: int, code: int, length: int) -> bool:
    quoted = off + 8
    d.put(", " + _UNREACH6.get(code, f"unknown unreach code ({code})"))
    if code in (0, 1, 3):
        d.put(" " + ip6(d.raw(quoted + 24, 16)))
    elif code == 2:
        d.put(f" {ip6(d.raw(quoted + 24, 16))}, source address {ip6(d.raw(quoted + 8, 16))}")
    elif code == 4:
        found = _quoted_port6(d, quoted)
        if found is None:
            raise Truncated
        proto, dport = found
        name = {6: "tcp", 17: "udp"}[proto]
        d.put(f", {ip6(d.raw(quoted + 24, 16))} {name} port {dport}")
    else:
        d.put(hex_lines(d.data[off : min(d.end, off + length)]))
        return False
    return True


def _too_big(d: Dissection, off: int, itype: int, code: int, length: int) -> bool:
    d.put(f", mtu {d.u32(off + 4)}")
    return True


def _time_exceeded6(d: Dissection, off: int, itype: int, code: int, length: int) -> bool:
    if code == 0:
        d.put(f" for {ip6(d.raw(off + 32, 16))}")
    else:
        d.put(" (reassembly)" if code == 1 else f", unknown code ({code})")
    return True


def _parameter_problem6(d: Dissection, off: int, itype: int, code: int, length: int) -> bool:
    d.need(off + 32, 16)
    problem = _PARAM6.get(code)
    d.put(f", {problem} - octet {d.u32(off + 4)}" if problem else f", code-#{code}")
    return True


def _echo6(d: Dissection, off: int, itype: int, code: int, length: int) -> bool:
    d.put(f", id {d.u16(off + 4)}, seq {d.u16(off + 6)}")
    return True


def _mld(d: Dissection, off: int, itype: int, code: int, length: int) -> bool:
    if itype == 130 and length != 24:
        d.put(" v2" if length >= 28 else f" unknown-version (len {length}) ")
    elif d.has(off, 24):  # tcpdump prints nothing of a cut MLD message
        d.put(f"max resp delay: {d.u16(off + 4)} addr: {ip6(d.raw(off + 8, 16))}")
    return True


def _address_after(text: str, at: int) -> Detail6:
    def detail(d: Dissection, off: int, itype: int, code: int, length: int) -> bool:
        d.put(f", {text}{ip6(d.raw(off + at, 16))}")
        return True

    return detail


def _redirect6(d: Dissection, off: int, itype: int, code: int, length: int) -> bool:
    d.put(f", {ip6(d.raw(off + 24, 16))} to {ip6(d.raw(off + 8, 16))}")
    return True


def _mld2_report(d: Dissection, off: int, itype: int, code: int, length: int) -> bool:
    d.put(f", {d.u16(off + 6)} group record(s)")
    return True


def _nothing(d: Dissection, off: int, itype: int, code: int, length: int) -> bool:
    return True


def _unknown6(d: Dissection, off: int, itype: int, code: int, length: int) -> bool:
    d.put(f", length {length}")
    d.put(hex_lines(d.data[off : min(d.end, off + length)]))
    return False


_ICMP6_DETAIL: dict[int, Detail6] = {
    1: _unreachable6,
    2: _too_big,
    3: _time_exceeded6,
    4: _parameter_problem6,
    128: _echo6,
    129: _echo6,
    130: _mld,
    131: _mld,
    132: _mld,
    133: _nothing,
    134: _nothing,
    135: _address_after("who has ", 8),
    136: _address_after("tgt is ", 8),
    137: _redirect6,
    141: _nothing,
    142: _nothing,
    143: _mld2_report,
}
"""What follows ``ICMP6, TYPE`` for each type (others: a hex dump)."""


def icmp6(d: Dissection, off: int, length: int) -> None:
    """An ICMPv6 message at ``off`` of ``length`` bytes."""
    d.proto = "icmp6"
    if length == 0:
        d.put("ICMP6, length 0 (invalid)")
        return
    itype = d.u8(off)
    d.put(f"ICMP6, {_TYPES6.get(itype, f'unknown icmp6 type ({itype})')}")
    code = d.u8(off + 1)
    if _ICMP6_DETAIL.get(itype, _unknown6)(d, off, itype, code, length):
        d.put(f", length {length}")


# -- IGMP ---------------------------------------------------------------------------------
def _relative_time(seconds: int) -> str:
    """``1h2m3s`` style, as tcpdump prints long intervals."""
    if seconds == 0:
        return "0s"
    out = ""
    for unit, size in (("y", 31536000), ("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out + (f"{seconds}s" if seconds else "")


def _igmpv3_query(d: Dissection, off: int, length: int) -> None:
    d.put(" v3")
    if length < 12 or length & 3:
        d.put(f" [invalid len {length}]")
        return
    mrc = d.u8(off + 1)
    mrt = mrc if mrc < 128 else ((mrc & 0x0F) | 0x10) << (((mrc & 0x70) >> 4) + 3)
    if mrc != 100:
        when = f"{mrt * 0.1:.1f}s" if mrt < 600 else _relative_time(mrt // 10)
        d.put(f" [max resp time {when}]")
    if not d.u32(off + 4):
        return
    d.put(f" [gaddr {ip4_text(d.raw(off + 4, 4))}")
    sources = d.u16(off + 10)
    if sources:
        if length < 12 + 4 * sources:
            d.put(" [invalid number of sources]")
        else:
            d.put(f", {sources} source(s)")
    d.put("]")


def igmp(d: Dissection, off: int, length: int) -> None:
    """An IGMP message at ``off`` of ``length`` bytes."""
    d.proto = "igmp"
    itype = d.u8(off)
    if itype == 0x11:
        d.put("igmp query")
        if length >= 12:
            _igmpv3_query(d, off, length)
            return
        mrc = d.u8(off + 1)
        if mrc:
            d.put(" v2" + (f" [max resp time {mrc}]" if mrc != 100 else ""))
        else:
            d.put(" v1")
        if d.u32(off + 4):
            d.put(f" [gaddr {ip4_text(d.raw(off + 4, 4))}]")
        if length != 8:
            d.put(f" [len {length}]")
    elif itype in (0x12, 0x16, 0x17):
        kind = {0x12: "v1 report", 0x16: "v2 report", 0x17: "leave"}[itype]
        d.put(f"igmp {kind} {ip4_text(d.raw(off + 4, 4))}")
        if itype == 0x12 and length != 8:
            d.put(f" [len {length}]")
    elif itype == 0x22:
        d.put("igmp v3 report")
        if length < 16 or length & 3:
            d.put(f" [invalid len {length}]")
        else:
            d.put(f", {d.u16(off + 6)} group record(s)")
    else:
        d.put(f"igmp-{itype}")


REGISTRY = Registry(ip_protos={IpProto.ICMP: icmp, IpProto.ICMPV6: icmp6, IpProto.IGMP: igmp})
"""ICMP, ICMPv6 and IGMP by IP protocol."""
