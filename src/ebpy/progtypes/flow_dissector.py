"""``BPF_PROG_TYPE_FLOW_DISSECTOR``: programs that parse a packet into flow keys.

The program sees a sliver of ``struct __sk_buff``: ``data`` and ``data_end`` (whole
32-bit loads; the packet from its Ethernet header) and ``flow_keys`` (a whole
64-bit load giving a pointer to ``struct bpf_flow_keys``, which the program
fills in); nothing else, and nothing is writable through the context
(``flow_dissector_is_valid_access``). It returns ``BPF_OK`` (0) or ``BPF_DROP``
(2) (and ``BPF_FLOW_DISSECTOR_CONTINUE`` to let the kernel's dissector go on).

The test run follows ``bpf_prog_test_run_flow_dissector``: ``data_in`` of 14
to 4096 bytes; the keys start zeroed with ``nhoff`` = ``thoff`` = 14, ``n_proto``
= the Ethernet type and ``flags`` = the ``flags`` of ``ctx_in`` (a ``struct
bpf_flow_keys`` in which nothing else may be set, else ``EINVAL``); after the
run ``nhoff`` is clamped to [14, len] and ``thoff`` to [nhoff, len] (as u16);
``data_out`` is the 56-byte ``struct bpf_flow_keys`` and ``ctx_out`` is
``ctx_in`` as given. ``bpf_skb_load_bytes`` fails with ``-EFAULT`` in a test run
(the kernel runs the program without an skb). This module describes the type;
it does not run programs.

>>> from ebpy.progtypes import prog_type_info
>>> prog_type_info("flow_dissector").access(144, 8, False)
(208, 8)
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
    BASE_HELPERS,
    ETH_HLEN,
    PAGE_SIZE,
    PacketState,
    context_in,
    helper_set,
)
from ebpy.progtypes._skb import OFFSET, SKB_SIZE
from ebpy.progtypes.base import CtxField, ProgTypeInfo, RunState, TestRunOutput, register
from ebpy.uapi import HelperId, ProgType

FLOW_KEYS_SIZE = 56
FLOW_KEYS_LAYOUT: tuple[tuple[str, int, int], ...] = (
    ("nhoff", 0, 2),
    ("thoff", 2, 2),
    ("addr_proto", 4, 2),
    ("is_frag", 6, 1),
    ("is_first_frag", 7, 1),
    ("is_encap", 8, 1),
    ("ip_proto", 9, 1),
    ("n_proto", 10, 2),
    ("sport", 12, 2),
    ("dport", 14, 2),
    ("ipv4_src", 16, 4),
    ("ipv4_dst", 20, 4),
    ("ipv6_src", 16, 16),
    ("ipv6_dst", 32, 16),
    ("flags", 48, 4),
    ("flow_label", 52, 4),
)
"""``struct bpf_flow_keys``: (name, offset, size); the IPv4 and IPv6 addresses share bytes."""
FLAGS_OFFSET = 48

HELPERS = helper_set(BASE_HELPERS, HelperId.SKB_LOAD_BYTES)
"""``flow_dissector_func_proto``: the base helpers and ``bpf_skb_load_bytes``."""

_ACCESS = {OFFSET["data"]: ("data", 4), OFFSET["data_end"]: ("data_end", 4)}
_ACCESS[OFFSET["flow_keys"]] = ("flow_keys", 8)


@dataclass(kw_only=True)
class FlowState(PacketState):
    """One dissection: the packet and the ``struct bpf_flow_keys`` being filled."""

    region: Region
    """The packet, from its Ethernet header."""
    keys: Region
    """``struct bpf_flow_keys`` (56 bytes)."""

    @property
    def data(self) -> bytearray:
        return self.region.buf


@register
class FlowDissector(ProgTypeInfo):
    """Flow dissectors: packet pointers and ``flow_keys``, return ``BPF_OK``/``BPF_DROP``."""

    prog_type: ClassVar[ProgType] = ProgType.FLOW_DISSECTOR
    name: ClassVar[str] = "flow_dissector"
    ctx_size: ClassVar[int] = SKB_SIZE
    fields: ClassVar[tuple[CtxField, ...]] = (
        CtxField("data", OFFSET["data"], 4, narrow=False, pointer=True),
        CtxField("data_end", OFFSET["data_end"], 4, narrow=False, pointer=True),
        CtxField("flow_keys", OFFSET["flow_keys"], 8, narrow=False, pointer=True),
    )
    helpers: ClassVar[frozenset[int]] = HELPERS
    verdicts: ClassVar[Mapping[int, str]] = {
        0: "BPF_OK",
        2: "BPF_DROP",
        129: "BPF_FLOW_DISSECTOR_CONTINUE",
    }
    has_packet: ClassVar[bool] = True

    def access(self, offset: int, size: int, write: bool, pc: int | None = None) -> tuple[int, int]:
        """Whole loads of ``data``, ``data_end`` (4 bytes) and ``flow_keys`` (8 bytes)."""
        entry = _ACCESS.get(offset)
        if write or entry is None or entry[1] != size:
            reason = "read-only context" if write else "only data, data_end and flow_keys"
            raise ContextAccessError(self.name, offset, size, write, pc, reason)
        return self.shadow_offset(entry[0]), 8

    def prepare(
        self, memory: AddressSpace, data_in: bytes | None, ctx_in: bytes | None
    ) -> FlowState:
        data = bytes(data_in or b"")
        if not ETH_HLEN <= len(data) <= PAGE_SIZE:
            raise TestRunError(errno.EINVAL, f"data_in must be {ETH_HLEN} to {PAGE_SIZE} bytes")
        ctx = context_in(ctx_in, FLOW_KEYS_SIZE)
        flags = 0
        if ctx is not None:
            flags = struct.unpack_from("<I", ctx, FLAGS_OFFSET)[0]
            if any(ctx[:FLAGS_OFFSET]) or any(ctx[FLAGS_OFFSET + 4 :]):
                raise TestRunError(errno.EINVAL, "ctx_in may set flags only")
        keys = bytearray(FLOW_KEYS_SIZE)
        struct.pack_into("<HH", keys, 0, ETH_HLEN, ETH_HLEN)
        keys[10:12] = data[12:14]
        struct.pack_into("<I", keys, FLAGS_OFFSET, flags)
        state = FlowState(
            self,
            memory,
            memory.map(RegionKind.CONTEXT, bytearray(self.vm_ctx_size), share=True, name="ctx"),
            ctx_in=ctx,
            region=memory.map(RegionKind.PACKET, bytearray(data), share=True, name="packet"),
            keys=memory.map(RegionKind.MEMORY, keys, share=True, name="flow_keys"),
        )
        state.set_pointer("data", state.region.base)
        state.set_pointer("data_end", state.region.base + len(data))
        state.set_pointer("flow_keys", state.keys.base)
        return state

    def finish(self, state: RunState, retval: int) -> TestRunOutput:
        assert isinstance(state, FlowState)
        keys = state.keys.buf
        hlen = len(state.data)
        nhoff, thoff = struct.unpack_from("<HH", keys, 0)
        nhoff = min(max(nhoff, ETH_HLEN), hlen) & 0xFFFF
        thoff = min(max(thoff, nhoff), hlen) & 0xFFFF
        struct.pack_into("<HH", keys, 0, nhoff, thoff)
        ctx_out = state.ctx_in or bytes(FLOW_KEYS_SIZE)
        return TestRunOutput(bytes(keys), bytes(ctx_out))
