"""Stack helpers: ``bpf_get_stackid`` and ``bpf_get_stack``.

There is no real call stack under a program run here, so the caller supplies
the current task's stacks in the run's ``Runtime.extra``: ``"stack"`` (the
kernel stack) and ``"user_stack"`` (used with ``BPF_F_USER_STACK``), each a
list of u64 instruction pointers, innermost first. A missing stack is an empty
one. Both helpers take up to ``value_size / entry size`` (or ``size / entry
size``) frames after skipping ``flags & BPF_F_SKIP_FIELD_MASK``, never more
than the kernel's ``perf_event_max_stack`` (127) in all.

``get_stackid(ctx, map, flags)`` files the stack in a stack trace map and
returns its id (``ebpy.maps.stack_trace`` holds the id and collision rules).
``get_stack(ctx, buf, size, flags)`` copies the ips into ``buf`` and zeroes the
rest, returning the bytes copied; like the kernel it returns ``-EINVAL`` for
bad flags, ``BPF_F_USER_BUILD_ID`` without ``BPF_F_USER_STACK``, or a size that
is not a multiple of the entry size, and ``-EFAULT`` when the stack is shorter
than the skip, zeroing ``buf`` in every error case. With ``BPF_F_USER_BUILD_ID``
entries are 32-byte ``struct bpf_stack_build_id`` in their no-build-id form.

Not the stack trace map, and not where stacks come from.
"""

from __future__ import annotations

import errno
import struct

from ebpy.helpers.env import Runtime
from ebpy.helpers.maps import neg
from ebpy.helpers.protos import Arg, Proto
from ebpy.helpers.registry import Helper
from ebpy.isa._intmath import M32, M64
from ebpy.maps.stack_trace import (
    BPF_F_SKIP_FIELD_MASK,
    BPF_F_USER_BUILD_ID,
    BPF_F_USER_STACK,
    BUILD_ID_ENTRY_SIZE,
    MAX_STACK,
    StackTraceMap,
    build_id_entries,
)
from ebpy.uapi import HelperId

GET_STACK_FLAGS = BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_USER_BUILD_ID
"""The flags ``bpf_get_stack`` accepts."""


def current_stack(env: Runtime, flags: int) -> list[int]:
    """The stack the run's caller supplied: the user one with ``BPF_F_USER_STACK``."""
    key = "user_stack" if flags & BPF_F_USER_STACK else "stack"
    frames = env.extra.get(key) or ()
    return [int(ip) & M64 for ip in frames]


def _get_stackid(env: Runtime, ctx: int, mp: int, flags: int, *_: int) -> int:
    m = env.map_at(mp)
    if not isinstance(m, StackTraceMap):
        return neg(errno.EINVAL)
    return m.get_stackid(current_stack(env, flags), flags) & M64


def stack_bytes(stack: list[int], size: int, flags: int) -> bytes | int:
    """What ``bpf_get_stack`` copies for ``stack`` into ``size`` bytes, or ``-errno``."""
    user = bool(flags & BPF_F_USER_STACK)
    build_id = bool(flags & BPF_F_USER_BUILD_ID)
    if flags & ~GET_STACK_FLAGS or (build_id and not user):
        return -errno.EINVAL
    entry = BUILD_ID_ENTRY_SIZE if build_id else 8
    if size % entry:
        return -errno.EINVAL
    wanted = size // entry
    skip = flags & BPF_F_SKIP_FIELD_MASK
    trace = stack[: min(wanted + skip, MAX_STACK)]
    if len(trace) < skip:
        return -errno.EFAULT
    ips = trace[skip:][:wanted]
    return build_id_entries(ips) if build_id else struct.pack(f"<{len(ips)}Q", *ips)


def _get_stack(env: Runtime, ctx: int, buf: int, size: int, flags: int, *_: int) -> int:
    size &= M32
    got = stack_bytes(current_stack(env, flags), size, flags)
    data = b"" if isinstance(got, int) else got
    if size:
        env.memory.write(buf, data + bytes(size - len(data)))
    return got & M64 if isinstance(got, int) else len(data)


HELPERS = [
    Helper(
        HelperId.GET_STACKID,
        "get_stackid",
        _get_stackid,
        Proto((Arg.PTR_TO_CTX, Arg.CONST_MAP_PTR, Arg.ANYTHING), gpl_only=True),
    ),
    Helper(
        HelperId.GET_STACK,
        "get_stack",
        _get_stack,
        Proto(
            (Arg.PTR_TO_CTX, Arg.PTR_TO_UNINIT_MEM, Arg.CONST_SIZE_OR_ZERO, Arg.ANYTHING),
            gpl_only=True,
        ),
    ),
]
"""get_stackid and get_stack, in id order."""
