"""pcap-filter compiler benchmark: program sizes against tcpdump's, and compile times.

For every expression of tests/cbpf/pcap/expressions*.txt, prints the length
of our optimized program next to tcpdump's optimized (``tcpdump -d``) and
unoptimized (``tcpdump -O -d``) ones, read from the committed goldens in
tests/golden/pcapfilter, marking where ours is longer (``+``) or shorter
(``-``); then the totals per link type, and the median time to compile a
few expressions (parse, generate, optimize, lay out), among them long
``port a or b or ...`` lists. ``EN10MB_LINUX`` is the code for a live
Linux socket (``linux_vlan=True``, against ``tcpdump -i lo``). This is a
benchmark that prints figures, not a test.

    python bench/bench_pcapfilter.py [--all] [--rounds 5]

``--all`` prints every expression, not only those where the sizes differ.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

from ebpy.cbpf.pcap import compile_filter
from ebpy.errors import FilterSyntaxError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.cbpf.pcap.goldens import EXPRESSIONS, LINKTYPES, options, program  # noqa: E402

TIMED = [
    "tcp port 80",
    "host 10.0.0.1 and (tcp port 22 or icmp)",
    "tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420",
    "vlan 100 and ip6 and udp portrange 1024-65535",
    "port " + " or ".join(str(p) for p in range(1, 41)),
    "port " + " or ".join(str(p) for p in range(1, 201)),
]


def _count(name: str, mode: str, expr: str) -> int | None:
    insns = program(name, mode, expr)
    return None if insns is None else len(insns)


def _ours(name: str, expr: str) -> int | None:
    try:
        return len(compile_filter(expr, **options(name)))  # type: ignore[arg-type]
    except FilterSyntaxError:
        return None


def sizes(show_all: bool) -> None:
    print(f"{'link type':12} {'ours':>5} {'-d':>5} {'-O -d':>6}  expression")
    totals: dict[str, list[int]] = {}
    for name in LINKTYPES:
        total = totals.setdefault(name, [0, 0, 0, 0, 0, 0])
        for expr in EXPRESSIONS[name]:
            ours, opt, unopt = (
                _ours(name, expr),
                _count(name, "dd", expr),
                _count(name, "O-dd", expr),
            )
            if ours is not None and opt is not None and unopt is not None:
                total[0] += ours
                total[1] += opt
                total[2] += unopt
                total[3] += 1
                total[4] += ours < opt
                total[5] += ours > opt
            mark = " " if ours == opt else "-" if (ours or 0) < (opt or 0) else "+"
            if show_all or mark != " ":
                shown = [str(v) if v is not None else "err" for v in (ours, opt, unopt)]
                print(f"{name:12} {shown[0]:>5} {shown[1]:>5} {shown[2]:>6} {mark} {expr}")
    print()
    print(
        f"{'link type':12} {'exprs':>5} {'ours':>6} {'-d':>6} {'-O -d':>6} {'ours/-d':>8}  shorter longer"
    )
    for name, (ours, opt, unopt, n, shorter, longer) in totals.items():
        print(
            f"{name:12} {n:5} {ours:6} {opt:6} {unopt:6} {ours / opt:8.3f}  {shorter:7} {longer:6}"
        )


def timings(rounds: int) -> None:
    print()
    print(f"{'unopt ms':>9} {'opt ms':>9} {'insns':>6}  expression")
    for expr in TIMED:
        row = []
        for optimize in (False, True):
            times = []
            for _ in range(rounds):
                gc.collect()
                start = time.perf_counter()
                prog = compile_filter(expr, optimize=optimize)
                times.append(time.perf_counter() - start)
            row.append(statistics.median(times) * 1000)
        shown = expr if len(expr) < 60 else expr[:56] + " ..."
        print(f"{row[0]:9.2f} {row[1]:9.2f} {len(prog):6}  {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="print every expression")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sizes(args.all)
    timings(args.rounds)


if __name__ == "__main__":
    main()
