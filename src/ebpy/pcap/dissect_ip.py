"""Summaries of IPv4 and IPv6, with IPv6's extension headers.

``ipv4`` prints ``IP `` (unless ``-e`` printed the link header), keeps to the
length the header declares (trailing Ethernet padding is not the payload),
and hands the payload of a first (or only) fragment to the protocol's
dissector; later fragments print ``src > dst: ip-proto-N``. ``ipv6`` does the
same for IPv6 and walks the hop-by-hop (``HBH``), destination-options
(``DSTOPT``), routing (``RT6 (...)``) and fragment (``frag (off|len)``)
headers. As in ``tcpdump -n``, the addresses are printed here unless the
transport printer (TCP, UDP, SCTP) prints them with its ports; options are
not printed (that is ``-v``).

This module only prints; the transport dissectors are found in the registry.
"""

from __future__ import annotations

from collections.abc import Callable

from ebpy.pcap.dissect import Dissection, EtherType, IpContext, IpProto, Registry, Truncated
from ebpy.pcap.dissect import ip4 as ip4_text
from ebpy.pcap.dissect import ip6 as ip6_text

__all__ = ["REGISTRY", "ipv4", "ipv6"]

_PRINT_OWN_ADDRESSES = frozenset({IpProto.TCP, IpProto.UDP, IpProto.SCTP, 33})  # 33: DCCP


def ipv4(d: Dissection, off: int, length: int) -> None:
    """An IPv4 packet at ``off``."""
    d.proto = "ip"
    first = d.u8(off)
    version, hlen = first >> 4, (first & 0x0F) * 4
    if version != 4:
        wrong = ", wrong link-layer encapsulation" if version == 6 else ""
        d.put(f"IP{version}{wrong} (invalid)")
        return
    if not d.link_header:
        d.put("IP ")
    d.need(off, 20)
    if hlen < 20:
        d.put(f"bad-hlen {hlen}")
        return
    total = d.u16(off + 2)
    if length < total:
        d.put(f"truncated-ip - {total - length} bytes missing! ")
    length = total  # what the header says, even past the frame (as tcpdump does)
    if total < hlen:
        d.put(f"bad-len {total}")
        return
    frag = d.u16(off + 6)
    proto = d.u8(off + 9)
    src_raw, dst_raw = d.raw(off + 12, 4), d.raw(off + 16, 4)
    src, dst = ip4_text(src_raw), ip4_text(dst_raw)
    d.push_end(off + length)
    try:
        if frag & 0x1FFF:
            d.put(f"{src} > {dst}: ip-proto-{proto}")
            return
        d.ip = IpContext(src, dst, src_raw, dst_raw, True, bool(frag & 0x2000))
        if proto not in _PRINT_OWN_ADDRESSES:
            d.put(f"{src} > {dst}: ")
        if not d.has(off, hlen):
            d.put(f" [remaining caplen({d.available(off)}) < header length({hlen})]")
            raise Truncated
        if not d.ip_proto(proto, off + hlen, length - hlen):
            if proto in _PRINT_OWN_ADDRESSES:
                d.put(f"{src} > {dst}: ")
            d.put(f" ip-proto-{proto} {length - hlen}")
    finally:
        d.pop_end()


_EXTENSIONS = frozenset({IpProto.HOPOPTS, IpProto.DSTOPTS, IpProto.ROUTING, IpProto.FRAGMENT})


def ipv6(d: Dissection, off: int, length: int) -> None:
    """An IPv6 packet at ``off``, its extension headers, and what they carry."""
    d.proto = "ip6"
    d.need(off, 40)
    if not d.link_header:
        d.put("IP6 ")
    version = d.u8(off) >> 4
    if version != 6:
        d.put(f"version error: {version} != 6")
        return
    plen = d.u16(off + 4)
    total = plen + 40
    if length < total:
        d.put(f"truncated-ip6 - {total - length} bytes missing!")
    length = total
    nh = d.u8(off + 6)
    src_raw, dst_raw = d.raw(off + 8, 16), d.raw(off + 24, 16)
    src, dst = ip6_text(src_raw), ip6_text(dst_raw)
    d.push_end(off + length)
    try:
        _ipv6_chain(d, off, off + 40, nh, total, (src, dst, src_raw, dst_raw))
    finally:
        d.pop_end()


def _ipv6_chain(
    d: Dissection, start: int, cur: int, nh: int, total: int, addrs: tuple[str, str, bytes, bytes]
) -> None:
    """Walk the extension headers from ``cur`` and print what follows them. Like
    tcpdump, stop quietly when nothing after a fragment header was captured."""
    src, dst, src_raw, dst_raw = addrs
    if nh not in _PRINT_OWN_ADDRESSES:
        d.put(f"{src} > {dst}: ")
    direct = True
    fragmented = False
    while True:
        if nh in _EXTENSIONS:
            if nh == IpProto.ROUTING and not d.has(cur, 1):
                d.proto = "ip6"
                raise Truncated
            step = _EXTENSION_PRINTERS[nh](d, start, cur, total)
            if step <= 0 or (nh == IpProto.FRAGMENT and d.end <= cur + step):
                return
            fragmented = fragmented or nh == IpProto.FRAGMENT
            nh = d.u8(cur)
            cur += step
            direct = False
            if total - (cur - start) < 0:
                d.proto = "ip6"
                raise Truncated
            continue
        if nh == IpProto.NONE:
            d.put("no next header")
            return
        d.ip = IpContext(src, dst, src_raw, dst_raw, direct, fragmented)
        remaining = start + total - cur
        if not d.ip_proto(nh, cur, remaining):
            if direct and nh in _PRINT_OWN_ADDRESSES:
                d.put(f"{src} > {dst}: ")
            d.put(f" ip-proto-{nh} {remaining}")
        return


def _hbh(d: Dissection, start: int, cur: int, total: int) -> int:
    d.proto = "hbhopt"
    size = (d.u8(cur + 1) + 1) * 8
    d.need(cur, size)
    d.put("HBH ")
    return size


def _dstopt(d: Dissection, start: int, cur: int, total: int) -> int:
    d.proto = "dstopt"
    size = (d.u8(cur + 1) + 1) * 8
    d.need(cur, size)
    d.put("DSTOPT ")
    return size


def _routing(d: Dissection, start: int, cur: int, total: int) -> int:
    d.proto = "rt6"
    d.put("RT6")
    hdr_len = d.u8(cur + 1)
    d.put(f" (len={hdr_len}")
    rtype = d.u8(cur + 2)
    d.put(f", type={rtype}{' [Deprecated]' if rtype == 0 else ''}")
    d.put(f", segleft={d.u8(cur + 3)}")
    if rtype in (0, 2):
        d.need(cur + 4, 4)
        for i in range(hdr_len // 2):
            d.put(f", [{i}]{ip6_text(d.raw(cur + 8 + 16 * i, 16))}")
    d.put(") ")
    return (hdr_len + 1) * 8


def _fragment(d: Dissection, start: int, cur: int, total: int) -> int:
    d.proto = "frag6"
    offset = d.u16(cur + 2) & 0xFFF8
    rest = total - (cur - start) - 8
    if offset:
        d.put(f"frag ({offset}|{rest})")
        return 0
    d.put(f"frag ({offset}|{rest}) ")
    return 8


_EXTENSION_PRINTERS: dict[int, Callable[[Dissection, int, int, int], int]] = {
    IpProto.HOPOPTS: _hbh,
    IpProto.DSTOPTS: _dstopt,
    IpProto.ROUTING: _routing,
    IpProto.FRAGMENT: _fragment,
}

REGISTRY = Registry(ethertypes={EtherType.IPV4: ipv4, EtherType.IPV6: ipv6})
"""IPv4 and IPv6 by Ethernet type."""
