"""BPF_MAP_TYPE_BLOOM_FILTER: creation, no false negatives (the one property that
holds against the kernel), a bounded false-positive rate, errnos, the program face.
"""

from __future__ import annotations

import errno

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.helpers.env import Runtime
from ebpy.helpers.maps import HELPERS
from ebpy.maps.bloom_filter import MAX_BITS, BloomFilterMap, bit_count
from ebpy.uapi import HelperId, MapCreateFlags, MapType
from tests.maps import create_errno, errno_of, make, u32

B = MapType.BLOOM_FILTER
ENOTSUPP = 524
KM = 1 << 22


def bloom(entries: int = 100, extra: int = 0, flags: int = 0, value: int = 4) -> BloomFilterMap:
    m = make(B, 0, value, entries, flags, extra=extra)
    assert isinstance(m, BloomFilterMap)
    return m


@pytest.mark.parametrize(
    ("key", "value", "entries", "flags", "extra", "err"),
    [
        (0, 4, 100, 0, 0, 0),
        (0, 4, 100, 0, 15, 0),
        (0, 4, 100, 0, 16, errno.EINVAL),
        (0, 4, 100, 0, 0x1F, errno.EINVAL),
        (0, 4, 100, 0, -1, errno.EINVAL),
        (4, 4, 100, 0, 0, errno.EINVAL),
        (0, 0, 100, 0, 0, errno.EINVAL),
        (0, 4, 0, 0, 0, errno.EINVAL),
        (0, KM, 1, 0, 0, 0),
        (0, KM + 1, 1, 0, 0, errno.E2BIG),
        (4, KM + 1, 1, 0, 0, errno.E2BIG),  # E2BIG is checked first
        (0, 4, 100, MapCreateFlags.NO_PREALLOC, 0, errno.EINVAL),
        (0, 4, 100, MapCreateFlags.ZERO_SEED, 0, 0),
        (0, 4, 100, MapCreateFlags.NUMA_NODE, 0, 0),
        (0, 4, 100, MapCreateFlags.RDONLY_PROG, 0, 0),
        (0, 4, 100, MapCreateFlags.RDONLY | MapCreateFlags.WRONLY, 0, errno.EINVAL),
        (0, 4, (1 << 32) - 1, 0, 0, 0),  # the bit array stops at MAX_BITS
    ],
)
def test_create(key: int, value: int, entries: int, flags: int, extra: int, err: int) -> None:
    assert create_errno(B, key, value, entries, flags, extra=extra) == err


@pytest.mark.parametrize(
    ("entries", "hashes", "bits"),
    [
        (1, 5, 64),
        (9, 1, 64),
        (100, 5, 1024),
        (100, 3, 512),
        (1 << 20, 5, 1 << 23),
        (1 << 30, 15, MAX_BITS),
    ],
)
def test_bit_count(entries: int, hashes: int, bits: int) -> None:
    assert bit_count(entries, hashes) == bits


def test_default_hashes() -> None:
    assert bloom().nhashes == 5
    assert bloom(extra=1).nhashes == 1


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.binary(min_size=4, max_size=4), max_size=200),
    st.integers(1, 15),
    st.booleans(),
)
def test_no_false_negatives(values: list[bytes], hashes: int, zero_seed: bool) -> None:
    flags = MapCreateFlags.ZERO_SEED if zero_seed else 0
    m = bloom(entries=50, extra=hashes, flags=flags)
    for i, value in enumerate(values):
        if i % 2:
            m.update_elem(None, value)
        else:
            assert m.prog_push(value, 0) == 0
    for value in values:
        assert value in m
        assert m.lookup_elem(None, value=value) == value
        assert m.lookup_elem(value) == value  # the value as the key, for convenience
        assert m.prog_peek(value) == 0


def test_false_positives_are_rare() -> None:
    m = bloom(entries=1000, flags=MapCreateFlags.ZERO_SEED)
    for i in range(1000):
        m.push_elem(u32(i))
    false = sum(u32(i) in m for i in range(1000, 11000))
    assert false < 500  # about 1% expected at this size


def test_zero_seed_is_reproducible() -> None:
    a, b = bloom(flags=MapCreateFlags.ZERO_SEED), bloom(flags=MapCreateFlags.ZERO_SEED)
    a.push_elem(b"abcd")
    b.push_elem(b"abcd")
    assert a.buf == b.buf


def test_misses() -> None:
    m = bloom()
    assert errno_of(m.lookup_elem, None, value=b"abcd") == errno.ENOENT
    assert errno_of(m.lookup_elem, None) == errno.ENOENT  # zeros, not pushed
    assert m.prog_peek(b"abcd") == -errno.ENOENT
    assert b"abcd" not in m
    assert b"toolong" not in m
    assert not m.__contains__(1234)


@pytest.mark.parametrize(
    ("op", "args", "kwargs", "err"),
    [
        ("update_elem", (None, u32(1), 1), {}, errno.EINVAL),
        ("update_elem", (None, u32(1), 2), {}, errno.EINVAL),
        ("update_elem", (None, u32(1), 4), {}, errno.EINVAL),
        ("update_elem", (None, b"abc"), {}, errno.EINVAL),
        ("update_elem", (b"\x00", u32(1)), {}, errno.EINVAL),
        ("lookup_elem", (None, 4), {"value": u32(1)}, errno.EINVAL),
        ("lookup_elem", (None, 1), {"value": u32(1)}, errno.EINVAL),
        ("lookup_elem", (None,), {"value": b"abc"}, errno.EINVAL),
        ("lookup_elem", (b"\x00",), {"value": u32(1)}, errno.EINVAL),
        ("delete_elem", (None,), {}, errno.EOPNOTSUPP),
        ("get_next_key", (None,), {}, errno.EOPNOTSUPP),
        ("lookup_and_delete_elem", (None,), {}, ENOTSUPP),
        ("lookup_batch", (None, 4), {}, ENOTSUPP),
        ("update_batch", ([(b"", u32(1))],), {}, ENOTSUPP),
        ("delete_batch", ([b""],), {}, ENOTSUPP),
    ],
)
def test_errors(op: str, args: tuple[object, ...], kwargs: dict[str, object], err: int) -> None:
    assert errno_of(getattr(bloom(), op), *args, **kwargs) == err


def test_permissions_and_len() -> None:
    m = bloom()
    m.push_elem(u32(1))
    assert len(m) == 0 and list(m) == []
    m.freeze()
    assert errno_of(m.push_elem, u32(2)) == errno.EPERM
    assert m.lookup_elem(u32(1)) == u32(1)
    w = bloom(flags=MapCreateFlags.WRONLY)
    assert errno_of(w.lookup_elem, None, value=u32(1)) == errno.EPERM


def test_program_face() -> None:
    m = bloom()
    assert m.prog_push(u32(1), 1) == -errno.EINVAL
    assert m.prog_push(b"x", 0) == -errno.EINVAL
    assert m.prog_lookup(b"") is None
    assert m.prog_update(b"", u32(1), 0) == -errno.EINVAL
    assert m.prog_delete(b"") == -errno.EOPNOTSUPP
    assert m.prog_pop() == -errno.EOPNOTSUPP
    assert m.prog_keys() == []


def test_helpers() -> None:
    m = bloom()
    impl = {h.id: h.impl for h in HELPERS}
    rt = Runtime()
    rt.add_map(m)
    buf = rt.memory.map_scratch(4)
    rt.memory.write(buf, u32(7))
    assert impl[HelperId.MAP_PUSH_ELEM](rt, m.slot << 32, buf, 0, 0, 0) == 0
    assert impl[HelperId.MAP_PEEK_ELEM](rt, m.slot << 32, buf, 0, 0, 0) == 0
    assert rt.memory.read(buf, 4) == u32(7)  # peek leaves the value alone
    assert u32(7) in m
