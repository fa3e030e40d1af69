"""The kernel as the oracle for classic programs, through ``SO_ATTACH_FILTER`` (no root needed).

``kernel_run`` attaches the program to the receiving end of an ``AF_UNIX``
datagram socket pair and sends each packet: the kernel's own classic-to-eBPF
translation runs on it with ``skb->data`` at the datagram's first byte, no MAC
header, no device and every ancillary value 0 but the CPU (``skb_for_unix``).
Our interpreter with that ``SkbInfo`` must keep exactly the bytes the kernel
delivers; our validator must agree with the kernel's verdict on any program.
The process is pinned to one CPU here so that ``#cpu`` is known.
"""

from __future__ import annotations

import errno
import socket
import sys
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ebpy.cbpf.asm import assemble
from ebpy.cbpf.interp import compile_filter_program
from ebpy.cbpf.isa import Insn
from ebpy.cbpf.text import parse_dd
from ebpy.cbpf.validate import validate
from ebpy.errors import CbpfError, KernelError
from ebpy.kernel.socket_filter import (
    attach_filter,
    detach_filter,
    kernel_check,
    kernel_run,
    kernel_validate,
    skb_for_unix,
)
from ebpy.pcap.synth import Synth
from tests.cbpf.skb import GOLDEN, GOLDEN_NAMES, pinned_to_one_cpu
from tests.cbpf.strategies import ANCILLARY_UNIX, packets, programs, raw_programs

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sockets")

NAMES = GOLDEN_NAMES


@pytest.fixture(scope="module", autouse=True)
def one_cpu() -> Iterator[int]:
    """Run on one CPU, so that the kernel's ``#cpu`` is the one the expectations say."""
    with pinned_to_one_cpu() as cpu:
        yield cpu


def expected(prog: list[Insn], pkts: list[bytes]) -> list[int]:
    f = compile_filter_program(prog, skb=skb_for_unix())
    return [min(f(p, len(p)), len(p)) for p in pkts]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(ancillary=ANCILLARY_UNIX, max_len=30), st.lists(packets(), min_size=1, max_size=6))
def test_random_programs_agree_with_the_kernel(prog: list[Insn], pkts: list[bytes]) -> None:
    assert kernel_run(prog, pkts) == expected(prog, pkts)


@pytest.mark.parametrize("name", NAMES)
def test_tcpdump_programs_agree_with_the_kernel(name: str) -> None:
    prog = parse_dd((GOLDEN / f"{name}.dd.txt").read_text())
    frames = list(Synth(6).frames(300))
    frames += [f[:n] for f in frames[:30] for n in (0, 14, 30)]
    assert kernel_run(prog, frames) == expected(prog, frames)


@settings(max_examples=1500, deadline=None)
@given(raw_programs())
def test_validator_agrees_with_the_kernel(prog: list[Insn]) -> None:
    err = kernel_check(prog)
    assume(err != errno.ENOMEM)  # over net.core.optmem_max: not a verdict on the program
    try:
        validate(prog)
        ours = 0
    except CbpfError:
        ours = errno.EINVAL
    assert ours == err


def test_validator_agrees_on_long_programs() -> None:
    ok = [Insn(0x00)] * 4095 + [Insn(0x06)]
    if kernel_check(ok) == errno.ENOMEM:
        pytest.skip("net.core.optmem_max is too small for 4096 instructions")
    assert kernel_validate(ok)
    assert not kernel_validate([*ok, Insn(0x06)])
    assert not kernel_validate([])


def test_netlink_attributes_in_the_kernel() -> None:
    attrs = bytes(4) + bytes([8, 0, 2, 0]) + b"abcd" + bytes([12, 0, 0x03, 0x80])
    attrs += bytes([8, 0, 9, 0]) + b"wxyz"
    nla = assemble("ld #4\nldx #3\nld #nla\nadd #1\nret a")
    nlan = assemble("ld #12\nldx #9\nld #nlan\nadd #1\nret a")
    for prog in (nla, nlan):
        assert kernel_run(prog, [attrs]) == expected(prog, [attrs]) != [1]


def test_no_device_returns_a() -> None:
    prog = assemble("ld #9\nld #ifidx\nret #100")
    assert kernel_run(prog, [bytes(50)]) == expected(prog, [bytes(50)]) == [9]


def test_attach_errors_and_detach() -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        with pytest.raises(KernelError) as info:
            attach_filter(sock, [Insn(0x60), Insn(0x16)])
        assert info.value.errno == errno.EINVAL
        with pytest.raises(KernelError) as info:
            detach_filter(sock)
        assert info.value.errno == errno.ENOENT
        attach_filter(sock, [Insn(0x06, 0, 0, 1)])
        detach_filter(sock)


def test_kernel_run_trims_and_drops() -> None:
    prog = assemble("ld #len\nsub #3\nret a")  # keep all but 3 bytes
    assert kernel_run(prog, [b"abcdefgh", b"abc", b"ab"]) == [5, 0, 2]
    assert expected(prog, [b"abcdefgh", b"abc", b"ab"]) == [5, 0, 2]
    with pytest.raises(KernelError):
        kernel_run([Insn(0x16)], [bytes(70000)])
    with pytest.raises(KernelError):
        kernel_run([Insn(0x60), Insn(0x16)], [b""])
