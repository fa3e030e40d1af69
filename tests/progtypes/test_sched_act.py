"""tc actions: everything as tc classifiers, under their own program type."""

from __future__ import annotations

import pytest

from ebpy.errors import ContextAccessError
from ebpy.isa.asm import assemble
from ebpy.progtypes import prog_type_info
from ebpy.uapi import ProgType
from ebpy.vm import Vm
from tests.progtypes.packets import udp4

ACT = prog_type_info("sched_act")
CLS = prog_type_info("sched_cls")


def test_registered_as_its_own_type() -> None:
    assert ACT.prog_type == ProgType.SCHED_ACT and ACT is not CLS
    assert ACT.name == "sched_act"
    assert ACT.helpers == CLS.helpers
    assert ACT.fields == CLS.fields


@pytest.mark.parametrize(
    ("off", "size", "write"),
    [(8, 4, True), (44, 4, True), (48, 8, False), (76, 4, False), (180, 1, False), (0, 4, True)],
)
def test_same_rules_as_sched_cls(off: int, size: int, write: bool) -> None:
    def outcome(info: object) -> object:
        try:
            return info.access(off, size, write)  # type: ignore[attr-defined]
        except ContextAccessError as exc:
            return ("denied", exc.offset, exc.size)

    assert outcome(ACT) == outcome(CLS)


def test_runs_on_the_mac_header() -> None:
    frame = udp4(b"x")
    text = "r6 = *(u32 *)(r1 +0)\nr0 = *(u16 *)skb[12]\nr0 += r6\nexit"
    res = Vm(assemble(text), prog_type="sched_act").test_run(frame)
    assert res.retval == 0x0800 + len(frame)
    assert res.data_out == frame
    assert ACT.verdict_name(2) == "TC_ACT_SHOT"
