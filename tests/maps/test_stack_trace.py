"""BPF_MAP_TYPE_STACK_TRACE: creation rules, jhash2 ids, collisions, the syscall face."""

from __future__ import annotations

import errno
import itertools
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.errors import MapError
from ebpy.maps import create_map
from ebpy.maps.prog_array import ENOTSUPP
from ebpy.maps.stack_trace import (
    BPF_F_FAST_STACK_CMP,
    BPF_F_REUSE_STACKID,
    BPF_F_USER_BUILD_ID,
    BPF_F_USER_STACK,
    BUILD_ID_STATUS_IP,
    StackTraceMap,
    _Bucket,
    build_id_entries,
    jhash2,
    stack_hash,
)
from ebpy.spec import MapSpec
from ebpy.uapi import MapCreateFlags, MapType

KERNEL_IPS = st.lists(st.integers(0xFFFF_FFFF_8000_0000, (1 << 64) - 1), min_size=1, max_size=20)


def K(i: int) -> bytes:
    return i.to_bytes(4, "little")


def make(value_size: int = 32, max_entries: int = 16, flags: int = 0) -> StackTraceMap:
    m = create_map(MapSpec(MapType.STACK_TRACE, 4, value_size, max_entries, flags))
    assert isinstance(m, StackTraceMap)
    return m


def errno_of(fn: object, *args: object) -> int:
    try:
        fn(*args)  # type: ignore[operator]
    except MapError as e:
        return e.errno
    return 0


def bucket_of(m: StackTraceMap, stack: list[int]) -> int:
    return stack_hash(stack) & (m.n_buckets - 1)


def stacks_in_distinct_buckets(m: StackTraceMap, count: int) -> list[list[int]]:
    seen: dict[int, list[int]] = {}
    for i in itertools.count(1):
        stack = [0xFFFF_FFFF_8100_0000 + i]
        seen.setdefault(bucket_of(m, stack), stack)
        if len(seen) == count:
            return list(seen.values())
    raise AssertionError


def colliding_stacks(m: StackTraceMap) -> tuple[list[int], list[int]]:
    first = [0xFFFF_FFFF_8100_0000]
    for i in itertools.count(1):
        other = [0xFFFF_FFFF_8100_0000 + i]
        if bucket_of(m, other) == bucket_of(m, first):
            return first, other
    raise AssertionError


# -- creation (errnos as the running kernel gives them) --------------------------------


@pytest.mark.parametrize(
    ("key", "value", "entries", "flags", "err"),
    [
        (4, 8, 1, 0, 0),
        (4, 12, 1, 0, errno.EINVAL),
        (4, 0, 1, 0, errno.EINVAL),
        (8, 8, 1, 0, errno.EINVAL),
        (4, 127 * 8, 1, 0, 0),
        (4, 128 * 8, 1, 0, errno.EINVAL),
        (4, 8, 0, 0, errno.EINVAL),
        (4, 32, 1, MapCreateFlags.STACK_BUILD_ID, 0),
        (4, 40, 1, MapCreateFlags.STACK_BUILD_ID, errno.EINVAL),
        (4, 127 * 32, 1, MapCreateFlags.STACK_BUILD_ID, 0),
        (4, 128 * 32, 1, MapCreateFlags.STACK_BUILD_ID, errno.EINVAL),
        (4, 8, 1, MapCreateFlags.NO_PREALLOC, errno.EINVAL),
        (4, 8, 1, MapCreateFlags.RDONLY, 0),
        (4, 8, 1, MapCreateFlags.RDONLY_PROG, errno.EINVAL),
    ],
)
def test_create(key: int, value: int, entries: int, flags: int, err: int) -> None:
    spec = MapSpec(MapType.STACK_TRACE, key, value, entries, flags)
    assert errno_of(create_map, spec) == err


@pytest.mark.parametrize(("entries", "buckets"), [(1, 1), (3, 4), (4, 4), (5, 8), (1000, 1024)])
def test_buckets_round_up_to_a_power_of_two(entries: int, buckets: int) -> None:
    assert make(max_entries=entries).n_buckets == buckets


# -- the hash ---------------------------------------------------------------------------


def test_jhash2_of_nothing_is_the_initval() -> None:
    assert jhash2([]) == 0xDEADBEEF
    assert jhash2([], 1) == 0xDEADBEF0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 0xFFFF_FFFF), max_size=12))
def test_jhash2_is_u32_and_sensitive(words: list[int]) -> None:
    h = jhash2(words)
    assert 0 <= h <= 0xFFFF_FFFF
    assert jhash2([*words, 0]) != h or jhash2([*words, 1]) != h


def test_stack_hash_uses_low_then_high_words() -> None:
    assert stack_hash([0x1111_2222_3333_4444]) == jhash2([0x3333_4444, 0x1111_2222])


# -- get_stackid --------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(KERNEL_IPS)
def test_same_stack_same_id(stack: list[int]) -> None:
    m = make(value_size=8 * 20)
    sid = m.get_stackid(stack, 0)
    assert sid == bucket_of(m, stack)
    assert m.get_stackid(stack, 0) == sid
    want = struct.pack(f"<{len(stack)}Q", *stack)
    assert m.lookup_elem(K(sid)) == want + bytes(8 * 20 - len(want))


def test_skip_and_depth() -> None:
    m = make(value_size=16)
    stack = [0xA, 0xB, 0xC, 0xD, 0xE]
    sid = m.get_stackid(stack, 2)  # skip 2, keep value_size/8 = 2 frames
    assert m.stacks()[sid] == [0xC, 0xD]
    assert m.get_stackid(stack, 5) == -errno.EFAULT
    assert m.get_stackid(stack, 255) == -errno.EFAULT
    assert m.get_stackid([], 0) == -errno.EFAULT
    sid = m.get_stackid(stack, 4)
    assert m.stacks()[sid] == [0xE]


def test_depth_never_exceeds_perf_event_max_stack() -> None:
    m = make(value_size=127 * 8)
    stack = list(range(1, 300))
    sid = m.get_stackid(stack, 10)  # 127 frames in all, 10 of them skipped
    assert m.stacks()[sid] == list(range(11, 128))


@pytest.mark.parametrize(
    "flags", [BPF_F_USER_BUILD_ID, 1 << 12, 1 << 32, BPF_F_USER_STACK | BPF_F_USER_BUILD_ID]
)
def test_bad_flags(flags: int) -> None:
    assert make().get_stackid([1, 2], flags) == -errno.EINVAL


def test_collision_is_eexist_unless_reused() -> None:
    m = make(max_entries=2)
    a, b = colliding_stacks(m)
    sid = m.get_stackid(a, 0)
    assert m.get_stackid(b, 0) == -errno.EEXIST
    assert m.get_stackid(b, BPF_F_REUSE_STACKID) == sid
    assert m.stacks()[sid] == b
    assert m.get_stackid(a, BPF_F_FAST_STACK_CMP) == -errno.EEXIST  # hashes differ


def test_fast_cmp_trusts_an_equal_hash() -> None:
    m = make()
    stack = [0x1234]
    sid = bucket_of(m, stack)
    m.buckets[sid] = _Bucket(stack_hash(stack), 1, struct.pack("<Q", 0x9999))
    assert m.get_stackid(stack, BPF_F_FAST_STACK_CMP) == sid
    assert m.stacks()[sid] == [0x9999]
    assert m.get_stackid(stack, 0) == -errno.EEXIST


def test_full_map_is_enomem() -> None:
    m = make(max_entries=3)  # 4 buckets, room for 3 stacks
    stacks = stacks_in_distinct_buckets(m, 4)
    ids = [m.get_stackid(s, 0) for s in stacks[:3]]
    assert all(i >= 0 for i in ids)
    assert m.get_stackid(stacks[3], 0) == -errno.ENOMEM
    m.delete_elem(K(ids[0]))
    assert m.get_stackid(stacks[3], 0) >= 0


def test_build_id_entries() -> None:
    m = make(value_size=64, flags=MapCreateFlags.STACK_BUILD_ID)
    sid = m.get_stackid([0xAAAA], 0)
    value = m.lookup_elem(K(sid))
    status, build_id, ip = struct.unpack_from("<i20sQ", value)
    assert (status, build_id, ip) == (BUILD_ID_STATUS_IP, bytes(20), 0xAAAA)
    assert value[32:] == bytes(32)
    entry = struct.Struct("<i20sQ")
    assert build_id_entries([1, 2]) == entry.pack(2, bytes(20), 1) + entry.pack(2, bytes(20), 2)
    assert m.stacks() == {sid: [0xAAAA]}


# -- the syscall face ------------------------------------------------------------------------


def test_syscall_face() -> None:
    m = make(value_size=16, max_entries=3)
    assert errno_of(m.lookup_elem, K(0)) == errno.ENOENT
    assert errno_of(m.lookup_elem, K(4)) == errno.ENOENT
    assert errno_of(m.update_elem, K(0), bytes(16)) == errno.EINVAL
    assert errno_of(m.delete_elem, K(0)) == errno.ENOENT
    assert errno_of(m.delete_elem, K(3)) == errno.ENOENT
    assert errno_of(m.delete_elem, K(4)) == errno.E2BIG
    assert errno_of(m.get_next_key, None) == errno.ENOENT
    assert errno_of(m.lookup_batch, None, 4) == ENOTSUPP
    assert errno_of(m.lookup_and_delete_elem, K(0)) == errno.ENOENT


def test_get_next_key_and_lookup_and_delete() -> None:
    m = make(max_entries=8)
    stacks = stacks_in_distinct_buckets(m, 3)
    ids = sorted(m.get_stackid(s, 0) for s in stacks)
    assert m.get_next_key(None) == K(ids[0])
    assert m.get_next_key(K(ids[0])) == K(ids[1])
    assert m.get_next_key(K(ids[1])) == K(ids[2])
    assert errno_of(m.get_next_key, K(ids[2])) == errno.ENOENT
    free = next(i for i in range(8) if i not in ids)
    assert m.get_next_key(K(free)) == K(ids[0])  # a missing id restarts
    assert list(m) == [K(i) for i in ids]
    assert len(m) == 3
    value = m.lookup_and_delete_elem(K(ids[1]))
    assert value[:8] == struct.pack("<Q", m_stack_ip(stacks, ids[1], m))
    assert len(m) == 2


def m_stack_ip(stacks: list[list[int]], sid: int, m: StackTraceMap) -> int:
    return next(s[0] for s in stacks if bucket_of(m, s) == sid)


def test_program_face() -> None:
    m = make()
    m.get_stackid([1], 0)
    assert not m.value_writable
    assert m.prog_lookup(K(0)) is None
    assert m.prog_keys() == []
