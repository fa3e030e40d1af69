"""Checksum helpers: the ones'-complement arithmetic and the helpers' flag rules."""

from __future__ import annotations

import errno
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.helpers.csum import (
    csum_add,
    csum_diff,
    csum_fold,
    csum_partial,
    csum_replace2,
    csum_replace4,
    csum_replace_by_diff,
)
from ebpy.helpers.env import Runtime
from ebpy.helpers.linux import LINUX_HELPERS
from ebpy.isa._intmath import M64
from ebpy.isa.asm import assemble
from ebpy.memory import RegionKind
from ebpy.progtypes import prog_type_info
from ebpy.progtypes._packet import ENOTSUPP
from ebpy.progtypes._skb import SkbState
from ebpy.vm import Vm
from tests.progtypes.packets import checksum, tcp4, udp4

PKT = tcp4(b"hello world!")
IP_CSUM = 24  # offset of the IPv4 header checksum in the frame
TCP_CSUM = 14 + 20 + 16


def neg(err: int) -> int:
    return -err & M64


def le16(data: bytes, off: int) -> int:
    value: int = struct.unpack_from("<H", data, off)[0]
    return value


def env_for(data: bytes = PKT, kind: str = "sched_cls") -> tuple[Runtime, SkbState, int]:
    rt = Runtime()
    state = prog_type_info(kind).prepare(rt.memory, data, None)
    rt.state = state
    buf = rt.memory.map(RegionKind.MEMORY, bytes(1024), name="buf")
    return rt, state, buf.base  # type: ignore[return-value]


def call(rt: Runtime, name: str, *args: int) -> int:
    helper = LINUX_HELPERS.by_name(name)
    assert helper is not None
    return helper.impl(rt, *(*args, 0, 0, 0, 0, 0)[:5])


# -- arithmetic -----------------------------------------------------------------------
def test_fold_and_add() -> None:
    assert csum_fold(0) == 0xFFFF and csum_fold(0xFFFF) == 0
    assert csum_add(0xFFFFFFFF, 1) == 1
    assert csum_partial(b"\x01\x02\x03") == 0x030201


@settings(max_examples=200, deadline=None)
@given(
    st.binary(min_size=20, max_size=20).map(bytearray),
    st.integers(0, 4),
    st.binary(min_size=4, max_size=4),
)
def test_replace4_matches_recomputing(header: bytearray, word: int, new: bytes) -> None:
    header[10:12] = b"\0\0"
    header[10:12] = struct.pack("!H", checksum(bytes(header)))
    old = bytes(header[word * 4 : word * 4 + 4])
    if word == 2:  # the word holding the checksum itself is not a data word
        return
    field = le16(header, 10)
    updated = csum_replace4(field, int.from_bytes(old, "little"), int.from_bytes(new, "little"))
    header[word * 4 : word * 4 + 4] = new
    header[10:12] = updated.to_bytes(2, "little")
    assert checksum(bytes(header)) == 0 or checksum(bytes(header)) == 0xFFFF


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
def test_replace2_agrees_with_replace4_modulo_zero(field: int, old: int, new: int) -> None:
    a, b = csum_replace2(field, old, new), csum_replace4(field, old, new)
    assert a == b or {a, b} == {0, 0xFFFF}


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=64), st.binary(max_size=64), st.integers(0, 0xFFFFFFFF))
def test_csum_diff_is_a_16_bit_sum(old: bytes, new: bytes, seed: int) -> None:
    value = csum_diff(old, new, seed)
    assert 0 <= value <= 0xFFFF
    if not old and not new:
        assert value == csum_diff(b"", b"", seed)


def test_csum_diff_known_values() -> None:
    assert csum_diff(b"", b"", 0x12345678) == 0x68AC
    assert csum_diff(b"\x01\0\0\0", b"", 0) == 0xFFFE
    assert csum_diff(bytes(4), bytes(4), 0) == 0xFFFF
    assert csum_diff(b"\xff" * 8, b"", 0) == 0
    replaced = csum_replace_by_diff(0x1234, csum_diff(b"\x01\x02\x03\x04", b"\x05\x06\x07\x08", 0))
    assert replaced == csum_replace4(0x1234, 0x04030201, 0x08070605) or replaced in (0, 0xFFFF)


# -- helpers ----------------------------------------------------------------------------
def test_l3_replace_keeps_ip_checksum_valid() -> None:
    rt, skb, _ = env_for()
    old_ttl = le16(PKT, 22)
    skb.data[22] -= 1
    assert call(rt, "l3_csum_replace", skb.ctx_addr, IP_CSUM, old_ttl, le16(skb.data, 22), 2) == 0
    assert checksum(bytes(skb.data[14:34])) == 0


def test_l4_replace_keeps_tcp_checksum_valid() -> None:
    rt, skb, _ = env_for()
    old = int.from_bytes(PKT[34:36], "little")  # source port
    skb.data[34:36] = b"\x13\x88"
    new = int.from_bytes(b"\x13\x88", "little")
    assert call(rt, "l4_csum_replace", skb.ctx_addr, TCP_CSUM, old, new, 2) == 0
    fixed = tcp4(b"hello world!", sport=5000)
    assert bytes(skb.data) == fixed


@pytest.mark.parametrize(
    ("name", "off", "frm", "flags", "ret"),
    [
        ("l3_csum_replace", 1, 0, 2, neg(errno.EFAULT)),  # odd offset
        ("l3_csum_replace", 0x10000, 0, 2, neg(errno.EFAULT)),
        ("l3_csum_replace", len(PKT) - 1, 0, 2, neg(errno.EFAULT)),
        ("l3_csum_replace", IP_CSUM, 0, 3, neg(errno.EINVAL)),  # bad size
        ("l3_csum_replace", IP_CSUM, 1, 0, neg(errno.EINVAL)),  # from with size 0
        ("l3_csum_replace", IP_CSUM, 0, 0x10, neg(errno.EINVAL)),  # no pseudo-header for l3
        ("l4_csum_replace", TCP_CSUM, 0, 0x100, neg(errno.EINVAL)),
        ("l4_csum_replace", TCP_CSUM, 0, 0x14, 0),
        ("l4_csum_replace", TCP_CSUM, 0, 0x94, 0),  # BPF_F_IPV6
        ("l4_csum_replace", TCP_CSUM, 0, 8, neg(errno.EINVAL)),
    ],
)
def test_replace_errors(name: str, off: int, frm: int, flags: int, ret: int) -> None:
    rt, skb, _ = env_for()
    assert call(rt, name, skb.ctx_addr, off, frm, 0, flags) == ret


def test_l4_mangled_zero() -> None:
    data = bytearray(udp4(b"abc"))
    data[40:42] = b"\0\0"  # UDP without checksum
    rt, skb, _ = env_for(bytes(data))
    assert call(rt, "l4_csum_replace", skb.ctx_addr, 40, 1, 2, 0x20 | 2) == 0
    assert skb.data[40:42] == b"\0\0"  # left alone
    assert call(rt, "l4_csum_replace", skb.ctx_addr, 40, 0, 0, 0x60 | 4) == 0
    assert skb.data[40:42] == b"\xff\xff"  # enforced; a computed 0 becomes 0xFFFF


def test_csum_diff_helper() -> None:
    rt, _, buf = env_for()
    rt.memory.write(buf, b"\x01\x02\x03\x04\x05\x06\x07\x08")
    assert call(rt, "csum_diff", buf, 4, buf + 4, 4, 0) == csum_diff(
        b"\x01\x02\x03\x04", b"\x05\x06\x07\x08", 0
    )
    assert call(rt, "csum_diff", buf, 3, 0, 0, 0) == csum_diff(b"\x01\x02\x03", b"", 0)
    assert call(rt, "csum_diff", buf, 513, 0, 0, 0) == neg(errno.EINVAL)


def test_csum_update_and_level() -> None:
    rt, skb, _ = env_for()
    assert call(rt, "csum_update", skb.ctx_addr, 5) == neg(ENOTSUPP)
    assert call(rt, "csum_level", skb.ctx_addr, 0) == neg(errno.EACCES)  # query: not UNNECESSARY
    assert call(rt, "csum_level", skb.ctx_addr, 1) == 0  # inc: now UNNECESSARY, level 0
    assert call(rt, "csum_level", skb.ctx_addr, 1) == 0
    assert call(rt, "csum_level", skb.ctx_addr, 0) == 1
    assert call(rt, "csum_level", skb.ctx_addr, 2) == 0
    assert call(rt, "csum_level", skb.ctx_addr, 0) == 0
    assert call(rt, "csum_level", skb.ctx_addr, 3) == 0  # reset
    assert call(rt, "csum_level", skb.ctx_addr, 0) == neg(errno.EACCES)
    assert call(rt, "csum_level", skb.ctx_addr, 9) == neg(errno.EINVAL)


def test_nat_program_keeps_checksums_valid() -> None:
    """Rewrite the destination address with direct access and fix both checksums."""
    text = """
        r6 = r1
        r2 = *(u32 *)(r6 +76)
        r3 = *(u32 *)(r6 +80)
        r4 = r2
        r4 += 54
        if r4 > r3 goto out
        r7 = *(u32 *)(r2 +30)
        r8 = 0x0900000a
        *(u32 *)(r2 +30) = r8
        r1 = r6
        r2 = 24
        r3 = r7
        r4 = r8
        r5 = 4
        call 10
        r1 = r6
        r2 = 50
        r3 = r7
        r4 = r8
        r5 = 0x14
        call 11
    out:
        r0 = 0
        exit
    """
    res = Vm(assemble(text), prog_type="sched_cls").test_run(PKT)
    out = res.data_out
    assert out[30:34] == bytes([10, 0, 0, 9])
    assert checksum(out[14:34]) == 0
    pseudo = out[26:34] + struct.pack("!xBH", 6, len(out) - 34)
    assert checksum(pseudo + out[34:]) == 0
