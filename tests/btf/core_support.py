"""Support for the CO-RE tests: a hand BTF builder, the test objects and libbpf's record.

* ``B``: builds a ``Btf`` type by type (ids in order), for hand-made local and
  target pairs.
* ``read_object``: the programs (instructions and CO-RE relocations) and BTF of
  a test object in ``tests/testdata/core``, through the ELF loader.
* ``relocate_object``: our relocation of every program of an object, with
  log lines numbered as libbpf numbers them (per program section).
* ``LibbpfRecord``: what libbpf did with an object: its CO-RE debug lines and
  load status (``tests/golden/core/NAME.libbpf.txt``, or a live bpftool run),
  and the kernel's xlated programs.
* ``compare_xlated``: aligns our relocated program with the kernel's xlated one
  and compares the relocated fields.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from ebpy.btf.core import CoreResult, Relocator
from ebpy.btf.ext import CoreRelo
from ebpy.btf.types import (
    Array,
    Btf,
    Enum,
    EnumValue,
    Int,
    Member,
    Ptr,
    Struct,
    Type,
    Typedef,
    Union,
)
from ebpy.elf.loader import load_object
from ebpy.errors import CoreError
from ebpy.isa.encoding import decode
from ebpy.isa.instruction import Instruction

ROOT = Path(__file__).resolve().parents[1]
OBJ_DIR = ROOT / "testdata" / "core"
GOLDEN_DIR = ROOT / "golden" / "core"
OBJECTS = sorted(OBJ_DIR.glob("*.o"))
VMLINUX = Path("/sys/kernel/btf/vmlinux")


class B:
    """A BTF table built type by type: each ``add`` returns the new id."""

    def __init__(self) -> None:
        self.types: list[Type] = []

    @property
    def next_id(self) -> int:
        return len(self.types) + 1

    def add(self, cls: type[Type], name: str = "", **fields: object) -> int:
        tid = self.next_id
        self.types.append(cls(tid, name, **fields))  # type: ignore[arg-type]
        return tid

    def int(self, name: str = "int", size: int = 4, signed: bool = True, offset: int = 0) -> int:
        enc = Int.SIGNED if signed else 0
        return self.add(Int, name, size=size, encoding=enc, offset=offset, bits=size * 8)

    def ptr(self, to: int) -> int:
        return self.add(Ptr, type_id=to)

    def array(self, elem: int, n: int, index: int = 0) -> int:
        return self.add(Array, type_id=elem, index_type_id=index, nelems=n)

    def typedef(self, name: str, to: int) -> int:
        return self.add(Typedef, name, type_id=to)

    def struct(
        self,
        name: str,
        size: int,
        *members: tuple[str, int, int] | tuple[str, int, int, int],
        union: bool = False,
    ) -> int:
        ms = tuple(Member(*m) for m in members)
        kflag = any(m.bitfield_size for m in ms)
        return self.add(Union if union else Struct, name, size=size, members=ms, kind_flag=kflag)

    def enum(self, name: str, *values: tuple[str, int], size: int = 4, signed: bool = False) -> int:
        vals = tuple(EnumValue(n, v) for n, v in values)
        return self.add(Enum, name, size=size, values=vals, signed=signed)

    def build(self) -> Btf:
        return Btf(list(self.types))


@dataclass
class TestObject:
    path: Path
    btf: Btf
    programs: dict[str, tuple[str, list[Instruction], tuple[CoreRelo, ...]]]
    """Each program's section, linked instructions and CO-RE relocations, by name."""


def read_object(path: Path) -> TestObject:
    """A test object through the ELF loader (``ebpy.elf.loader.load_object``)."""
    spec = load_object(path.read_bytes(), str(path))
    assert spec.btf is not None
    programs = {
        name: (prog.section, list(prog.instructions), prog.core_relos)
        for name, prog in spec.programs.items()
    }
    return TestObject(path, spec.btf, programs)


@dataclass
class Relocated:
    lines: list[str] = field(default_factory=list)
    results: list[tuple[str, CoreResult]] = field(default_factory=list)
    """(program, result) of every relocation."""
    programs: dict[str, list[Instruction]] = field(default_factory=dict)
    """Relocated instructions by program name."""
    error: CoreError | None = None


def relocate_object(obj: TestObject, target: Btf, *, strict: bool = False) -> Relocated:
    """Relocate every program with one relocator (libbpf's order and cache).

    ``lines`` is the relocator's log with libbpf's per-section headers; after a
    ``CoreError`` it ends with the failing relocation's lines and reason.
    """
    out = Relocated()
    relocator = Relocator(obj.btf, target)
    for prog, (section, insns, relos) in obj.programs.items():
        if not relos:
            continue
        relocator.log.append(f"sec '{section}': found {len(relos)} CO-RE relocations")
        try:
            new, results = relocator.relocate(
                insns, relos, strict=strict, prog=prog, section=section
            )
        except CoreError as exc:
            out.error = exc
            break
        out.programs[prog] = new
        out.results.extend((prog, r) for r in results)
    out.lines = relocator.log
    return out


CORE_LINE = re.compile(
    r"^libbpf: (CO-RE relocating|sec '[^']*': found [0-9]+ CO-RE|prog '[^']*': relo #)"
)
"""The lines of libbpf's debug output that are about CO-RE (as core/golden.sh keeps them)."""

_PATCHED = re.compile(r"relo #(\d+): patched insn #(\d+) \((\S+)\) (\S+) (\d+) -> (\d+)$")


@dataclass
class LibbpfRecord:
    """libbpf's CO-RE debug lines for one object, and how its load ended."""

    header: dict[str, str]
    lines: list[str]
    status: int

    @classmethod
    def parse(cls, text: str) -> LibbpfRecord:
        header: dict[str, str] = {}
        lines: list[str] = []
        status = 0
        for line in text.splitlines():
            if line.startswith("# status "):
                status = int(line.split()[2])
            elif line.startswith("# "):
                key, _, value = line[2:].partition(" ")
                header[key] = value
            elif line.startswith("libbpf: "):
                lines.append(line[len("libbpf: ") :])
        return cls(header, lines, status)

    def patched(self) -> dict[tuple[str, int], int]:
        """Final value of each patched relocation: (program, relo index) -> value."""
        out: dict[tuple[str, int], int] = {}
        for line in self.lines:
            m = _PATCHED.search(line)
            if m and m.group(4) != "mem_sz":
                prog = line.split("'")[1]
                out[(prog, int(m.group(1)))] = int(m.group(6))
        return out

    def poisoned(self) -> set[tuple[str, int]]:
        return {
            (line.split("'")[1], int(line.split("relo #")[1].split(":")[0]))
            for line in self.lines
            if line.endswith("w/ invalid insn")
        }


def golden_record(obj: Path) -> LibbpfRecord:
    return LibbpfRecord.parse((GOLDEN_DIR / f"{obj.stem}.libbpf.txt").read_text())


def vmlinux_sha256() -> str | None:
    try:
        return hashlib.sha256(VMLINUX.read_bytes()).hexdigest()
    except OSError:
        return None


_OPCODES = re.compile(
    r"^\s+((?:[0-9a-f]{2} ){7}[0-9a-f]{2}(?: (?:[0-9a-f]{2} ){7}[0-9a-f]{2})?)\s*$"
)


def parse_xlated(text: str) -> list[Instruction]:
    """The instructions of ``bpftool prog dump xlated ... opcodes`` (its hex lines)."""
    raw = b"".join(
        bytes.fromhex(m.group(1)) for line in text.splitlines() if (m := _OPCODES.match(line))
    )
    return decode(raw, strict=False)


def _key(insn: Instruction) -> tuple[int, ...]:
    """What must be equal for two instructions to be aligned: everything but what
    the kernel rewrites (helper call numbers, 64-bit loads of maps)."""
    if insn.is_call:
        return (insn.op, insn.src)
    if insn.is_lddw:  # ours are not linked to maps yet; compared after alignment
        return (insn.op, insn.dst)
    return (insn.op, insn.dst, insn.src, insn.off, insn.imm)


def compare_xlated(
    ours: list[Instruction], results: list[CoreResult], xlated: list[Instruction]
) -> tuple[list[str], int]:
    """Differences at relocated instructions between our program and the kernel's.

    The two are aligned on whole instructions (see ``_key``), relocated ones
    with our values, so a wrong value shows as an instruction the kernel has
    differently. A relocated instruction in a stretch the kernel dropped is
    dead code the verifier removed (poisoned instructions must be there).
    Returns the differences and how many relocated instructions were compared.
    """
    index_of_slot: dict[int, int] = {}
    pc = 0
    for i, insn in enumerate(ours):
        index_of_slot[pc] = i
        pc += insn.width
    a = [_key(insn) for insn in ours]
    b = [_key(insn) for insn in xlated]
    mapping: dict[int, int] = {}
    dropped: set[int] = set()
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, _ in matcher.get_opcodes():
        for k in range(i1, i2):
            if tag == "equal":
                mapping[k] = j1 + k - i1
            elif tag == "delete":
                dropped.add(k)
    problems = []
    compared = 0
    for res in results:
        i = index_of_slot[res.insn]
        if res.poisoned or i in dropped:
            if res.poisoned and i not in dropped:
                problems.append(f"relo #{res.index}: poisoned insn #{res.insn} was not dropped")
            continue
        if i not in mapping:
            problems.append(f"relo #{res.index}: insn #{res.insn} {ours[i]} not in the kernel's")
            continue
        mine, theirs = ours[i], xlated[mapping[i]]
        compared += 1
        if (mine.op, mine.off, mine.imm) != (theirs.op, theirs.off, theirs.imm):
            problems.append(f"relo #{res.index}: {mine} != kernel's {theirs}")
    return problems, compared


__all__ = [
    "CORE_LINE",
    "GOLDEN_DIR",
    "OBJECTS",
    "VMLINUX",
    "B",
    "LibbpfRecord",
    "Relocated",
    "TestObject",
    "compare_xlated",
    "golden_record",
    "parse_xlated",
    "read_object",
    "relocate_object",
    "vmlinux_sha256",
]
