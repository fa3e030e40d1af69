"""``BPF_PROG_TYPE_XDP``: programs run by the driver on each received frame.

Context: ``struct xdp_md`` (24 bytes): ``data``, ``data_end`` and ``data_meta``
(pointers into the frame), ``ingress_ifindex``, ``rx_queue_index`` and
``egress_ifindex`` (devmap programs only: plain XDP programs may not read it).
Every access is a whole, aligned 32-bit load; nothing is writable
(``xdp_is_valid_access``). Return values are ``XDP_ABORTED``, ``XDP_DROP``,
``XDP_PASS``, ``XDP_TX`` and ``XDP_REDIRECT``.

The test run follows the running kernel's ``bpf_prog_test_run_xdp`` (Linux
6.18; see the notes below for 6.1): the frame is one 4096-byte page, the packet
starts 256 bytes in (``XDP_PACKET_HEADROOM``) and the last 320 bytes are kept
for ``struct skb_shared_info``, so the linear part holds at most 3520 bytes (plus
metadata); longer ``data_in`` continues in fragments of a page each (at most 17,
else ``ENOMEM``), a multi-buffer frame. ``data_in`` needs 14 bytes after the
metadata. With ``ctx_in``: ``data`` is the length of metadata at the front of
``data_in`` (a multiple of 4, at most 216), ``data_end`` the length of the
linear part counted from there (the rest goes to fragments; it may not pass
the end of ``data_in``), ``data_meta`` and ``egress_ifindex`` must be 0, and
``ingress_ifindex``/``rx_queue_index`` must name a device queue (loopback,
ifindex 1, has one; any other ifindex is taken as it is). ``data_out`` is the
frame from ``data_meta`` to ``data_end`` after the run plus the fragments, so
it follows ``bpf_xdp_adjust_head``/``adjust_meta``/``adjust_tail``; ``ctx_out``
is ``ctx_in`` with ``data``/``data_end`` set to where the packet ended up,
relative to ``data_meta``. Linux 6.1 differed: metadata at most 32 bytes and
``data_end`` had to equal the size of ``data_in``.

``XdpState`` is one run's frame; ``ebpy.helpers.xdp`` changes it. This module
does not run programs nor implement helpers.

>>> from ebpy.progtypes import prog_type_info
>>> info = prog_type_info("xdp")
>>> info.verdict_name(2), info.access(0, 4, False)
('XDP_PASS', (24, 8))
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from ebpy.errors import ContextAccessError, TestRunError
from ebpy.memory import AddressSpace, Region, RegionKind
from ebpy.progtypes._packet import (
    BASE_HELPERS,
    ETH_HLEN,
    PAGE_SIZE,
    SHINFO_SIZE,
    SOCKET_LOOKUP_HELPERS,
    SYNCOOKIE_HELPERS,
    PacketState,
    context_in,
    helper_set,
)
from ebpy.progtypes.base import CtxField, ProgTypeInfo, RunState, TestRunOutput, register
from ebpy.uapi import HelperId, ProgType, XdpAction

XDP_MD_SIZE = 24
XDP_PACKET_HEADROOM = 256
XDP_FRAME_SIZE = 40
"""``sizeof(struct xdp_frame)``: the front of the page the packet may never reach."""
HARD_END = PAGE_SIZE - SHINFO_SIZE
"""Where the linear data must end at the latest (3776 bytes into the page)."""
MAX_LINEAR = HARD_END - XDP_PACKET_HEADROOM
"""The longest linear packet without metadata (3520)."""
MAX_FRAGS = 17
"""``MAX_SKB_FRAGS``."""
META_MAX = 255
"""``xdp_metalen_invalid``: metadata is a multiple of 4 bytes and at most this long."""

_H = HelperId
HELPERS = helper_set(
    BASE_HELPERS,
    SOCKET_LOOKUP_HELPERS,
    SYNCOOKIE_HELPERS,
    *(
        _H.PERF_EVENT_OUTPUT,
        _H.CSUM_DIFF,
        _H.XDP_ADJUST_HEAD,
        _H.XDP_ADJUST_META,
        _H.XDP_ADJUST_TAIL,
        _H.XDP_GET_BUFF_LEN,
        _H.XDP_LOAD_BYTES,
        _H.XDP_STORE_BYTES,
        _H.REDIRECT,
        _H.REDIRECT_MAP,
        _H.FIB_LOOKUP,
        _H.CHECK_MTU,
    ),
)
"""``xdp_func_proto`` on top of the base helpers."""


def metalen_invalid(length: int) -> bool:
    """``xdp_metalen_invalid``: not a multiple of 4, or longer than ``META_MAX``."""
    return bool(length & 3) or length > META_MAX


@dataclass(kw_only=True)
class XdpState(PacketState):
    """One run's frame: a page, offsets into it, and the fragments after it."""

    region: Region
    """The page (``data_hard_start`` at offset 0)."""
    meta: int = XDP_PACKET_HEADROOM
    start: int = XDP_PACKET_HEADROOM
    end: int = XDP_PACKET_HEADROOM
    frags: list[bytearray] = field(default_factory=list)
    """Fragments of a multi-buffer frame, in order (each at most a page)."""

    @property
    def page(self) -> bytearray:
        return self.region.buf

    @property
    def linear(self) -> int:
        """Bytes from ``data`` to ``data_end``."""
        return self.end - self.start

    @property
    def frags_size(self) -> int:
        return sum(len(f) for f in self.frags)

    def buff_len(self) -> int:
        """``xdp_get_buff_len``: the linear part and every fragment."""
        return self.linear + self.frags_size

    def packet(self) -> bytes:
        """The whole packet from ``data``: linear part, then the fragments."""
        return bytes(self.page[self.start : self.end]) + b"".join(self.frags)

    def sync(self) -> None:
        """Refresh the context's ``data``/``data_end``/``data_meta`` pointers."""
        base = self.region.base
        self.set_pointer("data", base + self.start)
        self.set_pointer("data_end", base + self.end)
        self.set_pointer("data_meta", base + self.meta)


_FIELDS = (
    CtxField("data", 0, 4, narrow=False, pointer=True),
    CtxField("data_end", 4, 4, narrow=False, pointer=True),
    CtxField("data_meta", 8, 4, narrow=False, pointer=True),
    CtxField("ingress_ifindex", 12, 4, narrow=False),
    CtxField("rx_queue_index", 16, 4, narrow=False),
    CtxField("egress_ifindex", 20, 4, read=False, narrow=False),
)


@register
class Xdp(ProgTypeInfo):
    """XDP programs: ``struct xdp_md``, a page-sized frame, ``XDP_*`` verdicts."""

    prog_type: ClassVar[ProgType] = ProgType.XDP
    name: ClassVar[str] = "xdp"
    ctx_size: ClassVar[int] = XDP_MD_SIZE
    fields: ClassVar[tuple[CtxField, ...]] = _FIELDS
    helpers: ClassVar[frozenset[int]] = HELPERS
    verdicts: ClassVar[Mapping[int, str]] = {int(a): f"XDP_{a.name}" for a in XdpAction}
    has_packet: ClassVar[bool] = True

    def access(self, offset: int, size: int, write: bool, pc: int | None = None) -> tuple[int, int]:
        """Whole aligned 32-bit loads of ``data`` ... ``rx_queue_index``; nothing else."""
        f = self.field_at(offset) if 0 <= offset < XDP_MD_SIZE else None
        reason = None
        if f is None:
            reason = "outside the context"
        elif write:
            reason = "xdp_md is read-only"
        elif not f.read:
            reason = f"{f.name} is for devmap programs only"
        elif size != 4 or offset != f.offset:
            reason = f"{f.name} must be read as 4 aligned bytes"
        if reason is not None or f is None:
            raise ContextAccessError(self.name, offset, size, write, pc, reason or "")
        if f.pointer:
            return self.shadow_offset(f.name), 8
        return offset, size

    def prepare(
        self, memory: AddressSpace, data_in: bytes | None, ctx_in: bytes | None
    ) -> XdpState:
        data = bytes(data_in or b"")
        ctx = context_in(ctx_in, XDP_MD_SIZE)
        meta, linear, ifindex, queue = 0, len(data), 0, 0
        if ctx is not None:
            d, d_end, d_meta, ifindex, queue, egress = struct.unpack("<6I", ctx)
            if d_meta or d_end > len(data) or d > d_end or metalen_invalid(d):
                raise TestRunError(errno.EINVAL, "bad data/data_end/data_meta in ctx_in")
            if XDP_PACKET_HEADROOM - d < XDP_FRAME_SIZE:
                raise TestRunError(errno.EINVAL, "metadata longer than the head room")
            if egress or (not ifindex and queue) or (ifindex == 1 and queue):
                raise TestRunError(errno.EINVAL, "no such receive queue")
            meta, linear = d, d_end
        if len(data) - meta < ETH_HLEN:
            raise TestRunError(errno.EINVAL, "data_in shorter than an Ethernet header")
        linear = min(linear, MAX_LINEAR + meta)
        rest = data[linear:]
        frags = [bytearray(rest[i : i + PAGE_SIZE]) for i in range(0, len(rest), PAGE_SIZE)]
        if len(frags) > MAX_FRAGS:
            raise TestRunError(errno.ENOMEM, "more fragments than MAX_SKB_FRAGS")
        page = bytearray(PAGE_SIZE)
        head = XDP_PACKET_HEADROOM - meta
        page[head : head + linear] = data[:linear]
        buf = bytearray(self.vm_ctx_size)
        state = XdpState(
            self,
            memory,
            memory.map(RegionKind.CONTEXT, buf, share=True, name="ctx"),
            ctx_in=ctx,
            region=memory.map(RegionKind.PACKET, page, share=True, name="packet"),
            meta=head,
            start=XDP_PACKET_HEADROOM,
            end=head + linear,
            frags=frags,
        )
        state.sync()
        struct.pack_into("<II", buf, 12, ifindex or 1, queue)
        return state

    def finish(self, state: RunState, retval: int) -> TestRunOutput:
        assert isinstance(state, XdpState)
        data_out = bytes(state.page[state.meta : state.end]) + b"".join(state.frags)
        ctx_out = bytearray(state.ctx_in or bytes(XDP_MD_SIZE))
        struct.pack_into("<II", ctx_out, 0, state.start - state.meta, state.end - state.meta)
        return TestRunOutput(data_out, bytes(ctx_out))
