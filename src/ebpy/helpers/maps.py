"""Map helpers: lookup, update, delete, push, pop, peek, for_each_map_elem.

Each reads keys and values from the program's memory through the run's
``Runtime`` and calls the map's program face (``Map.prog_*``), so the map's own
module decides the semantics. A pointer that is not a map gives ``-EINVAL``
(the verifier would have refused the program). Not the maps themselves.
"""

from __future__ import annotations

import errno

from ebpy.helpers.env import Runtime
from ebpy.helpers.protos import Arg, Proto, Ret
from ebpy.helpers.registry import Helper
from ebpy.isa._intmath import M32, M64
from ebpy.maps.base import Map
from ebpy.uapi import HelperId


def neg(err: int) -> int:
    """``-err`` as the u64 a helper puts in r0."""
    return -err & M64


def _map(env: Runtime, ptr: int) -> Map | None:
    return env.map_at(ptr)


def _lookup(env: Runtime, mp: int, kp: int, *_: int) -> int:
    m = _map(env, mp)
    if m is None:
        return 0
    key = env.memory.read(kp, m.key_size)
    inner_of = getattr(m, "prog_lookup_map", None)
    if inner_of is not None:  # a map of maps: the inner map's pointer
        inner = inner_of(key)
        if inner is None:
            return 0
        if inner.slot not in env.maps:
            env.add_map(inner)
        return env.map_value_address(inner, 0)
    off = m.prog_lookup(key, env.cpu)
    return 0 if off is None else env.map_value_address(m, off)


def _update(env: Runtime, mp: int, kp: int, vp: int, flags: int, *_: int) -> int:
    m = _map(env, mp)
    if m is None:
        return neg(errno.EINVAL)
    key = env.memory.read(kp, m.key_size)
    value = env.memory.read(vp, m.value_size)
    return m.prog_update(key, value, flags, env.cpu) & M64


def _delete(env: Runtime, mp: int, kp: int, *_: int) -> int:
    m = _map(env, mp)
    if m is None:
        return neg(errno.EINVAL)
    return m.prog_delete(env.memory.read(kp, m.key_size)) & M64


def _push(env: Runtime, mp: int, vp: int, flags: int, *_: int) -> int:
    m = _map(env, mp)
    if m is None:
        return neg(errno.EINVAL)
    return m.prog_push(env.memory.read(vp, m.value_size), flags) & M64


def _pop_or_peek(env: Runtime, mp: int, vp: int, *, pop: bool) -> int:
    m = _map(env, mp)
    if m is None:
        return neg(errno.EINVAL)
    # peek: a bloom filter tests the value at vp; queue and stack ignore it
    got = m.prog_pop(env.cpu) if pop else m.prog_peek(env.memory.read(vp, m.value_size), env.cpu)
    if isinstance(got, int):
        return got & M64
    env.memory.write(vp, got)
    return 0


def _pop(env: Runtime, mp: int, vp: int, *_: int) -> int:
    return _pop_or_peek(env, mp, vp, pop=True)


def _peek(env: Runtime, mp: int, vp: int, *_: int) -> int:
    return _pop_or_peek(env, mp, vp, pop=False)


def _for_each(env: Runtime, mp: int, fn: int, ctx: int, flags: int, *_: int) -> int:
    """Call ``fn(map, &key, &value, ctx)`` for each element until it returns 1."""
    m = _map(env, mp)
    if m is None or flags:
        return neg(errno.EINVAL)
    invoke = env.extra.get("invoke")
    if invoke is None:
        return neg(errno.EINVAL)
    done = 0
    key_region = env.memory.map_scratch(m.key_size)
    for key in list(m.prog_keys(env.cpu)):
        off = m.prog_lookup(key, env.cpu)
        if off is None:
            continue
        env.memory.write(key_region, key)
        done += 1
        if invoke(fn, mp, key_region, env.map_value_address(m, off), ctx, 0) & M32:
            break
    return done


HELPERS = [
    Helper(
        HelperId.MAP_LOOKUP_ELEM,
        "map_lookup_elem",
        _lookup,
        Proto((Arg.CONST_MAP_PTR, Arg.PTR_TO_MAP_KEY), Ret.PTR_TO_MAP_VALUE_OR_NULL),
    ),
    Helper(
        HelperId.MAP_UPDATE_ELEM,
        "map_update_elem",
        _update,
        Proto((Arg.CONST_MAP_PTR, Arg.PTR_TO_MAP_KEY, Arg.PTR_TO_MAP_VALUE, Arg.ANYTHING)),
    ),
    Helper(
        HelperId.MAP_DELETE_ELEM,
        "map_delete_elem",
        _delete,
        Proto((Arg.CONST_MAP_PTR, Arg.PTR_TO_MAP_KEY)),
    ),
    Helper(
        HelperId.MAP_PUSH_ELEM,
        "map_push_elem",
        _push,
        Proto((Arg.CONST_MAP_PTR, Arg.PTR_TO_MAP_VALUE, Arg.ANYTHING)),
    ),
    Helper(
        HelperId.MAP_POP_ELEM,
        "map_pop_elem",
        _pop,
        Proto((Arg.CONST_MAP_PTR, Arg.PTR_TO_UNINIT_MAP_VALUE)),
    ),
    Helper(
        HelperId.MAP_PEEK_ELEM,
        "map_peek_elem",
        _peek,
        Proto((Arg.CONST_MAP_PTR, Arg.PTR_TO_UNINIT_MAP_VALUE)),
    ),
    Helper(
        HelperId.FOR_EACH_MAP_ELEM,
        "for_each_map_elem",
        _for_each,
        Proto((Arg.CONST_MAP_PTR, Arg.PTR_TO_FUNC, Arg.PTR_TO_STACK_OR_NULL, Arg.ANYTHING)),
    ),
]
"""The map helpers, in id order."""
