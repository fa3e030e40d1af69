"""Checksum helpers: ``bpf_l3_csum_replace``, ``bpf_l4_csum_replace``, ``bpf_csum_diff``,
``bpf_csum_update`` and ``bpf_csum_level``.

The Internet checksum is a ones'-complement sum. Here, as in the kernel on a
little-endian machine, 16-bit checksum fields and the ``from``/``to`` values a
program passes are taken as the bytes in memory read little-endian (the
program loaded them with ordinary loads), and a 32-bit partial sum
(``__wsum``) adds 32-bit little-endian words with end-around carry. The
functions at the top (``csum_add``, ``csum_fold``, ``csum_partial``,
``csum_replace2``/``4``/``by_diff``) are the kernel's ``net/checksum.h``
arithmetic, exposed for tests and other helpers.

``bpf_csum_diff`` follows Linux 6.18 (checked against it): sizes of any
length up to 512 bytes each, and the result folded to 16 bits, not
complemented (6.1 wanted multiples of 4 and, on x86-64, returned the 32-bit
partial sum). The replace helpers edit the checksum field of the run's
socket buffer at ``offset`` (even, within the packet, below 64 KiB) with the
kernel's flag rules (``BPF_F_HDR_FIELD_MASK`` size 0/2/4, ``BPF_F_PSEUDO_HDR``,
``BPF_F_MARK_MANGLED_0``, ``BPF_F_MARK_ENFORCE``, ``BPF_F_IPV6``). A test-run
packet has no checksum offload state (``CHECKSUM_NONE``), so the pseudo-header
flag changes nothing and ``bpf_csum_update`` answers ``-ENOTSUPP``. This
module does not validate whole packets' checksums.

>>> hex(csum_fold(0x12345678))
'0x9753'
"""

from __future__ import annotations

import errno
from collections.abc import Callable

from ebpy.helpers.env import Runtime
from ebpy.helpers.maps import neg
from ebpy.helpers.protos import Arg, Proto
from ebpy.helpers.registry import Helper
from ebpy.helpers.skb import skb_of
from ebpy.isa._intmath import M16, M32
from ebpy.progtypes._packet import ENOTSUPP
from ebpy.uapi import (
    BPF_CSUM_LEVEL_DEC,
    BPF_CSUM_LEVEL_INC,
    BPF_CSUM_LEVEL_QUERY,
    BPF_CSUM_LEVEL_RESET,
    BPF_F_HDR_FIELD_MASK,
    BPF_F_IPV6,
    BPF_F_MARK_ENFORCE,
    BPF_F_MARK_MANGLED_0,
    BPF_F_PSEUDO_HDR,
    HelperId,
)

CSUM_MANGLED_0 = 0xFFFF
MAX_DIFF = 512
"""Bytes ``bpf_csum_diff`` takes on each side (``MAX_BPF_STACK``)."""
SKB_MAX_CSUM_LEVEL = 3
CHECKSUM_NONE, CHECKSUM_UNNECESSARY, CHECKSUM_COMPLETE = 0, 1, 2


# -- ones'-complement arithmetic (net/checksum.h) -------------------------------------
def csum_add(a: int, b: int) -> int:
    """32-bit ones'-complement add with end-around carry."""
    s = (a & M32) + (b & M32)
    return (s & M32) + (s >> 32)


def csum_sub(a: int, b: int) -> int:
    return csum_add(a, ~b & M32)


def csum_fold(csum: int) -> int:
    """Fold a 32-bit sum to 16 bits and complement it (``__sum16``)."""
    s = (csum & M16) + ((csum >> 16) & M16)
    s = (s & M16) + (s >> 16)
    return ~s & M16


def csum_from32to16(csum: int) -> int:
    """Fold a 32-bit sum to 16 bits without complementing it."""
    return ~csum_fold(csum) & M16


def csum_partial(data: bytes, seed: int = 0) -> int:
    """The 32-bit sum of ``data`` (zero-padded to a multiple of 4) onto ``seed``."""
    if len(data) % 4:
        data = data + bytes(4 - len(data) % 4)
    total = seed & M32
    for i in range(0, len(data), 4):
        total = csum_add(total, int.from_bytes(data[i : i + 4], "little"))
    return total


def csum16_add(csum: int, addend: int) -> int:
    res = (csum & M16) + (addend & M16)
    return (res + (res >> 16)) & M16


def csum_replace2(field: int, old: int, new: int) -> int:
    """The checksum ``field`` after a 16-bit word changed from ``old`` to ``new``."""
    return ~csum16_add(csum16_add(~field & M16, ~old & M16), new) & M16


def csum_replace4(field: int, old: int, new: int) -> int:
    """The checksum ``field`` after a 32-bit word changed from ``old`` to ``new``."""
    tmp = csum_sub(~field & M32, old)  # ~csum_unfold(): the complement of the u32
    return csum_fold(csum_add(tmp, new))


def csum_replace_by_diff(field: int, diff: int) -> int:
    """The checksum ``field`` after adding a 32-bit partial sum ``diff``."""
    return csum_fold(csum_add(diff, ~field & M32))


# -- helpers ------------------------------------------------------------------------------
def _replace_target(
    env: Runtime, offset: int, flags: int, allowed: int
) -> tuple[bytearray, int, int] | int:
    """The socket buffer's data, the checksum offset and the checksum there, or -errno
    (EINVAL for ``flags`` outside ``allowed`` or no socket buffer, EFAULT for the offset)."""
    if flags & ~allowed:
        return neg(errno.EINVAL)
    skb = skb_of(env)
    if skb is None:
        return neg(errno.EINVAL)
    offset &= M32
    if offset > 0xFFFF or offset & 1 or offset + 2 > skb.length:
        return neg(errno.EFAULT)
    return skb.data, offset, int.from_bytes(skb.data[offset : offset + 2], "little")


def _replaced(
    field: int, frm: int, to: int, size: int, replace2: Callable[[int, int, int], int]
) -> int | None:
    """The checksum ``field`` after ``frm`` became ``to`` (``size`` bytes, 0: ``to`` is a
    partial sum), 16-bit changes through ``replace2``; None for a bad size (EINVAL)."""
    if size == 0:
        return None if frm else csum_replace_by_diff(field, to & M32)
    if size == 2:
        return replace2(field, frm & M16, to & M16)
    if size == 4:
        return csum_replace4(field, frm & M32, to & M32)
    return None


def _l3_csum_replace(env: Runtime, _ctx: int, offset: int, frm: int, to: int, flags: int) -> int:
    target = _replace_target(env, offset, flags, BPF_F_HDR_FIELD_MASK)
    if isinstance(target, int):
        return target
    data, off, field = target
    new = _replaced(field, frm, to, flags & BPF_F_HDR_FIELD_MASK, csum_replace2)
    if new is None:
        return neg(errno.EINVAL)
    data[off : off + 2] = new.to_bytes(2, "little")
    return 0


_L4_FLAGS = (
    BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE | BPF_F_PSEUDO_HDR | BPF_F_HDR_FIELD_MASK | BPF_F_IPV6
)


def _l4_csum_replace(env: Runtime, _ctx: int, offset: int, frm: int, to: int, flags: int) -> int:
    target = _replace_target(env, offset, flags, _L4_FLAGS)
    if isinstance(target, int):
        return target
    data, off, field = target
    mangled_0 = bool(flags & BPF_F_MARK_MANGLED_0)
    if mangled_0 and not flags & BPF_F_MARK_ENFORCE and field == 0:
        return 0  # a UDP datagram without a checksum keeps it
    # unlike l3, 16-bit changes go through csum_replace4 of the zero-extended values
    new = _replaced(field, frm, to, flags & BPF_F_HDR_FIELD_MASK, csum_replace4)
    if new is None:
        return neg(errno.EINVAL)
    if mangled_0 and new == 0:
        new = CSUM_MANGLED_0
    data[off : off + 2] = new.to_bytes(2, "little")
    return 0


def csum_diff(old: bytes, new: bytes, seed: int) -> int:
    """What ``bpf_csum_diff`` returns for bytes ``old`` replaced by ``new`` on ``seed``.

    Linux 6.18's formula: the 32-bit sum of ``new`` onto ``seed`` minus the sum of
    ``old``; only ``new``: its sum onto ``seed``; only ``old``: the sum taken away
    from ``seed``; then folded to 16 bits.
    """
    seed &= M32
    if old and new:
        total = csum_sub(csum_partial(new, seed), csum_partial(old))
    elif new:
        total = csum_partial(new, seed)
    elif old:
        total = ~csum_partial(old, ~seed & M32) & M32
    else:
        total = seed
    return csum_from32to16(total)


def _csum_diff(env: Runtime, frm: int, from_size: int, to: int, to_size: int, seed: int) -> int:
    from_size, to_size = from_size & M32, to_size & M32
    if from_size > MAX_DIFF or to_size > MAX_DIFF:
        return neg(errno.EINVAL)
    old = env.memory.read(frm, from_size) if from_size else b""
    new = env.memory.read(to, to_size) if to_size else b""
    return csum_diff(old, new, seed)


def _csum_update(env: Runtime, *_: int) -> int:
    skb = skb_of(env)
    if skb is None or skb.ip_summed != CHECKSUM_COMPLETE:
        return neg(ENOTSUPP)
    return 0  # never reached in a test run: there is no CHECKSUM_COMPLETE sum to update


def _csum_level(env: Runtime, _ctx: int, level: int, *_: int) -> int:
    skb = skb_of(env)
    if skb is None:
        return neg(errno.EINVAL)
    if level == BPF_CSUM_LEVEL_QUERY:
        if skb.ip_summed == CHECKSUM_UNNECESSARY:
            return skb.csum_level
        return neg(errno.EACCES)
    if level == BPF_CSUM_LEVEL_INC:
        if skb.ip_summed == CHECKSUM_UNNECESSARY:
            skb.csum_level = min(skb.csum_level + 1, SKB_MAX_CSUM_LEVEL)
        elif skb.ip_summed == CHECKSUM_NONE:
            skb.ip_summed, skb.csum_level = CHECKSUM_UNNECESSARY, 0
    elif level == BPF_CSUM_LEVEL_DEC:
        if skb.ip_summed == CHECKSUM_UNNECESSARY:
            if skb.csum_level == 0:
                skb.ip_summed = CHECKSUM_NONE
            else:
                skb.csum_level -= 1
    elif level == BPF_CSUM_LEVEL_RESET:
        if skb.ip_summed == CHECKSUM_UNNECESSARY:
            skb.ip_summed, skb.csum_level = CHECKSUM_NONE, 0
    else:
        return neg(errno.EINVAL)
    return 0


_CTX, _ANY = Arg.PTR_TO_CTX, Arg.ANYTHING
_REPLACE = Proto((_CTX, _ANY, _ANY, _ANY, _ANY), changes_pkt_data=True)

HELPERS = [
    Helper(HelperId.L3_CSUM_REPLACE, "l3_csum_replace", _l3_csum_replace, _REPLACE),
    Helper(HelperId.L4_CSUM_REPLACE, "l4_csum_replace", _l4_csum_replace, _REPLACE),
    Helper(
        HelperId.CSUM_DIFF,
        "csum_diff",
        _csum_diff,
        Proto(
            (
                Arg.PTR_TO_MEM_OR_NULL,
                Arg.CONST_SIZE_OR_ZERO,
                Arg.PTR_TO_MEM_OR_NULL,
                Arg.CONST_SIZE_OR_ZERO,
                _ANY,
            ),
            pkt_access=True,
        ),
    ),
    Helper(HelperId.CSUM_UPDATE, "csum_update", _csum_update, Proto((_CTX, _ANY))),
    Helper(HelperId.CSUM_LEVEL, "csum_level", _csum_level, Proto((_CTX, _ANY))),
]
"""The checksum helpers, in id order."""
