"""BPF_MAP_TYPE_LPM_TRIE: creation limits, longest-prefix lookups, exact updates and
deletes, the post-order of get_next_key, the trie's shape, and a model.

The model is independent of the trie: a dict of prefixes; the longest matching
prefix for lookups; for the walk, the order of bit strings where a string comes
after every string it is a prefix of, and bit 0 before bit 1.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from ebpy.maps.lpm_trie import LpmTrieMap, _Node, prefix_key, split_key
from ebpy.uapi import MapCreateFlags, MapType
from tests.maps import create_errno, errno_of, make

LPM = MapType.LPM_TRIE
NP = MapCreateFlags.NO_PREALLOC
ENOTSUPP = 524
KM = 1 << 22


def trie(data_size: int = 4, value: int = 4, entries: int = 8) -> LpmTrieMap:
    m = make(LPM, 4 + data_size, value, entries, NP)
    assert isinstance(m, LpmTrieMap)
    return m


def ip(plen: int, *octets: int) -> bytes:
    return prefix_key(plen, bytes(octets))


def v(i: int) -> bytes:
    return i.to_bytes(4, "little")


@pytest.mark.parametrize(
    ("key", "value", "entries", "flags", "err"),
    [
        (5, 4, 1, NP, 0),
        (260, 4, 1, NP, 0),
        (4, 4, 1, NP, errno.EINVAL),
        (261, 4, 1, NP, errno.EINVAL),
        (8, 4, 1, 0, errno.EINVAL),  # BPF_F_NO_PREALLOC is required
        (8, 0, 1, NP, errno.EINVAL),
        (8, 4, 0, NP, errno.EINVAL),
        (8, KM - 280, 1, NP, 0),
        (8, KM - 279, 1, NP, errno.EINVAL),
        (8, 4, 1, NP | MapCreateFlags.NUMA_NODE, 0),
        (8, 4, 1, NP | MapCreateFlags.RDONLY_PROG, 0),
        (8, 4, 1, NP | MapCreateFlags.ZERO_SEED, errno.EINVAL),
        (8, 4, 1, NP | (1 << 20), errno.EINVAL),
        (8, 4, (1 << 32) - 1, NP, 0),
    ],
)
def test_create(key: int, value: int, entries: int, flags: int, err: int) -> None:
    assert create_errno(LPM, key, value, entries, flags) == err


def test_routes() -> None:
    t = trie()
    t[ip(8, 10, 0, 0, 0)] = v(1)
    t[ip(16, 10, 1, 0, 0)] = v(2)
    t[ip(24, 10, 1, 2, 0)] = v(3)
    t[ip(0, 0, 0, 0, 0)] = v(4)
    cases = {
        ip(32, 10, 1, 2, 3): v(3),
        ip(32, 10, 1, 9, 9): v(2),
        ip(32, 10, 9, 9, 9): v(1),
        ip(32, 11, 0, 0, 0): v(4),
        ip(15, 10, 1, 2, 3): v(1),  # the key's prefixlen bounds the match
        ip(16, 10, 1, 2, 3): v(2),
    }
    for key, want in cases.items():
        assert t.lookup_elem(key) == want
        off = t.prog_lookup(key)
        assert off is not None and t.buf[off : off + 4] == want
    assert errno_of(t.lookup_elem, ip(33, 10, 1, 2, 3)) == errno.ENOENT
    assert t.prog_lookup(ip(33, 10, 1, 2, 3)) is None


def test_no_match() -> None:
    t = trie()
    t[ip(8, 10, 0, 0, 0)] = v(1)
    assert errno_of(t.lookup_elem, ip(32, 11, 0, 0, 0)) == errno.ENOENT
    assert errno_of(t.lookup_elem, ip(0, 10, 0, 0, 0)) == errno.ENOENT
    assert t.prog_lookup(ip(32, 11, 0, 0, 0)) is None


def test_the_kernels_walk() -> None:
    """The sequence ``tests/kernel/test_maps_probe.py`` runs on the kernel too."""
    t = trie(entries=3)
    assert errno_of(t.update_elem, ip(33, 1, 2, 3, 4), v(1)) == errno.EINVAL
    assert errno_of(t.update_elem, ip(8, 10, 0, 0, 0), v(1), 2) == errno.ENOENT
    t.update_elem(ip(8, 10, 1, 2, 3), v(1), 1)
    assert errno_of(t.update_elem, ip(8, 10, 9, 9, 9), v(2), 1) == errno.EEXIST
    t.update_elem(ip(8, 10, 9, 9, 9), v(3), 2)
    assert t.get_next_key(None) == ip(8, 10, 9, 9, 9)  # the data of the last update
    t.update_elem(ip(16, 10, 1, 0, 0), v(4))
    t.update_elem(ip(16, 10, 2, 0, 0), v(5))
    assert errno_of(t.update_elem, ip(8, 11, 0, 0, 0), v(6)) == errno.ENOSPC
    assert errno_of(t.update_elem, ip(8, 11, 0, 0, 0), v(6), 2) == errno.ENOENT
    assert errno_of(t.update_elem, ip(8, 11, 0, 0, 0), v(6), 1) == errno.ENOSPC
    t.update_elem(ip(16, 10, 1, 5, 5), v(7))  # an existing prefix in a full trie
    # 10.1/16 and 10.2/16 hang off an intermediate node at /14: filling it needs room
    assert errno_of(t.update_elem, ip(14, 10, 0, 0, 0), v(7)) == errno.ENOSPC
    assert list(t) == [ip(16, 10, 1, 5, 5), ip(16, 10, 2, 0, 0), ip(8, 10, 9, 9, 9)]
    first = ip(16, 10, 1, 5, 5)
    for missing in (
        ip(8, 11, 0, 0, 0),
        ip(16, 10, 3, 0, 0),
        ip(17, 10, 3, 0, 0),
        ip(40, 10, 1, 0, 0),
    ):
        assert t.get_next_key(missing) == first
    assert errno_of(t.lookup_and_delete_elem, ip(8, 10, 0, 0, 0)) == ENOTSUPP
    assert errno_of(t.delete_elem, ip(33, 10, 0, 0, 0)) == errno.EINVAL
    assert errno_of(t.delete_elem, ip(7, 10, 0, 0, 0)) == errno.ENOENT
    t.delete_elem(ip(16, 10, 1, 9, 9))  # bits past the prefix do not matter
    assert list(t) == [ip(16, 10, 2, 0, 0), ip(8, 10, 9, 9, 9)]
    t.delete_elem(ip(16, 10, 2, 0, 0))
    t.update_elem(ip(0, 1, 2, 3, 4), v(9))
    assert list(t) == [ip(8, 10, 9, 9, 9), ip(0, 1, 2, 3, 4)]
    assert t.lookup_elem(ip(32, 99, 3, 2, 3)) == v(9)


@pytest.mark.parametrize(
    ("flags", "err"), [(3, errno.EINVAL), (4, errno.EINVAL), (8, errno.EINVAL)]
)
def test_bad_update_flags(flags: int, err: int) -> None:
    t = trie()
    assert errno_of(t.update_elem, ip(8, 10, 0, 0, 0), v(1), flags) == err
    assert t.prog_update(ip(8, 10, 0, 0, 0), v(1), flags) == -err


def test_program_face() -> None:
    t = trie(entries=2)
    assert t.prog_update(ip(8, 10, 0, 0, 0), v(1), 0) == 0
    assert t.prog_update(ip(16, 10, 1, 0, 0), v(2), 1) == 0
    assert t.prog_update(ip(24, 10, 1, 1, 0), v(3), 0) == -errno.ENOSPC
    off = t.prog_lookup(ip(32, 10, 1, 1, 1))
    assert off is not None
    t.buf[off : off + 4] = v(22)  # programs write in place
    assert t[ip(16, 10, 1, 0, 0)] == v(22)
    t.update_elem(ip(16, 10, 1, 0, 0), v(23))  # an update keeps the value's place
    assert t.prog_lookup(ip(32, 10, 1, 1, 1)) == off
    assert t.prog_delete(ip(16, 10, 1, 0, 0)) == 0
    assert t.prog_delete(ip(16, 10, 1, 0, 0)) == -errno.ENOENT
    assert t.prog_lookup(b"short") is None


def test_empty_trie_and_bad_keys() -> None:
    t = trie()
    assert errno_of(t.get_next_key, None) == errno.ENOENT
    assert errno_of(t.get_next_key, ip(8, 1, 2, 3, 4)) == errno.ENOENT
    assert errno_of(t.lookup_elem, b"\x08\x00\x00\x00") == errno.EINVAL
    assert errno_of(t.update_elem, ip(8, 1, 2, 3, 4), b"12345") == errno.EINVAL
    assert errno_of(t.lookup_batch, None, 4, delete=True) == ENOTSUPP
    t.update_batch([(ip(8, 1, 0, 0, 0), v(1)), (ip(8, 2, 0, 0, 0), v(2))])
    pairs, pos = t.lookup_batch(None, 5)
    assert pairs == [(ip(8, 1, 0, 0, 0), v(1)), (ip(8, 2, 0, 0, 0), v(2))] and pos is None
    assert t.delete_batch([ip(8, 1, 0, 0, 0)]) == 1 and len(t) == 1


def test_deep_trie_has_no_recursion_limit() -> None:
    t = make(LPM, 4 + 256, 1, 4096, NP)
    data = bytes([0xFF] * 256)
    for plen in range(0, 2049, 2):
        t[prefix_key(plen, data)] = b"x"
    assert len(t) == 1025
    assert t.get_next_key(None) == prefix_key(2048, data)
    assert t.lookup_elem(prefix_key(2047, data)) == b"x"


# -- the trie's shape ---------------------------------------------------------------


def nodes(node: _Node | None, depth: int = 0) -> Iterator[tuple[_Node, int]]:
    stack = [(node, depth)]
    while stack:
        n, d = stack.pop()
        if n is not None:
            yield n, d
            stack.extend((c, d + 1) for c in n.child)


def check_shape(t: LpmTrieMap) -> None:
    """The kernel's invariants: intermediate nodes have two children; a child extends
    its parent's prefix on the side of its next bit; the count is the real nodes'."""
    real = 0
    for n, _ in nodes(t.root):
        if n.slot is None:
            assert n.child[0] is not None and n.child[1] is not None
        else:
            real += 1
        for side, c in enumerate(n.child):
            if c is None:
                continue
            assert c.prefixlen > n.prefixlen
            a = int.from_bytes(n.data, "big") >> (8 * len(n.data) - n.prefixlen)
            b = int.from_bytes(c.data, "big") >> (8 * len(c.data) - n.prefixlen)
            assert a == b or n.prefixlen == 0
            assert (
                int.from_bytes(c.data, "big") >> (8 * len(c.data) - n.prefixlen - 1)
            ) & 1 == side
    assert real == t.n_entries == t.slots.used


# -- a model -------------------------------------------------------------------------

DATA = 2
MAXLEN = 8 * DATA


def bits(plen: int, data: bytes) -> tuple[int, ...]:
    n = int.from_bytes(data, "big")
    return tuple((n >> (MAXLEN - 1 - i)) & 1 for i in range(plen))


def walk_order(item: tuple[int, ...]) -> tuple[int, ...]:
    """Post-order: a prefix after its extensions, bit 0 before bit 1."""
    return (*item, 2)


KEYS = st.builds(
    prefix_key,
    st.one_of(st.integers(0, MAXLEN), st.just(MAXLEN + 1)),
    st.binary(min_size=DATA, max_size=DATA),
)


class LpmModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.t = trie(data_size=DATA, entries=5)
        self.model: dict[tuple[int, ...], tuple[bytes, bytes]] = {}  # bits -> (key, value)

    def expect(self, key: bytes, flags: int) -> int:
        plen, data = split_key(key)
        if plen > MAXLEN:
            return errno.EINVAL
        present = bits(plen, data) in self.model
        if present:
            return errno.EEXIST if flags == 1 else 0
        if flags == 2:
            return errno.ENOENT
        return errno.ENOSPC if len(self.model) == 5 else 0

    @rule(key=KEYS, i=st.integers(0, 99), flags=st.sampled_from([0, 1, 2]), prog=st.booleans())
    def update(self, key: bytes, i: int, flags: int, prog: bool) -> None:
        want = self.expect(key, flags)
        if prog:
            assert self.t.prog_update(key, v(i), flags) == -want
        else:
            assert errno_of(self.t.update_elem, key, v(i), flags) == want
        if not want:
            self.model[bits(*split_key(key))] = (key, v(i))

    @rule(key=KEYS)
    def delete(self, key: bytes) -> None:
        plen, data = split_key(key)
        if plen > MAXLEN:
            want = errno.EINVAL
        else:
            want = 0 if bits(plen, data) in self.model else errno.ENOENT
        assert errno_of(self.t.delete_elem, key) == want
        if not want:
            del self.model[bits(plen, data)]

    @rule(key=KEYS)
    def lookup(self, key: bytes) -> None:
        plen, data = split_key(key)
        best = None
        if plen <= MAXLEN:
            want = bits(plen, data)
            matches = [p for p in self.model if want[: len(p)] == p]
            best = max(matches, key=len, default=None)
        if best is None:
            assert errno_of(self.t.lookup_elem, key) == errno.ENOENT
            assert self.t.prog_lookup(key) is None
        else:
            assert self.t.lookup_elem(key) == self.model[best][1]

    @rule(key=st.one_of(st.none(), KEYS))
    def next_key(self, key: bytes | None) -> None:
        order = [self.model[p][0] for p in sorted(self.model, key=walk_order)]
        if not order:
            assert errno_of(self.t.get_next_key, key) == errno.ENOENT
            return
        where = None
        if key is not None and split_key(key)[0] <= MAXLEN:
            at = bits(*split_key(key))
            if at in self.model:
                where = sorted(self.model, key=walk_order).index(at)
        if where is None:
            assert self.t.get_next_key(key) == order[0]
        elif where + 1 == len(order):
            assert errno_of(self.t.get_next_key, key) == errno.ENOENT
        else:
            assert self.t.get_next_key(key) == order[where + 1]

    @invariant()
    def same(self) -> None:
        check_shape(self.t)
        assert list(self.t) == [self.model[p][0] for p in sorted(self.model, key=walk_order)]


def test_matches_a_model() -> None:
    run_state_machine_as_test(
        LpmModel, settings=settings(max_examples=150, stateful_step_count=40, deadline=None)
    )
