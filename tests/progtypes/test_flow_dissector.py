"""Flow dissectors: three context fields, ``struct bpf_flow_keys`` in and out."""

from __future__ import annotations

import errno
import struct

import pytest

from ebpy.errors import ContextAccessError
from ebpy.errors import TestRunError as RunError
from ebpy.isa.asm import assemble
from ebpy.progtypes import prog_type_info
from ebpy.progtypes.flow_dissector import FLOW_KEYS_SIZE
from ebpy.uapi import HelperId, ProgType
from ebpy.vm import Vm
from tests.progtypes.packets import tcp4, udp6

INFO = prog_type_info("flow_dissector")
PKT = tcp4(b"x" * 10)

# Copy the IPv4 protocol and addresses into the keys, set nhoff/thoff.
DISSECT_V4 = """
    r6 = *(u64 *)(r1 +144)
    r2 = *(u32 *)(r1 +76)
    r3 = *(u32 *)(r1 +80)
    r4 = r2
    r4 += 34
    if r4 > r3 goto drop
    r5 = *(u8 *)(r2 +23)
    *(u8 *)(r6 +9) = r5
    r5 = *(u32 *)(r2 +26)
    *(u32 *)(r6 +16) = r5
    r5 = *(u32 *)(r2 +30)
    *(u32 *)(r6 +20) = r5
    r5 = 34
    *(u16 *)(r6 +2) = r5
    r0 = 0
    exit
drop:
    r0 = 2
    exit
"""


def run(text: str, data: bytes | None = PKT, ctx: bytes | None = None):  # type: ignore[no-untyped-def]
    return Vm(assemble(text), prog_type="flow_dissector").test_run(data, ctx)


def keys_ctx(flags: int) -> bytes:
    buf = bytearray(FLOW_KEYS_SIZE)
    struct.pack_into("<I", buf, 48, flags)
    return bytes(buf)


def test_registered() -> None:
    assert INFO.prog_type == ProgType.FLOW_DISSECTOR
    assert INFO.helpers >= {int(HelperId.SKB_LOAD_BYTES), int(HelperId.MAP_LOOKUP_ELEM)}
    assert INFO.verdict_name(2) == "BPF_DROP"


@pytest.mark.parametrize(("off", "size"), [(76, 4), (80, 4), (144, 8)])
def test_allowed(off: int, size: int) -> None:
    INFO.access(off, size, False)


@pytest.mark.parametrize(
    ("off", "size", "write"),
    [(0, 4, False), (144, 4, False), (76, 8, False), (77, 4, False), (76, 4, True), (48, 4, True)],
)
def test_denied(off: int, size: int, write: bool) -> None:
    with pytest.raises(ContextAccessError):
        INFO.access(off, size, write)


def test_initial_keys() -> None:
    res = run("r0 = 0\nexit")
    assert res.retval == 0 and len(res.data_out) == FLOW_KEYS_SIZE
    nhoff, thoff = struct.unpack_from("<HH", res.data_out, 0)
    assert (nhoff, thoff) == (14, 14)
    assert res.data_out[10:12] == b"\x08\x00"  # n_proto, network order
    assert res.ctx_out is None


def test_dissect() -> None:
    res = run(DISSECT_V4)
    keys = res.data_out
    assert res.retval == 0
    assert keys[9] == 6 and keys[16:24] == PKT[26:34]
    assert struct.unpack_from("<H", keys, 2)[0] == 34
    assert run(DISSECT_V4, PKT[:20]).retval == 2
    assert run("r0 = 0\nexit", udp6()).data_out[10:12] == b"\x86\xdd"


@pytest.mark.parametrize(
    ("nhoff", "thoff", "expected"),
    [(0, 0, (14, 14)), (20, 10, (20, 20)), (30, 40, (30, 40)), (0xFFFF, 5, (74, 74))],
)
def test_offsets_clamped(nhoff: int, thoff: int, expected: tuple[int, int]) -> None:
    text = f"r6 = *(u64 *)(r1 +144)\nr2 = {nhoff}\n*(u16 *)(r6 +0) = r2\nr2 = {thoff}\n*(u16 *)(r6 +2) = r2\nr0 = 0\nexit"
    data = PKT[:74] if len(PKT) >= 74 else PKT + bytes(74 - len(PKT))
    assert struct.unpack_from("<HH", run(text, data).data_out, 0) == expected


def test_flags_from_ctx() -> None:
    res = run("r6 = *(u64 *)(r1 +144)\nr0 = *(u32 *)(r6 +48)\nexit", PKT, keys_ctx(7))
    assert res.retval == 7
    assert res.ctx_out == keys_ctx(7)


def test_load_bytes_fails_without_an_skb() -> None:
    text = "r2 = 0\nr3 = r10\nr3 += -8\nr4 = 4\ncall 26\nexit"
    assert run(text).retval == (-errno.EFAULT) & 0xFFFFFFFF


@pytest.mark.parametrize(
    ("data", "ctx", "err"),
    [
        (bytes(13), None, errno.EINVAL),
        (bytes(4097), None, errno.EINVAL),
        (PKT, b"\x01" + bytes(55), errno.EINVAL),
        (PKT, keys_ctx(1) + b"\x01", errno.E2BIG),
    ],
)
def test_errors(data: bytes, ctx: bytes | None, err: int) -> None:
    with pytest.raises(RunError) as exc:
        run("r0 = 0\nexit", data, ctx)
    assert exc.value.errno == err
