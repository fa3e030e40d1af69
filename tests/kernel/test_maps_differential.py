"""Differential tests: ebpy's userspace maps against the kernel's, step by step.

Hypothesis state machines apply one random sequence of syscall-face operations
(updates with every flag combination, lookups, deletes, get_next_key from None,
present and missing keys, lookup_and_delete, the batch commands, freeze and the
writes after it, keys and values of the wrong size) to a userspace map
(``ebpy.maps.create_map(spec, ncpus=possible_cpus())``) and to a ``KernelMap``
made from the same ``MapSpec``, and assert the same results and errnos.

One machine per family of map types:

* ``keyed`` (array, percpu_array, hash, percpu_hash, lpm_trie): everything is
  compared exactly, and after every step the whole contents. Walk orders are
  compared exactly where the kernel defines them (arrays by index, the LPM trie's
  post-order), as sets for hash maps (a missing key must give *a* present key);
* ``lru`` (lru_hash, lru_percpu_hash): the kernel's LRU is approximate and per-CPU
  (it may evict before the map is full), so each map is checked against what was
  written to it: ANY updates succeed, a found value is the last one written to
  that key, the count stays within max_entries; errnos of bad input must agree;
* ``queue`` (queue, stack): exact, including the overwrite of BPF_EXIST when full;
* ``bloom``: no false negatives in either; everything else exact;
* ``opaque`` (ringbuf, stack_trace, perf_event_array, prog_array, array/hash of
  maps): everything the syscall side can do, compared exactly. Prog arrays and
  maps of maps also store real objects from a ``Pool``: kernel programs and maps
  by fd on one side, ebpy's registered programs and maps by id on the other;
  lookups (which give ids) are compared as the pool index of what they name.

The machines run for every type in ``ebpy.maps.MAP_TYPES`` that has specs in
``SPECS``; types whose module is not written yet are skipped. Known divergences of
our maps (``KNOWN``) are left out of the machines, so that they keep finding new
ones, and each has a strict-xfail test of its own below.

Runs are derandomized (set ``EBPY_DIFF_RANDOM=1`` for fresh examples) and
``EBPY_DIFF_EXAMPLES`` scales the examples per spec. ``EBPY_DIFF_SELFTEST=1`` runs
the machines of types without a userspace module kernel-against-kernel, to test
the machines themselves.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ebpy.errors import BpfError, MapError
from ebpy.isa.builder import ALU64, EXIT, R0
from ebpy.kernel import KernelMap, KernelProgram, possible_cpus
from ebpy.maps import MAP_TYPES, create_map
from ebpy.spec import MapSpec
from ebpy.uapi import MapCreateFlags, MapType, MapUpdateFlags, ProgType

kernel = pytest.mark.kernel
T = MapType
NCPUS = possible_cpus()
PAGE = os.sysconf("SC_PAGE_SIZE")
NP = MapCreateFlags.NO_PREALLOC
ANY, NOEXIST, EXIST, F_LOCK = 0, int(MapUpdateFlags.NOEXIST), int(MapUpdateFlags.EXIST), 4
ENOTSUPP = 524  # the kernel-internal errno some map commands leak
EXAMPLES = int(os.environ.get("EBPY_DIFF_EXAMPLES", "40"))
SELFTEST = os.environ.get("EBPY_DIFF_SELFTEST") == "1"

#: Every flag combination worth trying: valid, contradictory, unknown, F_LOCK.
FLAGS = st.one_of(
    st.sampled_from([ANY, NOEXIST, EXIST]),
    st.sampled_from([NOEXIST | EXIST, F_LOCK, F_LOCK | EXIST, 8, 1 << 40]),
)
LOOKUP_FLAGS = st.one_of(st.just(0), st.sampled_from([F_LOCK, 1, 2, 8]))

SPECS: dict[MapType, tuple[MapSpec, ...]] = {
    T.ARRAY: (MapSpec(T.ARRAY, 4, 4, 4), MapSpec(T.ARRAY, 4, 13, 6), MapSpec(T.ARRAY, 4, 8, 1)),
    T.PERCPU_ARRAY: (MapSpec(T.PERCPU_ARRAY, 4, 4, 4), MapSpec(T.PERCPU_ARRAY, 4, 12, 5)),
    T.HASH: (
        MapSpec(T.HASH, 4, 8, 4),
        MapSpec(T.HASH, 1, 3, 6),
        MapSpec(T.HASH, 16, 4, 8),
        MapSpec(T.HASH, 4, 8, 5, flags=NP),
    ),
    T.PERCPU_HASH: (MapSpec(T.PERCPU_HASH, 4, 4, 4), MapSpec(T.PERCPU_HASH, 2, 9, 6, flags=NP)),
    T.LRU_HASH: (
        MapSpec(T.LRU_HASH, 4, 8, 4),
        MapSpec(T.LRU_HASH, 2, 4, 8, flags=MapCreateFlags.NO_COMMON_LRU),
    ),
    T.LRU_PERCPU_HASH: (MapSpec(T.LRU_PERCPU_HASH, 4, 4, 6),),
    T.LPM_TRIE: (MapSpec(T.LPM_TRIE, 8, 4, 6, flags=NP), MapSpec(T.LPM_TRIE, 6, 8, 4, flags=NP)),
    T.QUEUE: (MapSpec(T.QUEUE, 0, 4, 4), MapSpec(T.QUEUE, 0, 9, 3)),
    T.STACK: (MapSpec(T.STACK, 0, 4, 4), MapSpec(T.STACK, 0, 9, 3)),
    T.BLOOM_FILTER: (MapSpec(T.BLOOM_FILTER, 0, 4, 8), MapSpec(T.BLOOM_FILTER, 0, 8, 16, extra=3)),
    T.RINGBUF: (MapSpec(T.RINGBUF, 0, 0, PAGE),),
    T.STACK_TRACE: (MapSpec(T.STACK_TRACE, 4, 32, 4),),
    T.PERF_EVENT_ARRAY: (MapSpec(T.PERF_EVENT_ARRAY, 4, 4, NCPUS),),
    T.PROG_ARRAY: (MapSpec(T.PROG_ARRAY, 4, 4, 4),),
    T.ARRAY_OF_MAPS: (MapSpec(T.ARRAY_OF_MAPS, 4, 4, 3, inner=MapSpec(T.ARRAY, 4, 4, 1)),),
    T.HASH_OF_MAPS: (
        MapSpec(T.HASH_OF_MAPS, 4, 4, 3, inner=MapSpec(T.ARRAY, 4, 4, 2)),
        MapSpec(T.HASH_OF_MAPS, 2, 4, 4, inner=MapSpec(T.HASH, 4, 4, 2)),
    ),
}
ORDERED = frozenset({T.ARRAY, T.PERCPU_ARRAY, T.LPM_TRIE})
ARRAYS = frozenset({T.ARRAY, T.PERCPU_ARRAY})
HASHES = frozenset({T.HASH, T.PERCPU_HASH})


# -- known divergences of our maps (each has a strict-xfail test below) -------------

Step = tuple[str, tuple[Any, ...], dict[str, Any]]


@dataclass(frozen=True)
class Known:
    """Inputs on which some of our map types are known to differ from the kernel.

    The machines skip an operation in ``ops`` of a type in ``types`` when ``when``
    holds for its arguments (and ``frozen``); ``demo(key, value)`` gives steps that
    show the divergence on an empty map (``test_known_divergence``).
    """

    name: str
    types: frozenset[MapType]
    ops: frozenset[str]
    when: Callable[..., bool]
    demo: Callable[[bytes, bytes], list[Step]]
    reason: str


def step(op: str, *args: Any, **kwargs: Any) -> Step:
    return (op, args, kwargs)


KNOWN: list[Known] = [
    Known(
        "perf-event-slots",
        frozenset({T.PERF_EVENT_ARRAY}),
        frozenset({"delete", "update"}),
        lambda flags=ANY, **_: flags == ANY,
        lambda k, v: [step("delete_elem", k), step("update_elem", k, b"\xf0\xff\xff\xff")],
        "by design, ours opens every perf event array slot at creation and for any value "
        "(there are no perf event fds in userspace; slots open so that programs can "
        "output without setup); the kernel's slots start empty (delete: ENOENT) and "
        "want a perf event fd (EBADF)",
    ),
]


def known(kind: MapType, op: str, **args: Any) -> bool:
    return any(kind in k.types and op in k.ops and k.when(**args) for k in KNOWN)


# -- running one operation on both maps ---------------------------------------------


def errname(err: int) -> str:
    return "ENOTSUPP" if err == ENOTSUPP else errno.errorcode.get(err, str(err))


def outcome(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, Any]:
    """("ok", result) or ("err", errno name); other ebpy errors show as their type."""
    try:
        return ("ok", fn(*args, **kwargs))
    except MapError as exc:
        return ("err", errname(exc.errno))
    except BpfError as exc:
        return ("bpf", type(exc).__name__)


def make_ours(spec: MapSpec) -> Any:
    if SELFTEST and spec.type not in MAP_TYPES:
        return KernelMap.create(spec)
    return create_map(spec, ncpus=NCPUS)


def walk(m: Any, limit: int) -> list[bytes] | str:
    """Every key by get_next_key from None, until ENOENT; a text for another error."""
    keys: list[bytes] = []
    key: bytes | None = None
    while len(keys) <= limit:
        kind, got = outcome(m.get_next_key, key)
        if kind != "ok":
            if got == "ENOENT":
                return keys
            return f"{len(keys)} keys, then {got}"
        keys.append(got)
        key = got
    raise AssertionError(f"get_next_key walk does not end: {keys}")


def batch_walk(m: Any, count: int, delete: bool) -> tuple[str, Any]:
    """All pairs by lookup_batch pages of ``count``; ("err", name) at the first error."""
    pairs: list[tuple[bytes, bytes]] = []
    pos: bytes | None = None
    for _ in range(64):
        kind, got = outcome(m.lookup_batch, pos, count, delete=delete)
        if kind != "ok":
            return (kind, got)
        page, pos = got
        pairs += page
        if pos is None:
            return ("ok", pairs)
    raise AssertionError("lookup_batch walk does not end")


class PairMachine(RuleBasedStateMachine):
    """A userspace map and a kernel map made from one spec, driven in lockstep."""

    spec: ClassVar[MapSpec]

    def __init__(self) -> None:
        super().__init__()
        self.kern = KernelMap.create(self.spec)
        self.ours = make_ours(self.spec)
        self.kind = self.spec.type
        self.frozen = False

    def teardown(self) -> None:
        self.kern.close()
        if isinstance(self.ours, KernelMap):
            self.ours.close()

    def skip(self, op: str, **args: Any) -> bool:
        """True for inputs of a known divergence (tested on its own, below)."""
        return known(self.kind, op, frozen=self.frozen, **args)

    def both(self, op: str, *args: Any, **kwargs: Any) -> tuple[tuple[str, Any], tuple[str, Any]]:
        return (
            outcome(getattr(self.ours, op), *args, **kwargs),
            outcome(getattr(self.kern, op), *args, **kwargs),
        )

    def same(self, op: str, *args: Any, **kwargs: Any) -> tuple[str, Any]:
        ours, kern = self.both(op, *args, **kwargs)
        assert ours == kern, f"{self.spec.describe()}: {op}{args}: ours {ours}, kernel {kern}"
        return kern

    def same_errno(self, ours: tuple[str, Any], kern: tuple[str, Any], what: str) -> None:
        assert (ours[0] == "ok") == (kern[0] == "ok"), f"{what}: ours {ours}, kernel {kern}"
        if ours[0] != "ok":
            assert ours == kern, f"{what}: ours {ours}, kernel {kern}"

    def next_key_unordered(self, key: bytes | None, limit: int) -> None:
        """get_next_key where the orders differ: a missing key gives a present key in
        both; a present key gives another present key, or ENOENT after the last."""
        ours, kern = self.both("get_next_key", key)
        got = walk(self.kern, limit)
        present = set(got) if isinstance(got, list) else set()
        if key is None or key not in present:
            self.same_errno(ours, kern, f"get_next_key({key!r})")
        for one in (ours, kern):
            if key is not None and key in present:
                assert one[0] == "ok" or one == ("err", "ENOENT"), one
            assert one[0] != "ok" or (one[1] in present and one[1] != key), (one, present)

    # A frozen map refuses every write: freeze on one draw in eight only, so that
    # most sequences spend most of their steps on a writable map.
    @rule(now=st.integers(0, 7))
    def freeze(self, now: int) -> None:
        if now == 7 and not self.skip("freeze"):
            self.frozen |= self.same("freeze")[0] == "ok"


# -- strategies per spec --------------------------------------------------------------


def keys_for(spec: MapSpec) -> st.SearchStrategy[bytes]:
    n = spec.key_size
    if spec.type == T.LPM_TRIE:
        bits = (n - 4) * 8
        data = st.lists(
            st.sampled_from([0x00, 0x0A, 0x80, 0xC0, 0xFF]), min_size=n - 4, max_size=n - 4
        )
        plen = st.one_of(st.integers(0, bits), st.just(bits + 1))
        return st.builds(lambda p, d: p.to_bytes(4, "little") + bytes(d), plen, data)
    top = spec.max_entries + 2 if spec.type in ARRAYS or n == 4 else 2 * spec.max_entries
    return st.integers(0, min(top, (1 << (8 * n)) - 1)).map(lambda i: i.to_bytes(n, "little"))


def bad_keys(spec: MapSpec) -> st.SearchStrategy[bytes]:
    return st.binary(max_size=spec.key_size + 2).filter(lambda b: len(b) != spec.key_size)


def values_for(size: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=size, max_size=size)


def syscall_value_size(spec: MapSpec) -> int:
    if spec.type in (T.PERCPU_ARRAY, T.PERCPU_HASH, T.LRU_PERCPU_HASH):
        return ((spec.value_size + 7) & ~7) * NCPUS
    return spec.value_size


# -- keyed maps: array, percpu_array, hash, percpu_hash, lpm_trie ----------------------


def keyed_machine(spec: MapSpec, pool: Pool) -> type[PairMachine]:
    keys, values = keys_for(spec), values_for(syscall_value_size(spec))
    items = st.lists(
        st.tuples(keys, values), max_size=spec.max_entries + 1, unique_by=lambda kv: kv[0]
    )
    ordered = spec.type in ORDERED

    class Keyed(PairMachine):
        @initialize(items=items)
        def fill(self, items: list[tuple[bytes, bytes]]) -> None:
            for key, value in items:
                self.same("update_elem", key, value, ANY)

        @rule(key=keys, value=values, flags=FLAGS)
        def update(self, key: bytes, value: bytes, flags: int) -> None:
            if not self.skip("update", key=key, value=value, flags=flags):
                self.same("update_elem", key, value, flags)

        @rule(key=keys, flags=LOOKUP_FLAGS)
        def lookup(self, key: bytes, flags: int) -> None:
            if not self.skip("lookup", key=key, flags=flags):
                self.same("lookup_elem", key, flags)

        @rule(key=keys)
        def delete(self, key: bytes) -> None:
            if not self.skip("delete", key=key):
                self.same("delete_elem", key)

        @rule(key=keys, flags=LOOKUP_FLAGS)
        def lookup_and_delete(self, key: bytes, flags: int) -> None:
            if not self.skip("lookup_and_delete", key=key, flags=flags):
                self.same("lookup_and_delete_elem", key, flags)

        @rule(key=st.one_of(st.none(), keys))
        def next_key(self, key: bytes | None) -> None:
            if ordered:
                self.same("get_next_key", key)
            else:
                self.next_key_unordered(key, spec.max_entries)

        # KernelMap refuses wrong sizes itself, before the kernel would check for
        # write access: compare them on writable maps only.
        @precondition(lambda self: not self.frozen)
        @rule(key=bad_keys(spec), value=values, bad_value=st.binary(max_size=24))
        def wrong_sizes(self, key: bytes, value: bytes, bad_value: bytes) -> None:
            self.same("update_elem", key, value)
            self.same("lookup_elem", key)
            self.same("delete_elem", key)
            self.same("get_next_key", key)
            self.same("lookup_and_delete_elem", key)
            if len(bad_value) != len(value):
                self.same("update_elem", bytes(spec.key_size), bad_value)

        @rule(count=st.integers(1, spec.max_entries + 1), delete=st.booleans())
        def batch(self, count: int, delete: bool) -> None:
            if self.skip("lookup_batch", count=count, delete=delete):
                return
            if spec.type in HASHES and delete and count < spec.max_entries:
                # The kernel hands out whole hash buckets: ENOSPC when one does not fit
                # after it deleted the buckets before it. Walk without deleting then.
                delete = False
            kern = batch_walk(self.kern, count, delete)
            ours = batch_walk(self.ours, count, delete)
            if ("err", "ENOSPC") in (kern, ours) and spec.type in HASHES:
                return  # a bucket larger than count: a kernel artefact ours need not have
            if ordered or ours[0] != "ok" or kern[0] != "ok":
                assert ours == kern, f"lookup_batch({count}, {delete}): ours {ours}, kernel {kern}"
            else:
                assert sorted(ours[1]) == sorted(kern[1])

        @rule(items=items, flags=FLAGS)
        def update_batch(self, items: list[tuple[bytes, bytes]], flags: int) -> None:
            if not self.skip("update_batch", items=items, flags=flags):
                self.same("update_batch", items, flags)

        @rule(keys=st.lists(keys, max_size=spec.max_entries + 1))
        def delete_batch(self, keys: list[bytes]) -> None:
            if not self.skip("delete_batch", keys=keys):
                self.same("delete_batch", keys)

        @invariant()
        def same_contents(self) -> None:
            ours, kern = walk(self.ours, spec.max_entries), walk(self.kern, spec.max_entries)
            if ordered or not isinstance(kern, list) or not isinstance(ours, list):
                assert ours == kern, f"walk: ours {ours}, kernel {kern}"
            else:
                assert len(set(ours)) == len(ours) and sorted(ours) == sorted(kern), (ours, kern)
            if isinstance(kern, list):
                for key in kern:
                    self.same("lookup_elem", key)

    return Keyed


# -- LRU maps: each map against what was written to it -------------------------------


def lru_machine(spec: MapSpec, pool: Pool) -> type[PairMachine]:
    keys, values = keys_for(spec), values_for(syscall_value_size(spec))
    # With per-CPU LRU lists the kernel rounds max_entries up to a multiple of ncpus.
    percpu_lru = spec.flags & MapCreateFlags.NO_COMMON_LRU
    cap = -(-spec.max_entries // NCPUS) * NCPUS if percpu_lru else spec.max_entries

    class Lru(PairMachine):
        def __init__(self) -> None:
            super().__init__()
            self.written: tuple[dict[bytes, bytes], dict[bytes, bytes]] = ({}, {})

        @initialize(items=st.lists(st.tuples(keys, values), max_size=spec.max_entries))
        def fill(self, items: list[tuple[bytes, bytes]]) -> None:
            for key, value in items:
                self.update(key, value, ANY)

        def sides(self) -> Iterator[tuple[Any, dict[bytes, bytes]]]:
            yield self.ours, self.written[0]
            yield self.kern, self.written[1]

        @rule(key=keys, value=values, flags=FLAGS)
        def update(self, key: bytes, value: bytes, flags: int) -> None:
            ours, kern = self.both("update_elem", key, value, flags)
            if flags not in (ANY, NOEXIST, EXIST) or self.frozen:
                assert ours == kern, (ours, kern)
                return
            for got, model in zip((ours, kern), self.written, strict=True):
                if got[0] == "ok":
                    assert flags != EXIST or key in model
                    model[key] = value
                elif flags == NOEXIST:
                    assert got == ("err", "EEXIST") and key in model, got
                else:
                    assert flags == EXIST and got == ("err", "ENOENT"), got
                    model.pop(key, None)

        @rule(key=keys, flags=LOOKUP_FLAGS)
        def lookup(self, key: bytes, flags: int) -> None:
            if self.skip("lookup", key=key, flags=flags):
                return
            ours, kern = self.both("lookup_elem", key, flags)
            if flags:
                self.same_errno(ours, kern, f"lookup flags {flags}")
            for got, model in zip((ours, kern), self.written, strict=True):
                if got[0] == "ok":
                    assert got[1] == model.get(key), (got, model.get(key))
                else:
                    assert got[1] == "ENOENT" or flags, got

        @rule(key=keys, pop=st.booleans())
        def delete(self, key: bytes, pop: bool) -> None:
            op = "lookup_and_delete_elem" if pop else "delete_elem"
            ours, kern = self.both(op, key)
            for got, model in zip((ours, kern), self.written, strict=True):
                if self.frozen:
                    assert got == ("err", "EPERM"), got
                elif got[0] == "ok":
                    assert key in model and (not pop or got[1] == model[key])
                    del model[key]
                else:
                    assert got == ("err", "ENOENT"), got
                    model.pop(key, None)

        @precondition(lambda self: not self.frozen)
        @rule(key=bad_keys(spec), value=values)
        def wrong_sizes(self, key: bytes, value: bytes) -> None:
            self.same("update_elem", key, value)
            self.same("lookup_elem", key)

        @invariant()
        def consistent(self) -> None:
            for m, model in self.sides():
                got = walk(m, cap)
                assert isinstance(got, list) and len(got) <= cap and len(set(got)) == len(got)
                for key in got:
                    assert key in model and m.lookup_elem(key) == model[key]

    return Lru


# -- queue and stack ------------------------------------------------------------------


def queue_machine(spec: MapSpec, pool: Pool) -> type[PairMachine]:
    values = values_for(spec.value_size)

    class Queue(PairMachine):
        @initialize(items=st.lists(values, max_size=spec.max_entries))
        def fill(self, items: list[bytes]) -> None:
            for value in items:
                self.same("update_elem", b"", value, ANY)

        @rule(value=values, flags=FLAGS)
        def push(self, value: bytes, flags: int) -> None:
            self.same("update_elem", b"", value, flags)

        @rule(flags=LOOKUP_FLAGS)
        def peek(self, flags: int) -> None:
            if not self.skip("lookup", key=None, flags=flags):
                self.same("lookup_elem", b"", flags)

        @rule(flags=LOOKUP_FLAGS)
        def pop(self, flags: int) -> None:
            if not self.skip("lookup_and_delete", key=None, flags=flags):
                self.same("lookup_and_delete_elem", b"", flags)

        @rule(key=st.binary(max_size=8))
        def keyed_ops(self, key: bytes) -> None:
            if key and self.frozen:
                return  # KernelMap refuses a key before the kernel checks access
            self.same("delete_elem", key)
            self.same("get_next_key", key)
            if key:
                self.same("lookup_elem", key)
                self.same("update_elem", key, bytes(spec.value_size))

        @rule(count=st.integers(1, 4), delete=st.booleans())
        def batch(self, count: int, delete: bool) -> None:
            if not self.skip("lookup_batch", count=count, delete=delete):
                self.same("lookup_batch", None, count, delete=delete)

        @precondition(lambda self: not self.frozen)
        @rule(value=st.binary(max_size=12))
        def wrong_value(self, value: bytes) -> None:
            if len(value) != spec.value_size:
                self.same("update_elem", b"", value)

    return Queue


# -- bloom filter ---------------------------------------------------------------------


def bloom_machine(spec: MapSpec, pool: Pool) -> type[PairMachine]:
    values = st.integers(0, 40).map(lambda i: i.to_bytes(spec.value_size, "little"))

    class Bloom(PairMachine):
        def __init__(self) -> None:
            super().__init__()
            self.pushed: set[bytes] = set()

        @initialize(items=st.lists(values, max_size=spec.max_entries))
        def fill(self, items: list[bytes]) -> None:
            for value in items:
                self.push(value, ANY)

        @rule(value=values, flags=FLAGS)
        def push(self, value: bytes, flags: int) -> None:
            if self.same("update_elem", b"", value, flags)[0] == "ok":
                self.pushed.add(value)

        @rule(value=values)
        def test(self, value: bytes) -> None:
            # both faces take the value to test as ``value=``, with no key
            ours, kern = self.both("lookup_elem", None, value=value)
            if value in self.pushed:  # no false negatives
                assert ours[0] == "ok" and kern[0] == "ok", (ours, kern)
            for got in (ours, kern):
                assert got[0] == "ok" or got[1] == "ENOENT", got

        @rule(key=st.binary(max_size=8))
        def keyed_ops(self, key: bytes) -> None:
            if key and self.frozen:
                return  # KernelMap refuses a key before the kernel checks access
            self.same("delete_elem", key)
            self.same("get_next_key", key)
            self.same("lookup_and_delete_elem", key)

        @rule(count=st.integers(1, 4))
        def batch(self, count: int) -> None:
            self.same("lookup_batch", None, count)

    return Bloom


# -- maps the syscall side can barely touch, and fd maps ---------------------------------


class Pool:
    """Real objects for fd maps: what the kernel map takes (fds) and ours takes (ids).

    ``values(i)`` is what each side's update takes for object ``i``; ``index()``
    turns what a lookup gives back (a kernel id, an ebpy id) into ``i``. The last
    object does not fit the map (another program type, another inner map shape).
    """

    def __init__(self, spec: MapSpec) -> None:
        self.kernel_objects: list[Any] = []
        self.ours_objects: list[Any] = []
        self.kernel_ids: dict[int, int] = {}
        self.ours_ids: dict[int, int] = {}
        if spec.type == T.PROG_ARRAY:
            self._programs()
        elif spec.type in (T.ARRAY_OF_MAPS, T.HASH_OF_MAPS) and spec.inner is not None:
            self._maps(spec.inner)

    def _programs(self) -> None:
        from ebpy.maps.prog_array import register_program

        kinds = [ProgType.SOCKET_FILTER, ProgType.SOCKET_FILTER, ProgType.XDP]
        for i, kind in enumerate(kinds):
            prog = KernelProgram.load([ALU64.MOV.imm(R0, i), EXIT()], kind)
            self.kernel_objects.append(prog)
            with KernelMap.create(MapSpec(T.PROG_ARRAY, 4, 4, 1)) as scratch:
                scratch.update_elem(bytes(4), prog)  # a lookup gives the program's id
                self.kernel_ids[int.from_bytes(scratch.lookup_elem(bytes(4)), "little")] = i
            fake = FakeProgram(kind)
            self.ours_objects.append(fake)
            self.ours_ids[register_program(fake)] = i

    def _maps(self, inner: MapSpec) -> None:
        odd = MapSpec(inner.type, inner.key_size, inner.value_size + 4, inner.max_entries)
        for i, spec in enumerate([inner, inner, odd]):
            km, om = KernelMap.create(spec), create_map(spec, ncpus=NCPUS)
            self.kernel_objects.append(km)
            self.ours_objects.append(om)
            self.kernel_ids[km.id] = i
            self.ours_ids[om.id] = i

    def __len__(self) -> int:
        return len(self.kernel_objects)

    def values(self, i: int) -> tuple[bytes, Any]:
        ours_id = next(k for k, v in self.ours_ids.items() if v == i)
        return ours_id.to_bytes(4, "little"), self.kernel_objects[i]

    def index(self, got: tuple[str, Any], kernel_side: bool) -> tuple[str, Any]:
        if got[0] != "ok" or not self or len(got[1]) != 4:
            return got
        ids = self.kernel_ids if kernel_side else self.ours_ids
        number = int.from_bytes(got[1], "little")
        return ("ok", ids.get(number, f"unknown id {number}"))

    def close(self) -> None:
        for obj in self.kernel_objects:
            obj.close()


class FakeProgram:
    """What a userspace prog_array holds: anything with a ``prog_type``."""

    def __init__(self, prog_type: ProgType) -> None:
        self.prog_type = prog_type


def opaque_machine(spec: MapSpec, pool: Pool) -> type[PairMachine]:
    n = spec.key_size
    keys = (
        st.just(b"")
        if n == 0
        else st.integers(0, spec.max_entries + 1).map(lambda i: i.to_bytes(n, "little"))
    )
    # fds that cannot be open here and values of the wrong size
    # (4-byte values stay far from the fds and ebpy ids this process may have open)
    junk = st.one_of(
        st.sampled_from([0xFFFF_FFF0, 0x7FFF_FFFF]).map(lambda v: v.to_bytes(4, "little")),
        st.binary(max_size=40).filter(lambda b: len(b) != 4),
    )
    ordered = spec.type != T.HASH_OF_MAPS

    class Opaque(PairMachine):
        @initialize(objs=st.lists(st.tuples(keys, st.integers(0, 2)), max_size=len(pool)))
        def fill(self, objs: list[tuple[bytes, int]]) -> None:
            for key, obj in objs:
                self.store(key, obj, ANY)

        def lookups(self, key: bytes, flags: int = 0) -> tuple[tuple[str, Any], tuple[str, Any]]:
            ours, kern = self.both("lookup_elem", key, flags)
            return pool.index(ours, False), pool.index(kern, True)

        @rule(key=keys, flags=LOOKUP_FLAGS)
        def lookup(self, key: bytes, flags: int) -> None:
            if not self.skip("lookup", key=key, flags=flags):
                ours, kern = self.lookups(key, flags)
                assert ours == kern, f"lookup({key!r}, {flags}): ours {ours}, kernel {kern}"

        @rule(key=keys)
        def delete(self, key: bytes) -> None:
            if not self.skip("delete", key=key):
                self.same("delete_elem", key)
            if not self.skip("lookup_and_delete", key=key, flags=0):
                self.same("lookup_and_delete_elem", key)

        @rule(key=st.one_of(st.none(), keys))
        def next_key(self, key: bytes | None) -> None:
            if ordered:
                self.same("get_next_key", key)
            else:
                self.next_key_unordered(key, spec.max_entries)

        @rule(key=keys, value=junk, flags=FLAGS)
        def update(self, key: bytes, value: bytes, flags: int) -> None:
            if self.frozen and len(value) != spec.value_size:
                return  # KernelMap refuses a wrong size before the kernel checks access
            if not self.skip("update", key=key, value=value, flags=flags):
                self.same("update_elem", key, value, flags)

        @precondition(lambda self: bool(pool))
        @rule(key=keys, obj=st.integers(0, 2), flags=FLAGS)
        def store(self, key: bytes, obj: int, flags: int) -> None:
            if self.skip("update", key=key, value=None, flags=flags):
                return
            ours_value, kern_value = pool.values(obj)
            ours = outcome(self.ours.update_elem, key, ours_value, flags)
            kern = outcome(self.kern.update_elem, key, kern_value, flags)
            assert ours == kern, f"store({key!r}, #{obj}, {flags}): ours {ours}, kernel {kern}"

        @rule(count=st.integers(1, 4))
        def batch(self, count: int) -> None:
            if not n or self.skip("lookup_batch", count=count, delete=False):
                return
            ours, kern = batch_walk(self.ours, count, False), batch_walk(self.kern, count, False)
            if kern == ("err", "ENOSPC") and not ordered:
                return  # a hash bucket larger than count: a kernel artefact
            if ours[0] == kern[0] == "ok":  # values as pool indices, in key order
                ours = ("ok", sorted((k, str(pool.index(("ok", v), False))) for k, v in ours[1]))
                kern = ("ok", sorted((k, str(pool.index(("ok", v), True))) for k, v in kern[1]))
                assert ours == kern, (ours, kern)

        @invariant()
        def same_contents(self) -> None:
            ours, kern = walk(self.ours, spec.max_entries), walk(self.kern, spec.max_entries)
            if ordered or not isinstance(ours, list) or not isinstance(kern, list):
                assert ours == kern, f"walk: ours {ours}, kernel {kern}"
            else:
                assert sorted(ours) == sorted(kern), f"walk: ours {ours}, kernel {kern}"
            if isinstance(kern, list) and pool:
                for key in kern:
                    ours_got, kern_got = self.lookups(key)
                    assert ours_got == kern_got, (
                        f"lookup({key!r}): ours {ours_got}, kernel {kern_got}"
                    )

    return Opaque


MACHINES: dict[MapType, Callable[[MapSpec, Pool], type[PairMachine]]] = {
    **dict.fromkeys([T.ARRAY, T.PERCPU_ARRAY, T.HASH, T.PERCPU_HASH, T.LPM_TRIE], keyed_machine),
    **dict.fromkeys([T.LRU_HASH, T.LRU_PERCPU_HASH], lru_machine),
    **dict.fromkeys([T.QUEUE, T.STACK], queue_machine),
    T.BLOOM_FILTER: bloom_machine,
    **dict.fromkeys(
        [
            T.RINGBUF,
            T.STACK_TRACE,
            T.PERF_EVENT_ARRAY,
            T.PROG_ARRAY,
            T.ARRAY_OF_MAPS,
            T.HASH_OF_MAPS,
        ],
        opaque_machine,
    ),
}


def missing(spec: MapSpec) -> str | None:
    """Why ``spec`` cannot be compared yet (a userspace module not written), or None."""
    for kind in (spec.type, spec.inner.type if spec.inner else None):
        if kind is not None and kind not in MAP_TYPES and not SELFTEST:
            return f"ebpy.maps has no {kind.name.lower()} yet"
    return None


def cases() -> Iterator[Any]:
    for kind in sorted(set(SPECS) | set(MAP_TYPES)):
        specs = SPECS.get(kind, ())
        if not specs:
            yield pytest.param(None, id=kind.name.lower(), marks=pytest.mark.skip("no spec here"))
        for i, spec in enumerate(specs):
            why = missing(spec)
            marks = [pytest.mark.skip(why)] if why else []
            yield pytest.param(spec, id=f"{kind.name.lower()}-{i}", marks=marks)


@kernel
@pytest.mark.parametrize("spec", list(cases()))
def test_map_matches_kernel(spec: MapSpec) -> None:
    pool = Pool(spec)
    try:
        machine = MACHINES[spec.type](spec, pool)
        machine.spec = spec
        machine.__name__ = f"{spec.type.name.title().replace('_', '')}Machine"
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=30,
                deadline=None,
                derandomize=os.environ.get("EBPY_DIFF_RANDOM") != "1",
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    finally:
        pool.close()


# -- the known divergences, one by one ------------------------------------------------


def known_cases() -> Iterator[Any]:
    for k in KNOWN:
        for kind in sorted(k.types):
            spec = SPECS[kind][0]
            why = missing(spec)
            mark = pytest.mark.skip(why) if why else pytest.mark.xfail(strict=True, reason=k.reason)
            yield pytest.param(k, spec, id=f"{k.name}-{kind.name.lower()}", marks=mark)


@kernel
@pytest.mark.parametrize(("k", "spec"), list(known_cases()))
def test_known_divergence(k: Known, spec: MapSpec) -> None:
    """Each known divergence, on an empty map; strict xfail: a fix makes it fail here."""
    with KernelMap.create(spec) as kern:
        ours = make_ours(spec)
        key, value = bytes(spec.key_size), bytes(kern.syscall_value_size)
        for op, args, kwargs in k.demo(key, value):
            got = outcome(getattr(ours, op), *args, **kwargs)
            want = outcome(getattr(kern, op), *args, **kwargs)
            assert got == want, f"{op}{args}: ours {got}, kernel {want}"


# -- create-time errors ----------------------------------------------------------------


def create_variants(base: MapSpec) -> Iterator[MapSpec]:
    """``base`` and specs one field away from it, most of them wrong."""
    yield base
    yield replace(base, max_entries=0)
    yield replace(base, key_size=base.key_size + 1)
    yield replace(base, value_size=base.value_size + 1)
    yield replace(base, value_size=0)
    yield replace(base, key_size=0)
    yield replace(base, flags=base.flags | 1 << 20)  # no such flag
    yield replace(base, flags=base.flags | 0x18)  # BPF_F_RDONLY | BPF_F_WRONLY
    yield replace(base, flags=base.flags | 0x180)  # BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG
    yield replace(base, flags=base.flags | 0x08)  # BPF_F_RDONLY
    yield replace(base, extra=base.extra + 1)


CREATE: list[MapSpec] = [
    *dict.fromkeys(v for specs in SPECS.values() for v in create_variants(specs[0])),
    MapSpec(T.ARRAY, 4, 4, 4, flags=NP),
    MapSpec(T.PERCPU_ARRAY, 4, 40000, 4),
    MapSpec(T.HASH, 600, 4, 4),
    MapSpec(T.LRU_HASH, 4, 4, 4, flags=NP),
    MapSpec(T.LPM_TRIE, 8, 4, 4),
    MapSpec(T.LPM_TRIE, 4, 4, 4, flags=NP),
    MapSpec(T.LPM_TRIE, 300, 4, 4, flags=NP),
    MapSpec(T.BLOOM_FILTER, 0, 4, 4, extra=16),
    MapSpec(T.RINGBUF, 0, 0, PAGE + 1),
    MapSpec(T.RINGBUF, 0, 0, 3 * PAGE),
    MapSpec(T.STACK_TRACE, 4, 12, 4),
    MapSpec(T.ARRAY_OF_MAPS, 4, 4, 4, inner=MapSpec(T.PROG_ARRAY, 4, 4, 4)),
    MapSpec(
        T.HASH_OF_MAPS,
        4,
        4,
        4,
        inner=MapSpec(T.ARRAY_OF_MAPS, 4, 4, 4, inner=MapSpec(T.ARRAY, 4, 4, 1)),
    ),
]

#: Create-time divergences of our maps: (which specs, why). None known now; the
#: map_flags masks, map_extra and the access-flag pairs are checked by the Map base.
CREATE_KNOWN: list[tuple[Callable[[MapSpec], bool], str]] = []


def create_cases() -> Iterator[Any]:
    for spec in CREATE:
        why = missing(spec)
        marks = [pytest.mark.skip(why)] if why else []
        reasons = [reason for applies, reason in CREATE_KNOWN if applies(spec)]
        if reasons and not why:
            marks.append(pytest.mark.xfail(strict=True, reason="; ".join(reasons)))
        inner = f" inner {spec.inner.type.name.lower()}" if spec.inner else ""
        name = f"{spec.describe()} flags {spec.flags:#x} extra {spec.extra}{inner}"
        yield pytest.param(spec, id=name, marks=marks)


@kernel
@pytest.mark.parametrize("spec", list(create_cases()))
def test_create_errors_match_kernel(spec: MapSpec) -> None:
    kern = outcome(KernelMap.create, spec)
    if kern[0] == "ok":
        kern[1].close()
    ours = outcome(create_map, spec, ncpus=NCPUS)
    assert (ours[0], ours[1] if ours[0] != "ok" else None) == (
        kern[0],
        kern[1] if kern[0] != "ok" else None,
    ), f"ours {ours}, kernel {kern}"
