"""``BPF_PROG_TYPE_SOCKET_FILTER``: filters attached to sockets (``SO_ATTACH_BPF``).

A socket filter sees ``struct __sk_buff`` with ``skb->data`` at the network
header (the MAC header is behind it, reachable only through
``bpf_skb_load_bytes_relative(..., BPF_HDR_START_MAC)``), and the legacy
LD_ABS/LD_IND loads read from there too. It may write ``cb[]`` only and may not
read ``data``/``data_end``/``data_meta`` (no direct packet access), ``tc_classid``,
the socket fields, ``tstamp``, ``wire_len`` or ``hwtstamp``, as the kernel's
``sk_filter_is_valid_access`` says.

The return value is the number of bytes of the packet to keep: 0 drops it, a
value at least the packet's length keeps all of it (``verdict_name`` says so).
``BPF_PROG_TEST_RUN`` only reports it; ``data_out`` is the packet with its
14-byte MAC header zeroed. The test run itself is ``_skb.SkbProgType``'s. This
module is the type's description; it does not run programs.

>>> from ebpy.progtypes import prog_type_info
>>> info = prog_type_info("socket_filter")
>>> info.verdict_name(0), info.verdict_name(64)
('drop', 'keep 64 bytes')
>>> info.access(48, 4, True)
(48, 4)
"""

from __future__ import annotations

from typing import ClassVar

from ebpy.progtypes._packet import BASE_HELPERS, helper_set
from ebpy.progtypes._skb import SOCK_FIELDS, SkbProgType, SkbRules, skb_fields
from ebpy.progtypes.base import register
from ebpy.uapi import HelperId, ProgType

RULES = SkbRules(
    denied=frozenset(
        {"tc_classid", "data", "data_meta", "data_end", "tstamp", "wire_len", "hwtstamp"}
    )
    | SOCK_FIELDS,
    writable=frozenset({"cb"}),
)
"""``sk_filter_is_valid_access``: what a socket filter may touch."""

HELPERS = helper_set(
    BASE_HELPERS,
    HelperId.SKB_LOAD_BYTES,
    HelperId.SKB_LOAD_BYTES_RELATIVE,
    HelperId.GET_SOCKET_COOKIE,
    HelperId.GET_SOCKET_UID,
    HelperId.GET_NETNS_COOKIE,
    HelperId.PERF_EVENT_OUTPUT,
)
"""``sk_filter_func_proto`` on top of the base helpers."""


@register
class SocketFilter(SkbProgType):
    """Socket filters: ``skb->data`` at the network header, return = bytes to keep."""

    prog_type: ClassVar[ProgType] = ProgType.SOCKET_FILTER
    name: ClassVar[str] = "socket_filter"
    rules: ClassVar[SkbRules] = RULES
    fields = skb_fields(RULES)
    helpers: ClassVar[frozenset[int]] = HELPERS
    l2: ClassVar[bool] = False

    def verdict_name(self, retval: int) -> str:
        """``drop`` for 0, else how many bytes the socket keeps."""
        retval &= 0xFFFFFFFF
        return "drop" if retval == 0 else f"keep {retval} bytes"


def kept_length(retval: int, packet_len: int) -> int:
    """How many bytes of a ``packet_len``-byte packet the socket keeps (``sk_filter_trim_cap``)."""
    return min(retval & 0xFFFFFFFF, packet_len)
