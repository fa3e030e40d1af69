"""BPF_MAP_TYPE_LRU_HASH and BPF_MAP_TYPE_LRU_PERCPU_HASH: creation, eviction, what
counts as a use, flags, per-CPU values, and a model (an exact LRU, ours by design).
"""

from __future__ import annotations

import errno
from collections import OrderedDict

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from ebpy.maps.lru_hash import LruOrder
from ebpy.maps.lru_percpu_hash import LruPercpuHashMap
from ebpy.uapi import MapCreateFlags, MapType
from tests.maps import create_errno, errno_of, make, u32, u64

L, LP = MapType.LRU_HASH, MapType.LRU_PERCPU_HASH
ENOTSUPP = 524


def lru(kind: MapType = L, entries: int = 3, ncpus: int = 2, flags: int = 0) -> LruOrder:
    m = make(kind, 4, 8, entries, flags, ncpus=ncpus)
    assert isinstance(m, LruOrder)
    return m


def val(m: LruOrder, i: int) -> bytes:
    return u64(i) * (m.ncpus if m.percpu else 1)


@pytest.mark.parametrize("kind", [L, LP])
@pytest.mark.parametrize(
    ("key", "value", "entries", "flags", "err"),
    [
        (4, 8, 4, 0, 0),
        (4, 8, 4, MapCreateFlags.NO_COMMON_LRU, 0),
        (4, 8, 4, MapCreateFlags.NO_PREALLOC, ENOTSUPP),
        (0, 0, 0, MapCreateFlags.NO_PREALLOC, ENOTSUPP),  # before the sizes
        (4, 8, 4, MapCreateFlags.NO_PREALLOC | (1 << 20), errno.EINVAL),  # after the flags
        (4, 8, 4, MapCreateFlags.NO_COMMON_LRU | MapCreateFlags.NUMA_NODE, errno.EINVAL),
        (0, 8, 4, 0, errno.EINVAL),
        (4, 0, 4, 0, errno.EINVAL),
        (4, 8, 0, 0, errno.EINVAL),
        (4, 8, (1 << 27) + 1, 0, errno.E2BIG),
    ],
)
def test_create(kind: MapType, key: int, value: int, entries: int, flags: int, err: int) -> None:
    assert create_errno(kind, key, value, entries, flags, ncpus=2) == err


@pytest.mark.parametrize(("kind", "err"), [(L, 0), (LP, errno.EINVAL)])
def test_numa_node(kind: MapType, err: int) -> None:
    assert create_errno(kind, 4, 8, 4, MapCreateFlags.NUMA_NODE) == err


@pytest.mark.parametrize("kind", [L, LP])
def test_full_map_evicts_the_least_recently_used(kind: MapType) -> None:
    m = lru(kind)
    for i in (1, 2, 3):
        m.update_elem(u32(i), val(m, i))
    m.update_elem(u32(4), val(m, 4))  # never E2BIG
    assert sorted(m) == [u32(2), u32(3), u32(4)]
    assert m.recency() == [u32(2), u32(3), u32(4)]


@pytest.mark.parametrize("kind", [L, LP])
def test_program_lookups_are_uses_syscall_lookups_are_not(kind: MapType) -> None:
    m = lru(kind)
    for i in (1, 2, 3):
        m.update_elem(u32(i), val(m, i))
    assert m.prog_lookup(u32(1)) is not None  # 1 is now the most recent
    m.lookup_elem(u32(2))  # not a use
    list(m)  # nor is walking
    m.update_elem(u32(4), val(m, 4))
    assert sorted(m) == [u32(1), u32(3), u32(4)]


@pytest.mark.parametrize("kind", [L, LP])
def test_updates_are_uses(kind: MapType) -> None:
    m = lru(kind)
    for i in (1, 2, 3):
        m.update_elem(u32(i), val(m, i))
    m.update_elem(u32(1), val(m, 10), 2)
    assert m.prog_update(u32(2), u64(20), 0, 0) == 0
    assert m.prog_update(u32(5), u64(5), 0, 1) == 0  # a program never gets E2BIG either
    assert sorted(m) == [u32(1), u32(2), u32(5)]


@pytest.mark.parametrize("kind", [L, LP])
@pytest.mark.parametrize(
    ("present", "flags", "err"),
    [
        (False, 0, 0),
        (False, 1, 0),
        (False, 2, errno.ENOENT),
        (True, 1, errno.EEXIST),
        (True, 2, 0),
        (True, 3, errno.EINVAL),
        (True, 4, errno.EINVAL),
        (False, 8, errno.EINVAL),
    ],
)
def test_update_flags(kind: MapType, present: bool, flags: int, err: int) -> None:
    m, p = lru(kind), lru(kind)
    if present:
        m.update_elem(u32(1), val(m, 1))
        p.update_elem(u32(1), val(m, 1))
    assert errno_of(m.update_elem, u32(1), val(m, 2), flags) == err
    assert p.prog_update(u32(1), u64(2), flags, 0) == -err


@pytest.mark.parametrize("kind", [L, LP])
def test_failed_updates_evict_nothing(kind: MapType) -> None:
    m = lru(kind)
    for i in (1, 2, 3):
        m.update_elem(u32(i), val(m, i))
    assert errno_of(m.update_elem, u32(3), val(m, 0), 1) == errno.EEXIST
    assert errno_of(m.update_elem, u32(9), val(m, 0), 2) == errno.ENOENT
    assert sorted(m) == [u32(1), u32(2), u32(3)]


def test_delete_and_lookup_and_delete() -> None:
    m = lru(L)
    m.update_elem(u32(1), u64(1))
    m.update_elem(u32(2), u64(2))
    assert m.lookup_and_delete_elem(u32(1)) == u64(1)
    m.delete_elem(u32(2))
    assert errno_of(m.delete_elem, u32(2)) == errno.ENOENT
    assert m.recency() == [] and len(m) == 0
    for i in (3, 4, 5, 6):
        m.update_elem(u32(i), u64(i))
    assert sorted(m) == [u32(4), u32(5), u32(6)]


def test_percpu_values() -> None:
    m = lru(LP, entries=1)
    assert isinstance(m, LruPercpuHashMap)
    assert m.syscall_value_size == 16
    m.update_elem(u32(1), bytes(range(16)))
    assert m.prog_update(u32(1), u64(9), 0, 1) == 0
    assert m.cpu_values(u32(1)) == [bytes(range(8)), u64(9)]
    assert m.prog_update(u32(2), u64(7), 0, 1) == 0  # evicts 1; CPU 0 starts zeroed
    assert list(m) == [u32(2)]
    assert m.lookup_elem(u32(2)) == bytes(8) + u64(7)
    off = m.prog_lookup(u32(2), cpu=1)
    assert off is not None and m.buf[off : off + 8] == u64(7)


# -- a model: an exact LRU --------------------------------------------------------------

KEYS = st.integers(0, 6).map(u32)


class LruModel(RuleBasedStateMachine):
    kind = L

    def __init__(self) -> None:
        super().__init__()
        self.m = lru(self.kind, entries=4)
        self.model: OrderedDict[bytes, bytes] = OrderedDict()  # least recent first

    def store(self, key: bytes, value: bytes) -> None:
        if key not in self.model and len(self.model) == 4:
            self.model.popitem(last=False)
        self.model[key] = value
        self.model.move_to_end(key)

    @rule(key=KEYS, i=st.integers(0, 99), flags=st.sampled_from([0, 1, 2]))
    def update(self, key: bytes, i: int, flags: int) -> None:
        want = 0
        if flags == 1 and key in self.model:
            want = errno.EEXIST
        if flags == 2 and key not in self.model:
            want = errno.ENOENT
        assert errno_of(self.m.update_elem, key, val(self.m, i), flags) == want
        if not want:
            self.store(key, val(self.m, i))

    @rule(key=KEYS)
    def prog_lookup(self, key: bytes) -> None:
        assert (self.m.prog_lookup(key) is None) == (key not in self.model)
        if key in self.model:
            self.model.move_to_end(key)

    @rule(key=KEYS)
    def lookup(self, key: bytes) -> None:
        assert errno_of(self.m.lookup_elem, key) == (0 if key in self.model else errno.ENOENT)

    @rule(key=KEYS)
    def delete(self, key: bytes) -> None:
        assert errno_of(self.m.delete_elem, key) == (0 if key in self.model else errno.ENOENT)
        self.model.pop(key, None)

    @invariant()
    def same(self) -> None:
        assert self.m.recency() == list(self.model)
        assert {k: self.m[k] for k in self.m} == dict(self.model)


class LruPercpuModel(LruModel):
    kind = LP


@pytest.mark.parametrize("machine", [LruModel, LruPercpuModel])
def test_matches_an_exact_lru(machine: type[LruModel]) -> None:
    run_state_machine_as_test(
        machine, settings=settings(max_examples=50, stateful_step_count=30, deadline=None)
    )
