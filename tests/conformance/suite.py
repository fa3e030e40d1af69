"""Read bpf_conformance ``.data`` files and judge them the way the suite's runner does.

A test file has sections ``-- asm``, ``-- raw``, ``-- mem``, ``-- result``,
``-- error``, ``-- c`` and ``-- no register offset`` (free text the runner ignores);
``#`` starts a comment. ``judge`` assembles the program (or takes the raw
words), hands it to the plugin (a callable: program hex and memory hex in,
(exit code, output) out) and compares with the expectation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ebpy.errors import BpfError, InputError

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT.parent / "shared" / "conformance" / "bpf_conformance"
KNOWN_SECTIONS = {"asm", "raw", "mem", "result", "error", "c", "no register offset"}

Plugin = Callable[[str, str | None], tuple[int, str]]


def suite_files(folder: str) -> list[Path]:
    """The ``.data`` files of ``tests`` or ``negative``; empty when the suite is absent."""
    return sorted((SUITE / folder).glob("*.data")) if SUITE.is_dir() else []


@dataclass
class Case:
    path: Path
    sections: dict[str, list[str]] = field(default_factory=dict)

    @property
    def asm(self) -> str | None:
        lines = self.sections.get("asm")
        return None if lines is None else "\n".join(lines)

    def words(self, key: str) -> list[str]:
        return " ".join(self.sections.get(key, [])).split()


def parse(path: Path) -> Case:
    """Split a ``.data`` file into its sections; unknown directives are an InputError."""
    case = Case(path)
    current: str | None = None
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if line.startswith("--"):
            name = line[2:].strip()
            if name not in KNOWN_SECTIONS:
                raise InputError(f"{path.name}: unknown directive '-- {name}'")
            current = name
            case.sections[current] = []
            continue
        if current is None:
            if line.strip():
                raise InputError(f"{path.name}: text before the first section")
            continue
        case.sections[current].append(line)
    return case


def program_hex(case: Case) -> str:
    """The program as the runner sends it: every byte as two hex digits and two spaces."""
    from ebpy.isa.asm import assemble
    from ebpy.isa.encoding import encode

    if "raw" in case.sections:
        code = b"".join(int(w, 16).to_bytes(8, "little") for w in case.words("raw"))
    elif case.asm is not None:
        code = encode(assemble(case.asm))
    else:
        raise InputError(f"{case.path.name}: no program")
    return "  ".join(f"{b:02x}" for b in code)


def memory_hex(case: Case) -> str | None:
    if "mem" not in case.sections:
        return None
    return "  ".join(case.words("mem"))


@dataclass
class Verdict:
    passed: bool
    reason: str


def judge(case_path: Path, plugin: Plugin) -> Verdict:
    """Run one file through ``plugin`` and compare with its expectation."""
    try:
        case = parse(case_path)
        prog = program_hex(case)
    except BpfError as exc:
        return Verdict(False, f"rejected before running: {type(exc).__name__}: {exc}")
    code, out = plugin(prog, memory_hex(case))
    out = out.strip()
    if "error" in case.sections:
        if code != 0:
            return Verdict(True, f"plugin rejected it as expected: {out}")
        return Verdict(False, f"expected an error, the plugin returned {out}")
    if "result" not in case.sections:
        return Verdict(False, "no expected result")
    expected_text = case.words("result")[0]
    expected = int(expected_text, 16 if expected_text.lower().startswith("0x") else 10)
    if code != 0:
        return Verdict(False, f"plugin failed: {out}")
    if not re.fullmatch(r"(0x)?[0-9a-fA-F]+", out):
        return Verdict(False, f"plugin printed {out!r}")
    got = int(out, 16)
    if got != expected:
        return Verdict(False, f"r0 = {got:#x}, expected {expected:#x}")
    return Verdict(True, "ok")
