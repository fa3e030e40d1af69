"""Tests of the program types; ``check_access`` is shared by the tracing types' tests."""

from __future__ import annotations

import pytest

from ebpy.errors import ContextAccessError
from ebpy.progtypes import prog_type_info


def check_access(prog_type: str, offset: int, size: int, write: bool, ok: bool) -> None:
    """``access(offset, size, write)`` on ``prog_type``'s context passes unchanged when
    ``ok``, else raises ``ContextAccessError`` carrying the access and its pc."""
    info = prog_type_info(prog_type)
    if ok:
        assert info.access(offset, size, write) == (offset, size)
        return
    with pytest.raises(ContextAccessError) as err:
        info.access(offset, size, write, pc=3)
    e = err.value
    assert (e.prog_type, e.offset, e.size, e.write, e.pc) == (prog_type, offset, size, write, 3)
