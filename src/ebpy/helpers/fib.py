"""``bpf_fib_lookup`` against a forwarding table the caller supplies (``FibTable``).

The kernel helper asks the host's FIB and neighbour tables where a packet to
``ipv4_dst``/``ipv6_dst`` should go and fills ``struct bpf_fib_lookup`` (64
bytes) with the egress ``ifindex``, the next hop (the gateway replaces the
destination address), the route's metric, the MAC addresses to write and the
MTU. Here the tables are a ``FibTable`` on ``Runtime.fib``: routes by prefix
(longest prefix, then lowest metric, wins), each carrying its egress ifindex,
gateway, source and next-hop MAC (``dmac=None``: no neighbour entry), MTU,
metric and type.

Semantics as Linux 6.1's ``bpf_xdp_fib_lookup``/``bpf_skb_fib_lookup``:
``plen`` below 64 or unknown flags give ``-EINVAL`` (``BPF_FIB_LOOKUP_DIRECT``,
``OUTPUT`` and the later ``SKIP_NEIGH`` are known; DIRECT changes nothing with
one table, OUTPUT only matches routes out of ``ifindex``); a family other than
AF_INET/AF_INET6 gives ``-EAFNOSUPPORT``; an ``ifindex`` the table does not know
``-ENODEV``. Then the ``BPF_FIB_LKUP_RET_*`` codes: ``FWD_DISABLED`` (forwarding
off on the input device), ``NOT_FWDED`` (no route, or not unicast),
``BLACKHOLE``/``UNREACHABLE``/``PROHIBIT`` routes, ``FRAG_NEEDED`` (``tot_len``
above the MTU, which goes to ``mtu_result``; from tc without ``tot_len``, a
packet longer than MTU + 18), ``NO_NEIGH`` (after ``ifindex``, metric and
gateway were written, as the kernel leaves them) and ``SUCCESS``. XDP always
checks the MTU (``tot_len`` 0 passes) and reports it in ``mtu_result``.

>>> t = FibTable()
>>> r = t.add("10.0.0.0/8", ifindex=2, gateway="10.0.0.1", dmac=bytes(6), mtu=1500)
>>> t.lookup("10.1.2.3") is r, t.lookup("192.168.0.1")
(True, None)
"""

from __future__ import annotations

import enum
import errno
import ipaddress
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

from ebpy.helpers.env import Runtime
from ebpy.helpers.maps import neg
from ebpy.helpers.protos import Arg, Proto
from ebpy.helpers.registry import Helper
from ebpy.helpers.skb import skb_of
from ebpy.isa._intmath import M32, M64, s32
from ebpy.progtypes._packet import AF_INET, AF_INET6, ETH_HLEN, VLAN_HLEN
from ebpy.progtypes.xdp import XdpState
from ebpy.uapi import (
    BPF_FIB_LKUP_RET_BLACKHOLE,
    BPF_FIB_LKUP_RET_FRAG_NEEDED,
    BPF_FIB_LKUP_RET_FWD_DISABLED,
    BPF_FIB_LKUP_RET_NO_NEIGH,
    BPF_FIB_LKUP_RET_NOT_FWDED,
    BPF_FIB_LKUP_RET_PROHIBIT,
    BPF_FIB_LKUP_RET_SUCCESS,
    BPF_FIB_LKUP_RET_UNREACHABLE,
    BPF_FIB_LOOKUP_DIRECT,
    BPF_FIB_LOOKUP_OUTPUT,
    BPF_FIB_LOOKUP_SKIP_NEIGH,
    HelperId,
)

FIB_LOOKUP_SIZE = 64
"""``sizeof(struct bpf_fib_lookup)``."""
KNOWN_FLAGS = BPF_FIB_LOOKUP_DIRECT | BPF_FIB_LOOKUP_OUTPUT | BPF_FIB_LOOKUP_SKIP_NEIGH

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RouteType(enum.IntEnum):
    """The kernel's ``RTN_*`` route types a lookup can meet."""

    UNICAST = 1
    LOCAL = 2
    BROADCAST = 3
    ANYCAST = 4
    MULTICAST = 5
    BLACKHOLE = 6
    UNREACHABLE = 7
    PROHIBIT = 8


_TYPE_RESULT = {
    RouteType.BLACKHOLE: BPF_FIB_LKUP_RET_BLACKHOLE,
    RouteType.UNREACHABLE: BPF_FIB_LKUP_RET_UNREACHABLE,
    RouteType.PROHIBIT: BPF_FIB_LKUP_RET_PROHIBIT,
}


@dataclass(frozen=True)
class Route:
    """One route: where packets to ``prefix`` leave and how to address the next hop."""

    prefix: Network
    ifindex: int
    gateway: Address | None = None
    smac: bytes = bytes(6)
    """The egress device's MAC address."""
    dmac: bytes | None = None
    """The next hop's MAC address; None when the neighbour is unknown (NO_NEIGH)."""
    mtu: int = 1500
    metric: int = 0
    type: RouteType = RouteType.UNICAST


@dataclass
class FibTable:
    """Routes for ``bpf_fib_lookup``, plus the devices they may be asked about."""

    routes: list[Route] = field(default_factory=list)
    devices: set[int] = field(default_factory=lambda: {1})
    """Interfaces that exist (routes' interfaces are added too); 1 is loopback."""
    no_forwarding: set[int] = field(default_factory=set)
    """Interfaces with forwarding turned off (lookups from them: FWD_DISABLED)."""

    def add(
        self,
        prefix: str | Network,
        ifindex: int,
        gateway: str | Address | None = None,
        smac: bytes = bytes(6),
        dmac: bytes | None = None,
        mtu: int = 1500,
        metric: int = 0,
        type: RouteType = RouteType.UNICAST,
    ) -> Route:
        """Add a route (``prefix`` like ``"10.0.0.0/8"`` or ``"2001:db8::/32"``)."""
        net = ipaddress.ip_network(prefix, strict=False) if isinstance(prefix, str) else prefix
        gw = ipaddress.ip_address(gateway) if isinstance(gateway, str) else gateway
        route = Route(net, ifindex, gw, bytes(smac), None if dmac is None else bytes(dmac), mtu, metric, type)  # fmt: skip
        self.routes.append(route)
        self.devices.add(ifindex)
        return route

    def extend(self, routes: Iterable[Route]) -> None:
        for r in routes:
            self.routes.append(r)
            self.devices.add(r.ifindex)

    def lookup(self, address: str | Address, oif: int | None = None) -> Route | None:
        """The best route to ``address`` (only routes out of ``oif`` when given)."""
        addr = ipaddress.ip_address(address) if isinstance(address, str) else address
        best: Route | None = None
        for r in self.routes:
            if r.prefix.version != addr.version or addr not in r.prefix:
                continue
            if oif is not None and r.ifindex != oif:
                continue
            if best is None or (r.prefix.prefixlen, -r.metric) > (
                best.prefix.prefixlen,
                -best.metric,
            ):
                best = r
        return best

    def knows(self, ifindex: int) -> bool:
        return ifindex in self.devices or any(r.ifindex == ifindex for r in self.routes)


class _Params:
    """``struct bpf_fib_lookup`` as bytes, with the fields the helper uses."""

    def __init__(self, raw: bytes) -> None:
        self.raw = bytearray(raw)

    def u8(self, off: int) -> int:
        return self.raw[off]

    def u16(self, off: int) -> int:
        value: int = struct.unpack_from("<H", self.raw, off)[0]
        return value

    def u32(self, off: int) -> int:
        value: int = struct.unpack_from("<I", self.raw, off)[0]
        return value

    def put16(self, off: int, value: int) -> None:
        struct.pack_into("<H", self.raw, off, value & 0xFFFF)

    def put32(self, off: int, value: int) -> None:
        struct.pack_into("<I", self.raw, off, value & M32)


def _lookup(p: _Params, table: FibTable, flags: int, check_mtu: bool) -> tuple[int, Route | None]:
    """The ``BPF_FIB_LKUP_RET_*`` code (or -errno) and the route taken; ``p`` is updated."""
    family = p.u8(0)
    ifindex = p.u32(8)
    if not table.knows(ifindex):
        return neg(errno.ENODEV), None
    if ifindex in table.no_forwarding:
        return BPF_FIB_LKUP_RET_FWD_DISABLED, None
    dst: Address
    if family == AF_INET:
        dst = ipaddress.IPv4Address(bytes(p.raw[32:36]))
    else:
        dst = ipaddress.IPv6Address(bytes(p.raw[32:48]))
    route = table.lookup(dst, ifindex if flags & BPF_FIB_LOOKUP_OUTPUT else None)
    if route is None:
        return BPF_FIB_LKUP_RET_NOT_FWDED, None
    if route.type != RouteType.UNICAST:
        return _TYPE_RESULT.get(route.type, BPF_FIB_LKUP_RET_NOT_FWDED), route
    mtu = 0
    if check_mtu:
        mtu = route.mtu
        if p.u16(6) > mtu:
            p.put16(6, mtu)
            return BPF_FIB_LKUP_RET_FRAG_NEEDED, route
    p.put32(12, route.metric)
    p.put32(8, route.ifindex)
    gw = route.gateway
    if gw is not None and gw.version == 4:
        p.raw[32:36] = gw.packed
    elif gw is not None:
        p.raw[0] = AF_INET6
        p.raw[32:48] = gw.packed
    if not flags & BPF_FIB_LOOKUP_SKIP_NEIGH:
        if route.dmac is None:
            return BPF_FIB_LKUP_RET_NO_NEIGH, route
        p.raw[58:64] = route.dmac[:6].ljust(6, b"\0")
        p.raw[52:58] = route.smac[:6].ljust(6, b"\0")
    p.put32(48, 0)  # h_vlan_proto, h_vlan_TCI
    if mtu:
        p.put16(6, mtu)
    return BPF_FIB_LKUP_RET_SUCCESS, route


def _fib_lookup(env: Runtime, _ctx: int, params: int, plen: int, flags: int, *_: int) -> int:
    if s32(plen) < FIB_LOOKUP_SIZE or flags & M32 & ~KNOWN_FLAGS:
        return neg(errno.EINVAL)
    p = _Params(env.memory.read(params, FIB_LOOKUP_SIZE))
    if p.u8(0) not in (AF_INET, AF_INET6):
        return neg(errno.EAFNOSUPPORT)
    table = env.fib if isinstance(env.fib, FibTable) else FibTable()
    is_xdp = isinstance(env.state, XdpState)
    check_mtu = is_xdp or p.u16(6) != 0
    rc, route = _lookup(p, table, flags & M32, check_mtu)
    skb = skb_of(env)
    if rc == BPF_FIB_LKUP_RET_SUCCESS and not check_mtu and skb is not None and route:
        # is_skb_forwardable(): the device MTU plus an Ethernet and a VLAN header
        if skb.length > route.mtu + ETH_HLEN + VLAN_HLEN and not skb.field("gso_size"):
            rc = BPF_FIB_LKUP_RET_FRAG_NEEDED
        p.put16(6, route.mtu)
    env.memory.write(params, bytes(p.raw))
    return rc & M64


HELPERS = [
    Helper(
        HelperId.FIB_LOOKUP,
        "fib_lookup",
        _fib_lookup,
        Proto((Arg.PTR_TO_CTX, Arg.PTR_TO_MEM, Arg.CONST_SIZE, Arg.ANYTHING)),
    ),
]
"""``bpf_fib_lookup``."""
