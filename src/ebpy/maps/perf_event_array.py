"""``BPF_MAP_TYPE_PERF_EVENT_ARRAY``: per-CPU rings that ``bpf_perf_event_output`` writes to.

In the kernel each slot holds a perf event (``PERF_COUNT_SW_BPF_OUTPUT``) that
userspace opened on one CPU and whose mmap()ed ring it reads. Here each slot
holds a ``PerfRing``: the consumer's buffer, ``buffer_size`` bytes (a power of
two, at least a page; 64 KiB by default), bound to one CPU. By default every
slot is open, its ring bound to the CPU of the same number (what libbpf's
``perf_buffer`` sets up); ``open(index, cpu=...)``, ``close(index)``,
``open_all()`` and ``close_all()`` change that. The syscall face follows the
kernel's fd arrays (``prog_array.FdArrayMap``): there are no perf event fds
here, so ``update_elem(key, anything)`` opens slot ``key`` and ``delete_elem``
closes it; lookup is ``ENOTSUPP`` (524) as in the kernel.

What a program writes (``output``), as ``__bpf_perf_event_output`` does:
``BPF_F_CURRENT_CPU`` means the running CPU; an index ``>= max_entries`` is
``E2BIG``; a closed slot ``ENOENT``; a ring bound to another CPU than the
running one ``EOPNOTSUPP``; a full ring ``ENOSPC`` (the record is lost).

Records are laid out as ``perf_event_output`` lays out a ``PERF_SAMPLE_RAW``
sample: an 8-byte ``perf_event_header`` and a u32 size, then the data padded
with zeros so that size field and data end on 8 bytes. The consumer receives
that padded data (as libbpf's sample callback does): 5 bytes written come back
as 12. A ring keeps one byte free (``CIRC_SPACE``), so it holds at most
``buffer_size - 8`` bytes of records; after records were lost, the next record
that fits is preceded by a 24-byte ``PERF_RECORD_LOST`` record. ``lost(cpu)``
counts every lost record. A record bigger than the u16 header size can say is
refused with ``E2BIG`` (the kernel would write a corrupt one).

This module is the map and its consumer side; the helper is in
``ebpy.helpers.events``.

>>> from ebpy.spec import MapSpec
>>> events = PerfEventArray(MapSpec(MapType.PERF_EVENT_ARRAY, 4, 4, 2))
>>> events.output(BPF_F_CURRENT_CPU, b"hello", cpu=1)
0
>>> events.read()
[(1, b'hello\\x00\\x00\\x00\\x00\\x00\\x00\\x00')]
"""

from __future__ import annotations

import errno
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from ebpy.errors import MapError
from ebpy.maps.base import register, round8
from ebpy.maps.prog_array import FD_ARRAY_CREATE_FLAGS, FdArrayMap
from ebpy.uapi import MapCreateFlags, MapType

BPF_F_INDEX_MASK = 0xFFFF_FFFF
BPF_F_CURRENT_CPU = BPF_F_INDEX_MASK
PAGE_SIZE = 4096
DEFAULT_BUFFER_SIZE = 64 * 1024
"""Bytes of ring per CPU unless told otherwise (16 pages)."""
HEADER_SIZE = 8
"""``struct perf_event_header``: u32 type, u16 misc, u16 size."""
LOST_RECORD_SIZE = 24
"""``PERF_RECORD_LOST``: header, u64 id, u64 lost."""
MAX_RECORD_SIZE = 0xFFFF
ANY_CPU = -1
"""``cpu`` of a ring that accepts records from every CPU."""


def sample_size(n: int) -> int:
    """Bytes a raw sample of ``n`` data bytes takes in the ring (header included)."""
    return HEADER_SIZE + round8(4 + n)


@dataclass
class PerfRing:
    """One consumer's ring: what the mmap()ed buffer of a perf event holds."""

    size: int
    cpu: int
    samples: deque[tuple[bytes, bool]] = field(default_factory=deque)
    """Samples not read yet, each with "a ``PERF_RECORD_LOST`` comes before it"."""
    used: int = 0
    """Bytes of records not read yet."""
    lost: int = 0
    """Records lost since the ring was opened."""
    unreported: int = 0
    """Records lost since the last ``PERF_RECORD_LOST`` was written."""

    def free(self) -> int:
        """``CIRC_SPACE``: one byte always stays free."""
        return self.size - 1 - self.used

    def write(self, data: bytes) -> int:
        """Append one sample; 0, or ``-ENOSPC`` when it does not fit (counted as lost)."""
        report = self.unreported > 0
        need = sample_size(len(data)) + (LOST_RECORD_SIZE if report else 0)
        if need > self.free():
            self.lost += 1
            self.unreported += 1
            return -errno.ENOSPC
        self.unreported = 0
        self.used += need
        pad = round8(4 + len(data)) - 4 - len(data)
        self.samples.append((data + bytes(pad), report))
        return 0

    def pop(self) -> bytes | None:
        """The oldest sample (its padded data), consumed; None when empty."""
        if not self.samples:
            return None
        data, report = self.samples.popleft()
        self.used -= sample_size(len(data)) + (LOST_RECORD_SIZE if report else 0)
        return data


def _check_buffer_size(size: int) -> int:
    if size < PAGE_SIZE or size & (size - 1):
        raise MapError("open", errno.EINVAL, "", f"ring size {size} is not a power of 2 pages")
    return size


@register
class PerfEventArray(FdArrayMap):
    """The perf event array and its consumers."""

    map_type = MapType.PERF_EVENT_ARRAY
    create_flags = FD_ARRAY_CREATE_FLAGS | int(MapCreateFlags.PRESERVE_ELEMS)
    has_sys_lookup = False
    default_buffer_size = DEFAULT_BUFFER_SIZE

    def _validate(self) -> None:
        super()._validate()
        self.buffer_size = self.default_buffer_size
        self._auto_open = True
        self._closed: set[int] = set()

    # -- opening and closing consumers ---------------------------------------------
    def _ring(self, index: int) -> PerfRing | None:
        ring = self.slots.get(index)
        auto = self._auto_open and index < self.max_entries and index not in self._closed
        if ring is None and auto:
            ring = PerfRing(self.buffer_size, index)
            self.slots[index] = ring
        return ring if isinstance(ring, PerfRing) else None

    def open(self, index: int, *, cpu: int | None = None, buffer_size: int | None = None) -> None:
        """Open a consumer at ``index``, bound to ``cpu`` (default: ``index``; ``ANY_CPU``: all)."""
        size = _check_buffer_size(self.buffer_size if buffer_size is None else buffer_size)
        with self.lock:
            if not 0 <= index < self.max_entries:
                self._fail("update", errno.E2BIG, "index out of range")
            self._closed.discard(index)
            self.slots[index] = PerfRing(size, index if cpu is None else cpu)

    def open_all(self, *, buffer_size: int | None = None) -> None:
        """Every slot open (lazily), each ring bound to its own index's CPU."""
        size = _check_buffer_size(self.buffer_size if buffer_size is None else buffer_size)
        with self.lock:
            self.buffer_size = size
            self.slots.clear()
            self._closed.clear()
            self._auto_open = True

    def close(self, index: int) -> None:
        """Close the consumer at ``index``: programs then get ``ENOENT`` there."""
        with self.lock:
            self.slots.pop(index, None)
            self._closed.add(index)

    def close_all(self) -> None:
        """No consumer anywhere."""
        with self.lock:
            self.slots.clear()
            self._closed.clear()
            self._auto_open = False

    def is_open(self, index: int) -> bool:
        with self.lock:
            return self._ring(index) is not None

    # -- the syscall face (no perf event fds: the value is ignored) ----------------
    def _get_ptr(self, index: int, fd: int) -> object:
        self._closed.discard(index)
        return PerfRing(self.buffer_size, index)

    def _delete(self, key: bytes) -> None:
        i = self._index(key)
        if i >= self.max_entries:
            self._fail("delete", errno.E2BIG, "index out of range")
        if self._ring(i) is None:
            self._fail("delete", errno.ENOENT, "slot is empty")
        self.close(i)

    def _count(self) -> int:
        if self._auto_open:
            return self.max_entries - len(self._closed)
        return len(self.slots)

    def __iter__(self) -> Iterator[bytes]:
        with self.lock:
            if self._auto_open:
                opened = [i for i in range(self.max_entries) if i not in self._closed]
            else:
                opened = sorted(self.slots)
        for i in opened:
            yield i.to_bytes(4, "little")

    # -- the program face --------------------------------------------------------
    def output(self, index: int, data: bytes, cpu: int = 0) -> int:
        """``bpf_perf_event_output`` into slot ``index``: 0 or ``-errno``."""
        if index == BPF_F_CURRENT_CPU:
            index = cpu
        with self.lock:
            if index >= self.max_entries:
                return -errno.E2BIG
            ring = self._ring(index)
            if ring is None:
                return -errno.ENOENT
            if ring.cpu != ANY_CPU and ring.cpu != cpu:
                return -errno.EOPNOTSUPP
            if sample_size(len(data)) > MAX_RECORD_SIZE:
                return -errno.E2BIG
            return ring.write(bytes(data))

    # -- the consumer side ---------------------------------------------------------
    def records(self, cpu: int | None = None) -> Iterator[tuple[int, bytes]]:
        """Yield and consume ``(index, data)`` samples: of one slot, or of all in index order."""
        with self.lock:
            indexes = [cpu] if cpu is not None else sorted(self.slots)
        for i in indexes:
            while True:
                with self.lock:
                    ring = self.slots.get(i)
                    data = ring.pop() if isinstance(ring, PerfRing) else None
                if data is None:
                    break
                yield i, data

    def read(self, cpu: int | None = None) -> list[tuple[int, bytes]]:
        """Every pending sample (of one slot, or of all), consumed."""
        return list(self.records(cpu))

    def pending(self, cpu: int) -> int:
        """Samples waiting in slot ``cpu``'s ring."""
        with self.lock:
            ring = self.slots.get(cpu)
            return len(ring.samples) if isinstance(ring, PerfRing) else 0

    def lost(self, cpu: int) -> int:
        """Records lost in slot ``cpu``'s ring because it was full."""
        with self.lock:
            ring = self.slots.get(cpu)
            return ring.lost if isinstance(ring, PerfRing) else 0
