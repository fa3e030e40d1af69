"""BPF_MAP_TYPE_PROG_ARRAY: the program registry, the syscall face's errnos, tail-call lookups.

The errnos asserted here were checked against the running kernel
(``tests/kernel/test_special_maps_probe.py`` runs the same scenarios there).
"""

from __future__ import annotations

import errno
import gc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.errors import MapError
from ebpy.maps import create_map
from ebpy.maps.base import ANY, EXIST, F_LOCK, NOEXIST
from ebpy.maps.prog_array import (
    ENOTSUPP,
    ProgArrayMap,
    prog_type_of,
    program_by_id,
    register_program,
)
from ebpy.spec import MapSpec
from ebpy.uapi import MapCreateFlags, MapType, ProgType


class Prog:
    """A stand-in for a loaded program: anything with a ``prog_type`` will do."""

    def __init__(self, prog_type: object = ProgType.XDP) -> None:
        self.prog_type = prog_type


def K(i: int) -> bytes:
    return i.to_bytes(4, "little")


def make(max_entries: int = 4, **kw: int) -> ProgArrayMap:
    m = create_map(MapSpec(MapType.PROG_ARRAY, 4, 4, max_entries, **kw))
    assert isinstance(m, ProgArrayMap)
    return m


def fd_of(prog: object) -> bytes:
    return K(register_program(prog))


def errno_of(fn: object, *args: object) -> int:
    try:
        fn(*args)  # type: ignore[operator]
    except MapError as e:
        return e.errno
    return 0


# -- creation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "entries", "flags", "err"),
    [
        (4, 4, 4, 0, 0),
        (4, 8, 4, 0, errno.EINVAL),
        (8, 4, 4, 0, errno.EINVAL),
        (4, 4, 0, 0, errno.EINVAL),
        (4, 0, 4, 0, errno.EINVAL),
        (4, 4, 4, MapCreateFlags.RDONLY_PROG, errno.EINVAL),
        (4, 4, 4, MapCreateFlags.WRONLY_PROG, errno.EINVAL),
        (4, 4, 4, MapCreateFlags.MMAPABLE, errno.EINVAL),
        (4, 4, 4, MapCreateFlags.PRESERVE_ELEMS, errno.EINVAL),
        (4, 4, 4, MapCreateFlags.INNER_MAP, errno.EINVAL),
        (4, 4, 4, MapCreateFlags.RDONLY | MapCreateFlags.WRONLY, errno.EINVAL),
        (4, 4, 4, MapCreateFlags.RDONLY, 0),
        (4, 4, 4, MapCreateFlags.NUMA_NODE, 0),
    ],
)
def test_create(key: int, value: int, entries: int, flags: int, err: int) -> None:
    spec = MapSpec(MapType.PROG_ARRAY, key, value, entries, flags)
    assert errno_of(create_map, spec) == err


def test_huge_max_entries_is_sparse() -> None:
    m = make(1 << 31)
    m.set_program((1 << 31) - 1, Prog())
    assert len(m) == 1
    assert m.get_program((1 << 31) - 1) is not None


# -- the registry ---------------------------------------------------------------------


def test_register_program_is_stable_and_weak() -> None:
    p = Prog()
    pid = register_program(p)
    assert register_program(p) == pid
    assert program_by_id(pid) is p
    assert register_program(Prog()) != pid
    del p
    gc.collect()
    assert program_by_id(pid) is None


def test_array_keeps_its_programs_alive() -> None:
    m = make()
    p = Prog()
    pid = register_program(p)
    m.update_elem(K(2), K(pid))
    del p
    gc.collect()
    assert program_by_id(pid) is m.get_program(2) is not None
    assert m.lookup_elem(K(2)) == K(pid)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (ProgType.XDP, ProgType.XDP),
        ("xdp", ProgType.XDP),
        ("SCHED_CLS", ProgType.SCHED_CLS),
        (int(ProgType.KPROBE), ProgType.KPROBE),
        (Prog(ProgType.TRACEPOINT), ProgType.TRACEPOINT),  # a ProgTypeInfo-like holder
        ("no-such-type", None),
        (10_000, None),
        (None, None),
        (True, None),
    ],
)
def test_prog_type_of(value: object, expected: ProgType | None) -> None:
    assert prog_type_of(Prog(value)) == expected


def test_prog_type_of_reads_vm_info() -> None:
    class WithInfo:
        info = Prog(ProgType.XDP)

    assert prog_type_of(WithInfo()) == ProgType.XDP
    assert prog_type_of(object()) is None


# -- the syscall face -------------------------------------------------------------------


def test_update_lookup_delete() -> None:
    m = make()
    p = Prog()
    m.update_elem(K(1), fd_of(p))
    assert m.lookup_elem(K(1)) == fd_of(p)
    assert m.get_program(1) is p
    assert m.get_program(0) is None
    assert m.get_program(99) is None
    m.delete_elem(K(1))
    assert m.get_program(1) is None


@pytest.mark.parametrize(
    ("flags", "err"),
    [
        (ANY, 0),
        (NOEXIST, errno.EINVAL),
        (EXIST, errno.EINVAL),
        (F_LOCK, errno.EINVAL),
        (3, errno.EINVAL),
    ],
)
def test_update_takes_only_bpf_any(flags: int, err: int) -> None:
    m = make()
    assert errno_of(m.update_elem, K(0), fd_of(Prog()), flags) == err


@pytest.mark.parametrize(
    ("op", "key", "err"),
    [
        ("lookup_empty", 0, errno.ENOENT),
        ("lookup_oob", 9, errno.ENOENT),
        ("update_oob", 7, errno.E2BIG),
        ("delete_empty", 1, errno.ENOENT),
        ("delete_oob", 8, errno.E2BIG),
        ("lookup_and_delete", 0, ENOTSUPP),
    ],
)
def test_errnos(op: str, key: int, err: int) -> None:
    m = make()
    p = Prog()
    calls = {
        "lookup_empty": lambda: m.lookup_elem(K(key)),
        "lookup_oob": lambda: m.lookup_elem(K(key)),
        "update_oob": lambda: m.update_elem(K(key), fd_of(p)),
        "delete_empty": lambda: m.delete_elem(K(key)),
        "delete_oob": lambda: m.delete_elem(K(key)),
        "lookup_and_delete": lambda: m.lookup_and_delete_elem(K(key)),
    }
    assert errno_of(calls[op]) == err


def test_unknown_program_id_is_ebadf() -> None:
    m = make()
    assert errno_of(m.update_elem, K(0), K(0xFFFF_FFF0)) == errno.EBADF


def test_owner_type_fixed_by_first_program() -> None:
    m = make()
    m.set_program(0, Prog(ProgType.SOCKET_FILTER))
    assert m.owner_type == ProgType.SOCKET_FILTER
    assert errno_of(m.set_program, 1, Prog(ProgType.XDP)) == errno.EINVAL
    m.set_program(1, Prog(ProgType.SOCKET_FILTER))
    m.set_program(2, Prog(None))  # no known type: no check
    assert m.compatible(Prog(ProgType.SOCKET_FILTER))
    assert not m.compatible(Prog(ProgType.XDP))
    # emptying the array does not forget the owner (as in the kernel)
    for i in (0, 1, 2):
        m.set_program(i, None)
    assert errno_of(m.set_program, 0, Prog(ProgType.XDP)) == errno.EINVAL


def test_get_next_key_walks_every_index() -> None:
    m = make(3)
    assert m.get_next_key(None) == K(0)
    assert m.get_next_key(K(0)) == K(1)
    assert m.get_next_key(K(1)) == K(2)
    assert errno_of(m.get_next_key, K(2)) == errno.ENOENT
    assert m.get_next_key(K(10)) == K(0)


@pytest.mark.parametrize("op", ["lookup_batch", "update_batch", "delete_batch"])
def test_no_batches(op: str) -> None:
    m = make()
    calls = {
        "lookup_batch": lambda: m.lookup_batch(None, 4),
        "update_batch": lambda: m.update_batch([(K(0), fd_of(Prog()))]),
        "delete_batch": lambda: m.delete_batch([K(0)]),
    }
    assert errno_of(calls[op]) == ENOTSUPP


def test_frozen_and_readonly() -> None:
    m = make()
    m.freeze()
    assert errno_of(m.update_elem, K(0), fd_of(Prog())) == errno.EPERM
    ro = make(flags=MapCreateFlags.RDONLY)
    assert errno_of(ro.update_elem, K(0), fd_of(Prog())) == errno.EPERM


def test_mapping_face_counts_filled_slots() -> None:
    m = make(8)
    a, b = Prog(), Prog()
    m.set_program(5, a)
    m.set_program(2, b)
    assert len(m) == 2
    assert list(m) == [K(2), K(5)]
    assert dict(m) == {K(2): fd_of(b), K(5): fd_of(a)}
    del m[K(2)]
    with pytest.raises(KeyError):
        del m[K(2)]
    assert len(m) == 1


def test_set_program_out_of_range() -> None:
    m = make()
    assert errno_of(m.set_program, 4, Prog()) == errno.E2BIG
    assert errno_of(m.set_program, 1 << 40, Prog()) == errno.E2BIG
    assert errno_of(m.set_program, -1, Prog()) == errno.E2BIG


# -- the program face -------------------------------------------------------------------


def test_program_face_has_no_values() -> None:
    m = make()
    m.set_program(0, Prog())
    assert not m.value_writable
    assert m.prog_lookup(K(0)) is None
    assert m.prog_update(K(0), K(0), ANY) == -errno.EINVAL
    assert m.prog_delete(K(0)) == -errno.EINVAL
    assert m.prog_keys() == []


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["set", "del"]), st.integers(0, 9)),
        max_size=40,
    )
)
def test_matches_a_dict_model(ops: list[tuple[str, int]]) -> None:
    m = make(8)
    progs = [Prog() for _ in range(3)]
    model: dict[int, Prog] = {}
    for n, (op, i) in enumerate(ops):
        if op == "set":
            p = progs[n % 3]
            err = errno_of(m.set_program, i, p)
            assert err == (0 if i < 8 else errno.E2BIG)
            if i < 8:
                model[i] = p
        else:
            err = errno_of(m.delete_elem, K(i))
            want = errno.E2BIG if i >= 8 else (0 if i in model else errno.ENOENT)
            assert err == want
            model.pop(i, None)
        assert all(m.get_program(j) is model.get(j) for j in range(10))
        assert len(m) == len(model)


# -- tail calls through a Vm ----------------------------------------------------------------

TAIL_CALLER = """
    r2 = map[idx:0]
    r3 = {index}
    call 12
    r0 = 7
    exit
"""


@pytest.mark.parametrize(("index", "want"), [(1, 42), (0, 7), (3, 7), (9, 7)])
def test_tail_call_through_a_vm(index: int, want: int) -> None:
    from ebpy.isa.asm import assemble
    from ebpy.vm import Vm

    jt = make()
    target = Vm(assemble("r0 = 42\nexit"))
    jt.update_elem(K(1), K(target.prog_id))
    assert jt.get_program(1) is target
    caller = Vm(assemble(TAIL_CALLER.format(index=index)), maps=[jt])
    assert caller.run(bytes(8)) == want
