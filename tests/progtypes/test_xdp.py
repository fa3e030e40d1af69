"""XDP: ``xdp_md`` access rules, the page-sized frame, metadata, fragments, ``ctx_in``."""

from __future__ import annotations

import errno
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.errors import ContextAccessError
from ebpy.errors import TestRunError as RunError
from ebpy.isa.asm import assemble
from ebpy.memory import AddressSpace, RegionKind
from ebpy.progtypes import prog_type_info
from ebpy.progtypes.xdp import MAX_LINEAR, XdpState
from ebpy.uapi import HelperId, ProgType, XdpAction
from ebpy.vm import Vm
from tests.progtypes.packets import udp4

INFO = prog_type_info("xdp")
PKT = udp4(b"abcdefgh")
LINEAR_LEN = "r2 = *(u32 *)(r1 +0)\nr0 = *(u32 *)(r1 +4)\nr0 -= r2\nexit"
META_LEN = "r2 = *(u32 *)(r1 +8)\nr0 = *(u32 *)(r1 +0)\nr0 -= r2\nexit"


def md(
    data: int, data_end: int, meta: int = 0, ifindex: int = 0, queue: int = 0, egress: int = 0
) -> bytes:
    return struct.pack("<6I", data, data_end, meta, ifindex, queue, egress)


def run(text: str, data: bytes | None = PKT, ctx: bytes | None = None):  # type: ignore[no-untyped-def]
    return Vm(assemble(text), prog_type="xdp").test_run(data, ctx)


def test_registered() -> None:
    assert INFO.prog_type == ProgType.XDP
    assert INFO.verdict_name(int(XdpAction.PASS)) == "XDP_PASS"
    assert INFO.verdict_name(int(XdpAction.REDIRECT)) == "XDP_REDIRECT"
    assert HelperId.XDP_ADJUST_HEAD in INFO.helpers and HelperId.REDIRECT_MAP in INFO.helpers
    assert HelperId.SKB_LOAD_BYTES not in INFO.helpers


@pytest.mark.parametrize(
    ("off", "performed"), [(0, (24, 8)), (4, (32, 8)), (8, (40, 8)), (12, (12, 4)), (16, (16, 4))]
)
def test_allowed(off: int, performed: tuple[int, int]) -> None:
    assert INFO.access(off, 4, False) == performed


@pytest.mark.parametrize(
    ("off", "size", "write"),
    [
        (20, 4, False),
        (0, 8, False),
        (0, 2, False),
        (12, 1, False),
        (2, 4, False),
        (12, 4, True),
        (0, 4, True),
        (24, 4, False),
        (-4, 4, False),
    ],
)
def test_denied(off: int, size: int, write: bool) -> None:
    with pytest.raises(ContextAccessError) as exc:
        INFO.access(off, size, write)
    assert exc.value.prog_type == "xdp"


def test_egress_ifindex_refused_at_load() -> None:
    with pytest.raises(ContextAccessError) as exc:
        Vm(assemble("r0 = *(u32 *)(r1 +20)\nexit"), prog_type="xdp")
    assert exc.value.offset == 20


def test_frame_layout() -> None:
    state = INFO.prepare(AddressSpace(), PKT, None)
    assert isinstance(state, XdpState)
    assert state.region.kind == RegionKind.PACKET and len(state.page) == 4096
    assert state.start == state.meta == 256 and state.end == 256 + len(PKT)
    assert state.get_pointer("data") == state.region.base + 256
    assert state.packet() == PKT


def test_plain_run() -> None:
    res = run(LINEAR_LEN)
    assert res.retval == len(PKT) and res.data_out == PKT and res.ctx_out is None
    assert run("r0 = *(u32 *)(r1 +12)\nexit").retval == 1  # loopback
    assert run("r0 = *(u32 *)(r1 +16)\nexit").retval == 0


def test_metadata_from_ctx() -> None:
    data = b"META" + PKT
    res = run(META_LEN, data, md(4, len(data)))
    assert res.retval == 4
    assert res.data_out == data  # from data_meta
    assert res.ctx_out == md(4, len(data))


def test_linear_part_from_ctx() -> None:
    res = run(LINEAR_LEN, PKT, md(0, 20))
    assert res.retval == 20 and res.data_out == PKT
    res = run(LINEAR_LEN, PKT, b"")  # all-zero xdp_md: nothing linear
    assert res.retval == 0 and res.data_out == PKT


def test_ingress_queue_from_ctx() -> None:
    res = run("r0 = *(u32 *)(r1 +12)\nexit", PKT, md(0, len(PKT), ifindex=1))
    assert res.retval == 1
    res = run("r0 = *(u32 *)(r1 +16)\nexit", PKT, md(0, len(PKT), ifindex=3, queue=2))
    assert res.retval == 2


@pytest.mark.parametrize(
    ("data", "ctx", "err"),
    [
        (bytes(13), None, errno.EINVAL),
        (None, None, errno.EINVAL),
        (bytes(17), md(4, 17), errno.EINVAL),  # 13 bytes after the metadata
        (PKT, md(0, len(PKT), meta=4), errno.EINVAL),
        (PKT, md(0, len(PKT) + 1), errno.EINVAL),
        (PKT, md(8, 4), errno.EINVAL),
        (PKT, md(3, len(PKT)), errno.EINVAL),
        (bytes(400), md(220, 400), errno.EINVAL),  # past the room for xdp_frame
        (PKT, md(0, len(PKT), egress=1), errno.EINVAL),
        (PKT, md(0, len(PKT), queue=1), errno.EINVAL),
        (PKT, md(0, len(PKT), ifindex=1, queue=1), errno.EINVAL),
        (PKT, md(0, len(PKT)) + b"\x01", errno.E2BIG),
        (bytes(MAX_LINEAR + 17 * 4096 + 1), None, errno.ENOMEM),
    ],
)
def test_ctx_errors(data: bytes | None, ctx: bytes | None, err: int) -> None:
    with pytest.raises(RunError) as exc:
        run("r0 = 2\nexit", data, ctx)
    assert exc.value.errno == err


def test_jumbo_frame_goes_to_fragments() -> None:
    data = bytes(range(256)) * 20
    res = run(LINEAR_LEN, data)
    assert res.retval == MAX_LINEAR and res.data_out == data
    state = INFO.prepare(AddressSpace(), data, None)
    assert isinstance(state, XdpState)
    assert [len(f) for f in state.frags] == [len(data) - MAX_LINEAR]
    assert state.buff_len() == len(data)


def test_meta_limits_in_ctx() -> None:
    data = bytes(400)
    res = run(META_LEN, data, md(216, 400))
    assert res.retval == 216 and len(res.data_out) == 400


def test_ctx_out_short_ctx_in() -> None:
    res = run("r0 = 2\nexit", PKT, md(0, len(PKT))[:8])
    assert res.ctx_out == md(0, len(PKT))


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=14, max_size=600), st.sampled_from([0, 4, 8, 32]))
def test_any_frame(data: bytes, meta: int) -> None:
    if len(data) - meta < 14:
        return
    res = run(META_LEN, data, md(meta, len(data)))
    assert res.retval == meta and res.data_out == data
