"""BPF_MAP_TYPE_RINGBUF: creation rules, headers and positions, wrapping, the consumer."""

from __future__ import annotations

import errno
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.errors import MapError
from ebpy.maps import create_map
from ebpy.maps.prog_array import ENOTSUPP
from ebpy.maps.ringbuf import (
    BPF_RB_AVAIL_DATA,
    BPF_RB_CONS_POS,
    BPF_RB_FORCE_WAKEUP,
    BPF_RB_NO_WAKEUP,
    BPF_RB_PROD_POS,
    BPF_RB_RING_SIZE,
    BUSY_BIT,
    DATA_PGOFF,
    DISCARD_BIT,
    RingBuf,
    record_size,
)
from ebpy.spec import MapSpec
from ebpy.uapi import MapCreateFlags, MapType


def make(size: int = 4096) -> RingBuf:
    m = create_map(MapSpec(MapType.RINGBUF, 0, 0, size))
    assert isinstance(m, RingBuf)
    return m


def errno_of(fn: object, *args: object) -> int:
    try:
        fn(*args)  # type: ignore[operator]
    except MapError as e:
        return e.errno
    return 0


@pytest.mark.parametrize(
    ("key", "value", "size", "flags", "err"),
    [
        (0, 0, 4096, 0, 0),
        (0, 0, 8192, 0, 0),
        (0, 0, 1 << 20, 0, 0),
        (0, 0, 12288, 0, errno.EINVAL),
        (0, 0, 2048, 0, errno.EINVAL),
        (0, 0, 0, 0, errno.EINVAL),
        (4, 0, 4096, 0, errno.EINVAL),
        (0, 4, 4096, 0, errno.EINVAL),
        (0, 0, 4096, MapCreateFlags.RDONLY, errno.EINVAL),
        (0, 0, 4096, MapCreateFlags.MMAPABLE, errno.EINVAL),
        (0, 0, 4096, MapCreateFlags.NUMA_NODE, 0),
        (0, 0, 1 << 29, 0, errno.ENOMEM),  # userspace limit
    ],
)
def test_create(key: int, value: int, size: int, flags: int, err: int) -> None:
    spec = MapSpec(MapType.RINGBUF, key, value, size, flags)
    assert errno_of(create_map, spec) == err


def test_buffer_is_twice_the_ring() -> None:
    rb = make(8192)
    assert len(rb.buf) == 2 * 8192
    assert rb.value_writable


@pytest.mark.parametrize(
    "op", ["lookup", "update", "delete", "get_next_key", "lookup_and_delete", "lookup_batch"]
)
def test_syscall_face_is_enotsupp(op: str) -> None:
    rb = make()
    calls = {
        "lookup": lambda: rb.lookup_elem(b""),
        "update": lambda: rb.update_elem(b"", b""),
        "delete": lambda: rb.delete_elem(b""),
        "get_next_key": lambda: rb.get_next_key(None),
        "lookup_and_delete": lambda: rb.lookup_and_delete_elem(b""),
        "lookup_batch": lambda: rb.lookup_batch(None, 1),
    }
    assert errno_of(calls[op]) == ENOTSUPP


def test_a_key_is_einval_and_the_mapping_is_empty() -> None:
    rb = make()
    assert errno_of(rb.lookup_elem, bytes(4)) == errno.EINVAL
    assert len(rb) == 0
    assert list(rb) == []
    assert rb.prog_keys() == []


@pytest.mark.parametrize(("n", "size"), [(0, 8), (1, 16), (8, 16), (9, 24), (4088, 4096)])
def test_record_size(n: int, size: int) -> None:
    assert record_size(n) == size


def test_reserve_writes_a_busy_header_and_commit_clears_it() -> None:
    rb = make(8192)
    off = rb.reserve(5)
    assert off == 8
    assert rb.header(0) == (5 | BUSY_BIT, DATA_PGOFF)
    assert rb.query(BPF_RB_PROD_POS) == 16
    rb.buf[off : off + 5] = b"hello"
    rb.commit(off)
    assert rb.header(0) == (5, DATA_PGOFF)
    # a record on the second page records page offset DATA_PGOFF + 1
    rb.output(bytes(4096 - 16 - 8))
    assert rb.query(BPF_RB_PROD_POS) == 4096
    off2 = rb.reserve(1)
    assert off2 == 4096 + 8
    assert rb.header(4096) == (1 | BUSY_BIT, DATA_PGOFF + 1)
    rb.commit(off2, discard=True)
    assert rb.header(4096) == (1 | DISCARD_BIT, DATA_PGOFF + 1)
    assert rb.consume() == [b"hello", bytes(4072)]


def test_no_room() -> None:
    rb = make(4096)
    assert rb.reserve(4088) is None  # would fill the ring exactly: not allowed
    assert rb.reserve(1 << 40) is None
    assert rb.output(bytes(4089)) == -errno.EAGAIN
    off = rb.reserve(4080)
    assert off is not None
    assert rb.reserve(0) is None
    assert rb.output(b"") == -errno.EAGAIN
    rb.commit(off)
    assert rb.consume() == [bytes(4080)]
    assert rb.output(b"") == 0


def test_query() -> None:
    rb = make(4096)
    rb.output(b"abc")
    rb.output(b"defghijkl")
    assert rb.query(BPF_RB_AVAIL_DATA) == 16 + 24
    assert rb.query(BPF_RB_RING_SIZE) == 4096
    assert rb.query(BPF_RB_CONS_POS) == 0
    assert rb.query(BPF_RB_PROD_POS) == 40
    assert rb.query(4) == 0
    assert rb.poll() == 2
    assert rb.query(BPF_RB_CONS_POS) == 40
    assert rb.avail_data == 0


def test_wrapping_record_is_contiguous_for_the_program() -> None:
    rb = make(4096)
    assert rb.output(bytes(4080 - 8)) == 0  # positions 0..4080
    assert rb.consume() == [bytes(4072)]
    off = rb.reserve(40)  # header at 4080, data 4088..4128: past the end
    assert off == 4088
    payload = bytes(range(1, 41))
    rb.buf[off : off + 40] = payload  # written in place, through the second half
    rb.commit(off)
    assert rb.buf[: 4128 - 4096] == payload[8:]  # the tail is back at the front
    assert rb.consume() == [payload]
    assert rb.query(BPF_RB_CONS_POS) == rb.query(BPF_RB_PROD_POS) == 4080 + 48


def test_busy_record_blocks_the_consumer() -> None:
    rb = make()
    first = rb.reserve(4)
    assert first is not None
    assert rb.output(b"second") == 0
    assert rb.consume() == []
    assert rb.query(BPF_RB_CONS_POS) == 0
    rb.buf[first : first + 4] = b"1st!"
    rb.commit(first)
    assert rb.consume() == [b"1st!", b"second"]


def test_discarded_records_are_skipped() -> None:
    rb = make()
    a = rb.reserve(3)
    b = rb.reserve(3)
    assert a is not None and b is not None
    rb.commit(a, discard=True)
    rb.buf[b : b + 3] = b"yes"
    rb.commit(b)
    seen: list[bytes] = []
    assert rb.poll(seen.append) == 1
    assert seen == [b"yes"]
    assert rb.query(BPF_RB_CONS_POS) == 32


def test_commit_checks_the_pointer() -> None:
    rb = make()
    off = rb.reserve(4)
    assert off is not None
    for bad in (0, off + 8, off - 1, 4096 + off, 1 << 20):
        assert errno_of(rb.commit, bad) == errno.EINVAL
    rb.commit(off)
    assert errno_of(rb.commit, off) == errno.EINVAL  # not twice


@pytest.mark.parametrize(
    ("flags", "caught_up", "wakeups"),
    [
        (0, True, 1),
        (0, False, 0),
        (BPF_RB_NO_WAKEUP, True, 0),
        (BPF_RB_FORCE_WAKEUP, False, 1),
        (BPF_RB_FORCE_WAKEUP | BPF_RB_NO_WAKEUP, True, 1),
    ],
)
def test_wakeups(flags: int, caught_up: bool, wakeups: int) -> None:
    rb = make()
    if not caught_up:
        ahead = rb.reserve(1)  # the consumer waits on this one, not on ours
        assert ahead is not None
    off = rb.reserve(8)
    assert off is not None
    rb.commit(off, flags)
    assert rb.wakeups == wakeups


def test_output_flags() -> None:
    rb = make()
    assert rb.output(b"x", 4) == -errno.EINVAL
    assert rb.output(b"x", BPF_RB_NO_WAKEUP) == 0
    assert rb.wakeups == 0


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("reserve"), st.integers(0, 1500)),
            st.tuples(st.just("submit"), st.integers(0, 7)),
            st.tuples(st.just("discard"), st.integers(0, 7)),
            st.tuples(st.just("consume"), st.just(0)),
        ),
        max_size=60,
    )
)
def test_against_a_model(ops: list[tuple[str, int]]) -> None:
    """Records come out in reservation order, committed ones only, stopping at the
    first busy one; the producer never gets a whole ring ahead."""
    rb = make(4096)
    pending: list[tuple[int, int]] = []  # reserved, not committed: (offset, index in order)
    order: list[tuple[bytes, str]] = []  # every reservation: (data, state)
    done = 0  # records consumed from the front of order
    for op, arg in ops:
        if op == "reserve":
            data = struct.pack("<I", len(order) + 1) * (arg // 4) + bytes(arg % 4)
            room = 4095 - (rb.producer_pos - rb.consumer_pos)
            off = rb.reserve(len(data))
            assert (off is not None) == (record_size(len(data)) <= room)
            if off is not None:
                rb.buf[off : off + len(data)] = data
                pending.append((off, len(order)))
                order.append((data, "busy"))
        elif op in ("submit", "discard") and pending:
            off, i = pending.pop(arg % len(pending))
            rb.commit(off, discard=op == "discard")
            order[i] = (order[i][0], op)
        elif op == "consume":
            want = []
            while done < len(order) and order[done][1] != "busy":
                if order[done][1] == "submit":
                    want.append(order[done][0])
                done += 1
            assert rb.consume() == want
        assert 0 <= rb.producer_pos - rb.consumer_pos <= rb.mask
