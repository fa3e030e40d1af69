"""``bpf_fib_lookup`` against a ``FibTable``: routes, result codes, what gets written."""

from __future__ import annotations

import errno
import ipaddress
import struct

import pytest

from ebpy.helpers.env import Runtime
from ebpy.helpers.fib import FibTable, RouteType
from ebpy.helpers.linux import LINUX_HELPERS
from ebpy.isa._intmath import M64
from ebpy.isa.asm import assemble
from ebpy.memory import RegionKind
from ebpy.progtypes import prog_type_info
from ebpy.uapi import (
    BPF_FIB_LKUP_RET_BLACKHOLE,
    BPF_FIB_LKUP_RET_FRAG_NEEDED,
    BPF_FIB_LKUP_RET_FWD_DISABLED,
    BPF_FIB_LKUP_RET_NO_NEIGH,
    BPF_FIB_LKUP_RET_NOT_FWDED,
    BPF_FIB_LKUP_RET_PROHIBIT,
    BPF_FIB_LKUP_RET_SUCCESS,
    BPF_FIB_LKUP_RET_UNREACHABLE,
    BPF_FIB_LOOKUP_OUTPUT,
    BPF_FIB_LOOKUP_SKIP_NEIGH,
    XdpAction,
)
from ebpy.vm import Vm
from tests.progtypes.packets import udp4

SMAC = bytes.fromhex("02aaaaaaaaaa")
DMAC = bytes.fromhex("02bbbbbbbbbb")


def table() -> FibTable:
    t = FibTable()
    t.add("0.0.0.0/0", ifindex=2, gateway="192.168.1.1", smac=SMAC, dmac=DMAC, mtu=1500, metric=100)
    t.add("10.0.0.0/8", ifindex=3, smac=SMAC, dmac=DMAC, mtu=9000, metric=5)
    t.add("10.9.0.0/16", ifindex=4, dmac=None, mtu=1500)  # neighbour unknown
    t.add("10.1.0.0/16", ifindex=5, gateway="fe80::1", dmac=DMAC)
    t.add("192.0.2.0/24", ifindex=2, type=RouteType.BLACKHOLE)
    t.add("198.51.100.0/24", ifindex=2, type=RouteType.UNREACHABLE)
    t.add("203.0.113.0/24", ifindex=2, type=RouteType.PROHIBIT)
    t.add("224.0.0.0/4", ifindex=2, type=RouteType.MULTICAST)
    t.add("2001:db8::/32", ifindex=6, gateway="2001:db8::1", smac=SMAC, dmac=DMAC, mtu=1280)
    t.devices.add(7)
    t.no_forwarding.add(7)
    return t


def params(dst: str, ifindex: int = 1, tot_len: int = 0, family: int | None = None) -> bytes:
    addr = ipaddress.ip_address(dst)
    buf = bytearray(64)
    buf[0] = family if family is not None else (2 if addr.version == 4 else 10)
    struct.pack_into("<HI", buf, 6, tot_len, ifindex)
    buf[32 : 32 + len(addr.packed)] = addr.packed
    return bytes(buf)


def lookup(
    p: bytes, flags: int = 0, kind: str = "xdp", plen: int = 64, data: bytes | None = None
) -> tuple[int, bytes]:
    rt = Runtime(fib=table())
    rt.state = prog_type_info(kind).prepare(rt.memory, data or udp4(b"x"), None)
    region = rt.memory.map(RegionKind.MEMORY, p, name="params")
    helper = LINUX_HELPERS.by_name("fib_lookup")
    assert helper is not None
    rc = helper.impl(rt, rt.state.ctx_addr, region.base, plen, flags, 0)
    return rc, bytes(region.buf)


def fields(out: bytes) -> dict[str, object]:
    mtu, ifindex, metric = struct.unpack_from("<HII", out, 6)
    return {
        "family": out[0],
        "mtu": mtu,
        "ifindex": ifindex,
        "metric": metric,
        "dst4": str(ipaddress.IPv4Address(out[32:36])),
        "smac": out[52:58],
        "dmac": out[58:64],
    }


def test_table_longest_prefix_and_metric() -> None:
    t = table()
    assert t.lookup("10.9.1.1") is not None and t.lookup("10.9.1.1").ifindex == 4  # type: ignore[union-attr]
    assert t.lookup("10.2.3.4").ifindex == 3  # type: ignore[union-attr]
    assert t.lookup("8.8.8.8").ifindex == 2  # type: ignore[union-attr]
    assert t.lookup("8.8.8.8", oif=3) is None
    assert t.lookup("2001:db8::5").ifindex == 6  # type: ignore[union-attr]
    assert t.lookup("2001:db9::5") is None
    t.add("10.0.0.0/8", ifindex=8, metric=1)
    assert t.lookup("10.2.3.4").ifindex == 8  # type: ignore[union-attr]


def test_success_via_gateway() -> None:
    rc, out = lookup(params("8.8.8.8"))
    assert rc == BPF_FIB_LKUP_RET_SUCCESS
    assert fields(out) == {
        "family": 2,
        "mtu": 1500,
        "ifindex": 2,
        "metric": 100,
        "dst4": "192.168.1.1",
        "smac": SMAC,
        "dmac": DMAC,
    }


def test_success_direct_route() -> None:
    rc, out = lookup(params("10.2.3.4"))
    assert rc == BPF_FIB_LKUP_RET_SUCCESS
    assert fields(out)["dst4"] == "10.2.3.4" and fields(out)["mtu"] == 9000


def test_no_neigh_leaves_route_fields() -> None:
    rc, out = lookup(params("10.9.9.9"))
    assert rc == BPF_FIB_LKUP_RET_NO_NEIGH
    assert fields(out)["ifindex"] == 4 and fields(out)["dmac"] == bytes(6)


def test_skip_neigh() -> None:
    rc, out = lookup(params("10.9.9.9"), BPF_FIB_LOOKUP_SKIP_NEIGH)
    assert rc == BPF_FIB_LKUP_RET_SUCCESS and fields(out)["ifindex"] == 4


def test_ipv6_gateway_for_ipv4_route() -> None:
    rc, out = lookup(params("10.1.2.3"))
    assert rc == BPF_FIB_LKUP_RET_SUCCESS
    assert out[0] == 10 and out[32:48] == ipaddress.IPv6Address("fe80::1").packed


def test_ipv6() -> None:
    rc, out = lookup(params("2001:db8::9"))
    assert rc == BPF_FIB_LKUP_RET_SUCCESS
    assert out[32:48] == ipaddress.IPv6Address("2001:db8::1").packed
    assert struct.unpack_from("<HI", out, 6) == (1280, 6)


@pytest.mark.parametrize(
    ("dst", "ifindex", "rc"),
    [
        ("192.0.2.1", 1, BPF_FIB_LKUP_RET_BLACKHOLE),
        ("198.51.100.1", 1, BPF_FIB_LKUP_RET_UNREACHABLE),
        ("203.0.113.1", 1, BPF_FIB_LKUP_RET_PROHIBIT),
        ("224.0.0.1", 1, BPF_FIB_LKUP_RET_NOT_FWDED),
        ("2001:db9::1", 1, BPF_FIB_LKUP_RET_NOT_FWDED),
        ("8.8.8.8", 7, BPF_FIB_LKUP_RET_FWD_DISABLED),
        ("8.8.8.8", 99, -errno.ENODEV & M64),
    ],
)
def test_result_codes(dst: str, ifindex: int, rc: int) -> None:
    assert lookup(params(dst, ifindex))[0] == rc


def test_frag_needed_with_tot_len() -> None:
    rc, out = lookup(params("8.8.8.8", tot_len=1501), kind="sched_cls")
    assert rc == BPF_FIB_LKUP_RET_FRAG_NEEDED and fields(out)["mtu"] == 1500
    rc, out = lookup(params("8.8.8.8", tot_len=1500), kind="sched_cls")
    assert rc == BPF_FIB_LKUP_RET_SUCCESS and fields(out)["mtu"] == 1500


def test_frag_needed_from_the_skb_length() -> None:
    big = udp4(bytes(1500))  # 1542 bytes > 1500 + 18
    assert lookup(params("8.8.8.8"), kind="sched_cls", data=big)[0] == BPF_FIB_LKUP_RET_FRAG_NEEDED
    assert lookup(params("8.8.8.8"), kind="xdp", data=big)[0] == BPF_FIB_LKUP_RET_SUCCESS


def test_output_flag_restricts_to_the_interface() -> None:
    assert (
        lookup(params("8.8.8.8", ifindex=3), BPF_FIB_LOOKUP_OUTPUT)[0] == BPF_FIB_LKUP_RET_NOT_FWDED
    )
    assert (
        lookup(params("10.2.3.4", ifindex=3), BPF_FIB_LOOKUP_OUTPUT)[0] == BPF_FIB_LKUP_RET_SUCCESS
    )


@pytest.mark.parametrize(
    ("p", "flags", "plen", "err"),
    [
        (params("8.8.8.8"), 0, 63, errno.EINVAL),
        (params("8.8.8.8"), 0x20, 64, errno.EINVAL),
        (params("8.8.8.8", family=3), 0, 64, errno.EAFNOSUPPORT),
    ],
)
def test_errors(p: bytes, flags: int, plen: int, err: int) -> None:
    assert lookup(p, flags, plen=plen)[0] == -err & M64


def test_no_table_means_only_loopback() -> None:
    rt = Runtime()
    rt.state = prog_type_info("xdp").prepare(rt.memory, udp4(), None)
    region = rt.memory.map(RegionKind.MEMORY, params("8.8.8.8"), name="params")
    helper = LINUX_HELPERS.by_name("fib_lookup")
    assert helper is not None
    assert helper.impl(rt, 0, region.base, 64, 0, 0) == BPF_FIB_LKUP_RET_NOT_FWDED


FORWARD = """
    r6 = r1
    r2 = *(u32 *)(r6 +0)
    r3 = *(u32 *)(r6 +4)
    r4 = r2
    r4 += 34
    if r4 > r3 goto pass
    r7 = r2
    r1 = 0
    *(u64 *)(r10 -64) = r1
    *(u64 *)(r10 -56) = r1
    *(u64 *)(r10 -48) = r1
    *(u64 *)(r10 -40) = r1
    *(u64 *)(r10 -32) = r1
    *(u64 *)(r10 -24) = r1
    *(u64 *)(r10 -16) = r1
    *(u64 *)(r10 -8) = r1
    r1 = 2
    *(u8 *)(r10 -64) = r1
    r1 = *(u32 *)(r7 +30)
    *(u32 *)(r10 -32) = r1
    r1 = *(u32 *)(r6 +12)
    *(u32 *)(r10 -56) = r1
    r1 = r6
    r2 = r10
    r2 += -64
    r3 = 64
    r4 = 0
    call 69
    if r0 != 0 goto pass
    r1 = *(u32 *)(r10 -6)
    *(u32 *)(r7 +0) = r1
    r1 = *(u16 *)(r10 -2)
    *(u16 *)(r7 +4) = r1
    r1 = *(u32 *)(r10 -12)
    *(u32 *)(r7 +6) = r1
    r1 = *(u16 *)(r10 -8)
    *(u16 *)(r7 +10) = r1
    r1 = *(u32 *)(r10 -56)
    r2 = 0
    call 23
    exit
pass:
    r0 = 2
    exit
"""


def test_xdp_forwarding_program() -> None:
    frame = udp4(b"fwd", dport=53)
    rt = Runtime(fib=table())
    res = Vm(assemble(FORWARD), prog_type="xdp").test_run(frame, runtime=rt)
    assert res.retval == XdpAction.REDIRECT
    assert res.data_out == DMAC + SMAC + frame[12:]
    assert res.runtime.state.redirect.ifindex == 3  # 10.0.0.2 is on ifindex 3
