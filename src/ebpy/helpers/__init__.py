"""Helper functions: the registry by id and the userspace implementations.

Not the verifier's view of helpers (prototypes come with the verifier) and not
the interpreter's calling code (``ebpy.vm``).
"""

from ebpy.helpers.basic import BASIC_HELPERS
from ebpy.helpers.env import Runtime, Task
from ebpy.helpers.registry import Helper, HelperEnv, HelperTable, StopProgram

__all__ = ["BASIC_HELPERS", "Helper", "HelperEnv", "HelperTable", "Runtime", "StopProgram", "Task"]
