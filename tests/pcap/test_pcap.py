"""Classic pcap: reading hand-built files, writing and reading back, errors, tcpdump as oracle."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

import ebpy.pcap.stream
from ebpy.errors import InputError
from ebpy.pcap import (
    LinkType,
    LinkTypeError,
    Packet,
    PcapError,
    PcapReader,
    PcapWriter,
    TruncatedError,
    UnknownFormatError,
    open_capture,
    read_packets,
    to_ethernet,
    write_packets,
)
from ebpy.pcap.synth import synth_packets, write_synth_pcap
from tests.pcap import (
    TCPDUMP,
    assert_tcpdump_agrees,
    pcap_header,
    pcap_record,
    tcpdump_count,
)

needs_tcpdump = pytest.mark.skipif(TCPDUMP is None, reason="tcpdump not installed")

FRAMES = [bytes(range(i, i + 60)) for i in range(5)]


@pytest.mark.parametrize(
    ("order", "magic", "nanosecond", "unit"),
    [
        ("<", 0xA1B2C3D4, False, 1000),
        (">", 0xA1B2C3D4, False, 1000),
        ("<", 0xA1B23C4D, True, 1),
        (">", 0xA1B23C4D, True, 1),
    ],
)
def test_reads_both_byte_orders_and_units(
    order: str, magic: int, nanosecond: bool, unit: int
) -> None:
    raw = pcap_header(order, magic, 1, 1500)
    raw += b"".join(pcap_record(f, 1_600_000_000 + i, 123 * i, order) for i, f in enumerate(FRAMES))
    with open_capture(raw) as reader:
        assert isinstance(reader, PcapReader)
        assert reader.byte_order == ("little" if order == "<" else "big")
        assert reader.nanosecond is nanosecond
        assert (reader.snaplen, reader.linktype, reader.version) == (1500, 1, (2, 4))
        packets = list(reader)
    assert [p.data for p in packets] == FRAMES
    assert [p.ts_ns for p in packets] == [
        (1_600_000_000 + i) * 10**9 + 123 * i * unit for i in range(len(FRAMES))
    ]
    assert all(p.orig_len == 60 and p.linktype == 1 and p.interface == 0 for p in packets)


@pytest.mark.parametrize("order", ["<", ">"])
def test_reads_the_modified_format(order: str) -> None:
    raw = pcap_header(order, 0xA1B2CD34)
    for f in FRAMES:
        raw += pcap_record(f, 5, 6, order)[:16] + bytes(8) + f  # ifindex, protocol, type, pad
    packets = read_packets(raw)
    assert [p.data for p in packets] == FRAMES
    assert packets[0].ts_ns == 5 * 10**9 + 6000


@pytest.mark.parametrize("linktype", [0, 1, 101, 108, 113, 147, 228, 229, 276])
def test_link_type_is_reported(linktype: int) -> None:
    raw = pcap_header(linktype=linktype) + pcap_record(b"\x45" + bytes(19))
    with open_capture(raw) as reader:
        assert reader.linktype == linktype
        assert reader.interfaces[0].linktype == linktype
        assert next(iter(reader)).linktype == linktype


def test_fcs_bits_are_not_part_of_the_link_type() -> None:
    network = 1 | 0x04000000 | (2 << 28)  # Ethernet with a 4-byte FCS
    with open_capture(pcap_header(linktype=network)) as reader:
        assert (reader.linktype, reader.fcs_len) == (1, 4)
    with open_capture(pcap_header(linktype=1)) as reader:
        assert reader.fcs_len is None


@pytest.mark.parametrize("nanosecond", [False, True])
@pytest.mark.parametrize("big_endian", [False, True])
def test_write_then_read_back(tmp_path: Path, nanosecond: bool, big_endian: bool) -> None:
    packets = list(synth_packets(50, seed=3, interval_ns=1_234_567))
    path = tmp_path / "out.pcap"
    with PcapWriter(path, nanosecond=nanosecond, big_endian=big_endian) as w:
        for p in packets:
            w.write(p)
        assert w.count == 50
    back = read_packets(path)
    assert [p.data for p in back] == [p.data for p in packets]
    expect = [p.ts_ns if nanosecond else p.ts_ns - p.ts_ns % 1000 for p in packets]
    assert [p.ts_ns for p in back] == expect
    with open_capture(str(path)) as reader:
        assert reader.nanosecond is nanosecond
        assert reader.byte_order == ("big" if big_endian else "little")


def test_original_length_and_truncated_flag() -> None:
    buf = io.BytesIO()
    with PcapWriter(buf, snaplen=64) as w:
        w.write_frame(bytes(64), 7, orig_len=1500)
        w.write_frame(bytes(10), 8)
    a, b = read_packets(buf.getvalue())
    assert (a.orig_len, a.truncated, b.orig_len, b.truncated) == (1500, True, 10, False)


def test_sources_path_str_bytes_and_file(tmp_path: Path) -> None:
    path = tmp_path / "s.pcap"
    write_synth_pcap(path, 20, seed=1)
    expect = read_packets(path)
    assert read_packets(str(path)) == expect
    assert read_packets(path.read_bytes()) == expect
    with path.open("rb") as f:
        assert read_packets(f) == expect


def test_reads_across_chunk_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.pcap"
    write_synth_pcap(path, 200, seed=2)
    expect = read_packets(path.read_bytes())
    for chunk in (1, 7, 100, 4096):
        monkeypatch.setattr(ebpy.pcap.stream, "CHUNK", chunk)
        assert read_packets(path) == expect


def test_streams_packets_before_the_error() -> None:
    raw = pcap_header() + b"".join(pcap_record(f) for f in FRAMES)
    cut = raw[:-10]
    got: list[Packet] = []
    with pytest.raises(TruncatedError) as exc:
        got.extend(open_capture(cut))
    assert [p.data for p in got] == FRAMES[:-1]
    assert exc.value.offset == 24 + 4 * (16 + 60)
    assert (exc.value.needed, exc.value.available) == (76, 66)


@pytest.mark.parametrize(
    ("raw", "error", "offset"),
    [
        (b"", TruncatedError, 0),
        (b"\xd4\xc3", TruncatedError, 0),
        (b"GIF89a" + bytes(30), UnknownFormatError, 0),
        (pcap_header()[:20], TruncatedError, 0),
        (pcap_header() + b"\x01\x02\x03", TruncatedError, 24),
        (pcap_header() + pcap_record(b"abc")[:16], TruncatedError, 24),
        (pcap_header() + pcap_record(b"ab") + pcap_record(bytes(300_000)), PcapError, 42),
        (pcap_header().replace(b"\x02\x00\x04\x00", b"\x01\x00\x00\x00"), PcapError, 4),
    ],
)
def test_bad_files(raw: bytes, error: type[PcapError], offset: int) -> None:
    with pytest.raises(error) as exc:
        read_packets(raw)
    assert isinstance(exc.value, InputError)
    assert exc.value.offset == offset


def test_errors_name_the_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.pcap"
    path.write_bytes(pcap_header() + b"\x00")
    with pytest.raises(TruncatedError) as exc:
        read_packets(path)
    assert exc.value.path == str(path)
    with pytest.raises(PcapError) as missing:
        read_packets(tmp_path / "missing.pcap")
    assert missing.value.path.endswith("missing.pcap")
    with pytest.raises(PcapError):
        read_packets(tmp_path)


def test_writer_errors() -> None:
    w = PcapWriter(io.BytesIO(), LinkType.RAW)
    with pytest.raises(PcapError):
        w.write(Packet(0, b"x", 1, LinkType.ETHERNET))
    with pytest.raises(PcapError):
        w.write_frame(b"x", ts_ns=-1)
    with pytest.raises(PcapError):
        w.write_frame(b"x", ts_ns=(1 << 32) * 10**9)
    with pytest.raises(PcapError):
        write_packets(io.BytesIO(), [], "pcap-ng")


IP4 = bytes.fromhex("4500001400000000400100000a0000010a000002")
IP6 = bytes.fromhex("6000000000003a40") + bytes(32)


@pytest.mark.parametrize(
    ("linktype", "data", "frame"),
    [
        (LinkType.ETHERNET, b"\x01" * 20, b"\x01" * 20),
        (LinkType.RAW, IP4, bytes(12) + b"\x08\x00" + IP4),
        (LinkType.RAW, IP6, bytes(12) + b"\x86\xdd" + IP6),
        (LinkType.IPV4, IP4, bytes(12) + b"\x08\x00" + IP4),
        (LinkType.IPV6, IP6, bytes(12) + b"\x86\xdd" + IP6),
        (
            LinkType.LINUX_SLL,
            bytes.fromhex("0000 0001 0006 020000000007 0000 0800") + IP4,
            bytes(6) + bytes.fromhex("020000000007") + b"\x08\x00" + IP4,
        ),
        (
            LinkType.LINUX_SLL2,
            bytes.fromhex("86dd 0000 00000002 0001 04 06 020000000009 0000") + IP6,
            bytes(6) + bytes.fromhex("020000000009") + b"\x86\xdd" + IP6,
        ),
        (LinkType.NULL, b"\x02\x00\x00\x00" + IP4, bytes(12) + b"\x08\x00" + IP4),
        (LinkType.NULL, b"\x00\x00\x00\x1e" + IP6, bytes(12) + b"\x86\xdd" + IP6),
        (LinkType.LOOP, b"\x00\x00\x00\x02" + IP4, bytes(12) + b"\x08\x00" + IP4),
    ],
)
def test_to_ethernet(linktype: int, data: bytes, frame: bytes) -> None:
    assert to_ethernet(data, linktype) == frame


@pytest.mark.parametrize(
    ("linktype", "data"),
    [(147, IP4), (105, IP4), (LinkType.RAW, b"\x50"), (LinkType.RAW, b""),
     (LinkType.LINUX_SLL, b"\x00" * 10), (LinkType.NULL, b"\x07\x00\x00\x00" + IP4)],
)  # fmt: skip
def test_to_ethernet_refuses(linktype: int, data: bytes) -> None:
    with pytest.raises(LinkTypeError) as exc:
        to_ethernet(data, linktype)
    assert exc.value.linktype == linktype


def test_reads_100k_packets_quickly(tmp_path: Path) -> None:
    path = tmp_path / "big.pcap"
    write_synth_pcap(path, 100_000, seed=5)
    start = time.perf_counter()
    n = sum(1 for _ in open_capture(path))
    elapsed = time.perf_counter() - start
    assert n == 100_000
    assert elapsed < 2.0, f"reading 100,000 packets took {elapsed:.2f} s"


@needs_tcpdump
@pytest.mark.parametrize(("nanosecond", "big_endian"), [(False, False), (True, True)])
def test_tcpdump_agrees(tmp_path: Path, nanosecond: bool, big_endian: bool) -> None:
    path = tmp_path / "t.pcap"
    with PcapWriter(path, nanosecond=nanosecond, big_endian=big_endian) as w:
        for p in synth_packets(300, seed=9, interval_ns=1_000_003):
            w.write(p)
    assert_tcpdump_agrees(path, 300)


@needs_tcpdump
@pytest.mark.parametrize("cut", [24, 30, 24 + 16 + 30, 1000, 5000])
def test_tcpdump_agrees_on_truncated_files(tmp_path: Path, cut: int) -> None:
    full = tmp_path / "full.pcap"
    write_synth_pcap(full, 100, seed=4)
    path = tmp_path / "cut.pcap"
    path.write_bytes(full.read_bytes()[:cut])
    got: list[Packet] = []
    try:
        got.extend(open_capture(path))
    except TruncatedError as exc:
        assert exc.offset >= 24
    assert len(got) == tcpdump_count(str(path))
