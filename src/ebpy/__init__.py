"""ebpy: the eBPF system in Python.

The top-level names are imported lazily so that ``import ebpy`` (and the CLI's
start-up) stays light. This module is an index of the public API, not an
implementation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "Instruction": ("ebpy.isa.instruction", "Instruction"),
    "assemble": ("ebpy.isa.asm", "assemble"),
    "disassemble": ("ebpy.isa.disasm", "disassemble"),
    "encode": ("ebpy.isa.encoding", "encode"),
    "decode": ("ebpy.isa.encoding", "decode"),
    "BpfError": ("ebpy.errors", "BpfError"),
    "Vm": ("ebpy.vm.interpreter", "Vm"),
    "load": ("ebpy.backend", "load"),
}

if TYPE_CHECKING:
    from ebpy.backend import load
    from ebpy.errors import BpfError
    from ebpy.isa.asm import assemble
    from ebpy.isa.disasm import disassemble
    from ebpy.isa.encoding import decode, encode
    from ebpy.isa.instruction import Instruction
    from ebpy.vm.interpreter import Vm

__all__ = [
    "BpfError",
    "Instruction",
    "Vm",
    "assemble",
    "decode",
    "disassemble",
    "encode",
    "load",
]
assert sorted(__all__) == sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'ebpy' has no attribute {name!r}")
