"""XDP helpers: head, metadata and tail adjustments; bytes across fragments."""

from __future__ import annotations

import errno
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.helpers.env import Runtime
from ebpy.helpers.linux import LINUX_HELPERS
from ebpy.isa._intmath import M64
from ebpy.isa.asm import assemble
from ebpy.memory import RegionKind
from ebpy.progtypes import prog_type_info
from ebpy.progtypes.xdp import MAX_LINEAR, XdpState
from ebpy.vm import Vm
from tests.progtypes.packets import udp4

PKT = udp4(b"0123456789abcdef")
BIG = bytes(range(256)) * 20  # 5120 bytes: 3520 linear, the rest in one fragment


def neg(err: int) -> int:
    return -err & M64


class Env:
    def __init__(self, data: bytes = PKT, ctx: bytes | None = None) -> None:
        self.rt = Runtime()
        state = prog_type_info("xdp").prepare(self.rt.memory, data, ctx)
        self.rt.state = state
        self.xdp: XdpState = state  # type: ignore[assignment]
        self.buf = self.rt.memory.map(RegionKind.MEMORY, bytes(256), name="buf")

    def call(self, name: str, *args: int) -> int:
        helper = LINUX_HELPERS.by_name(name)
        assert helper is not None
        return helper.impl(self.rt, *(self.xdp.ctx_addr, *args, 0, 0, 0, 0)[:5])

    def pointers(self) -> tuple[int, int, int]:
        base = self.xdp.region.base
        return tuple(self.xdp.get_pointer(n) - base for n in ("data_meta", "data", "data_end"))  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("delta", "ret", "start"),
    [
        (0, 0, 256),
        (-216, 0, 40),
        (-217, neg(errno.EINVAL), 256),
        (14, 0, 270),
        (len(PKT) - 14, 0, 256 + len(PKT) - 14),
        (len(PKT) - 13, neg(errno.EINVAL), 256),
    ],
)
def test_adjust_head(delta: int, ret: int, start: int) -> None:
    env = Env()
    assert env.call("xdp_adjust_head", delta & M64) == ret
    assert env.pointers()[1] == start and env.pointers()[0] == start
    assert env.xdp.packet() == (bytes(256) + PKT)[start:]


def test_adjust_head_moves_metadata_along() -> None:
    data = b"MD01" + PKT
    env = Env(data, struct.pack("<6I", 4, len(data), 0, 0, 0, 0))
    assert env.call("xdp_adjust_head", (-10) & M64) == 0
    meta, start, _ = env.pointers()
    assert (meta, start) == (242, 246)
    assert bytes(env.xdp.page[meta:start]) == b"MD01"
    assert env.call("xdp_adjust_head", (-202) & M64) == 0  # down to xdp_frame + metadata
    assert env.call("xdp_adjust_head", (-1) & M64) == neg(errno.EINVAL)


@pytest.mark.parametrize(
    ("delta", "ret"),
    [
        (-4, 0),
        (-32, 0),
        (-216, 0),
        (-217, neg(errno.EINVAL)),
        (-6, neg(errno.EACCES)),
        (4, neg(errno.EINVAL)),
        (0, 0),
    ],
)
def test_adjust_meta(delta: int, ret: int) -> None:
    env = Env()
    assert env.call("xdp_adjust_meta", delta & M64) == ret
    meta, start, _ = env.pointers()
    assert start - meta == (-delta if ret == 0 else 0)


def test_adjust_meta_limit_is_255() -> None:
    env = Env(PKT + bytes(400))
    assert env.call("xdp_adjust_head", 100) == 0
    assert env.call("xdp_adjust_meta", (-252) & M64) == 0
    assert env.call("xdp_adjust_meta", (-4) & M64) == neg(errno.EACCES)


@pytest.mark.parametrize(
    ("delta", "ret", "length"),
    [
        (10, 0, len(PKT) + 10),
        (-(len(PKT) - 14), 0, 14),
        (-(len(PKT) - 13), neg(errno.EINVAL), len(PKT)),
        (3776 - 256 - len(PKT), 0, 3520),
        (3777 - 256 - len(PKT), neg(errno.EINVAL), len(PKT)),
    ],
)
def test_adjust_tail(delta: int, ret: int, length: int) -> None:
    env = Env()
    assert env.call("xdp_adjust_tail", delta & M64) == ret
    assert env.call("xdp_get_buff_len") == length
    assert env.xdp.packet() == (PKT + bytes(4000))[:length]


def test_adjust_tail_grow_zeroes() -> None:
    env = Env()
    assert env.call("xdp_adjust_tail", (-10) & M64) == 0
    assert env.call("xdp_adjust_tail", 10) == 0
    assert env.xdp.packet() == PKT[:-10] + bytes(10)


def test_fragments_grow_and_shrink() -> None:
    env = Env(BIG)
    frag = len(BIG) - MAX_LINEAR
    assert env.call("xdp_get_buff_len") == len(BIG)
    assert env.call("xdp_adjust_tail", 4096 - frag) == 0
    assert env.call("xdp_adjust_tail", 1) == neg(errno.EINVAL)
    assert env.call("xdp_adjust_tail", (-(4096 - frag)) & M64) == 0
    assert env.xdp.packet() == BIG
    assert env.call("xdp_adjust_tail", (-(frag + 100)) & M64) == 0  # frees the fragment
    assert env.xdp.frags == [] and env.xdp.linear == MAX_LINEAR - 100
    assert env.xdp.packet() == BIG[: MAX_LINEAR - 100]


def test_fragments_shrink_limit() -> None:
    env = Env(BIG)
    assert env.call("xdp_adjust_tail", (-(len(BIG) - 13)) & M64) == neg(errno.EINVAL)
    assert env.call("xdp_adjust_tail", (-(len(BIG) - 14)) & M64) == 0
    assert env.call("xdp_get_buff_len") == 14


@pytest.mark.parametrize(
    ("off", "n", "ret"),
    [
        (0, 8, 0),
        (len(BIG) - 8, 8, 0),
        (MAX_LINEAR - 4, 8, 0),
        (len(BIG) - 7, 8, neg(errno.EINVAL)),
        (0x10000, 1, neg(errno.EFAULT)),
        (0, 0x10000, neg(errno.EFAULT)),
    ],
)
def test_load_bytes_across_fragments(off: int, n: int, ret: int) -> None:
    env = Env(BIG)
    if n > 256:
        assert env.call("xdp_load_bytes", off, env.buf.base, n) == ret
        return
    assert env.call("xdp_load_bytes", off, env.buf.base, n) == ret
    if ret == 0:
        assert bytes(env.buf.buf[:n]) == BIG[off : off + n]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, len(BIG) + 10), st.binary(min_size=1, max_size=64))
def test_store_then_load(off: int, data: bytes) -> None:
    env = Env(BIG)
    env.buf.buf[: len(data)] = data
    ok = off + len(data) <= len(BIG)
    expected = 0 if ok else neg(errno.EINVAL)
    assert env.call("xdp_store_bytes", off, env.buf.base, len(data)) == expected
    if ok:
        assert env.xdp.packet() == BIG[:off] + data + BIG[off + len(data) :]
        env.buf.buf[:64] = bytes(64)
        assert env.call("xdp_load_bytes", off, env.buf.base, len(data)) == 0
        assert bytes(env.buf.buf[: len(data)]) == data


def test_outside_xdp() -> None:
    env = Env()
    env.rt.state = None
    assert env.call("xdp_adjust_head", 0) == neg(errno.EINVAL)
    assert env.call("xdp_get_buff_len") == 0


def test_program_pops_an_outer_header() -> None:
    """Strip 4 bytes after the MAC addresses: move the addresses up, adjust the head."""
    text = """
        r6 = r1
        r2 = *(u32 *)(r6 +0)
        r3 = *(u32 *)(r6 +4)
        r4 = r2
        r4 += 16
        if r4 > r3 goto out
        r5 = *(u64 *)(r2 +0)
        r7 = *(u32 *)(r2 +8)
        *(u32 *)(r2 +12) = r7
        *(u64 *)(r2 +4) = r5
        r1 = r6
        r2 = 4
        call 44
        r0 = 2
        exit
    out:
        r0 = 1
        exit
    """
    tagged = PKT[:12] + b"\x81\x00\x00\x07" + PKT[12:]
    res = Vm(assemble(text), prog_type="xdp").test_run(tagged)
    assert res.retval == 2 and res.data_out == PKT
