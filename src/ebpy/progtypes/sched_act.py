"""``BPF_PROG_TYPE_SCHED_ACT``: tc actions (``act_bpf``).

The kernel gives tc actions exactly what it gives tc classifiers: the same
``struct __sk_buff`` access rules (``tc_cls_act_is_valid_access``), the same
helpers (``tc_cls_act_func_proto``), the MAC header in view, and ``TC_ACT_*``
return values; only where the program is attached differs. So this type is
``sched_cls`` under another enum value. This module describes the type only.

>>> from ebpy.progtypes import prog_type_info
>>> prog_type_info("sched_act").verdict_name(7)
'TC_ACT_REDIRECT'
"""

from __future__ import annotations

from typing import ClassVar

from ebpy.progtypes.base import register
from ebpy.progtypes.sched_cls import SchedCls
from ebpy.uapi import ProgType


@register
class SchedAct(SchedCls):
    """tc actions: everything as ``SchedCls``."""

    prog_type: ClassVar[ProgType] = ProgType.SCHED_ACT
    name: ClassVar[str] = "sched_act"
