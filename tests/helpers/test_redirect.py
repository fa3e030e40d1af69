"""Redirect helpers: verdicts, the recorded target, clones."""

from __future__ import annotations

import errno

import pytest

from ebpy.helpers.env import Runtime
from ebpy.helpers.fib import FibTable
from ebpy.helpers.linux import LINUX_HELPERS
from ebpy.isa._intmath import M64
from ebpy.isa.asm import assemble
from ebpy.maps import create_map
from ebpy.maps.array import ArrayMap
from ebpy.progtypes import prog_type_info
from ebpy.progtypes._packet import PacketState, Redirect
from ebpy.spec import MapSpec
from ebpy.uapi import MapType, TcAction, XdpAction
from ebpy.vm import Vm
from tests.progtypes.packets import udp4

PKT = udp4(b"x")


class DevMap(ArrayMap):
    """An array standing in for a devmap (``ebpy.maps`` has none yet)."""

    map_type = MapType.DEVMAP


def env_for(kind: str) -> tuple[Runtime, PacketState]:
    rt = Runtime()
    state = prog_type_info(kind).prepare(rt.memory, PKT, None)
    rt.state = state
    return rt, state  # type: ignore[return-value]


def call(rt: Runtime, name: str, *args: int) -> int:
    helper = LINUX_HELPERS.by_name(name)
    assert helper is not None
    return helper.impl(rt, *(*args, 0, 0, 0, 0, 0)[:5])


@pytest.mark.parametrize(
    ("kind", "flags", "ret", "recorded"),
    [
        ("sched_cls", 0, TcAction.REDIRECT, Redirect(5, 0)),
        ("sched_cls", 1, TcAction.REDIRECT, Redirect(5, 1)),  # BPF_F_INGRESS
        ("sched_cls", 2, TcAction.SHOT, None),
        ("xdp", 0, XdpAction.REDIRECT, Redirect(5, 0)),
        ("xdp", 1, XdpAction.ABORTED, None),
    ],
)
def test_redirect(kind: str, flags: int, ret: int, recorded: Redirect | None) -> None:
    rt, state = env_for(kind)
    assert call(rt, "redirect", 5, flags) == ret
    assert state.redirect == recorded


def test_redirect_map_hit_and_miss() -> None:
    rt, state = env_for("xdp")
    m = create_map(MapSpec(MapType.HASH, 4, 4, 8, name="targets"))
    m[(3).to_bytes(4, "little")] = (9).to_bytes(4, "little")
    rt.add_map(m)
    ptr = m.slot << 32
    assert call(rt, "redirect_map", ptr, 3, 0) == XdpAction.REDIRECT
    assert state.redirect == Redirect(3, 0, map_id=m.id, key=3)  # not a devmap: the key
    assert call(rt, "redirect_map", ptr, 4, int(XdpAction.PASS)) == XdpAction.PASS
    assert state.redirect is None
    assert call(rt, "redirect_map", ptr, 4, 0) == XdpAction.ABORTED
    assert call(rt, "redirect_map", ptr, 3, 8) == XdpAction.ABORTED  # broadcast: devmaps only


def test_redirect_map_devmap_target_and_broadcast() -> None:
    rt, state = env_for("xdp")
    m = DevMap(MapSpec(MapType.DEVMAP, 4, 4, 4, name="devs"))
    m.update_elem((1).to_bytes(4, "little"), (7).to_bytes(4, "little"))
    rt.add_map(m)
    ptr = m.slot << 32
    assert call(rt, "redirect_map", ptr, 1, 0) == XdpAction.REDIRECT
    assert state.redirect is not None and state.redirect.ifindex == 7
    assert call(rt, "redirect_map", ptr, 9, 0x18) == XdpAction.REDIRECT  # broadcast, any key
    assert state.redirect is not None and state.redirect.flags == 0x18
    assert call(rt, "redirect_map", ptr, 1, 0x40) == XdpAction.ABORTED


def test_redirect_map_not_a_map() -> None:
    rt, _ = env_for("xdp")
    assert call(rt, "redirect_map", 0x1234, 0, 0) == XdpAction.ABORTED


def test_clone_redirect() -> None:
    rt, state = env_for("sched_cls")
    assert call(rt, "clone_redirect", state.ctx_addr, 4, 1) == 0
    assert call(rt, "clone_redirect", state.ctx_addr, 0, 0) == -errno.EINVAL & M64
    assert call(rt, "clone_redirect", state.ctx_addr, 4, 2) == -errno.EINVAL & M64
    assert [(c.ifindex, c.flags, c.data) for c in state.clones] == [(4, 1, PKT)]
    rt.fib = FibTable()
    assert call(rt, "clone_redirect", state.ctx_addr, 4, 0) == -errno.EINVAL & M64  # no device 4
    assert call(rt, "clone_redirect", state.ctx_addr, 1, 0) == 0


def test_test_run_reports_the_redirect() -> None:
    text = "r1 = 3\nr2 = 0\ncall 23\nexit"
    res = Vm(assemble(text), prog_type="tc").test_run(PKT)
    assert res.retval == TcAction.REDIRECT
    assert res.runtime.state.redirect == Redirect(3, 0)
