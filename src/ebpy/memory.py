"""Typed, bounds-checked memory for the interpreter.

Every region (stack frame, context, packet, map value, read-only data, plain
memory) lives in its own 4 GiB slot of a 64-bit address space: its base is
``slot << 32``, so an address names its region by ``addr >> 32`` and its
offset by ``addr & 0xFFFFFFFF``. Address 0 (NULL) is never mapped. Readable
and writable buffers sit in two plain dicts keyed by slot, which compiled code
reaches directly; helpers and tests use ``read``/``write`` here.

This module holds memory (shared by the VM, the program types that lay out
contexts and packets, and the helpers that change them); it does not execute
instructions or decide which
program may touch which region (that is the verifier's and program type's job).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ebpy.errors import MemoryAccessError

SLOT_SHIFT = 32
SLOT_MASK = (1 << SLOT_SHIFT) - 1
MAP_SLOT_BASE = 0x4000_0000
"""Maps own slots from here up (one per map, for the map's whole life); a run's own
regions (context, packet, memory) take slots from 1 up, stacks sit at the top."""


class RegionKind(enum.Enum):
    STACK = "stack"
    CONTEXT = "ctx"
    PACKET = "packet"
    MAP_VALUE = "map_value"
    RODATA = "rodata"
    MEMORY = "mem"


@dataclass(slots=True)
class Region:
    """One mapped buffer."""

    kind: RegionKind
    name: str
    slot: int
    buf: bytearray
    writable: bool

    @property
    def base(self) -> int:
        return self.slot << SLOT_SHIFT

    @property
    def size(self) -> int:
        return len(self.buf)

    @property
    def end(self) -> int:
        return self.base + len(self.buf)


class AddressSpace:
    """The regions one program run can see.

    >>> space = AddressSpace()
    >>> r = space.map(RegionKind.MEMORY, b"abcd")
    >>> space.read(r.base + 1, 2)
    b'bc'
    """

    def __init__(self, first_slot: int = 1) -> None:
        self.regions: dict[int, Region] = {}
        self.readable: dict[int, bytearray] = {}
        self.writable: dict[int, bytearray] = {}
        self._next = first_slot
        self._scratch: dict[int, Region] = {}

    def map(
        self,
        kind: RegionKind,
        data: bytes | bytearray,
        *,
        writable: bool = True,
        name: str | None = None,
        share: bool = False,
    ) -> Region:
        """Map ``data`` in a fresh slot. With ``share`` a bytearray is used in place."""
        buf = data if share and isinstance(data, bytearray) else bytearray(data)
        region = Region(kind, name or kind.value, self._next, buf, writable)
        self._next += 1
        self.regions[region.slot] = region
        self.readable[region.slot] = buf
        if writable:
            self.writable[region.slot] = buf
        return region

    def attach(self, region: Region) -> None:
        """Map an existing region at its own (reserved) slot."""
        self.regions[region.slot] = region
        self.readable[region.slot] = region.buf
        if region.writable:
            self.writable[region.slot] = region.buf

    def map_scratch(self, size: int) -> int:
        """Address of a fresh writable scratch buffer of ``size`` bytes (for helpers
        that hand pointers to callbacks); reused within a run."""
        scratch = self._scratch.get(size)
        if scratch is None:
            scratch = self.map(RegionKind.MEMORY, bytes(size), name="scratch")
            self._scratch[size] = scratch
        return scratch.base

    def replace(self, region: Region, buf: bytearray) -> None:
        """Give ``region`` a new buffer (a packet that grew or shrank) at the same slot."""
        region.buf = buf
        if region.slot in self.regions:
            self.readable[region.slot] = buf
            if region.writable:
                self.writable[region.slot] = buf

    def unmap(self, region: Region) -> None:
        self.regions.pop(region.slot, None)
        self.readable.pop(region.slot, None)
        self.writable.pop(region.slot, None)

    def region_at(self, addr: int) -> Region | None:
        """The region whose slot holds ``addr`` (even when past its end)."""
        return self.regions.get(addr >> SLOT_SHIFT)

    def fault(self, addr: int, size: int, write: bool, pc: int | None = None) -> MemoryAccessError:
        """The error for a bad access at ``addr`` (not raised here)."""
        region = self.region_at(addr)
        return MemoryAccessError(pc, addr, size, region.name if region else None, write)

    def _locate(self, addr: int, size: int, write: bool) -> tuple[bytearray, int]:
        table = self.writable if write else self.readable
        buf = table.get(addr >> SLOT_SHIFT)
        off = addr & SLOT_MASK
        if buf is None or size < 0 or off + size > len(buf):
            raise self.fault(addr, size, write)
        return buf, off

    def read(self, addr: int, size: int) -> bytes:
        """Copy ``size`` bytes at ``addr``; MemoryAccessError when out of bounds."""
        buf, off = self._locate(addr, size, False)
        return bytes(buf[off : off + size])

    def read_cstr(self, addr: int, limit: int) -> bytes:
        """Read a NUL-terminated string of at most ``limit`` bytes (NUL excluded)."""
        buf, off = self._locate(addr, 1, False)
        end = min(len(buf), off + limit)
        nul = buf.find(0, off, end)
        if nul < 0:
            if end - off < limit and end == len(buf):
                raise self.fault(addr, limit, False)
            nul = end
        return bytes(buf[off:nul])

    def write(self, addr: int, data: bytes) -> None:
        """Store ``data`` at ``addr``; MemoryAccessError when out of bounds or read-only."""
        buf, off = self._locate(addr, len(data), True)
        buf[off : off + len(data)] = data
