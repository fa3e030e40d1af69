"""``struct __sk_buff``: its layout, the kernel's access rules, and the skb test run.

Every skb program type (``socket_filter``, ``sched_cls``, ``sched_act``,
``cgroup_skb``) sees the same 192-byte ``struct __sk_buff`` (offsets from
``linux/bpf.h``) but may touch different parts of it: ``SkbRules`` says which
fields a type may not touch at all and which it may write, and ``check_access``
applies the rules the kernel's ``bpf_skb_is_valid_access`` shares among them
(``cb[]`` at any size, narrow reads elsewhere, whole 4-byte writes, 8-byte
``tstamp``/``hwtstamp``/``sk``, ``data``/``data_end``/``data_meta`` as whole
32-bit loads, the padding never). Fields the kernel keeps as 16-bit values
(``tc_index``, ``tc_classid``, ``queue_mapping``) are stored as 16-bit values,
as the kernel's rewrite stores them.

``SkbState`` is one run's socket buffer: the linear data (a ``PACKET`` region,
from ``skb->data`` to the tail, resized in place so that ``ld_abs_packet`` and
the region stay the same object), the MAC and network header offsets, and the
live ``__sk_buff`` the program reads (``len``, ``protocol``, VLAN tag, hash ...),
which the packet helpers keep up to date through ``sync``.

``SkbProgType.prepare``/``finish`` follow ``bpf_prog_test_run_skb`` as the
running kernel (Linux 6.18 here) does it: 14 to 3712 bytes of ``data_in``;
``eth_type_trans`` on the loopback device gives ``protocol`` and ``pkt_type``;
an IPv4 (IPv6) packet needs 20 (40) bytes of header or ``EINVAL`` (Linux 6.1
did not check); L2 types (tc) see the MAC header, the others start at the
network header and get the 14-byte header back zeroed in ``data_out``;
``ctx_in`` may set only mark, priority, ingress_ifindex, ifindex, cb, tstamp,
wire_len, gso_segs, gso_size and hwtstamp, and ``ctx_out`` gives back what the
kernel copies. Differences: ``sk`` reads as NULL (no ``struct bpf_sock``), an
``ifindex`` above 1 is taken as a device like loopback (the kernel checks it
exists: ``ENODEV``), and a write of ``queue_mapping`` >= 0xFFFF is stored where
the kernel ignores it. This module is not a program type itself and does not
implement helpers (``ebpy.helpers.skb``).
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from ebpy.errors import ContextAccessError, TestRunError
from ebpy.memory import AddressSpace, Region, RegionKind
from ebpy.progtypes._packet import (
    AF_INET,
    AF_INET6,
    ETH_HLEN,
    ETH_P_IP,
    ETH_P_IPV6,
    NET_SKB_PAD,
    PAGE_SIZE,
    SHINFO_SIZE,
    PacketState,
    context_in,
    eth_protocol,
    htons,
    pkt_type_of,
)
from ebpy.progtypes.base import CtxField, ProgTypeInfo, RunState, TestRunOutput

SKB_SIZE = 192
"""``sizeof(struct __sk_buff)``."""
MAX_DATA = PAGE_SIZE - NET_SKB_PAD - SHINFO_SIZE
"""Longest ``data_in`` an skb test run takes (3712)."""
SKF_NET_OFF = -0x100000
SKF_LL_OFF = -0x200000
GSO_MAX_SEGS = 65535
GSO_LEGACY_MAX_SIZE = 65536

LAYOUT: tuple[tuple[str, int, int], ...] = (
    ("len", 0, 4),
    ("pkt_type", 4, 4),
    ("mark", 8, 4),
    ("queue_mapping", 12, 4),
    ("protocol", 16, 4),
    ("vlan_present", 20, 4),
    ("vlan_tci", 24, 4),
    ("vlan_proto", 28, 4),
    ("priority", 32, 4),
    ("ingress_ifindex", 36, 4),
    ("ifindex", 40, 4),
    ("tc_index", 44, 4),
    ("cb", 48, 20),
    ("hash", 68, 4),
    ("tc_classid", 72, 4),
    ("data", 76, 4),
    ("data_end", 80, 4),
    ("napi_id", 84, 4),
    ("family", 88, 4),
    ("remote_ip4", 92, 4),
    ("local_ip4", 96, 4),
    ("remote_ip6", 100, 16),
    ("local_ip6", 116, 16),
    ("remote_port", 132, 4),
    ("local_port", 136, 4),
    ("data_meta", 140, 4),
    ("flow_keys", 144, 8),
    ("tstamp", 152, 8),
    ("wire_len", 160, 4),
    ("gso_segs", 164, 4),
    ("sk", 168, 8),
    ("gso_size", 176, 4),
    ("tstamp_type", 180, 1),
    ("hwtstamp", 184, 8),
)
"""(name, offset, size) of every field; bytes 181-183 are padding."""

OFFSET = {name: off for name, off, _ in LAYOUT}
SIZE = {name: size for name, _, size in LAYOUT}
POINTERS = ("data", "data_end", "data_meta", "flow_keys", "sk")
SOCK_FIELDS = frozenset(
    {"family", "remote_ip4", "local_ip4", "remote_ip6", "local_ip6", "remote_port", "local_port"}
)
"""Fields read from ``skb->sk`` (cgroup_skb only among these types)."""
_WHOLE_U32 = frozenset({"remote_ip4", "local_ip4", "remote_ip6", "local_ip6"}) | frozenset(
    {"data", "data_end", "data_meta"}
)
_U16_STORE = frozenset({"tc_index", "tc_classid", "queue_mapping"})
"""Writable fields the kernel keeps as 16 bits: a 32-bit store keeps the low half."""
CTX_IN_FIELDS = (
    "mark",
    "priority",
    "ingress_ifindex",
    "ifindex",
    "cb",
    "tstamp",
    "wire_len",
    "gso_segs",
    "gso_size",
    "hwtstamp",
)
"""The ``__sk_buff`` fields ``ctx_in`` may set; every other byte must be zero."""
CTX_OUT_FIELDS = (
    "mark",
    "priority",
    "ingress_ifindex",
    "ifindex",
    "tstamp",
    "cb",
    "wire_len",
    "gso_segs",
    "hwtstamp",
)
"""The fields the kernel copies back into ``ctx_out``."""

_BY_OFFSET = [next((f for f in LAYOUT if f[1] <= o < f[1] + f[2]), None) for o in range(SKB_SIZE)]


@dataclass(frozen=True)
class SkbRules:
    """What one program type may do with ``struct __sk_buff``.

    ``denied``: fields it may not touch; ``writable``: fields it may store to;
    ``tstamp_type``: it may read the 1-byte ``tstamp_type`` (tc).
    """

    denied: frozenset[str]
    writable: frozenset[str]
    tstamp_type: bool = False


def check_access(rules: SkbRules, off: int, size: int, write: bool) -> str | None:
    """Why the kernel refuses this ``__sk_buff`` access, or None when it allows it."""
    if off < 0 or off >= SKB_SIZE or size not in (1, 2, 4, 8):
        return "outside the context"
    entry = _BY_OFFSET[off]
    if entry is None:
        return "padding"
    name, start, fsize = entry
    if name in rules.denied or name == "flow_keys":
        return f"{name} is not accessible to this program type"
    if write and name not in rules.writable:
        return f"{name} is read-only"
    if name == "tstamp_type":
        return None if rules.tstamp_type and size == 1 and not write else "tstamp_type: u8 reads"
    if off % size:
        return "misaligned access"
    if name == "cb":
        return None if off + size <= start + fsize else "past the end of cb[]"
    if name in _WHOLE_U32:
        return None if size == 4 else f"{name} must be accessed as 4 bytes"
    if name in ("tstamp", "hwtstamp", "sk"):
        return None if size == 8 and off == start else f"{name} must be accessed as 8 bytes"
    if write:
        return None if size == 4 else f"{name} must be written as 4 bytes"
    return None if size <= 4 else f"{name} is a 4-byte field"


def skb_fields(rules: SkbRules) -> tuple[CtxField, ...]:
    """The ``CtxField``s of ``__sk_buff`` as ``rules`` let a type use them."""
    out = []
    for name, off, size in LAYOUT:
        whole = size if size <= 8 else 4
        readable = check_access(rules, off, whole, False) is None
        writable = check_access(rules, off, whole, True) is None
        out.append(
            CtxField(name, off, size, readable, writable, name not in POINTERS, name in POINTERS)
        )
    return tuple(out)


@dataclass(kw_only=True)
class SkbState(PacketState):
    """One run's socket buffer. Header offsets are relative to ``skb->data``."""

    region: Region
    """The linear data, ``skb->data`` to the tail (a ``PACKET`` region)."""
    head: bytes = b""
    """Bytes in front of ``skb->data`` a program can still read through
    ``bpf_skb_load_bytes_relative`` (the MAC header of an L3 type)."""
    mac: int = 0
    net: int = ETH_HLEN
    vlan_present: bool = False
    sw_hash: bool = False
    l4_hash: bool = False
    ip_summed: int = 0
    """``CHECKSUM_NONE`` (0), ``UNNECESSARY`` (1), ``COMPLETE`` (2), ``PARTIAL`` (3)."""
    csum_level: int = 0
    encapsulation: bool = False
    gso_type: int = 0
    l2: bool = True

    @property
    def data(self) -> bytearray:
        """The linear packet bytes (resize in place, then ``sync``)."""
        return self.region.buf

    @property
    def ld_abs_packet(self) -> bytearray:
        """What LD_ABS/LD_IND read: the data from ``skb->data``."""
        return self.region.buf

    @property
    def length(self) -> int:
        return len(self.region.buf)

    def ld_abs_bytes(self, offset: int, size: int) -> bytes | None:
        """The ``size`` bytes a legacy LD_ABS/LD_IND at ``offset`` reads, or None
        (the program then ends returning 0).

        Offsets from ``SKF_NET_OFF`` (-0x100000) count from the network header,
        from ``SKF_LL_OFF`` (-0x200000) from the MAC header; others from ``skb->data``.
        """
        if offset >= 0:
            start = len(self.head) + offset
        elif offset >= SKF_NET_OFF:
            start = len(self.head) + self.net + offset - SKF_NET_OFF
        elif offset >= SKF_LL_OFF:
            start = len(self.head) + self.mac + offset - SKF_LL_OFF
        else:
            return None
        frame = self.frame()
        if start < 0 or start + size > len(frame):
            return None
        return frame[start : start + size]

    def field(self, name: str) -> int:
        off = OFFSET[name]
        fmt = "<Q" if name in ("tstamp", "hwtstamp") else "<I"
        value: int = struct.unpack_from(fmt, self.ctx, off)[0]
        return value

    def put(self, name: str, value: int) -> None:
        off = OFFSET[name]
        if name in ("tstamp", "hwtstamp"):
            struct.pack_into("<Q", self.ctx, off, value & (1 << 64) - 1)
        else:
            struct.pack_into("<I", self.ctx, off, value & 0xFFFFFFFF)

    @property
    def protocol(self) -> int:
        """``skb->protocol`` in host order (0x0800 for IPv4)."""
        return htons(self.field("protocol"))

    @protocol.setter
    def protocol(self, value: int) -> None:
        self.put("protocol", htons(value))

    def set_vlan(self, proto_be: int | None, tci: int = 0) -> None:
        """Set (``proto_be`` as a raw ``__be16``) or clear the offloaded VLAN tag."""
        self.vlan_present = proto_be is not None
        self.put("vlan_present", int(self.vlan_present))
        self.put("vlan_proto", proto_be or 0)
        self.put("vlan_tci", tci if proto_be is not None else 0)

    def set_hash(self, value: int, *, sw: bool, l4: bool) -> None:
        self.put("hash", value)
        self.sw_hash, self.l4_hash = sw, l4

    def clear_hash(self) -> None:
        self.set_hash(0, sw=False, l4=False)

    def frame(self) -> bytes:
        """``head`` and data together (a view from the MAC header of an L3 type)."""
        return self.head + bytes(self.region.buf)

    def sync(self) -> None:
        """Refresh ``len`` and the packet pointers after the data moved or resized."""
        base = self.region.base
        self.put("len", len(self.region.buf))
        self.set_pointer("data", base)
        self.set_pointer("data_meta", base)
        self.set_pointer("data_end", base + len(self.region.buf))

    def insert(self, at: int, count: int) -> None:
        """Insert ``count`` zero bytes at data offset ``at`` (headers keep their offsets)."""
        self.region.buf[at:at] = bytes(count)
        self.sync()

    def remove(self, at: int, count: int) -> None:
        """Remove ``count`` bytes at data offset ``at`` (headers keep their offsets)."""
        del self.region.buf[at : at + count]
        self.sync()

    def push(self, count: int) -> None:
        """``skb_push``: ``count`` zero bytes in front; the headers stay where they were."""
        self.region.buf[0:0] = bytes(count)
        self.mac += count
        self.net += count
        self.sync()

    def pull(self, count: int) -> None:
        """``skb_pull``: drop ``count`` bytes in front; the headers stay where they were."""
        del self.region.buf[0:count]
        self.mac -= count
        self.net -= count
        self.sync()


class SkbProgType(ProgTypeInfo):
    """Base of the skb program types: ``__sk_buff`` access and the skb test run."""

    ctx_size: ClassVar[int] = SKB_SIZE
    has_packet: ClassVar[bool] = True
    rules: ClassVar[SkbRules]
    l2: ClassVar[bool] = False
    """The program sees the MAC header (tc); else ``skb->data`` is the network header."""
    verdicts: ClassVar[Mapping[int, str]] = {}

    # -- context access -------------------------------------------------------
    def access(self, offset: int, size: int, write: bool, pc: int | None = None) -> tuple[int, int]:
        reason = check_access(self.rules, offset, size, write)
        if reason is not None:
            raise ContextAccessError(self.name, offset, size, write, pc, reason)
        entry = _BY_OFFSET[offset]
        assert entry is not None
        name = entry[0]
        if name in POINTERS:
            return self.shadow_offset(name), 8
        if write and name in _U16_STORE:
            return offset, 2
        return offset, size

    # -- test run -------------------------------------------------------------
    def prepare(
        self, memory: AddressSpace, data_in: bytes | None, ctx_in: bytes | None
    ) -> SkbState:
        data = bytes(data_in or b"")
        if not ETH_HLEN <= len(data) <= MAX_DATA:
            raise TestRunError(errno.EINVAL, f"data_in must be {ETH_HLEN} to {MAX_DATA} bytes")
        ctx = context_in(ctx_in, SKB_SIZE)
        proto = eth_protocol(data)
        need = {ETH_P_IP: 20, ETH_P_IPV6: 40}.get(proto, 0)
        if len(data) - ETH_HLEN < need:
            raise TestRunError(errno.EINVAL, "truncated IP header")
        if ctx is not None:
            _check_ctx(ctx)
        buf = bytearray(self.vm_ctx_size)
        state = SkbState(
            self,
            memory,
            memory.map(RegionKind.CONTEXT, buf, share=True, name="ctx"),
            ctx_in=ctx,
            region=memory.map(
                RegionKind.PACKET,
                bytearray(data if self.l2 else data[ETH_HLEN:]),
                share=True,
                name="packet",
            ),
            head=b"" if self.l2 else data[:ETH_HLEN],
            mac=0 if self.l2 else -ETH_HLEN,
            net=ETH_HLEN if self.l2 else 0,
            l2=self.l2,
        )
        state.sync()
        state.put("pkt_type", pkt_type_of(data[:6]))
        state.protocol = proto
        state.put("ifindex", 1)
        self._fill_sock(state, proto, data[ETH_HLEN:])
        if ctx is not None:
            self._apply_ctx(state, ctx)
        return state

    @staticmethod
    def _fill_sock(state: SkbState, proto: int, l3: bytes) -> None:
        """The socket the test run attaches: family and addresses from the IP header."""
        if proto == ETH_P_IP:
            state.put("family", AF_INET)
            state.ctx[OFFSET["local_ip4"] : OFFSET["local_ip4"] + 4] = l3[12:16]
            state.ctx[OFFSET["remote_ip4"] : OFFSET["remote_ip4"] + 4] = l3[16:20]
        elif proto == ETH_P_IPV6:
            state.put("family", AF_INET6)
            state.ctx[OFFSET["local_ip6"] : OFFSET["local_ip6"] + 16] = l3[8:24]
            state.ctx[OFFSET["remote_ip6"] : OFFSET["remote_ip6"] + 16] = l3[24:40]

    @staticmethod
    def _apply_ctx(state: SkbState, ctx: bytes) -> None:
        """``convert___skb_to_skb``: the allowed fields of ``ctx_in`` into the skb."""

        def get(name: str) -> int:
            fmt = "<Q" if name in ("tstamp", "hwtstamp") else "<I"
            value: int = struct.unpack_from(fmt, ctx, OFFSET[name])[0]
            return value

        for name in ("mark", "priority", "ingress_ifindex", "tstamp", "gso_size", "hwtstamp"):
            state.put(name, get(name))
        if get("ifindex") > 1:
            state.put("ifindex", get("ifindex"))
        state.ctx[48:68] = ctx[48:68]
        wire_len = get("wire_len")
        if wire_len == 0:
            wire_len = state.length
        elif not state.length <= wire_len <= GSO_LEGACY_MAX_SIZE:
            raise TestRunError(errno.EINVAL, "wire_len shorter than the packet or too long")
        state.put("wire_len", wire_len)
        if get("gso_segs") > GSO_MAX_SEGS:
            raise TestRunError(errno.EINVAL, "gso_segs too large")
        state.put("gso_segs", get("gso_segs"))

    def finish(self, state: RunState, retval: int) -> TestRunOutput:
        assert isinstance(state, SkbState)
        data = bytes(state.data)
        if not state.l2:
            data = bytes(ETH_HLEN) + data
        out = bytearray(state.ctx_in or bytes(SKB_SIZE))
        for name in CTX_OUT_FIELDS:
            off = OFFSET[name]
            out[off : off + SIZE[name]] = state.ctx[off : off + SIZE[name]]
        return TestRunOutput(data, bytes(out))


_CTX_IN_MASK = bytes(
    any(OFFSET[n] <= i < OFFSET[n] + SIZE[n] for n in CTX_IN_FIELDS) for i in range(SKB_SIZE)
)


def _check_ctx(ctx: bytes) -> None:
    """Every byte of ``ctx_in`` outside ``CTX_IN_FIELDS`` must be zero (else EINVAL)."""
    for i, byte in enumerate(ctx):
        if byte and not _CTX_IN_MASK[i]:
            raise TestRunError(errno.EINVAL, f"ctx_in sets byte {i}, which the kernel refuses")


__all__ = [
    "LAYOUT",
    "OFFSET",
    "SKB_SIZE",
    "SkbProgType",
    "SkbRules",
    "SkbState",
    "check_access",
    "skb_fields",
]
