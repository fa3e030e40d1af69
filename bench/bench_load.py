"""ELF loader benchmark: time to load the largest test object into an ObjectSpec.

Times, as the median of several rounds in one process, ``load_object`` of the
largest ``tests/testdata/*/*.o`` (file already read), two of its parts
(reading the ELF framing, parsing ``.BTF``), and the ``llvm-objdump -h -t -r``
view, next to ``llvm-objdump -h -t -r`` itself when it is installed (a whole
process). Pass another object to time that instead.
This is a benchmark that prints figures, not a test.

    python bench/bench_load.py [--rounds 7] [FILE]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from ebpy.btf.parse import parse_btf
from ebpy.elf.image import read_image
from ebpy.elf.loader import load_object
from ebpy.elf.views import objdump

ROOT = Path(__file__).resolve().parents[1]


def _median_ms(fn: Callable[[], object], rounds: int) -> float:
    fn()  # warm up (imports, caches)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", help="object to load (default: the largest test object)")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    if args.file:
        path = Path(args.file)
    else:
        objects = [p for p in ROOT.glob("tests/testdata/*/*.o") if not p.stem.endswith("_eb")]
        path = max(objects, key=lambda p: p.stat().st_size)
    data = path.read_bytes()
    image = read_image(data)
    btf_sec = image.section_named(".BTF")
    obj = load_object(data, path.name)
    insns = sum(len(p.instructions) for p in obj.programs.values())
    print(
        f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {len(data)} bytes, "
        f"{len(image.sections)} sections, {len(image.symbols)} symbols, "
        f"{len(obj.programs)} programs ({insns} instructions linked), {len(obj.maps)} maps"
    )
    rows = [
        ("load_object", lambda: load_object(data, path.name)),
        ("  read_image (ELF framing)", lambda: read_image(data)),
    ]
    if btf_sec is not None:
        rows.append(("  parse_btf (.BTF)", lambda: parse_btf(btf_sec.data)))
    rows.append(
        (
            "objdump -h -t -r view",
            lambda: objdump(data, path.name, headers=True, symbols=True, relocs=True),
        )
    )
    tool = shutil.which("llvm-objdump")
    if tool:
        rows.append(
            (
                "llvm-objdump -h -t -r (process)",
                lambda: subprocess.run(
                    [tool, "-h", "-t", "-r", str(path)], capture_output=True, check=True
                ),
            )
        )
    for name, fn in rows:
        print(f"{name:<34} {_median_ms(fn, args.rounds):8.2f} ms  (median of {args.rounds})")


if __name__ == "__main__":
    main()
