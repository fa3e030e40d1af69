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

import shutil
import subprocess

from bench_btf import arguments, median_seconds, row  # the sibling script (bench/ is on sys.path)

from ebpy.btf.dump_c import dump_c
from ebpy.btf.parse import parse_btf


def _row(label: str, t: tuple[float, float], note: str = "") -> None:
    row(label, t, note, width=22)


def main() -> None:
    args, path, data = arguments(__doc__)
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
