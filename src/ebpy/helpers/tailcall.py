"""``bpf_tail_call``: jump into another program of a prog_array map.

On success the helper raises ``TailCall`` and the VM runs the target program in
place of the current one with the same context (the kernel's tail call does not
return). It fails, and the program goes on, when the map is not a prog_array,
the index is out of range or empty, or 33 tail calls (``MAX_TAIL_CALL_CNT``)
were already made in this run. Not the prog_array map itself.

One difference from the kernel: a tail call made inside a bpf-to-bpf
subprogram ends the whole program here, where the kernel (x86-64 JIT) returns
from the target into the subprogram's caller.
"""

from __future__ import annotations

import errno

from ebpy.helpers.env import Runtime
from ebpy.helpers.maps import neg
from ebpy.helpers.protos import Arg, Proto
from ebpy.helpers.registry import Helper, TailCall
from ebpy.uapi import HelperId, MapType

MAX_TAIL_CALL_CNT = 33


def _tail_call(env: Runtime, ctx: int, mp: int, index: int, *_: int) -> int:
    m = env.map_at(mp)
    if m is None or m.map_type != MapType.PROG_ARRAY:
        return neg(errno.EINVAL)
    index &= 0xFFFFFFFF
    if index >= m.max_entries or env.tail_calls >= MAX_TAIL_CALL_CNT:
        return neg(errno.ENOENT)
    target = m.get_program(index)  # type: ignore[attr-defined]
    if target is None:
        return neg(errno.ENOENT)
    env.tail_calls += 1
    raise TailCall(target)


HELPERS = [
    Helper(
        HelperId.TAIL_CALL,
        "tail_call",
        _tail_call,
        Proto((Arg.PTR_TO_CTX, Arg.CONST_MAP_PTR, Arg.ANYTHING)),
    ),
]
