"""Fuzzing the readers: mutated, truncated and random files give PcapError or packets, nothing else."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebpy.pcap import (
    LinkTypeError,
    Packet,
    PcapError,
    PcapWriter,
    TruncatedError,
    open_capture,
    read_packets,
    to_ethernet,
    write_packets,
)
from ebpy.pcap.synth import synth_packets
from tests.pcap import block, epb, idb, opb, option, pcap_header, pcap_record, shb, spb

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _classic(big_endian: bool, nanosecond: bool) -> bytes:
    buf = io.BytesIO()
    with PcapWriter(buf, nanosecond=nanosecond, big_endian=big_endian) as w:
        for p in synth_packets(6, seed=1):
            w.write(p)
    return buf.getvalue()


def _pcapng(order: str) -> bytes:
    frames = [p.data for p in synth_packets(4, seed=2)]
    raw = shb(order) + idb(1, 0, order, option(9, b"\x09", order) + option(2, b"if0", order))
    raw += epb(0, 123, frames[0], order) + block(4, bytes(8), order) + spb(frames[1], order=order)
    raw += opb(0, 5, frames[2], order) + shb(order) + idb(101, 64, order)
    return raw + epb(0, 1 << 40, frames[3], order)


SEEDS = {
    "pcap-le-us": _classic(False, False),
    "pcap-be-ns": _classic(True, True),
    "pcap-modified": pcap_header("<", 0xA1B2CD34)
    + (pcap_record(b"x" * 20)[:16] + bytes(8) + b"x" * 20),
    "pcapng-le": _pcapng("<"),
    "pcapng-be": _pcapng(">"),
}


def _read_all(raw: bytes) -> tuple[list[Packet], PcapError | None]:
    """Packets read before any error, and the error. Anything but a PcapError fails the test."""
    got: list[Packet] = []
    try:
        with open_capture(raw) as reader:
            got.extend(reader)
    except PcapError as exc:
        assert 0 <= exc.offset <= len(raw)
        return got, exc
    return got, None


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "word"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[pos] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
        elif kind == "truncate":
            del data[pos:]
        elif kind == "word" and len(data) >= pos + 4:
            word = draw(st.sampled_from([0, 0xFFFFFFFF, 0x7FFFFFFF, 12, 13, 0x40000, 1 << 24]))
            data[pos : pos + 4] = word.to_bytes(4, draw(st.sampled_from(["little", "big"])))
    return bytes(data)


@FUZZ
@given(mutated())
def test_mutated_files_never_raise_anything_else(raw: bytes) -> None:
    packets, _ = _read_all(raw)
    assert all(isinstance(p.data, bytes) and isinstance(p.ts_ns, int) for p in packets)


@FUZZ
@given(
    st.sampled_from(
        [b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\x0a\x0d\x0d\x0a"]
    ),
    st.binary(max_size=400),
)
def test_random_bytes_after_a_magic(magic: bytes, rest: bytes) -> None:
    _read_all(magic + rest)


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_every_prefix_reads_a_prefix_of_the_packets(name: str) -> None:
    raw = SEEDS[name]
    full, err = _read_all(raw)
    assert err is None and full
    for cut in range(len(raw)):
        got, err = _read_all(raw[:cut])
        assert got == full[: len(got)]
        if err is not None:
            assert isinstance(err, TruncatedError), (cut, err)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 300), st.binary(max_size=64))
def test_to_ethernet_gives_a_frame_or_a_link_type_error(linktype: int, data: bytes) -> None:
    try:
        frame = to_ethernet(data, linktype)
    except LinkTypeError as exc:
        assert exc.linktype == linktype
    else:
        assert isinstance(frame, bytes) and len(frame) >= min(len(data), 14)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, (1 << 32) * 10**9 - 1), st.binary(max_size=200), st.integers(0, 64)
        ),
        max_size=20,
    ),
    st.sampled_from(["pcap", "pcapng"]),
    st.booleans(),
)
def test_any_packets_round_trip(
    items: list[tuple[int, bytes, int]], fmt: str, nanosecond: bool
) -> None:
    packets = [Packet(ts, data, len(data) + extra) for ts, data, extra in items]
    buf = io.BytesIO()
    assert write_packets(buf, packets, fmt, nanosecond=nanosecond) == len(packets)
    back = read_packets(buf.getvalue())
    unit = 1 if nanosecond else 1000
    assert [(p.ts_ns, p.data, p.orig_len) for p in back] == [
        (p.ts_ns - p.ts_ns % unit, p.data, p.orig_len) for p in packets
    ]
