"""``ebpy filter``: tcpdump's filtering face — compile a pcap-filter expression, show it, apply it.

::

    ebpy filter -d|-dd|-ddd [-y LINKTYPE | -r FILE] [-O] EXPR...   the program, as tcpdump -d prints it
    ebpy filter -r IN [-w OUT] [-c N] [-e] [-t|-tt] [-O] EXPR...    read a capture, keep what matches
    ebpy filter -i IFACE [-w OUT] [-c N] [-s SNAPLEN] EXPR...       live capture (root)

The words of EXPR are joined with spaces, as tcpdump does. ``-r`` reads pcap
or pcapng (``-r -``: standard input; ``-w -``: standard output); each packet is run through the compiled program with libpcap's
lengths (the captured bytes, and the length on the wire for ``len``,
``less`` and ``greater``; records longer than the file's snap length are cut
to it, as libpcap does), and the packets it accepts are printed as one-line
summaries (``ebpy.pcap.summary``) or, with ``-w``, written to a classic pcap
file of the same link type, snap length and timestamp precision. ``-i``
captures on an interface with the program attached in the kernel
(``ebpy.kernel.capture``) until ``-c`` packets or Ctrl-C, then prints
tcpdump's three counting lines.

Addresses, ports and protocols are always printed as numbers: ebpy never
resolves names, so ``-n`` changes nothing (it is accepted for habit's sake).
A bad expression is one ``ebpy: error:`` line with its column, exit code 2.
This module reads options and drives the loops; compiling is
``ebpy.cbpf.pcap``'s, running ``ebpy.cbpf.interp``'s, printing ``ebpy.pcap.summary``'s.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, TextIO

import click

if TYPE_CHECKING:
    from ebpy.cbpf.isa import Insn
    from ebpy.pcap import CaptureReader, Packet

__all__ = ["LINKTYPE_NAMES", "FilterResult", "filter_cmd", "filter_file", "parse_linktype"]

DEFAULT_SNAPLEN = 262144

LINKTYPE_NAMES: dict[str, tuple[int, str]] = {
    "NULL": (0, "BSD loopback"),
    "EN10MB": (1, "Ethernet"),
    "RAW": (101, "Raw IP"),
    "LOOP": (108, "OpenBSD loopback"),
    "LINUX_SLL": (113, "Linux cooked v1"),
    "IPV4": (228, "Raw IPv4"),
    "IPV6": (229, "Raw IPv6"),
    "LINUX_SLL2": (276, "Linux cooked v2"),
}
"""tcpdump's names for the link types ``-y`` takes: name -> (LINKTYPE_ value, description)."""

_BY_NUMBER = {number: (name, text) for name, (number, text) in LINKTYPE_NAMES.items()}
_BY_NUMBER[12] = _BY_NUMBER[14] = ("RAW", "Raw IP")


def parse_linktype(text: str) -> int:
    """A link type from its tcpdump name (``EN10MB``, ``RAW``, ...) or number.

    >>> parse_linktype("en10mb"), parse_linktype("113")
    (1, 113)
    """
    entry = LINKTYPE_NAMES.get(text.upper())
    if entry is not None:
        return entry[0]
    try:
        return int(text, 0)
    except ValueError:
        known = ", ".join(LINKTYPE_NAMES)
        raise click.BadParameter(f"unknown link type {text!r} (known: {known})") from None


def linktype_text(linktype: int) -> str:
    """``EN10MB (Ethernet)``, as tcpdump names a link type in its messages."""
    name, text = _BY_NUMBER.get(linktype, (str(linktype), "unknown"))
    return f"{name} ({text})"


# -- applying a filter to a capture ---------------------------------------------------------
@dataclass
class FilterResult:
    """What ``filter_file`` did: packets read, and the indexes (0-based) of those kept."""

    read: int = 0
    kept: list[int] = field(default_factory=list)


class _Programs:
    """The compiled program of each link type met (pcapng files may mix them)."""

    def __init__(
        self, expr: str, snaplen: int, optimize: bool, live: bool = False, savefile: bool = False
    ) -> None:
        self.expr = expr
        self.snaplen = snaplen
        self.optimize = optimize
        self.live = live
        """For a live capture: VLAN tags from skb metadata, as libpcap compiles them."""
        self.savefile = savefile
        """For a capture file: no Linux packet type (``inbound`` is refused)."""
        self._filters: dict[int, Callable[[bytes, int], int]] = {}
        self._insns: dict[int, list[Insn]] = {}

    def insns(self, linktype: int) -> list[Insn]:
        found = self._insns.get(linktype)
        if found is None:
            from ebpy.cbpf.pcap import compile_filter

            found = compile_filter(
                self.expr,
                linktype=linktype,
                snaplen=self.snaplen,
                optimize=self.optimize,
                linux_vlan=self.live,
                savefile=self.savefile,
            )
            self._insns[linktype] = found
        return found

    def get(self, linktype: int) -> Callable[[bytes, int], int]:
        found = self._filters.get(linktype)
        if found is None:
            from ebpy.cbpf.interp import compile_filter_program

            found = compile_filter_program(self.insns(linktype))
            self._filters[linktype] = found
        return found


def _first_linktype(reader: CaptureReader, packets: Iterator[Packet]) -> tuple[int, list[Packet]]:
    """The capture's link type, and the packets read to learn it (pcapng names its
    interfaces as it goes)."""
    from ebpy.pcap import PcapReader

    if isinstance(reader, PcapReader):
        return reader.linktype, []
    first = next(packets, None)
    if first is not None:
        return first.linktype, [first]
    return (reader.interfaces[0].linktype if reader.interfaces else 1), []


def _file_snaplen(reader: CaptureReader, interface: int) -> int:
    from ebpy.pcap import PcapReader

    if isinstance(reader, PcapReader):
        return int(reader.snaplen)
    return reader.interfaces[interface].snaplen if interface < len(reader.interfaces) else 0


def filter_file(
    source: str,
    expr: str,
    *,
    write: str | None = None,
    count: int | None = None,
    optimize: bool = True,
    snaplen: int = DEFAULT_SNAPLEN,
    linktype: int | None = None,
    out: TextIO | None = None,
    link_header: bool = False,
    timestamps: str = "local",
    notice: TextIO | None = None,
) -> FilterResult:
    """Run ``expr`` over the capture ``source``; write what it keeps to ``write``
    (a classic pcap) or print its summaries to ``out``. ``linktype`` overrides the
    file's (tcpdump's ``-y``). The engine of ``ebpy filter -r``, callable in-process."""
    from ebpy.pcap import PcapReader, PcapWriter, open_capture
    from ebpy.pcap.summary import Summarizer

    programs = _Programs(expr, snaplen, optimize, savefile=True)
    result = FilterResult()
    with open_capture(sys.stdin.buffer if source == "-" else source) as reader:
        packets = iter(reader)
        file_linktype, head = _first_linktype(reader, packets)
        kind = file_linktype if linktype is None else linktype
        programs.get(kind)  # compile (and report a bad expression) before reading on
        if notice is not None:
            notice.write(
                f"reading from file {source}, link-type {linktype_text(kind)}, "
                f"snapshot length {_file_snaplen(reader, 0) or DEFAULT_SNAPLEN}\n"
            )
        emit: Callable[[Packet], None]
        writer: PcapWriter | None = None
        if write is not None:
            writer = PcapWriter(
                _output(write),
                kind,
                snaplen=_file_snaplen(reader, 0) or DEFAULT_SNAPLEN,
                nanosecond=bool(reader.nanosecond),
            )
            write_frame = writer.write_frame

            def emit(packet: Packet) -> None:
                write_frame(packet.data, packet.ts_ns, packet.orig_len)

        else:
            line = Summarizer(kind, link_header=link_header, timestamps=timestamps).line
            put = (out or sys.stdout).write

            def emit(packet: Packet) -> None:
                put(line(packet._replace(linktype=kind)) + "\n")

        stream = itertools.chain(head, packets)
        try:
            if isinstance(reader, PcapReader):  # one link type, one snap length
                kind_run = programs.get(kind)
                _fixed_loop(stream, kind_run, _file_snaplen(reader, 0), result, count, emit)
            else:
                _filter_loop(reader, stream, programs, linktype, result, count, emit)
        finally:
            if writer is not None:
                writer.close()
    return result


def _output(path: str) -> str | BinaryIO:
    """``path``, or standard output for ``-`` (as tcpdump's ``-w -``)."""
    return sys.stdout.buffer if path == "-" else path


def _fixed_loop(
    packets: Iterable[Packet],
    run: Callable[[bytes, int], int],
    limit: int,
    result: FilterResult,
    count: int | None,
    emit: Callable[[Packet], None],
) -> None:
    """The loop for a capture of one link type and snap length (classic pcap)."""
    kept = result.kept
    index = -1
    for index, packet in enumerate(packets):
        data = packet[1]
        if limit and len(data) > limit:  # libpcap cuts records past the snap length
            packet = packet._replace(data=data[:limit])
            data = packet[1]
        if run(data, packet[2]):
            kept.append(index)
            emit(packet)
            if count is not None and len(kept) >= count:
                break
    result.read = index + 1


def _filter_loop(
    reader: CaptureReader,
    packets: Iterable[Packet],
    programs: _Programs,
    linktype: int | None,
    result: FilterResult,
    count: int | None,
    emit: Callable[[Packet], None],
) -> None:
    """The loop for pcapng: each interface its link type and snap length."""
    limits: dict[int, int] = {}
    kept = result.kept
    index = -1
    for index, packet in enumerate(packets):
        kind = packet.linktype if linktype is None else linktype
        limit = limits.get(packet.interface)
        if limit is None:
            limit = limits[packet.interface] = _file_snaplen(reader, packet.interface)
        if limit and len(packet.data) > limit:
            packet = packet._replace(data=packet.data[:limit])
        if not programs.get(kind)(packet.data, packet.orig_len):
            continue
        kept.append(index)
        emit(packet)
        if count is not None and len(kept) >= count:
            break
    result.read = index + 1


# -- the command ----------------------------------------------------------------------------
_TIMESTAMPS = {0: "local", 1: "none", 2: "epoch"}


@click.command(
    "filter",
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Names are never resolved: addresses, ports and protocols print as numbers "
    "(-n is accepted and changes nothing). Put -- before an expression that starts "
    "with '-'.",
)
@click.option("-d", "dump_level", count=True, help="Print the program (-d, -dd, -ddd) and exit.")
@click.option("-r", "read_file", metavar="FILE", help="Read packets from a pcap/pcapng file.")
@click.option("-w", "write_file", metavar="FILE", help="Write kept packets to a pcap file.")
@click.option(
    "-c", "count", type=click.IntRange(min=1), metavar="N", help="Stop after N kept packets."
)
@click.option("-n", "numeric", is_flag=True, help="Numbers, not names (always so).")
@click.option("-e", "link_header", is_flag=True, help="Print the link-level header.")
@click.option("-O", "no_optimize", is_flag=True, help="Do not optimize the program.")
@click.option("-i", "interface", metavar="IFACE", help="Capture live on IFACE (root).")
@click.option(
    "-s", "snaplen", type=click.IntRange(min=0), default=DEFAULT_SNAPLEN, metavar="SNAPLEN",
    help="Bytes kept of each packet (default and 0: 262144).",
)  # fmt: skip
@click.option("-y", "linktype_name", metavar="LINKTYPE", help="Link type (EN10MB, RAW, ...).")
@click.option("-t", "time_flags", count=True, help="-t: no timestamp; -tt: seconds since 1970.")
@click.argument("expression", nargs=-1)
def filter_cmd(
    dump_level: int,
    read_file: str | None,
    write_file: str | None,
    count: int | None,
    numeric: bool,
    link_header: bool,
    no_optimize: bool,
    interface: str | None,
    snaplen: int,
    linktype_name: str | None,
    time_flags: int,
    expression: tuple[str, ...],
) -> None:
    """Compile a pcap-filter EXPRESSION; print it, or filter a capture or an interface."""
    expr = " ".join(expression)
    snaplen = snaplen or DEFAULT_SNAPLEN
    linktype = parse_linktype(linktype_name) if linktype_name else None
    if read_file and interface:
        raise click.UsageError("-r and -i cannot be used together")
    if dump_level:
        _dump(expr, dump_level, read_file, interface, linktype, snaplen, not no_optimize)
        return
    timestamps = _TIMESTAMPS.get(time_flags, "epoch")
    if read_file:
        filter_file(
            read_file, expr, write=write_file, count=count, optimize=not no_optimize,
            snaplen=snaplen, linktype=linktype, link_header=link_header,
            timestamps=timestamps, notice=sys.stderr,
        )  # fmt: skip
        return
    if interface:
        from ebpy.cli.filter_live import capture

        capture(
            interface, expr, write=write_file, count=count, optimize=not no_optimize,
            snaplen=snaplen, link_header=link_header, timestamps=timestamps,
        )  # fmt: skip
        return
    raise click.UsageError("give -r FILE or -i IFACE to filter packets, or -d to show the program")


def _dump(
    expr: str,
    level: int,
    read_file: str | None,
    interface: str | None,
    linktype: int | None,
    snaplen: int,
    optimize: bool,
) -> None:
    from ebpy.cbpf.text import dump

    if linktype is None:
        linktype = _source_linktype(read_file, interface)
    live = interface is not None and read_file is None
    insns = _Programs(expr, snaplen, optimize, live).insns(linktype)
    click.echo(dump(insns, min(level, 3)), nl=False)


def _source_linktype(read_file: str | None, interface: str | None) -> int:
    """The link type of the capture or interface, or Ethernet (as tcpdump warns)."""
    if read_file:
        from ebpy.pcap import open_capture

        with open_capture(read_file) as reader:
            return _first_linktype(reader, iter(reader))[0]
    if interface:
        from ebpy.kernel.capture import interface_linktype

        return interface_linktype(interface)
    click.echo("Warning: assuming Ethernet", err=True)
    return 1
