"""The classic interpreter: libpcap's ``bpf_filter`` as the oracle, and the Linux semantics."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.cbpf import interp
from ebpy.cbpf.asm import assemble
from ebpy.cbpf.interp import SkbInfo, compile_filter_program, generated_source, run
from ebpy.cbpf.isa import (
    BPF_ABS,
    BPF_JA,
    BPF_JMP,
    BPF_K,
    BPF_LD,
    BPF_RET,
    BPF_W,
    SKF_LL_OFF,
    SKF_NET_OFF,
    Insn,
)
from ebpy.cbpf.text import parse_dd
from ebpy.cbpf.validate import validate
from ebpy.pcap.synth import Synth
from tests.cbpf import libpcap
from tests.cbpf.strategies import ANCILLARY_ALL, packets, programs, raw_programs

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "cbpf"
NAMES = sorted(p.name.removesuffix(".dd.txt") for p in GOLDEN.glob("*.dd.txt"))
M32 = 0xFFFF_FFFF
needs_libpcap = pytest.mark.skipif(libpcap.LIBPCAP is None, reason="libpcap is not installed")


def frames(n: int = 400, seed: int = 1) -> list[bytes]:
    """Synthetic Ethernet frames, some cut short (a snap length) and some raw (no MAC header)."""
    out = list(Synth(seed).frames(n))
    out += [f[:cut] for f in out[:60] for cut in (0, 13, 14, 20, 34, 40, 54)]
    out += [f[14:] for f in out[:40]]  # as DLT_RAW or a socket filter sees them
    return out


# -- libpcap as the oracle -------------------------------------------------------------------


@needs_libpcap
@pytest.mark.parametrize("name", NAMES)
def test_goldens_agree_with_libpcap(name: str) -> None:
    prog = parse_dd((GOLDEN / f"{name}.dd.txt").read_text())
    f = compile_filter_program(prog)
    for frame in frames():
        for wirelen in (len(frame), len(frame) + 100):
            assert f(frame, wirelen) == libpcap.filter(prog, frame, wirelen), frame.hex()


@needs_libpcap
@settings(max_examples=500, deadline=None)
@given(programs(max_len=30), st.lists(packets(), min_size=1, max_size=6), st.integers(0, 200))
def test_random_programs_agree_with_libpcap(
    prog: list[Insn], pkts: list[bytes], extra: int
) -> None:
    f = compile_filter_program(prog)
    for p in pkts:
        assert f(p, len(p) + extra) == libpcap.filter(prog, p, len(p) + extra)


@needs_libpcap
@settings(max_examples=300, deadline=None)
@given(
    programs(max_len=12),
    st.integers(0, 0xFFFF_FFFF),
    st.integers(0, 0xFFFF_FFFF),
    st.sampled_from([0x6C, 0x7C, 0x64, 0x74]),
    packets(),
)
def test_shifts_as_libpcap(prog: list[Insn], a: int, x: int, code: int, p: bytes) -> None:
    """Shifts by X of 32 or more give 0; by a constant, k modulo 32 (libpcap 1.10 on x86)."""
    shift = [Insn(0x00, 0, 0, a), Insn(0x01, 0, 0, x & 63), Insn(code, 0, 0, x & 63), Insn(0x16)]
    assert run(shift, p) == libpcap.filter(shift, p)


def test_libpcap_flavour_details() -> None:
    ld_anc = assemble("ld #proto\nret a")
    assert run(ld_anc, bytes(100)) == 0  # an ancillary offset is just past the end
    ind = assemble("ldx #0xffffffff\nldb [x + 1]\nret a")
    assert run(ind, b"\x07" * 8) == 0  # X + k does not wrap
    assert run(assemble("ld #len\nret a"), b"abc", 1500) == 1500
    assert run(assemble("ldx #0\ndiv x\nret #5"), b"") == 0
    assert run(assemble("ldx #0\nmod x\nret #5"), b"") == 0


# -- Linux semantics -------------------------------------------------------------------------


def test_ancillary_values() -> None:
    skb = SkbInfo(
        protocol=0x86DD,
        pkttype=3,
        ifindex=7,
        mark=0xDEAD,
        queue_mapping=2,
        hatype=1,
        rxhash=0x12345678,
        cpu=1,
        vlan_tci=100,
        vlan_present=True,
        vlan_proto=0x8100,
        pay_offset=54,
        random=lambda: 0x1_0000_0042,
    )
    expected = {
        "proto": 0x86DD,
        "type": 3,
        "ifidx": 7,
        "mark": 0xDEAD,
        "queue": 2,
        "hatype": 1,
        "rxhash": 0x12345678,
        "cpu": 1,
        "vlan_tci": 100,
        "vlan_avail": 1,
        "vlan_tpid": 0x8100,
        "poff": 54,
        "rand": 0x42,
    }
    for name, value in expected.items():
        for op in ("ld", "ldh", "ldb"):  # the load size does not matter
            assert run(assemble(f"{op} #{name}\nret a"), b"", skb=skb) == value, (name, op)
    xor = [Insn(0x00, 0, 0, 0x0F00), Insn(0x01, 0, 0, 0x0FF0), Insn(0x20, 0, 0, 0xFFFF_F028)]
    assert run([*xor, Insn(0x16)], b"", skb=skb) == 0x00F0


@pytest.mark.parametrize("name", ["ifidx", "hatype"])
def test_no_device_ends_with_a(name: str) -> None:
    prog = assemble(f"ld #77\nld #{name}\nret #1")
    assert run(prog, b"", skb=SkbInfo(ifindex=0)) == 77
    assert run(prog, b"", skb=SkbInfo(ifindex=3)) == 1


def _attrs(*attrs: tuple[int, bytes]) -> bytes:
    out = b""
    for kind, payload in attrs:
        raw = struct.pack("=HH", 4 + len(payload), kind) + payload
        out += raw + bytes(-len(raw) % 4)
    return out


def test_netlink_attributes() -> None:
    inner = _attrs((1, b"ab"), (5, b"xyz!"))
    msg = b"\x00" * 4 + _attrs((2, b"a"), (3, inner), (0x4000 | 7, b""))
    skb = SkbInfo()

    def find(x: int) -> int:
        return run(assemble(f"ld #4\nldx #{x}\nld #nla\nret a"), msg, skb=skb)

    assert find(2) == 4 and find(3) == 12 and find(7) == 12 + 4 + len(inner)
    assert find(9) == 0
    assert run(assemble("ld #12\nldx #5\nld #nlan\nret a"), msg, skb=skb) == 12 + 4 + 8
    assert run(assemble("ld #12\nldx #6\nld #nlan\nret a"), msg, skb=skb) == 0
    assert run(assemble("ld #1000\nldx #2\nld #nla\nret a"), msg, skb=skb) == 0
    broken = b"\x00" * 4 + struct.pack("=HH", 200, 2)
    assert run(assemble("ld #4\nldx #2\nld #nla\nret a"), broken, skb=skb) == 0


def test_negative_offsets() -> None:
    frame = bytes(range(14)) + bytes(range(100, 140))
    skb = SkbInfo(net_offset=0, mac_offset=-14, head=frame[:14])
    ld = lambda k, size="ldb": assemble(f"{size} [{k}]\nadd #1\nret a")  # noqa: E731
    assert run(ld(SKF_NET_OFF + 2), frame[14:], skb=skb) == 103
    assert run(ld(SKF_LL_OFF + 12), frame[14:], skb=skb) == 13
    assert run(ld(SKF_LL_OFF + 12, "ld"), frame[14:], skb=skb) == 0x0C0D6465 + 1
    assert run(ld(SKF_LL_OFF - 1), frame[14:], skb=skb) == 0
    assert run(ld(SKF_NET_OFF + 40), frame[14:], skb=skb) == 0
    assert run(ld(SKF_LL_OFF + 0), frame[14:], skb=SkbInfo(mac_offset=None)) == 0
    ind = assemble(f"ldx #{SKF_NET_OFF & M32}\nldb [x + 3]\nret a")
    assert run(ind, frame[14:], skb=skb) == 103
    wrap = assemble("ldx #0xffffffff\nldb [x + 1]\nret a")  # X + k wraps to 0
    assert run(wrap, frame[14:], skb=skb) == 100


def test_linux_shifts_modulo_32() -> None:
    prog = assemble("ld #1\nldx #33\nlsh x\nret a")
    assert run(prog, b"", skb=SkbInfo()) == 2
    assert run(prog, b"") == 0


# -- robustness ------------------------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(raw_programs(), packets(), st.booleans())
def test_any_program_gives_a_u32(prog: list[Insn], p: bytes, linux: bool) -> None:
    result = run(prog, p, skb=SkbInfo(random=lambda: 4) if linux else None)
    assert 0 <= result <= M32


def test_invalid_parts_return_zero() -> None:
    assert run([], b"abc") == 0
    assert run([Insn(0x00, 0, 0, 9)], b"") == 0  # falls off the end
    assert run([Insn(0x05, 0, 0, 7), Insn(0x06, 0, 0, 1)], b"") == 0  # ja out
    assert run([Insn(0x15, 9, 9, 0), Insn(0x06, 0, 0, 1)], b"") == 0  # jeq out
    assert run([Insn(0x0E)], b"") == 0  # ret x is not a code libpcap runs
    assert run([Insn(0x02, 0, 0, 16), Insn(0x06, 0, 0, 1)], b"") == 0  # M[16]
    assert run([Insn(0x34, 0, 0, 0), Insn(0x06, 0, 0, 1)], b"") == 0  # div #0


def test_backward_jump_limit() -> None:
    loop = [Insn(0x04, 0, 0, 1), Insn(0x05, 0, 0, 0xFFFF_FFFE), Insn(0x16)]
    assert run(loop, b"") == 0  # jumps back forever: stopped, 0
    count = assemble("ld #0\nldx #0\ntop: add #1\njge #10, out\nja top\nout: ret a")
    assert run(count, b"") == 10


@pytest.mark.parametrize("nblocks", [10, 600])
def test_shared_blocks_stay_linear(nblocks: int) -> None:
    """Every block jumps to the next two: inlining everywhere would be exponential."""
    prog: list[Insn] = []
    for i in range(nblocks):
        prog += [Insn(0x30, 0, 0, i % 50), Insn(0x04, 0, 0, 3), Insn(0x45, 0, 2, 1 << (i % 8))]
        prog += [Insn(0x04, 0, 0, 1), Insn(0x04, 0, 0, 1)]
    prog.append(Insn(0x16))
    validate(prog)
    src = generated_source(prog)
    assert len(src.splitlines()) < 20 * len(prog)
    packet = bytes(range(64))
    assert run(prog, packet) == _slow(prog, packet)


@needs_libpcap
@settings(max_examples=25, deadline=None)
@given(programs(max_len=400), st.lists(packets(), min_size=1, max_size=4))
def test_long_random_programs_agree_with_libpcap(prog: list[Insn], pkts: list[bytes]) -> None:
    f = compile_filter_program(prog)
    for p in pkts:
        assert f(p, len(p)) == libpcap.filter(prog, p)


def test_big_program_compiles() -> None:
    prog = [Insn(0x28, 0, 0, i % 60) for i in range(4095)] + [Insn(0x16)]
    assert run(prog, bytes(range(62))) == (14 << 8) | 15


def _slow(prog: list[Insn], packet: bytes) -> int:
    """A plain instruction-at-a-time reference for the few codes the tests above use."""
    a = x = pc = 0
    while True:
        i = prog[pc]
        if i.code == 0x16:
            return a
        if i.code == 0x06:
            return i.k
        if i.code == 0x30:
            a = packet[i.k]
        elif i.code == 0x28:
            a = packet[i.k] << 8 | packet[i.k + 1]
        elif i.code == 0x04:
            a = (a + i.k) & M32
        elif i.code in (0x45, 0x15):
            hit = a & i.k if i.code == 0x45 else a == i.k
            pc += i.jt if hit else i.jf
        pc += 1
        assert x == 0


def test_compile_cache_and_closures() -> None:
    prog = assemble("ld #mark\nret a")
    f1 = compile_filter_program(prog, skb=SkbInfo(mark=5))
    f2 = compile_filter_program(prog, skb=SkbInfo(mark=6))
    assert (f1(b"", 0), f2(b"", 0)) == (5, 6)
    assert interp._compiled.cache_info().hits >= 1
    assert "def run(p, wirelen)" in generated_source(prog, linux=True)


def test_bytes_like_packets() -> None:
    prog = assemble("ld [0]\nret a")
    data = b"\x01\x02\x03\x04"
    assert run(prog, bytearray(data)) == run(prog, memoryview(data)) == 0x01020304


@pytest.mark.skipif(sys.byteorder != "little", reason="netlink attributes are host order")
def test_nla_host_order() -> None:
    msg = bytes(4) + struct.pack("<HH", 8, 0x0102) + b"abcd"
    assert run(assemble("ld #4\nldx #0x102\nld #nla\nret a"), msg, skb=SkbInfo()) == 4
    assert run(assemble("ld #4\nldx #0x201\nld #nla\nret a"), msg, skb=SkbInfo()) == 0


@settings(max_examples=200, deadline=None)
@given(programs(ancillary=ANCILLARY_ALL), packets())
def test_run_equals_compiled(prog: list[Insn], p: bytes) -> None:
    skb = SkbInfo(ifindex=2, random=lambda: 7, mac_offset=-2, head=b"\x01\x02")
    assert run(prog, p, skb=skb) == compile_filter_program(prog, skb=skb)(p, len(p))


def test_backward_jump_in_unreachable_code() -> None:
    # found by hypothesis: a self-loop (ja -1) that no path reaches must not need a function
    prog = [
        Insn(BPF_JMP | BPF_JA, 0, 0, 4),
        *[Insn(BPF_LD | BPF_W | BPF_ABS)] * 3,
        Insn(BPF_JMP | BPF_JA, 0, 0, 0xFFFF_FFFF),
        Insn(BPF_LD | BPF_W | BPF_ABS),
        Insn(BPF_RET | BPF_K, 0, 0, 7),
    ]
    assert run(prog, bytes(8)) == 7
    assert run(prog, b"") == 0
