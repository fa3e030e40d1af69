"""``BPF_MAP_TYPE_STACK_TRACE``: stacks stored by id, filled by ``bpf_get_stackid``.

The key is a u32 stack id, the value an array of u64 instruction pointers
(``value_size`` a multiple of 8, at most ``MAX_STACK`` = 127 of them, the
default ``kernel.perf_event_max_stack``), zero-padded after the stack. With
``BPF_F_STACK_BUILD_ID`` each entry is a 32-byte ``struct bpf_stack_build_id``
instead; there are no build ids here, so every entry takes the kernel's
fallback form (status ``BPF_STACK_BUILD_ID_IP``, the ip in place of the offset).

Ids come from the kernel's recipe (``kernel/bpf/stackmap.c``): ``jhash2`` of the
stack's u32 words with seed 0, masked to ``n_buckets`` (``max_entries`` rounded
up to a power of 2). A bucket holding another stack is ``EEXIST`` unless
``BPF_F_REUSE_STACKID`` replaces it; ``BPF_F_FAST_STACK_CMP`` trusts an equal
hash. At most ``max_entries`` stacks are stored at once (``ENOMEM`` after,
the kernel's free list being empty). The syscall face has lookup (``ENOENT``
for an empty or too large id), delete (``E2BIG`` past ``n_buckets``) and
``get_next_key``; update is ``EINVAL``; lookup-and-delete copies then deletes
(as Linux 6.18 does; 6.1 said ``ENOTSUPP``).

This module stores stacks; where a stack comes from is the helper's business
(``ebpy.helpers.stacks``).

>>> from ebpy.spec import MapSpec
>>> stacks = StackTraceMap(MapSpec(MapType.STACK_TRACE, 4, 16, 8))
>>> sid = stacks.get_stackid([0xFFFF0001, 0xFFFF0002, 0xFFFF0003], 0)
>>> stacks.get_stackid([0xFFFF0001, 0xFFFF0002, 0xFFFF0003], 0) == sid
True
>>> stacks.lookup_elem(sid.to_bytes(4, "little")).hex()
'0100ffff000000000200ffff00000000'
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from ebpy.isa._intmath import M32, M64
from ebpy.maps.base import register
from ebpy.maps.prog_array import NoBatchMap
from ebpy.uapi import MapCreateFlags, MapType

MAX_STACK = 127
"""``sysctl_perf_event_max_stack``'s default: frames a stack may have."""
BUILD_ID_ENTRY_SIZE = 32
"""``struct bpf_stack_build_id``: s32 status, 20 bytes of build id, u64 offset or ip."""
BUILD_ID_STATUS_IP = 2
"""``BPF_STACK_BUILD_ID_IP``: no build id, the entry holds the raw ip."""

BPF_F_SKIP_FIELD_MASK = 0xFF
BPF_F_USER_STACK = 1 << 8
BPF_F_FAST_STACK_CMP = 1 << 9
BPF_F_REUSE_STACKID = 1 << 10
BPF_F_USER_BUILD_ID = 1 << 11

STACKID_FLAGS = (
    BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_FAST_STACK_CMP | BPF_F_REUSE_STACKID
)
"""The flags ``bpf_get_stackid`` accepts."""

STACK_CREATE_FLAGS = int(
    MapCreateFlags.NUMA_NODE
    | MapCreateFlags.RDONLY
    | MapCreateFlags.WRONLY
    | MapCreateFlags.STACK_BUILD_ID
)
"""``STACK_CREATE_FLAG_MASK``: no program access flags."""


def _rol32(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & M32


def jhash2(words: Sequence[int], initval: int = 0) -> int:
    """Bob Jenkins' lookup3 ``hashword``, as the kernel's ``jhash2`` computes it."""
    a = b = c = (0xDEADBEEF + (len(words) << 2) + initval) & M32
    i, n = 0, len(words)
    while n > 3:
        a = (a + words[i]) & M32
        b = (b + words[i + 1]) & M32
        c = (c + words[i + 2]) & M32
        a = ((a - c) & M32) ^ _rol32(c, 4)
        c = (c + b) & M32
        b = ((b - a) & M32) ^ _rol32(a, 6)
        a = (a + c) & M32
        c = ((c - b) & M32) ^ _rol32(b, 8)
        b = (b + a) & M32
        a = ((a - c) & M32) ^ _rol32(c, 16)
        c = (c + b) & M32
        b = ((b - a) & M32) ^ _rol32(a, 19)
        a = (a + c) & M32
        c = ((c - b) & M32) ^ _rol32(b, 4)
        b = (b + a) & M32
        i, n = i + 3, n - 3
    if n == 0:
        return c
    if n == 3:
        c = (c + words[i + 2]) & M32
    if n >= 2:
        b = (b + words[i + 1]) & M32
    a = (a + words[i]) & M32
    c = ((c ^ b) - _rol32(b, 14)) & M32
    a = ((a ^ c) - _rol32(c, 11)) & M32
    b = ((b ^ a) - _rol32(a, 25)) & M32
    c = ((c ^ b) - _rol32(b, 16)) & M32
    a = ((a ^ c) - _rol32(c, 4)) & M32
    b = ((b ^ a) - _rol32(a, 14)) & M32
    c = ((c ^ b) - _rol32(b, 24)) & M32
    return c


def stack_hash(ips: Sequence[int]) -> int:
    """The hash the kernel files a stack under: ``jhash2`` of its ips as u32 words."""
    words: list[int] = []
    for ip in ips:
        words += (ip & M32, (ip >> 32) & M32)
    return jhash2(words, 0)


def build_id_entries(ips: Sequence[int]) -> bytes:
    """``struct bpf_stack_build_id`` entries for ``ips`` in the no-build-id form."""
    return b"".join(struct.pack("<i20sQ", BUILD_ID_STATUS_IP, bytes(20), ip & M64) for ip in ips)


@dataclass(frozen=True, slots=True)
class _Bucket:
    hash: int
    nr: int
    data: bytes


@register
class StackTraceMap(NoBatchMap):
    """Stack ids to stacks."""

    map_type = MapType.STACK_TRACE
    value_writable = False

    create_flags = STACK_CREATE_FLAGS

    def _validate(self) -> None:
        self._check_create()
        if self.max_entries <= 0 or self.key_size != 4 or self.value_size < 8:
            self._fail("create", errno.EINVAL, "key must be 4 bytes, value at least 8")
        if self.value_size % 8:
            self._fail("create", errno.EINVAL, "value_size must be a multiple of 8")
        self.build_id = bool(self.flags & MapCreateFlags.STACK_BUILD_ID)
        self.entry_size = BUILD_ID_ENTRY_SIZE if self.build_id else 8
        if self.value_size % self.entry_size or self.value_size // self.entry_size > MAX_STACK:
            self._fail("create", errno.EINVAL, f"value_size {self.value_size} out of range")
        self.max_depth = self.value_size // self.entry_size
        self.n_buckets = 1 << (self.max_entries - 1).bit_length()
        self.buckets: dict[int, _Bucket] = {}

    # -- the program face -------------------------------------------------------------
    def get_stackid(self, stack: Sequence[int], flags: int) -> int:
        """``bpf_get_stackid`` for a task whose stack (innermost first) is ``stack``.

        Returns the id, or ``-EINVAL`` (bad flags), ``-EFAULT`` (nothing left after
        skipping), ``-EEXIST`` (bucket taken, no ``BPF_F_REUSE_STACKID``), ``-ENOMEM``.
        """
        if flags & ~STACKID_FLAGS:
            return -errno.EINVAL
        skip = flags & BPF_F_SKIP_FIELD_MASK
        trace = list(stack[: min(self.max_depth + skip, MAX_STACK)])
        if len(trace) <= skip:
            return -errno.EFAULT
        ips = [ip & M64 for ip in trace[skip:]]
        h = stack_hash(ips)
        sid = h & (self.n_buckets - 1)
        data = build_id_entries(ips) if self.build_id else struct.pack(f"<{len(ips)}Q", *ips)
        with self.lock:
            old = self.buckets.get(sid)
            matches = old is not None and old.hash == h
            if matches and flags & BPF_F_FAST_STACK_CMP:
                return sid
            if matches and old is not None and old.nr == len(ips) and old.data == data:
                return sid
            if old is not None and not flags & BPF_F_REUSE_STACKID:
                return -errno.EEXIST
            if old is None and len(self.buckets) >= self.max_entries:
                return -errno.ENOMEM
            self.buckets[sid] = _Bucket(h, len(ips), data)
            return sid

    def prog_lookup(self, key: bytes, cpu: int = 0) -> int | None:
        return None

    def prog_keys(self, cpu: int = 0) -> list[bytes]:
        return []

    # -- the syscall face ---------------------------------------------------------
    def _id(self, key: bytes) -> int:
        return int.from_bytes(key, "little")

    def _lookup(self, key: bytes) -> bytes:
        bucket = self.buckets.get(self._id(key))
        if bucket is None:
            raise self._error("lookup", errno.ENOENT)
        return bucket.data + bytes(self.value_size - len(bucket.data))

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        self._fail("update", errno.EINVAL, "stacks are stored by bpf_get_stackid only")

    def _delete(self, key: bytes) -> None:
        sid = self._id(key)
        if sid >= self.n_buckets:
            self._fail("delete", errno.E2BIG, "stack id out of range")
        if self.buckets.pop(sid, None) is None:
            self._fail("delete", errno.ENOENT)

    def _next_key(self, key: bytes | None) -> bytes:
        sid = 0
        if key is not None:
            sid = self._id(key)
            sid = sid + 1 if sid in self.buckets else 0
        later = [i for i in self.buckets if i >= sid]
        if not later:
            raise self._error("get_next_key", errno.ENOENT)
        return min(later).to_bytes(4, "little")

    def _lookup_and_delete(self, key: bytes | None) -> bytes:
        if key is None:
            raise self._error("lookup_and_delete", errno.EINVAL)
        value = self._lookup(key)
        self.buckets.pop(self._id(key), None)
        return value

    def _count(self) -> int:
        return len(self.buckets)

    def stacks(self) -> dict[int, list[int]]:
        """Every stored stack by id, as lists of ips (a Python convenience)."""
        with self.lock:
            out: dict[int, list[int]] = {}
            for sid, b in sorted(self.buckets.items()):
                if self.build_id:
                    out[sid] = [
                        struct.unpack_from("<Q", b.data, i * BUILD_ID_ENTRY_SIZE + 24)[0]
                        for i in range(b.nr)
                    ]
                else:
                    out[sid] = list(struct.unpack_from(f"<{b.nr}Q", b.data))
            return out
