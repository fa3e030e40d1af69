"""``ebpy filter -i IFACE``: capture live, the filter in the kernel, until ``-c N`` or Ctrl-C.

The expression is compiled for the interface's link type and attached to an
``AF_PACKET`` socket (``ebpy.kernel.capture.LiveCapture``); packets that pass
are printed as summaries (flushed line by line) or written to ``-w``. At the
end come tcpdump's three lines on standard error: packets captured (handed to
the printer), received by filter (``PACKET_STATISTICS``: those that passed the
filter) and dropped by kernel. A program the kernel refuses (``ip
protochain`` jumps backwards, which classic BPF in the kernel does not allow)
runs in userspace instead, as libpcap falls back to: the socket takes every
packet and the filter, compiled for capture files, runs on each (VLAN tags put
back). This module only drives the loop.
"""

from __future__ import annotations

import errno
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ebpy.pcap import Packet

__all__ = ["capture", "counting_lines"]


def _plural(n: int, what: str) -> str:
    return f"{n} packet{'' if n == 1 else 's'} {what}"


def counting_lines(captured: int, received: int, dropped: int) -> str:
    """tcpdump's closing lines.

    >>> print(counting_lines(1, 3, 0))
    1 packet captured
    3 packets received by filter
    0 packets dropped by kernel
    """
    return "\n".join(
        (
            _plural(captured, "captured"),
            _plural(received, "received by filter"),
            _plural(dropped, "dropped by kernel"),
        )
    )


def capture(
    interface: str,
    expr: str,
    *,
    write: str | None = None,
    count: int | None = None,
    optimize: bool = True,
    snaplen: int = 262144,
    link_header: bool = False,
    timestamps: str = "local",
) -> int:
    """Capture on ``interface`` until ``count`` packets, Ctrl-C or SIGTERM; returns the count."""
    with _stopped_by_signals():
        return _capture(interface, expr, write, count, optimize, snaplen, link_header, timestamps)


@contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """SIGINT and SIGTERM end the capture (with the counting lines), as tcpdump's
    handlers do, even where SIGINT was ignored (a background job of a script)."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    main_thread = threading.current_thread() is threading.main_thread()
    old = {sig: signal.getsignal(sig) for sig in _STOP_SIGNALS} if main_thread else {}
    for sig in old:
        signal.signal(sig, stop)
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _capture(
    interface: str,
    expr: str,
    write: str | None,
    count: int | None,
    optimize: bool,
    snaplen: int,
    link_header: bool,
    timestamps: str,
) -> int:
    from ebpy.cbpf.interp import compile_filter_program
    from ebpy.cbpf.pcap import compile_filter
    from ebpy.cli.filter import linktype_text
    from ebpy.errors import KernelError
    from ebpy.kernel.capture import LiveCapture, interface_linktype
    from ebpy.pcap import PcapWriter
    from ebpy.pcap.summary import Summarizer

    linktype = interface_linktype(interface)
    # in the kernel the filter sees VLAN tags as skb metadata: compile as libpcap does live
    insns = compile_filter(
        expr, linktype=linktype, snaplen=snaplen, optimize=optimize, linux_vlan=True
    )
    captured = 0
    userland: Callable[[bytes, int], int] | None = None
    try:
        live = LiveCapture(interface, insns, snaplen=snaplen)
    except KernelError as refused:
        if refused.errno != errno.EINVAL:
            raise
        userland = compile_filter_program(
            compile_filter(expr, linktype=linktype, snaplen=snaplen, optimize=optimize)
        )
        live = LiveCapture(interface, None, snaplen=snaplen)
    with live:
        print(
            f"listening on {interface}, link-type {linktype_text(linktype)}, "
            f"snapshot length {snaplen} bytes",
            file=sys.stderr,
            flush=True,
        )
        target = sys.stdout.buffer if write == "-" else write
        writer = PcapWriter(target, linktype, snaplen=snaplen) if target else None
        emit: Callable[[Packet], None]
        if writer is not None:

            def emit(packet: Packet) -> None:
                writer.write(packet)

        else:
            line = Summarizer(linktype, link_header=link_header, timestamps=timestamps).line

            def emit(packet: Packet) -> None:
                print(line(packet), flush=True)

        try:
            for packet in live:
                if userland is not None:
                    keep = userland(packet.data, packet.orig_len)
                    if not keep:
                        continue
                    if keep < len(packet.data):
                        packet = packet._replace(data=packet.data[:keep])
                emit(packet)
                captured += 1
                if count is not None and captured >= count:
                    break
        except KeyboardInterrupt:
            print(file=sys.stderr)
        finally:
            if writer is not None:
                writer.close()
            stats = live.stats()
    print(counting_lines(captured, stats.received, stats.dropped), file=sys.stderr, flush=True)
    return captured
