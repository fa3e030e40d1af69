"""cgroup_skb: network-header view with direct reads, socket fields, 0/1 verdicts."""

from __future__ import annotations

import ipaddress
import struct

import pytest

from ebpy.errors import ContextAccessError
from ebpy.isa.asm import assemble
from ebpy.progtypes import prog_type_info
from ebpy.progtypes._skb import OFFSET, SKB_SIZE
from ebpy.uapi import HelperId, ProgType
from ebpy.vm import Vm
from tests.progtypes.packets import ETH_P_IPV6, ether, ipv6, tcp4, udp

INFO = prog_type_info("cgroup_skb")
PKT = tcp4(b"data")


def run(text: str, data: bytes = PKT, ctx: bytes | None = b""):  # type: ignore[no-untyped-def]
    return Vm(assemble(text), prog_type="cgroup_skb").test_run(data, ctx)


def cb0_after(load: str, data: bytes = PKT) -> int:
    """Store what ``load`` leaves in r2 into cb[0] and read it back from ctx_out."""
    res = run(f"{load}\n*(u32 *)(r1 +48) = r2\nr0 = 1\nexit", data)
    assert res.ctx_out is not None
    value: int = struct.unpack_from("<I", res.ctx_out, OFFSET["cb"])[0]
    return value


def test_registered() -> None:
    assert INFO.prog_type == ProgType.CGROUP_SKB
    assert INFO.ret_range == (0, 1)
    assert INFO.verdict_name(1) == "SK_PASS" and INFO.verdict_name(0) == "SK_DROP"
    assert HelperId.SK_STORAGE_GET in INFO.helpers and HelperId.SKB_LOAD_BYTES in INFO.helpers
    assert HelperId.SKB_STORE_BYTES not in INFO.helpers


@pytest.mark.parametrize(
    ("off", "size", "write"),
    [
        (76, 4, False),
        (80, 4, False),
        (88, 4, False),
        (100, 4, False),
        (8, 4, True),
        (32, 4, True),
        (152, 8, True),
        (184, 8, False),
        (136, 2, False),
    ],
)
def test_allowed(off: int, size: int, write: bool) -> None:
    INFO.access(off, size, write)


@pytest.mark.parametrize(
    ("off", "size", "write"),
    [
        (72, 4, False),
        (140, 4, False),
        (160, 4, False),
        (44, 4, True),
        (76, 4, True),
        (100, 2, False),
        (180, 1, False),
    ],
)
def test_denied(off: int, size: int, write: bool) -> None:
    with pytest.raises(ContextAccessError):
        INFO.access(off, size, write)


def test_data_starts_at_the_network_header() -> None:
    assert (
        cb0_after("r2 = *(u32 *)(r1 +76)\nr3 = *(u32 *)(r1 +80)\nr3 -= r2\nr2 = r3")
        == len(PKT) - 14
    )
    first_byte = """
        r2 = *(u32 *)(r1 +76)
        r3 = *(u32 *)(r1 +80)
        r4 = r2
        r4 += 1
        if r4 > r3 goto +1
        r2 = *(u8 *)(r2 +0)
    """
    assert cb0_after(first_byte) == 0x45  # IPv4 version and header length


def test_socket_fields_from_the_ip_header() -> None:
    assert cb0_after("r2 = *(u32 *)(r1 +88)") == 2  # AF_INET
    local = cb0_after("r2 = *(u32 *)(r1 +96)")
    remote = cb0_after("r2 = *(u32 *)(r1 +92)")
    assert ipaddress.IPv4Address(struct.pack("<I", local)) == ipaddress.IPv4Address("10.0.0.1")
    assert ipaddress.IPv4Address(struct.pack("<I", remote)) == ipaddress.IPv4Address("10.0.0.2")
    frame = ether(ETH_P_IPV6) + ipv6(udp(v6=True), 17)
    assert cb0_after("r2 = *(u32 *)(r1 +88)", frame) == 10  # AF_INET6
    assert cb0_after("r2 = *(u32 *)(r1 +132)", frame) == 0  # remote_port: no socket port


def test_mark_written_comes_back() -> None:
    res = run("r2 = 9\n*(u32 *)(r1 +8) = r2\nr0 = 1\nexit")
    assert res.retval == 1 and res.ctx_out is not None
    assert struct.unpack_from("<I", res.ctx_out, OFFSET["mark"])[0] == 9
    assert res.data_out == bytes(14) + PKT[14:]
    assert len(res.ctx_out) == SKB_SIZE
