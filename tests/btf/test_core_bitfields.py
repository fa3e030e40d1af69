"""CO-RE relocations of bitfields: the load (byte offset, size) and shifts that read a field.

A local struct has the bitfield at bit 0; a target struct has it anywhere.
The property test reads random memory with the relocated values, the way a
CO-RE bitfield read does (load ``size`` bytes at ``offset``, shift left, shift
right logically or arithmetically), and checks it gets the field's bits.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebpy.btf.core import Relocator, relocate
from ebpy.btf.ext import CoreRelo
from ebpy.btf.ext import CoreReloKind as K
from ebpy.btf.types import Btf
from ebpy.errors import CoreError
from ebpy.isa.builder import ALU64, EXIT, R1
from tests.btf.core_support import B


def _bitfield_pair(base: int, signed: bool, bit_off: int, bit_sz: int) -> tuple[Btf, Btf]:
    """A local struct with the bitfield at bit 0, a target one at ``bit_off``."""
    lb = B()
    lt = lb.int("x", base, signed)
    lb.struct("bits", 16, ("f", lt, 0, bit_sz))
    tb = B()
    tt = tb.int("x", base, signed)
    tb.struct("bits", 16, ("pad", tt, 0, 1), ("f", tt, bit_off, bit_sz))
    return lb.build(), tb.build()


def _relocate_bitfield(local: Btf, target: Btf) -> dict[K, int]:
    kinds = [
        K.FIELD_BYTE_OFFSET,
        K.FIELD_BYTE_SIZE,
        K.FIELD_LSHIFT_U64,
        K.FIELD_RSHIFT_U64,
        K.FIELD_SIGNED,
    ]
    relocator = Relocator(local, target)
    out = {}
    for kind in kinds:
        out[kind] = relocator.resolve(CoreRelo(0, 2, "0:0", kind)).target_value
    return out


@st.composite
def bitfields(draw: st.DrawFn) -> tuple[int, bool, int, int]:
    """A bitfield anywhere in 16 bytes (packed layouts straddle their type's units)."""
    base = draw(st.sampled_from([1, 2, 4, 8]))
    bit_sz = draw(st.integers(1, base * 8))
    return base, draw(st.booleans()), draw(st.integers(0, 128 - bit_sz)), bit_sz


@given(bitfields(), st.binary(min_size=16, max_size=16))
def test_bitfield_relocations_extract_the_field(
    layout: tuple[int, bool, int, int], memory: bytes
) -> None:
    """The load and shifts CO-RE gives read exactly the field's bits (as a CO-RE
    bitfield read does); a field outside every aligned u64 is a CoreError."""
    base, signed, bit_off, bit_sz = layout
    local, target = _bitfield_pair(base, signed, bit_off, bit_sz)
    if bit_off // 64 != (bit_off + bit_sz - 1) // 64:
        with pytest.raises(CoreError):
            _relocate_bitfield(local, target)
        return
    v = _relocate_bitfield(local, target)
    off, size = v[K.FIELD_BYTE_OFFSET], v[K.FIELD_BYTE_SIZE]
    assert size in (1, 2, 4, 8) and off % size == 0 and off + size <= 16
    assert size >= base
    loaded = int.from_bytes(memory[off : off + size], "little")
    shifted = (loaded << v[K.FIELD_LSHIFT_U64]) & (2**64 - 1)
    if v[K.FIELD_SIGNED]:
        shifted -= (shifted >> 63) << 64
    got = (shifted >> v[K.FIELD_RSHIFT_U64]) & (2**64 - 1)
    raw = (int.from_bytes(memory, "little") >> bit_off) & ((1 << bit_sz) - 1)
    if signed and raw >> (bit_sz - 1):
        raw -= 1 << bit_sz
    assert got == raw & (2**64 - 1)
    assert v[K.FIELD_SIGNED] == int(signed)


@pytest.mark.parametrize(
    ("base", "bit_off", "bit_sz", "off", "size", "lshift", "rshift"),
    [
        (1, 3, 1, 0, 1, 60, 63),
        (1, 13, 2, 1, 1, 57, 62),
        (4, 35, 4, 4, 4, 57, 60),
        (4, 30, 4, 0, 8, 30, 60),  # straddles two u32: one u64 load
        (2, 15, 2, 0, 4, 47, 62),  # straddles two u16: one u32 load
        (8, 70, 30, 8, 8, 28, 34),
    ],
)
def test_bitfield_values(
    base: int, bit_off: int, bit_sz: int, off: int, size: int, lshift: int, rshift: int
) -> None:
    local, target = _bitfield_pair(base, False, bit_off, bit_sz)
    v = _relocate_bitfield(local, target)
    assert (v[K.FIELD_BYTE_OFFSET], v[K.FIELD_BYTE_SIZE]) == (off, size)
    assert (v[K.FIELD_LSHIFT_U64], v[K.FIELD_RSHIFT_U64]) == (lshift, rshift)


def test_bitfield_no_u64_load_holds_is_an_error() -> None:
    local, target = _bitfield_pair(8, False, 60, 8)
    with pytest.raises(CoreError):
        _relocate_bitfield(local, target)


def test_bitfield_offsets_are_not_validated() -> None:
    """The compiler's own bitfield load may differ from libbpf's choice: no check."""
    local, target = _bitfield_pair(4, False, 35, 4)
    new, res = relocate(
        [ALU64.MOV.imm(R1, 1234), EXIT()],
        [CoreRelo(0, 2, "0:0", K.FIELD_BYTE_OFFSET)],
        local,
        target,
    )
    assert new[0].imm == 4 and res[0].local_value == 0
