"""``to_ebpf`` in the kernel: ``BPF_PROG_LOAD`` takes the translation as a socket filter, and it
gives what the classic program gives.

Two ways to run it, with different views of the packet:

- ``BPF_PROG_TEST_RUN`` (and ``Vm.test_run``, which follows it): the filter sees
  an Ethernet frame from its network header (offset 0 is the byte after the
  14-byte MAC header, which ``SKF_LL_OFF`` loads still reach), ``protocol`` and
  ``pkt_type`` from that header, ``ifindex`` 1 (loopback). The classic program
  runs on ``frame[14:]`` with ``skb_of_test_run(frame)``.
- ``SO_ATTACH_BPF`` on an ``AF_UNIX`` socket (``kernel_run(prog_fd=...)``): the
  filter sees the datagram from its first byte, as the classic program does
  through ``SO_ATTACH_FILTER``; no MAC header, no device (``skb_for_unix``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebpy.cbpf.interp import compile_filter_program, run
from ebpy.cbpf.isa import Insn
from ebpy.cbpf.text import parse_dd
from ebpy.cbpf.to_ebpf import to_ebpf
from ebpy.kernel import KernelProgram
from ebpy.kernel.socket_filter import kernel_run, skb_for_unix
from ebpy.pcap.synth import Synth
from ebpy.uapi import ProgType
from ebpy.vm import Vm
from tests.cbpf.skb import (
    GOLDEN,
    GOLDEN_NAMES,
    frames_for_test_run,
    pinned_to_one_cpu,
    skb_of_test_run,
)
from tests.cbpf.strategies import ANCILLARY_EBPF, packets, programs

pytestmark = pytest.mark.kernel

NAMES = GOLDEN_NAMES


@pytest.fixture(scope="module", autouse=True)
def one_cpu() -> Iterator[int]:
    """Run on one CPU, so that the kernel's ``#cpu`` is the one the expectations say."""
    with pinned_to_one_cpu() as cpu:
        yield cpu


def check_test_run(prog: list[Insn], frames: list[bytes], cpu: int) -> None:
    ebpf = to_ebpf(prog)
    vm = Vm(ebpf, prog_type="socket_filter")
    with KernelProgram.load(ebpf, ProgType.SOCKET_FILTER) as kprog:
        for frame in frames:
            kernel = kprog.test_run(frame).retval
            assert kernel == run(prog, frame[14:], skb=skb_of_test_run(frame, cpu=cpu))
            # the VM runs on its own CPU 0
            assert vm.test_run(frame).retval == run(prog, frame[14:], skb=skb_of_test_run(frame))


def check_attached(prog: list[Insn], pkts: list[bytes]) -> None:
    f = compile_filter_program(prog, skb=skb_for_unix())
    want = [min(f(p, len(p)), len(p)) for p in pkts]
    with KernelProgram.load(to_ebpf(prog), ProgType.SOCKET_FILTER) as kprog:
        assert kernel_run(None, pkts, prog_fd=kprog.fd) == want
    assert kernel_run(prog, pkts) == want


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prog=programs(ancillary=ANCILLARY_EBPF, max_len=30),
    frames=st.lists(frames_for_test_run(), min_size=1, max_size=4),
)
def test_random_programs_test_run(prog: list[Insn], frames: list[bytes], one_cpu: int) -> None:
    check_test_run(prog, frames, one_cpu)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(ancillary=ANCILLARY_EBPF, max_len=30), st.lists(packets(), min_size=1, max_size=4))
def test_random_programs_attached(prog: list[Insn], pkts: list[bytes]) -> None:
    check_attached(prog, pkts)


@pytest.mark.parametrize("name", NAMES)
def test_tcpdump_programs(name: str, one_cpu: int) -> None:
    prog = parse_dd((GOLDEN / f"{name}.dd.txt").read_text())
    frames = list(Synth(8).frames(120))
    check_test_run(prog, frames, one_cpu)
    check_test_run(prog, [bytes(14) + f for f in frames], one_cpu)  # tcpdump's offsets
    check_attached(prog, frames)


def test_largest_program_loads() -> None:
    prog = [Insn(0x28, 0, 0, i % 60) for i in range(4095)] + [Insn(0x16)]
    with KernelProgram.load(to_ebpf(prog), ProgType.SOCKET_FILTER) as kprog:
        frame = bytes(14) + bytes(range(80))
        assert kprog.test_run(frame).retval == run(prog, frame[14:], skb=skb_of_test_run(frame))
