"""Summaries of TCP segments: flags, relative sequence numbers, options, and text payloads.

A segment prints as ``tcpdump -n`` prints it::

    10.0.0.1.1234 > 192.168.1.1.80: Flags [P.], seq 1:27, ack 1, win 512, length 26: HTTP: GET / HTTP/1.1

Sequence and acknowledgement numbers of segments with ACK set are relative
to the first such segment of the conversation (a SYN starts over), in both
directions, as tcpdump's default (not ``-S``) numbers them; SACK blocks are
relative too. The bases live in the capture-wide ``state`` of the
``Dissection``. Payloads on the HTTP, FTP, SMTP and SSH ports print tcpdump's
one-line summaries (``: HTTP: GET / HTTP/1.1``, ``: FTP``, ``: SSH:
SSH-2.0-...``); other payloads print nothing.

This module only prints.
"""

from __future__ import annotations

from collections.abc import Callable

from ebpy.pcap.dissect import Dissection, Done, IpProto, Registry, Truncated

__all__ = ["REGISTRY", "tcp"]

_FLAG_LETTERS = ((0x01, "F"), (0x02, "S"), (0x04, "R"), (0x08, "P"), (0x10, "."), (0x20, "U"),
                 (0x40, "E"), (0x80, "W"))  # fmt: skip
_M32 = 0xFFFFFFFF
_SEQ_KEY = "tcp_seq"


def _flags(flags: int) -> str:
    return "".join(letter for bit, letter in _FLAG_LETTERS if flags & bit) or "none"


def _bases(
    d: Dissection, sport: int, dport: int, seq: int, ack: int, syn: bool
) -> tuple[int, int, bool]:
    """(seq base, ack base, new): the conversation's bases for this direction."""
    ip = d.ip
    assert ip is not None
    table = d.state.setdefault(_SEQ_KEY, {})
    assert isinstance(table, dict)
    here = (ip.src_raw, sport)
    there = (ip.dst_raw, dport)
    forward = here <= there
    key = (here, there) if forward else (there, here)
    entry = table.get(key)
    if entry is None or syn:
        # bases of the key's first endpoint: its seq, and the other's seq (from our ack)
        first = (seq, (ack - 1) & _M32) if forward else ((ack - 1) & _M32, seq)
        table[key] = first
        entry = first
        new = True
    else:
        new = False
    own, other = entry if forward else (entry[1], entry[0])
    return own, other, new


_OPTION_NAMES = {0: "eol", 1: "nop", 2: "mss", 3: "wscale", 4: "sackOK", 5: "sack", 6: "echo",
                 7: "echoreply", 8: "TS", 11: "cc", 12: "ccnew", 13: "ccecho", 19: "md5",
                 27: "qs", 28: "uto", 29: "tcp-ao", 30: "mptcp", 34: "tfo", 253: "exp",
                 254: "exp"}  # fmt: skip
_FIXED = {2: 2, 3: 1, 8: 8}  # option kind -> data length


class _BadOption(Exception):
    pass


def _options(d: Dissection, cur: int, hlen: int, bases: tuple[int, int]) -> None:
    """Print ``, options [...]``; ``Truncated`` where a kind or length byte is not
    captured, ``Done`` (after `` [|tcp]>``) where an option's data is not."""
    d.put(", options [")
    started = False

    def check(size: int) -> None:
        if size > hlen:
            raise _BadOption
        if not d.has(cur, size):
            d.put(" [|tcp]" + (">" if started else ""))
            raise Done

    try:
        while hlen > 0:
            if started:
                d.put(",")
            kind = d.u8(cur)
            cur += 1
            if kind in (0, 1):
                size = 1
            else:
                size = d.u8(cur)
                cur += 1
                if size < 2 or size > hlen:
                    raise _BadOption
                hlen -= 1
            hlen -= 1
            d.put(_OPTION_NAMES.get(kind, f"unknown-{kind}"))
            datalen = _FIXED.get(kind, 0 if kind in (0, 1, 4) else size - 2)
            if kind == 5:
                if datalen % 8:
                    d.put(" invalid sack")
                else:
                    d.put(f" {datalen // 8} ")
                    for i in range(0, datalen, 8):
                        check(i + 4)
                        start = (
                            int.from_bytes(d.data[cur + i : cur + i + 4], "big") - bases[1]
                        ) & _M32
                        check(i + 8)
                        end = (
                            int.from_bytes(d.data[cur + i + 4 : cur + i + 8], "big") - bases[1]
                        ) & _M32
                        d.put(f"{{{start}:{end}}}")
            elif kind not in _FIXED:
                if datalen > hlen:
                    raise _BadOption
                if datalen:
                    d.put(" 0x")
                for i in range(datalen):  # byte by byte, as far as captured
                    check(i + 1)
                    d.put(f"{d.data[cur + i]:02x}")
            else:
                check(datalen)
                data = d.data[cur : cur + datalen]
                if kind == 2:
                    d.put(f" {int.from_bytes(data, 'big')}")
                elif kind == 3:
                    d.put(f" {data[0]}")
                else:
                    d.put(
                        f" val {int.from_bytes(data[:4], 'big')} ecr {int.from_bytes(data[4:], 'big')}"
                    )
            cur += datalen
            hlen -= datalen
            expected = datalen + (1 if kind in (0, 1) else 2)
            if expected != size:
                d.put(f"[len {size}]")
            started = True
            if kind == 0:
                break
    except _BadOption:
        d.put("[bad opt]" + ("]" if started else ""))
        raise Done from None
    d.put("]")


def tcp(d: Dissection, off: int, length: int) -> None:
    """A TCP segment at ``off`` of ``length`` bytes (header and payload)."""
    d.proto = "tcp"
    ip = d.ip
    assert ip is not None
    if not d.has(off, 4):
        d.put(f"{ip.src} > {ip.dst}:")
        raise Truncated
    sport, dport = d.u16(off), d.u16(off + 2)
    if ip.direct:
        d.put(f"{ip.src}.{sport} > {ip.dst}.{dport}: ")
    else:
        d.put(f"{sport} > {dport}: ")
    d.need(off, 20)
    seq, ack = d.u32(off + 4), d.u32(off + 8)
    hlen = (d.u8(off + 12) >> 4) * 4
    flags = d.u8(off + 13)
    win, urg = d.u16(off + 14), d.u16(off + 18)
    if hlen < 20:
        d.put(f" tcp {length - hlen} [bad hdr length {hlen} - too short, < 20]")
        return
    d.put(f"Flags [{_flags(flags)}]")
    bases = (0, 0)
    if flags & 0x10:
        own, other, new = _bases(d, sport, dport, seq, ack, bool(flags & 0x02))
        bases = (own, other)
        if not new:
            seq, ack = (seq - own) & _M32, (ack - other) & _M32
    if hlen > length:
        d.put(f" [bad hdr length {hlen} - too long, > {length}]")
        return
    payload = length - hlen
    if payload > 0 or flags & 0x07:
        d.put(f", seq {seq}" + (f":{(seq + payload) & _M32}" if payload > 0 else ""))
    if flags & 0x10:
        d.put(f", ack {ack}")
    d.put(f", win {win}")
    if flags & 0x20:
        d.put(f", urg {urg}")
    if hlen > 20:
        _options(d, off + 20, hlen - 20, bases)
    d.put(f", length {payload}")
    if payload <= 0:
        return
    if not d.has(off, hlen):
        d.put(f" [remaining caplen({d.available(off)}) < header length({hlen})]")
        raise Truncated
    printer = d.registry.tcp_ports.get(sport) or d.registry.tcp_ports.get(dport)
    if printer is not None:
        printer(d, off + hlen, payload)


# -- text protocols -----------------------------------------------------------------------
_HTTP_METHODS = frozenset(
    {"GET", "PUT", "COPY", "HEAD", "LOCK", "MOVE", "POLL", "POST", "BCOPY", "BMOVE", "MKCOL",
     "TRACE", "LABEL", "MERGE", "DELETE", "SEARCH", "UNLOCK", "REPORT", "UPDATE", "NOTIFY",
     "BDELETE", "CONNECT", "OPTIONS", "CHECKIN", "PROPFIND", "CHECKOUT", "CCM_POST",
     "SUBSCRIBE", "PROPPATCH", "BPROPFIND", "BPROPPATCH", "UNCHECKOUT", "MKACTIVITY",
     "MKWORKSPACE", "UNSUBSCRIBE", "RPC_CONNECT", "VERSION-CONTROL", "BASELINE-CONTROL"}
)  # fmt: skip


def _printable(c: int) -> bool:
    return 0x20 <= c < 0x7F


def _token(d: Dissection, off: int, idx: int, length: int) -> tuple[int, str]:
    """(index after the token and the blanks after it, the token) of the
    whitespace-separated token at ``idx``; (0, "") when there is none (not captured,
    not printable, or too long)."""
    data = d.data
    token: list[str] = []
    while idx < length:
        if not d.has(off + idx, 1):
            return 0, ""
        c = data[off + idx]
        if c >= 0x80:
            return 0, ""
        if c in b" \t\r\n":
            break
        if not _printable(c) or len(token) + 2 > 129:
            return 0, ""
        token.append(chr(c))
        idx += 1
    if not token:
        return 0, ""
    while idx < length and d.has(off + idx, 1):
        c = data[off + idx]
        if c in b"\r\n" or not _printable(c) or c not in b" \t":
            break
        idx += 1
    return idx, "".join(token)


def _line_end(d: Dissection, off: int, idx: int, length: int, *, tabs: bool) -> int | None:
    """Where the text line at ``off`` ends (its LF, or the CR of CR LF), searching from
    ``idx`` up to ``length`` (``length`` when no end is met); None when a byte on the way
    is not printable (a tab is, with ``tabs``) or a CR is not followed by LF."""
    while idx < length:
        c = d.u8(off + idx)
        if c == 0x0A:
            return idx
        if c == 0x0D:
            return idx if idx + 1 < length and d.u8(off + idx + 1) == 0x0A else None
        if not (_printable(c) or (tabs and c == 0x09)):
            return None
        idx += 1
    return idx


def _text_line(d: Dissection, off: int, length: int) -> None:
    """Print ``: `` and the first line at ``off`` when it is text ending in LF or CR LF
    within ``length`` (reading past the capture is ``Truncated``); a line that runs to
    ``length`` without an end prints with `` [|proto]`` after it."""
    idx = _line_end(d, off, 0, length, tabs=True)
    if idx is None:
        return
    d.put(": " + d.data[off : off + idx].decode("ascii"))
    if idx >= length:
        d.put(f" [|{d.proto}]")


def _txtproto(
    name: str, methods: frozenset[str] | None, code_second: bool
) -> Callable[[Dissection, int, int], None]:
    """The printer of a line-based protocol: ``: NAME``, then the first line when the
    protocol has no command list, or the line starts with one of ``methods`` or has
    a three-digit status code (second token when ``code_second``)."""

    def printer(d: Dissection, off: int, length: int) -> None:
        d.proto = name.lower()
        show = methods is None
        if methods is not None:
            idx, token = _token(d, off, 0, length)
            if idx:
                show = token.upper() in methods
                if code_second:
                    idx, token = _token(d, off, idx, length)
                if idx and len(token) == 3 and token.isdigit():
                    show = True
        d.put(f": {name}")
        if show:
            _text_line(d, off, length)

    return printer


def _ssh(d: Dissection, off: int, length: int) -> None:
    """``: SSH: SSH-2.0-...`` for a version line; nothing for other payloads."""
    d.proto = "ssh"
    for i, c in enumerate(b"SSH-"):
        if d.u8(off + i) != c:
            return
    idx = _line_end(d, off, 4, length, tabs=False)
    if idx is None or idx >= length:  # an SSH version line must end
        return
    d.put(": SSH: " + d.data[off : off + idx].decode("ascii"))


_http = _txtproto("HTTP", _HTTP_METHODS, True)

REGISTRY = Registry(
    ip_protos={IpProto.TCP: tcp},
    tcp_ports={
        80: _http,
        8080: _http,
        21: _txtproto("FTP", None, False),
        25: _txtproto("SMTP", None, False),
        22: _ssh,
    },
)
"""TCP by IP protocol, and the text protocols by port."""
