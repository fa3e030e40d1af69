"""What every program type says about its programs, and the registry of types.

A program type knows its context: the fields of the uapi struct a program sees
(``struct xdp_md``, ``struct __sk_buff`` ...), which of them may be read or
written and at what sizes, and which hold pointers. In the VM the context is
one buffer: the uapi struct as it is (so ``ctx_out`` is a plain copy), then one
u64 "shadow" slot per pointer field, appended in field order at
``round8(ctx_size)``. A program's 32-bit load of a pointer field is turned, once
at load time, into a 64-bit load of its shadow slot (``access``), as the kernel
rewrites context accesses to the real ``struct sk_buff``.

A type also knows the helpers its programs may call, the names of its return
values, and how ``BPF_PROG_TEST_RUN`` builds the context and packet from
``data_in``/``ctx_in`` and gives back ``data_out``/``ctx_out`` (``prepare`` and
``finish``). This module is the base and the registry; each type has its own
module. It does not run programs (``ebpy.vm``) nor implement helpers.
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from ebpy.errors import ContextAccessError, TestRunError
from ebpy.memory import AddressSpace, Region, RegionKind
from ebpy.uapi import ProgType


@dataclass(frozen=True, slots=True)
class CtxField:
    """One field of a context struct.

    ``narrow``: loads of 1, 2 (or 4) bytes inside the field are allowed;
    ``pointer``: the field is a pointer (``data``, ``data_end`` ...), loaded as a
    whole with a 32-bit (or 64-bit) load and read from its shadow slot.
    """

    name: str
    offset: int
    size: int
    read: bool = True
    write: bool = False
    narrow: bool = True
    pointer: bool = False

    @property
    def end(self) -> int:
        return self.offset + self.size


def round8(n: int) -> int:
    return (n + 7) & ~7


@dataclass
class RunState:
    """One run's context (and whatever the type adds: packet, ...).

    ``ctx`` is the context buffer mapped at ``ctx_region``; pointer fields are set
    with ``set_pointer``, plain fields with ``set_u32``/``set_u64``.
    """

    info: ProgTypeInfo
    memory: AddressSpace
    ctx_region: Region
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ctx(self) -> bytearray:
        return self.ctx_region.buf

    @property
    def ctx_addr(self) -> int:
        return self.ctx_region.base

    def set_pointer(self, name: str, addr: int) -> None:
        struct.pack_into("<Q", self.ctx, self.info.shadow_offset(name), addr)

    def get_pointer(self, name: str) -> int:
        value: int = struct.unpack_from("<Q", self.ctx, self.info.shadow_offset(name))[0]
        return value

    def set_u32(self, name: str, value: int) -> None:
        struct.pack_into("<I", self.ctx, self.info.field(name).offset, value & 0xFFFFFFFF)

    def get_u32(self, name: str) -> int:
        value: int = struct.unpack_from("<I", self.ctx, self.info.field(name).offset)[0]
        return value

    def set_u64(self, name: str, value: int) -> None:
        struct.pack_into("<Q", self.ctx, self.info.field(name).offset, value & (1 << 64) - 1)


@dataclass(frozen=True, slots=True)
class TestRunOutput:
    """What ``finish`` gives back: the packet and the context after the run."""

    data_out: bytes
    ctx_out: bytes


class ProgTypeInfo:
    """Base of every program type. Subclasses fill the class attributes and may
    override ``prepare``/``finish`` (the default: the context is ``ctx_in``, no packet).
    """

    prog_type: ClassVar[ProgType]
    name: ClassVar[str]
    ctx_size: ClassVar[int] = 0
    fields: ClassVar[tuple[CtxField, ...]] = ()
    helpers: ClassVar[frozenset[int]] = frozenset()
    verdicts: ClassVar[Mapping[int, str]] = {}
    """Names of return values (``{2: "XDP_PASS"}``); others are shown as numbers."""
    ret_range: ClassVar[tuple[int, int] | None] = None
    """Return values the kernel accepts (inclusive), or None for any."""
    has_packet: ClassVar[bool] = False
    """``data_in`` is a packet (test-run gives ``data_out``)."""

    def __init__(self) -> None:
        self._by_name = {f.name: f for f in self.fields}
        self._shadow: dict[str, int] = {}
        base = round8(self.ctx_size)
        for f in self.fields:
            if f.pointer:
                self._shadow[f.name] = base + 8 * len(self._shadow)
        self.vm_ctx_size = base + 8 * len(self._shadow)

    # -- context layout -----------------------------------------------------
    def field(self, name: str) -> CtxField:
        return self._by_name[name]

    def shadow_offset(self, name: str) -> int:
        return self._shadow[name]

    def field_at(self, offset: int) -> CtxField | None:
        for f in self.fields:
            if f.offset <= offset < f.end:
                return f
        return None

    def access(self, offset: int, size: int, write: bool, pc: int | None = None) -> tuple[int, int]:
        """Check a context access and give the (offset, size) the VM performs.

        Raises ``ContextAccessError`` where the kernel's ``is_valid_access`` says no.
        """

        def deny(reason: str) -> ContextAccessError:
            return ContextAccessError(self.name, offset, size, write, pc, reason)

        f = self.field_at(offset)
        if f is None or offset < 0 or offset + size > f.end:
            raise deny("no such field")
        if write and not f.write:
            raise deny(f"{f.name} is read-only")
        if not write and not f.read:
            raise deny(f"{f.name} cannot be read")
        if offset % size:
            raise deny("misaligned access")
        if f.pointer:
            if write or offset != f.offset or size not in (4, 8) or size < min(f.size, 4):
                raise deny(f"{f.name} is a pointer: only whole loads")
            return self._shadow[f.name], 8
        if size != f.size and not f.narrow:
            raise deny(f"{f.name} must be accessed as {f.size} bytes")
        if write and size != f.size:
            raise deny(f"{f.name} must be written as {f.size} bytes")
        return offset, size

    # -- test-run ------------------------------------------------------------
    def new_state(self, memory: AddressSpace, ctx_in: bytes | None) -> RunState:
        """A context buffer holding ``ctx_in`` (zeros when None), mapped in ``memory``."""
        buf = bytearray(self.vm_ctx_size)
        if ctx_in:
            if len(ctx_in) > self.ctx_size:
                raise TestRunError(errno.EINVAL, "ctx_in larger than the context")
            buf[: len(ctx_in)] = ctx_in
        region = memory.map(RegionKind.CONTEXT, buf, share=True, name="ctx")
        return RunState(self, memory, region)

    def prepare(
        self, memory: AddressSpace, data_in: bytes | None, ctx_in: bytes | None
    ) -> RunState:
        """Build the context (and packet) for one test run."""
        return self.new_state(memory, ctx_in)

    def finish(self, state: RunState, retval: int) -> TestRunOutput:
        """``data_out`` and ``ctx_out`` after the run."""
        return TestRunOutput(b"", bytes(state.ctx[: self.ctx_size]))

    def verdict_name(self, retval: int) -> str:
        """``XDP_PASS`` for 2 on XDP; the number as text where there is no name."""
        return self.verdicts.get(retval, str(retval))


T = TypeVar("T", bound=type[ProgTypeInfo])

PROG_TYPES: dict[ProgType, ProgTypeInfo] = {}
"""Program types by uapi enum; each module registers one instance."""


def register(cls: T) -> T:
    """Class decorator: register an instance of ``cls`` under its ``prog_type``."""
    if cls.prog_type in PROG_TYPES:
        raise ValueError(f"program type {cls.prog_type.name} registered twice")
    PROG_TYPES[cls.prog_type] = cls()
    return cls
