"""pcapng: hand-built files (every block kind, options, sections), the writer, errors, tcpdump."""

from __future__ import annotations

import contextlib
import io
import struct
from pathlib import Path

import pytest

from ebpy.pcap import (
    Packet,
    PcapError,
    PcapngReader,
    PcapngWriter,
    TruncatedError,
    open_capture,
    read_packets,
    write_packets,
)
from ebpy.pcap.synth import synth_packets
from tests.pcap import (
    TCPDUMP,
    assert_tcpdump_agrees,
    block,
    epb,
    idb,
    opb,
    option,
    shb,
    spb,
    tcpdump_count,
)

needs_tcpdump = pytest.mark.skipif(TCPDUMP is None, reason="tcpdump not installed")

A, B, C = b"A" * 61, b"B" * 62, b"C" * 63


@pytest.mark.parametrize("order", ["<", ">"])
def test_reads_every_packet_block_kind(order: str) -> None:
    raw = shb(order) + idb(1, 0, order)
    raw += epb(0, 1_000_000, A, order)  # 1 s in the default microseconds
    raw += block(4, b"\x00" * 8, order)  # name resolution: skipped
    raw += spb(B, order=order)
    raw += opb(0, 2_500_000, C, order)
    raw += block(5, struct.pack(order + "III", 0, 0, 0), order)  # statistics: skipped
    raw += block(0x40000BAD, b"custom", order)  # custom: skipped
    with open_capture(raw) as reader:
        assert isinstance(reader, PcapngReader)
        packets = list(reader)
        assert reader.skipped == 3
        assert reader.sections == 1
    assert [p.data for p in packets] == [A, B, C]
    assert [p.ts_ns for p in packets] == [10**9, 0, 2_500_000_000]
    assert all(p.linktype == 1 and p.interface == 0 for p in packets)


@pytest.mark.parametrize(
    ("tsresol", "ticks", "ns", "unit"),
    [
        (None, 1_234_567, 1_234_567_000, "us"),
        (9, 1_234_567, 1_234_567, "ns"),
        (3, 1_234, 1_234_000_000, "ms"),
        (0, 7, 7_000_000_000, "s"),
        (4, 5, 500_000, "10^-4"),
        (12, 1_234_567, 1_234, "10^-12"),
        (0x80 | 10, 1024 * 3 + 1, 3_000_976_562, "2^-10"),
        (0x80 | 20, 1 << 20, 10**9, "2^-20"),
    ],
)
def test_timestamp_resolution(tsresol: int | None, ticks: int, ns: int, unit: str) -> None:
    opts = b"" if tsresol is None else option(9, bytes([tsresol]))
    raw = shb() + idb(1, 0, options=opts) + epb(0, ticks, A)
    with open_capture(raw) as reader:
        (packet,) = list(reader)
        assert reader.interfaces[0].ts_unit == unit
    assert packet.ts_ns == ns


def test_tsoffset_and_name_options() -> None:
    opts = option(2, b"eth7") + option(14, struct.pack("<q", 100)) + option(9, b"\x09")
    raw = shb() + idb(1, 96, options=opts) + epb(0, 5, A)
    with open_capture(raw) as reader:
        (packet,) = list(reader)
        iface = reader.interfaces[0]
    assert (iface.name, iface.snaplen, iface.ts_unit) == ("eth7", 96, "ns")
    assert packet.ts_ns == 100 * 10**9 + 5


def test_several_interfaces_and_link_types() -> None:
    raw = shb() + idb(1) + idb(101) + idb(113, options=option(9, b"\x09"))
    raw += epb(2, 10, C) + epb(0, 10, A) + epb(1, 10, B)
    with open_capture(raw) as reader:
        packets = list(reader)
        assert [i.linktype for i in reader.interfaces] == [1, 101, 113]
    assert [(p.interface, p.linktype, p.data) for p in packets] == [
        (2, 113, C),
        (0, 1, A),
        (1, 101, B),
    ]
    assert [p.ts_ns for p in packets] == [10, 10_000, 10_000]


def test_sections_reset_interfaces_and_may_change_byte_order() -> None:
    raw = shb("<") + idb(1, order="<") + epb(0, 1, A, "<")
    raw += (
        shb(">") + idb(101, order=">") + idb(1, order=">") + epb(1, 2, B, ">") + epb(0, 3, C, ">")
    )
    with open_capture(raw) as reader:
        packets = list(reader)
        assert reader.sections == 2
        assert len(reader.interfaces) == 3
    assert [(p.interface, p.linktype) for p in packets] == [(0, 1), (2, 1), (1, 101)]


def test_simple_packet_block_respects_snaplen() -> None:
    raw = shb() + idb(1, snaplen=20) + spb(A, orig=1000)
    (packet,) = read_packets(raw)
    assert (packet.data, packet.orig_len) == (A[:20], 1000)


@pytest.mark.parametrize("nanosecond", [False, True])
@pytest.mark.parametrize("big_endian", [False, True])
def test_writer_round_trip(nanosecond: bool, big_endian: bool) -> None:
    packets = list(synth_packets(40, seed=8, interval_ns=999_999))
    buf = io.BytesIO()
    with PcapngWriter(buf, nanosecond=nanosecond, big_endian=big_endian) as w:
        for p in packets:
            w.write(p)
        w.write(Packet(5_000, b"\x45" + bytes(19), 20, 101))
        assert w.count == 41
    with open_capture(buf.getvalue()) as reader:
        back = list(reader)
        assert reader.nanosecond is nanosecond
        assert [i.linktype for i in reader.interfaces] == [1, 101]
    assert [p.data for p in back[:-1]] == [p.data for p in packets]
    expect = [p.ts_ns if nanosecond else p.ts_ns - p.ts_ns % 1000 for p in packets]
    assert [p.ts_ns for p in back[:-1]] == expect
    assert (back[-1].linktype, back[-1].interface, back[-1].ts_ns) == (101, 1, 5_000)


def test_writer_interfaces_and_errors() -> None:
    w = PcapngWriter(io.BytesIO())
    with pytest.raises(PcapError):
        w.write_frame(b"x", 0, interface=0)
    assert w.add_interface(1, 128, name="veth0") == 0
    with pytest.raises(PcapError):
        w.write_frame(b"x", -5, interface=0)
    w.write_frame(b"x", 5, interface=0)
    assert w.interfaces[0].name == "veth0"


def _bad_length(n: int) -> bytes:
    return shb() + idb() + struct.pack("<II", 6, n) + bytes(40)


EPB_AT = len(shb()) + len(idb())


@pytest.mark.parametrize(
    ("raw", "error", "offset"),
    [
        (shb()[:6], TruncatedError, 0),
        (shb()[:10], TruncatedError, 0),
        (shb()[:20], TruncatedError, 0),
        (shb(major=2), PcapError, 12),
        (shb().replace(b"\x4d\x3c\x2b\x1a", b"\x00\x11\x22\x33"), PcapError, 8),
        (shb() + epb(0, 0, A), PcapError, len(shb())),
        (shb() + idb() + epb(1, 0, A), PcapError, EPB_AT),
        (_bad_length(30), PcapError, EPB_AT),
        (_bad_length(8), PcapError, EPB_AT),
        (_bad_length(1 << 30), PcapError, EPB_AT),
        (shb() + idb() + epb(0, 0, A)[:-4] + b"\x00\x00\x00\x00", PcapError, EPB_AT),
        (shb() + idb() + epb(0, 0, A)[:50], TruncatedError, EPB_AT),
        (shb() + idb() + epb(0, 0, A)[:6], TruncatedError, EPB_AT),
        (
            shb() + block(1, struct.pack("<HHI", 1, 0, 0) + struct.pack("<HH", 9, 200)),
            PcapError,
            44,
        ),
        (shb() + spb(A), PcapError, len(shb())),
    ],
)
def test_bad_files(raw: bytes, error: type[PcapError], offset: int) -> None:
    with pytest.raises(error) as exc:
        read_packets(raw)
    assert exc.value.offset == offset


def test_captured_length_beyond_the_block() -> None:
    good = epb(0, 0, A)
    head = struct.pack("<IIIII", 0, 0, 0, 500, 500)
    bad = good[:8] + head + good[28:]
    with pytest.raises(PcapError) as exc:
        read_packets(shb() + idb() + bad)
    assert exc.value.offset == EPB_AT


@needs_tcpdump
@pytest.mark.parametrize("big_endian", [False, True])
def test_tcpdump_agrees(tmp_path: Path, big_endian: bool) -> None:
    path = tmp_path / "t.pcapng"
    with PcapngWriter(path, big_endian=big_endian) as w:
        for p in synth_packets(300, seed=12, interval_ns=1_000_001):
            w.write(p)
    assert_tcpdump_agrees(path, 300)


@needs_tcpdump
def test_tcpdump_agrees_on_resolutions_offsets_and_block_kinds(tmp_path: Path) -> None:
    frames = [p.data for p in synth_packets(6, seed=1)]
    raw = shb() + idb(1) + idb(1, options=option(9, b"\x83") + option(14, struct.pack("<q", 7)))
    raw += idb(1, options=option(9, b"\x02"))
    raw += epb(0, 1_700_000_000_123_456, frames[0]) + epb(1, 12345, frames[1])
    raw += block(4, b"\x00" * 4) + epb(2, 170_000_000_042, frames[2]) + spb(frames[3])
    raw += opb(1, 99, frames[4]) + epb(0, 1, frames[5])
    path = tmp_path / "mixed.pcapng"
    path.write_bytes(raw)
    assert_tcpdump_agrees(path, 6)


@needs_tcpdump
@pytest.mark.parametrize("cut", [30, 100, 1000, 4000])
def test_tcpdump_agrees_on_truncated_files(tmp_path: Path, cut: int) -> None:
    full = io.BytesIO()
    write_packets(full, synth_packets(60, seed=2), "pcapng")
    path = tmp_path / "cut.pcapng"
    path.write_bytes(full.getvalue()[:cut])
    got: list[Packet] = []
    with contextlib.suppress(TruncatedError):
        got.extend(open_capture(path))
    assert len(got) == tcpdump_count(str(path))
