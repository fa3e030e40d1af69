"""Synchronisation and looping helpers: bpf_spin_lock, bpf_spin_unlock, bpf_loop.

A ``struct bpf_spin_lock`` is a u32 inside a map value: ``bpf_spin_lock``
sets it to 1 and ``bpf_spin_unlock`` back to 0. One run executes on one
thread and the kernel's verifier allows a program to hold one lock at a time
and call no helper but the unlock while it does, so a program that takes a
lock it (or an earlier, unfinished run) already holds, takes a second lock,
or releases a lock it does not hold would deadlock or be rejected in the
kernel; here it stops with a ``VmError``. The verifier's other rule, that
every lock is released before ``exit``, is not checked (the helper never sees
the exit). A lock word outside a map value is a ``VmError`` too.

``bpf_loop(nr_loops, callback, ctx, flags)`` calls the BPF subprogram
``callback(index, ctx)`` through ``env.extra["invoke"]`` (set by the VM) up
to ``nr_loops`` times (at most ``1 << 23``, else ``-E2BIG``; ``flags`` must be
0, else ``-EINVAL``), stops early when it returns non-zero, and returns the
number of calls made. Not the interpreter itself.
"""

from __future__ import annotations

import errno

from ebpy.errors import VmError
from ebpy.helpers.env import Runtime
from ebpy.helpers.maps import neg
from ebpy.helpers.protos import Arg, Proto, Ret
from ebpy.helpers.registry import Helper
from ebpy.isa._intmath import M32, M64
from ebpy.memory import RegionKind
from ebpy.uapi import HelperId

BPF_MAX_LOOPS = 1 << 23
"""The most iterations ``bpf_loop`` accepts."""

_HELD = "spin_locks_held"


def _lock_word(env: Runtime, addr: int, what: str) -> int:
    """Check that ``addr`` is an aligned u32 inside a map value; its current value."""
    addr &= M64
    region = env.memory.region_at(addr)
    if region is None or region.kind is not RegionKind.MAP_VALUE or addr % 4:
        raise VmError(f"{what}: {addr:#x} is not a bpf_spin_lock in a map value")
    return int.from_bytes(env.memory.read(addr, 4), "little")


def _held(env: Runtime) -> set[int]:
    held: set[int] = env.extra.setdefault(_HELD, set())
    return held


def _spin_lock(env: Runtime, lock: int, *_: int) -> int:
    """bpf_spin_lock: take the lock at ``lock`` (a u32 in a map value)."""
    addr = lock & M64
    held = _held(env)
    if addr in held:
        raise VmError(f"bpf_spin_lock: deadlock: the lock at {addr:#x} is already held")
    if held:
        raise VmError("bpf_spin_lock: a lock is already held (only one at a time)")
    if _lock_word(env, addr, "bpf_spin_lock"):
        raise VmError(f"bpf_spin_lock: deadlock: the lock at {addr:#x} was never released")
    env.memory.write(addr, (1).to_bytes(4, "little"))
    held.add(addr)
    return 0


def _spin_unlock(env: Runtime, lock: int, *_: int) -> int:
    """bpf_spin_unlock: release the lock this run holds at ``lock``."""
    addr = lock & M64
    held = _held(env)
    _lock_word(env, addr, "bpf_spin_unlock")
    if addr not in held:
        raise VmError(f"bpf_spin_unlock: the lock at {addr:#x} is not held")
    env.memory.write(addr, bytes(4))
    held.discard(addr)
    return 0


def locks_held(env: Runtime) -> frozenset[int]:
    """Addresses of the spin locks the run still holds (to check after it ends)."""
    return frozenset(env.extra.get(_HELD, ()))


def _loop(env: Runtime, nr_loops: int, callback: int, ctx: int, flags: int, *_: int) -> int:
    """bpf_loop: the number of callback calls made, or -EINVAL/-E2BIG."""
    nr_loops &= M32
    if flags:
        return neg(errno.EINVAL)
    if nr_loops > BPF_MAX_LOOPS:
        return neg(errno.E2BIG)
    invoke = env.extra.get("invoke")
    if invoke is None:
        return neg(errno.EINVAL)
    for index in range(nr_loops):
        if int(invoke(callback, index, ctx, 0, 0, 0)) & M64:
            return index + 1
    return nr_loops


HELPERS = [
    Helper(
        HelperId.SPIN_LOCK,
        "spin_lock",
        _spin_lock,
        Proto((Arg.PTR_TO_SPIN_LOCK,), Ret.VOID),
    ),
    Helper(
        HelperId.SPIN_UNLOCK,
        "spin_unlock",
        _spin_unlock,
        Proto((Arg.PTR_TO_SPIN_LOCK,), Ret.VOID),
    ),
    Helper(
        HelperId.LOOP,
        "loop",
        _loop,
        Proto((Arg.ANYTHING, Arg.PTR_TO_FUNC, Arg.PTR_TO_STACK_OR_NULL, Arg.ANYTHING)),
    ),
]
"""spin_lock, spin_unlock, loop."""
