"""Socket-buffer helpers: called directly on a prepared skb, and from programs."""

from __future__ import annotations

import errno
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.helpers.env import Runtime
from ebpy.helpers.linux import LINUX_HELPERS
from ebpy.helpers.skb import flow_hash
from ebpy.isa._intmath import M64
from ebpy.isa.asm import assemble
from ebpy.memory import RegionKind
from ebpy.progtypes import prog_type_info
from ebpy.progtypes._packet import ENOTSUPP
from ebpy.progtypes._skb import OFFSET, SkbState
from ebpy.vm import Vm
from tests.progtypes.packets import ETH_P_8021Q, ETH_P_IP, ether, ipv4, tcp4, udp, udp6

PKT = tcp4(b"0123456789")
VLAN_PKT = ether(ETH_P_IP, vlan=0x0123) + ipv4(udp(), 17)


def neg(err: int) -> int:
    return -err & M64


class Env:
    """A Runtime whose state is a prepared skb, plus a scratch buffer."""

    def __init__(self, kind: str = "sched_cls", data: bytes = PKT) -> None:
        self.rt = Runtime()
        state = prog_type_info(kind).prepare(self.rt.memory, data, b"")
        self.rt.state = state
        self.skb: SkbState = state  # type: ignore[assignment]
        self.buf = self.rt.memory.map(RegionKind.MEMORY, bytes(64), name="buf")

    def call(self, name: str, *args: int) -> int:
        helper = LINUX_HELPERS.by_name(name)
        assert helper is not None, name
        regs = (self.skb.ctx_addr, *args, 0, 0, 0, 0)[:5]
        return helper.impl(self.rt, *regs)

    def read(self, n: int) -> bytes:
        return bytes(self.buf.buf[:n])

    def ctx(self, name: str) -> int:
        return self.skb.field(name)


def test_helpers_registered() -> None:
    for name in (
        "skb_load_bytes",
        "skb_store_bytes",
        "skb_adjust_room",
        "skb_vlan_push",
        "skb_change_tail",
        "get_hash_recalc",
        "set_hash_invalid",
    ):
        helper = LINUX_HELPERS.by_name(name)
        assert helper is not None and helper.proto is not None


# -- loads --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "off", "n", "expected"),
    [
        ("sched_cls", 0, 6, PKT[:6]),
        ("sched_cls", len(PKT) - 4, 4, PKT[-4:]),
        ("socket_filter", 0, 2, PKT[14:16]),  # from the network header
        ("cgroup_skb", 9, 1, PKT[23:24]),
    ],
)
def test_load_bytes(kind: str, off: int, n: int, expected: bytes) -> None:
    env = Env(kind)
    assert env.call("skb_load_bytes", off, env.buf.base, n) == 0
    assert env.read(n) == expected


@pytest.mark.parametrize("off", [len(PKT) - 3, len(PKT), 0x7FFFFFFF + 1, 0xFFFFFFFF])
def test_load_bytes_out_of_range_zeroes(off: int) -> None:
    env = Env()
    env.buf.buf[:4] = b"\xaa" * 4
    assert env.call("skb_load_bytes", off, env.buf.base, 4) == neg(errno.EFAULT)
    assert env.read(4) == bytes(4)


@pytest.mark.parametrize(
    ("kind", "start", "off", "expected"),
    [
        ("socket_filter", 0, 12, PKT[12:14]),  # MAC header behind skb->data
        ("socket_filter", 1, 0, PKT[14:16]),
        ("sched_cls", 0, 0, PKT[:2]),
        ("sched_cls", 1, 9, PKT[23:25]),
    ],
)
def test_load_bytes_relative(kind: str, start: int, off: int, expected: bytes) -> None:
    env = Env(kind)
    assert env.call("skb_load_bytes_relative", off, env.buf.base, 2, start) == 0
    assert env.read(2) == expected


@pytest.mark.parametrize(
    ("off", "start"), [(0, 2), (0x10000, 0), (len(PKT), 0), (len(PKT) - 14, 1)]
)
def test_load_bytes_relative_errors(off: int, start: int) -> None:
    env = Env()
    assert env.call("skb_load_bytes_relative", off, env.buf.base, 2, start) == neg(errno.EFAULT)


def test_load_bytes_outside_skb_programs() -> None:
    env = Env()
    env.rt.state = None
    assert env.call("skb_load_bytes", 0, env.buf.base, 2) == neg(errno.EINVAL)


# -- stores ------------------------------------------------------------------------------
def test_store_bytes_and_hash() -> None:
    env = Env()
    env.skb.set_hash(0x1234, sw=True, l4=True)
    env.buf.buf[:3] = b"xyz"
    assert env.call("skb_store_bytes", 40, env.buf.base, 3, 0) == 0
    assert bytes(env.skb.data[40:43]) == b"xyz" and env.ctx("hash") == 0x1234
    assert env.call("skb_store_bytes", 40, env.buf.base, 3, 2) == 0  # BPF_F_INVALIDATE_HASH
    assert env.ctx("hash") == 0


@pytest.mark.parametrize(
    ("off", "n", "flags", "err"),
    [(0, 1, 4, errno.EINVAL), (len(PKT) - 2, 3, 0, errno.EFAULT), (0x80000000, 1, 0, errno.EFAULT)],
)
def test_store_bytes_errors(off: int, n: int, flags: int, err: int) -> None:
    env = Env()
    assert env.call("skb_store_bytes", off, env.buf.base, n, flags) == neg(err)
    assert bytes(env.skb.data) == PKT


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 80), st.binary(min_size=1, max_size=16))
def test_store_then_load(off: int, data: bytes) -> None:
    env = Env()
    env.buf.buf[: len(data)] = data
    ok = off + len(data) <= len(PKT)
    assert env.call("skb_store_bytes", off, env.buf.base, len(data), 1) == (
        0 if ok else neg(errno.EFAULT)
    )
    env.buf.buf[:16] = bytes(16)
    assert env.call("skb_load_bytes", off, env.buf.base, len(data)) == (
        0 if ok else neg(errno.EFAULT)
    )
    assert env.read(len(data)) == (data if ok else bytes(len(data)))


@pytest.mark.parametrize(
    ("n", "ret"), [(0, 0), (14, 0), (len(PKT), 0), (len(PKT) + 1, neg(errno.ENOMEM))]
)
def test_pull_data(n: int, ret: int) -> None:
    assert Env().call("skb_pull_data", n) == ret


# -- protocol and type ------------------------------------------------------------------
def test_change_proto_4_to_6_and_back() -> None:
    env = Env()
    assert env.call("skb_change_proto", 0xDD86, 0) == 0  # htons(ETH_P_IPV6)
    assert env.skb.protocol == 0x86DD and env.ctx("protocol") == 0xDD86
    assert bytes(env.skb.data) == PKT[:14] + bytes(20) + PKT[14:]
    assert env.ctx("len") == len(PKT) + 20
    assert env.skb.get_pointer("data_end") - env.skb.get_pointer("data") == len(PKT) + 20
    assert env.call("skb_change_proto", 0x0008, 0) == 0
    assert bytes(env.skb.data) == PKT and env.skb.protocol == ETH_P_IP


@pytest.mark.parametrize(
    ("data", "proto", "flags", "ret"),
    [
        (PKT, 0x0008, 0, neg(ENOTSUPP)),  # IPv4 to IPv4
        (PKT, 0xDD86, 1, neg(errno.EINVAL)),
        (VLAN_PKT, 0xDD86, 0, neg(ENOTSUPP)),
        (udp6()[:54], 0x0008, 0, 0),
    ],
)
def test_change_proto_cases(data: bytes, proto: int, flags: int, ret: int) -> None:
    assert Env(data=data).call("skb_change_proto", proto, flags) == ret


@pytest.mark.parametrize(
    ("to", "ret"), [(0, 0), (3, 0), (4, neg(errno.EINVAL)), (7, neg(errno.EINVAL))]
)
def test_change_type(to: int, ret: int) -> None:
    env = Env()
    assert env.call("skb_change_type", to) == ret
    assert env.ctx("pkt_type") == (to if ret == 0 else 3)


# -- room, tail, head ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("diff", "mode", "flags", "ret", "data"),
    [
        (8, 0, 0, 0, PKT[:34] + bytes(8) + PKT[34:]),  # BPF_ADJ_ROOM_NET: after the IP header
        (8, 1, 0, 0, PKT[:14] + bytes(8) + PKT[14:]),  # BPF_ADJ_ROOM_MAC
        (-8, 0, 0, 0, PKT[:34] + PKT[42:]),
        (-8, 1, 0, 0, PKT[:14] + PKT[22:]),
        (8, 2, 0, neg(ENOTSUPP), PKT),
        (0x1000, 0, 0, neg(errno.EFAULT), PKT),
        (-len(PKT), 0, 0, neg(ENOTSUPP), PKT),
        (8, 0, 1 << 9, neg(errno.EINVAL), PKT),
        (8, 0, 0x6, neg(errno.EINVAL), PKT),  # both encap L3 flags
        (0, 0, 0x80, neg(errno.EINVAL), PKT),  # decap while growing
    ],
)
def test_adjust_room(diff: int, mode: int, flags: int, ret: int, data: bytes) -> None:
    env = Env()
    assert env.call("skb_adjust_room", diff & M64, mode, flags) == ret
    assert bytes(env.skb.data) == data
    assert env.ctx("len") == len(data)


def test_adjust_room_encap() -> None:
    env = Env()
    assert env.call("skb_adjust_room", 40, 1, 0x4) == 0  # ENCAP_L3_IPV6
    assert env.skb.protocol == 0x86DD and env.skb.encapsulation
    assert env.call("skb_adjust_room", 20, 1, 0x2) == neg(errno.EALREADY)
    assert env.call("skb_change_tail", 100, 0) == neg(ENOTSUPP)  # encapsulated


def test_adjust_room_decap() -> None:
    env = Env(data=udp6())
    assert env.call("skb_adjust_room", (-20) & M64, 0, 0x80) == neg(errno.ENOMEM)  # past the end
    assert env.call("skb_adjust_room", (-20) & M64, 1, 0x80) == 0  # DECAP_L3_IPV4, MAC mode
    assert env.skb.protocol == ETH_P_IP


def test_adjust_room_non_ip() -> None:
    env = Env(data=ether(0x0806) + bytes(28))
    assert env.call("skb_adjust_room", 4, 0, 0) == neg(ENOTSUPP)


@pytest.mark.parametrize(
    ("new_len", "flags", "ret"),
    [
        (len(PKT) + 10, 0, 0),
        (20, 0, 0),
        (14, 0, 0),
        (13, 0, neg(errno.EINVAL)),
        (16064, 0, 0),
        (16065, 0, neg(errno.EINVAL)),
        (30, 1, neg(errno.EINVAL)),
    ],
)
def test_change_tail(new_len: int, flags: int, ret: int) -> None:
    env = Env()
    assert env.call("skb_change_tail", new_len, flags) == ret
    if ret == 0:
        expected = (PKT + bytes(new_len))[:new_len]
        assert bytes(env.skb.data) == expected and env.ctx("len") == new_len
        assert env.skb.get_pointer("data_end") == env.skb.region.base + new_len


def test_change_head() -> None:
    env = Env()
    assert env.call("skb_change_head", 14, 0) == 0
    assert bytes(env.skb.data) == bytes(14) + PKT
    assert env.skb.mac == 0 and env.skb.net == 28
    assert env.call("skb_load_bytes_relative", 0, env.buf.base, 1, 1) == 0
    assert env.read(1) == b"\x45"
    assert env.call("skb_change_head", 16064, 0) == neg(errno.EINVAL)
    assert env.call("skb_change_head", 1, 1) == neg(errno.EINVAL)


# -- VLAN ---------------------------------------------------------------------------------------
def test_vlan_push_offloads_then_inserts() -> None:
    env = Env()
    assert env.call("skb_vlan_push", 0x0081, 5) == 0  # htons(ETH_P_8021Q)
    assert bytes(env.skb.data) == PKT
    assert (env.ctx("vlan_present"), env.ctx("vlan_tci"), env.ctx("vlan_proto")) == (1, 5, 0x0081)
    assert env.call("skb_vlan_push", 0xA888, 7) == 0  # 802.1ad outer tag
    assert bytes(env.skb.data) == PKT[:12] + b"\x81\x00\x00\x05" + PKT[12:]
    assert env.skb.protocol == ETH_P_8021Q
    assert (env.ctx("vlan_tci"), env.ctx("vlan_proto")) == (7, 0xA888)
    assert env.skb.net == 18


def test_vlan_push_unknown_proto_means_8021q() -> None:
    env = Env()
    assert env.call("skb_vlan_push", 0x1234, 1) == 0
    assert env.ctx("vlan_proto") == 0x0081


def test_vlan_pop() -> None:
    env = Env(data=VLAN_PKT)
    assert env.skb.protocol == ETH_P_8021Q
    assert env.call("skb_vlan_pop") == 0
    assert bytes(env.skb.data) == VLAN_PKT[:12] + VLAN_PKT[16:]
    assert env.skb.protocol == ETH_P_IP and env.ctx("vlan_present") == 0
    assert env.call("skb_vlan_pop") == 0  # nothing left: no-op
    assert bytes(env.skb.data) == VLAN_PKT[:12] + VLAN_PKT[16:]


def test_vlan_pop_moves_the_next_tag_to_the_offload() -> None:
    inner = ether(ETH_P_IP, vlan=0x0022) + ipv4(udp(), 17)
    qinq = inner[:12] + b"\x88\xa8\x00\x11" + inner[12:]
    env = Env(data=qinq)
    assert env.call("skb_vlan_pop") == 0
    assert bytes(env.skb.data) == inner[:12] + inner[16:]
    assert (env.ctx("vlan_present"), env.ctx("vlan_tci"), env.ctx("vlan_proto")) == (
        1,
        0x22,
        0x0081,
    )


def test_vlan_pop_short_packet() -> None:
    env = Env(data=ether(ETH_P_8021Q) + b"\x00\x01")
    assert env.call("skb_vlan_pop") == neg(errno.ENOMEM)


# -- hash -----------------------------------------------------------------------------------
def test_hash_helpers() -> None:
    env = Env()
    first = env.call("get_hash_recalc")
    assert first != 0 and first == env.ctx("hash") == env.call("get_hash_recalc")
    assert flow_hash(env.skb) == (first, True)
    assert env.call("set_hash", 0xDEADBEEF) == 0 and env.ctx("hash") == 0xDEADBEEF
    assert env.call("get_hash_recalc") == 0xDEADBEEF
    assert env.call("set_hash_invalid") == 0 and env.ctx("hash") == 0
    assert Env(data=ether(0x0806) + bytes(28)).call("get_hash_recalc") == 0


# -- from programs ----------------------------------------------------------------------------
def test_program_rewrites_ttl_with_store_and_l3_csum() -> None:
    text = """
        r6 = r1
        r2 = 22
        r3 = r10
        r3 += -8
        r4 = 1
        call 26
        r7 = *(u8 *)(r10 -8)
        r8 = r7
        r8 -= 1
        *(u8 *)(r10 -8) = r8
        r1 = r6
        r2 = 22
        r3 = r10
        r3 += -8
        r4 = 1
        r5 = 0
        call 9
        r0 = *(u32 *)(r6 +0)
        exit
    """
    res = Vm(assemble(text), prog_type="sched_cls").test_run(PKT)
    assert res.retval == len(PKT)
    assert res.data_out[22] == PKT[22] - 1 and res.data_out[:22] == PKT[:22]


def test_program_sees_len_after_change_tail() -> None:
    text = "r6 = r1\nr2 = 100\nr3 = 0\ncall 38\nr0 = *(u32 *)(r6 +0)\nexit"
    res = Vm(assemble(text), prog_type="tc").test_run(PKT)
    assert res.retval == 100 and res.data_out == PKT + bytes(100 - len(PKT))


def test_ld_abs_sees_helper_changes() -> None:
    text = "r6 = r1\nr2 = 0x0081\nr3 = 3\ncall 18\nr1 = r6\nr2 = 0x0081\nr3 = 4\ncall 18\nr0 = *(u16 *)skb[12]\nexit"
    assert Vm(assemble(text), prog_type="tc").test_run(PKT).retval == 0x8100


def test_ctx_len_field_offset() -> None:
    env = Env()
    assert struct.unpack_from("<I", env.skb.ctx, OFFSET["len"])[0] == len(PKT)
