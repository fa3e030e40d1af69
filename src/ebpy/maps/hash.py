"""BPF_MAP_TYPE_HASH: a hash table of at most ``max_entries`` elements.

The table itself (slots, iteration, flags, errors) is ``ebpy.maps._hashtable``;
this module adds what only the plain hash map has: the ``bpf_spin_lock`` that
``BPF_F_LOCK`` needs. Not the per-CPU or LRU variants (``percpu_hash``,
``lru_hash``, ``lru_percpu_hash``).

Layout of ``buf``: one slot per element, ``round8(value_size)`` bytes each, slot
``s`` at ``s * round8(value_size)``; the value a program gets a pointer to is the
first ``value_size`` bytes of its slot and stays there while the element lives.
Slots are handed out from a free list and ``buf`` grows in place as needed.

Semantics (Linux 6.1, checked against the running kernel in
``tests/kernel/test_maps_probe.py``):

* create: ``BPF_F_NO_PREALLOC``, ``BPF_F_NUMA_NODE``, ``BPF_F_ZERO_SEED`` and the
  access flags are accepted, anything else is EINVAL, as are zero sizes;
  ``key_size + value_size >= 4 MiB - 48`` is E2BIG, and so is ``max_entries``
  above 2**27 (the bucket array would not fit a u32 size);
* update: flags other than ``BPF_ANY``/``BPF_NOEXIST``/``BPF_EXIST`` (plus
  ``BPF_F_LOCK`` when the value has a spin lock) are EINVAL; EEXIST for NOEXIST on
  an existing key, ENOENT for EXIST on a missing one, E2BIG when a new key finds
  the table full (an existing key can always be updated);
* lookup, delete and lookup_and_delete (Linux 5.14+) give ENOENT for a missing key;
* get_next_key of ``None`` or of a missing key is the first key, ENOENT after
  the last one (insertion order here; the kernel's order is its buckets').

With ``spin_lock_offset`` set (what BTF would tell), the 4 bytes of the
``struct bpf_spin_lock`` belong to the kernel: updates keep them (new elements
start with them zero), syscall lookups return them as zero, and ``BPF_F_LOCK``
is accepted. Without it ``BPF_F_LOCK`` is EINVAL, as in the kernel for a value
without a spin lock.

>>> from ebpy.spec import MapSpec
>>> from ebpy.uapi import MapType
>>> m = HashMap(MapSpec(MapType.HASH, 4, 8, 2, name="counts"))
>>> m[b"\\x01\\x00\\x00\\x00"] = bytes(8)
>>> m[b"\\x02\\x00\\x00\\x00"] = bytes(range(8))
>>> [k.hex() for k in m]
['01000000', '02000000']
>>> try:
...     m[b"\\x03\\x00\\x00\\x00"] = bytes(8)
... except Exception as e:
...     print(type(e).__name__, e.errno == errno.E2BIG)
MapError True
>>> m.prog_lookup(b"\\x02\\x00\\x00\\x00")  # the value's offset in m.buf
8
"""

from __future__ import annotations

import errno

from ebpy.maps._hashtable import HashTable
from ebpy.maps.base import EXIST, F_LOCK, register
from ebpy.uapi import MapType

SPIN_LOCK_SIZE = 4
"""``sizeof(struct bpf_spin_lock)``."""


@register
class HashMap(HashTable):
    """BPF_MAP_TYPE_HASH (see the module docstring)."""

    map_type = MapType.HASH

    def set_spin_lock(self, offset: int | None) -> None:
        """Say where the value's ``struct bpf_spin_lock`` is (None: it has none).

        The lock is 4 bytes, 4-aligned, inside the value; else EINVAL (as the
        kernel's BTF check refuses such a value).
        """
        with self.lock:
            if offset is not None and (
                offset < 0 or offset % 4 or offset + SPIN_LOCK_SIZE > self.value_size
            ):
                self._fail("create", errno.EINVAL, f"no room for a spin lock at {offset}")
            self.spin_lock_offset = offset

    def _check_update_flags(self, op: str, flags: int) -> None:
        if not isinstance(flags, int) or flags < 0 or flags & ~F_LOCK > EXIST:
            self._fail(op, errno.EINVAL, f"bad flags {flags!r}")
        self._check_spin(op, flags)

    def _write(self, off: int, value: bytes, fresh: bool, cpu: int | None) -> None:
        lock = self.spin_lock_offset
        if lock is None:
            self.buf[off : off + self.value_size] = value
            return
        at = off + lock
        kept = bytes(SPIN_LOCK_SIZE) if fresh else bytes(self.buf[at : at + SPIN_LOCK_SIZE])
        self.buf[off : off + self.value_size] = value
        self.buf[at : at + SPIN_LOCK_SIZE] = kept

    def _read(self, off: int) -> bytes:
        value = bytearray(self.buf[off : off + self.value_size])
        lock = self.spin_lock_offset
        if lock is not None:
            value[lock : lock + SPIN_LOCK_SIZE] = bytes(SPIN_LOCK_SIZE)
        return bytes(value)
