"""Context accesses are found through moves, spills and calls, checked, and rewritten."""

from __future__ import annotations

import pytest

from ebpy.errors import ContextAccessError
from ebpy.isa.asm import assemble
from ebpy.progtypes.base import CtxField, ProgTypeInfo
from ebpy.uapi import ProgType
from ebpy.vm import Vm
from ebpy.vm.ctxaccess import rewrite_context_access


class Toy(ProgTypeInfo):
    """A context of three u32 fields: data (pointer), len (read-only), mark (writable)."""

    prog_type = ProgType.UNSPEC
    name = "toy"
    ctx_size = 12
    fields = (
        CtxField("data", 0, 4, pointer=True),
        CtxField("len", 4, 4),
        CtxField("mark", 8, 4, write=True),
    )


TOY = Toy()


def _rewrite(text: str) -> list[str]:
    return [str(i) for i in rewrite_context_access(assemble(text), TOY)]


def test_pointer_field_becomes_a_64_bit_shadow_load() -> None:
    out = _rewrite("r2 = *(u32 *)(r1 +0)\nr0 = 0\nexit")
    assert out[0] == "r2 = *(u64 *)(r1 + 16)"


def test_context_is_followed_through_moves_spills_and_calls() -> None:
    text = """
        r6 = r1
        *(u64 *)(r10 -8) = r6
        call 5
        r7 = *(u64 *)(r10 -8)
        r2 = *(u32 *)(r7 +0)
        r3 = r6
        r3 += 4
        r4 = *(u32 *)(r3 -4)
        r1 = r6
        call pc+2
        r0 = 0
        exit
        r0 = *(u32 *)(r1 +0)
        exit
    """
    out = _rewrite(text)
    assert out[4] == "r2 = *(u64 *)(r7 + 16)"
    assert out[7] == "r4 = *(u64 *)(r3 + 12)"
    assert out[12] == "r0 = *(u64 *)(r1 + 16)"


def test_plain_and_narrow_fields_are_left_alone() -> None:
    text = "r2 = *(u8 *)(r1 +5)\n*(u32 *)(r1 +8) = r2\nr0 = *(u16 *)(r1 +4)\nexit"
    assert _rewrite(text) == [str(i) for i in assemble(text)]


@pytest.mark.parametrize(
    ("text", "offset", "write"),
    [
        ("*(u32 *)(r1 +4) = r2", 4, True),  # len is read-only
        ("*(u32 *)(r1 +0) = r2", 0, True),  # pointers cannot be written
        ("r2 = *(u16 *)(r1 +0)", 0, False),  # pointers load whole
        ("r2 = *(u32 *)(r1 +12)", 12, False),  # past the end
        ("r2 = *(u32 *)(r1 +6)", 6, False),  # misaligned
        ("*(u16 *)(r1 +8) = r2", 8, True),  # writes are whole
    ],
)
def test_denied_accesses(text: str, offset: int, write: bool) -> None:
    with pytest.raises(ContextAccessError) as info:
        rewrite_context_access(assemble(f"{text}\nr0 = 0\nexit"), TOY)
    assert (info.value.offset, info.value.write, info.value.prog_type) == (offset, write, "toy")


def test_base_that_may_or_may_not_be_the_context_is_refused() -> None:
    text = """
        if r2 == 0 goto +1
        r1 = r10
        r0 = *(u32 *)(r1 -8)
        exit
    """
    with pytest.raises(ContextAccessError) as info:
        rewrite_context_access(assemble(text), TOY)
    assert info.value.pc == 2


def test_stack_and_memory_accesses_are_not_context() -> None:
    text = """
        r2 = 7
        *(u64 *)(r10 -8) = r2
        r3 = r10
        r3 += -8
        r0 = *(u64 *)(r3 +0)
        exit
    """
    assert _rewrite(text) == [str(i) for i in assemble(text)]


def test_vm_runs_rewritten_program_on_a_toy_context() -> None:
    vm = Vm(assemble("r0 = *(u32 *)(r1 +0)\nr2 = *(u32 *)(r1 +4)\nr0 += r2\nexit"), prog_type=TOY)
    res = vm.test_run(ctx_in=(0).to_bytes(4, "little") + (5).to_bytes(4, "little"))
    # data shadow is 0 (toy type has no packet), len 5
    assert res.retval == 5
    assert res.ctx_out is not None and len(res.ctx_out) == 12
