"""The userspace virtual machine: memory regions, runtime, compiler and interpreter.

Not the verifier (programs run here are not proven safe first; every access
is checked at run time instead) and not the kernel backend.
"""

from ebpy.vm.interpreter import DEFAULT_BUDGET, RunResult, Vm
from ebpy.vm.memory import AddressSpace, Region, RegionKind
from ebpy.vm.runtime import Runtime

__all__ = ["DEFAULT_BUDGET", "AddressSpace", "Region", "RegionKind", "RunResult", "Runtime", "Vm"]
