"""BPF_MAP_TYPE_BLOOM_FILTER: a set of values that may answer "maybe" for a value never added.

There are no keys (key_size 0) and no elements to read back: a push adds a
value, a peek tests one. ``map_extra`` (``MapSpec.extra``) is the number of hash
functions, 1..15 (0 means the default, 5). Not a hash map, not a queue.

What holds, as in the kernel: no false negatives (a value pushed is always
found). What does not: the kernel hashes values with ``jhash`` and a random seed,
which we do not reproduce bit for bit, so false positives (a value never pushed
that tests as present) differ from the kernel's; even with ``BPF_F_ZERO_SEED``
only our own runs are reproducible. We hash with BLAKE2b (seeded) and derive the
``k`` bit positions by double hashing.

Layout of ``buf``: the bit array, bit ``i`` in byte ``i // 8`` at bit ``i % 8``.
Its size follows the kernel's rule (``max_entries * k * 7 / 5`` bits, rounded up
to a power of two, at least 64) but stops at 2**27 bits (16 MiB), where the
kernel would go on to 2**32; programs get no pointer into it.

Semantics (checked against the running kernel):

* create: key_size 0, value_size and max_entries > 0, flags only
  ``BPF_F_NUMA_NODE``, ``BPF_F_ZERO_SEED`` and the access flags, ``map_extra``
  0..15, else EINVAL, but a value above 4 MiB is E2BIG before all that;
* push (syscall update with key ``None``, ``bpf_map_push_elem``): flags must be
  ``BPF_ANY`` (EINVAL otherwise); the filter never fills up;
* peek (syscall lookup with key ``None`` and ``value=``, ``bpf_map_peek_elem``):
  0 (the value is returned by the syscall face) or ENOENT; no flags;
* delete and get_next_key are EOPNOTSUPP, lookup_and_delete and the batches
  ENOTSUPP (524); programs: lookup NULL, update EINVAL, delete and pop EOPNOTSUPP.

``value in bloom`` tests a value; ``len()`` is 0 (nothing can be listed).

>>> from ebpy.spec import MapSpec
>>> from ebpy.uapi import MapType
>>> b = BloomFilterMap(MapSpec(MapType.BLOOM_FILTER, 0, 4, 100, extra=3))
>>> b.push_elem(b"abcd")
>>> b"abcd" in b, b.prog_peek(b"abcd")
(True, 0)
>>> b.nhashes, len(b.buf) * 8
(3, 512)
"""

from __future__ import annotations

import errno
import hashlib
import random
from collections.abc import Iterable

from ebpy.maps._hashtable import KMALLOC_MAX_SIZE, CoreMap
from ebpy.maps.base import ACCESS_MASK, ANY, U32_MAX, as_bytes, register
from ebpy.uapi import MapCreateFlags, MapType

CREATE_FLAG_MASK = int(MapCreateFlags.NUMA_NODE | MapCreateFlags.ZERO_SEED) | ACCESS_MASK

DEFAULT_HASHES = 5
MAX_BITS = 1 << 27
"""The bit array stops growing here (the kernel's goes up to 2**32 bits)."""


def bit_count(max_entries: int, nhashes: int) -> int:
    """Bits of the kernel's bit array for ``max_entries`` values and ``nhashes``
    hash functions, capped at ``MAX_BITS``."""
    bits = max_entries * nhashes
    if bits > U32_MAX or (bits // 5) * 7 > U32_MAX:
        return MAX_BITS
    bits = (bits // 5) * 7
    if bits > 1 << 31:
        return MAX_BITS
    bits = 64 if bits <= 64 else 1 << (bits - 1).bit_length()
    return min(bits, MAX_BITS)


@register
class BloomFilterMap(CoreMap):
    """BPF_MAP_TYPE_BLOOM_FILTER (see the module docstring)."""

    map_type = MapType.BLOOM_FILTER
    value_writable = False

    def _validate(self) -> None:
        self._check_common(extra_ok=True)
        if self.value_size > KMALLOC_MAX_SIZE:
            self._fail("create", errno.E2BIG, "value_size too large")
        both = MapCreateFlags.RDONLY_PROG | MapCreateFlags.WRONLY_PROG
        if (
            self.key_size
            or not self.value_size
            or not self.max_entries
            or self.flags & ~CREATE_FLAG_MASK
            or self.flags & both == both
            or self.spec.extra & ~0xF
        ):
            self._fail("create", errno.EINVAL, "key_size 0, value_size > 0, map_extra 0..15")
        self.nhashes = self.spec.extra or DEFAULT_HASHES
        """How many bits each value sets."""
        self.nbits = bit_count(self.max_entries, self.nhashes)
        seed = 0 if self.flags & MapCreateFlags.ZERO_SEED else random.getrandbits(32)
        self._key = seed.to_bytes(4, "little")
        self.buf.extend(bytes(self.nbits // 8))

    # -- the filter ---------------------------------------------------------------
    def _bits(self, value: bytes) -> list[int]:
        digest = hashlib.blake2b(value, digest_size=16, key=self._key).digest()
        h1 = int.from_bytes(digest[:8], "little")
        h2 = int.from_bytes(digest[8:], "little") | 1
        mask = self.nbits - 1
        return [(h1 + i * h2) & mask for i in range(self.nhashes)]

    def _add(self, value: bytes) -> None:
        buf = self.buf
        for bit in self._bits(value):
            buf[bit >> 3] |= 1 << (bit & 7)

    def _test(self, value: bytes) -> bool:
        buf = self.buf
        return all(buf[bit >> 3] >> (bit & 7) & 1 for bit in self._bits(value))

    # -- the syscall face ---------------------------------------------------------
    def _check_key(self, op: str, key: object) -> bytes:
        if key is None or (isinstance(key, bytes | bytearray | memoryview) and not len(key)):
            return b""
        raise self._error(op, errno.EINVAL, "bloom filters have no keys")

    def lookup_elem(
        self, key: bytes | None = None, flags: int = 0, *, value: bytes | None = None
    ) -> bytes:
        """``BPF_MAP_LOOKUP_ELEM``: test ``value``; returns it when it may be present,
        ``MapError`` ENOENT when it is not.

        As the filter has no keys, a non-empty ``key`` with no ``value`` is taken as
        the value to test (``lookup_elem(v)``); with neither, zeros are tested (what
        an untouched kernel buffer holds).
        """
        op = "lookup"
        with self.lock:
            if value is None and key is not None and as_bytes(key):
                key, value = None, key
            self._check_key(op, key)
            data = bytes(self.value_size) if value is None else self._check_value(op, value)
            flags = self._check_flag_bits(op, flags)
            self._check_read(op)
            self._check_spin(op, flags)
            if not self._test(data):
                raise self._error(op, errno.ENOENT)
            return data

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        if flags != ANY:
            self._fail("update", errno.EINVAL, f"bad flags {flags!r}")
        self._add(value)

    def _delete(self, key: bytes) -> None:
        self._fail("delete", errno.EOPNOTSUPP, "bloom filters cannot delete")

    def _next_key(self, key: bytes | None) -> bytes:
        raise self._error("get_next_key", errno.EOPNOTSUPP, "bloom filters have no keys")

    def _count(self) -> int:
        return 0

    def __contains__(self, value: object) -> bool:
        data = value if isinstance(value, bytes | bytearray | memoryview) else None
        if data is None or len(data) != self.value_size:
            return False
        with self.lock:
            return self._test(bytes(data))

    def push_elem(self, value: bytes, flags: int = ANY) -> None:
        """Add ``value`` from user space (``update_elem(None, value, flags)``)."""
        self.update_elem(None, value, flags)

    def lookup_batch(
        self, start: bytes | None, count: int, *, delete: bool = False
    ) -> tuple[list[tuple[bytes, bytes]], bytes | None]:
        """No batches for bloom filters: ENOTSUPP."""
        with self.lock:
            op = "lookup_and_delete_batch" if delete else "lookup_batch"
            raise self._no_batch(op, read=True, write=delete)

    def update_batch(self, items: Iterable[tuple[bytes, bytes]], flags: int = ANY) -> int:
        """No batches for bloom filters: ENOTSUPP."""
        with self.lock:
            raise self._no_batch("update_batch", write=True)

    def delete_batch(self, keys: Iterable[bytes]) -> int:
        """No batches for bloom filters: ENOTSUPP."""
        with self.lock:
            raise self._no_batch("delete_batch", write=True)

    # -- the program face ---------------------------------------------------------
    def prog_lookup(self, key: bytes, cpu: int = 0) -> int | None:
        return None

    def prog_update(self, key: bytes, value: bytes, flags: int, cpu: int = 0) -> int:
        return -errno.EINVAL

    def prog_delete(self, key: bytes) -> int:
        return -errno.EOPNOTSUPP

    def prog_push(self, value: bytes, flags: int) -> int:
        """``bpf_map_push_elem``: add ``value``; ``-EINVAL`` unless flags is 0."""
        if flags != ANY or len(value) != self.value_size:
            return -errno.EINVAL
        with self.lock:
            self._add(bytes(value))
        return 0

    def prog_pop(self, cpu: int = 0) -> bytes | int:
        return -errno.EOPNOTSUPP

    def prog_peek(self, value: bytes, cpu: int = 0) -> bytes | int:
        """``bpf_map_peek_elem``: 0 when ``value`` may be present, else ``-ENOENT``."""
        if len(value) != self.value_size:
            return -errno.EINVAL
        with self.lock:
            return 0 if self._test(bytes(value)) else -errno.ENOENT

    def prog_keys(self, cpu: int = 0) -> list[bytes]:
        return []
