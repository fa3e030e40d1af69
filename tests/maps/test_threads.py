"""Several Python threads on one map at once give consistent results.

The switch interval is made tiny so that threads interleave inside map operations;
every public operation holds the map's lock, so the end state must be exactly
what the operations add up to, whatever the interleaving.
"""

from __future__ import annotations

import errno
import sys
import threading
from collections.abc import Callable, Iterator

import pytest

from ebpy.errors import MapError
from ebpy.maps._hashtable import HashTable
from ebpy.maps.lpm_trie import LpmTrieMap, prefix_key
from ebpy.maps.lru_hash import LruOrder
from ebpy.maps.queue_stack import QueueStackMap
from ebpy.uapi import MapCreateFlags, MapType
from tests.maps import errno_of, make, u32, u64
from tests.maps.test_lpm_trie import check_shape

THREADS = 8


@pytest.fixture(autouse=True)
def _interleave() -> Iterator[None]:
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def run(workers: list[Callable[[], None]]) -> None:
    """Run each worker in its own thread; re-raise the first error any of them hit."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(workers))

    def wrap(fn: Callable[[], None]) -> Callable[[], None]:
        def go() -> None:
            start.wait()
            try:
                fn()
            except BaseException as exc:  # handed to the main thread
                errors.append(exc)

        return go

    threads = [threading.Thread(target=wrap(w)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


@pytest.mark.parametrize("kind", [MapType.HASH, MapType.PERCPU_HASH, MapType.LRU_HASH])
def test_disjoint_writers(kind: MapType) -> None:
    m = make(kind, 4, 8, THREADS * 200, ncpus=2)
    assert isinstance(m, HashTable)
    width = m.syscall_value_size // 8

    def writer(t: int) -> Callable[[], None]:
        def go() -> None:
            for i in range(200):
                m.update_elem(u32(t * 1000 + i), u64(i) * width)
            for i in range(0, 200, 2):
                m.delete_elem(u32(t * 1000 + i))

        return go

    run([writer(t) for t in range(THREADS)])
    want = {u32(t * 1000 + i): u64(i) * width for t in range(THREADS) for i in range(1, 200, 2)}
    assert dict(m.items()) == want
    assert m.slots.used == len(want)


def test_racing_for_a_full_table() -> None:
    m = make(MapType.HASH, 4, 8, 100)
    results: list[int] = []
    lock = threading.Lock()

    def racer(t: int) -> Callable[[], None]:
        def go() -> None:
            for i in range(50):
                err = errno_of(m.update_elem, u32(t * 100 + i), u64(i), 1)
                with lock:
                    results.append(err)

        return go

    run([racer(t) for t in range(THREADS)])
    assert results.count(0) == 100
    assert results.count(errno.E2BIG) == THREADS * 50 - 100
    assert len(m) == 100


def test_programs_counting_in_place() -> None:
    m = make(MapType.HASH, 4, 8, 4)
    m.update_elem(u32(0), u64(0))

    def counter() -> None:
        for _ in range(500):
            with m.lock:  # what a program's atomic add does
                off = m.prog_lookup(u32(0))
                assert off is not None
                n = int.from_bytes(m.buf[off : off + 8], "little")
                m.buf[off : off + 8] = u64(n + 1)

    run([counter for _ in range(THREADS)])
    assert m[u32(0)] == u64(THREADS * 500)


def test_percpu_programs_on_their_own_cpus() -> None:
    m = make(MapType.PERCPU_ARRAY, 4, 8, 1, ncpus=THREADS)

    def cpu(c: int) -> Callable[[], None]:
        def go() -> None:
            for i in range(300):
                assert m.prog_update(u32(0), u64(i + 1), 0, c) == 0

        return go

    run([cpu(c) for c in range(THREADS)])
    assert m.lookup_elem(u32(0)) == u64(300) * THREADS


def test_lru_stays_within_bounds() -> None:
    m = make(MapType.LRU_HASH, 4, 8, 32)
    assert isinstance(m, LruOrder)

    def churn(t: int) -> Callable[[], None]:
        def go() -> None:
            for i in range(300):
                m.update_elem(u32((t * 7 + i) % 100), u64(i))
                m.prog_lookup(u32(i % 100))
                assert len(m) <= 32

        return go

    run([churn(t) for t in range(THREADS)])
    assert len(m) == 32
    assert sorted(m.recency()) == sorted(m)


@pytest.mark.parametrize("kind", [MapType.QUEUE, MapType.STACK])
def test_producers_and_consumers(kind: MapType) -> None:
    m = make(kind, 0, 4, 64)
    assert isinstance(m, QueueStackMap)
    popped: list[bytes] = []
    lock = threading.Lock()
    done = threading.Event()

    def producer(t: int) -> Callable[[], None]:
        def go() -> None:
            for i in range(100):
                while m.prog_push(u32(t * 1000 + i), 0) == -errno.E2BIG:
                    pass

        return go

    def consumer() -> None:
        while True:
            got = m.prog_pop()
            if isinstance(got, bytes):
                with lock:
                    popped.append(got)
            elif done.is_set() and len(m) == 0:
                return

    producers = [producer(t) for t in range(4)]

    def watcher() -> None:
        try:
            run(producers)
        finally:
            done.set()

    run([watcher, consumer, consumer])
    assert sorted(popped) == sorted(u32(t * 1000 + i) for t in range(4) for i in range(100))


def test_walking_while_others_write() -> None:
    m = make(MapType.HASH, 4, 8, 64)
    assert isinstance(m, HashTable)
    stop = threading.Event()

    def writer(t: int) -> Callable[[], None]:
        def go() -> None:
            for i in range(400):
                key = u32((t * 13 + i) % 64)
                if i % 3:
                    m.update_elem(key, u64(i))
                else:
                    errno_of(m.delete_elem, key)

        return go

    def walker() -> None:
        while not stop.is_set():
            key = None
            for _ in range(200):
                try:
                    key = m.get_next_key(key)
                except MapError as exc:
                    assert exc.errno == errno.ENOENT
                    break

    writers = [writer(t) for t in range(4)]

    def all_writers() -> None:
        try:
            run(writers)
        finally:
            stop.set()

    run([all_writers, walker, walker])
    assert len(list(m)) == len(m) == m.slots.used


def test_lpm_trie_keeps_its_shape() -> None:
    m = make(MapType.LPM_TRIE, 6, 4, 1000, MapCreateFlags.NO_PREALLOC)
    assert isinstance(m, LpmTrieMap)

    def worker(t: int) -> Callable[[], None]:
        def go() -> None:
            for i in range(200):
                key = prefix_key((t + i) % 17, bytes([i % 256, (t * 37) % 256]))
                if i % 4 == 3:
                    errno_of(m.delete_elem, key)
                else:
                    m.update_elem(key, u32(i))
                errno_of(m.lookup_elem, prefix_key(16, bytes([i % 256, t])))

        return go

    run([worker(t) for t in range(THREADS)])
    check_shape(m)
    assert len(list(m)) == len(m)
