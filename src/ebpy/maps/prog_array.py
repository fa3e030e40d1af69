"""``BPF_MAP_TYPE_PROG_ARRAY``: the table ``bpf_tail_call`` jumps through.

Also home of ``FdArrayMap``, the base of the kernel's "fd arrays" (prog array,
perf event array, array of maps): 4-byte keys, 4-byte values that are file
descriptors on the syscall side, and slots that hold the *object* the fd
named. Their syscall face follows ``kernel/bpf/arraymap.c``:

* creation takes only ``BPF_F_NUMA_NODE``, ``BPF_F_RDONLY`` and ``BPF_F_WRONLY``
  (no program access flags; perf event arrays also ``BPF_F_PRESERVE_ELEMS``);
* update takes only ``BPF_ANY`` (anything else is ``EINVAL``), an index past
  ``max_entries`` is ``E2BIG``, a number that names nothing is ``EBADF``;
* lookup gives what the type's ``map_fd_sys_lookup_elem`` gives (a program's
  id here), ``ENOENT`` for an empty slot;
* delete empties a slot (``ENOENT`` when empty, ``E2BIG`` past the end);
* ``get_next_key`` walks every index, empty or not, as for plain arrays;
* lookup-and-delete is ``ENOTSUPP`` (524), and so are the batch commands except
  for arrays of maps.

The ``MutableMapping`` face (``len``, iteration) counts only filled slots, so
``dict(prog_array)`` works; ``get_next_key`` keeps the kernel's walk.

Programs have no "fds" here: ``register_program(prog)`` gives any Python
object (a ``Vm``) an id in a process-wide registry of weak references, and
that id is what the syscall face takes as the value. A prog array holds
strong references, as the kernel holds a reference on each program. The
first program stored fixes the array's ``owner_type``; a program of another
type is refused with ``EINVAL`` (``bpf_prog_map_compatible``).

This module does not perform tail calls (``ebpy.helpers.tailcall`` does, through
``get_program``); programs cannot read a prog array's values.

>>> from ebpy.spec import MapSpec
>>> class Prog: prog_type = "xdp"
>>> jt = ProgArrayMap(MapSpec(MapType.PROG_ARRAY, 4, 4, 4))
>>> p = Prog()
>>> pid = register_program(p)
>>> jt.update_elem((1).to_bytes(4, "little"), pid.to_bytes(4, "little"))
>>> jt.get_program(1) is p, jt.get_program(0), len(jt)
(True, None, 1)
"""

from __future__ import annotations

import errno
import itertools
import threading
import weakref
from collections.abc import Iterator
from typing import ClassVar

from ebpy.maps.base import ANY, ENOTSUPP, RDONLY, WRONLY, Map, register
from ebpy.uapi import MapCreateFlags, MapType, ProgType

__all__ = [
    "ENOTSUPP",
    "FD_ARRAY_CREATE_FLAGS",
    "FdArrayMap",
    "NoBatchMap",
    "ProgArrayMap",
    "prog_type_of",
    "program_by_id",
    "register_program",
    "u32",
]

FD_ARRAY_CREATE_FLAGS = int(MapCreateFlags.NUMA_NODE) | RDONLY | WRONLY
"""The ``map_flags`` of the fd arrays (``fd_array_map_alloc_check``)."""


def u32(data: bytes) -> int:
    """A little-endian u32 value (a map key or an "fd")."""
    return int.from_bytes(data[:4], "little")


class NoBatchMap(Map):
    """A map type without the batch commands: each is ``ENOTSUPP`` (after the
    permission checks), as in the kernel."""

    batch_ops: ClassVar[frozenset[str]] = frozenset()


class FdArrayMap(NoBatchMap):
    """Base of the fd arrays: slots ``0 .. max_entries - 1`` holding objects or nothing.

    Subclasses implement ``_get_ptr`` (fd -> object, as ``map_fd_get_ptr``) and
    ``_sys_lookup`` (object -> the u32 the syscall lookup gives).
    """

    value_writable = False
    #: The type answers a syscall lookup (``map_fd_sys_lookup_elem``); else ``ENOTSUPP``.
    has_sys_lookup: ClassVar[bool] = True
    create_flags = FD_ARRAY_CREATE_FLAGS

    def _validate(self) -> None:
        super()._validate()
        if self.value_size != 4:
            self._fail("create", errno.EINVAL, "fd arrays hold 4-byte fds")
        if self.key_size != 4:
            self._fail("create", errno.EINVAL, "fd arrays have 4-byte keys")
        self.slots: dict[int, object] = {}
        """Filled slots by index (sparse: ``max_entries`` may be large)."""

    # -- what a subclass decides ------------------------------------------------
    def _get_ptr(self, index: int, fd: int) -> object:
        """The object ``fd`` names, checked for this map; raise ``MapError`` otherwise."""
        raise self._error("update", errno.EINVAL)

    def _sys_lookup(self, obj: object) -> int:
        """What a syscall lookup of a slot holding ``obj`` returns (an id)."""
        raise self._error("lookup", ENOTSUPP, "no syscall lookup for this map type")

    # -- the syscall face ---------------------------------------------------------
    def _index(self, key: bytes) -> int:
        return u32(key)

    def _lookup(self, key: bytes) -> bytes:
        if not self.has_sys_lookup:
            raise self._error("lookup", ENOTSUPP, "no syscall lookup for this map type")
        obj = self.slots.get(self._index(key))
        if obj is None:
            raise self._error("lookup", errno.ENOENT)
        return self._sys_lookup(obj).to_bytes(4, "little")

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        if flags != ANY:
            self._fail("update", errno.EINVAL, "fd arrays take BPF_ANY only")
        i = self._index(key)
        if i >= self.max_entries:
            self._fail("update", errno.E2BIG, "index out of range")
        self.slots[i] = self._get_ptr(i, u32(value))

    def _delete(self, key: bytes) -> None:
        i = self._index(key)
        if i >= self.max_entries:
            self._fail("delete", errno.E2BIG, "index out of range")
        if self.slots.pop(i, None) is None:
            self._fail("delete", errno.ENOENT, "slot is empty")

    def _next_key(self, key: bytes | None) -> bytes:
        i = -1 if key is None else self._index(key)
        if i >= self.max_entries:
            i = -1
        if i + 1 >= self.max_entries:
            raise self._error("get_next_key", errno.ENOENT)
        return (i + 1).to_bytes(4, "little")

    def _lookup_and_delete(self, key: bytes | None) -> bytes:
        raise self._error("lookup_and_delete", ENOTSUPP)

    # -- the program face ---------------------------------------------------------
    def prog_lookup(self, key: bytes, cpu: int = 0) -> int | None:
        return None

    def prog_update(self, key: bytes, value: bytes, flags: int, cpu: int = 0) -> int:
        return -errno.EINVAL  # the verifier allows no update of an fd array from programs

    def prog_delete(self, key: bytes) -> int:
        return -errno.EINVAL

    def prog_keys(self, cpu: int = 0) -> list[bytes]:
        return []

    # -- Python face --------------------------------------------------------------
    def get_slot(self, index: int) -> object | None:
        """The object at ``index`` (None when empty or out of range)."""
        with self.lock:
            return self.slots.get(index)

    def _count(self) -> int:
        return len(self.slots)

    def __iter__(self) -> Iterator[bytes]:
        with self.lock:
            filled = sorted(self.slots)
        for i in filled:
            yield i.to_bytes(4, "little")


# -- the program registry ("program fds") -------------------------------------------

_programs: weakref.WeakValueDictionary[int, object] = weakref.WeakValueDictionary()
_program_ids: dict[int, int] = {}  # id(prog) -> registry id, while the program lives
_next_program_id = itertools.count(1)
_registry_lock = threading.Lock()


def register_program(prog: object) -> int:
    """The id of ``prog`` in the process-wide program registry (a new one the first time).

    The registry holds weak references: a program that is gone is no longer found.
    """
    with _registry_lock:
        known = _program_ids.get(id(prog))
        if known is not None and _programs.get(known) is prog:
            return known
        pid = next(_next_program_id)
        _programs[pid] = prog
        _program_ids[id(prog)] = pid
        weakref.finalize(prog, _forget, id(prog), pid)
        return pid


def _forget(key: int, pid: int) -> None:
    with _registry_lock:
        if _program_ids.get(key) == pid:
            del _program_ids[key]


def program_by_id(prog_id: int) -> object | None:
    """The live program registered under ``prog_id``, or None."""
    return _programs.get(prog_id)


def prog_type_of(prog: object) -> ProgType | None:
    """The program type of ``prog``: its ``prog_type`` (enum, number, name or type info)
    or its ``info`` (a ``Vm``'s ``ProgTypeInfo``); None when it has none."""
    value = getattr(prog, "prog_type", None)
    if value is None:
        value = getattr(prog, "info", None)
    value = getattr(value, "prog_type", value)  # a ProgTypeInfo carries the enum
    if isinstance(value, ProgType):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return ProgType(value)
        except ValueError:
            return None
    if isinstance(value, str):
        return ProgType.__members__.get(value.upper())
    return None


@register
class ProgArrayMap(FdArrayMap):
    """A prog array: slot ``i`` holds the program ``bpf_tail_call(ctx, map, i)`` jumps to."""

    map_type = MapType.PROG_ARRAY

    def _validate(self) -> None:
        super()._validate()
        self.owner_type: ProgType | None = None
        """The program type every program in this array must have (set by the first one)."""

    def compatible(self, prog: object) -> bool:
        """``bpf_prog_map_compatible``: may ``prog`` use or sit in this array?

        The first program with a known type becomes the owner; later ones must match.
        """
        kind = prog_type_of(prog)
        with self.lock:
            if kind is None:
                return True
            if self.owner_type is None:
                self.owner_type = kind
                return True
            return self.owner_type == kind

    def _get_ptr(self, index: int, fd: int) -> object:
        prog = program_by_id(fd)
        if prog is None:
            raise self._error("update", errno.EBADF, f"no program with id {fd}")
        if not self.compatible(prog):
            raise self._error("update", errno.EINVAL, "program type differs from the owner's")
        return prog

    def _sys_lookup(self, obj: object) -> int:
        return register_program(obj)

    # -- Python face ----------------------------------------------------------------
    def get_program(self, index: int) -> object | None:
        """The program at ``index``, or None (empty or out of range): what a tail call finds."""
        return self.get_slot(index)

    def set_program(self, index: int, prog: object | None) -> None:
        """Store ``prog`` at ``index`` (None empties the slot), with the syscall's checks."""
        if not 0 <= index <= 0xFFFFFFFF:
            self._fail("update", errno.E2BIG, "index out of range")
        key = index.to_bytes(4, "little")
        if prog is None:
            self.delete_elem(key)
            return
        self.update_elem(key, register_program(prog).to_bytes(4, "little"))
