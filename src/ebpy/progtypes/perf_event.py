"""BPF_PROG_TYPE_PERF_EVENT: the context is ``struct bpf_perf_event_data``, read-only.

::

    struct bpf_perf_event_data {
        bpf_user_pt_regs_t regs;   /* x86-64 struct pt_regs, 168 bytes */
        __u64 sample_period;       /* offset 168 */
        __u64 addr;                /* offset 176 */
    };

As ``pe_prog_is_valid_access`` says: the registers are read as whole u64s
only, ``sample_period`` and ``addr`` with any aligned size (1, 2, 4 or 8
bytes), and nothing is written. The helpers are ``pe_prog_func_proto``'s
(the tracing helpers, ``perf_event_output``, stacks,
``perf_prog_read_value``, ``read_branch_records``, ``get_attach_cookie``).

``PerfEventData(regs, sample_period, addr).pack()`` (or
``perf_event_data(...)``) builds a ``ctx_in``; ``PerfEventData.unpack``
reads one. The
kernel's ``BPF_PROG_TEST_RUN`` does not run perf_event programs
(``-ENOTSUPP``); ebpy runs them in userspace with ``ctx_in`` as the struct
(shorter input: the rest is zero). This module is not the perf_event_open
side of things.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import ClassVar

from ebpy.errors import InputError
from ebpy.isa._intmath import M64
from ebpy.progtypes.base import CtxField, ProgTypeInfo, register
from ebpy.progtypes.kprobe import PT_REGS_SIZE, TRACING_HELPERS, PtRegs, pt_regs_fields
from ebpy.uapi import HelperId, ProgType

PERF_EVENT_DATA_SIZE = PT_REGS_SIZE + 16

PERF_EVENT_HELPERS = TRACING_HELPERS | {
    HelperId.PERF_EVENT_OUTPUT,
    HelperId.GET_STACKID,
    HelperId.GET_STACK,
    HelperId.PERF_PROG_READ_VALUE,
    HelperId.READ_BRANCH_RECORDS,
    HelperId.GET_ATTACH_COOKIE,
}
"""``pe_prog_func_proto``."""


def _u64(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= M64:
        raise InputError(f"{name}: {value!r} is not a u64")
    return value


@dataclass
class PerfEventData:
    """``struct bpf_perf_event_data``: the registers at the sample, its period and address.

    >>> data = PerfEventData(PtRegs.call(ip=0x1000), sample_period=4000)
    >>> PerfEventData.unpack(data.pack()).sample_period, len(data.pack())
    (4000, 184)
    """

    regs: PtRegs = field(default_factory=PtRegs)
    sample_period: int = 0
    addr: int = 0

    def pack(self) -> bytes:
        """The 184 bytes of the struct."""
        period = _u64("sample_period", self.sample_period)
        return self.regs.pack() + struct.pack("<QQ", period, _u64("addr", self.addr))

    @classmethod
    def unpack(cls, data: bytes) -> PerfEventData:
        """Read a struct (shorter data: the rest is 0)."""
        if len(data) > PERF_EVENT_DATA_SIZE:
            raise InputError(f"bpf_perf_event_data is {PERF_EVENT_DATA_SIZE} bytes")
        data = bytes(data).ljust(PERF_EVENT_DATA_SIZE, b"\0")
        period, addr = struct.unpack_from("<QQ", data, PT_REGS_SIZE)
        return cls(PtRegs.unpack(data[:PT_REGS_SIZE]), period, addr)


def perf_event_data(regs: PtRegs | None = None, sample_period: int = 0, addr: int = 0) -> bytes:
    """A ``struct bpf_perf_event_data`` for ``ctx_in`` (``PerfEventData(...).pack()``).

    >>> len(perf_event_data(PtRegs.call(1), sample_period=4000))
    184
    """
    return PerfEventData(regs or PtRegs(), sample_period, addr).pack()


@register
class PerfEventInfo(ProgTypeInfo):
    """BPF_PROG_TYPE_PERF_EVENT."""

    prog_type: ClassVar[ProgType] = ProgType.PERF_EVENT
    name: ClassVar[str] = "perf_event"
    ctx_size: ClassVar[int] = PERF_EVENT_DATA_SIZE
    fields: ClassVar[tuple[CtxField, ...]] = (
        *pt_regs_fields(narrow=False),
        CtxField("sample_period", PT_REGS_SIZE, 8),
        CtxField("addr", PT_REGS_SIZE + 8, 8),
    )
    helpers: ClassVar[frozenset[int]] = frozenset(PERF_EVENT_HELPERS)
