"""``BPF_PROG_TYPE_SCHED_CLS``: tc classifiers (``cls_bpf``, usually direct-action).

A tc program sees ``struct __sk_buff`` with ``skb->data`` at the MAC header and
has direct packet access (``data``, ``data_end``, ``data_meta``). It may write
``mark``, ``priority``, ``tc_index``, ``tc_classid``, ``queue_mapping``, ``cb[]``
and ``tstamp`` (``tc_index``, ``tc_classid`` and ``queue_mapping`` are 16-bit
in the kernel: a 32-bit store keeps the low half), may read the 1-byte
``tstamp_type``, and may not touch the socket fields (``family`` ...
``local_port``), as ``tc_cls_act_is_valid_access`` says. It may call the
packet-rewriting helpers (``bpf_skb_store_bytes``, checksum, VLAN, room and
tail changes, redirects ...).

The return value is a ``TC_ACT_*`` action (``verdicts``). The test run is
``_skb.SkbProgType``'s: the MAC header is part of ``data_out``. ``sched_act``
shares everything here. This module describes the type; it does not run it.

>>> from ebpy.progtypes import prog_type_info
>>> info = prog_type_info("tc")
>>> info.verdict_name(2), info.verdict_name(0xFFFFFFFF)
('TC_ACT_SHOT', 'TC_ACT_UNSPEC')
>>> info.access(44, 4, True)
(44, 2)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from ebpy.isa._intmath import M32, M64
from ebpy.progtypes._packet import (
    BASE_HELPERS,
    SOCKET_LOOKUP_HELPERS,
    SYNCOOKIE_HELPERS,
    helper_set,
)
from ebpy.progtypes._skb import SOCK_FIELDS, SkbProgType, SkbRules, skb_fields
from ebpy.progtypes.base import register
from ebpy.progtypes.socket_filter import HELPERS as SOCKET_FILTER_HELPERS
from ebpy.uapi import HelperId, ProgType, TcAction

RULES = SkbRules(
    denied=SOCK_FIELDS,
    writable=frozenset(
        {"mark", "priority", "tc_index", "tc_classid", "queue_mapping", "cb", "tstamp"}
    ),
    tstamp_type=True,
)
"""``tc_cls_act_is_valid_access``."""

_H = HelperId
HELPERS = helper_set(
    BASE_HELPERS,
    SOCKET_FILTER_HELPERS,
    SOCKET_LOOKUP_HELPERS,
    SYNCOOKIE_HELPERS,
    *(
        _H.SKB_STORE_BYTES,
        _H.SKB_PULL_DATA,
        _H.CSUM_DIFF,
        _H.CSUM_UPDATE,
        _H.CSUM_LEVEL,
        _H.L3_CSUM_REPLACE,
        _H.L4_CSUM_REPLACE,
        _H.CLONE_REDIRECT,
        _H.GET_CGROUP_CLASSID,
        _H.SKB_VLAN_PUSH,
        _H.SKB_VLAN_POP,
        _H.SKB_CHANGE_PROTO,
        _H.SKB_CHANGE_TYPE,
        _H.SKB_ADJUST_ROOM,
        _H.SKB_CHANGE_TAIL,
        _H.SKB_CHANGE_HEAD,
        _H.SKB_GET_TUNNEL_KEY,
        _H.SKB_SET_TUNNEL_KEY,
        _H.SKB_GET_TUNNEL_OPT,
        _H.SKB_SET_TUNNEL_OPT,
        _H.REDIRECT,
        _H.REDIRECT_NEIGH,
        _H.REDIRECT_PEER,
        _H.GET_ROUTE_REALM,
        _H.GET_HASH_RECALC,
        _H.SET_HASH_INVALID,
        _H.SET_HASH,
        _H.SKB_UNDER_CGROUP,
        _H.SKB_GET_XFRM_STATE,
        _H.FIB_LOOKUP,
        _H.CHECK_MTU,
        _H.SK_FULLSOCK,
        _H.SK_STORAGE_GET,
        _H.SK_STORAGE_DELETE,
        _H.SKB_CGROUP_ID,
        _H.SKB_ANCESTOR_CGROUP_ID,
        _H.SKB_CGROUP_CLASSID,
        _H.TCP_SOCK,
        _H.GET_LISTENER_SOCK,
        _H.SKB_ECN_SET_CE,
        _H.SK_ASSIGN,
        _H.SKB_SET_TSTAMP,
    ),
)
"""``tc_cls_act_func_proto``: the socket filter's helpers and the packet rewriters."""


def _tc_verdicts() -> dict[int, str]:
    names = {int(a): f"TC_ACT_{a.name}" for a in TcAction}
    names[M32] = names[M64] = names[-1]  # TC_ACT_UNSPEC as r0 gives it back
    return names


TC_VERDICTS: Mapping[int, str] = _tc_verdicts()
"""``TC_ACT_*`` names by value (-1, ``TC_ACT_UNSPEC``, also as u32 and u64)."""


@register
class SchedCls(SkbProgType):
    """tc classifiers: MAC header in view, direct packet access, ``TC_ACT_*`` verdicts."""

    prog_type: ClassVar[ProgType] = ProgType.SCHED_CLS
    name: ClassVar[str] = "sched_cls"
    rules: ClassVar[SkbRules] = RULES
    fields = skb_fields(RULES)
    helpers: ClassVar[frozenset[int]] = HELPERS
    l2: ClassVar[bool] = True
    verdicts: ClassVar[Mapping[int, str]] = TC_VERDICTS
