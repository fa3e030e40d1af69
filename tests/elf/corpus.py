"""The committed test objects and what is known about them, for the ELF loader tests.

``OBJECTS`` are every ``tests/testdata/*/*.o``; ``MANIFEST`` the corpus
helper's description of ``tests/testdata/bpf`` objects; ``libbpf_log(path)``
the committed libbpf debug lines for an object (``tests/golden/elf``, made by
``make -C tests/testdata elf``). This module reads files; it asserts nothing.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from ebpy.elf.loader import load_object
from ebpy.spec import ObjectSpec

TESTS = Path(__file__).resolve().parents[1]
TESTDATA = TESTS / "testdata"
GOLDEN = TESTS / "golden"
OBJECTS = sorted(TESTDATA.glob("*/*.o"))
LITTLE_OBJECTS = [p for p in OBJECTS if not p.stem.endswith("_eb")]
MANIFEST_PATH = TESTDATA / "bpf" / "MANIFEST.json"
MANIFEST: dict[str, dict] = (
    json.loads(MANIFEST_PATH.read_text())["objects"] if MANIFEST_PATH.exists() else {}
)


def ident(path: Path) -> str:
    """``dir/name`` of a test object, for test ids."""
    return f"{path.parent.name}/{path.stem}"


@cache
def load(path: Path) -> ObjectSpec:
    """The ObjectSpec of a committed object (loaded once per test run)."""
    return load_object(path.read_bytes(), path.name)


def libbpf_log(path: Path) -> list[str]:
    """libbpf's relocation and linking lines for ``path`` ([] when libbpf refused it)."""
    golden = GOLDEN / "elf" / f"{path.parent.name}__{path.stem}.libbpf.txt"
    return golden.read_text().splitlines() if golden.exists() else []
