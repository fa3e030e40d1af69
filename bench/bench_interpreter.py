"""Interpreter benchmark: executed eBPF instructions per second on a few programs.

Prints, for each program, the instructions one run executes, the median
throughput of the userspace VM over several repetitions, and — when the
kernel's bpf(2) is usable here (root) — the kernel's own time per run for the
same program through BPF_PROG_TEST_RUN, measured in the same process, with
the ratio between the two. This is a benchmark that prints figures, not a test.

    python bench/bench_interpreter.py [--rounds 5] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import struct
import time

from ebpy.isa.asm import assemble
from ebpy.vm import Vm

ALU_LOOP = """
        r6 = r1
        r0 = 0
        r1 = 1
        r2 = {n}
loop:
        r0 += r1
        r1 ^= r0
        r1 <<= 1
        r3 = r0
        r3 *= 3
        r0 -= r3
        r2 += -1
        if r2 != 0 goto loop
        r0 &= 0xffff
        exit
"""

# Ethernet / IPv4 / TCP-UDP header parsing with the legacy packet loads, so the
# same program runs as a socket filter in the kernel (r6 = skb).
PACKET_PARSE = """
        r6 = r1
        r0 = *(u16 *)skb[12]
        if r0 == 0x8100 goto vlan
        r7 = 14
        goto l3
vlan:
        r0 = *(u16 *)skb[16]
        r7 = 18
l3:
        if r0 != 0x800 goto other
        r0 = *(u8 *)skb[r7 + 0]
        r8 = r0
        r8 &= 0xf
        r8 <<= 2
        if r8 < 20 goto other
        r0 = *(u8 *)skb[r7 + 9]
        r9 = r0
        r0 = *(u16 *)skb[r7 + 6]
        r0 &= 0x1fff
        if r0 != 0 goto other
        r7 += r8
        if r9 == 6 goto tcp
        if r9 == 17 goto udp
        goto other
tcp:
        r0 = *(u16 *)skb[r7 + 2]
        if r0 == 80 goto web
        if r0 == 443 goto web
        r0 = *(u8 *)skb[r7 + 13]
        r0 &= 0x12
        if r0 == 0x2 goto syn
        r0 = 2
        exit
udp:
        r0 = *(u16 *)skb[r7 + 2]
        if r0 == 53 goto web
        r0 = 3
        exit
syn:
        r0 = 4
        exit
web:
        r0 = 1
        exit
other:
        r0 = 0
        exit
"""

STACK_HEAVY = """
        r6 = r1
        r1 = 1
        r2 = 2
        r3 = 3
        r4 = 4
        r5 = {n}
        *(u64 *)(r10 - 8) = r1
        *(u64 *)(r10 - 16) = r2
        *(u64 *)(r10 - 24) = r3
        *(u64 *)(r10 - 32) = r4
loop:
        r1 = *(u64 *)(r10 - 8)
        r2 = *(u64 *)(r10 - 16)
        r3 = *(u64 *)(r10 - 24)
        r4 = *(u64 *)(r10 - 32)
        r1 += r2
        r3 ^= r4
        *(u64 *)(r10 - 8) = r2
        *(u64 *)(r10 - 16) = r3
        *(u64 *)(r10 - 24) = r4
        *(u64 *)(r10 - 32) = r1
        *(u32 *)(r10 - 40) = r5
        r0 = *(u32 *)(r10 - 40)
        r5 += -1
        if r5 != 0 goto loop
        r0 = *(u64 *)(r10 - 8)
        r0 &= 0xffff
        exit
"""


def tcp_frame(dport: int = 8080, flags: int = 0x02) -> bytes:
    eth = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00"
    ip = bytes([0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
    tcp = struct.pack(">HHIIBBHHH", 12345, dport, 1, 0, 0x50, flags, 8192, 0, 0)
    return eth + ip + tcp + bytes(64 - 54)


def measure_vm(vm: Vm, mem: bytes, runs: int, rounds: int) -> tuple[int, float, float]:
    """(insns per run, median insns/s, median ns per run)."""
    insns = vm.run_full(mem).insn_count
    rates, per_run = [], []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for _ in range(runs):
            vm.run(mem)
        dt = time.perf_counter_ns() - start
        rates.append(insns * runs / (dt / 1e9))
        per_run.append(dt / runs)
    return insns, statistics.median(rates), statistics.median(per_run)


def measure_kernel(text: str, mem: bytes, repeat: int, rounds: int) -> tuple[float, int] | None:
    """(median ns per run, retval) from BPF_PROG_TEST_RUN, or None without bpf(2)."""
    try:
        from ebpy.kernel.features import bpf_available
        from ebpy.kernel.prog import KernelProgram
        from ebpy.uapi import ProgType
    except ImportError:
        return None
    if not bpf_available():
        return None
    # sched_cls: test-run keeps the Ethernet header in front of the data (a socket
    # filter would start at the network header), so LD_ABS offsets agree with the VM.
    with KernelProgram.load(assemble(text), ProgType.SCHED_CLS) as prog:
        durations, retval = [], 0
        for _ in range(rounds):
            res = prog.test_run(mem, repeat=repeat)
            durations.append(res.duration_ns)
            retval = res.retval
    return statistics.median(durations), retval


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="smaller workloads")
    args = ap.parse_args()
    scale = 10 if args.quick else 1
    frame = tcp_frame()
    cases = [
        ("alu loop (1M iterations)", ALU_LOOP.format(n=1_000_000 // scale), 1, 1000),
        ("alu loop (1000 iterations)", ALU_LOOP.format(n=1000), 200 // scale, 1000),
        ("packet parse (LD_ABS, TCP SYN)", PACKET_PARSE, 20_000 // scale, 100_000),
        ("stack heavy (1000 iterations)", STACK_HEAVY.format(n=1000), 100 // scale, 1000),
    ]
    print(
        f"{'program':34} {'insns/run':>10} {'VM Minsn/s':>11} {'VM us/run':>11}"
        f" {'kernel ns/run':>14} {'VM/kernel':>10}"
    )
    for name, text, runs, kernel_repeat in cases:
        vm = Vm(assemble(text), budget=1 << 40)
        insns, rate, ns = measure_vm(vm, frame, runs, args.rounds)
        kernel = None if "1M" in name else measure_kernel(text, frame, kernel_repeat, args.rounds)
        kcol, ratio = "-", "-"
        if kernel is not None:
            kns, retval = kernel
            if retval != vm.run(frame) & 0xFFFFFFFF:
                raise SystemExit(f"{name}: kernel returned {retval}, VM {vm.run(frame)}")
            kcol = f"{kns:,.0f}"
            ratio = f"{ns / max(kns, 1):,.0f}x"
        print(
            f"{name:34} {insns:>10,} {rate / 1e6:>11.2f} {ns / 1e3:>11.1f} {kcol:>14} {ratio:>10}"
        )


if __name__ == "__main__":
    main()
