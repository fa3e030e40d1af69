"""cBPF -> eBPF: the translation runs on our eBPF VM as a socket filter and gives what the
classic interpreter gives with the kernel's semantics.

``Vm.test_run`` behaves as ``BPF_PROG_TEST_RUN`` for a socket filter: the program
sees the frame from its network header (the 14-byte Ethernet header is in
front of ``skb->data``, reachable at ``SKF_LL_OFF``), ``skb->len`` is the frame
minus 14, ``protocol``/``pkt_type`` come from the Ethernet header (loopback
device, ``ifindex`` 1). ``test_run_skb`` is the matching ``SkbInfo``; the
classic program runs on ``frame[14:]``. The same comparison against the kernel
is in ``tests/kernel/test_socket_filter_ebpf.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebpy.cbpf.asm import assemble
from ebpy.cbpf.interp import SkbInfo, run
from ebpy.cbpf.isa import Insn
from ebpy.cbpf.text import parse_dd
from ebpy.cbpf.to_ebpf import UNSUPPORTED_ANCILLARY, to_ebpf
from ebpy.errors import CbpfError, NotSupportedError
from ebpy.isa.encoding import encode
from ebpy.vm import Vm
from tests.cbpf.skb import frames_for_test_run, skb_of_test_run
from tests.cbpf.strategies import ANCILLARY_EBPF, programs

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "cbpf"
NAMES = sorted(
    p.name.removesuffix(".dd.txt")
    for p in GOLDEN.glob("*.dd.txt")
    if not p.name.startswith("ip6_protochain")
)


def vm_result(insns: list[Insn], frame: bytes, mark: int = 0) -> int:
    vm = Vm(to_ebpf(insns), prog_type="socket_filter")
    ctx = (bytes(8) + mark.to_bytes(4, "little")).ljust(192, b"\0") if mark else None
    return vm.test_run(frame, ctx).retval


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    programs(ancillary=ANCILLARY_EBPF, max_len=30),
    st.lists(frames_for_test_run(), min_size=1, max_size=4),
)
def test_random_programs_on_the_vm(prog: list[Insn], frames: list[bytes]) -> None:
    vm = Vm(to_ebpf(prog), prog_type="socket_filter")
    for frame in frames:
        expected = run(prog, frame[14:], skb=skb_of_test_run(frame))
        assert vm.test_run(frame).retval == expected


@pytest.mark.parametrize("name", NAMES)
def test_tcpdump_programs_on_the_vm(name: str) -> None:
    """libpcap's programs (written for the MAC header) see the frame from the network header."""
    from ebpy.pcap.synth import Synth

    prog = parse_dd((GOLDEN / f"{name}.dd.txt").read_text())
    vm = Vm(to_ebpf(prog), prog_type="socket_filter")
    for frame in Synth(4).frames(150):
        assert vm.test_run(frame).retval == run(prog, frame[14:], skb=skb_of_test_run(frame))
        # the same program on the frame shifted by 14 bytes reads what tcpdump reads
        shifted = bytes(14) + frame
        assert vm.test_run(shifted).retval == run(prog, frame, skb=skb_of_test_run(shifted))


def test_mark_from_the_context() -> None:
    prog = assemble("ld #mark\nret a")
    frame = bytes(14) + bytes(20)
    assert vm_result(prog, frame, mark=1234) == 1234 == run(prog, b"", skb=SkbInfo(mark=1234))


def test_shape() -> None:
    insns = to_ebpf(assemble("ldx #0\nld #5\ndiv x\nret a"))
    text = [str(i) for i in insns]
    assert text[:3] == ["w0 = 0", "w7 = 0", "r6 = r1"]
    assert "if r7 != 0 goto +2" in text
    mem = [str(i) for i in to_ebpf(assemble("ld #1\nst M[2]\nldx M[2]\nret a"))]
    assert "*(u32 *)(r10 - 56) = r0" in mem and "r7 = *(u32 *)(r10 - 56)" in mem
    assert len(encode(insns)) == 8 * len(insns)


def test_div_by_x_zero_returns_zero() -> None:
    frame = bytes(34)
    for op in ("div", "mod"):
        prog = assemble(f"ldx #0\nld #5\n{op} x\nret #7")
        assert vm_result(prog, frame) == 0 == run(prog, frame[14:], skb=skb_of_test_run(frame))


def test_unreachable_code_is_left_out() -> None:
    prog = [Insn(0x06, 0, 0, 1), Insn(0x00, 0, 0, 7), Insn(0x16)]
    assert len(to_ebpf(prog)) == 3 + 2


def test_jump_forms() -> None:
    frame = bytes(14) + bytes(range(40))
    for text in (
        "ld #5\njeq #5, yes, no\nyes: ret #1\nno: ret #2",
        "ld #5\njeq #5, no, yes\nyes: ret #1\nno: ret #2",  # true branch far: the inverse jump
        "ld #5\njset #4, no, yes\nyes: ret #1\nno: ret #2",
        "ld #5\njset #4, yes, no\nyes: ret #1\nno: ret #2",
        "ld #5\njgt #4, yes, yes\nyes: ret #1\nno: ret #2",
        "ld #5\njge #9, no, no\nyes: ret #1\nno: ret #2",
        "ld #0xffffffff\njge #0xfffffffe, yes, no\nyes: ret #1\nno: ret #2",
    ):
        prog = assemble(text)
        assert vm_result(prog, frame) == run(prog, frame[14:], skb=skb_of_test_run(frame)), text


@pytest.mark.parametrize("name", sorted(UNSUPPORTED_ANCILLARY))
def test_unsupported_ancillary(name: str) -> None:
    short = {"hatype": "hatype", "nlattr": "nla", "nlattr_nest": "nlan", "pay_offset": "poff"}[name]
    with pytest.raises(NotSupportedError):
        to_ebpf(assemble(f"ld #{short}\nret a"))


def test_invalid_program() -> None:
    with pytest.raises(CbpfError) as info:
        to_ebpf([Insn(0x60), Insn(0x16)])
    assert info.value.pc == 0
