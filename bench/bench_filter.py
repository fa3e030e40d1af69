"""Filter benchmark: ``ebpy filter -r in.pcap -w out.pcap EXPR`` against tcpdump doing the same.

The input is ``--packets`` (1,000,000) packets of the test corpus
(``ebpy.pcap.corpus``: Ethernet, IPv4/IPv6, TCP/UDP/ICMP/SCTP, VLAN, MPLS,
ARP, truncated frames ...), written once to a file in the temporary directory
and reused while its size matches. For each expression both commands run as
fresh processes (start-up included), ``--rounds`` times each, and the median
time gives packets per second; the ratio is ebpy's time over tcpdump's. Both
outputs are checked to be the same file. Also printed: ``filter_file`` called
in this process (no start-up), and the filter program alone over packets
already in memory (``compile_filter_program``), to show where the time goes.

This prints figures; it is not a test.

    python bench/bench_filter.py [--packets 1000000] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ebpy.cbpf.interp import compile_filter_program
from ebpy.cbpf.pcap import compile_filter
from ebpy.cli.filter import filter_file
from ebpy.pcap import read_packets
from ebpy.pcap.corpus import write_corpus

EXPRESSIONS = (
    "tcp port 80",
    "host 10.0.0.1 and (udp or icmp)",
    "vlan and ip6",
    "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
)


def median_seconds(run: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def corpus_file(packets: int) -> Path:
    path = Path(tempfile.gettempdir()) / f"ebpy-bench-filter-{packets}.pcap"
    if not path.exists():
        print(f"writing {packets} corpus packets to {path} ...", file=sys.stderr)
        tmp = path.with_suffix(".tmp")
        write_corpus(tmp, packets)
        tmp.replace(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100,000 packets, one round")
    args = parser.parse_args()
    if args.quick:
        args.packets, args.rounds = 100_000, 1
    src = corpus_file(args.packets)
    tcpdump = shutil.which("tcpdump")
    work = Path(tempfile.mkdtemp(prefix="ebpy-bench-filter-"))
    ebpy_cmd = [sys.executable, "-m", "ebpy.cli.main", "filter"]
    n = args.packets
    print(f"{n} packets ({src.stat().st_size / 1e6:.0f} MB), median of {args.rounds}")
    header = f"{'expression':46} {'kept':>8} {'tcpdump':>11} {'ebpy':>11} {'ratio':>6}"
    print(header + f" {'in-process':>11} {'program':>11}")
    packets = read_packets(src)
    for expr in EXPRESSIONS:
        ours_out, theirs_out = work / "ebpy.pcap", work / "tcpdump.pcap"
        ours = median_seconds(
            lambda e=expr, o=ours_out: subprocess.run(  # type: ignore[misc]
                [*ebpy_cmd, "-r", str(src), "-w", str(o), "--", e],
                check=True,
                capture_output=True,
            ),
            args.rounds,
        )
        inproc = median_seconds(
            lambda e=expr: filter_file(str(src), e, write=str(work / "inproc.pcap")),  # type: ignore[misc]
            args.rounds,
        )
        run = compile_filter_program(compile_filter(expr))
        program = median_seconds(
            lambda r=run: sum(1 for p in packets if r(p.data, p.orig_len)),  # type: ignore[misc]
            args.rounds,
        )
        kept = sum(1 for p in packets if run(p.data, p.orig_len))
        theirs_text, ratio_text = "-", "-"
        if tcpdump is not None:
            theirs = median_seconds(
                lambda e=expr, o=theirs_out: subprocess.run(  # type: ignore[misc]
                    [tcpdump, "-r", str(src), "-w", str(o), "--", e],
                    check=True,
                    capture_output=True,
                ),
                args.rounds,
            )
            same = ours_out.read_bytes() == theirs_out.read_bytes()
            theirs_text = f"{n / theirs / 1e6:6.2f} Mp/s"
            ratio_text = f"{ours / theirs:5.1f}x" + ("" if same else " (outputs differ!)")
        print(
            f"{expr:46} {kept:8} {theirs_text:>11} {n / ours / 1e6:6.2f} Mp/s {ratio_text:>6}"
            f" {n / inproc / 1e6:6.2f} Mp/s {n / program / 1e6:6.2f} Mp/s"
        )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
