"""``BPF_MAP_TYPE_RINGBUF``: one ring shared by all CPUs, records written in place.

``max_entries`` is the size of the data area: a power of 2 and a multiple of
the page size (4096), else ``EINVAL``; ``key_size`` and ``value_size`` must be
0; the only flag is ``BPF_F_NUMA_NODE``. The syscall face has no elements:
lookup, update, delete and ``get_next_key`` are ``ENOTSUPP`` (524).

Positions and records are the kernel's (``kernel/bpf/ringbuf.c``): the
producer and consumer positions only grow; a record sits at ``pos & mask``,
an 8-byte header (u32 ``len`` with ``BPF_RINGBUF_BUSY_BIT`` while reserved and
``BPF_RINGBUF_DISCARD_BIT`` once discarded; u32 ``pg_off``, the page of the
header counted from the start of the kernel's ``struct bpf_ringbuf``, whose data
begins at page ``DATA_PGOFF``) and ``len`` bytes of data, rounded up to 8. A
reservation fails (``NULL``; ``-EAGAIN`` for ``ringbuf_output``) when the
producer would get ``size`` or more bytes ahead of the consumer.

Layout of ``buf``: ``2 * size`` bytes. The kernel maps the data pages twice in
a row so that a record that wraps past the end is contiguous; here the second
half plays that part: a program writes a wrapping record straight on through
``buf[size:]``, and on submit (or discard) the wrapped tail is copied back to
the front, where the consumer (and the next round of records) finds it. Headers
always start in the first half.

The consumer side (``records()``, ``consume()``, ``poll()``) reads submitted
records in order, skips discarded ones, stops at a busy one and advances the
consumer position as libbpf's ``ring_buffer__consume`` does. ``wakeups``
counts the notifications the kernel would send (the consumer had caught up with
the record, or ``BPF_RB_FORCE_WAKEUP``; never with ``BPF_RB_NO_WAKEUP``).
The helpers are in ``ebpy.helpers.events``.

>>> from ebpy.spec import MapSpec
>>> rb = RingBuf(MapSpec(MapType.RINGBUF, 0, 0, 4096))
>>> rb.output(b"abc")
0
>>> rb.query(BPF_RB_PROD_POS), rb.consume(), rb.query(BPF_RB_CONS_POS)
(16, [b'abc'], 16)
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Callable, Iterator

from ebpy.maps.base import ENOTSUPP, register
from ebpy.maps.prog_array import NoBatchMap
from ebpy.uapi import MapCreateFlags, MapType

PAGE_SIZE = 4096
HDR_SIZE = 8
BUSY_BIT = 1 << 31
DISCARD_BIT = 1 << 30
DATA_PGOFF = 3
"""Page of the data area in ``struct bpf_ringbuf``: one page of bookkeeping
(``RINGBUF_PGOFF``), then the consumer and producer position pages."""
MAX_RECORD_SIZE = 0xFFFF_FFFF // 4
"""``RINGBUF_MAX_RECORD_SZ``."""
MAX_DATA_SIZE = ((1 << 24) - 2 - 1) * PAGE_SIZE
"""``RINGBUF_MAX_DATA_SZ``: larger rings are ``E2BIG``."""
USERSPACE_LIMIT = 1 << 28
"""Largest ring made here (twice this in memory); larger ones are ``ENOMEM``."""

BPF_RB_NO_WAKEUP = 1
BPF_RB_FORCE_WAKEUP = 2
BPF_RB_AVAIL_DATA = 0
BPF_RB_RING_SIZE = 1
BPF_RB_CONS_POS = 2
BPF_RB_PROD_POS = 3

_HDR = struct.Struct("<II")


def record_size(n: int) -> int:
    """Bytes a record of ``n`` data bytes takes in the ring (header included)."""
    return (n + HDR_SIZE + 7) & ~7


@register
class RingBuf(NoBatchMap):
    """The ring buffer map: producers reserve/commit, one consumer reads."""

    map_type = MapType.RINGBUF
    value_writable = True  # programs write their reserved records in place

    create_flags = int(MapCreateFlags.NUMA_NODE)

    def _validate(self) -> None:
        self._check_create()
        if self.key_size or self.value_size:
            self._fail("create", errno.EINVAL, "ring buffers have no keys or values")
        size = self.max_entries
        if size <= 0 or size & (size - 1) or size % PAGE_SIZE:
            self._fail("create", errno.EINVAL, "size must be a power of 2 of whole pages")
        if size > MAX_DATA_SIZE:
            self._fail("create", errno.E2BIG, "ring too large")
        if size > USERSPACE_LIMIT:
            self._fail("create", errno.ENOMEM, "ring too large for a userspace map")
        self.size = size
        self.mask = size - 1
        self.buf = bytearray(2 * size)
        self.consumer_pos = 0
        self.producer_pos = 0
        self.wakeups = 0
        """Notifications a consumer waiting in epoll would have received."""

    # -- the syscall face: nothing but ENOTSUPP --------------------------------------
    def _lookup(self, key: bytes) -> bytes:
        raise self._error("lookup", ENOTSUPP)

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        raise self._error("update", ENOTSUPP)

    def _delete(self, key: bytes) -> None:
        raise self._error("delete", ENOTSUPP)

    def _next_key(self, key: bytes | None) -> bytes:
        raise self._error("get_next_key", ENOTSUPP)

    def _lookup_and_delete(self, key: bytes | None) -> bytes:
        raise self._error("lookup_and_delete", ENOTSUPP)

    def _count(self) -> int:
        return 0

    def prog_keys(self, cpu: int = 0) -> list[bytes]:
        return []

    # -- the producer side (what the helpers call) ----------------------------------
    def reserve(self, size: int) -> int | None:
        """Reserve a record of ``size`` bytes: the offset of its data in ``buf``, or None."""
        if size > MAX_RECORD_SIZE:
            return None
        length = record_size(size)
        with self.lock:
            if length > self.size:
                return None
            new_pos = self.producer_pos + length
            if new_pos - self.consumer_pos > self.mask:
                return None
            hdr = self.producer_pos & self.mask
            _HDR.pack_into(self.buf, hdr, size | BUSY_BIT, DATA_PGOFF + (hdr >> 12))
            self.producer_pos = new_pos
            return hdr + HDR_SIZE

    def is_reserved(self, offset: int) -> bool:
        """Whether ``offset`` is the data of a record reserved and not yet committed."""
        hdr = offset - HDR_SIZE
        if hdr < 0 or hdr >= self.size or hdr % 8:
            return False
        length, pg_off = _HDR.unpack_from(self.buf, hdr)
        return bool(length & BUSY_BIT) and pg_off == DATA_PGOFF + (hdr >> 12)

    def commit(self, offset: int, flags: int = 0, *, discard: bool = False) -> None:
        """Submit (or discard) the record whose data is at ``offset``.

        ``MapError(EINVAL)`` when ``offset`` is not a reserved record (the kernel's
        verifier makes that impossible).
        """
        with self.lock:
            if not self.is_reserved(offset):
                self._fail("ringbuf_commit", errno.EINVAL, f"no reserved record at {offset}")
            hdr = offset - HDR_SIZE
            length = _HDR.unpack_from(self.buf, hdr)[0] ^ BUSY_BIT
            end = hdr + record_size(length)
            if end > self.size:  # the record wrapped: its tail belongs at the front
                self.buf[: end - self.size] = self.buf[self.size : end]
            if discard:
                length |= DISCARD_BIT
            struct.pack_into("<I", self.buf, hdr, length)
            caught_up = self.consumer_pos & self.mask == hdr
            if flags & BPF_RB_FORCE_WAKEUP or (caught_up and not flags & BPF_RB_NO_WAKEUP):
                self.wakeups += 1

    def output(self, data: bytes, flags: int = 0) -> int:
        """``bpf_ringbuf_output``: copy ``data`` into a new record; 0 or ``-errno``."""
        if flags & ~(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP):
            return -errno.EINVAL
        with self.lock:
            off = self.reserve(len(data))
            if off is None:
                return -errno.EAGAIN
            self.buf[off : off + len(data)] = data
            self.commit(off, flags)
        return 0

    def query(self, what: int) -> int:
        """``bpf_ringbuf_query``: ``BPF_RB_AVAIL_DATA``, ``RING_SIZE``, ``CONS_POS``, ``PROD_POS``."""
        with self.lock:
            if what == BPF_RB_AVAIL_DATA:
                return self.producer_pos - self.consumer_pos
            if what == BPF_RB_RING_SIZE:
                return self.size
            if what == BPF_RB_CONS_POS:
                return self.consumer_pos
            if what == BPF_RB_PROD_POS:
                return self.producer_pos
            return 0

    @property
    def avail_data(self) -> int:
        """Bytes between the consumer and the producer (records not consumed yet)."""
        return self.query(BPF_RB_AVAIL_DATA)

    # -- the consumer side ---------------------------------------------------------
    def _data(self, off: int, n: int) -> bytes:
        end = off + n
        if end <= self.size:
            return bytes(self.buf[off:end])
        return bytes(self.buf[off : self.size]) + bytes(self.buf[: end - self.size])

    def records(self) -> Iterator[bytes]:
        """Yield committed records in order, advancing the consumer position past each
        (and past discarded ones); stop at the first record still reserved."""
        while True:
            with self.lock:
                data = self._next_record()
            if data is None:
                return
            yield data

    def _next_record(self) -> bytes | None:
        while self.consumer_pos < self.producer_pos:
            hdr = self.consumer_pos & self.mask
            length = _HDR.unpack_from(self.buf, hdr)[0]
            if length & BUSY_BIT:
                return None
            n = length & ~(BUSY_BIT | DISCARD_BIT)
            self.consumer_pos += record_size(n)
            if not length & DISCARD_BIT:
                return self._data((hdr + HDR_SIZE) & self.mask, n)
        return None

    def consume(self) -> list[bytes]:
        """Every record ready now, consumed."""
        return list(self.records())

    def poll(self, callback: Callable[[bytes], object] | None = None) -> int:
        """Consume the ready records, calling ``callback`` on each; how many there were."""
        n = 0
        for data in self.records():
            n += 1
            if callback is not None:
                callback(data)
        return n

    def header(self, pos: int) -> tuple[int, int]:
        """The raw (``len``, ``pg_off``) header of the record at position ``pos``."""
        with self.lock:
            hdr: tuple[int, int] = _HDR.unpack_from(self.buf, pos & self.mask)
            return hdr
