"""CO-RE benchmark: time to resolve the test objects' relocations against this kernel's BTF.

For every object in ``tests/testdata/core`` (their ``.BTF``, ``.BTF.ext`` and
code read once, up front), times ``ebpy.btf.core`` relocating all programs
against ``/sys/kernel/btf/vmlinux``:

* cold: a new candidate index of vmlinux (one pass over its ~130k types by
  essential name) plus every relocation of every object, as a loader does
  for the first object it loads;
* warm: the relocations alone, the index built already.

Also prints, for scale, the time to parse vmlinux BTF (``parse_btf``) and,
when bpftool is installed, the wall time of ``bpftool gen min_core_btf`` on
the same objects (a process that parses vmlinux and runs libbpf's CO-RE
relocation of each object). Medians of several rounds. A benchmark that prints
figures, not a test.

    python bench/bench_core.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from elftools.elf.elffile import ELFFile

from ebpy.btf.core import Relocator
from ebpy.btf.core_match import CandidateIndex
from ebpy.btf.ext import CoreRelo, parse_btf_ext
from ebpy.btf.parse import parse_btf
from ebpy.btf.types import Btf
from ebpy.isa.encoding import decode
from ebpy.isa.instruction import Instruction

ROOT = Path(__file__).resolve().parents[1]
OBJECTS = sorted(
    p for p in (ROOT / "tests/testdata/core").glob("*.o") if not p.stem.startswith("ambiguous")
)
VMLINUX = Path("/sys/kernel/btf/vmlinux")

Program = tuple[list[Instruction], tuple[CoreRelo, ...]]


def read(path: Path) -> tuple[Btf, list[Program]]:
    elf = ELFFile(io.BytesIO(path.read_bytes()))
    btf = parse_btf(elf.get_section_by_name(".BTF").data())
    ext = parse_btf_ext(elf.get_section_by_name(".BTF.ext").data(), btf)
    progs = [
        (decode(elf.get_section_by_name(sec).data(), strict=False), relos)
        for sec, relos in ext.core_relos.items()
    ]
    return btf, progs


def median_seconds(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def relocate_all(
    objects: list[tuple[Btf, list[Program]]], target: Btf, index: CandidateIndex
) -> int:
    count = 0
    for local, progs in objects:
        relocator = Relocator(local, target, index=index)
        for insns, relos in progs:
            _, results = relocator.relocate(insns, relos, strict=False)
            count += len(results)
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    if not VMLINUX.exists():
        print("no /sys/kernel/btf/vmlinux here: nothing to measure", file=sys.stderr)
        return 1
    raw = VMLINUX.read_bytes()
    objects = [read(p) for p in OBJECTS]
    parse_s = median_seconds(lambda: parse_btf(raw), max(3, args.rounds // 2))
    target = parse_btf(raw)
    index_s = median_seconds(lambda: CandidateIndex(target), args.rounds)
    index = CandidateIndex(target)
    relos = relocate_all(objects, target, index)
    cold_s = median_seconds(
        lambda: relocate_all(objects, target, CandidateIndex(target)), args.rounds
    )
    warm_s = median_seconds(lambda: relocate_all(objects, target, index), args.rounds)
    print(f"vmlinux BTF: {len(target) - 1} types, {len(raw) / 1e6:.1f} MB")
    print(f"objects: {len(objects)}, CO-RE relocations: {relos}")
    print(f"parse vmlinux BTF            {parse_s * 1e3:9.1f} ms")
    print(f"build the candidate index    {index_s * 1e3:9.1f} ms")
    print(f"cold: index + all relocs     {cold_s * 1e3:9.1f} ms")
    print(
        f"warm: all relocations        {warm_s * 1e3:9.1f} ms  ({warm_s / relos * 1e6:.1f} us each)"
    )
    bpftool = shutil.which("bpftool")
    if bpftool:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "min.btf"
            cmd = [bpftool, "gen", "min_core_btf", str(VMLINUX), str(out), *map(str, OBJECTS)]
            ref_s = median_seconds(
                lambda: subprocess.run(cmd, check=True, capture_output=True), args.rounds
            )
        print(f"bpftool gen min_core_btf     {ref_s * 1e3:9.1f} ms  (process, parse, relocate)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
