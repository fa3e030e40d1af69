"""Event helpers: ``bpf_perf_event_output`` and the ring buffer helpers.

``perf_event_output(ctx, map, flags, data, size)`` appends a sample to the
perf event array's ring chosen by ``flags & BPF_F_INDEX_MASK``
(``BPF_F_CURRENT_CPU``: the running CPU). Where the run has a packet (its
context has ``data``/``data_end``, as ``__sk_buff`` and ``xdp_md`` do), the
``BPF_F_CTXLEN_MASK`` bits append that many packet bytes to the sample, as
``bpf_skb_event_output``/``bpf_xdp_event_output`` do (``-EFAULT`` when the
packet is shorter); elsewhere those bits are ``-EINVAL`` as in
``bpf_perf_event_output``.

``ringbuf_reserve`` returns the address of the record's data inside the ring
buffer's region (``Runtime.map_value_address``) or 0; ``ringbuf_submit`` and
``ringbuf_discard`` take that address back. A pointer that is not a reserved
record (which the kernel's verifier rules out) raises ``MapError`` (EINVAL).
``ringbuf_output`` copies and commits in one go (``-EAGAIN`` when full);
``ringbuf_query`` reads ``BPF_RB_AVAIL_DATA``, ``RING_SIZE``, ``CONS_POS`` and
``PROD_POS`` (0 for anything else). ``BPF_RB_NO_WAKEUP`` and
``BPF_RB_FORCE_WAKEUP`` are accepted and counted in the map's ``wakeups``.

The maps' semantics live in ``ebpy.maps.perf_event_array`` and
``ebpy.maps.ringbuf``; this module only moves bytes between program memory and them.
"""

from __future__ import annotations

import errno

from ebpy.errors import MapError, MemoryAccessError
from ebpy.helpers.env import Runtime
from ebpy.helpers.maps import neg
from ebpy.helpers.protos import Arg, Proto, Ret
from ebpy.helpers.registry import Helper
from ebpy.isa._intmath import M64
from ebpy.maps.perf_event_array import BPF_F_INDEX_MASK, PerfEventArray
from ebpy.maps.ringbuf import BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP, RingBuf
from ebpy.memory import SLOT_MASK, SLOT_SHIFT
from ebpy.uapi import HelperId

BPF_F_CTXLEN_MASK = 0xFFFFF << 32
RB_WAKEUP_FLAGS = BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP


def run_packet(env: Runtime) -> bytes | None:
    """The packet of this run (between the context's ``data`` and ``data_end``), or None."""
    get_pointer = getattr(env.state, "get_pointer", None)
    if get_pointer is None:
        return None
    try:
        start, end = int(get_pointer("data")), int(get_pointer("data_end"))
        return env.memory.read(start, max(end - start, 0))
    except (KeyError, MemoryAccessError):
        return None


def _perf_event_output(env: Runtime, ctx: int, mp: int, flags: int, data: int, size: int) -> int:
    m = env.map_at(mp)
    if not isinstance(m, PerfEventArray):
        return neg(errno.EINVAL)
    packet = run_packet(env)
    allowed = BPF_F_INDEX_MASK | (BPF_F_CTXLEN_MASK if packet is not None else 0)
    if flags & ~allowed:
        return neg(errno.EINVAL)
    payload = env.memory.read(data, size) if size else b""
    ctxlen = (flags & BPF_F_CTXLEN_MASK) >> 32
    if ctxlen and packet is not None:
        if ctxlen > len(packet):
            return neg(errno.EFAULT)
        payload += packet[:ctxlen]
    return m.output(flags & BPF_F_INDEX_MASK, payload, env.cpu) & M64


def _ringbuf_at(env: Runtime, mp: int) -> RingBuf | None:
    m = env.map_at(mp)
    return m if isinstance(m, RingBuf) else None


def _ringbuf_output(env: Runtime, mp: int, data: int, size: int, flags: int, *_: int) -> int:
    if flags & ~RB_WAKEUP_FLAGS:
        return neg(errno.EINVAL)
    rb = _ringbuf_at(env, mp)
    if rb is None:
        return neg(errno.EINVAL)
    payload = env.memory.read(data, size) if size else b""
    return rb.output(payload, flags) & M64


def _ringbuf_reserve(env: Runtime, mp: int, size: int, flags: int, *_: int) -> int:
    rb = _ringbuf_at(env, mp)
    if rb is None or flags:
        return 0
    off = rb.reserve(size)
    return 0 if off is None else env.map_value_address(rb, off)


def _commit(env: Runtime, ptr: int, flags: int, *, discard: bool) -> int:
    rb = env.maps.get(ptr >> SLOT_SHIFT)
    op = "ringbuf_discard" if discard else "ringbuf_submit"
    if not isinstance(rb, RingBuf):
        raise MapError(op, errno.EINVAL, "", f"{ptr:#x} is not a ring buffer record")
    rb.commit(ptr & SLOT_MASK, flags, discard=discard)
    return 0


def _ringbuf_submit(env: Runtime, ptr: int, flags: int, *_: int) -> int:
    return _commit(env, ptr, flags, discard=False)


def _ringbuf_discard(env: Runtime, ptr: int, flags: int, *_: int) -> int:
    return _commit(env, ptr, flags, discard=True)


def _ringbuf_query(env: Runtime, mp: int, flags: int, *_: int) -> int:
    rb = _ringbuf_at(env, mp)
    return 0 if rb is None else rb.query(flags) & M64


HELPERS = [
    Helper(
        HelperId.PERF_EVENT_OUTPUT,
        "perf_event_output",
        _perf_event_output,
        Proto(
            (
                Arg.PTR_TO_CTX,
                Arg.CONST_MAP_PTR,
                Arg.ANYTHING,
                Arg.PTR_TO_MEM,
                Arg.CONST_SIZE_OR_ZERO,
            ),
            gpl_only=True,
        ),
    ),
    Helper(
        HelperId.RINGBUF_OUTPUT,
        "ringbuf_output",
        _ringbuf_output,
        Proto((Arg.CONST_MAP_PTR, Arg.PTR_TO_MEM, Arg.CONST_SIZE_OR_ZERO, Arg.ANYTHING)),
    ),
    Helper(
        HelperId.RINGBUF_RESERVE,
        "ringbuf_reserve",
        _ringbuf_reserve,
        Proto(
            (Arg.CONST_MAP_PTR, Arg.CONST_ALLOC_SIZE_OR_ZERO, Arg.ANYTHING),
            Ret.PTR_TO_ALLOC_MEM_OR_NULL,
        ),
    ),
    Helper(
        HelperId.RINGBUF_SUBMIT,
        "ringbuf_submit",
        _ringbuf_submit,
        Proto((Arg.PTR_TO_ALLOC_MEM, Arg.ANYTHING), Ret.VOID),
    ),
    Helper(
        HelperId.RINGBUF_DISCARD,
        "ringbuf_discard",
        _ringbuf_discard,
        Proto((Arg.PTR_TO_ALLOC_MEM, Arg.ANYTHING), Ret.VOID),
    ),
    Helper(
        HelperId.RINGBUF_QUERY,
        "ringbuf_query",
        _ringbuf_query,
        Proto((Arg.CONST_MAP_PTR, Arg.ANYTHING)),
    ),
]
"""perf_event_output and the ring buffer helpers, in id order."""

__all__ = ["BPF_F_CTXLEN_MASK", "HELPERS", "run_packet"]
