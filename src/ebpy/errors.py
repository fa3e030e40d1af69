"""The one error tree of ebpy.

Every error ebpy raises on purpose is a ``BpfError``. Errors carry their facts as
fields (``pc``, ``addr``, ``size``, ``region``, ``line``, ``column``, ``errno`` ...);
``str()`` gives a one-line summary built from those fields. Tests assert on the
type and the fields, never on the wording. This module is not a logging or
reporting facility: the CLI decides how to show an error.

The tree::

    BpfError
    ├── InputError                 bad input from a user (files, hex, options)
    │   ├── AsmError               assembler: line, column, text
    │   ├── DecodeError            bytes that are not a valid instruction: pc, raw
    │   ├── ElfError               an object file that cannot be loaded: section, offset
    │   ├── BtfError               BTF that cannot be read: section, offset, type_id
    │   ├── CbpfError              a classic BPF program the kernel (or libpcap) refuses: pc
    │   └── FilterSyntaxError      a pcap-filter expression that does not compile:
    │                              column, token, reason, expr
    ├── CoreError                  a CO-RE relocation that cannot be satisfied:
    │                              section, insn, kind, access, type_name
    ├── EncodeError                an Instruction that cannot be encoded: field, value
    ├── LinkError                  builder/link pass: unknown or duplicate label
    ├── VmError                    the interpreter stopped the program: pc
    │   ├── MemoryAccessError      bad load/store: pc, addr, size, region, write
    │   ├── BudgetExceededError    instruction budget used up: pc, budget
    │   ├── CallDepthError         bpf-to-bpf calls nested too deep: pc, depth
    │   ├── UnknownHelperError     call to a helper id with no implementation: pc, helper_id
    │   └── InvalidInstructionError  an opcode the VM cannot run: pc, opcode
    ├── MapError                   a map operation failed as the kernel's would: op, errno, map
    ├── ContextAccessError         a program touches its context where its type forbids:
    │                              prog_type, offset, size, write, pc
    ├── TestRunError               test-run input the kernel would refuse: errno, reason
    ├── KernelError                a bpf(2) call failed: cmd, errno, log
    └── NotSupportedError          a feature missing here: feature, hint
"""

from __future__ import annotations

import errno as _errno
import os


class BpfError(Exception):
    """Root of every error ebpy raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(BpfError):
    """Bad input from a user: a file, a hex string, an option."""


class AsmError(InputError):
    """The assembler could not read a line.

    ``line`` and ``column`` are 1-based; ``text`` is the source line.
    """

    def __init__(self, reason: str, line: int = 0, column: int = 0, text: str = "") -> None:
        self.reason = reason
        self.line = line
        self.column = column
        self.text = text
        where = f"line {line}, column {column}: " if line else ""
        super().__init__(f"{where}{reason}")


class DecodeError(InputError):
    """Bytes that do not decode to a valid instruction at ``pc``."""

    def __init__(self, reason: str, pc: int | None = None, raw: bytes = b"") -> None:
        self.reason = reason
        self.pc = pc
        self.raw = raw
        where = f"insn {pc}: " if pc is not None else ""
        super().__init__(f"{where}{reason}")


class ElfError(InputError):
    """An object file that cannot be loaded: ``section`` and ``offset`` where known."""

    def __init__(self, reason: str, section: str = "", offset: int | None = None) -> None:
        self.reason = reason
        self.section = section
        self.offset = offset
        where = f"section {section}: " if section else ""
        at = f" (offset {offset:#x})" if offset is not None else ""
        super().__init__(f"{where}{reason}{at}")


class BtfError(InputError):
    """BTF that cannot be read or used.

    ``section`` is ``.BTF`` or ``.BTF.ext`` (or a file), ``offset`` a byte offset in
    it, ``type_id`` the type concerned; each where known.
    """

    def __init__(
        self,
        reason: str,
        section: str = "",
        offset: int | None = None,
        type_id: int | None = None,
    ) -> None:
        self.reason = reason
        self.section = section
        self.offset = offset
        self.type_id = type_id
        parts = [section] if section else []
        if type_id is not None:
            parts.append(f"type [{type_id}]")
        if offset is not None:
            parts.append(f"offset {offset:#x}")
        where = f"{' '.join(parts)}: " if parts else ""
        super().__init__(f"{where}{reason}")


class CbpfError(InputError):
    """A classic BPF program that the kernel (or libpcap) would refuse.

    ``pc`` is the instruction concerned (None for the program as a whole),
    ``reason`` says what is wrong with it.
    """

    def __init__(self, reason: str, pc: int | None = None) -> None:
        self.reason = reason
        self.pc = pc
        where = f"insn {pc}: " if pc is not None else ""
        super().__init__(f"{where}{reason}")


class FilterSyntaxError(InputError):
    """A pcap-filter expression that cannot be compiled.

    ``expr`` is the expression, ``column`` the 1-based column of the token at
    fault (0 when the fault is the expression as a whole), ``token`` its text
    (empty at the end of the expression) and ``reason`` what is wrong.
    """

    def __init__(self, reason: str, column: int = 0, token: str = "", expr: str = "") -> None:
        self.reason = reason
        self.column = column
        self.token = token
        self.expr = expr
        where = f"column {column}: " if column else ""
        at = f" (at '{token}')" if token else ""
        super().__init__(f"{where}{reason}{at}")


class CoreError(BpfError):
    """A CO-RE relocation that cannot be satisfied against the target BTF.

    ``section`` and ``insn`` (instruction index) place it; ``kind`` is the
    relocation kind's name (``byte_off``, ``field_exists`` ...), ``access`` the
    access string (``0:1:2``) and ``type_name`` the local root type.
    """

    def __init__(
        self,
        reason: str,
        *,
        section: str = "",
        insn: int | None = None,
        kind: str = "",
        access: str = "",
        type_name: str = "",
    ) -> None:
        self.reason = reason
        self.section = section
        self.insn = insn
        self.kind = kind
        self.access = access
        self.type_name = type_name
        where = f"{section} insn {insn}: " if insn is not None else ""
        what = f"{kind} relocation of {type_name or '?'} access {access or '?'}"
        super().__init__(f"{where}{what}: {reason}")


class EncodeError(BpfError):
    """An instruction field does not fit its encoding."""

    def __init__(self, field: str, value: int, reason: str = "out of range") -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field} {value}: {reason}")


class LinkError(BpfError):
    """A label could not be resolved (unknown, duplicate, or out of range)."""

    def __init__(self, reason: str, label: str = "", pc: int | None = None) -> None:
        self.reason = reason
        self.label = label
        self.pc = pc
        where = f"insn {pc}: " if pc is not None else ""
        super().__init__(f"{where}{reason}" + (f" '{label}'" if label else ""))


class VmError(BpfError):
    """The interpreter stopped the program at instruction ``pc``."""

    def __init__(self, reason: str, pc: int | None = None) -> None:
        self.reason = reason
        self.pc = pc
        where = f"insn {pc}: " if pc is not None else ""
        super().__init__(f"{where}{reason}")


class MemoryAccessError(VmError):
    """A load or store outside every region it may touch."""

    def __init__(
        self, pc: int | None, addr: int, size: int, region: str | None, write: bool = False
    ) -> None:
        self.addr = addr
        self.size = size
        self.region = region
        self.write = write
        kind = "write" if write else "read"
        inside = f" in region {region}" if region else " outside every region"
        super().__init__(f"invalid {kind} of {size} bytes at {addr:#x}{inside}", pc)


class BudgetExceededError(VmError):
    """The program ran more instructions than its budget allows."""

    def __init__(self, pc: int | None, budget: int) -> None:
        self.budget = budget
        super().__init__(f"instruction budget of {budget} exhausted", pc)


class CallDepthError(VmError):
    """bpf-to-bpf calls nested deeper than the limit."""

    def __init__(self, pc: int | None, depth: int) -> None:
        self.depth = depth
        super().__init__(f"call depth {depth} exceeds the limit", pc)


class UnknownHelperError(VmError):
    """A call to a helper id that has no implementation here."""

    def __init__(self, pc: int | None, helper_id: int) -> None:
        self.helper_id = helper_id
        super().__init__(f"unknown helper {helper_id}", pc)


class InvalidInstructionError(VmError):
    """An instruction the VM cannot execute."""

    def __init__(self, pc: int | None, opcode: int, reason: str = "invalid instruction") -> None:
        self.opcode = opcode
        super().__init__(f"{reason} (opcode {opcode:#04x})", pc)


class MapError(BpfError):
    """A map operation failed with the errno the kernel gives (``ENOENT``, ``EEXIST`` ...).

    ``op`` names the operation (``lookup``, ``update``, ``create`` ...), ``map`` the map.
    """

    def __init__(self, op: str, errno: int, map: str = "", reason: str = "") -> None:
        self.op = op
        self.errno = errno
        self.map = map
        self.reason = reason
        name = _errno.errorcode.get(errno, str(errno))
        where = f"map {map}: " if map else ""
        why = f": {reason}" if reason else ""
        super().__init__(f"{where}{op}: {name} ({os.strerror(errno)}){why}")


class ContextAccessError(BpfError):
    """A load or store of the program context that the program type does not allow."""

    def __init__(
        self,
        prog_type: str,
        offset: int,
        size: int,
        write: bool = False,
        pc: int | None = None,
        reason: str = "",
    ) -> None:
        self.prog_type = prog_type
        self.offset = offset
        self.size = size
        self.write = write
        self.pc = pc
        self.reason = reason
        where = f"insn {pc}: " if pc is not None else ""
        kind = "write" if write else "read"
        why = f": {reason}" if reason else ""
        super().__init__(
            f"{where}invalid {prog_type} context {kind} of {size} bytes at offset {offset}{why}"
        )


class TestRunError(BpfError):
    """``BPF_PROG_TEST_RUN`` input that the kernel refuses, with its errno."""

    def __init__(self, errno: int, reason: str = "") -> None:
        self.errno = errno
        self.reason = reason
        name = _errno.errorcode.get(errno, str(errno))
        super().__init__(
            f"test_run: {name} ({os.strerror(errno)})" + (f": {reason}" if reason else "")
        )


class KernelError(BpfError):
    """A bpf(2) command failed. ``log`` holds the verifier log when there is one."""

    def __init__(self, cmd: str, errno: int, log: str = "") -> None:
        self.cmd = cmd
        self.errno = errno
        self.log = log
        name = _errno.errorcode.get(errno, str(errno))
        why = f": {self.reason}" if self.reason else ""
        super().__init__(f"{cmd}: {name} ({os.strerror(errno)}){why}")

    @property
    def reason(self) -> str:
        """The verifier's own words: the last line of ``log`` before its summary lines.

        >>> log = ["0: (61) r0 = *(u32 *)(r1 +0)", "R1 invalid mem access 'scalar'",
        ...        "processed 1 insns (limit 1000000)"]
        >>> KernelError("BPF_PROG_LOAD", 13, chr(10).join(log)).reason
        "R1 invalid mem access 'scalar'"
        """
        for line in reversed(self.log.splitlines()):
            line = line.strip()
            if line and not line.startswith(_LOG_SUMMARY):
                return line
        return ""


_LOG_SUMMARY = ("processed ", "verification time", "stack depth", "mark_precise", "-- END")


class NotSupportedError(BpfError):
    """A feature this machine or build does not have."""

    def __init__(self, feature: str, hint: str = "") -> None:
        self.feature = feature
        self.hint = hint
        super().__init__(f"{feature} is not supported here" + (f": {hint}" if hint else ""))
