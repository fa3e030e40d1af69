"""Where the eBPF C test corpus lives, and its manifest, for the checks in this folder.

The corpus is ``tests/testdata/bpf/*.c`` with committed ``*.o`` objects (built by
``tests/testdata/mk/bpf.mk``), llvm-objdump goldens under ``tests/golden/objdump``
and ``MANIFEST.json``, which says what each object holds. This module only finds
files and reads the manifest; it runs no tool and does not parse ELF.
"""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path
from typing import Any

from ebpy.uapi import AttachType, MapType, ProgType

TESTDATA = Path(__file__).resolve().parent.parent / "testdata"
BPF_DIR = TESTDATA / "bpf"
GOLDEN_DIR = TESTDATA.parent / "golden" / "objdump"
MANIFEST = BPF_DIR / "MANIFEST.json"
GOLDEN_KINDS = {"htr": ("-h", "-t", "-r"), "d": ("-d",), "S": ("-S",)}


@functools.cache
def manifest() -> dict[str, Any]:
    """The parsed MANIFEST.json."""
    data: dict[str, Any] = json.loads(MANIFEST.read_text())
    return data


def objects() -> dict[str, dict[str, Any]]:
    """Manifest entries by object name (``xdp_drop_src`` for ``xdp_drop_src.o``)."""
    objs: dict[str, dict[str, Any]] = manifest()["objects"]
    return objs


def source_names() -> list[str]:
    """Names of the C files of the corpus, without ``.c``."""
    return sorted(p.stem for p in BPF_DIR.glob("*.c"))


def enum_value(kind: str, name: str) -> int:
    """The number of a map type, program type or attach type name of the manifest.

    >>> enum_value("map_type", "HASH")
    1
    >>> enum_value("attach_type", "TCX_INGRESS")
    46
    """
    enums: dict[str, Any] = {"map_type": MapType, "prog_type": ProgType, "attach_type": AttachType}
    try:
        return int(enums[kind][name])
    except KeyError:
        extras: dict[str, int] = manifest()["enum_values_not_in_ebpy_uapi"].get(kind, {})
        return extras[name]


def tool(name: str) -> str | None:
    """Path of an external tool, or None when it is not installed."""
    return shutil.which(name)
