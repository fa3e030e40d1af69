"""Socket-buffer helpers: load and store bytes, change protocol/type/room/tail/head,
pull data, push and pop VLAN tags, and the flow hash.

Each works on the run's ``SkbState`` (``env.state``), the socket buffer the
program type built, with the kernel's semantics and errno values (``net/core/
filter.c`` and ``skbuff.c``): offsets are relative to ``skb->data``; a load that
fails zeroes its buffer and returns ``-EFAULT``; helpers that move or resize the
packet keep the MAC and network header offsets, ``len`` and the ``data``/
``data_end`` pointers of the context up to date. ``-ENOTSUPP`` is the kernel's
internal 524. Called from an XDP program (no socket buffer) they return
``-EINVAL``; ``bpf_skb_load_bytes`` from a flow dissector under test run fails
with ``-EFAULT`` as in the kernel, which has no skb there.

Not reproduced: ``bpf_get_hash_recalc`` computes a fixed hash of the flow
(addresses, ports, protocol) where the kernel mixes in a per-boot random seed,
and checksum offload state changes only as far as ``bpf_csum_level`` can see it.
``bpf_skb_adjust_room`` takes the ``DECAP_L3`` flags of later kernels too.
Checksums are in ``ebpy.helpers.csum``; XDP in ``ebpy.helpers.xdp``.
"""

from __future__ import annotations

import errno
import zlib

from ebpy.helpers.env import Runtime
from ebpy.helpers.maps import neg
from ebpy.helpers.protos import Arg, Proto, Ret
from ebpy.helpers.registry import Helper
from ebpy.isa._intmath import M16, M32, s32
from ebpy.progtypes._packet import (
    ENOTSUPP,
    ETH_ALEN,
    ETH_HLEN,
    ETH_P_802_2,
    ETH_P_802_3,
    ETH_P_802_3_MIN,
    ETH_P_8021AD,
    ETH_P_8021Q,
    ETH_P_IP,
    ETH_P_IPV6,
    SKB_MAX_ALLOC,
    VLAN_HLEN,
    htons,
)
from ebpy.progtypes._skb import SkbState
from ebpy.progtypes.flow_dissector import FlowState
from ebpy.uapi import (
    BPF_ADJ_ROOM_MAC,
    BPF_ADJ_ROOM_NET,
    BPF_F_ADJ_ROOM_ENCAP_L2_ETH,
    BPF_F_ADJ_ROOM_ENCAP_L3_IPV4,
    BPF_F_ADJ_ROOM_ENCAP_L3_IPV6,
    BPF_F_ADJ_ROOM_ENCAP_L4_GRE,
    BPF_F_ADJ_ROOM_ENCAP_L4_UDP,
    BPF_F_ADJ_ROOM_FIXED_GSO,
    BPF_F_ADJ_ROOM_NO_CSUM_RESET,
    BPF_F_INVALIDATE_HASH,
    BPF_F_RECOMPUTE_CSUM,
    BPF_HDR_START_MAC,
    BPF_HDR_START_NET,
    HelperId,
)

INT_MAX = (1 << 31) - 1
ENCAP_L3 = BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L3_IPV6
DECAP_L3_IPV4 = 1 << 7
DECAP_L3_IPV6 = 1 << 8
"""``BPF_F_ADJ_ROOM_DECAP_L3_IPV4``/``IPV6`` (Linux 6.6, newer than the uapi header here)."""
DECAP_L3 = DECAP_L3_IPV4 | DECAP_L3_IPV6
ADJ_ROOM_FLAGS = (
    BPF_F_ADJ_ROOM_FIXED_GSO
    | ENCAP_L3
    | BPF_F_ADJ_ROOM_ENCAP_L4_GRE
    | BPF_F_ADJ_ROOM_ENCAP_L4_UDP
    | BPF_F_ADJ_ROOM_ENCAP_L2_ETH
    | (0xFF << 56)
    | BPF_F_ADJ_ROOM_NO_CSUM_RESET
    | DECAP_L3
)
"""``BPF_F_ADJ_ROOM_MASK`` (with the inner L2 length in bits 56-63), NO_CSUM_RESET, DECAP."""
CHECKSUM_NONE, CHECKSUM_UNNECESSARY, CHECKSUM_PARTIAL = 0, 1, 3


def skb_of(env: Runtime) -> SkbState | None:
    """The run's socket buffer, or None when the program does not run on one."""
    state = env.state
    return state if isinstance(state, SkbState) else None


def _is_gso(skb: SkbState) -> bool:
    return skb.field("gso_size") != 0


def _is_vlan(proto: int) -> bool:
    return proto in (ETH_P_8021Q, ETH_P_8021AD)


# -- loads and stores -------------------------------------------------------------
def _load_bytes(env: Runtime, _ctx: int, offset: int, to: int, length: int, *_: int) -> int:
    skb = skb_of(env)
    offset, length = offset & M32, length & M32
    if isinstance(env.state, FlowState) or skb is None:
        env.memory.write(to, bytes(length))
        return neg(errno.EFAULT if isinstance(env.state, FlowState) else errno.EINVAL)
    if offset > INT_MAX or offset + length > skb.length:
        env.memory.write(to, bytes(length))
        return neg(errno.EFAULT)
    env.memory.write(to, bytes(skb.data[offset : offset + length]))
    return 0


def _load_bytes_relative(
    env: Runtime, _ctx: int, offset: int, to: int, length: int, start_header: int
) -> int:
    skb = skb_of(env)
    offset, length = offset & M32, length & M32
    starts = {BPF_HDR_START_MAC: "mac", BPF_HDR_START_NET: "net"}
    which = starts.get(start_header & M32)
    if skb is None or offset > 0xFFFF or which is None:
        env.memory.write(to, bytes(length))
        return neg(errno.EFAULT)
    frame = skb.frame()
    at = len(skb.head) + (skb.mac if which == "mac" else skb.net) + offset
    if at + length > len(frame):
        env.memory.write(to, bytes(length))
        return neg(errno.EFAULT)
    env.memory.write(to, frame[at : at + length])
    return 0


def _store_bytes(env: Runtime, _ctx: int, offset: int, frm: int, length: int, flags: int) -> int:
    skb = skb_of(env)
    if skb is None or flags & ~(BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH):
        return neg(errno.EINVAL)
    offset, length = offset & M32, length & M32
    if offset > INT_MAX or offset + length > skb.length:
        return neg(errno.EFAULT)
    skb.data[offset : offset + length] = env.memory.read(frm, length)
    if flags & BPF_F_INVALIDATE_HASH:
        skb.clear_hash()
    return 0


def _pull_data(env: Runtime, _ctx: int, length: int, *_: int) -> int:
    skb = skb_of(env)
    if skb is None:
        return neg(errno.EINVAL)
    # the buffer is always linear: only a pull past the end fails
    return neg(errno.ENOMEM) if length & M32 > skb.length else 0


# -- protocol and type --------------------------------------------------------------
def _change_proto(env: Runtime, _ctx: int, proto: int, flags: int, *_: int) -> int:
    skb = skb_of(env)
    if skb is None or flags:
        return neg(errno.EINVAL)
    to = htons(proto & M16)  # a __be16 in host order
    off = skb.net - skb.mac
    if skb.protocol == ETH_P_IP and to == ETH_P_IPV6:
        skb.insert(off, 20)
        skb.protocol = ETH_P_IPV6
    elif skb.protocol == ETH_P_IPV6 and to == ETH_P_IP:
        if off + 20 > skb.length:
            return neg(errno.ENOMEM)
        skb.remove(off, 20)
        skb.protocol = ETH_P_IP
    else:
        return neg(ENOTSUPP)
    skb.clear_hash()
    return 0


def _change_type(env: Runtime, _ctx: int, pkt_type: int, *_: int) -> int:
    skb = skb_of(env)
    pkt_type &= M32
    if skb is None or skb.field("pkt_type") > 3 or pkt_type > 3:  # up to PACKET_OTHERHOST
        return neg(errno.EINVAL)
    skb.put("pkt_type", pkt_type)
    return 0


# -- room, tail and head --------------------------------------------------------------
def _net_base_len(skb: SkbState) -> int:
    return {ETH_P_IP: 20, ETH_P_IPV6: 40}.get(skb.protocol, 0)


def _adjust_room(env: Runtime, _ctx: int, len_diff: int, mode: int, flags: int, *_: int) -> int:
    skb = skb_of(env)
    if skb is None or flags & ~ADJ_ROOM_FLAGS:
        return neg(errno.EINVAL)
    diff = s32(len_diff)
    if abs(diff) > 0xFFF:
        return neg(errno.EFAULT)
    if skb.protocol not in (ETH_P_IP, ETH_P_IPV6):
        return neg(ENOTSUPP)
    off = skb.net - skb.mac
    if mode & M32 == BPF_ADJ_ROOM_NET:
        off += _net_base_len(skb)
    elif mode & M32 != BPF_ADJ_ROOM_MAC:
        return neg(ENOTSUPP)
    len_min = _net_base_len(skb)
    if flags & DECAP_L3:
        if diff >= 0 or flags & DECAP_L3 == DECAP_L3:
            return neg(errno.EINVAL)
        len_min = 20 if flags & DECAP_L3_IPV4 else 40
    len_cur = skb.length - skb.net
    if diff < 0 and (-diff >= len_cur or len_cur + diff < len_min):
        return neg(ENOTSUPP)
    if diff >= 0 and skb.length + diff > SKB_MAX_ALLOC and not _is_gso(skb):
        return neg(ENOTSUPP)
    ret = _net_shrink(skb, off, -diff, flags) if diff < 0 else _net_grow(skb, off, diff, flags)
    if ret == 0 and not flags & BPF_F_ADJ_ROOM_NO_CSUM_RESET:
        _csum_reset(skb)
    return ret


def _net_grow(skb: SkbState, off: int, diff: int, flags: int) -> int:
    inner_mac_len = (flags >> 56) & 0xFF
    encap = bool(flags & ENCAP_L3)
    if _is_gso(skb):  # gso_type is never TCP here: only fixed UDP GSO may grow
        return neg(ENOTSUPP)
    if encap:
        if flags & ENCAP_L3 == ENCAP_L3:
            return neg(errno.EINVAL)
        gre_udp = BPF_F_ADJ_ROOM_ENCAP_L4_GRE | BPF_F_ADJ_ROOM_ENCAP_L4_UDP
        if flags & gre_udp == gre_udp:
            return neg(errno.EINVAL)
        if flags & BPF_F_ADJ_ROOM_ENCAP_L2_ETH and inner_mac_len < ETH_HLEN:
            return neg(errno.EINVAL)
        if skb.encapsulation:
            return neg(errno.EALREADY)
        if inner_mac_len > diff:
            return neg(errno.EINVAL)
    skb.insert(off, diff)
    if encap:
        skb.encapsulation = True
        if skb.protocol == ETH_P_IP and flags & BPF_F_ADJ_ROOM_ENCAP_L3_IPV6:
            skb.protocol = ETH_P_IPV6
        elif skb.protocol == ETH_P_IPV6 and flags & BPF_F_ADJ_ROOM_ENCAP_L3_IPV4:
            skb.protocol = ETH_P_IP
    return 0


def _net_shrink(skb: SkbState, off: int, diff: int, flags: int) -> int:
    if flags & ~(BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_NO_CSUM_RESET | DECAP_L3):
        return neg(errno.EINVAL)
    if _is_gso(skb):
        return neg(ENOTSUPP)
    if off + diff > skb.length:
        return neg(errno.ENOMEM)
    skb.remove(off, diff)
    if skb.protocol == ETH_P_IP and flags & DECAP_L3_IPV6:
        skb.protocol = ETH_P_IPV6
    elif skb.protocol == ETH_P_IPV6 and flags & DECAP_L3_IPV4:
        skb.protocol = ETH_P_IP
    return 0


def _csum_reset(skb: SkbState) -> None:
    if skb.ip_summed == CHECKSUM_UNNECESSARY:
        skb.ip_summed, skb.csum_level = CHECKSUM_NONE, 0


def _min_len(skb: SkbState) -> int:
    # no transport header is set in a test run, and nothing is CHECKSUM_PARTIAL
    return skb.net


def _change_tail(env: Runtime, _ctx: int, new_len: int, flags: int, *_: int) -> int:
    skb = skb_of(env)
    new_len &= M32
    if skb is None or flags or new_len > SKB_MAX_ALLOC or new_len < _min_len(skb):
        return neg(errno.EINVAL)
    if skb.encapsulation:
        return neg(ENOTSUPP)
    if new_len > skb.length:
        skb.data.extend(bytes(new_len - skb.length))
    else:
        del skb.data[new_len:]
    if _is_gso(skb):
        skb.put("gso_size", 0)
        skb.put("gso_segs", 0)
        skb.gso_type = 0
    skb.sync()
    return 0


def _change_head(env: Runtime, _ctx: int, head_room: int, flags: int, *_: int) -> int:
    skb = skb_of(env)
    head_room &= M32
    if skb is None or flags:
        return neg(errno.EINVAL)
    new_len = skb.length + head_room
    if (not _is_gso(skb) and new_len > SKB_MAX_ALLOC) or new_len > M32:
        return neg(errno.EINVAL)
    skb.push(head_room)
    skb.mac = 0
    return 0


# -- VLAN -------------------------------------------------------------------------------
def _vlan_push(env: Runtime, _ctx: int, vlan_proto: int, vlan_tci: int, *_: int) -> int:
    skb = skb_of(env)
    if skb is None:
        return neg(errno.EINVAL)
    proto_be = vlan_proto & M16
    if proto_be not in (htons(ETH_P_8021Q), htons(ETH_P_8021AD)):
        proto_be = htons(ETH_P_8021Q)
    if skb.vlan_present:
        if skb.mac != 0:
            return neg(errno.EINVAL)
        old_be, old_tci = skb.field("vlan_proto"), skb.field("vlan_tci")
        tag = old_be.to_bytes(2, "little") + old_tci.to_bytes(2, "big")
        skb.data[2 * ETH_ALEN : 2 * ETH_ALEN] = tag
        skb.net += VLAN_HLEN
        skb.protocol = htons(old_be)
        skb.sync()
    skb.set_vlan(proto_be, vlan_tci & M16)
    return 0


def _vlan_pop_data(skb: SkbState) -> tuple[int, int]:
    """``__skb_vlan_pop``: take the tag out of the packet; (0 or -errno, tci)."""
    if skb.mac != 0:
        return neg(errno.EINVAL), 0
    if skb.length < ETH_HLEN + VLAN_HLEN:
        return neg(errno.ENOMEM), 0
    data = skb.data
    tci = int.from_bytes(data[14:16], "big")
    inner = int.from_bytes(data[16:18], "big")
    if inner >= ETH_P_802_3_MIN:
        skb.protocol = inner
    else:
        skb.protocol = ETH_P_802_3 if data[18:20] == b"\xff\xff" else ETH_P_802_2
    del data[2 * ETH_ALEN : 2 * ETH_ALEN + VLAN_HLEN]
    skb.net = max(skb.net - VLAN_HLEN, ETH_HLEN)
    skb.sync()
    return 0, tci


def _vlan_pop(env: Runtime, *_: int) -> int:
    skb = skb_of(env)
    if skb is None:
        return neg(errno.EINVAL)
    if skb.vlan_present:
        skb.set_vlan(None)
    else:
        if not _is_vlan(skb.protocol):
            return 0
        err, _tci = _vlan_pop_data(skb)
        if err:
            return err
    if not _is_vlan(skb.protocol):
        return 0
    proto_be = htons(skb.protocol)
    err, tci = _vlan_pop_data(skb)
    if err:
        return err
    skb.set_vlan(proto_be, tci)
    return 0


# -- hash ----------------------------------------------------------------------------------
def flow_hash(skb: SkbState) -> tuple[int, bool]:
    """A fixed, non-zero hash of the packet's flow, and whether ports went into it."""
    l3 = skb.frame()[len(skb.head) + skb.net :]
    proto = skb.protocol
    if proto == ETH_P_IP and len(l3) >= 20:
        ihl, ipproto, addrs = (l3[0] & 15) * 4, l3[9], l3[12:20]
    elif proto == ETH_P_IPV6 and len(l3) >= 40:
        ihl, ipproto, addrs = 40, l3[6], l3[8:40]
    else:
        return 0, False
    ports = l3[ihl : ihl + 4] if ipproto in (6, 17, 132) and len(l3) >= ihl + 4 else b""
    value = zlib.crc32(bytes([ipproto]) + addrs + ports) or 1
    return value, bool(ports)


def _get_hash_recalc(env: Runtime, *_: int) -> int:
    skb = skb_of(env)
    if skb is None:
        return 0
    if not skb.l4_hash and not skb.sw_hash:
        value, l4 = flow_hash(skb)
        skb.set_hash(value, sw=False, l4=l4)
    return skb.field("hash")


def _set_hash(env: Runtime, _ctx: int, value: int, *_: int) -> int:
    skb = skb_of(env)
    if skb is not None:
        skb.set_hash(value & M32, sw=True, l4=True)
    return 0


def _set_hash_invalid(env: Runtime, *_: int) -> int:
    skb = skb_of(env)
    if skb is not None:
        skb.clear_hash()
    return 0


_CTX = Arg.PTR_TO_CTX
_ANY = Arg.ANYTHING


def _changes(*args: Arg) -> Proto:
    return Proto(args, changes_pkt_data=True)


_H = HelperId
HELPERS = [
    Helper(
        _H.SKB_STORE_BYTES,
        "skb_store_bytes",
        _store_bytes,
        _changes(_CTX, _ANY, Arg.PTR_TO_MEM, Arg.CONST_SIZE, _ANY),
    ),
    Helper(_H.SKB_VLAN_PUSH, "skb_vlan_push", _vlan_push, _changes(_CTX, _ANY, _ANY)),
    Helper(_H.SKB_VLAN_POP, "skb_vlan_pop", _vlan_pop, _changes(_CTX)),
    Helper(
        _H.SKB_LOAD_BYTES,
        "skb_load_bytes",
        _load_bytes,
        Proto((_CTX, _ANY, Arg.PTR_TO_UNINIT_MEM, Arg.CONST_SIZE)),
    ),
    Helper(_H.SKB_CHANGE_PROTO, "skb_change_proto", _change_proto, _changes(_CTX, _ANY, _ANY)),
    Helper(_H.SKB_CHANGE_TYPE, "skb_change_type", _change_type, Proto((_CTX, _ANY))),
    Helper(_H.GET_HASH_RECALC, "get_hash_recalc", _get_hash_recalc, Proto((_CTX,))),
    Helper(_H.SKB_CHANGE_TAIL, "skb_change_tail", _change_tail, _changes(_CTX, _ANY, _ANY)),
    Helper(_H.SKB_PULL_DATA, "skb_pull_data", _pull_data, _changes(_CTX, _ANY)),
    Helper(_H.SET_HASH_INVALID, "set_hash_invalid", _set_hash_invalid, Proto((_CTX,), Ret.VOID)),
    Helper(_H.SKB_CHANGE_HEAD, "skb_change_head", _change_head, _changes(_CTX, _ANY, _ANY)),
    Helper(_H.SET_HASH, "set_hash", _set_hash, Proto((_CTX, _ANY))),
    Helper(_H.SKB_ADJUST_ROOM, "skb_adjust_room", _adjust_room, _changes(_CTX, _ANY, _ANY, _ANY)),
    Helper(
        _H.SKB_LOAD_BYTES_RELATIVE,
        "skb_load_bytes_relative",
        _load_bytes_relative,
        Proto((_CTX, _ANY, Arg.PTR_TO_UNINIT_MEM, Arg.CONST_SIZE, _ANY)),
    ),
]
"""The socket-buffer helpers, in id order."""
