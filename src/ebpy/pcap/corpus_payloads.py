"""Payloads and port tables for the test corpus: DNS, DHCP, NTP, text protocols, STP, ICMP.

``ebpy.pcap.corpus`` draws whole frames; this module builds what goes inside
them: well-formed DNS queries and answers (with name compression), BOOTP/DHCP
requests and replies, NTP client/server/control messages, request and reply
lines of the text protocols tcpdump prints (HTTP, FTP, SMTP, SSH banners),
802.1D configuration BPDUs, and the ICMP/ICMPv6 bodies that quote an IP
header. It also says which ports carry which payload: ``TCP_TEXT_PORTS``
(text payloads), ``TCP_QUIET_PORTS`` and ``UDP_DISSECTED_PORTS`` (ports where
tcpdump decodes a payload by port, which the corpus fills only with payloads
it means, so that a summary of the corpus is well defined).

This is a generator of well-formed bytes, not a parser; every function takes
a ``random.Random`` or explicit values and returns ``bytes``.
"""

from __future__ import annotations

import random
import struct

__all__ = [
    "DNS_NAMES",
    "TCP_QUIET_PORTS",
    "TCP_TEXT_PORTS",
    "UDP_DISSECTED_PORTS",
    "UDP_HEURISTIC_PORTS",
    "WELL_KNOWN_PORTS",
    "dhcp_message",
    "dns_message",
    "dns_name",
    "ntp_message",
    "stp_config_bpdu",
    "text_payload",
]

WELL_KNOWN_PORTS = (
    20, 21, 22, 23, 25, 53, 67, 68, 69, 80, 110, 111, 119, 123, 137, 138, 139, 143,
    161, 179, 389, 443, 445, 465, 514, 587, 631, 636, 873, 993, 995, 1433, 1723,
    1900, 3306, 3389, 5060, 5432, 5900, 6379, 8080, 8443,
)  # fmt: skip
"""Ports with a name in /etc/services that the corpus uses often."""

TCP_TEXT_PORTS = {80: "http", 8080: "http", 21: "ftp", 25: "smtp", 22: "ssh"}
"""TCP ports whose payloads the corpus writes as text lines of that protocol."""

TCP_QUIET_PORTS = frozenset(
    {23, 43, 53, 179, 323, 554, 639, 646, 1723, 6379, 6633, 6653, 8554, 10288}
)
"""TCP ports tcpdump decodes by port (telnet, whois, DNS, BGP ...): no payload there."""

UDP_DISSECTED_PORTS = frozenset(
    {
        53, 67, 68, 69, 88, 123, 161, 162, 319, 320, 496, 500, 514, 520, 521, 525, 546,
        547, 646, 654, 698, 701, 750, 921, 1589, 1645, 1646, 1700, 1701, 1812, 1813,
        1985, 2049, 2103, 2104, 3456, 3503, 3784, 3785, 3799, 4342, 4500, 4567, 4784,
        4789, 4790, 5060, 5353, 5359, 6081, 6343, 6635, 6696, 6697, 6784, 7000, 7001,
        7002, 7003, 7004, 7005, 7006, 7007, 7008, 7009, 7500, 8231, 8472, 8500, 12222,
        12223, 17754, 30490,
    }
)  # fmt: skip
"""UDP ports tcpdump 4.99 decodes by port; random UDP payloads avoid them (found by
sending every port a few payloads and reading what tcpdump printed)."""

UDP_HEURISTIC_PORTS = frozenset(
    [*range(200, 328), *range(768, 896), *range(16512, 16640), 49152, 2049]
)
"""UDP ports where tcpdump looks at the payload to pick a decoder (AppleTalk in UDP,
NFS, Broadcom LI): random UDP payloads avoid them too."""

DNS_NAMES = (
    "example.com", "www.example.com", "mail.example.org", "ns1.example.net",
    "api.service.internal", "a.b.c.d.example", "cdn.example.com", "localhost",
    "1.0.0.10.in-addr.arpa", "7.1.168.192.in-addr.arpa", "x",
)  # fmt: skip

DNS_TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16,
             "AAAA": 28, "SRV": 33, "ANY": 255}  # fmt: skip


def dns_name(name: str) -> bytes:
    """A domain name in DNS wire form (labels, then the root)."""
    return b"".join(bytes((len(p),)) + p.encode() for p in name.split(".") if p) + b"\0"


def _rdata(rng: random.Random, rtype: int) -> bytes:
    if rtype == 1:
        return rng.randbytes(4)
    if rtype == 28:
        return b"\x20\x01\x0d\xb8" + bytes(10) + rng.randbytes(2)
    if rtype in (2, 5, 12):
        return dns_name(rng.choice(DNS_NAMES))
    if rtype == 15:
        return struct.pack("!H", rng.choice((0, 5, 10, 20))) + dns_name(rng.choice(DNS_NAMES))
    text = rng.choice((b"hello", b"v=spf1 -all", b"x"))
    return bytes((len(text),)) + text


def dns_message(rng: random.Random, *, response: bool) -> bytes:
    """A DNS query (recursion desired, sometimes an EDNS0 record) or a response with
    answers that point back at the question by compression."""
    ident = rng.getrandbits(16)
    qname = rng.choice(DNS_NAMES)
    qtype = DNS_TYPES[rng.choice(tuple(DNS_TYPES))]
    question = dns_name(qname) + struct.pack("!HH", qtype, 1)
    if not response:
        flags = rng.choice((0x0100, 0x0100, 0x0000, 0x0110))
        extra = b""
        arcount = 0
        if rng.random() < 0.3:  # an OPT pseudo-record
            extra = b"\0" + struct.pack("!HHIH", 41, 4096, 0, 0)
            arcount = 1
        return struct.pack("!HHHHHH", ident, flags, 1, 0, 0, arcount) + question + extra
    rcode = rng.choice((0, 0, 0, 0, 3, 2, 5))
    flags = 0x8180 | rcode | (0x0400 if rng.random() < 0.2 else 0)
    answers = b""
    count = 0 if rcode else rng.choice((1, 1, 2, 3))
    for i in range(count):
        rtype = qtype if qtype not in (6, 33, 255) else 1
        if i == 0 and rng.random() < 0.2:
            rtype = 5
        rdata = _rdata(rng, rtype)
        owner = b"\xc0\x0c" if i == 0 or rng.random() < 0.5 else dns_name(rng.choice(DNS_NAMES))
        answers += owner + struct.pack("!HHIH", rtype, 1, rng.choice((60, 300, 86400)), len(rdata))
        answers += rdata
    nscount = 1 if rcode == 3 else 0
    authority = b""
    if nscount:
        rdata = dns_name("ns1.example.net") + dns_name("hostmaster.example.net")
        rdata += struct.pack("!IIIII", 1, 7200, 3600, 1209600, 300)
        authority = b"\xc0\x0c" + struct.pack("!HHIH", 6, 1, 300, len(rdata)) + rdata
    head = struct.pack("!HHHHHH", ident, flags, 1, count, nscount, 0)
    return head + question + answers + authority


def dhcp_message(
    rng: random.Random, *, reply: bool, chaddr: bytes, yiaddr: bytes = bytes(4)
) -> bytes:
    """A BOOTP/DHCP message (DISCOVER/REQUEST from a client, OFFER/ACK/NAK from a server)."""
    xid = rng.getrandbits(32)
    op = 2 if reply else 1
    kinds = (2, 5, 6) if reply else (1, 3, 8)
    options = bytes((53, 1, rng.choice(kinds)))
    if not reply and rng.random() < 0.5:
        options += bytes((50, 4)) + bytes((10, 0, 0, rng.randrange(2, 250)))
    if reply:
        options += bytes((54, 4, 192, 168, 1, 1, 51, 4)) + struct.pack("!I", 86400)
    options += b"\xff"
    body = struct.pack(
        "!BBBBIHH4s4s4s4s16s64s128s",
        op, 1, 6, 0, xid, rng.choice((0, 3)), 0x8000 if rng.random() < 0.5 else 0,
        bytes(4), yiaddr if reply else bytes(4), bytes(4), bytes(4),
        chaddr + bytes(10), bytes(64), bytes(128),
    )  # fmt: skip
    return body + b"\x63\x82\x53\x63" + options


def ntp_message(rng: random.Random, *, server: bool) -> bytes:
    """An NTPv3/v4 client or server time message, or now and then an NTP control message."""
    if rng.random() < 0.1:
        return bytes((0x16, 2, 0, rng.getrandbits(8))) + bytes(8)  # control: read status
    version = rng.choice((3, 4, 4))
    mode = 4 if server else 3
    stratum = rng.randrange(1, 4) if server else 0
    refid = b"GPS\0" if stratum == 1 else rng.randbytes(4) if server else bytes(4)
    head = bytes(((0 << 6) | (version << 3) | mode, stratum, 6, 0xEC))
    stamps = b"".join(struct.pack("!II", 3_900_000_000 + rng.getrandbits(20), rng.getrandbits(32))
                      for _ in range(4))  # fmt: skip
    return head + struct.pack("!II", rng.getrandbits(16), rng.getrandbits(16)) + refid + stamps


_HTTP_REQUESTS = ("GET / HTTP/1.1", "GET /index.html HTTP/1.1", "POST /api/v1/items HTTP/1.1",
                  "HEAD /favicon.ico HTTP/1.0", "PUT /upload HTTP/1.1")  # fmt: skip
_HTTP_REPLIES = ("HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.0 301 Moved Permanently",
                 "HTTP/1.1 500 Internal Server Error")  # fmt: skip
_FTP = ("USER anonymous", "PASS guest", "220 Service ready", "230 Logged in", "PASV",
        "227 Entering Passive Mode (10,0,0,1,4,1)", "QUIT")  # fmt: skip
_SMTP = ("EHLO client.example.com", "250 OK", "MAIL FROM:<a@example.com>", "DATA",
         "354 Start mail input")  # fmt: skip


def text_payload(rng: random.Random, proto: str) -> bytes:
    """A first line (and sometimes headers) of ``proto`` (``http``, ``ftp``, ``smtp``,
    ``ssh``), or for HTTP now and then a body chunk without a request line."""
    if proto == "http":
        if rng.random() < 0.2:
            return rng.randbytes(rng.randrange(1, 200))
        line = rng.choice(_HTTP_REQUESTS + _HTTP_REPLIES)
        return (line + "\r\nHost: example.com\r\nAccept: */*\r\n\r\n").encode()
    if proto == "ssh":
        return rng.choice((b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", b"SSH-2.0-libssh_0.10\r\n"))
    lines = _FTP if proto == "ftp" else _SMTP
    return (rng.choice(lines) + "\r\n").encode()


def stp_config_bpdu(rng: random.Random) -> bytes:
    """An 802.1D configuration BPDU (35 bytes, LLC header not included)."""
    root = struct.pack("!H", rng.choice((0x8000, 0x1000, 0))) + rng.randbytes(6)
    bridge = struct.pack("!H", 0x8000) + rng.randbytes(6)
    return struct.pack(
        "!HBBB8sI8sHHHHH",
        0, 0, 0, rng.choice((0, 1, 0x80, 0x81)), root, rng.choice((0, 4, 19, 100)), bridge,
        0x8000 | rng.randrange(1, 64), 0, 20 * 256, 2 * 256, 15 * 256,
    )  # fmt: skip
