"""Packet captures: classic pcap and pcapng, read and written; and synthetic test packets.

``open_capture(path)`` detects the format and streams ``Packet`` records
(timestamp in ns, captured bytes, original length, link type, interface);
``PcapWriter``/``PcapngWriter`` (or ``open_writer``/``write_packets``) write them.
Truncated or corrupt files raise ``PcapError`` (an ``InputError``) with the
byte offset, never another exception. ``to_ethernet`` turns raw-IP, cooked
(SLL/SLL2) and loopback packets into Ethernet frames. ``ebpy.pcap.synth``
builds deterministic Ethernet/IP/TCP/UDP/ICMP/ARP/VLAN frames.

Why written here rather than taken from a library: both formats are small and
fully specified (a fixed header and fixed records; a handful of block types),
while what ebpy needs is not what the libraries give. dpkt and python-pcapng
raise their own exceptions (or ``struct.error``/``ValueError``) without the byte
offset, which would need wrapping at every step to keep the promise that only
``BpfError``s escape; neither ships type hints for ``mypy --strict``; scapy is
far too slow for 100,000 packets a second; and a runtime dependency for two
simple formats is more to install and keep than these few hundred lines. Reading is a
``struct.Struct.unpack_from`` per record over 1 MiB chunks, which streams
100,000 packets in a fraction of a second.

This package imports only ``ebpy.errors``: it knows nothing of programs, the
VM or the CLI, and does no protocol decoding beyond what ``to_ethernet`` needs.
"""

from ebpy.pcap.classic import MAX_SNAPLEN, PcapReader, PcapWriter
from ebpy.pcap.packet import (
    ETH_HLEN,
    ETHERNET_CONVERTIBLE,
    Interface,
    LinkType,
    LinkTypeError,
    Packet,
    PcapError,
    TruncatedError,
    UnknownFormatError,
    link_type_name,
    to_ethernet,
)
from ebpy.pcap.pcapng import PcapngReader, PcapngWriter
from ebpy.pcap.reader import (
    FORMATS,
    CaptureReader,
    CaptureWriter,
    detect_format,
    iter_packets,
    open_capture,
    open_writer,
    read_packets,
    write_packets,
)

__all__ = [
    "ETHERNET_CONVERTIBLE",
    "ETH_HLEN",
    "FORMATS",
    "MAX_SNAPLEN",
    "CaptureReader",
    "CaptureWriter",
    "Interface",
    "LinkType",
    "LinkTypeError",
    "Packet",
    "PcapError",
    "PcapReader",
    "PcapWriter",
    "PcapngReader",
    "PcapngWriter",
    "TruncatedError",
    "UnknownFormatError",
    "detect_format",
    "iter_packets",
    "link_type_name",
    "open_capture",
    "open_writer",
    "read_packets",
    "to_ethernet",
    "write_packets",
]
