"""The userspace eBPF interpreter: ``Vm(program).run(mem=...)``.

A ``Vm`` validates a program once, compiles it to Python (``compiler``) and
runs it as often as asked, each run with fresh stacks and its own
``Runtime``. Every bad access, runaway loop, bad call or unknown helper stops
the program with a ``VmError`` that names the instruction; no other exception
leaves ``run``. This module does not verify programs (the verifier does) and
knows nothing of program types beyond "memory at r1".

>>> from ebpy.isa.builder import ALU64, EXIT, R0, R2
>>> Vm([ALU64.MOV.reg(R0, R2), ALU64.ADD.imm(R0, 1), EXIT()]).run(mem=b"abc")
4
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ebpy.errors import (
    BpfError,
    BudgetExceededError,
    CallDepthError,
    InvalidInstructionError,
    UnknownHelperError,
    VmError,
)
from ebpy.helpers.basic import BASIC_HELPERS
from ebpy.helpers.env import Runtime
from ebpy.helpers.registry import HelperTable, StopProgram
from ebpy.isa._intmath import M64, bswap, sext
from ebpy.isa.instruction import Instruction
from ebpy.memory import AddressSpace, Region, RegionKind
from ebpy.vm.compiler import (
    STACK_SIZE,
    STACK_SLOT,
    VIEW_FORMATS,
    ProgramCompiler,
    PseudoResolver,
)

DEFAULT_BUDGET = 10_000_000
"""Instructions one run may execute before it is stopped."""


def _sdiv(a: int, b: int, bits: int) -> int:
    x, y = sext(a, bits), sext(b, bits)
    if y == 0:
        return 0
    q = abs(x) // abs(y)
    if (x < 0) != (y < 0):
        q = -q
    return q & ((1 << bits) - 1)


def _smod(a: int, b: int, bits: int) -> int:
    x, y = sext(a, bits), sext(b, bits)
    if y == 0:
        return a & ((1 << bits) - 1)
    r = abs(x) % abs(y)
    if x < 0:
        r = -r
    return r & ((1 << bits) - 1)


def _namespace() -> dict[str, Any]:
    ns: dict[str, Any] = {
        "CallDepthError": CallDepthError,
        "BudgetExceededError": BudgetExceededError,
        "InvalidInstructionError": InvalidInstructionError,
        "UnknownHelperError": UnknownHelperError,
        "StopProgram": StopProgram,
        "_sdiv": _sdiv,
        "_smod": _smod,
        "_bswap32": lambda x: bswap(x, 32),
        "_bswap64": lambda x: bswap(x, 64),
    }
    for size, (u, s) in {1: ("B", "b"), 2: ("H", "h"), 4: ("I", "i"), 8: ("Q", "q")}.items():
        ns[f"_U{size}"] = struct.Struct("<" + u).unpack_from
        ns[f"_S{size}"] = struct.Struct("<" + s).unpack_from
        ns[f"_P{size}"] = struct.Struct("<" + u).pack_into
        ns[f"_BE{size}"] = struct.Struct(">" + u).unpack_from
    return ns


class _StackSet:
    """The stack frames of one run: a region per call depth and typed views of each.

    A ``Vm`` keeps a pool of these; each run takes one, zeroes it and maps it
    into its own address space at the reserved stack slots.
    """

    _ZERO = bytes(STACK_SIZE)

    def __init__(self, frames: int) -> None:
        self.regions = [
            Region(RegionKind.STACK, f"stack[{d}]", STACK_SLOT + d, bytearray(STACK_SIZE), True)
            for d in range(frames)
        ]
        self.buffers = [r.buf for r in self.regions]
        self.views = [tuple(memoryview(b).cast(f) for f in VIEW_FORMATS) for b in self.buffers]
        self._regions = {r.slot: r for r in self.regions}
        self._buffers = {r.slot: r.buf for r in self.regions}

    def attach(self, space: AddressSpace) -> None:
        for b in self.buffers:
            b[:] = self._ZERO
        space.regions.update(self._regions)
        space.readable.update(self._buffers)
        space.writable.update(self._buffers)

    def detach(self, space: AddressSpace) -> None:
        for slot in self._regions:
            del space.regions[slot], space.readable[slot], space.writable[slot]


@dataclass
class RunResult:
    """What one run gave: r0, instructions executed, and the runtime it used."""

    r0: int
    insn_count: int
    runtime: Runtime = field(repr=False)


class Vm:
    """A compiled program, ready to run any number of times.

    ``helpers`` is the helper table (default: the Linux helpers implemented so
    far); ``budget`` caps executed instructions per run; ``resolve_pseudo``
    gives the value of ``lddw`` map references (supplied by the map layer).
    """

    def __init__(
        self,
        program: Sequence[Instruction],
        *,
        helpers: HelperTable | None = None,
        budget: int = DEFAULT_BUDGET,
        resolve_pseudo: PseudoResolver | None = None,
    ) -> None:
        self.program = list(program)
        self.helpers = BASIC_HELPERS if helpers is None else helpers
        self.budget = budget
        compiler = ProgramCompiler(
            self.program,
            helper_ids=frozenset(self.helpers),
            budget=budget,
            resolve_pseudo=resolve_pseudo,
        )
        self.compiled = compiler.compile()
        ns = _namespace()
        code = compile(self.compiled.source, "<ebpf-program>", "exec")
        exec(code, ns)
        self._make = ns["_make"]
        self._impls = {hid: h.impl for hid, h in self.helpers.items()}
        self._stacks: list[_StackSet] = []  # pool: runs reuse stacks, zeroed

    @property
    def source(self) -> str:
        """The Python source the program was compiled to (for the curious)."""
        return self.compiled.source

    def run(
        self,
        mem: bytes | bytearray | None = None,
        *,
        runtime: Runtime | None = None,
        packet: bytes | bytearray | None = None,
    ) -> int:
        """Run once; r1 = address of a writable copy of ``mem``, r2 = its length.

        Returns r0 as an unsigned 64-bit value. ``packet`` is what the legacy
        LD_ABS/LD_IND loads read (default: ``mem``).
        """
        return self.run_full(mem, runtime=runtime, packet=packet).r0

    def run_full(
        self,
        mem: bytes | bytearray | None = None,
        *,
        runtime: Runtime | None = None,
        packet: bytes | bytearray | None = None,
        args: Sequence[int] | None = None,
    ) -> RunResult:
        """Run once and return r0, the instruction count and the runtime."""
        rt = runtime or Runtime()
        space = rt.memory
        r1 = r2 = 0
        if mem is not None:
            region = space.map(RegionKind.MEMORY, mem, share=isinstance(mem, bytearray))
            r1, r2 = region.base, len(mem)
            if packet is None:
                packet = region.buf
        regs = [r1, r2, 0, 0, 0]
        if args is not None:
            regs[: len(args)] = [a & M64 for a in args]
        stacks = self._stacks.pop() if self._stacks else _StackSet(self.compiled.frames)
        stacks.attach(space)
        entry = self._make(
            rt,
            stacks.buffers,
            stacks.views,
            space.readable,
            space.writable,
            packet,
            self._impls,
            self._callx_helper,
        )
        try:
            r0, count = entry(*regs, 0, 0)
        except StopProgram as stop:
            r0, count = stop.value & M64, -1
        except BpfError:
            raise
        except Exception as exc:
            raise VmError(f"internal error: {type(exc).__name__}: {exc}") from exc
        finally:
            stacks.detach(space)
            self._stacks.append(stacks)
        return RunResult(r0, count, rt)

    def _callx_helper(self, rt: Runtime, pc: int, target: int, *args: int) -> int:
        """``callx`` through a value that is not a subprogram: a helper id."""
        impl = self._impls.get(target)
        if impl is None:
            raise UnknownHelperError(pc, target)
        return impl(rt, *args) & M64
