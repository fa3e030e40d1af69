"""XDP helpers: adjust the frame's head, tail and metadata; load and store bytes
across a multi-buffer frame; its total length.

They change the run's ``XdpState`` (``env.state``): a page-sized frame whose
``data_meta``/``data``/``data_end`` offsets move, plus the fragments of a
multi-buffer frame. The bounds and errno values are the kernel's:

* ``bpf_xdp_adjust_head(ctx, delta)``: ``data`` may move down to just past the
  ``struct xdp_frame`` kept at the front of the page (plus the metadata, which
  moves along) and up to 14 bytes before ``data_end``; else ``-EINVAL``.
* ``bpf_xdp_adjust_meta(ctx, delta)``: ``data_meta`` stays between the
  ``xdp_frame`` and ``data``, and the metadata a multiple of 4 bytes and at most
  255 (``-EINVAL``, ``-EACCES``).
* ``bpf_xdp_adjust_tail(ctx, delta)``: the linear end stays at least 14 bytes
  after ``data`` and before the ``skb_shared_info`` tail room; bytes grown are
  zeroed. On a multi-buffer frame it grows the last fragment (up to a page) or
  shrinks fragments from the end, freeing emptied ones.
* ``bpf_xdp_load_bytes``/``bpf_xdp_store_bytes(ctx, off, buf, len)``: ``off`` and
  ``len`` below 64 KiB (``-EFAULT``) and inside the frame (``-EINVAL``), across
  fragments as needed.

After a change the context's packet pointers are refreshed. Outside an XDP
run they return ``-EINVAL``. Redirects are ``ebpy.helpers.redirect``'s.
"""

from __future__ import annotations

import errno
from collections.abc import Callable

from ebpy.helpers.env import Runtime
from ebpy.helpers.maps import neg
from ebpy.helpers.protos import Arg, Proto
from ebpy.helpers.registry import Helper, HelperImpl
from ebpy.isa._intmath import M32, s32
from ebpy.progtypes._packet import ETH_HLEN, PAGE_SIZE
from ebpy.progtypes.xdp import HARD_END, XDP_FRAME_SIZE, XdpState, metalen_invalid
from ebpy.uapi import HelperId

MAX_OFFSET = 0xFFFF


def xdp_of(env: Runtime) -> XdpState | None:
    """The run's XDP frame, or None outside an XDP run."""
    state = env.state
    return state if isinstance(state, XdpState) else None


def _on_frame(fn: Callable[[Runtime, XdpState, int, int, int], int]) -> HelperImpl:
    """The helper ``fn(env, xdp, r2, r3, r4)`` on the run's XDP frame; EINVAL outside XDP."""

    def impl(env: Runtime, _ctx: int, r2: int, r3: int, r4: int, *_: int) -> int:
        xdp = xdp_of(env)
        return neg(errno.EINVAL) if xdp is None else fn(env, xdp, r2, r3, r4)

    return impl


def _on_span(fn: Callable[[Runtime, XdpState, int, int, int], int]) -> HelperImpl:
    """``_on_frame`` for ``fn(env, xdp, offset, buf, length)`` once the ``length`` bytes at
    ``offset`` are known to lie in the frame (else -errno)."""

    def checked(env: Runtime, xdp: XdpState, offset: int, buf: int, length: int) -> int:
        offset, length = offset & M32, length & M32
        return _span(xdp, offset, length) or fn(env, xdp, offset, buf, length)

    return _on_frame(checked)


@_on_frame
def _adjust_head(env: Runtime, xdp: XdpState, delta: int, *_: int) -> int:
    delta = s32(delta)
    metalen = xdp.start - xdp.meta
    start = xdp.start + delta
    if start < XDP_FRAME_SIZE + metalen or start > xdp.end - ETH_HLEN:
        return neg(errno.EINVAL)
    if metalen:
        page = xdp.page
        page[xdp.meta + delta : start] = page[xdp.meta : xdp.start]
    xdp.meta += delta
    xdp.start = start
    xdp.sync()
    return 0


@_on_frame
def _adjust_meta(env: Runtime, xdp: XdpState, delta: int, *_: int) -> int:
    meta = xdp.meta + s32(delta)
    if meta < XDP_FRAME_SIZE or meta > xdp.start:
        return neg(errno.EINVAL)
    if metalen_invalid(xdp.start - meta):
        return neg(errno.EACCES)
    xdp.meta = meta
    xdp.sync()
    return 0


@_on_frame
def _adjust_tail(env: Runtime, xdp: XdpState, delta: int, *_: int) -> int:
    delta = s32(delta)
    if xdp.frags:
        return _frags_shrink(xdp, -delta) if delta < 0 else _frags_grow(xdp, delta)
    end = xdp.end + delta
    if end > HARD_END or end < xdp.start + ETH_HLEN:
        return neg(errno.EINVAL)
    if delta > 0:
        xdp.page[xdp.end : end] = bytes(delta)
    xdp.end = end
    xdp.sync()
    return 0


def _frags_grow(xdp: XdpState, delta: int) -> int:
    last = xdp.frags[-1]
    if delta > PAGE_SIZE - len(last):
        return neg(errno.EINVAL)
    last.extend(bytes(delta))
    return 0


def _frags_shrink(xdp: XdpState, delta: int) -> int:
    if delta > xdp.buff_len() - ETH_HLEN:
        return neg(errno.EINVAL)
    while xdp.frags and delta > 0:
        last = xdp.frags[-1]
        cut = min(delta, len(last))
        delta -= cut
        if cut == len(last):
            xdp.frags.pop()
        else:
            del last[len(last) - cut :]
            break
    if not xdp.frags:  # no fragment left: the rest comes off the linear part
        xdp.end -= delta
        xdp.sync()
    return 0


def _span(xdp: XdpState, offset: int, length: int) -> int:
    """0 when ``length`` bytes at ``offset`` lie in the frame, else -errno."""
    if offset > MAX_OFFSET or length > MAX_OFFSET:
        return neg(errno.EFAULT)
    if offset + length > xdp.buff_len():
        return neg(errno.EINVAL)
    return 0


def _pieces(xdp: XdpState) -> list[tuple[bytearray, int, int]]:
    """(buffer, start, end) of the linear part and each fragment, in order."""
    out = [(xdp.page, xdp.start, xdp.end)]
    out.extend((f, 0, len(f)) for f in xdp.frags)
    return out


@_on_span
def _load_bytes(env: Runtime, xdp: XdpState, offset: int, buf: int, length: int) -> int:
    env.memory.write(buf, xdp.packet()[offset : offset + length])
    return 0


@_on_span
def _store_bytes(env: Runtime, xdp: XdpState, offset: int, buf: int, length: int) -> int:
    data = env.memory.read(buf, length)
    for piece, start, end in _pieces(xdp):
        size = end - start
        if offset < size and data:
            n = min(len(data), size - offset)
            piece[start + offset : start + offset + n] = data[:n]
            data = data[n:]
            offset = 0
        else:
            offset -= size
    return 0


def _get_buff_len(env: Runtime, *_: int) -> int:
    xdp = xdp_of(env)
    return 0 if xdp is None else xdp.buff_len()


_CTX, _ANY = Arg.PTR_TO_CTX, Arg.ANYTHING
_ADJUST = Proto((_CTX, _ANY), changes_pkt_data=True)

HELPERS = [
    Helper(HelperId.XDP_ADJUST_HEAD, "xdp_adjust_head", _adjust_head, _ADJUST),
    Helper(HelperId.XDP_ADJUST_META, "xdp_adjust_meta", _adjust_meta, _ADJUST),
    Helper(HelperId.XDP_ADJUST_TAIL, "xdp_adjust_tail", _adjust_tail, _ADJUST),
    Helper(HelperId.XDP_GET_BUFF_LEN, "xdp_get_buff_len", _get_buff_len, Proto((_CTX,))),
    Helper(
        HelperId.XDP_LOAD_BYTES,
        "xdp_load_bytes",
        _load_bytes,
        Proto((_CTX, _ANY, Arg.PTR_TO_UNINIT_MEM, Arg.CONST_SIZE)),
    ),
    Helper(
        HelperId.XDP_STORE_BYTES,
        "xdp_store_bytes",
        _store_bytes,
        Proto((_CTX, _ANY, Arg.PTR_TO_MEM, Arg.CONST_SIZE)),
    ),
]
"""The XDP helpers, in id order."""
