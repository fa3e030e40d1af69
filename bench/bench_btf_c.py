"""BTF-as-C benchmark: ``dump_c`` of this kernel's vmlinux BTF, against bpftool.

Times, as the median of several rounds in one process: ``dump_c`` of the
parsed vmlinux table (the parse is done once, before; ``bench_btf.py`` times
it), ``parse_btf`` + ``dump_c`` together, and ``bpftool btf dump file vmlinux
format c > /dev/null`` (a whole process: read, parse and print), in wall and
CPU time, and prints the ratio. It also checks that both print the same text.
Pass another raw BTF or object file to time that instead. This is a benchmark
that prints figures, not a test.

    python bench/bench_btf_c.py [--rounds 5] [FILE]
"""

from __future__ import annotations

import argparse
import gc
import resource
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from ebpy.btf.dump_c import dump_c
from ebpy.btf.parse import VMLINUX_PATH, parse_btf
from ebpy.elf.btf_sections import read_btf_sections
from ebpy.elf.reader import is_elf


def _cpu() -> float:
    """CPU seconds of this process and its finished children (user + system)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def median_seconds(fn: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Median wall and CPU time of ``fn`` over ``rounds`` runs (a full collection before each)."""
    wall, cpu = [], []
    for _ in range(rounds):
        gc.collect()
        start, start_cpu = time.perf_counter(), _cpu()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(_cpu() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def _row(label: str, t: tuple[float, float], note: str = "") -> None:
    print(f"{label:22} {t[0] * 1e3:8.1f} ms wall {t[1] * 1e3:8.1f} ms cpu  {note}".rstrip())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("file", nargs="?", default=VMLINUX_PATH)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    path = Path(args.file)
    data = path.read_bytes()
    if is_elf(data):
        raw, _ = read_btf_sections(data)
        if raw is None:
            raise SystemExit(f"{path}: no .BTF section")
        data = raw
    btf = parse_btf(data)
    text = dump_c(btf)
    print(
        f"{path}: {len(btf.types)} types -> {text.count(chr(10))} lines of C, "
        f"{args.rounds} rounds, medians"
    )

    dump_t = median_seconds(lambda: dump_c(btf), args.rounds)
    _row("dump_c", dump_t)
    both_t = median_seconds(lambda: dump_c(parse_btf(data)), args.rounds)
    _row("parse_btf + dump_c", both_t)

    bpftool = shutil.which("bpftool")
    if bpftool is None:
        print("bpftool: not installed, no comparison")
        return
    cmd = [bpftool, "btf", "dump", "file", str(path), "format", "c"]
    ref = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    tool_t = median_seconds(
        lambda: subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True), args.rounds
    )
    _row("bpftool format c", tool_t, "(whole process)")
    print(f"ratio parse+dump / bpftool: {both_t[0] / tool_t[0]:.1f}x wall")
    print(f"same text as bpftool: {'yes' if ref == text else 'NO'}")


if __name__ == "__main__":
    main()
