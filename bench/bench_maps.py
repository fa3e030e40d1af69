"""Map benchmark: syscall-face operations per second, ebpy's userspace maps against the kernel's.

For a hash map and an array map, times ``update_elem`` and ``lookup_elem`` over a
fixed set of keys on the userspace map (``ebpy.maps.create_map``) and — when the
kernel's bpf(2) is usable here (root) — on a kernel map made from the same
``MapSpec`` through ``ebpy.kernel.KernelMap``, in the same process. Prints the
median operations per second of several rounds and the ratio ours / kernel. The
kernel's figures include the Python and ctypes cost of each bpf(2) call, which
is what a user of the syscall face pays. This is a benchmark that prints
figures, not a test.

    python bench/bench_maps.py [--rounds 5] [--ops 20000] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from ebpy.errors import BpfError
from ebpy.kernel import KernelMap, bpf_unavailable_reason
from ebpy.maps import create_map
from ebpy.spec import MapSpec
from ebpy.uapi import MapType

ENTRIES = 1024
SPECS = {
    "hash": MapSpec(MapType.HASH, 4, 8, ENTRIES, name="bench_hash"),
    "array": MapSpec(MapType.ARRAY, 4, 8, ENTRIES, name="bench_array"),
}


def keys_and_values(n: int) -> tuple[list[bytes], list[bytes]]:
    keys = [(i % ENTRIES).to_bytes(4, "little") for i in range(n)]
    values = [(i * 2654435761 & 0xFFFF_FFFF_FFFF_FFFF).to_bytes(8, "little") for i in range(n)]
    return keys, values


def time_ops(fn: Callable[[], None], ops: int) -> float:
    """Operations per second of one run of ``fn`` (which does ``ops`` operations)."""
    start = time.perf_counter()
    fn()
    return ops / (time.perf_counter() - start)


def measure(m: Any, ops: int, rounds: int) -> dict[str, float]:
    """Median ops/s of update and lookup on map ``m`` (userspace or kernel)."""
    keys, values = keys_and_values(ops)
    update, lookup = m.update_elem, m.lookup_elem

    def updates() -> None:
        for k, v in zip(keys, values, strict=True):
            update(k, v, 0)

    def lookups() -> None:
        for k in keys:
            lookup(k)

    updates()  # warm up and fill, so that every lookup hits
    result = {}
    for name, fn in (("update", updates), ("lookup", lookups)):
        result[name] = statistics.median(time_ops(fn, ops) for _ in range(rounds))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds per figure (median)")
    parser.add_argument("--ops", type=int, default=20000, help="operations per round")
    parser.add_argument("--quick", action="store_true", help="few ops and rounds (smoke test)")
    args = parser.parse_args()
    rounds, ops = (3, 2000) if args.quick else (args.rounds, args.ops)
    reason = bpf_unavailable_reason()
    if reason is not None:
        print(f"kernel maps skipped: {reason}")
    print(f"{'map':<7}{'op':<8}{'ebpy ops/s':>14}{'kernel ops/s':>15}{'ebpy/kernel':>13}")
    for kind, spec in SPECS.items():
        ours = measure(create_map(spec), ops, rounds)
        kern: dict[str, float] = {}
        if reason is None:
            try:
                with KernelMap.create(spec) as km:
                    kern = measure(km, ops, rounds)
            except BpfError as exc:
                print(f"kernel {kind} map: {exc}")
        for op, rate in ours.items():
            theirs = kern.get(op)
            k_text = f"{theirs:>15,.0f}" if theirs else f"{'-':>15}"
            ratio = f"{rate / theirs:>13.2f}" if theirs else f"{'-':>13}"
            print(f"{kind:<7}{op:<8}{rate:>14,.0f}{k_text}{ratio}")


if __name__ == "__main__":
    main()
