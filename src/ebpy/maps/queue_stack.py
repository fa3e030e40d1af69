"""BPF_MAP_TYPE_QUEUE and BPF_MAP_TYPE_STACK: FIFO and LIFO containers of values.

They have no keys (key_size 0) and give programs no value pointers: programs
use ``bpf_map_push_elem``/``bpf_map_pop_elem``/``bpf_map_peek_elem``; the syscall
side maps these onto the commands (key ``None``): update = push, lookup = peek,
lookup_and_delete = pop. Not the other maps (no lookup by key, no iteration).

Layout of ``buf``: the kernel's ring of ``max_entries + 1`` values of
``value_size`` bytes (one always free, to tell full from empty); ``head`` is
where the next push goes, ``tail`` the oldest value. A queue pops at ``tail``,
a stack at ``head - 1``.

Semantics (checked against the running kernel):

* create: key_size 0, value_size and max_entries > 0, flags only
  ``BPF_F_NUMA_NODE`` and the access flags (``BPF_F_NO_PREALLOC`` and
  ``BPF_F_ZERO_SEED`` are EINVAL); then a value above 4 MiB is E2BIG;
* push: flags ``BPF_ANY`` or ``BPF_EXIST``, anything else (``BPF_NOEXIST``,
  ``BPF_F_LOCK`` ...) EINVAL; a full map gives E2BIG, unless ``BPF_EXIST``, which
  drops the oldest value (for a stack too: the bottom one) to make room;
* pop and peek of an empty map give ENOENT (the kernel also zeroes the
  program's buffer then);
* syscall: lookup and lookup_and_delete take no flags (EINVAL), delete and
  get_next_key are EINVAL, the batch commands ENOTSUPP (524); a key must be
  ``None`` or empty (EINVAL otherwise);
* programs: ``bpf_map_lookup_elem`` gives NULL, update and delete ``-EINVAL``.

``len()`` is the number of values held (iteration yields nothing: there are no
keys). A map whose ring would exceed 1 GiB gives ENOMEM here.

>>> from ebpy.spec import MapSpec
>>> from ebpy.uapi import MapType
>>> q = QueueMap(MapSpec(MapType.QUEUE, 0, 1, 2))
>>> q.push_elem(b"a"); q.push_elem(b"b"); q.push_elem(b"c", EXIST)  # full: "a" goes
>>> q.pop_elem(), q.pop_elem(), len(q)
(b'b', b'c', 0)
>>> s = StackMap(MapSpec(MapType.STACK, 0, 1, 2))
>>> s.push_elem(b"a"); s.push_elem(b"b")
>>> s.peek_elem(), s.prog_pop(), s.prog_pop(), s.prog_pop() == -errno.ENOENT
(b'b', b'b', b'a', True)
"""

from __future__ import annotations

import errno
from collections.abc import Iterable
from typing import ClassVar

from ebpy.maps._hashtable import KMALLOC_MAX_SIZE, CoreMap
from ebpy.maps.base import ACCESS_MASK, ANY, EXIST, NOEXIST, register
from ebpy.uapi import MapCreateFlags, MapType

CREATE_FLAG_MASK = int(MapCreateFlags.NUMA_NODE) | ACCESS_MASK


class QueueStackMap(CoreMap):
    """What a queue and a stack share: the ring, the checks, the syscall face."""

    lifo: ClassVar[bool] = False
    """Pop the newest value (a stack) rather than the oldest (a queue)."""

    value_writable = False

    def _validate(self) -> None:
        self._check_common()
        both = MapCreateFlags.RDONLY_PROG | MapCreateFlags.WRONLY_PROG
        if (
            self.key_size
            or not self.value_size
            or not self.max_entries
            or self.flags & ~CREATE_FLAG_MASK
            or self.flags & both == both
        ):
            self._fail("create", errno.EINVAL, "key_size 0, value_size and max_entries > 0")
        if self.value_size > KMALLOC_MAX_SIZE:
            self._fail("create", errno.E2BIG, "value_size too large")
        self.size = self.max_entries + 1
        """Values the ring holds (one more than the map)."""
        self._alloc_check(self.size * self.value_size)
        self.buf.extend(bytes(self.size * self.value_size))
        self.head = 0
        self.tail = 0

    # -- the ring -----------------------------------------------------------------
    def _full(self) -> bool:
        return (self.head + 1) % self.size == self.tail

    def _push(self, value: bytes, flags: object) -> int:
        """Push ``value``: 0 or ``-errno``."""
        if not isinstance(flags, int) or flags & NOEXIST or not 0 <= flags <= EXIST:
            return -errno.EINVAL
        if len(value) != self.value_size:
            return -errno.EINVAL
        if self._full():
            if not flags & EXIST:
                return -errno.E2BIG
            self.tail = (self.tail + 1) % self.size
        at = self.head * self.value_size
        self.buf[at : at + self.value_size] = value
        self.head = (self.head + 1) % self.size
        return 0

    def _get(self, delete: bool) -> bytes | int:
        """The value a pop or peek gives, or ``-ENOENT``."""
        if self.head == self.tail:
            return -errno.ENOENT
        index = (self.head - 1) % self.size if self.lifo else self.tail
        at = index * self.value_size
        value = bytes(self.buf[at : at + self.value_size])
        if delete:
            if self.lifo:
                self.head = index
            else:
                self.tail = (self.tail + 1) % self.size
        return value

    def _got(self, op: str, got: bytes | int) -> bytes:
        if isinstance(got, int):
            raise self._error(op, -got)
        return got

    # -- the syscall face ---------------------------------------------------------
    def _check_key(self, op: str, key: object) -> bytes:
        if key is None or (isinstance(key, bytes | bytearray | memoryview) and not len(key)):
            return b""
        raise self._error(op, errno.EINVAL, "queue and stack maps have no keys")

    def lookup_elem(self, key: bytes | None = None, flags: int = 0) -> bytes:
        """``BPF_MAP_LOOKUP_ELEM``: peek (ENOENT when empty; no flags)."""
        with self.lock:
            self._check_key("lookup", key)
            flags = self._check_flag_bits("lookup", flags)
            self._check_read("lookup")
            self._check_spin("lookup", flags)
            return self._got("lookup", self._get(delete=False))

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        err = self._push(value, flags)
        if err:
            raise self._error("update", -err)

    def _delete(self, key: bytes) -> None:
        raise self._error("delete", errno.EINVAL, "queue and stack maps cannot delete")

    def _next_key(self, key: bytes | None) -> bytes:
        raise self._error("get_next_key", errno.EINVAL, "queue and stack maps have no keys")

    def lookup_and_delete_elem(self, key: bytes | None = None, flags: int = 0) -> bytes:
        """``BPF_MAP_LOOKUP_AND_DELETE_ELEM``: pop (ENOENT when empty; no flags)."""
        op = "lookup_and_delete"
        with self.lock:
            self._check_key(op, key)
            self._check_flag_bits(op, flags)
            self._check_read(op)
            self._check_write(op)
            self._check_flag_bits(op, flags, 0)
            return self._got(op, self._get(delete=True))

    def _count(self) -> int:
        return (self.head - self.tail) % self.size

    def lookup_batch(
        self, start: bytes | None, count: int, *, delete: bool = False
    ) -> tuple[list[tuple[bytes, bytes]], bytes | None]:
        """No batches for queues and stacks: ENOTSUPP."""
        with self.lock:
            op = "lookup_and_delete_batch" if delete else "lookup_batch"
            raise self._no_batch(op, read=True, write=delete)

    def update_batch(self, items: Iterable[tuple[bytes, bytes]], flags: int = ANY) -> int:
        """No batches for queues and stacks: ENOTSUPP."""
        with self.lock:
            raise self._no_batch("update_batch", write=True)

    def delete_batch(self, keys: Iterable[bytes]) -> int:
        """No batches for queues and stacks: ENOTSUPP."""
        with self.lock:
            raise self._no_batch("delete_batch", write=True)

    # -- conveniences ---------------------------------------------------------------
    def push_elem(self, value: bytes, flags: int = ANY) -> None:
        """Push from user space (``update_elem(None, value, flags)``)."""
        self.update_elem(None, value, flags)

    def pop_elem(self) -> bytes:
        """Pop from user space (``lookup_and_delete_elem(None)``)."""
        return self.lookup_and_delete_elem(None)

    def peek_elem(self) -> bytes:
        """Peek from user space (``lookup_elem(None)``)."""
        return self.lookup_elem(None)

    # -- the program face ---------------------------------------------------------
    def prog_lookup(self, key: bytes, cpu: int = 0) -> int | None:
        return None

    def prog_update(self, key: bytes, value: bytes, flags: int, cpu: int = 0) -> int:
        return -errno.EINVAL

    def prog_delete(self, key: bytes) -> int:
        return -errno.EINVAL

    def prog_push(self, value: bytes, flags: int) -> int:
        """``bpf_map_push_elem``: 0, ``-E2BIG`` when full, ``-EINVAL`` for bad flags."""
        with self.lock:
            return self._push(bytes(value), flags)

    def prog_pop(self, cpu: int = 0) -> bytes | int:
        """``bpf_map_pop_elem``: the value, or ``-ENOENT``."""
        with self.lock:
            return self._get(delete=True)

    def prog_peek(self, value: bytes, cpu: int = 0) -> bytes | int:
        """``bpf_map_peek_elem``: the value, or ``-ENOENT``."""
        with self.lock:
            return self._get(delete=False)

    def prog_keys(self, cpu: int = 0) -> list[bytes]:
        return []


@register
class QueueMap(QueueStackMap):
    """BPF_MAP_TYPE_QUEUE: pop and peek give the oldest value."""

    map_type = MapType.QUEUE


@register
class StackMap(QueueStackMap):
    """BPF_MAP_TYPE_STACK: pop and peek give the newest value."""

    map_type = MapType.STACK
    lifo = True
