"""The bpf_conformance suite's own helper table.

The suite's plugin contract defines helper 5 as "unwind": it returns its first
argument, and when that argument is 0 the program stops at once with r0 = 0.
This is not a Linux helper (5 is ``ktime_get_ns`` there); use this table only
for the conformance plugin.
"""

from __future__ import annotations

from ebpy.helpers.registry import Helper, HelperEnv, HelperTable, StopProgram

UNWIND_ID = 5


def _unwind(env: HelperEnv, r1: int, *_: int) -> int:
    if r1 == 0:
        raise StopProgram(0)
    return r1


CONFORMANCE_HELPERS = HelperTable([Helper(UNWIND_ID, "unwind", _unwind)])
