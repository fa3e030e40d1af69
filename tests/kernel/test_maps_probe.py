"""The errnos of the core map types that were not obvious, asked of the running kernel.

Each case creates the same ``MapSpec`` as a kernel map (``KernelMap``) and as a
userspace map (``ebpy.maps``) and runs the same short sequence of syscall-face
operations on both; the outcomes (a value or an errno name) must agree. These are
targeted probes (size limits, flag checks, the order of checks, ENOTSUPP versus
EOPNOTSUPP, ENOSPC, the LPM trie's walk); the random kernel-versus-ours state
machines are ``test_maps_differential.py``. No case allocates much: big values
go with ``BPF_F_NO_PREALLOC`` or a single entry.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

import pytest

from ebpy.errors import MapError
from ebpy.kernel import KernelMap, possible_cpus
from ebpy.maps import create_map
from ebpy.maps.lpm_trie import prefix_key
from ebpy.spec import MapSpec
from ebpy.uapi import MapCreateFlags, MapType

pytestmark = pytest.mark.kernel

T = MapType
F = MapCreateFlags
NP = F.NO_PREALLOC
KM = 1 << 22
ENOTSUPP = 524


def name(err: int) -> str:
    return "ENOTSUPP" if err == ENOTSUPP else errno.errorcode.get(err, str(err))


def outcome(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> object:
    try:
        return ("ok", fn(*args, **kwargs))
    except MapError as exc:
        return name(exc.errno)


def create_outcome(spec: MapSpec, kernel: bool) -> str:
    try:
        if kernel:
            KernelMap.create(spec).close()
        else:
            create_map(spec, ncpus=possible_cpus())
    except MapError as exc:
        return name(exc.errno)
    return "ok"


def spec(kind: MapType, key: int, value: int, entries: int, flags: int = 0, extra: int = 0) -> Any:
    s = MapSpec(kind, key, value, entries, int(flags), extra=extra)
    return pytest.param(s, id=f"{s.describe()} flags {int(flags):#x} extra {extra}")


CREATE = [
    # hash maps: key + value against kmalloc's limit less the element header
    spec(T.HASH, 4, KM - 48 - 4, 1, NP),
    spec(T.HASH, 4, KM - 49 - 4, 1, NP),
    spec(T.PERCPU_HASH, 4, 32768, 1, NP),
    spec(T.PERCPU_HASH, 4, 32769, 1, NP),
    spec(T.HASH, 4, 4, (1 << 27) + 1, NP),
    spec(T.HASH, 4, 4, 1, F.NO_COMMON_LRU),
    spec(T.PERCPU_HASH, 4, 4, 1, F.NUMA_NODE),
    spec(T.HASH, 4, 4, 1, 1 << 20),
    spec(T.HASH, 4, 4, 1, extra=1),
    spec(T.LRU_HASH, 4, 4, 1, NP),
    spec(T.LRU_PERCPU_HASH, 0, 0, 0, NP),
    spec(T.LRU_HASH, 4, 4, 1, NP | (1 << 20)),
    spec(T.LRU_HASH, 4, 4, 1, F.NO_COMMON_LRU | F.NUMA_NODE),
    # per-CPU arrays
    spec(T.PERCPU_ARRAY, 4, 32768, 1),
    spec(T.PERCPU_ARRAY, 4, 32769, 1),
    spec(T.PERCPU_ARRAY, 8, 32769, 1),
    spec(T.PERCPU_ARRAY, 4, 4, 1, F.MMAPABLE),
    spec(T.PERCPU_ARRAY, 4, 4, 1, NP),
    spec(T.PERCPU_ARRAY, 4, 4, 1, F.NUMA_NODE),
    # LPM tries
    spec(T.LPM_TRIE, 4, 4, 1, NP),
    spec(T.LPM_TRIE, 5, 4, 1, NP),
    spec(T.LPM_TRIE, 260, 4, 1, NP),
    spec(T.LPM_TRIE, 261, 4, 1, NP),
    spec(T.LPM_TRIE, 8, 4, 1),
    spec(T.LPM_TRIE, 8, KM - 280, 1, NP),
    spec(T.LPM_TRIE, 8, KM - 279, 1, NP),
    spec(T.LPM_TRIE, 8, 4, 1, NP | F.ZERO_SEED),
    # queues, stacks, bloom filters
    spec(T.QUEUE, 0, KM + 1, 1),
    spec(T.STACK, 4, KM + 1, 1),
    spec(T.QUEUE, 0, 4, 1, NP),
    spec(T.STACK, 0, 4, 1, F.ZERO_SEED),
    spec(T.BLOOM_FILTER, 0, 4, 1, extra=15),
    spec(T.BLOOM_FILTER, 0, 4, 1, extra=16),
    spec(T.BLOOM_FILTER, 4, KM + 1, 1),
    spec(T.BLOOM_FILTER, 0, 4, 1, NP),
    spec(T.BLOOM_FILTER, 0, 4, 1, F.ZERO_SEED),
]


@pytest.mark.parametrize("s", CREATE)
def test_create(s: MapSpec) -> None:
    assert create_outcome(s, kernel=False) == create_outcome(s, kernel=True)


# -- operation sequences ---------------------------------------------------------------


def k32(i: int) -> bytes:
    return i.to_bytes(4, "little")


def hash_full(m: Any) -> list[object]:
    n = m.syscall_value_size
    v = bytes(n)
    return [
        outcome(m.update_elem, k32(1), v, 2),
        outcome(m.update_elem, k32(1), v, 1),
        outcome(m.update_elem, k32(1), v, 1),
        *(outcome(m.update_elem, k32(1), v, f) for f in (3, 4, 5, 8)),
        outcome(m.update_elem, k32(2), v),
        outcome(m.update_elem, k32(3), v),
        outcome(m.update_elem, k32(3), v, 2),
        outcome(m.update_elem, k32(3), v, 1),
        outcome(m.update_elem, k32(1), bytes(range(n)), 2),
        outcome(m.lookup_elem, k32(1), 4),
        outcome(m.lookup_elem, k32(1), 1),
        outcome(m.lookup_and_delete_elem, k32(1), 1),
        outcome(m.lookup_and_delete_elem, k32(1)),
        outcome(m.lookup_and_delete_elem, k32(1)),
        outcome(m.delete_elem, k32(1)),
        outcome(m.update_batch, [(k32(5), v)], 1),
        outcome(m.freeze),
        outcome(m.freeze),
        outcome(m.update_elem, k32(9), v),
    ]


def lru_flags(m: Any) -> list[object]:
    v = bytes(m.syscall_value_size)
    out = [outcome(m.update_elem, k32(i), v) for i in range(4)]  # never E2BIG
    return [*out, *(outcome(m.update_elem, k32(9), v, f) for f in (3, 4, 8))]


def arrays(m: Any) -> list[object]:
    n = m.syscall_value_size
    return [
        outcome(m.update_elem, k32(0), bytes(range(1, n + 1))),
        outcome(m.lookup_elem, k32(0)),  # per-CPU padding comes back
        outcome(m.update_elem, k32(1), bytes(n), 1),
        outcome(m.update_elem, k32(2), bytes(n)),
        outcome(m.update_elem, k32(2), bytes(n), 3),
        outcome(m.lookup_elem, k32(2)),
        outcome(m.delete_elem, k32(0)),
        outcome(m.lookup_and_delete_elem, k32(0)),
        outcome(m.delete_batch, [k32(0)]),
        outcome(m.get_next_key, k32(7)),
    ]


def ip(plen: int, *octets: int) -> bytes:
    return prefix_key(plen, bytes(octets))


def lpm(m: Any) -> list[object]:
    def walk() -> list[object]:
        out: list[object] = []
        key = None
        while True:
            got = outcome(m.get_next_key, key)
            out.append(got)
            if not isinstance(got, tuple):
                return out
            key = got[1]

    v = k32(7)
    return [
        outcome(m.get_next_key, None),
        outcome(m.update_elem, ip(33, 1, 2, 3, 4), v),
        outcome(m.update_elem, ip(8, 10, 0, 0, 0), v, 4),
        outcome(m.update_elem, ip(8, 10, 0, 0, 0), v, 2),
        outcome(m.update_elem, ip(8, 10, 1, 2, 3), v, 1),
        outcome(m.update_elem, ip(8, 10, 9, 9, 9), k32(2), 1),
        outcome(m.update_elem, ip(8, 10, 9, 9, 9), k32(3), 2),
        outcome(m.update_elem, ip(16, 10, 1, 0, 0), k32(4)),
        outcome(m.update_elem, ip(16, 10, 2, 0, 0), k32(5)),
        outcome(m.update_elem, ip(8, 11, 0, 0, 0), v),
        outcome(m.update_elem, ip(8, 11, 0, 0, 0), v, 2),
        outcome(m.update_elem, ip(16, 10, 1, 5, 5), k32(6)),
        outcome(m.update_elem, ip(14, 10, 0, 0, 0), v),
        *walk(),
        outcome(m.get_next_key, ip(8, 11, 0, 0, 0)),
        outcome(m.get_next_key, ip(16, 10, 3, 0, 0)),
        outcome(m.get_next_key, ip(40, 10, 1, 0, 0)),
        outcome(m.get_next_key, ip(8, 10, 0, 0, 0)),
        *(outcome(m.lookup_elem, ip(p, 10, 1, 2, 3)) for p in (0, 8, 15, 16, 32, 40)),
        outcome(m.lookup_and_delete_elem, ip(8, 10, 0, 0, 0)),
        outcome(m.lookup_batch, None, 2, delete=True),
        outcome(m.delete_elem, ip(33, 10, 0, 0, 0)),
        outcome(m.delete_elem, ip(7, 10, 0, 0, 0)),
        outcome(m.delete_elem, ip(16, 10, 1, 9, 9)),
        outcome(m.update_elem, ip(0, 1, 2, 3, 4), k32(9)),
        *walk(),
        outcome(m.lookup_elem, ip(32, 99, 0, 0, 0)),
    ]


def queue(m: Any) -> list[object]:
    return [
        outcome(m.lookup_elem, None),
        outcome(m.lookup_and_delete_elem, None),
        outcome(m.lookup_and_delete_elem, None, 4),
        outcome(m.lookup_elem, None, 4),
        *(outcome(m.update_elem, None, k32(1), f) for f in (1, 3, 4, 8)),
        *(outcome(m.update_elem, None, k32(i)) for i in range(4)),
        outcome(m.update_elem, None, k32(9), 2),
        outcome(m.lookup_elem, None),
        outcome(m.delete_elem, None),
        outcome(m.get_next_key, None),
        outcome(m.lookup_batch, None, 2),
        outcome(m.update_batch, [(None, k32(1))]),
        *(outcome(m.lookup_and_delete_elem, None) for _ in range(4)),
        outcome(m.freeze),
        outcome(m.lookup_and_delete_elem, None),
    ]


def bloom(m: Any) -> list[object]:
    return [
        outcome(m.lookup_elem, None, value=k32(1)),
        outcome(m.lookup_elem, None, 4, value=k32(1)),
        *(outcome(m.update_elem, None, k32(1), f) for f in (1, 2, 4)),
        outcome(m.update_elem, None, k32(1)),
        outcome(m.lookup_elem, None, value=k32(1)),
        outcome(m.delete_elem, None),
        outcome(m.get_next_key, None),
        outcome(m.lookup_and_delete_elem, None),
        outcome(m.lookup_batch, None, 2),
        outcome(m.freeze),
        outcome(m.update_elem, None, k32(2)),
    ]


def wronly(m: Any) -> list[object]:
    return [
        outcome(m.update_elem, k32(1), bytes(m.syscall_value_size)),
        outcome(m.lookup_elem, k32(1)),
        outcome(m.get_next_key, None),
        outcome(m.lookup_and_delete_elem, k32(1)),
    ]


def wronly_keyless(m: Any) -> list[object]:
    return [
        outcome(m.update_elem, None, k32(1)),
        outcome(m.lookup_elem, None, 4, value=k32(1))
        if m.map_type == T.BLOOM_FILTER
        else outcome(m.lookup_elem, None, 4),
        outcome(m.lookup_and_delete_elem, None, 4),
        outcome(m.lookup_and_delete_elem, None, 1),
        outcome(m.lookup_and_delete_elem, None),
    ]


SEQUENCES = [
    (MapSpec(T.HASH, 4, 8, 3), hash_full),
    (MapSpec(T.HASH, 4, 8, 3, NP), hash_full),
    (MapSpec(T.PERCPU_HASH, 4, 4, 3), hash_full),
    (MapSpec(T.LRU_HASH, 4, 8, 2), lru_flags),
    (MapSpec(T.LRU_PERCPU_HASH, 4, 8, 2), lru_flags),
    (MapSpec(T.PERCPU_ARRAY, 4, 4, 4), arrays),
    (MapSpec(T.LPM_TRIE, 8, 4, 3, NP), lpm),
    (MapSpec(T.QUEUE, 0, 4, 3), queue),
    (MapSpec(T.STACK, 0, 4, 3), queue),
    (MapSpec(T.BLOOM_FILTER, 0, 4, 100), bloom),
    (MapSpec(T.HASH, 4, 8, 3, F.WRONLY), wronly),
    (MapSpec(T.LRU_HASH, 4, 8, 3, F.WRONLY), wronly),
    (MapSpec(T.QUEUE, 0, 4, 3, F.WRONLY), wronly_keyless),
    (MapSpec(T.BLOOM_FILTER, 0, 4, 3, F.WRONLY), wronly_keyless),
]


@pytest.mark.parametrize(
    ("s", "ops"),
    [pytest.param(s, ops, id=f"{ops.__name__}-{s.describe()}") for s, ops in SEQUENCES],
)
def test_sequence(s: MapSpec, ops: Callable[[Any], list[object]]) -> None:
    ours = ops(create_map(s, ncpus=possible_cpus()))
    with KernelMap.create(s) as km:
        theirs = ops(km)
    assert ours == theirs
