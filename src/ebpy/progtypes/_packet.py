"""What the packet program types share: constants, the helper base set, and run state.

The skb types (``socket_filter``, ``sched_cls``, ``sched_act``, ``cgroup_skb``,
``flow_dissector``) and ``xdp`` all run on a packet that ``BPF_PROG_TEST_RUN``
builds from ``data_in``. This module holds what they have in common:

* the sizes the kernel's test run uses (``ETH_HLEN``, the page a frame lives in,
  the tail room kept for ``struct skb_shared_info`` ...);
* ``BASE_HELPERS``, the helpers every packet type may call (the kernel's
  ``bpf_base_func_proto`` as it answers for root, checked against the running
  kernel by ``tests/kernel/test_testrun_differential.py``);
* ``PacketState``, a ``RunState`` that also records where redirect helpers sent
  the packet (``Redirect``) and the clones ``bpf_clone_redirect`` made;
* checks of ``ctx_in`` shared by the types (``bpf_ctx_init``).

It is not a program type (see ``_skb`` and ``xdp``) and holds no helper
implementations (``ebpy.helpers.skb``, ``xdp``, ``redirect`` ...).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field

from ebpy.errors import TestRunError
from ebpy.progtypes.base import RunState
from ebpy.uapi import HelperId

ETH_HLEN = 14
"""Bytes of an Ethernet header: the shortest packet a test run accepts."""
ETH_ALEN = 6
VLAN_HLEN = 4
PAGE_SIZE = 4096
SHINFO_SIZE = 320
"""``SKB_DATA_ALIGN(sizeof(struct skb_shared_info))`` on x86-64: tail room every
skb and XDP frame keeps."""
NET_SKB_PAD = 64
"""Head room ``bpf_prog_test_run_skb`` reserves in front of the packet."""
SKB_MAX_ALLOC = 4 * PAGE_SIZE - SHINFO_SIZE
"""``BPF_SKB_MAX_LEN``: the longest an skb may grow through a helper (16064)."""

ETH_P_802_3 = 0x0001
ETH_P_802_2 = 0x0004
ETH_P_802_3_MIN = 0x0600
ETH_P_IP = 0x0800
ETH_P_8021Q = 0x8100
ETH_P_8021AD = 0x88A8
ETH_P_IPV6 = 0x86DD
ETH_P_TEB = 0x6558
AF_INET = 2
AF_INET6 = 10

ENOTSUPP = 524
"""The kernel-internal ``ENOTSUPP`` some packet helpers return (not ``EOPNOTSUPP``)."""


def htons(value: int) -> int:
    """A 16-bit value as the kernel keeps a ``__be16`` in a little-endian u16."""
    value &= 0xFFFF
    return ((value & 0xFF) << 8) | (value >> 8)


ntohs = htons


_B = HelperId
BASE_HELPERS: frozenset[int] = frozenset(
    int(h)
    for h in (
        _B.MAP_LOOKUP_ELEM,
        _B.MAP_UPDATE_ELEM,
        _B.MAP_DELETE_ELEM,
        _B.MAP_PUSH_ELEM,
        _B.MAP_POP_ELEM,
        _B.MAP_PEEK_ELEM,
        _B.MAP_LOOKUP_PERCPU_ELEM,
        _B.FOR_EACH_MAP_ELEM,
        _B.TAIL_CALL,
        _B.LOOP,
        _B.STRNCMP,
        _B.STRTOL,
        _B.STRTOUL,
        _B.KTIME_GET_NS,
        _B.KTIME_GET_BOOT_NS,
        _B.KTIME_GET_COARSE_NS,
        _B.KTIME_GET_TAI_NS,
        _B.JIFFIES64,
        _B.GET_PRANDOM_U32,
        _B.GET_SMP_PROCESSOR_ID,
        _B.GET_NUMA_NODE_ID,
        _B.TRACE_PRINTK,
        _B.TRACE_VPRINTK,
        _B.SNPRINTF,
        _B.SNPRINTF_BTF,
        _B.SPIN_LOCK,
        _B.SPIN_UNLOCK,
        _B.TIMER_INIT,
        _B.TIMER_SET_CALLBACK,
        _B.TIMER_START,
        _B.TIMER_CANCEL,
        _B.KPTR_XCHG,
        _B.PER_CPU_PTR,
        _B.THIS_CPU_PTR,
        _B.RINGBUF_OUTPUT,
        _B.RINGBUF_RESERVE,
        _B.RINGBUF_SUBMIT,
        _B.RINGBUF_DISCARD,
        _B.RINGBUF_QUERY,
        _B.RINGBUF_RESERVE_DYNPTR,
        _B.RINGBUF_SUBMIT_DYNPTR,
        _B.RINGBUF_DISCARD_DYNPTR,
        _B.USER_RINGBUF_DRAIN,
        _B.DYNPTR_FROM_MEM,
        _B.DYNPTR_READ,
        _B.DYNPTR_WRITE,
        _B.DYNPTR_DATA,
        _B.PERF_EVENT_READ,
        _B.PERF_EVENT_READ_VALUE,
        _B.GET_CURRENT_PID_TGID,
        _B.GET_CURRENT_UID_GID,
        _B.GET_CURRENT_COMM,
        _B.GET_CURRENT_TASK,
        _B.GET_CURRENT_TASK_BTF,
        _B.GET_NS_CURRENT_PID_TGID,
        _B.GET_CURRENT_CGROUP_ID,
        _B.GET_CURRENT_ANCESTOR_CGROUP_ID,
        _B.CURRENT_TASK_UNDER_CGROUP,
        _B.GET_CGROUP_CLASSID,
        _B.GET_TASK_STACK,
        _B.TASK_PT_REGS,
        _B.TASK_STORAGE_GET,
        _B.TASK_STORAGE_DELETE,
        _B.FIND_VMA,
        _B.GET_BRANCH_SNAPSHOT,
        _B.SEND_SIGNAL,
        _B.SEND_SIGNAL_THREAD,
        _B.PROBE_READ_USER,
        _B.PROBE_READ_KERNEL,
        _B.PROBE_READ_USER_STR,
        _B.PROBE_READ_KERNEL_STR,
        _B.COPY_FROM_USER,
        _B.COPY_FROM_USER_TASK,
        _B.SKC_TO_TCP6_SOCK,
        _B.SKC_TO_TCP_SOCK,
        _B.SKC_TO_TCP_TIMEWAIT_SOCK,
        _B.SKC_TO_TCP_REQUEST_SOCK,
        _B.SKC_TO_UDP6_SOCK,
        _B.SKC_TO_UNIX_SOCK,
        _B.SKC_TO_MPTCP_SOCK,
    )
)
"""Helpers every packet program may call (``bpf_base_func_proto`` and
``bpf_sk_base_func_proto`` for a privileged loader)."""

SOCKET_LOOKUP_HELPERS: frozenset[int] = frozenset(
    int(h) for h in (_B.SK_LOOKUP_TCP, _B.SK_LOOKUP_UDP, _B.SK_RELEASE, _B.SKC_LOOKUP_TCP)
)
"""Socket lookups that tc, XDP and cgroup_skb programs share."""

SYNCOOKIE_HELPERS: frozenset[int] = frozenset(
    int(h)
    for h in (
        _B.TCP_CHECK_SYNCOOKIE,
        _B.TCP_GEN_SYNCOOKIE,
        _B.TCP_RAW_GEN_SYNCOOKIE_IPV4,
        _B.TCP_RAW_GEN_SYNCOOKIE_IPV6,
        _B.TCP_RAW_CHECK_SYNCOOKIE_IPV4,
        _B.TCP_RAW_CHECK_SYNCOOKIE_IPV6,
    )
)
"""SYN cookie helpers that tc and XDP programs share."""


def helper_set(*ids: int | frozenset[int]) -> frozenset[int]:
    """A frozenset of helper ids from ids and sets of ids."""
    out: set[int] = set()
    for item in ids:
        if isinstance(item, frozenset):
            out |= item
        else:
            out.add(int(item))
    return frozenset(out)


@dataclass
class Redirect:
    """Where ``bpf_redirect`` / ``bpf_redirect_map`` sent the packet.

    ``ifindex`` is the target device (for a map redirect: the device a devmap
    entry names, else the map key); ``map_id`` and ``key`` are set for map
    redirects; ``flags`` as the helper got them.
    """

    ifindex: int
    flags: int = 0
    map_id: int | None = None
    key: int | None = None


@dataclass(frozen=True)
class Clone:
    """A copy of the packet ``bpf_clone_redirect`` sent to ``ifindex``."""

    ifindex: int
    flags: int
    data: bytes


@dataclass(kw_only=True)
class PacketState(RunState):
    """A run on a packet: the context, plus what redirect helpers recorded."""

    ctx_in: bytes | None = None
    """The caller's ``ctx_in`` padded to the context size (None when not given)."""
    redirect: Redirect | None = None
    clones: list[Clone] = field(default_factory=list)


def context_in(ctx_in: bytes | None, size: int) -> bytes | None:
    """``ctx_in`` padded with zeros to ``size`` bytes, as ``bpf_ctx_init`` copies it.

    Longer input is fine when the extra bytes are zero, else ``E2BIG``.
    """
    if ctx_in is None:
        return None
    ctx_in = bytes(ctx_in)
    if len(ctx_in) > size:
        if any(ctx_in[size:]):
            raise TestRunError(errno.E2BIG, "non-zero bytes past the end of the context")
        ctx_in = ctx_in[:size]
    return ctx_in + bytes(size - len(ctx_in))


def all_zero(buf: bytes, start: int, end: int) -> bool:
    """True when ``buf[start:end]`` holds only zero bytes."""
    return not any(buf[start:end])


def pkt_type_of(dest: bytes) -> int:
    """``skb->pkt_type`` as ``eth_type_trans`` sets it on the loopback device
    (address and broadcast address all zero): HOST, MULTICAST or OTHERHOST."""
    if dest == bytes(ETH_ALEN):
        return 0  # PACKET_HOST
    if dest[0] & 1:
        return 2  # PACKET_MULTICAST (loopback's broadcast address is zero)
    return 3  # PACKET_OTHERHOST


def eth_protocol(frame: bytes | bytearray) -> int:
    """``skb->protocol`` (host order) as ``eth_type_trans`` finds it in ``frame``."""
    proto = int.from_bytes(frame[12:14], "big")
    if proto >= ETH_P_802_3_MIN:
        return proto
    if len(frame) >= ETH_HLEN + 2 and frame[ETH_HLEN : ETH_HLEN + 2] == b"\xff\xff":
        return ETH_P_802_3
    return ETH_P_802_2
