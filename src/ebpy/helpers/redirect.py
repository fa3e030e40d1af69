"""Redirect helpers: ``bpf_redirect``, ``bpf_redirect_map`` and ``bpf_clone_redirect``.

In the kernel a redirect helper only records where the packet should go (per
CPU) and returns the verdict the program should give back; the driver or tc
acts on it after the program returns. Here the record goes on the run's
packet state (``state.redirect``, a ``Redirect``), so a test run can report
it, and clones made by ``bpf_clone_redirect`` are kept in ``state.clones``:

* ``bpf_redirect(ifindex, flags)``: in XDP any flag gives ``XDP_ABORTED``, else
  ``XDP_REDIRECT``; in tc flags other than ``BPF_F_INGRESS`` give
  ``TC_ACT_SHOT``, else ``TC_ACT_REDIRECT``.
* ``bpf_redirect_map(map, key, flags)``: the low two bits of ``flags`` are the
  verdict when ``key`` is not in the map (``XDP_ABORTED``... ``XDP_TX``); a devmap
  also takes ``BPF_F_BROADCAST`` and ``BPF_F_EXCLUDE_INGRESS``; other flags give
  ``XDP_ABORTED``; found (or broadcast): ``XDP_REDIRECT``, and for a devmap the
  target is the ifindex in the entry's first four bytes. Any map with a
  program-side lookup works here (the kernel's verifier insists on a devmap,
  cpumap or xskmap).
* ``bpf_clone_redirect(skb, ifindex, flags)``: ``-EINVAL`` for flags other than
  ``BPF_F_INGRESS`` or a device that does not exist; else a copy of the packet
  as it is now is recorded and 0 returned (the kernel returns what sending
  gave). The devices are those of the run's ``FibTable`` (``Runtime.fib``);
  without one any non-zero ifindex is a device.

Nothing is transmitted. Not the maps themselves (``ebpy.maps``).
"""

from __future__ import annotations

import errno

from ebpy.errors import MapError
from ebpy.helpers.env import Runtime
from ebpy.helpers.fib import FibTable
from ebpy.helpers.maps import neg
from ebpy.helpers.protos import Arg, Proto
from ebpy.helpers.registry import Helper
from ebpy.isa._intmath import M32
from ebpy.progtypes._packet import Clone, PacketState, Redirect
from ebpy.progtypes._skb import SkbState
from ebpy.progtypes.xdp import XdpState
from ebpy.uapi import (
    BPF_F_BROADCAST,
    BPF_F_EXCLUDE_INGRESS,
    BPF_F_INGRESS,
    HelperId,
    MapType,
    TcAction,
    XdpAction,
)

XDP_ACTION_MASK = 0x3
"""``XDP_ABORTED | XDP_DROP | XDP_PASS | XDP_TX``: the verdict bits of ``redirect_map``'s flags."""
DEVMAPS = (MapType.DEVMAP, MapType.DEVMAP_HASH)


def _redirect(env: Runtime, ifindex: int, flags: int, *_: int) -> int:
    state = env.state
    if isinstance(state, XdpState):
        if flags:
            return int(XdpAction.ABORTED)
        state.redirect = Redirect(ifindex & M32, 0)
        return int(XdpAction.REDIRECT)
    if flags & ~BPF_F_INGRESS:
        return int(TcAction.SHOT)
    if isinstance(state, PacketState):
        state.redirect = Redirect(ifindex & M32, flags)
    return int(TcAction.REDIRECT)


def _redirect_map(env: Runtime, mp: int, key: int, flags: int, *_: int) -> int:
    m = env.map_at(mp)
    state = env.state
    if m is None:
        return int(XdpAction.ABORTED)
    flag_mask = BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS if m.map_type in DEVMAPS else 0
    if flags & ~(XDP_ACTION_MASK | flag_mask):
        return int(XdpAction.ABORTED)
    key &= (1 << (8 * min(m.key_size, 8))) - 1
    try:
        off = m.prog_lookup(key.to_bytes(m.key_size, "little"), env.cpu)
    except MapError:
        off = None
    broadcast = bool(flags & BPF_F_BROADCAST)
    if off is None and not broadcast:
        if isinstance(state, PacketState):
            state.redirect = None
        return flags & XDP_ACTION_MASK
    target = key
    if off is not None and m.map_type in DEVMAPS and m.value_size >= 4:
        target = int.from_bytes(m.buf[off : off + 4], "little")
    if isinstance(state, PacketState):
        kept = flags if broadcast else 0
        state.redirect = Redirect(target, kept, map_id=m.id, key=key)
    return int(XdpAction.REDIRECT)


def _clone_redirect(env: Runtime, _ctx: int, ifindex: int, flags: int, *_: int) -> int:
    state = env.state
    if flags & ~BPF_F_INGRESS or not ifindex & M32 or not isinstance(state, SkbState):
        return neg(errno.EINVAL)
    if isinstance(env.fib, FibTable) and not env.fib.knows(ifindex & M32):
        return neg(errno.EINVAL)  # no such device
    state.clones.append(Clone(ifindex & M32, flags, bytes(state.data)))
    return 0


HELPERS = [
    Helper(
        HelperId.CLONE_REDIRECT,
        "clone_redirect",
        _clone_redirect,
        Proto((Arg.PTR_TO_CTX, Arg.ANYTHING, Arg.ANYTHING)),
    ),
    Helper(HelperId.REDIRECT, "redirect", _redirect, Proto((Arg.ANYTHING, Arg.ANYTHING))),
    Helper(
        HelperId.REDIRECT_MAP,
        "redirect_map",
        _redirect_map,
        Proto((Arg.CONST_MAP_PTR, Arg.ANYTHING, Arg.ANYTHING)),
    ),
]
"""The redirect helpers, in id order."""
