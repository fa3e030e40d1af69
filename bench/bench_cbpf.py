"""Classic BPF benchmark: packets per second of the compiled interpreter, against the kernel.

For each program (``tcpdump -dd`` output committed in tests/golden/cbpf:
``tcp port 80`` and a few others), filters N synthesized Ethernet frames
(``ebpy.pcap.synth``, made once, not timed) with the closure
``compile_filter_program`` gives, libpcap's semantics, and with Linux's
(``SkbInfo``); and the same frames in the kernel through ``kernel_run`` (the
program attached to an ``AF_UNIX`` socket with ``SO_ATTACH_FILTER``, one
``send`` and one ``recv`` per packet: mostly system-call cost). Also the
time to compile a program. Figures are medians of several rounds in one
process; the ratio is kernel time over interpreter time. This is a benchmark
that prints figures, not a test.

    python bench/bench_cbpf.py [--packets 1000000] [--kernel-packets 200000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ebpy.cbpf.interp import SkbInfo, _compiled, compile_filter_program
from ebpy.cbpf.isa import Insn
from ebpy.cbpf.text import parse_dd
from ebpy.pcap.synth import Synth

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "golden" / "cbpf"
PROGRAMS = ["tcp_port_80", "host", "many_ports", "http_payload", "vlan_100_ip"]


def median(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def filter_all(f: Callable[[bytes, int], int], frames: list[bytes]) -> int:
    kept = 0
    for frame in frames:
        if f(frame, len(frame)):
            kept += 1
    return kept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--kernel-packets", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    start = time.perf_counter()
    frames = list(Synth(1).frames(args.packets))
    print(f"{len(frames)} frames synthesized in {time.perf_counter() - start:.1f} s")
    kframes = frames[: args.kernel_packets]

    try:
        from ebpy.kernel.socket_filter import kernel_run
    except ImportError:  # pragma: no cover - not Linux
        kernel_run = None  # type: ignore[assignment]

    print(f"{'program':14} {'insns':>5} {'compile':>9} {'libpcap pps':>12} {'linux pps':>12}"
          f" {'kernel pps':>11} {'ratio':>6} kept")  # fmt: skip
    for name in PROGRAMS:
        prog: list[Insn] = parse_dd((GOLDEN / f"{name}.dd.txt").read_text())

        def compile_fresh(p: list[Insn] = prog) -> None:
            _compiled.cache_clear()
            compile_filter_program(p)

        t_compile = median(compile_fresh, args.rounds)
        f = compile_filter_program(prog)
        g = compile_filter_program(prog, skb=SkbInfo(ifindex=1))
        kept = filter_all(f, frames)
        t_pcap = median(lambda f=f: filter_all(f, frames), args.rounds)
        t_linux = median(lambda g=g: filter_all(g, frames), args.rounds)
        kernel_pps = ratio = float("nan")
        if kernel_run is not None and sys.platform.startswith("linux"):
            t_kernel = median(lambda p=prog: kernel_run(p, kframes), args.rounds)
            kernel_pps = len(kframes) / t_kernel
            ratio = (t_kernel / len(kframes)) / (t_pcap / len(frames))
        print(
            f"{name:14} {len(prog):5} {t_compile * 1e3:7.2f}ms {len(frames) / t_pcap:12,.0f}"
            f" {len(frames) / t_linux:12,.0f} {kernel_pps:11,.0f} {ratio:6.2f} {kept}"
        )


if __name__ == "__main__":
    main()
