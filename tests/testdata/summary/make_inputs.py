"""Write the capture files the summary goldens are made from (run by mk/summary.mk).

``sample.pcap``: the first 1,000 packets of the test corpus (``ebpy.pcap.corpus``,
default seed). ``cuts.pcap``: for the first frame captured whole of each corpus
kind, the frame cut to every length from 1 byte to its whole length (the wire
length kept), so that every truncation point of every protocol is printed once.
Usage: ``python make_inputs.py OUTDIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ebpy.pcap import Packet, write_packets
from ebpy.pcap.corpus import Kind, corpus_records

SAMPLE_SIZE = 1000


def sample_packets() -> list[Packet]:
    return [packet for _, packet in corpus_records(SAMPLE_SIZE)]


def cut_packets() -> list[Packet]:
    seen: set[Kind] = set()
    out: list[Packet] = []
    ts = 1_700_000_000 * 10**9
    for kind, packet in corpus_records(5000):
        if kind in seen or packet.truncated:
            continue
        seen.add(kind)
        for n in range(1, len(packet.data) + 1):
            out.append(Packet(ts, packet.data[:n], packet.orig_len))
            ts += 1000
    return out


def main(outdir: str) -> None:
    path = Path(outdir)
    write_packets(path / "sample.pcap", sample_packets())
    write_packets(path / "cuts.pcap", cut_packets())


if __name__ == "__main__":
    main(sys.argv[1])
