"""Packet summaries against tcpdump: the committed goldens always, tcpdump itself where installed.

``tests/golden/summary/`` holds what ``tcpdump -n -tt`` (and ``-e``) printed for
``tests/testdata/summary/sample.pcap`` (the first 1,000 corpus packets) and
``cuts.pcap`` (a frame of each corpus kind cut at every length); ``make -C
tests/testdata summary`` rebuilds both. With tcpdump installed, the whole
20,000-packet corpus is compared too (plain, ``-e``, and local-time stamps in a
time zone with a half-hour offset), and the share of identical lines per
corpus kind is printed (``pytest -s``) and must be 100% for every kind.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from ebpy.pcap import LinkType, Packet, read_packets
from ebpy.pcap.corpus import Kind
from ebpy.pcap.summary import Summarizer
from tests.filter_diff.corpus import TCPDUMP, corpus_path, records
from tests.testdata.summary.make_inputs import cut_packets, sample_packets

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "tests" / "testdata" / "summary"
GOLDEN = ROOT / "tests" / "golden" / "summary"
_RECORD = re.compile(r"\n(?=(?:\d+\.\d{6}|\d\d:\d\d:\d\d\.\d{6}) )")

needs_tcpdump = pytest.mark.skipif(TCPDUMP is None, reason="tcpdump is not installed")


def split_records(text: str) -> list[str]:
    """tcpdump's output as one string per packet (hex dumps continue a packet's line)."""
    text = text.rstrip("\n")
    return _RECORD.split(text) if text else []


def ours(
    packets: list[Packet], *, link_header: bool = False, timestamps: str = "epoch"
) -> list[str]:
    summarizer = Summarizer(link_header=link_header, timestamps=timestamps)
    return [summarizer.line(p) for p in packets]


def tcpdump_records(path: Path, *flags: str, env: dict[str, str] | None = None) -> list[str]:
    assert TCPDUMP is not None
    out = subprocess.run(
        [TCPDUMP, "-n", "-r", str(path), *flags],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    return split_records(out)


# -- goldens (no tcpdump needed) ------------------------------------------------------------
def test_committed_inputs_are_what_the_generator_writes() -> None:
    """The corpus generator still makes the packets the goldens describe (if this
    fails after a change to ebpy.pcap.corpus, run make -C tests/testdata summary)."""
    assert read_packets(INPUTS / "sample.pcap") == sample_packets()
    assert read_packets(INPUTS / "cuts.pcap") == cut_packets()


@pytest.mark.parametrize(
    ("capture", "golden", "link_header"),
    [("sample", "sample", False), ("sample", "sample.e", True), ("cuts", "cuts", False)],
)
def test_goldens(capture: str, golden: str, link_header: bool) -> None:
    packets = read_packets(INPUTS / f"{capture}.pcap")
    expected = split_records((GOLDEN / f"{golden}.txt").read_text())
    got = ours(packets, link_header=link_header)
    assert len(got) == len(expected)
    wrong = [(i, g, e) for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
    assert not wrong, f"{len(wrong)} lines differ; first: {wrong[0]}"


@needs_tcpdump
@pytest.mark.parametrize(
    ("capture", "golden", "flags"),
    [
        ("sample", "sample", ("-tt",)),
        ("sample", "sample.e", ("-tt", "-e")),
        ("cuts", "cuts", ("-tt",)),
    ],
)
def test_goldens_are_tcpdumps(capture: str, golden: str, flags: tuple[str, ...]) -> None:
    """The committed goldens are what this tcpdump prints for the committed inputs."""
    expected = split_records((GOLDEN / f"{golden}.txt").read_text())
    assert tcpdump_records(INPUTS / f"{capture}.pcap", *flags) == expected


# -- tcpdump itself, on the whole corpus ----------------------------------------------------
def _per_kind(got: list[str], expected: list[str]) -> dict[Kind, tuple[int, int]]:
    kinds = [kind for kind, _ in records()]
    same: Counter[Kind] = Counter()
    total: Counter[Kind] = Counter(kinds)
    for kind, g, e in zip(kinds, got, expected, strict=True):
        same[kind] += g == e
    return {kind: (same[kind], total[kind]) for kind in total}


def _report(title: str, table: dict[Kind, tuple[int, int]]) -> Iterator[str]:
    yield title
    for kind in sorted(table, key=lambda k: k.value):
        ok, n = table[kind]
        yield f"  {kind.value:16} {ok:6}/{n:<6} {100 * ok / n:6.2f}%"


@needs_tcpdump
@pytest.mark.parametrize("link_header", [False, True], ids=["plain", "e"])
def test_corpus_like_tcpdump(link_header: bool) -> None:
    packets = [p for _, p in records()]
    flags = ("-tt", "-e") if link_header else ("-tt",)
    expected = tcpdump_records(corpus_path(), *flags)
    got = ours(packets, link_header=link_header)
    assert len(got) == len(expected)
    table = _per_kind(got, expected)
    print(
        "\n".join(
            _report(f"identical summary lines per kind (tcpdump -n {' '.join(flags)})", table)
        )
    )
    wrong = [(i, g, e) for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
    assert not wrong, f"{len(wrong)} lines differ; first: {wrong[0]}"


@needs_tcpdump
def test_local_time_stamps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Default timestamps are local time of day, as tcpdump prints them."""
    zone = "Asia/Kolkata"  # UTC+5:30: minutes shift too
    if not Path("/usr/share/zoneinfo", zone).exists():
        pytest.skip(f"no zoneinfo for {zone}")
    packets = [p for _, p in records()][:3000]
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        got = [line.split(" ", 1)[0] for line in ours(packets, timestamps="local")]
    finally:
        monkeypatch.undo()
        time.tzset()
    env = {**os.environ, "TZ": zone}
    expected = [r.split(" ", 1)[0] for r in tcpdump_records(INPUTS / "sample.pcap", env=env)]
    assert got[: len(expected)] == expected


@needs_tcpdump
def test_cut_frames_like_tcpdump(tmp_path: Path) -> None:
    """Every truncation point of several frames of every kind (more than the golden holds)."""
    from ebpy.pcap import write_packets

    packets: list[Packet] = []
    seen: Counter[Kind] = Counter()
    for kind, packet in records()[5000:]:
        if seen[kind] >= 3 or packet.truncated:
            continue
        seen[kind] += 1
        packets += [
            Packet(packet.ts_ns, packet.data[:n], packet.orig_len)
            for n in range(1, len(packet.data))
        ]
    path = tmp_path / "cuts.pcap"
    write_packets(path, packets)
    for link_header in (False, True):
        expected = tcpdump_records(path, "-tt", *(["-e"] if link_header else []))
        got = ours(packets, link_header=link_header)
        wrong = [(i, g, e) for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
        assert len(got) == len(expected) and not wrong, wrong[:1]


def _relinked(linktype: int, packets: list[Packet]) -> list[Packet]:
    """The IPv4/IPv6 corpus frames (untagged) under another link-layer header."""
    out = []
    for p in packets:
        if len(p.data) < 15 or p.data[12:14] not in (b"\x08\x00", b"\x86\xdd"):
            continue
        v6 = p.data[12:14] == b"\x86\xdd"
        if (linktype == LinkType.IPV4 and v6) or (linktype == LinkType.IPV6 and not v6):
            continue
        head = {
            LinkType.RAW: b"",
            LinkType.IPV4: b"",
            LinkType.IPV6: b"",
            LinkType.LINUX_SLL: struct.pack(">HHH8s", 0, 1, 6, p.data[6:12] + b"\0\0")
            + p.data[12:14],
            LinkType.NULL: struct.pack("<I", 24 if v6 else 2),
            LinkType.LOOP: struct.pack(">I", 24 if v6 else 2),
        }[LinkType(linktype)]
        data = head + p.data[14:]
        out.append(Packet(p.ts_ns, data, p.orig_len - 14 + len(head), linktype))
    return out


@needs_tcpdump
@pytest.mark.parametrize(
    "linktype",
    [LinkType.RAW, LinkType.IPV4, LinkType.IPV6, LinkType.LINUX_SLL, LinkType.NULL, LinkType.LOOP],
    ids=lambda t: LinkType(t).name,
)
def test_other_link_types_like_tcpdump(linktype: int, tmp_path: Path) -> None:
    from ebpy.pcap import write_packets

    packets = _relinked(linktype, [p for _, p in records()[:4000]])
    path = tmp_path / "relinked.pcap"
    write_packets(path, packets)
    for link_header in (False, True):
        expected = tcpdump_records(path, "-tt", *(["-e"] if link_header else []))
        summarizer = Summarizer(linktype, link_header=link_header, timestamps="epoch")
        got = [summarizer.line(p) for p in packets]
        wrong = [(i, g, e) for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
        assert len(got) == len(expected) and not wrong, wrong[:1]
