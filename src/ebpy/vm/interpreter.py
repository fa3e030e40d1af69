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

import importlib
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
from ebpy.helpers.env import Runtime
from ebpy.helpers.linux import LINUX_HELPERS
from ebpy.helpers.registry import HelperTable, StopProgram, TailCall
from ebpy.isa._intmath import M64, bswap, sext
from ebpy.isa.instruction import Instruction
from ebpy.maps.base import Map
from ebpy.memory import AddressSpace, Region, RegionKind
from ebpy.progtypes import ProgTypeInfo, prog_type_info
from ebpy.uapi import ProgType
from ebpy.vm.compiler import (
    CALLBACK_HELPERS,
    STACK_SIZE,
    STACK_SLOT,
    VIEW_FORMATS,
    ProgramCompiler,
    PseudoResolver,
)
from ebpy.vm.ctxaccess import rewrite_context_access
from ebpy.vm.linking import MapResolver
from ebpy.vm.testrun import TestRunResult, test_run

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


def _ld_slow(rt: Runtime, offset: int, size: int) -> int:
    """A legacy packet load the fast path cannot do: the program type's state reads
    negative (``SKF_NET_OFF``/``SKF_LL_OFF``) offsets; anything else ends the program
    with r0 = 0, as the kernel does."""
    reader = getattr(rt.state, "ld_abs_bytes", None)
    data = reader(offset, size) if reader is not None else None
    if data is None:
        raise StopProgram(0)
    return int.from_bytes(data, "big")


def _namespace() -> dict[str, Any]:
    ns: dict[str, Any] = {
        "CallDepthError": CallDepthError,
        "BudgetExceededError": BudgetExceededError,
        "InvalidInstructionError": InvalidInstructionError,
        "UnknownHelperError": UnknownHelperError,
        "StopProgram": StopProgram,
        "_sdiv": _sdiv,
        "_smod": _smod,
        "_ld_slow": _ld_slow,
        "_bswap32": lambda x: bswap(x, 32),
        "_bswap64": lambda x: bswap(x, 64),
    }
    for size, (u, s) in {1: ("B", "b"), 2: ("H", "h"), 4: ("I", "i"), 8: ("Q", "q")}.items():
        ns[f"_U{size}"] = struct.Struct("<" + u).unpack_from
        ns[f"_S{size}"] = struct.Struct("<" + s).unpack_from
        ns[f"_P{size}"] = struct.Struct("<" + u).pack_into
        ns[f"_BE{size}"] = struct.Struct(">" + u).unpack_from
    return ns


def _prog_type(kind: ProgType | str | ProgTypeInfo | None) -> ProgTypeInfo | None:
    if kind is None or isinstance(kind, ProgTypeInfo):
        return kind
    return prog_type_info(kind)


def _register(vm: Vm) -> int:
    """Give ``vm`` a program id that prog_array maps (tail calls) can hold."""
    try:
        mod = importlib.import_module("ebpy.maps.prog_array")
    except ModuleNotFoundError:  # pragma: no cover - while prog_array is being written
        return 0
    return int(mod.register_program(vm))


def _invoker(rt: Runtime, callx: Any) -> Any:
    """``invoke(func, r1..r5) -> r0`` for helpers that call back into the program."""

    def invoke(func: int, r1: int = 0, r2: int = 0, r3: int = 0, r4: int = 0, r5: int = 0) -> int:
        r0, _ = callx(-1, func, r1, r2, r3, r4, r5, 0, rt.depth + 1)
        return int(r0)

    return invoke


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

    ``prog_type`` (an enum, a name such as ``"xdp"``, or a ``ProgTypeInfo``)
    gives the program its context: context loads and stores are checked and
    rewritten at load time, and ``test_run`` builds contexts and packets as the
    kernel's ``BPF_PROG_TEST_RUN`` does. ``maps`` are the maps the program
    refers to (``lddw`` with ``map[idx:N]`` is ``maps[N]``, ``map[id:N]`` the map
    whose ``id`` is N). ``helpers`` is the helper table (default: every Linux
    helper implemented here); ``budget`` caps executed instructions per run.
    """

    def __init__(
        self,
        program: Sequence[Instruction],
        *,
        prog_type: ProgType | str | ProgTypeInfo | None = None,
        maps: Sequence[Map] = (),
        helpers: HelperTable | None = None,
        budget: int = DEFAULT_BUDGET,
        resolve_pseudo: PseudoResolver | None = None,
        ncpus: int = 1,
    ) -> None:
        self.info = _prog_type(prog_type)
        self.maps = list(maps)
        self.ncpus = ncpus
        insns = list(program)
        if self.info is not None:
            insns = rewrite_context_access(insns, self.info)
        self.program = insns
        self.helpers = LINUX_HELPERS if helpers is None else helpers
        self.budget = budget
        compiler = ProgramCompiler(
            self.program,
            helper_ids=frozenset(self.helpers),
            budget=budget,
            resolve_pseudo=resolve_pseudo or MapResolver(self.maps),
        )
        self.compiled = compiler.compile()
        ns = _namespace()
        code = compile(self.compiled.source, "<ebpf-program>", "exec")
        exec(code, ns)
        self._make = ns["_make"]
        self._impls = {hid: h.impl for hid, h in self.helpers.items()}
        self._stacks: list[_StackSet] = []  # pool: runs reuse stacks, zeroed
        self._callbacks = any(
            i.is_call and i.imm in CALLBACK_HELPERS and not i.src for i in self.program
        )
        self.prog_id = _register(self)

    @property
    def source(self) -> str:
        """The Python source the program was compiled to (for the curious)."""
        return self.compiled.source

    def new_runtime(self, **kwargs: Any) -> Runtime:
        """A ``Runtime`` for this program: its CPU count, its maps reachable."""
        kwargs.setdefault("ncpus", self.ncpus)
        rt = Runtime(**kwargs)
        self.attach_maps(rt)
        return rt

    def attach_maps(self, rt: Runtime) -> None:
        for m in self.maps:
            if m.slot not in rt.maps:
                rt.add_map(m)

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
        rt = runtime or self.new_runtime()
        if runtime is not None:
            self.attach_maps(rt)
        r1 = r2 = 0
        if mem is not None:
            region = rt.memory.map(RegionKind.MEMORY, mem, share=isinstance(mem, bytearray))
            r1, r2 = region.base, len(mem)
            if packet is None:
                packet = region.buf
        regs = [r1, r2, 0, 0, 0]
        if args is not None:
            regs[: len(args)] = [a & M64 for a in args]
        r0, count = self.execute(rt, regs, packet)
        return RunResult(r0, count, rt)

    def execute(
        self, rt: Runtime, regs: list[int], packet: bytes | bytearray | None
    ) -> tuple[int, int]:
        """Run with r1-r5 = ``regs`` in ``rt``, following tail calls; (r0, count)."""
        vm = self
        total = 0
        while True:
            try:
                r0, count = vm._enter(rt, regs, packet)
                return r0, (count if count < 0 else total + count)
            except TailCall as tail:
                target = tail.program
                if not isinstance(target, Vm):
                    raise VmError("tail call to something that is not a program") from None
                vm = target
                vm.attach_maps(rt)
                regs = [regs[0], 0, 0, 0, 0]

    def _enter(
        self, rt: Runtime, regs: list[int], packet: bytes | bytearray | None
    ) -> tuple[int, int]:
        space = rt.memory
        stacks = self._stacks.pop() if self._stacks else _StackSet(self.compiled.frames)
        stacks.attach(space)
        entry, callx = self._make(
            rt,
            stacks.buffers,
            stacks.views,
            space.readable,
            space.writable,
            packet,
            self._impls,
            self._callx_helper,
        )
        if self._callbacks:
            rt.extra["invoke"] = _invoker(rt, callx)
        try:
            r0, count = entry(*regs, 0, 0)
        except StopProgram as stop:
            r0, count = stop.value & M64, -1
        except (BpfError, TailCall):
            raise
        except Exception as exc:
            raise VmError(f"internal error: {type(exc).__name__}: {exc}") from exc
        finally:
            stacks.detach(space)
            self._stacks.append(stacks)
        return r0, count

    def test_run(
        self,
        data_in: bytes | None = None,
        ctx_in: bytes | None = None,
        repeat: int = 1,
        *,
        runtime: Runtime | None = None,
    ) -> TestRunResult:
        """Run as ``BPF_PROG_TEST_RUN`` does for this program's type.

        Gives retval, data_out, ctx_out and the mean duration in ns.
        """
        return test_run(self, data_in, ctx_in, repeat, runtime)

    def _callx_helper(self, rt: Runtime, pc: int, target: int, *args: int) -> int:
        """``callx`` through a value that is not a subprogram: a helper id."""
        impl = self._impls.get(target)
        if impl is None:
            raise UnknownHelperError(pc, target)
        return impl(rt, *args) & M64
