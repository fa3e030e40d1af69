"""Helper prototypes: what each argument must be and what comes back, for the verifier.

The names follow the kernel's ``enum bpf_arg_type`` and ``enum bpf_return_type``
(without the ``ARG_``/``RET_`` prefixes) so verifier logs can use them. A
``Proto`` is data only: checking programs against it is the verifier's job,
running helpers is the implementations'.

>>> Proto((Arg.CONST_MAP_PTR, Arg.PTR_TO_MAP_KEY), Ret.PTR_TO_MAP_VALUE_OR_NULL).nargs
2
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Arg(enum.Enum):
    """Argument kinds (``enum bpf_arg_type``)."""

    ANYTHING = "anything"
    DONTCARE = "dontcare"
    CONST_MAP_PTR = "const_map_ptr"
    PTR_TO_MAP_KEY = "ptr_to_map_key"
    PTR_TO_MAP_VALUE = "ptr_to_map_value"
    PTR_TO_UNINIT_MAP_VALUE = "ptr_to_uninit_map_value"
    PTR_TO_MEM = "ptr_to_mem"
    PTR_TO_MEM_OR_NULL = "ptr_to_mem_or_null"
    PTR_TO_UNINIT_MEM = "ptr_to_uninit_mem"
    CONST_SIZE = "const_size"
    CONST_SIZE_OR_ZERO = "const_size_or_zero"
    PTR_TO_CTX = "ptr_to_ctx"
    PTR_TO_CTX_OR_NULL = "ptr_to_ctx_or_null"
    PTR_TO_STACK = "ptr_to_stack"
    PTR_TO_STACK_OR_NULL = "ptr_to_stack_or_null"
    PTR_TO_CONST_STR = "ptr_to_const_str"
    PTR_TO_LONG = "ptr_to_long"
    PTR_TO_INT = "ptr_to_int"
    PTR_TO_FUNC = "ptr_to_func"
    PTR_TO_SPIN_LOCK = "ptr_to_spin_lock"
    PTR_TO_ALLOC_MEM = "ptr_to_alloc_mem"
    PTR_TO_BTF_ID = "ptr_to_btf_id"
    PTR_TO_SOCKET = "ptr_to_socket"
    CONST_ALLOC_SIZE_OR_ZERO = "const_alloc_size_or_zero"


class Ret(enum.Enum):
    """Return kinds (``enum bpf_return_type``)."""

    INTEGER = "integer"
    VOID = "void"
    PTR_TO_MAP_VALUE_OR_NULL = "ptr_to_map_value_or_null"
    PTR_TO_ALLOC_MEM_OR_NULL = "ptr_to_alloc_mem_or_null"
    PTR_TO_BTF_ID = "ptr_to_btf_id"
    PTR_TO_SOCKET_OR_NULL = "ptr_to_socket_or_null"


@dataclass(frozen=True, slots=True)
class Proto:
    """A helper's prototype: up to five argument kinds and a return kind.

    ``pkt_access``: the helper may take packet pointers; ``changes_pkt_data``: it
    invalidates packet pointers (the verifier forgets packet bounds after it).
    """

    args: tuple[Arg, ...] = ()
    ret: Ret = Ret.INTEGER
    pkt_access: bool = False
    changes_pkt_data: bool = False
    gpl_only: bool = False

    @property
    def nargs(self) -> int:
        return len(self.args)
