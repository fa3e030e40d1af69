"""BPF_MAP_TYPE_HASH and BPF_MAP_TYPE_PERCPU_HASH: creation, flags, errnos, iteration,
slots and growth of the buffer, spin locks, per-CPU values, batches, a model.
"""

from __future__ import annotations

import errno

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from ebpy.errors import MapError
from ebpy.isa.asm import assemble
from ebpy.maps._hashtable import HashTable
from ebpy.maps.hash import HashMap
from ebpy.maps.percpu_hash import PercpuHashMap
from ebpy.uapi import MapCreateFlags, MapType
from ebpy.vm import Vm
from tests.maps import create_errno, errno_of, make, u32, u64

H, PH = MapType.HASH, MapType.PERCPU_HASH
NP = MapCreateFlags.NO_PREALLOC
KM = 1 << 22
ENOTSUPP = 524


def table(kind: MapType = H, entries: int = 4, flags: int = 0, ncpus: int = 2) -> HashTable:
    m = make(kind, 4, 8, entries, flags, ncpus=ncpus)
    assert isinstance(m, HashTable)
    return m


def val(m: HashTable, i: int) -> bytes:
    """A syscall-side value for ``m`` made of ``i``."""
    return u64(i) * (m.ncpus if m.percpu else 1)


# -- creation ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [H, PH])
@pytest.mark.parametrize(
    ("key", "value", "entries", "flags", "err"),
    [
        (4, 8, 1, 0, 0),
        (4, 8, 1, NP, 0),
        (1000, 4, 1, 0, 0),
        (0, 8, 1, 0, errno.EINVAL),
        (4, 0, 1, 0, errno.EINVAL),
        (4, 8, 0, 0, errno.EINVAL),
        (0, 8, 1, 1 << 15, errno.EINVAL),
        (4, 8, 1, MapCreateFlags.NO_COMMON_LRU, errno.EINVAL),
        (4, 8, 1, MapCreateFlags.MMAPABLE, errno.EINVAL),
        (4, 8, 1, MapCreateFlags.ZERO_SEED, 0),
        (4, 8, 1, MapCreateFlags.RDONLY | MapCreateFlags.WRONLY, errno.EINVAL),
        (4, 8, 1, MapCreateFlags.RDONLY_PROG | MapCreateFlags.WRONLY_PROG, errno.EINVAL),
        (4, KM - 48 - 4, 1, NP, errno.E2BIG),
        (4, 4, (1 << 27) + 1, NP, errno.E2BIG),
        (4, 4, 1 << 27, NP, 0),  # buckets fit: nothing is allocated up front here
        (4, 4, (1 << 32) - 1, NP, errno.E2BIG),
        (-1, 4, 1, 0, errno.EINVAL),
        (4, 4, 1 << 32, 0, errno.EINVAL),
    ],
)
def test_create(kind: MapType, key: int, value: int, entries: int, flags: int, err: int) -> None:
    assert create_errno(kind, key, value, entries, flags, ncpus=2) == err


@pytest.mark.parametrize(
    ("kind", "value", "err"),
    [
        (H, KM - 48 - 5, 0),
        (H, 32769, 0),
        (PH, 32768, 0),
        (PH, 32769, errno.E2BIG),
        (PH, KM - 48 - 5, errno.E2BIG),
    ],
)
def test_value_size_limits(kind: MapType, value: int, err: int) -> None:
    assert create_errno(kind, 4, value, 1, NP) == err


@pytest.mark.parametrize(("kind", "err"), [(H, 0), (PH, errno.EINVAL)])
def test_numa_node(kind: MapType, err: int) -> None:
    assert create_errno(kind, 4, 8, 1, MapCreateFlags.NUMA_NODE) == err


def test_extra_and_flag_types() -> None:
    assert create_errno(H, 4, 8, 1, extra=1) == errno.EINVAL
    assert create_errno(H, 4, 8, 1, MapCreateFlags.NO_PREALLOC | MapCreateFlags.ZERO_SEED) == 0


# -- updates, lookups, deletes --------------------------------------------------------


@pytest.mark.parametrize("kind", [H, PH])
@pytest.mark.parametrize(
    ("present", "flags", "err"),
    [
        (False, 0, 0),
        (False, 1, 0),
        (False, 2, errno.ENOENT),
        (True, 0, 0),
        (True, 1, errno.EEXIST),
        (True, 2, 0),
        (True, 3, errno.EINVAL),
        (False, 3, errno.EINVAL),
        (True, 4, errno.EINVAL),  # BPF_F_LOCK: no spin lock
        (True, 5, errno.EINVAL),
        (True, 8, errno.EINVAL),
        (False, 1 << 40, errno.EINVAL),
    ],
)
def test_update_flags(kind: MapType, present: bool, flags: int, err: int) -> None:
    m, p = table(kind), table(kind)
    if present:
        m.update_elem(u32(1), val(m, 1))
        p.update_elem(u32(1), val(m, 1))
    assert errno_of(m.update_elem, u32(1), val(m, 2), flags) == err
    assert p.prog_update(u32(1), u64(3), flags, 0) == -err


@pytest.mark.parametrize("kind", [H, PH])
@pytest.mark.parametrize("flags", [0, NP])
def test_full_table(kind: MapType, flags: int) -> None:
    m = table(kind, entries=2, flags=flags)
    m.update_elem(u32(1), val(m, 1))
    m.update_elem(u32(2), val(m, 2))
    assert errno_of(m.update_elem, u32(3), val(m, 3)) == errno.E2BIG
    assert errno_of(m.update_elem, u32(3), val(m, 3), 1) == errno.E2BIG
    assert errno_of(m.update_elem, u32(3), val(m, 3), 2) == errno.ENOENT
    assert m.prog_update(u32(3), u64(3), 0, 0) == -errno.E2BIG
    m.update_elem(u32(1), val(m, 11))  # an existing key can always be updated
    m.update_elem(u32(2), val(m, 12), 2)
    assert m[u32(1)] == val(m, 11)
    m.delete_elem(u32(2))
    m.update_elem(u32(3), val(m, 3))
    assert sorted(m) == [u32(1), u32(3)]


@pytest.mark.parametrize("kind", [H, PH])
def test_missing_keys(kind: MapType) -> None:
    m = table(kind)
    assert errno_of(m.lookup_elem, u32(1)) == errno.ENOENT
    assert errno_of(m.delete_elem, u32(1)) == errno.ENOENT
    assert errno_of(m.lookup_and_delete_elem, u32(1)) == errno.ENOENT
    assert errno_of(m.get_next_key, None) == errno.ENOENT
    assert errno_of(m.get_next_key, u32(5)) == errno.ENOENT
    assert m.prog_lookup(u32(1)) is None
    assert m.prog_delete(u32(1)) == -errno.ENOENT
    with pytest.raises(KeyError):
        m[u32(1)]
    with pytest.raises(KeyError):
        del m[u32(1)]


@pytest.mark.parametrize(
    ("op", "args", "err"),
    [
        ("lookup_elem", (b"abc",), errno.EINVAL),
        ("lookup_elem", (None,), errno.EINVAL),
        ("lookup_elem", (1234,), errno.EINVAL),
        ("lookup_elem", (u32(1), 1), errno.EINVAL),
        ("lookup_elem", (u32(1), 4), errno.EINVAL),
        ("update_elem", (u32(1), bytes(7)), errno.EINVAL),
        ("update_elem", (u32(1), "text"), errno.EINVAL),
        ("update_elem", (u32(1), u64(1), "flags"), errno.EINVAL),
        ("delete_elem", (b"\x00" * 5,), errno.EINVAL),
        ("get_next_key", (b"\x00",), errno.EINVAL),
        ("lookup_and_delete_elem", (None,), errno.EINVAL),
        ("lookup_and_delete_elem", (u32(1), 1), errno.EINVAL),
        ("lookup_and_delete_elem", (u32(1), 4), errno.EINVAL),
    ],
)
def test_bad_input(op: str, args: tuple[object, ...], err: int) -> None:
    assert errno_of(getattr(table(H), op), *args) == err


def test_lookup_and_delete() -> None:
    m = table(H)
    m.update_elem(u32(1), u64(7))
    assert m.lookup_and_delete_elem(u32(1)) == u64(7)
    assert len(m) == 0
    assert errno_of(m.lookup_and_delete_elem, u32(1)) == errno.ENOENT


def test_permissions() -> None:
    m = table(H)
    m.update_elem(u32(1), u64(1))
    m.freeze()
    for op, args in [
        ("update_elem", (u32(2), u64(2))),
        ("delete_elem", (u32(1),)),
        ("lookup_and_delete_elem", (u32(1),)),
        ("freeze", ()),
        ("delete_batch", ([],)),
        ("update_batch", ([],)),
    ]:
        assert errno_of(getattr(m, op), *args) == errno.EPERM, op
    assert m[u32(1)] == u64(1)
    assert m.prog_update(u32(2), u64(2), 0) == 0  # programs still write
    w = table(H, flags=MapCreateFlags.WRONLY)
    w.update_elem(u32(1), u64(1))
    reads: list[tuple[str, tuple[object, ...]]] = [
        ("lookup_elem", (u32(1),)),
        ("get_next_key", (None,)),
        ("lookup_and_delete_elem", (u32(1),)),
        ("lookup_batch", (None, 1)),
    ]
    for op, read_args in reads:
        assert errno_of(getattr(w, op), *read_args) == errno.EPERM, op
    r = table(H, flags=MapCreateFlags.RDONLY)
    assert errno_of(r.update_elem, u32(1), u64(1)) == errno.EPERM
    assert errno_of(r.get_next_key, None) == errno.ENOENT
    assert not table(H, flags=MapCreateFlags.RDONLY_PROG).prog_writable


# -- iteration ----------------------------------------------------------------------


def test_iteration_is_insertion_order_and_restarts_on_missing_keys() -> None:
    m = table(H, entries=8)
    for i in (5, 1, 7, 3):
        m.update_elem(u32(i), u64(i))
    assert list(m) == [u32(5), u32(1), u32(7), u32(3)]
    m.update_elem(u32(1), u64(0))  # updates keep the place
    assert list(m) == [u32(5), u32(1), u32(7), u32(3)]
    assert m.get_next_key(u32(7)) == u32(3)
    assert errno_of(m.get_next_key, u32(3)) == errno.ENOENT
    assert m.get_next_key(u32(99)) == u32(5)


def test_walk_while_deleting_visits_everything() -> None:
    m = table(H, entries=16)
    for i in range(10):
        m.update_elem(u32(i), u64(i))
    seen = []
    key = m.get_next_key(None)
    while True:
        seen.append(key)
        try:
            nxt = m.get_next_key(key)
        except MapError:
            nxt = None
        m.delete_elem(key)
        if nxt is None:
            break
        key = nxt
    assert sorted(seen) == [u32(i) for i in range(10)]
    assert len(m) == 0


def test_batches() -> None:
    m = table(H, entries=8)
    assert m.update_batch([(u32(i), u64(i)) for i in range(6)]) == 6
    assert errno_of(m.update_batch, [(u32(9), u64(9))], 1) == errno.EINVAL  # NOEXIST
    pairs: list[tuple[bytes, bytes]] = []
    pos = None
    while True:
        got, pos = m.lookup_batch(pos, 4)
        pairs += got
        if pos is None:
            break
    assert sorted(pairs) == [(u32(i), u64(i)) for i in range(6)]
    got, pos = m.lookup_batch(None, 3, delete=True)
    assert len(got) == 3 and len(m) == 3
    assert errno_of(m.delete_batch, [u32(5), u32(77)]) == errno.ENOENT
    assert u32(5) not in m


# -- slots and the buffer -------------------------------------------------------------


def test_buffer_grows_in_place_and_offsets_stay() -> None:
    m = table(H, entries=100_000)
    buf = m.buf
    assert len(buf) < 100_000 * 8  # not preallocated
    m.update_elem(u32(0), u64(42))
    off = m.prog_lookup(u32(0))
    assert off is not None
    for i in range(1, 20_000):
        m.update_elem(u32(i), u64(i))
    assert m.buf is buf and len(buf) >= 20_000 * 8
    assert m.prog_lookup(u32(0)) == off
    assert buf[off : off + 8] == u64(42)


def test_small_tables_are_preallocated_and_slots_reused() -> None:
    m = table(H, entries=4)
    assert len(m.buf) == 4 * 8
    m.update_elem(u32(1), u64(1))
    off = m.prog_lookup(u32(1))
    m.delete_elem(u32(1))
    m.update_elem(u32(2), u64(2))
    assert m.prog_lookup(u32(2)) == off  # the freed slot is taken again


def test_programs_write_values_in_place() -> None:
    m = table(H)
    m.update_elem(u32(1), u64(1))
    off = m.prog_lookup(u32(1))
    assert off is not None
    m.buf[off : off + 8] = u64(99)
    assert m[u32(1)] == u64(99)


def test_a_program_counts_in_place() -> None:
    m = table(H)
    m.update_elem(u32(1), u64(5))
    vm = Vm(
        assemble(
            """
            *(u32 *)(r10 -4) = 1
            r2 = r10
            r2 += -4
            r1 = map[idx:0]
            call 1
            if r0 == 0 goto miss
            r1 = *(u64 *)(r0 +0)
            r1 += 1
            *(u64 *)(r0 +0) = r1
            r0 = 1
            exit
            miss:
            r0 = 0
            exit
            """
        ),
        maps=[m],
    )
    assert vm.run() == 1
    assert vm.run() == 1
    assert m[u32(1)] == u64(7)


# -- spin locks -----------------------------------------------------------------------


def test_spin_lock() -> None:
    m = make(H, 4, 16, 4)
    assert isinstance(m, HashMap)
    assert errno_of(m.set_spin_lock, 14) == errno.EINVAL
    assert errno_of(m.set_spin_lock, 2) == errno.EINVAL
    m.set_spin_lock(8)
    m.update_elem(u32(1), b"A" * 16)
    off = m.prog_lookup(u32(1))
    assert off is not None
    assert m.buf[off + 8 : off + 12] == bytes(4)  # a new element's lock is zero
    m.buf[off + 8 : off + 12] = b"LOCK"
    m.update_elem(u32(1), b"B" * 16, 4)  # BPF_F_LOCK
    assert m.buf[off : off + 16] == b"B" * 8 + b"LOCK" + b"B" * 4
    assert m.lookup_elem(u32(1), 4) == b"B" * 8 + bytes(4) + b"B" * 4
    assert m.prog_update(u32(1), b"C" * 16, 4 | 2) == 0
    assert errno_of(m.update_elem, u32(1), b"C" * 16, 4 | 3) == errno.EINVAL


# -- per-CPU values -----------------------------------------------------------------------


def test_percpu_layout_and_program_face() -> None:
    m = table(PH, ncpus=3)
    assert isinstance(m, PercpuHashMap)
    assert m.syscall_value_size == 24
    m.update_elem(u32(1), bytes(range(24)))
    off = m.prog_lookup(u32(1), cpu=2)
    assert off is not None
    assert m.buf[off : off + 8] == bytes(range(16, 24))
    assert m.prog_update(u32(1), u64(7), 0, cpu=1) == 0
    assert m.cpu_values(u32(1)) == [bytes(range(8)), u64(7), bytes(range(16, 24))]
    # a program creating an element: the other CPUs' values start zeroed
    m.update_elem(u32(2), b"\xff" * 24)
    m.delete_elem(u32(2))
    assert m.prog_update(u32(3), u64(5), 0, cpu=0) == 0
    assert m.lookup_elem(u32(3)) == u64(5) + bytes(16)


def test_percpu_padding_round_trips() -> None:
    m = make(PH, 4, 4, 4, ncpus=2)
    m.update_elem(u32(1), bytes(range(16)))
    assert m.lookup_elem(u32(1)) == bytes(range(16))


def test_percpu_bad_cpu() -> None:
    m = table(PH, ncpus=2)
    m.update_elem(u32(1), bytes(16))
    assert errno_of(m.prog_lookup, u32(1), 2) == errno.EINVAL
    assert m.prog_update(u32(1), u64(1), 0, cpu=5) == -errno.EINVAL


# -- a model ----------------------------------------------------------------------------

KEYS = st.integers(0, 6).map(u32)
FLAGS = st.sampled_from([0, 1, 2, 3, 4])


class HashModel(RuleBasedStateMachine):
    """A hash map against a dict: syscall and program faces, every flag."""

    kind = H
    ncpus = 2

    def __init__(self) -> None:
        super().__init__()
        self.m = table(self.kind, entries=4, ncpus=self.ncpus)
        self.model: dict[bytes, list[bytes]] = {}

    def value(self, i: int) -> bytes:
        return u64(i) * self.ncpus if self.m.percpu else u64(i)

    def expect(self, key: bytes, flags: int) -> int:
        if flags & ~3 or flags == 3:
            return errno.EINVAL
        if key in self.model and flags == 1:
            return errno.EEXIST
        if key not in self.model and flags == 2:
            return errno.ENOENT
        if key not in self.model and len(self.model) == 4:
            return errno.E2BIG
        return 0

    @rule(key=KEYS, i=st.integers(0, 255), flags=FLAGS)
    def update(self, key: bytes, i: int, flags: int) -> None:
        want = self.expect(key, flags)
        assert errno_of(self.m.update_elem, key, self.value(i), flags) == want
        if not want:
            self.model[key] = [u64(i)] * (self.ncpus if self.m.percpu else 1)

    @rule(key=KEYS, i=st.integers(0, 255), flags=FLAGS, cpu=st.integers(0, 1))
    def prog_update(self, key: bytes, i: int, flags: int, cpu: int) -> None:
        want = self.expect(key, flags)
        assert self.m.prog_update(key, u64(i), flags, cpu) == -want
        if want:
            return
        if not self.m.percpu:
            self.model[key] = [u64(i)]
            return
        values = self.model.get(key, [bytes(8)] * self.ncpus)
        self.model[key] = [u64(i) if c == cpu else v for c, v in enumerate(values)]

    @rule(key=KEYS)
    def delete(self, key: bytes) -> None:
        assert errno_of(self.m.delete_elem, key) == (0 if key in self.model else errno.ENOENT)
        self.model.pop(key, None)

    @rule(key=KEYS)
    def lookup_and_delete(self, key: bytes) -> None:
        if key in self.model:
            assert self.m.lookup_and_delete_elem(key) == b"".join(self.model.pop(key))
        else:
            assert errno_of(self.m.lookup_and_delete_elem, key) == errno.ENOENT

    @rule(key=KEYS, cpu=st.integers(0, 1))
    def prog_lookup(self, key: bytes, cpu: int) -> None:
        off = self.m.prog_lookup(key, cpu)
        if key not in self.model:
            assert off is None
            return
        assert off is not None
        values = self.model[key]
        assert self.m.buf[off : off + 8] == values[cpu if self.m.percpu else 0]

    @invariant()
    def same_contents(self) -> None:
        assert len(self.m) == len(self.model)
        assert {k: self.m[k] for k in self.m} == {k: b"".join(v) for k, v in self.model.items()}


class PercpuHashModel(HashModel):
    kind = PH


@pytest.mark.parametrize("machine", [HashModel, PercpuHashModel])
def test_matches_a_dict(machine: type[HashModel]) -> None:
    run_state_machine_as_test(
        machine, settings=settings(max_examples=60, stateful_step_count=30, deadline=None)
    )
