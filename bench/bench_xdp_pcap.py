"""Packet benchmark: an XDP header parser run over a synthesized capture, in packets per second.

The program (``PARSE_XDP``) parses Ethernet (with one 802.1Q tag), IPv4 or
IPv6, and the TCP/UDP ports; counts packets per protocol in an array map
(``SLOTS`` says which slot is which, slot 9 counts traffic to port 443);
and drops everything IPv4 from 10.0.0.1, passing the rest. It runs over a
pcap of ``--packets`` (100,000) frames from ``ebpy.pcap.synth``:

* ``read``: the pcap reader alone;
* ``vm test_run``: ``Vm.test_run`` per packet, frames already in memory;
* ``ebpy run --pcap``: the whole command end to end in a fresh process
  (start-up, reading, running, writing the passed packets, the summary);
* ``kernel test_run``: when bpf(2) works here (root), ``BPF_PROG_TEST_RUN``
  per packet for the same program with a kernel array map, measured the same
  way, with the VM/kernel ratio; its verdicts and counters are checked against
  the VM's.

Each figure is the median of ``--rounds`` rounds. This prints figures; it is not a test.

    python bench/bench_xdp_pcap.py [--packets 100000] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ebpy.isa.asm import assemble
from ebpy.maps import create_map
from ebpy.pcap import read_packets
from ebpy.pcap.synth import write_synth_pcap
from ebpy.spec import MapSpec
from ebpy.uapi import MapType, ProgType
from ebpy.vm import Vm

SLOTS = ("other", "arp", "icmp4", "tcp4", "udp4", "icmp6", "tcp6", "udp6", "dropped", "to443")
"""What each slot of the ``counts`` array map counts."""
MAP_SPEC = MapSpec(MapType.ARRAY, 4, 8, 16, name="counts")
MAP_OPTION = "counts:array:4:8:16"

# r2: the frame (moved on past a VLAN tag and the IP header), r3: data_end,
# r9: the slot to count, r8: 1 for traffic to port 443. Ethertypes and
# addresses are compared as the little-endian loads of network-order bytes.
PARSE_XDP = """
        r6 = r1
        r2 = *(u32 *)(r6 +0)
        r3 = *(u32 *)(r6 +4)
        r9 = 0
        r8 = 0
        r1 = r2
        r1 += 14
        if r1 > r3 goto count
        r4 = *(u16 *)(r2 +12)
        if r4 != 0x81 goto l3
        r1 = r2
        r1 += 18
        if r1 > r3 goto count
        r4 = *(u16 *)(r2 +16)
        r2 += 4
l3:
        if r4 == 0x8 goto ipv4
        if r4 == 0xdd86 goto ipv6
        if r4 != 0x608 goto count
        r9 = 1
        goto count
ipv4:
        r1 = r2
        r1 += 34
        if r1 > r3 goto count
        r7 = *(u32 *)(r2 +26)
        if r7 == 0x100000a goto drop
        r5 = *(u8 *)(r2 +23)
        r4 = *(u8 *)(r2 +14)
        r4 &= 0xf
        r4 <<= 2
        if r4 < 20 goto count
        r2 += r4
        r2 += -20
        r9 = 2
        if r5 == 1 goto count
        r9 = 3
        if r5 == 6 goto ports
        r9 = 4
        if r5 == 17 goto ports
        r9 = 0
        goto count
ipv6:
        r1 = r2
        r1 += 54
        if r1 > r3 goto count
        r5 = *(u8 *)(r2 +20)
        r2 += 20
        r9 = 5
        if r5 == 58 goto count
        r9 = 6
        if r5 == 6 goto ports
        r9 = 7
        if r5 == 17 goto ports
        r9 = 0
        goto count
ports:
        r1 = r2
        r1 += 38
        if r1 > r3 goto count
        r4 = *(u16 *)(r2 +36)
        if r4 != 0xbb01 goto count
        r8 = 1
count:
{bump_r9}
tally443:
        if r8 == 0 goto pass
{bump_443}
pass:
        r0 = 2
        exit
drop:
{bump_drop}
dropped:
        r0 = 1
        exit
"""


# Adds one to the slot ``{slot}`` (a register or a number) of the map, then goes to ``{done}``.
_BUMP = """\
        *(u32 *)(r10 -4) = {slot}
        r1 = {map}
        r2 = r10
        r2 += -4
        call 1
        if r0 == 0 goto {done}
        r1 = 1
        lock *(u64 *)(r0 +0) += r1"""


def program_text(map_ref: str = "map[idx:0]") -> str:
    """The parser's assembly, its map referred to as ``map_ref`` (``map[id:FD]`` for the kernel)."""

    def bump(slot: str, done: str) -> str:
        return _BUMP.format(slot=slot, map=map_ref, done=done)

    return PARSE_XDP.format(
        bump_r9=bump("r9", "tally443"),
        bump_443=bump("9", "pass"),
        bump_drop=bump("8", "dropped"),
    )


def median_rate(rounds: int, n: int, body: Callable[[], object]) -> tuple[float, float]:
    """(median packets/s, median seconds) of ``rounds`` calls of ``body`` handling ``n`` packets."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    t = statistics.median(times)
    return n / t, t


def counters(m: Any) -> list[int]:
    """The ``counts`` map's slots as integers."""
    return [
        int.from_bytes(m.lookup_elem(i.to_bytes(4, "little"))[:8], "little")
        for i in range(len(SLOTS))
    ]


def run_frames(
    test_run: Callable[[bytes], Any], frames: list[bytes], rounds: int, counts: Any
) -> tuple[float, Counter[int], list[int], float]:
    """(packets/s, verdicts, counters, the program's own ns per run) of ``test_run`` per frame."""
    verdicts: Counter[int] = Counter()
    own: list[int] = []

    def once() -> None:
        verdicts.clear()
        own.clear()
        for frame in frames:
            res = test_run(frame)
            verdicts[res.retval] += 1
            own.append(res.duration_ns)

    rate, _ = median_rate(rounds, len(frames), once)
    return rate, verdicts, [c // rounds for c in counters(counts)], statistics.mean(own)


def bench_vm(frames: list[bytes], rounds: int) -> tuple[float, Counter[int], list[int], float]:
    """(packets/s, verdicts, counters, the program's own ns per run)."""
    counts = create_map(MAP_SPEC)
    vm = Vm(assemble(program_text()), prog_type="xdp", maps=[counts])
    return run_frames(vm.test_run, frames, rounds, counts)


def bench_cli(
    pcap: Path, out: Path, prog: Path, rounds: int, n: int
) -> tuple[float, dict[str, object]]:
    cmd = [sys.executable, "-m", "ebpy.cli.main", "run", str(prog), "-t", "xdp", "--map",
           MAP_OPTION, "--pcap", str(pcap), "-w", str(out), "--json"]  # fmt: skip
    result: dict[str, object] = {}

    def once() -> None:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        result.update(json.loads(proc.stdout))

    rate, _ = median_rate(rounds, n, once)
    return rate, result


def bench_kernel(
    frames: list[bytes], rounds: int
) -> tuple[float, Counter[int], list[int], float] | str:
    """(packets/s, verdicts, counters, kernel's own ns per run), or why it cannot run."""
    try:
        from ebpy.kernel import KernelProgram, bpf_unavailable_reason
        from ebpy.kernel.map import KernelMap
    except ImportError as exc:  # pragma: no cover - kernel maps not built yet
        return f"kernel backend incomplete ({exc})"
    reason = bpf_unavailable_reason()
    if reason is not None:
        return reason
    with KernelMap.create(MAP_SPEC) as counts:
        insns = assemble(program_text(f"map[id:{counts.fd}]"))
        with KernelProgram.load(insns, ProgType.XDP, name="parse_xdp") as prog:
            return run_frames(prog.test_run, frames, rounds, counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="10,000 packets, one round")
    args = parser.parse_args()
    n, rounds = (10_000, 1) if args.quick else (args.packets, args.rounds)

    with tempfile.TemporaryDirectory() as tmp:
        pcap, out, prog = Path(tmp, "in.pcap"), Path(tmp, "out.pcap"), Path(tmp, "parse.s")
        prog.write_text(program_text())
        start = time.perf_counter()
        write_synth_pcap(pcap, n, args.seed)
        print(f"synthesized {n:,} packets ({pcap.stat().st_size / 1e6:.1f} MB) "
              f"in {time.perf_counter() - start:.2f} s")  # fmt: skip

        rate, _ = median_rate(rounds, n, lambda: read_packets(pcap))
        print(f"{'read':<20} {rate:>12,.0f} packets/s")
        frames = [p.data for p in read_packets(pcap)]

        vm_rate, vm_verdicts, vm_counts, vm_own = bench_vm(frames, rounds)
        print(f"{'vm test_run':<20} {vm_rate:>12,.0f} packets/s  "
              f"(the program itself: {vm_own:,.0f} ns per run)")  # fmt: skip

        cli_rate, doc = bench_cli(pcap, out, prog, rounds, n)
        print(f"{'ebpy run --pcap':<20} {cli_rate:>12,.0f} packets/s  "
              f"(verdicts {doc.get('verdicts')}, written {doc.get('written')})")  # fmt: skip

        kernel = bench_kernel(frames, rounds)
        if isinstance(kernel, str):
            print(f"{'kernel test_run':<20} skipped: {kernel}")
        else:
            k_rate, k_verdicts, k_counts, own_ns = kernel
            print(f"{'kernel test_run':<20} {k_rate:>12,.0f} packets/s  "
                  f"(the program itself: {own_ns:.0f} ns per run)")  # fmt: skip
            print(f"vm / kernel, per test_run call: {vm_rate / k_rate:.3f} "
                  f"(the kernel is {k_rate / vm_rate:.1f}x faster)")  # fmt: skip
            print(f"vm / kernel, the program alone: {own_ns / vm_own:.4f} "
                  f"(the kernel is {vm_own / own_ns:.0f}x faster)")  # fmt: skip
            same = k_verdicts == vm_verdicts and k_counts == vm_counts
            print(f"verdicts and counters agree with the kernel: {'yes' if same else 'NO'}")
            if not same:
                print(
                    f"  vm     {dict(vm_verdicts)} {vm_counts}\n  kernel {dict(k_verdicts)} {k_counts}"
                )
        print("counters: " + ", ".join(f"{s} {c}" for s, c in zip(SLOTS, vm_counts, strict=True)))


if __name__ == "__main__":
    main()
