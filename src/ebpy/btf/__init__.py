"""BTF, the BPF Type Format: the type model, ``.BTF`` and ``.BTF.ext``, dumps, CO-RE.

This package reads and writes no kernel state: loading BTF into the kernel is
``ebpy.kernel``'s job. ``ebpy.btf.types`` is the model everything else shares.
"""

from ebpy.btf.types import Btf, Kind, Type

__all__ = ["Btf", "Kind", "Type"]
