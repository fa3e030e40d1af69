"""ebpy.kernel.map: KernelMap over the raw bpf(2) map commands.

Layout and parsing tests run everywhere; tests marked ``kernel`` create real maps
(root and bpf(2) needed, they skip otherwise). Expected errnos are the kernel's
own answers on this machine's kernel (Linux >= 5.14 semantics).
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
import sys
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebpy.errors import KernelError, MapError, NotSupportedError
from ebpy.isa.builder import ALU64, EXIT, R0
from ebpy.kernel import KernelMap, KernelProgram, MapInfo, _syscall, features, possible_cpus
from ebpy.kernel import map as kmap
from ebpy.spec import MapSpec
from ebpy.uapi import MapCreateFlags, MapType, MapUpdateFlags, ProgType

kernel = pytest.mark.kernel
ANY, NOEXIST, EXIST = MapUpdateFlags.ANY, MapUpdateFlags.NOEXIST, MapUpdateFlags.EXIST
#: The kernel-internal ENOTSUPP (not EOPNOTSUPP) that some map commands leak to userspace.
ENOTSUPP = 524


def u32(i: int) -> bytes:
    return i.to_bytes(4, "little")


Make = Callable[..., KernelMap]


def errno_of(fn: object, *args: object, **kwargs: object) -> int:
    with pytest.raises(MapError) as info:
        fn(*args, **kwargs)  # type: ignore[operator]
    return info.value.errno


@pytest.fixture
def make() -> Iterator[Make]:
    """Create kernel maps that are closed after the test."""
    made: list[KernelMap] = []

    def _make(spec: MapSpec, inner_fd: int | None = None) -> KernelMap:
        m = KernelMap.create(spec, inner_fd)
        made.append(m)
        return m

    yield _make
    for m in made:
        m.close()


# -- layouts (facts from linux/bpf.h) ------------------------------------------

LAYOUTS = [
    (_syscall.MapCreateAttr, "map_type", 0),
    (_syscall.MapCreateAttr, "max_entries", 12),
    (_syscall.MapCreateAttr, "inner_map_fd", 20),
    (_syscall.MapCreateAttr, "map_name", 28),
    (_syscall.MapCreateAttr, "map_ifindex", 44),
    (_syscall.MapCreateAttr, "btf_vmlinux_value_type_id", 60),
    (_syscall.MapCreateAttr, "map_extra", 64),
    (_syscall.MapElemAttr, "map_fd", 0),
    (_syscall.MapElemAttr, "key", 8),
    (_syscall.MapElemAttr, "value", 16),
    (_syscall.MapElemAttr, "flags", 24),
    (_syscall.MapBatchAttr, "in_batch", 0),
    (_syscall.MapBatchAttr, "out_batch", 8),
    (_syscall.MapBatchAttr, "keys", 16),
    (_syscall.MapBatchAttr, "values", 24),
    (_syscall.MapBatchAttr, "count", 32),
    (_syscall.MapBatchAttr, "map_fd", 36),
    (_syscall.MapBatchAttr, "elem_flags", 40),
    (_syscall.MapBatchAttr, "flags", 48),
    (_syscall.ObjInfoAttr, "bpf_fd", 0),
    (_syscall.ObjInfoAttr, "info_len", 4),
    (_syscall.ObjInfoAttr, "info", 8),
    (_syscall.BpfMapInfo, "name", 24),
    (_syscall.BpfMapInfo, "netns_dev", 48),
    (_syscall.BpfMapInfo, "btf_id", 64),
    (_syscall.BpfMapInfo, "map_extra", 80),
]


@pytest.mark.parametrize(
    ("view", "field", "offset"), LAYOUTS, ids=[f"{v.__name__}.{f}" for v, f, _ in LAYOUTS]
)
def test_map_attr_layout(view: type[ctypes.Structure], field: str, offset: int) -> None:
    assert getattr(view, field).offset == offset


@pytest.mark.parametrize(
    "view",
    [_syscall.MapCreateAttr, _syscall.MapElemAttr, _syscall.MapBatchAttr, _syscall.ObjInfoAttr],
)
def test_map_attr_size(view: type[ctypes.Structure]) -> None:
    assert ctypes.sizeof(view) == _syscall.ATTR_SIZE


def test_map_info_size() -> None:
    assert ctypes.sizeof(_syscall.BpfMapInfo) == _syscall.MAP_INFO_SIZE == 88


# -- possible CPUs and names ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "n"), [("0\n", 1), ("0-1\n", 2), ("0-3,8-9", 6), ("0,2,4", 3), ("0-7,4-5", 8)]
)
def test_parse_cpu_list(text: str, n: int) -> None:
    assert features.parse_cpu_list(text) == n


@pytest.mark.parametrize("text", ["", "x", "3-1", "1-", "-2"])
def test_parse_cpu_list_rejects(text: str) -> None:
    with pytest.raises(NotSupportedError):
        features.parse_cpu_list(text)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 300), st.integers(0, 8)), min_size=1, max_size=6))
def test_parse_cpu_list_counts_the_union(ranges: list[tuple[int, int]]) -> None:
    text = ",".join(f"{lo}-{lo + n}" if n else str(lo) for lo, n in ranges)
    want = set().union(*(range(lo, lo + n + 1) for lo, n in ranges))
    assert features.parse_cpu_list(text) == len(want)


@pytest.mark.skipif(not os.path.exists(features.POSSIBLE_CPUS_FILE), reason="no sysfs")
def test_possible_cpus_reads_sysfs() -> None:
    with open(features.POSSIBLE_CPUS_FILE) as f:
        assert possible_cpus() == features.parse_cpu_list(f.read()) >= 1


@pytest.mark.parametrize(
    ("name", "want"),
    [("counts", b"counts"), ("a-b c", b"a_b_c"), (".rodata", b".rodata"), ("x" * 20, b"x" * 15)],
)
def test_kernel_name(name: str, want: bytes) -> None:
    assert kmap.kernel_name(name) == want


# -- creating and info -----------------------------------------------------------

VALID = [
    MapSpec(MapType.HASH, 4, 8, 16, name="h"),
    MapSpec(MapType.ARRAY, 4, 3, 5, name="a"),
    MapSpec(MapType.PERCPU_HASH, 2, 4, 4),
    MapSpec(MapType.PERCPU_ARRAY, 4, 12, 2),
    MapSpec(MapType.LRU_HASH, 4, 4, 8),
    MapSpec(MapType.LRU_PERCPU_HASH, 4, 4, 8),
    MapSpec(MapType.LPM_TRIE, 8, 4, 8, flags=MapCreateFlags.NO_PREALLOC),
    MapSpec(MapType.QUEUE, 0, 4, 4),
    MapSpec(MapType.STACK, 0, 4, 4),
    MapSpec(MapType.BLOOM_FILTER, 0, 4, 8, extra=3),
    MapSpec(MapType.RINGBUF, 0, 0, 4096),
    MapSpec(MapType.STACK_TRACE, 4, 64, 4),
    MapSpec(MapType.PROG_ARRAY, 4, 4, 4),
    MapSpec(MapType.PERF_EVENT_ARRAY, 4, 4, 2),
    MapSpec(MapType.ARRAY_OF_MAPS, 4, 4, 2, inner=MapSpec(MapType.ARRAY, 4, 4, 1)),
    MapSpec(MapType.HASH_OF_MAPS, 4, 4, 2, inner=MapSpec(MapType.HASH, 4, 4, 1)),
]


@kernel
@pytest.mark.parametrize("spec", VALID, ids=[s.type.name.lower() for s in VALID])
def test_create_and_info(spec: MapSpec) -> None:
    with KernelMap.create(spec.renamed(spec.name or "ebpy_t")) as m:
        info = m.info()
        assert isinstance(info, MapInfo)
        assert info.type == spec.type
        assert (info.key_size, info.value_size) == (spec.key_size, spec.value_size)
        assert info.max_entries == spec.max_entries
        assert info.flags == spec.flags
        assert info.name == (spec.name or "ebpy_t")
        assert info.map_extra == spec.extra
        assert info.id > 0 and m.id == info.id
        assert m.fd >= 0 and not m.closed
    assert m.closed


@kernel
@pytest.mark.parametrize(
    ("spec", "err"),
    [
        (MapSpec(MapType.HASH, 0, 4, 4), errno.EINVAL),
        (MapSpec(MapType.HASH, 4, 0, 4), errno.EINVAL),
        (MapSpec(MapType.HASH, 4, 4, 0), errno.EINVAL),
        (MapSpec(MapType.HASH, 4, 4, 4, flags=1 << 30), errno.EINVAL),
        (
            MapSpec(MapType.HASH, 4, 4, 4, flags=MapCreateFlags.RDONLY | MapCreateFlags.WRONLY),
            errno.EINVAL,
        ),
        (MapSpec(MapType.ARRAY, 8, 4, 4), errno.EINVAL),
        (MapSpec(MapType.LPM_TRIE, 8, 4, 4), errno.EINVAL),  # needs BPF_F_NO_PREALLOC
        (MapSpec(MapType.QUEUE, 4, 4, 4), errno.EINVAL),
        (MapSpec(MapType.RINGBUF, 0, 0, 4095), errno.EINVAL),
        (MapSpec(MapType.BLOOM_FILTER, 0, 4, 4, extra=16), errno.EINVAL),
        (MapSpec(MapType.HASH, -1, 4, 4), errno.EINVAL),  # does not fit a u32
        (MapSpec(MapType.UNSPEC, 4, 4, 4), errno.EINVAL),
    ],
    ids=lambda v: v.describe() if isinstance(v, MapSpec) else errno.errorcode[v],
)
def test_create_errors(spec: MapSpec, err: int) -> None:
    with pytest.raises(MapError) as info:
        KernelMap.create(spec.renamed("bad"))
    assert (info.value.op, info.value.errno, info.value.map) == ("create", err, "bad")


@kernel
def test_map_in_map_needs_an_inner_map() -> None:
    spec = MapSpec(MapType.ARRAY_OF_MAPS, 4, 4, 4)
    with open(os.devnull) as f, pytest.raises(MapError) as info:
        KernelMap.create(spec, inner_fd=f.fileno())  # an fd, but not a map's
    assert info.value.errno == errno.EINVAL
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(MapError) as info:
        KernelMap.create(spec, inner_fd=r)  # no fd at all
    assert info.value.errno == errno.EBADF


def test_create_eperm_is_not_supported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kmap, "bpf_errno", lambda cmd, attr, retry=None: -errno.EPERM)
    with pytest.raises(NotSupportedError):
        KernelMap.create(MapSpec(MapType.HASH, 4, 4, 4))


def test_create_passes_the_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bytes] = []

    def fake(cmd: int, attr: ctypes.Structure, retry: object = None) -> int:
        seen.append(bytes(attr))
        return -errno.EINVAL

    monkeypatch.setattr(kmap, "bpf_errno", fake)
    spec = MapSpec(MapType.BLOOM_FILTER, 0, 8, 64, flags=0x40, name="bf-1", extra=3)
    with pytest.raises(MapError):
        KernelMap.create(spec)
    raw = seen[0]
    assert struct.unpack_from("<6I", raw, 0) == (30, 0, 8, 64, 0x40, 0)
    assert raw[28:44].rstrip(b"\0") == b"bf_1"
    assert struct.unpack_from("<Q", raw, 64)[0] == 3
    assert not any(raw[72:])


# -- keyed maps -----------------------------------------------------------------


@kernel
def test_hash_crud(make: Make) -> None:
    m: KernelMap = make(MapSpec(MapType.HASH, 4, 8, 2, name="h"))
    assert errno_of(m.lookup_elem, u32(1)) == errno.ENOENT
    m.update_elem(u32(1), b"A" * 8, NOEXIST)
    assert m.lookup_elem(u32(1)) == b"A" * 8
    assert errno_of(m.update_elem, u32(1), b"B" * 8, NOEXIST) == errno.EEXIST
    assert errno_of(m.update_elem, u32(2), b"B" * 8, EXIST) == errno.ENOENT
    m.update_elem(u32(1), b"B" * 8, EXIST)
    m.update_elem(u32(2), b"C" * 8)
    assert errno_of(m.update_elem, u32(3), b"D" * 8) == errno.E2BIG  # full
    assert errno_of(m.update_elem, u32(1), b"D" * 8, NOEXIST | EXIST) == errno.EINVAL
    assert sorted(m) == [u32(1), u32(2)] and len(m) == 2
    assert m.lookup_and_delete_elem(u32(1)) == b"B" * 8
    assert errno_of(m.lookup_and_delete_elem, u32(1)) == errno.ENOENT
    m.delete_elem(u32(2))
    assert errno_of(m.delete_elem, u32(2)) == errno.ENOENT
    assert errno_of(m.get_next_key, None) == errno.ENOENT


@kernel
def test_map_error_fields(make: Make) -> None:
    m: KernelMap = make(MapSpec(MapType.HASH, 4, 4, 2, name="named"))
    with pytest.raises(MapError) as info:
        m.lookup_elem(u32(7))
    assert (info.value.op, info.value.errno, info.value.map) == ("lookup", errno.ENOENT, "named")


@kernel
@pytest.mark.parametrize(
    ("key", "value"),
    [(b"\0" * 3, b"\0" * 4), (b"\0" * 5, b"\0" * 4), (u32(0), b"\0" * 3), (None, b"")],
)
def test_wrong_sizes_are_einval(make: Make, key: bytes | None, value: bytes) -> None:
    m: KernelMap = make(MapSpec(MapType.HASH, 4, 4, 2))
    assert errno_of(m.update_elem, key, value) == errno.EINVAL
    if key is None or len(key) != 4:
        assert errno_of(m.lookup_elem, key) == errno.EINVAL
        assert errno_of(m.delete_elem, key) == errno.EINVAL


@kernel
def test_get_next_key_walks(make: Make) -> None:
    m: KernelMap = make(MapSpec(MapType.HASH, 4, 4, 8))
    keys = {u32(i * 7) for i in range(5)}
    for k in keys:
        m.update_elem(k, b"vvvv")
    assert set(m) == keys and len(m) == 5
    assert m.get_next_key(u32(1000)) in keys  # a missing key gives a first key
    assert dict(m.items()) == {k: b"vvvv" for k in keys}


@kernel
def test_array(make: Make) -> None:
    a: KernelMap = make(MapSpec(MapType.ARRAY, 4, 3, 3))
    assert list(a) == [u32(0), u32(1), u32(2)]
    assert a.lookup_elem(u32(2)) == b"\0\0\0"
    a.update_elem(u32(1), b"abc", EXIST)
    assert a[u32(1)] == b"abc"
    assert errno_of(a.update_elem, u32(1), b"abc", NOEXIST) == errno.EEXIST
    assert errno_of(a.update_elem, u32(3), b"abc") == errno.E2BIG
    assert errno_of(a.lookup_elem, u32(3)) == errno.ENOENT
    assert errno_of(a.delete_elem, u32(0)) == errno.EINVAL
    assert a.get_next_key(None) == u32(0)
    assert a.get_next_key(u32(1)) == u32(2)
    assert a.get_next_key(u32(99)) == u32(0)
    assert errno_of(a.get_next_key, u32(2)) == errno.ENOENT


@kernel
@pytest.mark.parametrize("kind", [MapType.PERCPU_ARRAY, MapType.PERCPU_HASH])
def test_percpu_values(make: Make, kind: MapType) -> None:
    m: KernelMap = make(MapSpec(kind, 4, 4, 2))
    n = possible_cpus()
    assert m.syscall_value_size == 8 * n
    value = bytes(range(8 * n))
    m.update_elem(u32(0), value)
    # The kernel copies whole 8-byte slots, padding included.
    assert m.lookup_elem(u32(0)) == value
    assert errno_of(m.update_elem, u32(0), b"\0" * 4) == errno.EINVAL


@kernel
def test_lpm_trie_longest_prefix(make: Make) -> None:
    t: KernelMap = make(MapSpec(MapType.LPM_TRIE, 8, 4, 8, flags=MapCreateFlags.NO_PREALLOC))

    def key(plen: int, ip: str) -> bytes:
        return u32(plen) + bytes(int(x) for x in ip.split("."))

    t.update_elem(key(8, "10.0.0.0"), b"net8")
    t.update_elem(key(24, "10.1.2.0"), b"ne24")
    assert t.lookup_elem(key(32, "10.1.2.3")) == b"ne24"
    assert t.lookup_elem(key(32, "10.9.9.9")) == b"net8"
    assert errno_of(t.lookup_elem, key(32, "11.0.0.0")) == errno.ENOENT
    assert errno_of(t.update_elem, key(33, "10.0.0.0"), b"xxxx") == errno.EINVAL
    assert errno_of(t.delete_elem, key(16, "10.1.0.0")) == errno.ENOENT
    assert set(t) == {key(8, "10.0.0.0"), key(24, "10.1.2.0")}


# -- maps without keys ---------------------------------------------------------------


@kernel
@pytest.mark.parametrize(("kind", "first"), [(MapType.QUEUE, b"aaaa"), (MapType.STACK, b"bbbb")])
def test_queue_and_stack(make: Make, kind: MapType, first: bytes) -> None:
    q: KernelMap = make(MapSpec(kind, 0, 4, 2))
    assert errno_of(q.lookup_elem, None) == errno.ENOENT
    q.update_elem(None, b"aaaa")
    q.update_elem(b"", b"bbbb")
    assert errno_of(q.update_elem, None, b"cccc") == errno.E2BIG
    assert errno_of(q.update_elem, None, b"cccc", NOEXIST) == errno.EINVAL
    assert q.lookup_elem(None) == first
    assert q.lookup_and_delete_elem(None) == first
    assert errno_of(q.delete_elem, None) == errno.EINVAL
    assert errno_of(q.get_next_key, None) == errno.EINVAL
    assert errno_of(q.lookup_elem, b"\0\0\0\0") == errno.EINVAL  # no key, ever


@kernel
def test_queue_exist_overwrites_the_oldest(make: Make) -> None:
    q: KernelMap = make(MapSpec(MapType.QUEUE, 0, 1, 2))
    for v in b"abc":
        q.update_elem(None, bytes([v]), EXIST)
    assert [q.lookup_and_delete_elem(None) for _ in range(2)] == [b"b", b"c"]


@kernel
def test_bloom_filter(make: Make) -> None:
    b: KernelMap = make(MapSpec(MapType.BLOOM_FILTER, 0, 4, 64))
    b.update_elem(None, b"abcd")
    assert b.lookup_elem(None, value=b"abcd") == b"abcd"
    assert errno_of(b.lookup_elem, None, value=b"zzzz") == errno.ENOENT
    assert errno_of(b.update_elem, None, b"abcd", EXIST) == errno.EINVAL
    assert errno_of(b.delete_elem, None) == errno.EOPNOTSUPP
    assert errno_of(b.get_next_key, None) == errno.EOPNOTSUPP


@kernel
def test_ringbuf_has_no_syscall_ops(make: Make) -> None:
    r: KernelMap = make(MapSpec(MapType.RINGBUF, 0, 0, 4096))
    assert errno_of(r.lookup_elem, None) == ENOTSUPP
    assert errno_of(r.update_elem, None, b"") == ENOTSUPP
    assert errno_of(r.delete_elem, None) == ENOTSUPP


# -- freeze --------------------------------------------------------------------------


@kernel
def test_freeze(make: Make) -> None:
    m: KernelMap = make(MapSpec(MapType.HASH, 4, 4, 2))
    m.update_elem(u32(1), b"aaaa")
    m.freeze()
    assert m.lookup_elem(u32(1)) == b"aaaa"
    assert errno_of(m.update_elem, u32(1), b"bbbb") == errno.EPERM
    assert errno_of(m.delete_elem, u32(1)) == errno.EPERM
    assert errno_of(m.lookup_and_delete_elem, u32(1)) == errno.EPERM
    # A frozen map is read-only for the syscall side, so freezing again is EPERM.
    assert errno_of(m.freeze) == errno.EPERM


# -- batches -------------------------------------------------------------------------


@kernel
@pytest.mark.parametrize("count", [1, 2, 3, 10])
def test_array_lookup_batch_pages(make: Make, count: int) -> None:
    a: KernelMap = make(MapSpec(MapType.ARRAY, 4, 4, 5))
    for i in range(5):
        a.update_elem(u32(i), bytes([i]) * 4)
    got: list[tuple[bytes, bytes]] = []
    pos: bytes | None = None
    for _ in range(10):
        pairs, pos = a.lookup_batch(pos, count)
        got += pairs
        if pos is None:
            break
    assert got == [(u32(i), bytes([i]) * 4) for i in range(5)]


@kernel
def test_hash_batches(make: Make) -> None:
    m: KernelMap = make(MapSpec(MapType.HASH, 4, 4, 8))
    items = [(u32(i), bytes([i]) * 4) for i in range(6)]
    assert m.update_batch(items) == 6
    pairs, pos = m.lookup_batch(None, 8)
    assert sorted(pairs) == items and pos is None
    assert errno_of(m.update_batch, items, NOEXIST) == errno.EINVAL  # batches take no NOEXIST
    assert m.delete_batch([u32(0), u32(1)]) == 2
    assert errno_of(m.delete_batch, [u32(2), u32(0)]) == errno.ENOENT
    assert sorted(m) == [u32(i) for i in range(3, 6)]  # u32(2) went before the error
    pairs, pos = m.lookup_batch(None, 8, delete=True)
    assert sorted(pairs) == items[3:] and pos is None
    assert len(m) == 0
    assert m.lookup_batch(None, 4) == ([], None)
    assert m.update_batch([]) == 0 and m.delete_batch([]) == 0


@kernel
def test_array_cannot_lookup_and_delete_batch(make: Make) -> None:
    a: KernelMap = make(MapSpec(MapType.ARRAY, 4, 4, 2))
    assert errno_of(a.lookup_batch, None, 2, delete=True) == ENOTSUPP
    assert errno_of(a.lookup_batch, None, -1) == errno.EINVAL


# -- fd values -------------------------------------------------------------------------


@kernel
def test_prog_array_takes_program_fds(make: Make) -> None:
    pa: KernelMap = make(MapSpec(MapType.PROG_ARRAY, 4, 4, 2))
    with KernelProgram.load([ALU64.MOV.imm(R0, 0), EXIT()], ProgType.SOCKET_FILTER) as p:
        pa.update_elem(u32(0), p)
        prog_id = int.from_bytes(pa.lookup_elem(u32(0)), sys.byteorder)
        assert prog_id > 0
        pa.update_elem(u32(1), p.fd)
        assert errno_of(pa.update_elem, u32(1), p, NOEXIST) == errno.EINVAL  # only BPF_ANY
        assert errno_of(pa.update_elem, u32(2), p) == errno.E2BIG
    pa.delete_elem(u32(0))
    assert errno_of(pa.lookup_elem, u32(0)) == errno.ENOENT
    assert errno_of(pa.delete_elem, u32(0)) == errno.ENOENT
    assert list(pa) == [u32(0), u32(1)]  # fd arrays walk every index
    assert errno_of(pa.update_elem, u32(0), pa) == errno.EINVAL  # a map is not a program
    assert errno_of(pa.update_elem, u32(0), -1) == errno.EBADF


@kernel
def test_map_in_map_takes_map_fds(make: Make) -> None:
    inner_spec = MapSpec(MapType.ARRAY, 4, 4, 1)
    inner: KernelMap = make(inner_spec)
    outer: KernelMap = make(MapSpec(MapType.HASH_OF_MAPS, 4, 4, 2), inner.fd)
    outer.update_elem(u32(5), inner)
    assert int.from_bytes(outer.lookup_elem(u32(5)), sys.byteorder) == inner.id
    other: KernelMap = make(MapSpec(MapType.ARRAY, 4, 8, 1))
    assert errno_of(outer.update_elem, u32(6), other) == errno.EINVAL  # not like the template
    outer.delete_elem(u32(5))
    assert len(outer) == 0


# -- fds, MutableMapping, from_fd ------------------------------------------------------


@kernel
def test_mutable_mapping_face(make: Make) -> None:
    m: KernelMap = make(MapSpec(MapType.HASH, 4, 4, 4))
    m[u32(1)] = b"one!"
    m.update({u32(2): b"two!"})
    assert m[u32(1)] == b"one!" and u32(2) in m and u32(3) not in m
    with pytest.raises(KeyError):
        m[u32(3)]
    with pytest.raises(KeyError):
        del m[u32(3)]
    del m[u32(1)]
    assert dict(m) == {u32(2): b"two!"}
    assert m != make(MapSpec(MapType.HASH, 4, 4, 4)) and m == m


@kernel
def test_from_fd_and_close() -> None:
    with KernelMap.create(MapSpec(MapType.ARRAY, 4, 8, 3, name="orig")) as m:
        m.update_elem(u32(1), b"12345678")
        other = KernelMap.from_fd(os.dup(m.fd))
        assert other.spec == MapSpec(MapType.ARRAY, 4, 8, 3, name="orig")
        assert other.lookup_elem(u32(1)) == b"12345678"
        assert other.id == m.id
        other.close()
        other.close()
    assert "closed" in repr(m)
    with pytest.raises(KernelError) as info:
        _ = m.fd
    assert info.value.errno == errno.EBADF
    assert errno_of(m.lookup_elem, u32(0)) == errno.EBADF
    with pytest.raises(MapError):
        m.freeze()


@kernel
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.binary(min_size=3, max_size=3), st.binary(min_size=5, max_size=5), max_size=8
    )
)
def test_hash_holds_what_was_written(items: dict[bytes, bytes]) -> None:
    with KernelMap.create(MapSpec(MapType.HASH, 3, 5, 8)) as m:
        assert m.update_batch(list(items.items())) == len(items)
        assert dict(m) == items
        pairs, pos = m.lookup_batch(None, 8)
        assert dict(pairs) == items and len(pairs) == len(items) and pos is None


@kernel
@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(min_size=1, max_size=24), st.data())
def test_percpu_array_round_trips_every_byte(value: bytes, data: st.DataObject) -> None:
    n = possible_cpus()
    stride = (len(value) + 7) & ~7
    full = data.draw(st.binary(min_size=stride * n, max_size=stride * n))
    with KernelMap.create(MapSpec(MapType.PERCPU_ARRAY, 4, len(value), 1)) as m:
        m.update_elem(u32(0), full)
        assert m.lookup_elem(u32(0)) == full


@kernel
def test_lookup_batch_of_nothing(make: Make) -> None:
    a: KernelMap = make(MapSpec(MapType.ARRAY, 4, 4, 2))
    assert a.lookup_batch(None, 0) == ([], None)
    assert a.lookup_batch(u32(0), 0) == ([], u32(0))


BAD_CALLS = [
    ("lookup_elem", ("abcd",), {}),
    ("lookup_elem", (4,), {}),
    ("lookup_elem", (u32(0), "x"), {}),
    ("update_elem", (u32(0), "abcd"), {}),
    ("update_elem", (u32(0), object()), {}),
    ("update_elem", (u32(0), b"abcd", 1.5), {}),
    ("update_elem", (u32(0), b"abcd", -1), {}),
    ("delete_elem", ([1, 2, 3, 4],), {}),
    ("get_next_key", ("abcd",), {}),
    ("lookup_batch", (None, "2"), {}),
    ("lookup_batch", ("abcd", 2), {}),
    ("update_batch", ([1, 2],), {}),
    ("update_batch", (5,), {}),
    ("delete_batch", (5,), {}),
    ("delete_batch", (["abcd"],), {}),
]


@kernel
@pytest.mark.parametrize(
    ("op", "args", "kwargs"), BAD_CALLS, ids=[f"{c[0]}{c[1]!r}" for c in BAD_CALLS]
)
def test_bad_input_is_einval(
    make: Make, op: str, args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    m: KernelMap = make(MapSpec(MapType.HASH, 4, 4, 4))
    assert errno_of(getattr(m, op), *args, **kwargs) == errno.EINVAL
