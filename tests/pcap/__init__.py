"""Tests of ebpy.pcap; builders of capture bytes written independently of the package.

The builders below lay out the formats with plain ``struct`` from the file
format descriptions, so the tests check the readers against bytes that the
package's own writers did not make.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

from ebpy.pcap import read_packets

TCPDUMP = shutil.which("tcpdump")


def pcap_header(
    order: str = "<", magic: int = 0xA1B2C3D4, linktype: int = 1, snaplen: int = 65535
) -> bytes:
    return struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(
    data: bytes, sec: int = 0, frac: int = 0, order: str = "<", orig: int | None = None
) -> bytes:
    wire = len(data) if orig is None else orig
    return struct.pack(order + "IIII", sec, frac, len(data), wire) + data


def block(btype: int, body: bytes, order: str = "<") -> bytes:
    body += bytes(-len(body) % 4)
    n = len(body) + 12
    return struct.pack(order + "II", btype, n) + body + struct.pack(order + "I", n)


def option(code: int, value: bytes, order: str = "<") -> bytes:
    return struct.pack(order + "HH", code, len(value)) + value + bytes(-len(value) % 4)


def shb(order: str = "<", major: int = 1) -> bytes:
    return block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, major, 0, -1), order)


def idb(linktype: int = 1, snaplen: int = 0, order: str = "<", options: bytes = b"") -> bytes:
    if options:
        options += bytes(4)
    return block(1, struct.pack(order + "HHI", linktype, 0, snaplen) + options, order)


def epb(iface: int, ts: int, data: bytes, order: str = "<", orig: int | None = None) -> bytes:
    wire = len(data) if orig is None else orig
    head = struct.pack(order + "IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(data), wire)
    return block(6, head + data, order)


def spb(data: bytes, orig: int | None = None, order: str = "<") -> bytes:
    wire = len(data) if orig is None else orig
    return block(3, struct.pack(order + "I", wire) + data, order)


def opb(iface: int, ts: int, data: bytes, order: str = "<") -> bytes:
    head = struct.pack(order + "HHIIII", iface, 0, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data))
    return block(2, head + data, order)


def tcpdump_count(path: str) -> int:
    """The number of packets tcpdump reads from ``path`` (up to any error; 0 when
    libpcap cannot even open it, as for a file cut inside its first header)."""
    assert TCPDUMP is not None
    out = subprocess.run(
        [TCPDUMP, "-r", path, "-nn", "--count"], capture_output=True, text=True, check=False
    ).stdout
    return int(out.split()[0]) if out.strip() else 0


def tcpdump_lines(path: str, *flags: str) -> list[str]:
    """What ``tcpdump -r path -nn FLAGS`` prints, one entry per line."""
    assert TCPDUMP is not None
    out = subprocess.run(
        [TCPDUMP, "-r", path, "-nn", *flags], capture_output=True, text=True, check=False
    ).stdout
    return out.splitlines()


def assert_tcpdump_agrees(path: Path, count: int) -> None:
    """tcpdump and ``read_packets`` both read ``count`` packets from ``path``, with the
    same timestamps (to the nanosecond)."""
    ours = read_packets(path)
    assert tcpdump_count(str(path)) == len(ours) == count
    stamps = [line.split()[0] for line in tcpdump_lines(str(path), "-tt", "--nano")]
    assert stamps == [f"{p.ts_ns // 10**9}.{p.ts_ns % 10**9:09d}" for p in ours]
