"""``BPF_PROG_TYPE_CGROUP_SKB``: programs on a cgroup's ingress or egress path.

They see ``struct __sk_buff`` from the network header, like socket filters, but
may also read ``data``/``data_end`` (direct packet access, read-only), the socket
fields (``family``, ``remote_ip4`` ...: the test run's socket carries the
addresses of the packet's IP header, ``local`` = source, ``remote`` =
destination) and ``sk``, and may write ``mark``, ``priority``, ``cb[]`` and
``tstamp`` (``cg_skb_is_valid_access``). ``tc_classid``, ``data_meta`` and
``wire_len`` are off limits.

The return value says whether the packet passes: 1 allows it, 0 drops it (on
egress the kernel also takes 2 and 3, "drop/allow and notify congestion";
``ret_range`` here is the ingress range the verifier enforces by default).
The test run is ``_skb.SkbProgType``'s. This module describes the type only.

>>> from ebpy.progtypes import prog_type_info
>>> info = prog_type_info("cgroup_skb")
>>> info.verdict_name(1), info.ret_range
('SK_PASS', (0, 1))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from ebpy.progtypes._packet import BASE_HELPERS, SOCKET_LOOKUP_HELPERS, helper_set
from ebpy.progtypes._skb import SkbProgType, SkbRules, skb_fields
from ebpy.progtypes.base import register
from ebpy.progtypes.socket_filter import HELPERS as SOCKET_FILTER_HELPERS
from ebpy.uapi import HelperId, ProgType

RULES = SkbRules(
    denied=frozenset({"tc_classid", "data_meta", "wire_len"}),
    writable=frozenset({"mark", "priority", "cb", "tstamp"}),
)
"""``cg_skb_is_valid_access`` for a privileged loader."""

HELPERS = helper_set(
    BASE_HELPERS,
    SOCKET_FILTER_HELPERS,
    SOCKET_LOOKUP_HELPERS,
    HelperId.GET_LOCAL_STORAGE,
    HelperId.SK_FULLSOCK,
    HelperId.SK_STORAGE_GET,
    HelperId.SK_STORAGE_DELETE,
    HelperId.SKB_CGROUP_ID,
    HelperId.SKB_ANCESTOR_CGROUP_ID,
    HelperId.SK_CGROUP_ID,
    HelperId.SK_ANCESTOR_CGROUP_ID,
    HelperId.TCP_SOCK,
    HelperId.GET_LISTENER_SOCK,
    HelperId.SKB_ECN_SET_CE,
)
"""``cg_skb_func_proto``: the socket filter's helpers and cgroup/socket helpers."""


@register
class CgroupSkb(SkbProgType):
    """cgroup ingress/egress programs: 1 passes the packet, 0 drops it."""

    prog_type: ClassVar[ProgType] = ProgType.CGROUP_SKB
    name: ClassVar[str] = "cgroup_skb"
    rules: ClassVar[SkbRules] = RULES
    fields = skb_fields(RULES)
    helpers: ClassVar[frozenset[int]] = HELPERS
    l2: ClassVar[bool] = False
    ret_range: ClassVar[tuple[int, int] | None] = (0, 1)
    verdicts: ClassVar[Mapping[int, str]] = {0: "SK_DROP", 1: "SK_PASS"}
