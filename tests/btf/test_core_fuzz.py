"""CO-RE on random BTF: any local/target pair and any relocation give a result or a CoreError.

The tables come from tests.btf.strategies (every kind, references anywhere,
loops included); names are drawn from a small set so that candidates and
members often match. Nothing else may escape: no BtfError, IndexError,
RecursionError ...
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebpy.btf.core import Relocator
from ebpy.btf.ext import CoreRelo, CoreReloKind
from ebpy.btf.types import Btf
from ebpy.errors import CoreError
from ebpy.isa.builder import ALU64, EXIT, LDDW, LDX, R0, R1
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import Size
from tests.btf.strategies import btf_tables

ACCESS = st.one_of(
    st.lists(st.integers(0, 5), min_size=1, max_size=6).map(lambda xs: ":".join(map(str, xs))),
    st.text(alphabet="0123:-+ ", max_size=8),
)


def _relos(draw: st.DrawFn, local: Btf, count: int) -> list[CoreRelo]:
    named = [t.id for t in local.types if t.name]
    ids = st.sampled_from(named) if named and draw(st.booleans()) else st.integers(0, len(local))
    return [
        CoreRelo(
            8 * k,
            draw(ids),
            draw(ACCESS),
            draw(st.sampled_from(list(CoreReloKind))),
        )
        for k in range(count)
    ]


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300)
@given(btf_tables(max_types=10), btf_tables(max_types=10), st.data())
def test_resolve_gives_a_result_or_a_core_error(
    local: Btf, target: Btf, data: st.DataObject
) -> None:
    relocator = Relocator(local, target)
    for relo in _relos(data.draw, local, 4):
        try:
            res = relocator.resolve(relo)
        except CoreError as exc:
            assert exc.access == relo.access and exc.kind == relo.kind.short
            continue
        assert 0 <= res.local_value < 2**64 and 0 <= res.target_value < 2**64
        assert (
            res.poisoned
            or res.target_spec is not None
            or res.target_value == 0
            or (res.relo.kind is CoreReloKind.TYPE_ID_LOCAL)
        )


INSNS = st.sampled_from(
    [ALU64.MOV.imm(R1, 0), ALU64.MOV.imm(R1, 1), LDX(Size.W, R0, R1, 0), LDX(Size.DW, R0, R1, 8)]
)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=200)
@given(btf_tables(max_types=10), btf_tables(max_types=10), st.data(), st.booleans())
def test_relocate_gives_a_program_or_a_core_error(
    local: Btf, other: Btf, data: st.DataObject, strict: bool
) -> None:
    target = local if data.draw(st.booleans()) else other
    insns: list[Instruction] = [data.draw(INSNS) for _ in range(3)] + [LDDW(R1, 1), EXIT()]
    relos = _relos(data.draw, local, 4)
    try:
        new, results = Relocator(local, target).relocate(insns, relos, strict=strict)
    except CoreError:
        return
    assert sum(i.width for i in new) == sum(i.width for i in insns)
    assert len(results) == len(relos)
    assert not strict or not any(r.poisoned for r in results)
