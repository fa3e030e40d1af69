"""The ``SEC()`` naming conventions of libbpf 1.x: section name -> program type.

One table, ``SECTION_DEFS``, in libbpf's order of precedence (the first match
wins). A prefix ending in ``+`` matches the name itself or the name followed
by ``/`` and an attach target (``kprobe/do_sys_open``); any other prefix must
match exactly. Entries marked ``legacy`` also match as plain prefixes in a
second pass, as libbpf before 1.0 allowed (``classifier_foo``, ``xdp_prog``),
so iproute2-style objects load too. ``.s`` variants are sleepable and
``xdp.frags`` sets ``BPF_F_XDP_HAS_FRAGS``.

Program and attach types are ``ebpy.uapi`` members where the generated uapi
names them; conventions that newer kernels added (netfilter, tcx, netkit,
uprobe multi, kprobe session, unix socket hooks, struct_ops) carry this
kernel's numbers, named in ``NEWER_PROG_TYPES`` / ``NEWER_ATTACH_TYPES``.

This module only names things: it does not load or attach.

>>> info = match_section("kretprobe/tcp_sendmsg")
>>> info.prog_type.name, info.attach_to, info.convention
('KPROBE', 'tcp_sendmsg', 'kretprobe')
>>> match_section("tcx/ingress").expected_attach_type
46
>>> match_section("my_section").prog_type
<ProgType.UNSPEC: 0>
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag

from ebpy.uapi import AttachType, ProgLoadFlags, ProgType

NEWER_PROG_TYPES = {"NETFILTER": 32}
"""``enum bpf_prog_type`` values past the generated uapi (Linux 6.4+)."""

NEWER_ATTACH_TYPES = {
    "STRUCT_OPS": 44,
    "NETFILTER": 45,
    "TCX_INGRESS": 46,
    "TCX_EGRESS": 47,
    "TRACE_UPROBE_MULTI": 48,
    "CGROUP_UNIX_CONNECT": 49,
    "CGROUP_UNIX_SENDMSG": 50,
    "CGROUP_UNIX_RECVMSG": 51,
    "CGROUP_UNIX_GETPEERNAME": 52,
    "CGROUP_UNIX_GETSOCKNAME": 53,
    "NETKIT_PRIMARY": 54,
    "NETKIT_PEER": 55,
    "TRACE_KPROBE_SESSION": 56,
    "TRACE_UPROBE_SESSION": 57,
}
"""``enum bpf_attach_type`` values past the generated uapi (this kernel's BTF)."""


class SecFlag(IntFlag):
    """What a convention implies beyond its types."""

    NONE = 0
    SLEEPABLE = 1
    """``.s`` variants: loaded with ``BPF_F_SLEEPABLE``."""
    XDP_FRAGS = 2
    """``xdp.frags``: loaded with ``BPF_F_XDP_HAS_FRAGS``."""
    ATTACH_BTF = 4
    """The target is a kernel BTF function or type (fentry, lsm, iter ...)."""
    LEGACY = 8
    """Also matched as a plain prefix (libbpf before 1.0, iproute2)."""


def _prog(name: str) -> int:
    if name in ProgType.__members__:
        return ProgType[name]
    return NEWER_PROG_TYPES[name]


def _attach(name: str | None) -> int | None:
    if name is None:
        return None
    if name in AttachType.__members__:
        return AttachType[name]
    return NEWER_ATTACH_TYPES[name]


@dataclass(frozen=True, slots=True)
class SectionDef:
    """One convention: ``prefix`` (``+`` = a target may follow after ``/``)."""

    prefix: str
    prog_type: int
    expected_attach_type: int | None
    flags: SecFlag = SecFlag.NONE

    @property
    def convention(self) -> str:
        return self.prefix.rstrip("+")

    def match(self, name: str) -> str | None:
        """The attach target when ``name`` follows this convention, else None."""
        if self.prefix.endswith("+"):
            base = self.prefix[:-1]
            if name == base:
                return ""
            if name.startswith(base + "/"):
                return name[len(base) + 1 :]
            return None
        return "" if name == self.prefix else None

    @property
    def load_flags(self) -> int:
        """The ``BPF_PROG_LOAD`` flags this convention sets."""
        out = 0
        if self.flags & SecFlag.SLEEPABLE:
            out |= ProgLoadFlags.SLEEPABLE
        if self.flags & SecFlag.XDP_FRAGS:
            out |= ProgLoadFlags.XDP_HAS_FRAGS
        return int(out)


_S, _F, _B, _L = SecFlag.SLEEPABLE, SecFlag.XDP_FRAGS, SecFlag.ATTACH_BTF, SecFlag.LEGACY

# (prefix, program type, expected attach type, flags), in libbpf's order.
_TABLE: tuple[tuple[str, str, str | None, SecFlag], ...] = (
    ("socket", "SOCKET_FILTER", None, _L),
    ("sk_reuseport/migrate", "SK_REUSEPORT", "SK_REUSEPORT_SELECT_OR_MIGRATE", _L),
    ("sk_reuseport", "SK_REUSEPORT", "SK_REUSEPORT_SELECT", _L),
    ("kprobe+", "KPROBE", None, SecFlag.NONE),
    ("uprobe+", "KPROBE", None, SecFlag.NONE),
    ("uprobe.s+", "KPROBE", None, _S),
    ("kretprobe+", "KPROBE", None, SecFlag.NONE),
    ("uretprobe+", "KPROBE", None, SecFlag.NONE),
    ("uretprobe.s+", "KPROBE", None, _S),
    ("kprobe.multi+", "KPROBE", "TRACE_KPROBE_MULTI", SecFlag.NONE),
    ("kretprobe.multi+", "KPROBE", "TRACE_KPROBE_MULTI", SecFlag.NONE),
    ("kprobe.session+", "KPROBE", "TRACE_KPROBE_SESSION", SecFlag.NONE),
    ("uprobe.multi+", "KPROBE", "TRACE_UPROBE_MULTI", SecFlag.NONE),
    ("uretprobe.multi+", "KPROBE", "TRACE_UPROBE_MULTI", SecFlag.NONE),
    ("uprobe.multi.s+", "KPROBE", "TRACE_UPROBE_MULTI", _S),
    ("uretprobe.multi.s+", "KPROBE", "TRACE_UPROBE_MULTI", _S),
    ("uprobe.session+", "KPROBE", "TRACE_UPROBE_SESSION", SecFlag.NONE),
    ("uprobe.session.s+", "KPROBE", "TRACE_UPROBE_SESSION", _S),
    ("ksyscall+", "KPROBE", None, SecFlag.NONE),
    ("kretsyscall+", "KPROBE", None, SecFlag.NONE),
    ("usdt+", "KPROBE", None, SecFlag.NONE),
    ("usdt.s+", "KPROBE", None, _S),
    ("tc/ingress", "SCHED_CLS", "TCX_INGRESS", SecFlag.NONE),
    ("tc/egress", "SCHED_CLS", "TCX_EGRESS", SecFlag.NONE),
    ("tcx/ingress", "SCHED_CLS", "TCX_INGRESS", SecFlag.NONE),
    ("tcx/egress", "SCHED_CLS", "TCX_EGRESS", SecFlag.NONE),
    ("tc", "SCHED_CLS", None, _L),
    ("classifier", "SCHED_CLS", None, _L),
    ("action", "SCHED_ACT", None, _L),
    ("netkit/primary", "SCHED_CLS", "NETKIT_PRIMARY", SecFlag.NONE),
    ("netkit/peer", "SCHED_CLS", "NETKIT_PEER", SecFlag.NONE),
    ("tracepoint+", "TRACEPOINT", None, SecFlag.NONE),
    ("tp+", "TRACEPOINT", None, SecFlag.NONE),
    ("raw_tracepoint+", "RAW_TRACEPOINT", None, SecFlag.NONE),
    ("raw_tp+", "RAW_TRACEPOINT", None, SecFlag.NONE),
    ("raw_tracepoint.w+", "RAW_TRACEPOINT_WRITABLE", None, SecFlag.NONE),
    ("raw_tp.w+", "RAW_TRACEPOINT_WRITABLE", None, SecFlag.NONE),
    ("tp_btf+", "TRACING", "TRACE_RAW_TP", _B),
    ("fentry+", "TRACING", "TRACE_FENTRY", _B),
    ("fmod_ret+", "TRACING", "MODIFY_RETURN", _B),
    ("fexit+", "TRACING", "TRACE_FEXIT", _B),
    ("fentry.s+", "TRACING", "TRACE_FENTRY", _B | _S),
    ("fmod_ret.s+", "TRACING", "MODIFY_RETURN", _B | _S),
    ("fexit.s+", "TRACING", "TRACE_FEXIT", _B | _S),
    ("freplace+", "EXT", None, _B),
    ("lsm+", "LSM", "LSM_MAC", _B),
    ("lsm.s+", "LSM", "LSM_MAC", _B | _S),
    ("lsm_cgroup+", "LSM", "LSM_CGROUP", _B),
    ("iter+", "TRACING", "TRACE_ITER", _B),
    ("iter.s+", "TRACING", "TRACE_ITER", _B | _S),
    ("syscall", "SYSCALL", None, _S),
    ("xdp.frags/devmap", "XDP", "XDP_DEVMAP", _F),
    ("xdp/devmap", "XDP", "XDP_DEVMAP", SecFlag.NONE),
    ("xdp.frags/cpumap", "XDP", "XDP_CPUMAP", _F),
    ("xdp/cpumap", "XDP", "XDP_CPUMAP", SecFlag.NONE),
    ("xdp.frags", "XDP", "XDP", _F),
    ("xdp", "XDP", "XDP", _L),
    ("perf_event", "PERF_EVENT", None, _L),
    ("lwt_in", "LWT_IN", None, _L),
    ("lwt_out", "LWT_OUT", None, _L),
    ("lwt_xmit", "LWT_XMIT", None, _L),
    ("lwt_seg6local", "LWT_SEG6LOCAL", None, _L),
    ("sockops", "SOCK_OPS", "CGROUP_SOCK_OPS", _L),
    ("sk_skb/stream_parser", "SK_SKB", "SK_SKB_STREAM_PARSER", _L),
    ("sk_skb/stream_verdict", "SK_SKB", "SK_SKB_STREAM_VERDICT", _L),
    ("sk_skb/verdict", "SK_SKB", "SK_SKB_VERDICT", _L),
    ("sk_skb", "SK_SKB", None, _L),
    ("sk_msg", "SK_MSG", "SK_MSG_VERDICT", _L),
    ("lirc_mode2", "LIRC_MODE2", "LIRC_MODE2", _L),
    ("flow_dissector", "FLOW_DISSECTOR", "FLOW_DISSECTOR", _L),
    ("cgroup_skb/ingress", "CGROUP_SKB", "CGROUP_INET_INGRESS", _L),
    ("cgroup_skb/egress", "CGROUP_SKB", "CGROUP_INET_EGRESS", _L),
    ("cgroup/skb", "CGROUP_SKB", None, _L),
    ("cgroup/sock_create", "CGROUP_SOCK", "CGROUP_INET_SOCK_CREATE", _L),
    ("cgroup/sock_release", "CGROUP_SOCK", "CGROUP_INET_SOCK_RELEASE", _L),
    ("cgroup/sock", "CGROUP_SOCK", "CGROUP_INET_SOCK_CREATE", _L),
    ("cgroup/post_bind4", "CGROUP_SOCK", "CGROUP_INET4_POST_BIND", _L),
    ("cgroup/post_bind6", "CGROUP_SOCK", "CGROUP_INET6_POST_BIND", _L),
    ("cgroup/bind4", "CGROUP_SOCK_ADDR", "CGROUP_INET4_BIND", _L),
    ("cgroup/bind6", "CGROUP_SOCK_ADDR", "CGROUP_INET6_BIND", _L),
    ("cgroup/connect4", "CGROUP_SOCK_ADDR", "CGROUP_INET4_CONNECT", _L),
    ("cgroup/connect6", "CGROUP_SOCK_ADDR", "CGROUP_INET6_CONNECT", _L),
    ("cgroup/connect_unix", "CGROUP_SOCK_ADDR", "CGROUP_UNIX_CONNECT", SecFlag.NONE),
    ("cgroup/sendmsg4", "CGROUP_SOCK_ADDR", "CGROUP_UDP4_SENDMSG", _L),
    ("cgroup/sendmsg6", "CGROUP_SOCK_ADDR", "CGROUP_UDP6_SENDMSG", _L),
    ("cgroup/sendmsg_unix", "CGROUP_SOCK_ADDR", "CGROUP_UNIX_SENDMSG", SecFlag.NONE),
    ("cgroup/recvmsg4", "CGROUP_SOCK_ADDR", "CGROUP_UDP4_RECVMSG", _L),
    ("cgroup/recvmsg6", "CGROUP_SOCK_ADDR", "CGROUP_UDP6_RECVMSG", _L),
    ("cgroup/recvmsg_unix", "CGROUP_SOCK_ADDR", "CGROUP_UNIX_RECVMSG", SecFlag.NONE),
    ("cgroup/getpeername4", "CGROUP_SOCK_ADDR", "CGROUP_INET4_GETPEERNAME", _L),
    ("cgroup/getpeername6", "CGROUP_SOCK_ADDR", "CGROUP_INET6_GETPEERNAME", _L),
    ("cgroup/getpeername_unix", "CGROUP_SOCK_ADDR", "CGROUP_UNIX_GETPEERNAME", SecFlag.NONE),
    ("cgroup/getsockname4", "CGROUP_SOCK_ADDR", "CGROUP_INET4_GETSOCKNAME", _L),
    ("cgroup/getsockname6", "CGROUP_SOCK_ADDR", "CGROUP_INET6_GETSOCKNAME", _L),
    ("cgroup/getsockname_unix", "CGROUP_SOCK_ADDR", "CGROUP_UNIX_GETSOCKNAME", SecFlag.NONE),
    ("cgroup/sysctl", "CGROUP_SYSCTL", "CGROUP_SYSCTL", _L),
    ("cgroup/getsockopt", "CGROUP_SOCKOPT", "CGROUP_GETSOCKOPT", _L),
    ("cgroup/setsockopt", "CGROUP_SOCKOPT", "CGROUP_SETSOCKOPT", _L),
    ("cgroup/dev", "CGROUP_DEVICE", "CGROUP_DEVICE", _L),
    ("struct_ops+", "STRUCT_OPS", None, SecFlag.NONE),
    ("struct_ops.s+", "STRUCT_OPS", None, _S),
    ("sk_lookup", "SK_LOOKUP", "SK_LOOKUP", SecFlag.NONE),
    ("netfilter", "NETFILTER", "NETFILTER", SecFlag.NONE),
)

SECTION_DEFS: tuple[SectionDef, ...] = tuple(
    SectionDef(prefix, _prog(prog), _attach(attach), flags)
    for prefix, prog, attach, flags in _TABLE
)
"""Every convention, in libbpf's order of precedence."""

SECTION_BY_PREFIX: dict[str, SectionDef] = {d.prefix: d for d in SECTION_DEFS}
"""The registry by prefix as written in the table (``kprobe+``, ``xdp``)."""

UNKNOWN = SectionDef("", ProgType.UNSPEC, None)
"""What a section of no known convention gets: a program of unknown type."""


@dataclass(frozen=True, slots=True)
class SectionInfo:
    """What a section name says about its programs."""

    section: str
    definition: SectionDef
    attach_to: str

    @property
    def prog_type(self) -> int:
        return self.definition.prog_type

    @property
    def expected_attach_type(self) -> int | None:
        return self.definition.expected_attach_type

    @property
    def convention(self) -> str:
        return self.definition.convention

    @property
    def load_flags(self) -> int:
        return self.definition.load_flags

    @property
    def known(self) -> bool:
        return self.definition is not UNKNOWN


def match_section(name: str) -> SectionInfo:
    """The convention ``name`` follows (libbpf's first match), or ``UNKNOWN``.

    >>> match_section("xdp.frags").load_flags
    32
    >>> match_section("tracepoint/syscalls/sys_enter_write").attach_to
    'syscalls/sys_enter_write'
    >>> match_section("classifier_ingress").convention
    'classifier'
    """
    for d in SECTION_DEFS:
        target = d.match(name)
        if target is not None:
            return SectionInfo(name, d, target)
    # libbpf before 1.0 (and iproute2's conventional names): plain prefixes.
    for d in SECTION_DEFS:
        if d.flags & SecFlag.LEGACY and name.startswith(d.prefix):
            return SectionInfo(name, d, "")
    return SectionInfo(name, UNKNOWN, "")
