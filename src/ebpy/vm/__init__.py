"""The userspace virtual machine: memory regions, runtime, compiler and interpreter.

Not the verifier (programs run here are not proven safe first; every access
is checked at run time instead) and not the kernel backend.
"""

from ebpy.helpers.env import Runtime
from ebpy.memory import AddressSpace, Region, RegionKind
from ebpy.vm.interpreter import DEFAULT_BUDGET, RunResult, Vm

__all__ = ["DEFAULT_BUDGET", "AddressSpace", "Region", "RegionKind", "RunResult", "Runtime", "Vm"]
