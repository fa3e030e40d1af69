"""BPF_MAP_TYPE_QUEUE and BPF_MAP_TYPE_STACK: creation, push/pop/peek on both faces,
the overwrite of BPF_EXIST when full, errnos, the helpers, and a deque model.
"""

from __future__ import annotations

import errno
from collections import deque

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from ebpy.helpers.env import Runtime
from ebpy.helpers.maps import HELPERS
from ebpy.maps.queue_stack import QueueMap, QueueStackMap, StackMap
from ebpy.uapi import HelperId, MapCreateFlags, MapType
from tests.maps import create_errno, errno_of, make, u32

Q, S = MapType.QUEUE, MapType.STACK
ENOTSUPP = 524
KM = 1 << 22
KINDS = [Q, S]


def qs(kind: MapType, entries: int = 3, flags: int = 0) -> QueueStackMap:
    m = make(kind, 0, 4, entries, flags)
    assert isinstance(m, QueueStackMap)
    return m


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("key", "value", "entries", "flags", "err"),
    [
        (0, 4, 2, 0, 0),
        (0, KM, 1, 0, 0),
        (0, KM + 1, 1, 0, errno.E2BIG),
        (4, KM + 1, 1, 0, errno.EINVAL),  # EINVAL checks come first
        (4, 4, 2, 0, errno.EINVAL),
        (0, 0, 2, 0, errno.EINVAL),
        (0, 4, 0, 0, errno.EINVAL),
        (0, 4, 2, MapCreateFlags.NO_PREALLOC, errno.EINVAL),
        (0, 4, 2, MapCreateFlags.ZERO_SEED, errno.EINVAL),
        (0, 4, 2, MapCreateFlags.NUMA_NODE, 0),
        (0, 4, 2, MapCreateFlags.RDONLY_PROG, 0),
        (0, 4, 2, MapCreateFlags.RDONLY | MapCreateFlags.WRONLY, errno.EINVAL),
        (0, 4, (1 << 32) - 1, 0, errno.ENOMEM),  # more than ebpy allocates
    ],
)
def test_create(kind: MapType, key: int, value: int, entries: int, flags: int, err: int) -> None:
    assert create_errno(kind, key, value, entries, flags) == err


@pytest.mark.parametrize(("kind", "order"), [(Q, [1, 2, 3]), (S, [3, 2, 1])])
def test_order(kind: MapType, order: list[int]) -> None:
    m = qs(kind)
    for i in (1, 2, 3):
        m.update_elem(None, u32(i))
    assert len(m) == 3
    assert m.lookup_elem(None) == u32(order[0])
    assert [m.lookup_and_delete_elem(None) for _ in range(3)] == [u32(i) for i in order]
    assert errno_of(m.lookup_and_delete_elem, None) == errno.ENOENT
    assert errno_of(m.lookup_elem, None) == errno.ENOENT
    assert len(m) == 0


@pytest.mark.parametrize(("kind", "order"), [(Q, [2, 3, 4]), (S, [4, 3, 2])])
def test_exist_overwrites_the_oldest(kind: MapType, order: list[int]) -> None:
    m = qs(kind)
    for i in (1, 2, 3):
        m.push_elem(u32(i))
    assert errno_of(m.push_elem, u32(9)) == errno.E2BIG
    m.push_elem(u32(4), 2)
    assert [m.pop_elem() for _ in range(3)] == [u32(i) for i in order]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("flags", "err"),
    [
        (0, 0),
        (2, 0),
        (1, errno.EINVAL),
        (3, errno.EINVAL),
        (4, errno.EINVAL),
        (6, errno.EINVAL),
        (8, errno.EINVAL),
    ],
)
def test_push_flags(kind: MapType, flags: int, err: int) -> None:
    assert errno_of(qs(kind).update_elem, None, u32(1), flags) == err
    assert qs(kind).prog_push(u32(1), flags) == -err


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("op", "args", "err"),
    [
        ("delete_elem", (None,), errno.EINVAL),
        ("get_next_key", (None,), errno.EINVAL),
        ("lookup_elem", (None, 4), errno.EINVAL),
        ("lookup_elem", (None, 1), errno.EINVAL),
        ("lookup_and_delete_elem", (None, 4), errno.EINVAL),
        ("lookup_and_delete_elem", (None, 1), errno.EINVAL),
        ("lookup_elem", (b"\x00",), errno.EINVAL),  # no keys
        ("update_elem", (b"\x00", u32(1)), errno.EINVAL),
        ("update_elem", (None, b"\x00"), errno.EINVAL),
        ("update_elem", (None, None), errno.EINVAL),
        ("lookup_batch", (None, 2), ENOTSUPP),
        ("update_batch", ([(b"", u32(1))],), ENOTSUPP),
        ("delete_batch", ([b""],), ENOTSUPP),
    ],
)
def test_errors(kind: MapType, op: str, args: tuple[object, ...], err: int) -> None:
    m = qs(kind)
    m.push_elem(u32(1))
    assert errno_of(getattr(m, op), *args) == err


@pytest.mark.parametrize("kind", KINDS)
def test_permissions(kind: MapType) -> None:
    m = qs(kind)
    m.push_elem(u32(1))
    m.freeze()
    assert errno_of(m.push_elem, u32(2)) == errno.EPERM
    assert errno_of(m.pop_elem) == errno.EPERM
    assert errno_of(m.update_batch, []) == errno.EPERM
    assert m.peek_elem() == u32(1)
    assert m.prog_push(u32(2), 0) == 0  # programs still may
    w = qs(kind, flags=MapCreateFlags.WRONLY)
    assert errno_of(w.peek_elem) == errno.EPERM
    assert errno_of(w.pop_elem) == errno.EPERM
    assert errno_of(w.lookup_batch, None, 1) == errno.EPERM


@pytest.mark.parametrize("kind", KINDS)
def test_program_face(kind: MapType) -> None:
    m = qs(kind)
    assert m.prog_pop() == -errno.ENOENT
    assert m.prog_peek(bytes(4)) == -errno.ENOENT
    assert m.prog_push(u32(1), 0) == 0
    assert m.prog_push(u32(2), 0) == 0
    assert m.prog_peek(bytes(4)) == u32(1 if kind == Q else 2)
    assert m.prog_lookup(b"") is None
    assert m.prog_update(b"", u32(1), 0) == -errno.EINVAL
    assert m.prog_delete(b"") == -errno.EINVAL
    assert m.prog_keys() == []
    assert m.prog_push(b"\x00", 0) == -errno.EINVAL


def test_helpers() -> None:
    m = qs(Q)
    impl = {h.id: h.impl for h in HELPERS}
    rt = Runtime()
    rt.add_map(m)
    buf = rt.memory.map_scratch(4)
    rt.memory.write(buf, u32(7))
    assert impl[HelperId.MAP_PUSH_ELEM](rt, m.slot << 32, buf, 0, 0, 0) == 0
    rt.memory.write(buf, u32(0))
    assert impl[HelperId.MAP_PEEK_ELEM](rt, m.slot << 32, buf, 0, 0, 0) == 0
    assert rt.memory.read(buf, 4) == u32(7)
    assert impl[HelperId.MAP_POP_ELEM](rt, m.slot << 32, buf, 0, 0, 0) == 0
    enoent = -errno.ENOENT & ((1 << 64) - 1)
    assert impl[HelperId.MAP_POP_ELEM](rt, m.slot << 32, buf, 0, 0, 0) == enoent


def test_ring_wraps() -> None:
    q = qs(Q, entries=2)
    for i in range(20):
        q.push_elem(u32(i))
        assert q.pop_elem() == u32(i)
    s = qs(S, entries=2)
    for i in range(20):
        s.push_elem(u32(i), 2)
    assert [s.pop_elem(), s.pop_elem()] == [u32(19), u32(18)]
    assert isinstance(q, QueueMap) and isinstance(s, StackMap)


# -- a model ---------------------------------------------------------------------------


class QueueModel(RuleBasedStateMachine):
    kind = Q

    def __init__(self) -> None:
        super().__init__()
        self.m = qs(self.kind, entries=4)
        self.model: deque[bytes] = deque()

    @rule(i=st.integers(0, 99), flags=st.sampled_from([0, 2]), prog=st.booleans())
    def push(self, i: int, flags: int, prog: bool) -> None:
        full = len(self.model) == 4
        want = errno.E2BIG if full and not flags else 0
        if prog:
            assert self.m.prog_push(u32(i), flags) == -want
        else:
            assert errno_of(self.m.update_elem, None, u32(i), flags) == want
        if not want:
            if full:
                self.model.popleft()  # the oldest goes, for a stack too
            self.model.append(u32(i))

    def head(self) -> bytes:
        return self.model[0] if self.kind == Q else self.model[-1]

    @rule(prog=st.booleans())
    def pop(self, prog: bool) -> None:
        if not self.model:
            assert self.m.prog_pop() == -errno.ENOENT
            assert errno_of(self.m.lookup_and_delete_elem, None) == errno.ENOENT
            return
        got = self.m.prog_pop() if prog else self.m.lookup_and_delete_elem(None)
        assert got == self.head()
        if self.kind == Q:
            self.model.popleft()
        else:
            self.model.pop()

    @rule()
    def peek(self) -> None:
        if self.model:
            assert self.m.lookup_elem(None) == self.head()
        else:
            assert errno_of(self.m.lookup_elem, None) == errno.ENOENT

    @invariant()
    def same_size(self) -> None:
        assert len(self.m) == len(self.model)


class StackModel(QueueModel):
    kind = S


@pytest.mark.parametrize("machine", [QueueModel, StackModel])
def test_matches_a_deque(machine: type[QueueModel]) -> None:
    run_state_machine_as_test(
        machine, settings=settings(max_examples=60, stateful_step_count=30, deadline=None)
    )
