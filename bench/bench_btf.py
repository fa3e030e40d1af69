"""BTF benchmark: parse and print this kernel's vmlinux BTF, against bpftool.

Times, as the median of several rounds in one process: ``parse_btf`` of the
raw vmlinux bytes (file already read; the parse cache of ``load_vmlinux`` is
not used), ``dump_raw`` of the parsed table, ``encode_btf`` of it, and
``bpftool btf dump file vmlinux > /dev/null`` (a whole process: read, parse
and print), in wall and CPU time, and prints the ratios. Pass another raw BTF
or object file to time that instead. This is a benchmark that prints figures,
not a test.

    python bench/bench_btf.py [--rounds 5] [FILE]
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

from ebpy.btf.dump_raw import dump_raw
from ebpy.btf.encode import encode_btf
from ebpy.btf.parse import VMLINUX_PATH, parse_btf
from ebpy.elf.btf_sections import read_btf_sections
from ebpy.elf.reader import is_elf


def _cpu() -> float:
    """CPU seconds of this process and its finished children (user + system)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def median_seconds(fn: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Median wall and CPU time of ``fn`` over ``rounds`` runs (a full collection before each).

    CPU time (children included) is the steadier figure on a busy machine.
    """
    wall, cpu = [], []
    for _ in range(rounds):
        gc.collect()
        start, start_cpu = time.perf_counter(), _cpu()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(_cpu() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def row(label: str, t: tuple[float, float], note: str = "", width: int = 18) -> None:
    """One line of figures: ``label``, wall and CPU milliseconds."""
    print(f"{label:{width}} {t[0] * 1e3:8.1f} ms wall {t[1] * 1e3:8.1f} ms cpu  {note}".rstrip())


def arguments(doc: str | None) -> tuple[argparse.Namespace, Path, bytes]:
    """The command line (FILE, --rounds), the file and its raw BTF (from ``.BTF`` of an object)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawTextHelpFormatter)
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
    return args, path, data


def main() -> None:
    args, path, data = arguments(__doc__)
    btf = parse_btf(data)
    print(f"{path}: {len(data) / 1e6:.2f} MB of BTF, {len(btf.types)} types")

    parse_t = median_seconds(lambda: parse_btf(data), args.rounds)
    # The cyclic collector's first full pass over the new objects comes after the parse.
    gc.collect()
    start = time.perf_counter()
    parse_btf(data)
    gc.collect()
    parse_gc_s = time.perf_counter() - start
    dump_t = median_seconds(lambda: dump_raw(btf), args.rounds)
    encode_t = median_seconds(lambda: encode_btf(btf), args.rounds)
    row("parse_btf", parse_t, f"(median of {args.rounds})")
    print(f"{'parse_btf + gc':18} {parse_gc_s * 1e3:8.1f} ms wall  (once, a full collection after)")
    row("dump_raw", dump_t)
    row("encode_btf", encode_t)

    bpftool = shutil.which("bpftool")
    if bpftool is None:
        print("bpftool: not installed, no ratio")
        return

    def run_bpftool() -> None:
        subprocess.run(
            [bpftool, "btf", "dump", "file", str(path)], check=True, stdout=subprocess.DEVNULL
        )

    tool_t = median_seconds(run_bpftool, args.rounds)
    row("bpftool btf dump", tool_t, "(whole process, output to /dev/null)")
    for what, i in (("wall", 0), ("cpu", 1)):
        print(
            f"ratio ({what}) parse / bpftool {parse_t[i] / tool_t[i]:5.2f}, "
            f"parse + dump_raw / bpftool {(parse_t[i] + dump_t[i]) / tool_t[i]:5.2f}"
        )


if __name__ == "__main__":
    main()
