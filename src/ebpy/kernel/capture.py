"""Live capture on a network interface: an ``AF_PACKET`` socket with a classic filter in the kernel.

``LiveCapture(iface, insns, snaplen=...)`` opens a raw packet socket, attaches
the classic program with ``SO_ATTACH_FILTER`` (before binding, so no packet
reaches the socket unfiltered), binds it to the interface for every protocol
and yields ``ebpy.pcap.Packet``\\ s as libpcap would hand them to tcpdump: the
kernel keeps the first ``retval`` bytes a filter returns (libpcap's programs
return the snap length), the original length comes from ``PACKET_AUXDATA``
(``tp_len``), a VLAN tag the driver took off (``TP_STATUS_VLAN_VALID``) is put
back in front of the Ethernet type, and the timestamp is the kernel's
(``SO_TIMESTAMPNS``). ``stats()`` reads ``PACKET_STATISTICS`` (which the kernel
resets on each read, so the counts are accumulated here): packets that passed
the filter, and those dropped for want of buffer space.

Interfaces with an Ethernet header (``ARPHRD_ETHER``, and the loopback, which
has an all-zero one) capture as ``LINKTYPE_ETHERNET``; interfaces with no link
header (``ARPHRD_NONE``: tun, WireGuard) as ``LINKTYPE_RAW``. Others raise
``NotSupportedError``; so does a process without ``CAP_NET_RAW``. This module
compiles nothing (``ebpy.cbpf.pcap``) and prints nothing (the CLI does).

What differs from libpcap: no ring buffer (``TPACKET_V3``) but one
``recvmsg`` per packet, which is plenty for the rates a Python process
prints; and no promiscuous mode unless asked (``promisc=True``). VLAN tags
the kernel strips before the filter runs are seen by a filter compiled with
``compile_filter(..., linux_vlan=True)`` (ancillary loads, as libpcap
compiles ``vlan`` for live captures), and are put back in the packets.
"""

from __future__ import annotations

import errno as _errno
import select
import socket
import struct
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ebpy.cbpf.isa import Insn
from ebpy.closing import Closing
from ebpy.errors import KernelError, NotSupportedError
from ebpy.kernel.socket_filter import attach_filter
from ebpy.pcap.packet import LinkType, Packet

__all__ = ["CaptureStats", "LiveCapture", "interface_linktype"]

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_STATISTICS = 6
PACKET_AUXDATA = 8
SO_TIMESTAMPNS = 35
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
ARPHRD_ETHER = 1
ARPHRD_LOOPBACK = 772
ARPHRD_NONE = 0xFFFE

_AUXDATA = struct.Struct("=IIIHHHH")
"""``struct tpacket_auxdata``: status, len, snaplen, mac, net, vlan_tci, vlan_tpid."""
_STATS = struct.Struct("=II")
"""``struct tpacket_stats``: packets, drops."""
_TIMESPEC = struct.Struct("=qq")
_MREQ = struct.Struct("=iHH8s")
"""``struct packet_mreq``: ifindex, type, alen, address."""

_LINKTYPES = {
    ARPHRD_ETHER: LinkType.ETHERNET,
    ARPHRD_LOOPBACK: LinkType.ETHERNET,
    ARPHRD_NONE: LinkType.RAW,
}


def interface_linktype(iface: str) -> int:
    """The capture-file link type of ``iface`` (from its ``ARPHRD_*`` device type).

    ``InputError``-style ``NotSupportedError`` for an interface that does not
    exist or whose link layer this module does not capture.
    """
    try:
        with open(f"/sys/class/net/{iface}/type") as f:
            hatype = int(f.read().strip())
    except (OSError, ValueError):
        raise NotSupportedError(f"capture on {iface!r}", "no such network interface") from None
    linktype = _LINKTYPES.get(hatype)
    if linktype is None:
        raise NotSupportedError(
            f"capture on {iface!r}", f"device type ARPHRD {hatype} is not Ethernet or raw IP"
        )
    return linktype


PACKET_OUTGOING = 4
"""``sll_pkttype`` of a packet the host sends."""

_ARPHRD_LOOPBACK = 772


def _is_loopback(iface: str) -> bool:
    try:
        with open(f"/sys/class/net/{iface}/type") as f:
            return int(f.read().strip()) == _ARPHRD_LOOPBACK
    except (OSError, ValueError):
        return False


@dataclass
class CaptureStats:
    """What the kernel counted: packets that passed the filter (``received``,
    tcpdump's "received by filter") and those it dropped (``dropped``)."""

    received: int = 0
    dropped: int = 0


class LiveCapture(Closing):
    """Packets of one interface that pass a classic filter (see the module docstring).

    Iterate for ``Packet``\\ s (blocking); ``next_packet(timeout)`` waits at most
    ``timeout`` seconds and gives None on time-out. Use as a context manager or
    call ``close()``.
    """

    def __init__(
        self,
        iface: str,
        insns: Sequence[Insn] | None = None,
        *,
        snaplen: int = 262144,
        promisc: bool = False,
    ) -> None:
        self.iface = iface
        self.linktype = interface_linktype(iface)
        self._loopback = _is_loopback(iface)
        self.snaplen = snaplen
        self._stats = CaptureStats()
        try:
            # protocol 0: nothing is queued until bind() names one, after the filter is on
            self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        except PermissionError:
            raise NotSupportedError(
                "live capture", "opening an AF_PACKET socket needs CAP_NET_RAW (root)"
            ) from None
        try:
            if insns is not None:
                attach_filter(self._sock, insns)
            self._sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            self._sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            self._sock.bind((iface, ETH_P_ALL))
            if promisc:
                mreq = _MREQ.pack(socket.if_nametoindex(iface), PACKET_MR_PROMISC, 0, b"")
                self._sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
        except OSError as e:
            self._sock.close()
            raise KernelError(f"capture on {iface}", e.errno or _errno.EINVAL) from None
        except BaseException:
            self._sock.close()
            raise
        self._bufsize = max(snaplen, 65536) + 64
        self._cmsg = socket.CMSG_SPACE(_AUXDATA.size) + socket.CMSG_SPACE(_TIMESPEC.size)

    # -- packets -------------------------------------------------------------------------
    def _receive(self) -> Packet | None:
        """The next packet; None for one to skip: on the loopback each packet is
        seen going out and coming in, and (as libpcap) only the second is kept."""
        data, ancillary, _flags, addr = self._sock.recvmsg(self._bufsize, self._cmsg)
        if self._loopback and len(addr) > 2 and addr[2] == PACKET_OUTGOING:
            return None
        wire = len(data)
        ts_ns = 0
        tci: int | None = None
        tpid = 0x8100
        for level, kind, payload in ancillary:
            if level == SOL_PACKET and kind == PACKET_AUXDATA and len(payload) >= _AUXDATA.size:
                status, tp_len, _snap, _mac, _net, vlan_tci, vlan_tpid = _AUXDATA.unpack_from(
                    payload
                )
                wire = tp_len
                if status & TP_STATUS_VLAN_VALID:
                    tci = vlan_tci
                    if status & TP_STATUS_VLAN_TPID_VALID:
                        tpid = vlan_tpid
            elif level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = _TIMESPEC.unpack_from(payload)
                ts_ns = sec * 1_000_000_000 + nsec
        if tci is not None and self.linktype == LinkType.ETHERNET and len(data) >= 12:
            data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
            wire += 4
        if len(data) > self.snaplen:
            data = data[: self.snaplen]
        return Packet(ts_ns or time.time_ns(), data, max(wire, len(data)), self.linktype, 0)

    def next_packet(self, timeout: float | None = None) -> Packet | None:
        """The next packet, or None when ``timeout`` seconds pass first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if deadline is not None:
                left = deadline - time.monotonic()
                ready, _, _ = select.select([self._sock], [], [], max(left, 0))
                if not ready:
                    return None
            packet = self._receive()
            if packet is not None:
                return packet

    def __iter__(self) -> Iterator[Packet]:
        while True:
            packet = self._receive()
            if packet is not None:
                yield packet

    # -- statistics, life cycle ----------------------------------------------------------
    def stats(self) -> CaptureStats:
        """Counts since the capture started (``PACKET_STATISTICS``, accumulated)."""
        raw = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _STATS.size)
        packets, drops = _STATS.unpack(raw)
        # the kernel's tp_packets already includes the drops
        self._stats.received += packets
        self._stats.dropped += drops
        return CaptureStats(self._stats.received, self._stats.dropped)

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        self._sock.close()
